// The live runtime of the cluster's edge: the proxy and every client, the same
// nodes/ state machines (Proxy, Client) as in the simulator, in one process
// (`faultline live-node FILE --name edge`), each node with its own Env on one
// Boost.Asio io_context.
//
// Routes (docs/live.md, "The edge"):
//  - client <-> proxy: inside the process, each send posted to the io_context
//    (in order per pair, never re-entrant). Neither side is ever crashed live.
//  - proxy -> app server: real connections to the server's HTTP port.
//    HealthPing is GET /api/v4/system/ping[?get_server_status=true] and its
//    answer the HealthPong; ApiRequest is POST /api/v4/posts[/since] and the
//    JSON answer the ApiResponse; WsConnect opens a websocket
//    (GET /api/v4/websocket, one per client and server, as NGINX opens one
//    upstream connection per client websocket) and is its first frame, WsPing
//    and WsClose are frames on it (WsClose then closes it), and the server's
//    frames on it (WsOpened, WsEvent, WsClose) are the proxy's inputs.
//  - A refused or broken connection fails the send (on_send_failed), as a
//    refused TCP connection does in the simulator: the proxy then passes the
//    server over (proxy_next_upstream) or closes the client's websocket. An
//    answer that never comes is given up silently after its timeout (the
//    proxy's health tick and the client's request timeout act, as in the
//    simulator).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/history.h"
#include "base/ids.h"
#include "nodes/spec.h"

namespace fl::live {

struct EdgeRunOptions {
  std::shared_ptr<const ClusterSpec> spec;  // clients.proxy, clients.nodes, proxy.upstream set
  std::map<NodeId, std::uint16_t> http_ports;  // every app server's HTTP port
  std::int64_t epoch_ns = 0;
  std::uint64_t seed = 0;
  std::function<void(const HistoryEvent&)> sink;
  int control_fd = 0;  // end of file or "stop": exit
};

// Runs the proxy and the clients until "stop" or end of file on control_fd.
int run_edge(const EdgeRunOptions& options);

}  // namespace fl::live
