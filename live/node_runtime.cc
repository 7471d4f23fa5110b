// The live runtime (see node_runtime.h). One io_context, one thread: the
// database too is driven by it (live/pg_async.h: non-blocking libpq sessions
// awaited on their sockets' readiness, one pool per database member).
#include "live/node_runtime.h"

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without it under C++20.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <deque>
#include <iostream>
#include <set>

#include "base/env.h"
#include "live/frame.h"
#include "live/pg_async.h"
#include "live/pg_db.h"
#include "live/ws_edge.h"
#include "nodes/app_server.h"
#include "nodes/constants.h"

namespace fl::live {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::int64_t system_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
Time live_time(std::int64_t epoch_ns) { return time_from_ns(system_now_ns() - epoch_ns); }

namespace {

// sim/simulation.h's kConnectTimeout: a TCP connect into a partition times out
// after this; live mode's cuts fail sends after the same wait.
constexpr Duration kConnectTimeout = seconds(3);

std::chrono::nanoseconds chrono_of(Duration d) { return std::chrono::nanoseconds(d.count()); }

class Runtime;
class HttpConn;

// The outgoing connection to one peer: frames numbered per connection, each
// waiting for its acknowledgement.
class PeerLink : public std::enable_shared_from_this<PeerLink> {
 public:
  PeerLink(Runtime& rt, NodeId peer, std::uint16_t port);
  void send(const Message& message);
  void cut();     // the transport is cut: break the connection, fail what waits
  void close_and_fail();

 private:
  struct Pending {
    Message message;
    std::unique_ptr<asio::steady_timer> timer;
  };
  void connect();
  void flush();
  void read_acks();
  void fail(std::uint64_t seq);

  Runtime& rt_;
  NodeId peer_;
  std::uint16_t port_;
  enum class State { idle, connecting, open } state_ = State::idle;
  std::unique_ptr<tcp::socket> socket_;
  std::unique_ptr<asio::steady_timer> connect_timer_;
  std::uint64_t next_seq_ = 0;
  std::map<std::uint64_t, Pending> pending_;
  std::deque<std::vector<std::uint8_t>> outbox_;
  bool writing_ = false;
  std::vector<std::uint8_t> read_buf_;
  std::uint64_t generation_ = 0;  // bumps at every close: stale callbacks do nothing
};

class Runtime final : public Env {
 public:
  explicit Runtime(const NodeRunOptions& o)
      : o_(o), rng_(o.seed), acceptor_(io_), control_(io_) {
    offset_ = o.clock_offset;
    std::map<NodeId, std::string> members = o.db_members;
    if (members.empty()) members[o.db_node] = o.db_conninfo;
    db_ = std::make_unique<DbRouter>(io_, std::move(members), o.db_endpoint == kNoNode ? o.db_node : o.db_endpoint,
                                     o.epoch_ns, [this](const std::string& line) { log(line); });
  }

  int run();

  // ---- Env ----
  NodeId self() const override { return o_.self; }
  Time now() override { return live_time(o_.epoch_ns) + offset_; }
  Time monotonic() override {
    return time_from_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count());
  }
  TimerId after(Duration d, TimerTag tag) override {
    const TimerId id{++next_timer_};
    auto timer = std::make_unique<asio::steady_timer>(io_, chrono_of(d));
    timer->async_wait([this, id, tag](const boost::system::error_code& ec) {
      if (ec) return;
      if (timers_.erase(id.value) == 0) return;  // cancelled
      if (alive()) node_->on_timer(*this, id, tag);
    });
    timers_.emplace(id.value, std::move(timer));
    return id;
  }
  void cancel(TimerId id) override {
    auto it = timers_.find(id.value);
    if (it == timers_.end()) return;
    it->second->cancel();
    timers_.erase(it);
  }
  void send(NodeId to, const Message& message) override;
  RequestId db(const DbRequest& request) override;
  void db_reply(NodeId, RequestId, const DbReply&) override { log("db_reply: not a database member"); }
  void set_db_endpoint(NodeId) override { log("set_db_endpoint: no failover live"); }
  void control(NodeId, const ControlOp&) override { log("control: no operator live"); }
  Rng& rng() override { return rng_; }
  void emit(EventBody event) override {
    // The HTTP listener follows the server's life: none before it serves.
    if (std::holds_alternative<ServerServing>(event)) open_http();
    if (std::holds_alternative<ServerStopping>(event)) close_http();
    emit_as(o_.self, std::move(event));
  }

