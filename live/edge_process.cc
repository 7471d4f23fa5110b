// The edge process (see edge_process.h).
#include "live/edge_process.h"

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without it under C++20.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <deque>
#include <iostream>
#include <set>

#include "base/env.h"
#include "live/edge_codec.h"
#include "live/node_runtime.h"
#include "live/ws_edge.h"
#include "nodes/client.h"
#include "nodes/constants.h"
#include "nodes/proxy.h"

namespace fl::live {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// As node_runtime.cc: a connect into nowhere gives up after the simulator's
// connect timeout (sim/simulation.h's kConnectTimeout).
constexpr auto kConnectTimeout = std::chrono::seconds(3);
// A health check's answer: NGINX's health_check timeout is 60 s by default,
// but an unanswered check counts as failed at the next tick already (the
// proxy's own rule); past this the request is only given up.
constexpr auto kHealthAnswerTimeout = std::chrono::seconds(30);

std::chrono::nanoseconds chrono_of(Duration d) { return std::chrono::nanoseconds(d.count()); }

class EdgeRuntime;

// One node of the process with its own Env.
class LocalEnv final : public Env {
 public:
  LocalEnv(EdgeRuntime& rt, NodeId self, std::unique_ptr<Node> node, std::uint64_t seed)
      : rt_(rt), self_(self), node_(std::move(node)), rng_(seed) {}

  NodeId self() const override { return self_; }
  Time now() override;
  Time monotonic() override {
    return time_from_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count());
  }
  TimerId after(Duration d, TimerTag tag) override;
  void cancel(TimerId id) override {
    auto it = timers_.find(id.value);
    if (it == timers_.end()) return;
    it->second->cancel();
    timers_.erase(it);
  }
  void send(NodeId to, const Message& message) override;
  RequestId db(const DbRequest&) override {
    log("db: the edge has no database");
    return RequestId{0};
  }
  void db_reply(NodeId, RequestId, const DbReply&) override {}
  void set_db_endpoint(NodeId) override {}
  void control(NodeId, const ControlOp&) override { log("control: no operator live"); }
  Rng& rng() override { return rng_; }
  void emit(EventBody event) override;

  Node& node() { return *node_; }
  void log(const std::string& line);

 private:
  EdgeRuntime& rt_;
  NodeId self_;
  std::unique_ptr<Node> node_;
  Rng rng_;
  std::uint64_t next_timer_ = 0;
  std::map<std::uint64_t, std::unique_ptr<asio::steady_timer>> timers_;
};

class UpLink;

class EdgeRuntime {
 public:
  explicit EdgeRuntime(const EdgeRunOptions& o) : o_(o), control_(io_) {}
  int run();

  asio::io_context& io() { return io_; }
  const EdgeRunOptions& options() const { return o_; }
  void log(const std::string& line) { std::cerr << "edge: " << line << std::endl; }
  void stamp(NodeId node, EventBody event) {
    const Time t = live_time(o_.epoch_ns);
    HistoryEvent e{seq_++, t, t, node, std::move(event)};
    if (o_.sink) o_.sink(e);
  }
  // Every input of a node goes through here, posted: never re-entrant.
  void post_message(NodeId to, NodeId from, const Message& m) {
    asio::post(io_, [this, to, from, m] {
      if (LocalEnv* env = local(to)) env->node().on_message(*env, from, m);
    });
  }
  void post_failed(NodeId node, NodeId to, const Message& m) {
    asio::post(io_, [this, node, to, m] {
      if (LocalEnv* env = local(node)) env->node().on_send_failed(*env, to, m);
    });
  }
  LocalEnv* local(NodeId id) {
    auto it = nodes_.find(id);
    return it == nodes_.end() ? nullptr : it->second.get();
  }
  void send(NodeId from, NodeId to, const Message& m);
  void link_gone(NodeId client, NodeId server, const UpLink* link);

 private:
  void http_call(NodeId server, std::uint16_t port, const Message& m);
  void read_control();

  const EdgeRunOptions& o_;
  asio::io_context io_;
  std::map<NodeId, std::unique_ptr<LocalEnv>> nodes_;
  std::map<std::pair<NodeId, NodeId>, std::shared_ptr<UpLink>> links_;  // (client, server)
  std::set<std::size_t> unroutable_logged_;
  std::uint64_t seq_ = 0;
  asio::posix::stream_descriptor control_;
  asio::streambuf control_buf_;
};

