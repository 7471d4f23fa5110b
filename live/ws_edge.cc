#include "live/ws_edge.h"

#include <boost/beast/websocket.hpp>

#include <deque>

#include "live/edge_codec.h"

namespace fl::live {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// One client's websocket, the proxy at the other end. Lives as long as a read
// or write handler holds it.
class WsServerSession : public std::enable_shared_from_this<WsServerSession> {
 public:
  WsServerSession(ServerEdge& edge, beast::tcp_stream stream) : edge_(edge), ws_(std::move(stream)) {
    boost::system::error_code ignored;
    const auto remote = beast::get_lowest_layer(ws_).socket().remote_endpoint(ignored);
    peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  }

  void accept(const ServerEdge::Request& request) {
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(kMaxEdgeMessage);
    ws_.async_accept(request, [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;  // not a websocket handshake: the connection ends
      self->read();
    });
  }

  // A frame out; `last` (a WsClose) closes the websocket after it.
  void write(const Message& message, bool last) {
    if (closed_) {
      edge_.send_failed(message);
      return;
    }
    out_.push_back({message, encode_edge(message), last});
    flush();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    ws_.async_close(websocket::close_code::going_away, [self = shared_from_this()](const boost::system::error_code&) {});
  }

 private:
  struct Out {
    Message message;
    std::string text;
    bool last = false;
  };

  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      if (ec) {  // closed by the proxy, or the connection broke
        self->gone();
        return;
      }
      const std::string text = beast::buffers_to_string(self->buf_.data());
      self->buf_.consume(self->buf_.size());
      if (!self->ws_.got_text()) {
        self->reject("a binary frame");
        return;
      }
      std::string why;
      auto message = decode_edge(text, &why);
      if (!message) {
        self->reject(why);
        return;
      }
      if (!self->take(*message)) return;
      self->read();
    });
  }

  // Checks a decoded frame against the websocket's client and hands it in.
  bool take(const Message& m) {
    NodeId client = kNoNode;
    if (const auto* c = m.get<WsConnect>()) client = c->client;
    else if (const auto* p = m.get<WsPing>()) client = p->client;
    else if (const auto* c = m.get<WsClose>()) client = c->client;
    else return reject("a frame the proxy does not send"), false;
    if (client == kNoNode) return reject("no client"), false;
    if (m.is<WsConnect>()) {
      if (client_ != kNoNode && client_ != client) return reject("another client than the websocket's"), false;
      client_ = client;
      edge_.bind(client_, shared_from_this());
    } else if (client_ != client) {
      return reject(client_ == kNoNode ? "a frame before ws_connect" : "another client than the websocket's"), false;
    }
    if (!edge_.deliver(m)) {
      close();
      return false;
    }
    return true;
  }

  bool reject(const std::string& why) {
    edge_.log("rejected websocket frame from " + peer_ + ": " + why);
    if (client_ != kNoNode) edge_.unbind(client_, this);
    if (!closed_) {
      closed_ = true;
      ws_.async_close(websocket::close_code::policy_error, [self = shared_from_this()](const boost::system::error_code&) {});
    }
    fail_queued();
    return false;
  }

  void gone() {
    closed_ = true;
    if (client_ != kNoNode) edge_.unbind(client_, this);
    fail_queued();
  }

  void fail_queued() {
    // The frames not yet written never reach the proxy: the node hears so.
    std::deque<Out> out;
    out.swap(out_);
    if (writing_ && !out.empty()) out.pop_front();  // the one being written ends in its own handler
    for (auto& o : out) edge_.send_failed(o.message);
  }

  void flush() {
    if (writing_ || out_.empty() || closed_) return;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(out_.front().text), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                                   std::size_t) {
      self->writing_ = false;
      if (self->out_.empty()) return;  // failed meanwhile (fail_queued)
      Out done = std::move(self->out_.front());
      self->out_.pop_front();
      if (ec) {
        self->edge_.send_failed(done.message);
        self->gone();
        return;
      }
      if (done.last) {
        if (self->client_ != kNoNode) self->edge_.unbind(self->client_, self.get());
        self->close();
        self->fail_queued();
        return;
      }
      self->flush();
    });
  }

  ServerEdge& edge_;
  websocket::stream<beast::tcp_stream> ws_;
  std::string peer_;
  beast::flat_buffer buf_;
  NodeId client_{kNoNode};
  std::deque<Out> out_;
  bool writing_ = false;
  bool closed_ = false;
};