  // ---- for PeerLink ----
  asio::io_context& io() { return io_; }
  const std::string& secret() const { return o_.secret; }
  bool cut_to(NodeId peer) const { return cuts_.count(peer) != 0; }
  void send_failed(NodeId to, const Message& message) {
    // Posted: Env calls never call the node back re-entrantly.
    asio::post(io_, [this, to, message] {
      if (alive()) node_->on_send_failed(*this, to, message);
    });
  }
  void log(const std::string& line) { std::cerr << o_.name << ": " << line << std::endl; }
  bool alive() const { return node_ != nullptr && !stopping_; }
  void deliver(NodeId from, const Message& message) {
    if (alive()) node_->on_message(*this, from, message);
  }
  // An HTTP ping for the node (HttpConn); answered through send(kHttpEdge, ...).
  void http_ping(const std::shared_ptr<HttpConn>& conn, bool with_status);
  // The websocket and the posts API (live/ws_edge.h): the node's edge inputs from the proxy.
  void edge_http(const std::shared_ptr<HttpConn>& conn, std::string_view path);

 private:
  void emit_as(NodeId node, EventBody event) {
    HistoryEvent e{seq_++, live_time(o_.epoch_ns), now(), node, std::move(event)};
    if (o_.sink) o_.sink(e);
  }
  void accept();
  void serve(std::shared_ptr<tcp::socket> socket);
  void open_http();
  void close_http();
  void accept_http();
  void http_answer(const HealthPong& pong);
  void read_control();
  void on_control(const std::string& line);
  void db_answer(RequestId id, const DbRequest& request, const DbReply& reply);
  void stop_gracefully();

  NodeRunOptions o_;
  asio::io_context io_;
  Rng rng_;
  Duration offset_{};
  std::unique_ptr<Node> node_;
  bool stopping_ = false;
  std::uint64_t seq_ = 0;
  std::uint64_t next_timer_ = 0;
  std::map<std::uint64_t, std::unique_ptr<asio::steady_timer>> timers_;
  std::map<NodeId, std::shared_ptr<PeerLink>> links_;
  std::set<NodeId> cuts_;
  std::set<std::size_t> unroutable_logged_;
  tcp::acceptor acceptor_;
  std::unique_ptr<tcp::acceptor> http_acceptor_;
  std::uint64_t next_http_ = 0;
  struct HttpWaiting {
    std::shared_ptr<HttpConn> conn;
    bool with_status = false;
  };
  std::map<std::uint64_t, HttpWaiting> http_waiting_;  // by HealthPing seq
  std::unique_ptr<ServerEdge> edge_;  // the websocket and the posts API
  asio::posix::stream_descriptor control_;
  asio::streambuf control_buf_;

  // the database (after io_: its sessions' sockets are registered with it)
  std::unique_ptr<DbRouter> db_;
  std::uint64_t next_request_ = 0;
};

// ---- PeerLink ------------------------------------------------------------------------

PeerLink::PeerLink(Runtime& rt, NodeId peer, std::uint16_t port) : rt_(rt), peer_(peer), port_(port) {}

void PeerLink::send(const Message& message) {
  const std::uint64_t seq = ++next_seq_;
  auto bytes = encode_frame(Frame{FrameType::message, rt_.self(), seq, message}, rt_.secret());
  if (!bytes) {  // checked by the runtime before: cannot happen
    rt_.send_failed(peer_, message);
    return;
  }
  Pending p{message, std::make_unique<asio::steady_timer>(rt_.io(), chrono_of(k::kGossipRequestTimeout))};
  // No acknowledgement in time: a frozen peer or a black hole (MODEL.md).
  p.timer->async_wait([self = shared_from_this(), seq](const boost::system::error_code& ec) {
    if (!ec) self->fail(seq);
  });
  pending_.emplace(seq, std::move(p));
  outbox_.push_back(std::move(*bytes));
  if (state_ == State::idle) connect();
  else if (state_ == State::open) flush();
}

void PeerLink::fail(std::uint64_t seq) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  Message m = std::move(it->second.message);
  pending_.erase(it);
  rt_.send_failed(peer_, m);
}