Time LocalEnv::now() { return live_time(rt_.options().epoch_ns); }

TimerId LocalEnv::after(Duration d, TimerTag tag) {
  const TimerId id{++next_timer_};
  auto timer = std::make_unique<asio::steady_timer>(rt_.io(), chrono_of(d));
  timer->async_wait([this, id, tag](const boost::system::error_code& ec) {
    if (ec) return;
    if (timers_.erase(id.value) == 0) return;  // cancelled
    node_->on_timer(*this, id, tag);
  });
  timers_.emplace(id.value, std::move(timer));
  return id;
}

void LocalEnv::send(NodeId to, const Message& message) { rt_.send(self_, to, message); }
void LocalEnv::emit(EventBody event) { rt_.stamp(self_, std::move(event)); }
void LocalEnv::log(const std::string& line) { rt_.log("node " + std::to_string(self_.value) + ": " + line); }

// ---- the proxy's upstream websocket of one client on one server ---------------------

class UpLink : public std::enable_shared_from_this<UpLink> {
 public:
  UpLink(EdgeRuntime& rt, NodeId proxy, NodeId client, NodeId server, std::uint16_t port)
      : rt_(rt), proxy_(proxy), client_(client), server_(server), port_(port), ws_(rt.io()) {}

  void open() {
    beast::get_lowest_layer(ws_).expires_after(kConnectTimeout);
    beast::get_lowest_layer(ws_).async_connect(
        tcp::endpoint(asio::ip::address_v4::loopback(), port_), [self = shared_from_this()](const boost::system::error_code& ec) {
          if (ec) return self->broken();  // refused: no listener (down, or blocked in start-up)
          beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true));
          self->ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
          self->ws_.read_message_max(kMaxEdgeMessage);
          self->ws_.async_handshake("127.0.0.1:" + std::to_string(self->port_), std::string(kWebsocketPath),
                                    [self](const boost::system::error_code& ec2) {
                                      beast::get_lowest_layer(self->ws_).expires_never();
                                      if (ec2) return self->broken();
                                      self->open_ = true;
                                      self->read();
                                      self->flush();
                                    });
        });
  }

  // A frame of the proxy's; `last` (a WsClose) closes the websocket after it.
  void write(const Message& m, bool last) {
    if (done_) return rt_.post_failed(proxy_, server_, m);
    out_.push_back({m, encode_edge(m), last});
    flush();
  }

 private:
  struct Out {
    Message message;
    std::string text;
    bool last = false;
  };

  void flush() {
    if (!open_ || writing_ || out_.empty() || done_) return;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(out_.front().text), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                                   std::size_t) {
      self->writing_ = false;
      if (self->out_.empty()) return;
      if (ec) return self->broken();
      const bool last = self->out_.front().last;
      self->out_.pop_front();
      if (last) return self->finish(true);
      self->flush();
    });
  }

  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->finish(false);  // the server closed it, or it broke (a crash)
      const std::string text = beast::buffers_to_string(self->buf_.data());
      self->buf_.consume(self->buf_.size());
      std::string why;
      auto m = decode_edge(text, &why);
      NodeId client = kNoNode;
      if (m) {
        if (const auto* o = m->get<WsOpened>()) client = o->client;
        else if (const auto* e = m->get<WsEvent>()) client = e->client;
        else if (const auto* c = m->get<WsClose>()) client = c->client;
        else why = "a frame the server does not send";
      }
      if (!m || client != self->client_) {
        self->rt_.log("rejected websocket frame from server " + std::to_string(self->server_.value) + ": " +
                      (why.empty() ? "another client than the websocket's" : why));
        return self->finish(true);
      }
      self->rt_.post_message(self->proxy_, self->server_, *m);
      self->read();
    });
  }

  // Connecting failed or a write broke: every frame not written fails.
  void broken() {
    auto out = std::move(out_);
    out_.clear();
    for (auto& o : out) rt_.post_failed(proxy_, server_, o.message);
    finish(false);
  }

  void finish(bool close) {
    if (done_) return;
    done_ = true;
    rt_.link_gone(client_, server_, this);
    auto out = std::move(out_);
    out_.clear();
    for (auto& o : out) rt_.post_failed(proxy_, server_, o.message);
    if (close && open_) {
      ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](const boost::system::error_code&) {});
    } else {
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
    }
  }

  EdgeRuntime& rt_;
  NodeId proxy_, client_, server_;
  std::uint16_t port_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  std::deque<Out> out_;
  bool open_ = false, writing_ = false, done_ = false;
};

