// Messages of the cluster's edge: clients, the proxy, websocket frames, the
// health check, shared storage and the edge's cluster messages. Owned by
// nodes/ (client, proxy, ws_hub, storage, operator).
//
// Paths (docs/decisions.md: client traffic is messages through the proxy node):
//  - client -> proxy -> server: WsConnect, WsPing, WsClose, ApiRequest
//  - server -> proxy -> client: WsOpened, WsEvent, WsClose, ApiResponse
//    Every frame names its client, so the proxy needs no per-frame table: it
//    keeps only which server holds each client's websocket (and the sticky one).
//  - proxy or operator -> server: HealthPing / HealthPong (/api/v4/system/ping)
//  - server <-> server (gossip's cluster messages): HubPostBroadcast, PluginInstalled
//  - server <-> storage: StorageRequest / StorageReply
// Every alternative is cheap to copy: a list of posts travels as a shared,
// immutable vector (a copy is a reference count).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/time.h"
#include "base/version.h"

namespace fl {

// A post as the edge carries it. `id` is chosen by the author (client index <<
// 32 | n) and doubles as the idempotency key; create_at is stamped by the
// accepting server's clock (so skew shows in resyncs, as in the real server).
struct PostEvent {
  std::uint64_t id = 0;
  std::uint32_t channel = 0;
  NodeId author{kNoNode};
  Time create_at{};
  friend bool operator==(const PostEvent&, const PostEvent&) = default;
};
using PostList = std::shared_ptr<const std::vector<PostEvent>>;

// ---- websocket ------------------------------------------------------------------
// Opening (or re-opening) the websocket. conn_id = 0 on a first connect;
// on a reconnect the client sends the id it had and the next sequence number it
// expects (REFERENCE.md, Websockets: `connection_id` and `sequence_number`).
// channel_mask stands for what the server reads from the session: the user's
// channel memberships (bit c = channel c).
struct WsConnect {
  NodeId client{kNoNode};
  std::uint64_t conn_id = 0;
  std::uint64_t next_seq = 0;
  std::uint64_t channel_mask = 0;
  // The session cookie (docs/model.md, Sessions): after << 32 | the client's
  // node id, where `after` is the revocation the session was created after.
  std::uint64_t session = 0;
};
// The upgrade succeeded (HTTP 101): `server` holds the connection now, under
// `conn_id` (the client's own when the server resumed or reused it).
struct WsOpened {
  NodeId client{kNoNode};
  NodeId server{kNoNode};
  std::uint64_t conn_id = 0;
  Version server_version{};
};
enum class WsEventKind : std::uint8_t { hello, posted, user_added };
// One event on a websocket, numbered by the connection's sequence. `hello`
// (always seq 0 of a new connection id) carries the connection id and the
// server's version; `posted` carries a post.
struct WsEvent {
  NodeId client{kNoNode};
  std::uint64_t conn_id = 0;
  std::uint64_t seq = 0;
  WsEventKind kind = WsEventKind::posted;
  PostEvent post{};
  Version server_version{};
  // user_added (issue 14): `user` was added to `channel`.
  std::uint32_t channel = 0;
  NodeId user{kNoNode};
};
// Keep-alive from the client (it also counts as activity for the reaper).
struct WsPing {
  NodeId client{kNoNode};
};
enum class WsCloseReason : std::uint8_t {
  client_closed,   // the client went away (or reloads its page)
  upstream_lost,   // the proxy lost the server side (crash, refused, timed out)
  no_upstream,     // the proxy has no healthy server for a new connection (502)
  server_closed,   // the server closed it (queue full, reaped, shutting down)
  unknown,         // the receiver knows no such websocket
  refused,         // server -> proxy: no listener (blocked in start-up); try another
  unauthorized,    // the session was revoked: the web app logs out
};
inline const char* ws_close_reason_name(WsCloseReason reason) {
  switch (reason) {
    case WsCloseReason::client_closed: return "client_closed";
    case WsCloseReason::upstream_lost: return "upstream_lost";
    case WsCloseReason::no_upstream: return "no_upstream";
    case WsCloseReason::server_closed: return "server_closed";
    case WsCloseReason::unknown: return "unknown";
    case WsCloseReason::refused: return "refused";
    case WsCloseReason::unauthorized: return "unauthorized";
  }
  return "?";
}
struct WsClose {
  NodeId client{kNoNode};
  WsCloseReason reason = WsCloseReason::client_closed;
  std::uint64_t revocation = 0;  // unauthorized: the revocation that ended the session
};

// ---- REST ---------------------------------------------------------------------------
enum class ApiKind : std::uint8_t { create_post, posts_since };
inline const char* api_kind_name(ApiKind kind) {
  return kind == ApiKind::create_post ? "create_post" : "posts_since";
}
// page_version: the version of the server the client's page (the web app) came
// from; a server older by a minor version cannot serve it (the seed: "Messages
// do not post until after reloading").
struct ApiRequest {
  NodeId client{kNoNode};
  std::uint64_t req = 0;
  ApiKind kind = ApiKind::create_post;
  PostEvent post{};              // create_post
  std::uint64_t channel_mask = 0;  // posts_since
  Time since{};                  // posts_since: create_at of the newest post held
  Version page_version{};
  std::uint64_t session = 0;     // the session cookie (as WsConnect)
};
enum class ApiStatus : std::uint8_t {
  ok,
  error,        // 500: the server failed (database unreachable, timeout)
  unavailable,  // 502: the proxy found no server that would take the request
  unsupported,  // the server is older than the client's page: cannot handle it
  refused,      // server -> proxy: no listener (blocked in start-up); try another
  unauthorized, // 401: the session was revoked
};
inline const char* api_status_name(ApiStatus status) {
  switch (status) {
    case ApiStatus::ok: return "ok";
    case ApiStatus::error: return "error";
    case ApiStatus::unavailable: return "unavailable";
    case ApiStatus::unsupported: return "unsupported";
    case ApiStatus::refused: return "refused";
    case ApiStatus::unauthorized: return "unauthorized";
  }
  return "?";
}
struct ApiResponse {
  NodeId client{kNoNode};
  std::uint64_t req = 0;
  ApiStatus status = ApiStatus::ok;
  NodeId server{kNoNode};
  PostList posts;  // posts_since
  std::uint64_t revocation = 0;  // unauthorized: the revocation that ended the session
};

// ---- health check ---------------------------------------------------------------
// GET /api/v4/system/ping, with get_server_status=true when with_status.
struct HealthPing {
  std::uint64_t seq = 0;
  bool with_status = false;
};
// status 200 or 500; kHealthRefused when the server has no listener (blocked in
// start-up): in reality the TCP connection is refused.
inline constexpr std::uint16_t kHealthRefused = 0;
struct HealthPong {
  std::uint64_t seq = 0;
  std::uint16_t status = 200;
  Version version{};
};

// ---- cluster messages of the edge (carried by the servers' gossip) --------------
// A post accepted on one server, for the others to deliver to their websockets
// (REFERENCE.md, Inter-node messages: "post created" is a reliable event).
struct HubPostBroadcast {
  PostEvent post{};
};
// A plugin installed on one server and written to shared storage: the others
// load it from there.
struct PluginInstalled {
  std::string plugin;
};
// Reliable websockets across servers (MM-61904, mattermost/mattermost#29489): a
// server where a client reconnects with a connection id it does not hold asks
// the others for that connection's queues (GetWSQueues)...
struct WsQueueRequest {
  std::uint64_t token = 0;
  NodeId client{kNoNode};
  std::uint64_t conn_id = 0;
  std::uint64_t next_seq = 0;
};
// ... and each answers: `found` when it held the connection inactive and the
// client's sequence is still in its buffer; it then gives the connection up
// (CheckConn removes it) and sends the events from next_seq on, and the
// connection's next sequence number.
struct WsQueueReply {
  std::uint64_t token = 0;
  bool found = false;
  std::uint64_t next_seq = 0;
  std::shared_ptr<const std::vector<WsEvent>> events;
};

// Channel membership (issue 14; docs/model.md, Incidents). A user added to a
// channel on another server: `invalidate` makes the receiver drop the user's
// websocket membership cache first; `direct` sends user_added to that user's
// connection whatever its cache says (mattermost#27846), else to the channel's
// members as their caches say. The fixed code sends one reliable message with
// both set; the pre-fix variants are in docs/model.md.
struct HubUserAdded {
  NodeId user{kNoNode};
  std::uint32_t channel = 0;
  bool direct = true;
  bool invalidate = true;
};
// The invalidation alone (ClusterEventInvalidateCacheForUserTeams), when it
// travels apart from the event (mm_59911).
struct HubInvalidateMember {
  NodeId user{kNoNode};
};

// ---- shared file storage (the seed's S3/NAS) -------------------------------------
enum class StorageOp : std::uint8_t { put, get, list, check };
struct StorageRequest {
  std::uint64_t req = 0;
  StorageOp op = StorageOp::check;
  std::string key;  // put/get: the object's key; list: a prefix
};
struct StorageReply {
  std::uint64_t req = 0;
  bool ok = false;     // false: the store is in an outage
  bool found = false;  // get
  std::shared_ptr<const std::vector<std::string>> keys;  // list
};

#define FL_EDGE_MESSAGES                                                                    \
  ::fl::WsConnect, ::fl::WsOpened, ::fl::WsEvent, ::fl::WsPing, ::fl::WsClose,             \
      ::fl::ApiRequest, ::fl::ApiResponse, ::fl::HealthPing, ::fl::HealthPong,             \
      ::fl::HubPostBroadcast, ::fl::PluginInstalled, ::fl::StorageRequest, ::fl::StorageReply,     \
      ::fl::HubUserAdded, ::fl::HubInvalidateMember, ::fl::WsQueueRequest, ::fl::WsQueueReply

}  // namespace fl