void PeerLink::close_and_fail() {
  ++generation_;
  if (socket_) {
    boost::system::error_code ignored;
    socket_->close(ignored);
  }
  socket_.reset();
  if (connect_timer_) connect_timer_->cancel();
  state_ = State::idle;
  writing_ = false;
  outbox_.clear();
  // A broken connection breaks every message in flight on it.
  std::vector<std::uint64_t> seqs;
  for (auto& [seq, p] : pending_) seqs.push_back(seq);
  for (std::uint64_t seq : seqs) {
    pending_.at(seq).timer->cancel();
    fail(seq);
  }
}

void PeerLink::cut() { close_and_fail(); }

void PeerLink::connect() {
  state_ = State::connecting;
  const std::uint64_t gen = generation_;
  socket_ = std::make_unique<tcp::socket>(rt_.io());
  connect_timer_ = std::make_unique<asio::steady_timer>(rt_.io(), chrono_of(kConnectTimeout));
  connect_timer_->async_wait([self = shared_from_this(), gen](const boost::system::error_code& ec) {
    if (!ec && self->generation_ == gen && self->state_ == State::connecting) self->close_and_fail();
  });
  socket_->async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port_),
                         [self = shared_from_this(), gen](const boost::system::error_code& ec) {
                           if (self->generation_ != gen) return;
                           self->connect_timer_->cancel();
                           if (ec) {  // refused: the port is closed (the process is down)
                             self->close_and_fail();
                             return;
                           }
                           self->socket_->set_option(tcp::no_delay(true));
                           self->state_ = State::open;
                           self->read_acks();
                           self->flush();
                         });
}

void PeerLink::flush() {
  if (writing_ || outbox_.empty() || state_ != State::open) return;
  writing_ = true;
  const std::uint64_t gen = generation_;
  asio::async_write(*socket_, asio::buffer(outbox_.front()),
                    [self = shared_from_this(), gen](const boost::system::error_code& ec, std::size_t) {
                      if (self->generation_ != gen) return;
                      self->writing_ = false;
                      if (ec) {
                        self->close_and_fail();
                        return;
                      }
                      self->outbox_.pop_front();
                      self->flush();
                    });
}

void PeerLink::read_acks() {
  const std::uint64_t gen = generation_;
  auto chunk = std::make_shared<std::array<std::uint8_t, 1024>>();
  socket_->async_read_some(asio::buffer(*chunk), [self = shared_from_this(), gen, chunk](
                                                     const boost::system::error_code& ec, std::size_t n) {
    if (self->generation_ != gen) return;
    if (ec) {  // reset or closed by the peer (a crash, a restart)
      self->close_and_fail();
      return;
    }
    self->read_buf_.insert(self->read_buf_.end(), chunk->begin(), chunk->begin() + static_cast<std::ptrdiff_t>(n));
    for (;;) {
      Decoded d = decode_frame(self->read_buf_, self->rt_.secret());
      if (d.status == DecodeStatus::need_more) break;
      if (d.status != DecodeStatus::ok || d.frame.type != FrameType::ack) {
        self->rt_.log(std::string("rejected an answer frame: ") + decode_status_name(d.status));
        self->close_and_fail();
        return;
      }
      self->read_buf_.erase(self->read_buf_.begin(), self->read_buf_.begin() + static_cast<std::ptrdiff_t>(d.consumed));
      auto it = self->pending_.find(d.frame.seq);
      if (it != self->pending_.end()) {
        it->second.timer->cancel();
        self->pending_.erase(it);
      }
    }
    self->read_acks();
  });
}

// ---- Runtime ----------------------------------------------------------------------

void Runtime::send(NodeId to, const Message& message) {
  if (edge_ && edge_->route(to, message)) return;  // to the proxy: a websocket frame or an API answer
  if (to == kHttpEdge) {
    if (const auto* pong = message.get<HealthPong>()) {
      const HealthPong copy = *pong;
      asio::post(io_, [this, copy] { http_answer(copy); });
    }
    return;
  }
  auto port = o_.gossip_ports.find(to);
  if (port == o_.gossip_ports.end() || to == o_.self || !transportable(message)) {
    // No live route (the edge's proxy, storage and clients; WAL messages):
    // said once per message type, and failed like a refused connection.
    if (unroutable_logged_.insert(message.body.index()).second)
      log("no live route for message type #" + std::to_string(message.body.index()) + " to node " +
          std::to_string(to.value));
    send_failed(to, message);
    return;
  }
  if (cut_to(to)) {
    // A partition or one-way cut: the connect times out, as in the simulator.
    auto timer = std::make_shared<asio::steady_timer>(io_, chrono_of(kConnectTimeout));
    timer->async_wait([this, timer, to, message](const boost::system::error_code& ec) {
      if (!ec && alive()) node_->on_send_failed(*this, to, message);
    });
    return;
  }
  auto& link = links_[to];
  if (!link) link = std::make_shared<PeerLink>(*this, to, port->second);
  link->send(message);
}

