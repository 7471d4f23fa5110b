// The client edge of one live app server beyond the ping (live/node_runtime.cc
// serves that): the websocket endpoint and the posts API, on Boost.Beast, on
// the server's HTTP port.
//
//  - GET /api/v4/websocket (upgrade): one websocket per client, opened by the
//    proxy (NGINX opens one upstream connection per client websocket). Text
//    frames carry live/edge_codec.h's JSON: the proxy sends WsConnect first,
//    then WsPing and WsClose of that client only; the server sends WsOpened,
//    WsEvent and WsClose. Each frame in is the node's input from the proxy;
//    each of the node's sends of those three to the proxy is a frame out on
//    the client's websocket (none open: on_send_failed, as a broken upstream).
//  - POST /api/v4/posts (create_post) and POST /api/v4/posts/since
//    (posts_since, the resync): the body an ApiRequest, the answer the node's
//    ApiResponse as JSON with its status (201/200 ok, 500 error, 400
//    unsupported, 401 unauthorized, 502 unavailable; `refused` closes the
//    connection unanswered, as a server without a listener would).
//
// Kept true: a frame or body that does not decode, names another client than
// the websocket's, comes before its WsConnect, or is of a type the proxy does
// not send, is logged ("rejected websocket frame from ...: why") and its
// websocket closed (policy error) or answered 400; the node never sees it and
// the server keeps serving. Asio and Beast appear here: only the runtimes
// include this header, never the harness.
#pragma once

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without it under C++20.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/ids.h"
#include "base/message.h"

namespace fl::live {

inline constexpr std::string_view kWebsocketPath = "/api/v4/websocket";
inline constexpr std::string_view kCreatePostPath = "/api/v4/posts";
inline constexpr std::string_view kPostsSincePath = "/api/v4/posts/since";
// A websocket frame or API body is a few hundred bytes; a resync answer lists
// posts (a 10-minute run of 20 clients has a few thousand). Larger is garbage.
inline constexpr std::size_t kMaxEdgeMessage = 4 << 20;

// What the edge needs of its runtime.
struct EdgeHooks {
  // Hands the message to the node as from `from`; false when the node is gone.
  std::function<bool(NodeId from, const Message&)> deliver;
  // The node's send failed (posted: never re-entrant).
  std::function<void(NodeId to, const Message&)> send_failed;
  std::function<void(const std::string&)> log;
};

class WsServerSession;

class ServerEdge {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  // An HTTP answer (status, JSON body) or a refusal (the connection closed).
  struct Responder {
    std::function<void(unsigned status, std::string body)> answer;
    std::function<void()> refuse;
  };

  // `proxy`: the node the edge's inputs come from (the proxy's id).
  ServerEdge(boost::asio::io_context& io, EdgeHooks hooks, NodeId proxy);
  ~ServerEdge();

  // Whether the path is the edge's (the websocket or the posts API).
  static bool takes(std::string_view path);
  // GET /api/v4/websocket with an upgrade: the stream becomes a websocket.
  void upgrade(boost::beast::tcp_stream stream, Request request);
  // The posts API.
  void api(const Request& request, Responder responder);
  // A send of the node: WsOpened, WsEvent, WsClose (to a websocket) and
  // ApiResponse (to a waiting request) are the edge's and return true.
  bool route(NodeId to, const Message& message);
  // The server stopped serving: every websocket and waiting request closed.
  void close_all();

  // ---- for the sessions ----
  void bind(NodeId client, const std::shared_ptr<WsServerSession>& session);
  void unbind(NodeId client, const WsServerSession* session);
  bool deliver(const Message& message) { return hooks_.deliver(proxy_, message); }
  void send_failed(const Message& message) { hooks_.send_failed(proxy_, message); }
  void log(const std::string& line) { hooks_.log(line); }

 private:
  boost::asio::io_context& io_;
  EdgeHooks hooks_;
  NodeId proxy_;
  std::map<NodeId, std::shared_ptr<WsServerSession>> sessions_;  // by client
  std::map<std::pair<NodeId, std::uint64_t>, Responder> waiting_;  // (client, req)
};

}  // namespace fl::live