void EdgeRuntime::link_gone(NodeId client, NodeId server, const UpLink* link) {
  const auto it = links_.find({client, server});
  if (it != links_.end() && it->second.get() == link) links_.erase(it);
}

// ---- one HTTP request of the proxy's ---------------------------------------------------

class HttpCall : public std::enable_shared_from_this<HttpCall> {
 public:
  using Done = std::function<void(bool answered, unsigned status, const std::string& body)>;
  HttpCall(asio::io_context& io, std::uint16_t port, http::request<http::string_body> req,
           std::chrono::nanoseconds answer_timeout, Done done)
      : stream_(io), port_(port), req_(std::move(req)), answer_timeout_(answer_timeout), done_(std::move(done)) {}

  void start() {
    stream_.expires_after(kConnectTimeout);
    stream_.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port_),
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                            if (ec) return self->done_(false, 0, {});  // refused or timed out
                            self->stream_.expires_after(self->answer_timeout_);
                            http::async_write(self->stream_, self->req_,
                                              [self](const boost::system::error_code& ec2, std::size_t) {
                                                if (ec2) return self->fail(ec2);
                                                self->parser_.body_limit(kMaxEdgeMessage);
                                                http::async_read(self->stream_, self->buf_, self->parser_,
                                                                 [self](const boost::system::error_code& ec3, std::size_t) {
                                                                   if (ec3) return self->fail(ec3);
                                                                   const auto& res = self->parser_.get();
                                                                   self->done_(true, res.result_int(), res.body());
                                                                   boost::system::error_code ignored;
                                                                   self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
                                                                 });
                                              });
                          });
  }

 private:
  void fail(const boost::system::error_code& ec) {
    // No answer in time: given up silently (the proxy's and the client's own
    // timeouts act). Reset or closed unanswered: a failed send.
    if (ec == beast::error::timeout) return;
    done_(false, 0, {});
  }

  beast::tcp_stream stream_;
  std::uint16_t port_;
  http::request<http::string_body> req_;
  std::chrono::nanoseconds answer_timeout_;
  Done done_;
  beast::flat_buffer buf_;
  http::response_parser<http::string_body> parser_;
};

void EdgeRuntime::http_call(NodeId server, std::uint16_t port, const Message& m) {
  const NodeId proxy = o_.spec->clients.proxy;
  http::request<http::string_body> req;
  req.version(11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::user_agent, "faultline-live-proxy");
  req.keep_alive(false);
  std::chrono::nanoseconds timeout = kHealthAnswerTimeout;
  if (const auto* ping = m.get<HealthPing>()) {
    req.method(http::verb::get);
    req.target(ping->with_status ? "/api/v4/system/ping?get_server_status=true" : "/api/v4/system/ping");
  } else {
    const auto* r = m.get<ApiRequest>();
    req.method(http::verb::post);
    req.target(std::string(r->kind == ApiKind::create_post ? kCreatePostPath : kPostsSincePath));
    req.set(http::field::content_type, "application/json");
    req.body() = encode_edge(m);
    req.prepare_payload();
    timeout = chrono_of(k::kProxyReadTimeout);
  }
  auto call = std::make_shared<HttpCall>(
      io_, port, std::move(req), timeout, [this, proxy, server, m](bool answered, unsigned status, const std::string& body) {
        if (!answered) return post_failed(proxy, server, m);
        if (const auto* ping = m.get<HealthPing>()) {
          // The body is the server's; the status is what NGINX's check reads.
          return post_message(proxy, server, Message{HealthPong{ping->seq, static_cast<std::uint16_t>(status), Version{}}});
        }
        std::string why;
        auto answer = decode_edge(body, &why);
        const auto* r = answer ? answer->get<ApiResponse>() : nullptr;
        const auto* q = m.get<ApiRequest>();
        if (!r || r->client != q->client || r->req != q->req) {
          log("rejected API answer from server " + std::to_string(server.value) + " (HTTP " + std::to_string(status) +
              "): " + (why.empty() ? "not the answer to the request" : why));
          return post_failed(proxy, server, m);
        }
        post_message(proxy, server, *answer);
      });
  call->start();
}