RequestId Runtime::db(const DbRequest& request) {
  const RequestId id{++next_request_};
  db_->submit(id, request, [this](RequestId id, const DbRequest& r, const DbReply& reply) { db_answer(id, r, reply); });
  return id;
}

void Runtime::db_answer(RequestId id, const DbRequest& request, const DbReply& reply) {
  // The simulated primary records each committed post; live, the runtime
  // that saw the commit records it for the database member that took it.
  if (const auto* post = std::get_if<DbPostInsert>(&request.op); post && reply.ok()) {
    if (const auto* r = reply.get<DbPostResult>(); r && !r->duplicate)
      emit_as(request.target.endpoint ? db_->endpoint() : request.target.node,
              PostCommitted{post->row.post, post->row.channel, r->lsn});
  }
  if (alive()) node_->on_db_reply(*this, id, reply);
}

void Runtime::accept() {
  auto socket = std::make_shared<tcp::socket>(io_);
  acceptor_.async_accept(*socket, [this, socket](const boost::system::error_code& ec) {
    if (ec) return;
    serve(socket);
    accept();
  });
}

// An incoming connection: frames in, acknowledgements out. It lives as long
// as a read or write handler holds it.
class InConn : public std::enable_shared_from_this<InConn> {
 public:
  InConn(Runtime& rt, std::shared_ptr<tcp::socket> socket, const NodeRunOptions& o)
      : rt_(rt), socket_(std::move(socket)), o_(o) {}
  void read() {
    socket_->async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                                std::size_t n) {
      if (ec) return;
      self->buf_.insert(self->buf_.end(), self->chunk_.begin(), self->chunk_.begin() + static_cast<std::ptrdiff_t>(n));
      if (self->drain()) self->read();
    });
  }

 private:
  // Hands every whole frame to the node; false when the stream was rejected.
  bool drain() {
    for (;;) {
      Decoded d = decode_frame(buf_, o_.secret);
      if (d.status == DecodeStatus::need_more) return true;
      const bool known = d.status == DecodeStatus::ok && d.frame.type == FrameType::message &&
                         o_.gossip_ports.count(d.frame.from) != 0 && d.frame.from != o_.self;
      if (!known) {
        // Outside the cluster, malformed, or another protocol: logged and
        // dropped with its connection; the node never sees it.
        boost::system::error_code ignored;
        const auto remote = socket_->remote_endpoint(ignored);
        rt_.log(std::string("rejected frame from ") + remote.address().to_string() + ":" +
                std::to_string(remote.port()) + ": " +
                (d.status == DecodeStatus::ok ? "unexpected sender or type" : decode_status_name(d.status)));
        socket_->close(ignored);
        return false;
      }
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(d.consumed));
      rt_.deliver(d.frame.from, d.frame.message);
      // Acknowledged once the node took it in: a paused process acknowledges nothing.
      if (auto ack = encode_frame(Frame{FrameType::ack, o_.self, d.frame.seq, {}}, o_.secret)) {
        out_.push_back(std::move(*ack));
        write();
      }
    }
  }
  void write() {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    asio::async_write(*socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        self->writing_ = false;
                        if (ec) return;
                        self->out_.pop_front();
                        self->write();
                      });
  }

  Runtime& rt_;
  std::shared_ptr<tcp::socket> socket_;
  const NodeRunOptions& o_;
  std::vector<std::uint8_t> buf_;
  std::array<std::uint8_t, 4096> chunk_{};
  std::deque<std::vector<std::uint8_t>> out_;
  bool writing_ = false;
};

void Runtime::serve(std::shared_ptr<tcp::socket> socket) {
  std::make_shared<InConn>(*this, std::move(socket), o_)->read();
}

// ---- the client edge: HTTP on Boost.Beast ----------------------------------------------------