ServerEdge::ServerEdge(asio::io_context& io, EdgeHooks hooks, NodeId proxy)
    : io_(io), hooks_(std::move(hooks)), proxy_(proxy) {}

ServerEdge::~ServerEdge() = default;

bool ServerEdge::takes(std::string_view path) {
  return path == kWebsocketPath || path == kCreatePostPath || path == kPostsSincePath;
}

void ServerEdge::upgrade(beast::tcp_stream stream, Request request) {
  if (!websocket::is_upgrade(request)) {
    // A plain GET of the websocket path: no websocket, the connection ends.
    boost::system::error_code ignored;
    stream.socket().close(ignored);
    return;
  }
  auto session = std::make_shared<WsServerSession>(*this, std::move(stream));
  session->accept(request);
}

void ServerEdge::api(const Request& request, Responder responder) {
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (request.method() != http::verb::post) {
    responder.answer(405, R"({"id":"api.context.405.app_error","message":"Method not allowed.","status_code":405})");
    return;
  }
  std::string why;
  auto message = decode_edge(request.body(), &why);
  const ApiRequest* r = message ? message->get<ApiRequest>() : nullptr;
  if (r && (r->kind == ApiKind::create_post) != (path == kCreatePostPath)) why = "the kind does not match the path";
  if (r && r->client == kNoNode) why = "no client";
  if (!r || !why.empty()) {
    if (why.empty()) why = "not an api_request";
    log("rejected API request to " + std::string(path) + ": " + why);
    responder.answer(400, R"({"id":"api.context.invalid_body_param.app_error","status_code":400})");
    return;
  }
  const auto key = std::make_pair(r->client, r->req);
  if (auto old = waiting_.find(key); old != waiting_.end()) {
    old->second.refuse();  // the same request again: the older copy is abandoned
    waiting_.erase(old);
  }
  waiting_.emplace(key, std::move(responder));
  if (!hooks_.deliver(proxy_, *message)) {
    auto it = waiting_.find(key);
    if (it != waiting_.end()) {
      it->second.refuse();
      waiting_.erase(it);
    }
  }
}

bool ServerEdge::route(NodeId to, const Message& message) {
  if (const auto* r = message.get<ApiResponse>()) {
    const auto it = waiting_.find({r->client, r->req});
    if (it == waiting_.end()) return true;  // the proxy gave up on it: nobody waits
    Responder responder = std::move(it->second);
    waiting_.erase(it);
    if (r->status == ApiStatus::refused) {
      responder.refuse();
      return true;
    }
    unsigned status = 200;
    switch (r->status) {
      case ApiStatus::ok: status = 200; break;
      case ApiStatus::error: status = 500; break;
      case ApiStatus::unavailable: status = 502; break;
      case ApiStatus::unsupported: status = 400; break;
      case ApiStatus::unauthorized: status = 401; break;
      case ApiStatus::refused: break;
    }
    responder.answer(status, encode_edge(message));
    return true;
  }
  NodeId client = kNoNode;
  bool last = false;
  if (const auto* m = message.get<WsOpened>()) client = m->client;
  else if (const auto* m = message.get<WsEvent>()) client = m->client;
  else if (const auto* m = message.get<WsClose>()) client = m->client, last = true;
  else return false;
  (void)to;
  const auto it = sessions_.find(client);
  if (it == sessions_.end()) {
    hooks_.send_failed(proxy_, message);  // no websocket of that client here
    return true;
  }
  const auto session = it->second;
  if (last) sessions_.erase(it);
  session->write(message, last);
  return true;
}

void ServerEdge::close_all() {
  auto sessions = std::move(sessions_);
  sessions_.clear();
  for (auto& [client, s] : sessions) s->close();
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& [key, r] : waiting) r.refuse();
}

void ServerEdge::bind(NodeId client, const std::shared_ptr<WsServerSession>& session) {
  auto& slot = sessions_[client];
  if (slot && slot != session) slot->close();  // a new websocket of the client replaces the old one
  slot = session;
}

void ServerEdge::unbind(NodeId client, const WsServerSession* session) {
  const auto it = sessions_.find(client);
  if (it != sessions_.end() && it->second.get() == session) sessions_.erase(it);
}

}  // namespace fl::live