void EdgeRuntime::send(NodeId from, NodeId to, const Message& m) {
  if (local(to)) return post_message(to, from, m);  // client <-> proxy
  const auto port = o_.http_ports.find(to);
  if (from != o_.spec->clients.proxy || port == o_.http_ports.end()) {
    if (unroutable_logged_.insert(m.body.index()).second)
      log("no live route for message type #" + std::to_string(m.body.index()) + " to node " + std::to_string(to.value));
    return post_failed(from, to, m);
  }
  if (m.is<HealthPing>() || m.is<ApiRequest>()) return http_call(to, port->second, m);
  NodeId client = kNoNode;
  if (const auto* c = m.get<WsConnect>()) client = c->client;
  else if (const auto* p = m.get<WsPing>()) client = p->client;
  else if (const auto* c = m.get<WsClose>()) client = c->client;
  if (client == kNoNode) {
    if (unroutable_logged_.insert(m.body.index()).second)
      log("no live route for message type #" + std::to_string(m.body.index()) + " to a server");
    return post_failed(from, to, m);
  }
  auto& link = links_[{client, to}];
  if (m.is<WsConnect>()) {
    // A new websocket of the client on that server: the old one (if any) ends.
    if (link) {
      auto old = link;
      old->write(Message{WsClose{client, WsCloseReason::client_closed}}, true);
    }
    link = std::make_shared<UpLink>(*this, from, client, to, port->second);
    link->open();
    link->write(m, false);
    return;
  }
  if (!link) {
    links_.erase({client, to});
    return post_failed(from, to, m);  // no websocket of that client there: the upstream is gone
  }
  auto l = link;
  if (m.is<WsClose>()) links_.erase({client, to});  // it ends with this frame
  l->write(m, m.is<WsClose>());
}

void EdgeRuntime::read_control() {
  asio::async_read_until(control_, control_buf_, '\n', [this](const boost::system::error_code& ec, std::size_t) {
    if (ec) {  // end of file: the harness is gone
      io_.stop();
      return;
    }
    std::istream in(&control_buf_);
    std::string line;
    std::getline(in, line);
    if (line == "stop") {
      io_.stop();
      return;
    }
    log("unknown control line: " + line);
    read_control();
  });
}

int EdgeRuntime::run() {
  const ClusterSpec& spec = *o_.spec;
  const std::shared_ptr<const ClusterSpec> file = o_.spec;
  const NodeId proxy = spec.clients.proxy;
  if (proxy == kNoNode) {
    log("no proxy in the spec");
    return 3;
  }
  // Each node's own generator stream, drawn from the process's seed.
  Rng seeds(o_.seed);
  nodes_.emplace(proxy, std::make_unique<LocalEnv>(*this, proxy, std::make_unique<Proxy>(file), seeds.next()));
  // One store of shown posts for the clients, as in the simulator (harness/edge_builder.cc).
  const auto shown = spec.clients.nodes.empty()
                         ? nullptr
                         : std::make_shared<ShownPosts>(static_cast<std::uint32_t>(spec.clients.nodes.size()));
  for (std::uint32_t i = 0; i < spec.clients.nodes.size(); ++i) {
    const NodeId c = spec.clients.nodes[i];
    nodes_.emplace(c, std::make_unique<LocalEnv>(*this, c, std::make_unique<Client>(file, i + 1, shown), seeds.next()));
  }
  control_.assign(::dup(o_.control_fd));
  // The simulator starts the proxy before the clients (harness/edge_builder.cc).
  for (auto& [id, env] : nodes_) stamp(id, ProcessStarted{});
  if (LocalEnv* p = local(proxy)) p->node().on_start(*p);
  for (const NodeId c : spec.clients.nodes)
    if (LocalEnv* env = local(c)) env->node().on_start(*env);
  read_control();
  io_.run();
  return 0;
}

}  // namespace

int run_edge(const EdgeRunOptions& options) {
  EdgeRuntime rt(options);
  return rt.run();
}

}  // namespace fl::live