// One client connection: requests read one at a time (keep-alive), each
// answered before the next is read.
class HttpConn : public std::enable_shared_from_this<HttpConn> {
 public:
  HttpConn(Runtime& rt, tcp::socket socket, Version version)
      : rt_(rt), stream_(std::move(socket)), version_(version) {}
  void read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(stream_, buf_, req_, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return;  // closed, timed out or malformed: the connection ends
      self->handle();
    });
  }
  void answer(unsigned status, const std::string& body) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), req_.version());
    res->set(http::field::server, "faultline-live");
    res->set(http::field::content_type, "application/json");
    res->set("X-Version-Id", version_.str());  // Mattermost's header naming the build
    res->keep_alive(req_.keep_alive());
    res->body() = body;
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(60));
    http::async_write(stream_, *res, [self = shared_from_this(), res](const boost::system::error_code& ec, std::size_t) {
      if (ec) return;
      if (!res->keep_alive()) {
        boost::system::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->read();
    });
  }
  // The server stopped listening between the request and the answer: as a
  // refused connection, nothing comes back.
  void refuse() {
    boost::system::error_code ignored;
    stream_.socket().close(ignored);
  }
  // For the edge (live/ws_edge.h): the request read, and the stream it becomes a websocket on.
  const http::request<http::string_body>& request() const { return req_; }
  beast::tcp_stream release_stream() { return std::move(stream_); }

 private:
  void handle() {
    const std::string_view target(req_.target().data(), req_.target().size());
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    if (ServerEdge::takes(path)) {
      rt_.edge_http(shared_from_this(), path);
      return;
    }
    if (path != "/api/v4/system/ping") {
      answer(404, R"({"id":"api.context.404.app_error","message":"Sorry, we could not find the page.","status_code":404})");
      return;
    }
    if (req_.method() != http::verb::get) {
      answer(405, R"({"id":"api.context.405.app_error","message":"Method not allowed.","status_code":405})");
      return;
    }
    bool with_status = false;
    for (std::size_t at = 0; at <= query.size();) {  // key=value&key=value
      const auto amp = query.find('&', at);
      const std::string_view pair = query.substr(at, amp == std::string_view::npos ? std::string_view::npos : amp - at);
      if (pair == "get_server_status=true") with_status = true;
      if (amp == std::string_view::npos) break;
      at = amp + 1;
    }
    rt_.http_ping(shared_from_this(), with_status);
  }

  Runtime& rt_;
  beast::tcp_stream stream_;
  Version version_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
};

void Runtime::open_http() {
  if (o_.http_port == 0 || http_acceptor_) return;
  boost::system::error_code ec;
  auto a = std::make_unique<tcp::acceptor>(io_);
  a->open(tcp::v4(), ec);
  if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a->bind(tcp::endpoint(asio::ip::address_v4::loopback(), o_.http_port), ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    log("cannot serve HTTP on 127.0.0.1:" + std::to_string(o_.http_port) + ": " + ec.message());
    return;
  }
  http_acceptor_ = std::move(a);
  accept_http();
}

void Runtime::close_http() {
  if (!http_acceptor_) return;
  boost::system::error_code ignored;
  http_acceptor_->close(ignored);
  http_acceptor_.reset();
}

void Runtime::accept_http() {
  if (!http_acceptor_) return;
  http_acceptor_->async_accept([this, acceptor = http_acceptor_.get()](const boost::system::error_code& ec,
                                                                       tcp::socket socket) {
    if (ec || acceptor != http_acceptor_.get()) return;  // closed (the server stopped)
    Version version{};
    if (const ServerSpec* me = o_.spec->server(o_.name)) version = me->version;
    std::make_shared<HttpConn>(*this, std::move(socket), version)->read();
    accept_http();
  });
}

void Runtime::http_ping(const std::shared_ptr<HttpConn>& conn, bool with_status) {
  if (!alive() || !http_acceptor_) {
    conn->refuse();
    return;
  }
  const std::uint64_t seq = ++next_http_;
  http_waiting_[seq] = HttpWaiting{conn, with_status};
  node_->on_message(*this, kHttpEdge, Message{HealthPing{seq, with_status}});
}

void Runtime::edge_http(const std::shared_ptr<HttpConn>& conn, std::string_view path) {
  if (!alive() || !http_acceptor_ || !edge_) {
    conn->refuse();
    return;
  }
  if (path == kWebsocketPath) {
    edge_->upgrade(conn->release_stream(), conn->request());
    return;
  }
  edge_->api(conn->request(), ServerEdge::Responder{[conn](unsigned status, std::string body) { conn->answer(status, body); },
                                                    [conn] { conn->refuse(); }});
}

