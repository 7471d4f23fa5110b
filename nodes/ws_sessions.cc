// The websocket hub and sessions (docs/model.md, Sessions; issue 14, MM-68543):
// an upgrade or a request is authenticated by its session; a revocation that
// reaches the server closes the connections its sessions authenticated.
//
// What it keeps true:
//  - No request and no upgrade whose session is revoked on this server is
//    served: it is answered 401 (ApiStatus / WsCloseReason unauthorized) with
//    the revocation that covers it, so the web app logs out.
//  - After close_revoked, no connection of this hub holds a revoked session
//    (FL_ASSERT): none is left to receive events.
#include <vector>

#include "base/assert.h"
#include "nodes/ws_hub.h"

namespace fl {

bool WsHub::refuse_revoked(Env& env, NodeId from, const WsConnect& connect) {
  const std::uint64_t by = host_.session_revoked_by(connect.session);
  if (by == 0) return false;
  env.send(from, Message{WsClose{connect.client, WsCloseReason::unauthorized, by}});
  return true;
}

bool WsHub::refuse_revoked(Env& env, NodeId from, const ApiRequest& request) {
  const std::uint64_t by = host_.session_revoked_by(request.session);
  if (by == 0) return false;
  ApiResponse refused{request.client, request.req, ApiStatus::unauthorized, env.self(), nullptr};
  refused.revocation = by;
  env.send(from, Message{refused});
  return true;
}

std::uint64_t WsHub::close_revoked(Env& env, std::uint64_t revocation) {
  // hub.InvalidateUser / InvalidateAll: each connection drops its cached
  // session, and the next event finds it unauthenticated. The model closes the
  // connection at once (the web app would learn it at its next request's 401).
  std::vector<std::uint64_t> revoked;
  for (const auto& [id, conn] : conns_)
    if (host_.session_revoked_by(conn.session) != 0) revoked.push_back(id);
  for (const std::uint64_t id : revoked) {
    Conn& conn = conns_.at(id);
    if (conn.connected) env.send(conn.via, Message{WsClose{conn.client, WsCloseReason::unauthorized, revocation}});
    erase(id);
  }
  for (const auto& [id, conn] : conns_) FL_ASSERT(host_.session_revoked_by(conn.session) == 0);
  return revoked.size();
}

}  // namespace fl