void Runtime::http_answer(const HealthPong& pong) {
  const auto it = http_waiting_.find(pong.seq);
  if (it == http_waiting_.end()) return;
  const HttpWaiting w = it->second;
  http_waiting_.erase(it);
  // Mattermost's answer carries more fields (versions, search backend); the
  // status ones are what health checks read. With get_server_status both
  // probes passed for a 200 (the node answers 500 when either failed).
  if (pong.status == kHealthRefused) {
    w.conn->refuse();
  } else if (pong.status == 200) {
    w.conn->answer(200, w.with_status ? R"({"database_status":"OK","filestore_status":"OK","status":"OK"})"
                                      : R"({"status":"OK"})");
  } else {
    w.conn->answer(pong.status, R"({"status":"UNHEALTHY"})");
  }
}

void Runtime::read_control() {
  asio::async_read_until(control_, control_buf_, '\n', [this](const boost::system::error_code& ec, std::size_t) {
    if (ec) {  // end of file: the harness is gone; nothing may outlive it
      log("control closed: exiting");
      io_.stop();
      return;
    }
    std::istream in(&control_buf_);
    std::string line;
    std::getline(in, line);
    on_control(line);
    if (!io_.stopped()) read_control();
  });
}

void Runtime::on_control(const std::string& line) {
  const auto space = line.find(' ');
  const std::string cmd = line.substr(0, space);
  const std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
  if (cmd == "cut" || cmd == "uncut") {
    const NodeId peer{static_cast<std::uint32_t>(std::stoul(arg))};
    if (cmd == "cut") {
      cuts_.insert(peer);
      if (auto it = links_.find(peer); it != links_.end()) it->second->cut();
    } else {
      cuts_.erase(peer);
    }
  } else if (cmd == "heal") {
    cuts_.clear();
  } else if (cmd == "offset") {
    offset_ = Duration{std::stoll(arg)};
  } else if (cmd == "endpoint") {  // a failover moved the cluster endpoint
    db_->set_endpoint(NodeId{static_cast<std::uint32_t>(std::stoul(arg))});
  } else if (cmd == "stop") {
    stop_gracefully();
  } else if (cmd == "spec") {
    // "spec KEY VALUE": the operator edited this machine's files (ControlOp
    // set_spec, as the simulator's spec hook applies it), then the node hears
    // of it (on_control: reload_config, plugin, ...). VALUE may hold spaces.
    const auto sp = arg.find(' ');
    ControlOp op{ControlOp::Kind::set_spec, arg.substr(0, sp), sp == std::string::npos ? "" : arg.substr(sp + 1)};
    if (o_.on_spec) o_.on_spec(op);
    if (alive()) node_->on_control(*this, op);
  } else {
    log("unknown control line: " + line);
  }
}

void Runtime::stop_gracefully() {
  if (stopping_) return;
  node_->on_stop(*this);
  emit(ProcessStopped{});
  stopping_ = true;
  // The database requests on_stop made are answered first (at most 5 s).
  auto limit = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(5));
  limit->async_wait([this, limit](const boost::system::error_code&) { io_.stop(); });
  db_->when_idle([this, limit] { io_.stop(); });
}

int Runtime::run() {
  boost::system::error_code ec;
  const auto port = o_.gossip_ports.at(o_.self);
  acceptor_.open(tcp::v4(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    log("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
    return 3;
  }
  control_.assign(::dup(o_.control_fd));
  edge_ = std::make_unique<ServerEdge>(
      io_,
      EdgeHooks{[this](NodeId from, const Message& m) {
                  if (!alive()) return false;
                  node_->on_message(*this, from, m);
                  return true;
                },
                [this](NodeId to, const Message& m) { send_failed(to, m); }, [this](const std::string& line) { log(line); }},
      o_.spec->clients.proxy);
  node_ = std::make_unique<AppServer>(o_.spec, o_.name);
  emit(ProcessStarted{});
  node_->on_start(*this);
  accept();
  read_control();
  io_.run();
  return 0;
}

}  // namespace

int run_node(const NodeRunOptions& options) {
  Runtime rt(options);
  return rt.run();
}

}  // namespace fl::live
