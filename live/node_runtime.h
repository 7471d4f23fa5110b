// The live runtime of one app server process: base/env.h's Env on Boost.Asio
// (one io_context, one thread for the node), gossip over TCP with the frames of
// live/frame.h, the database through live/pg_db.h. Asio and libpq stay in the
// .cc: this header is what the harness includes.
//
// What it keeps true (base/env.h's promises, live):
//  - The node's inputs run on the io_context's thread only, never concurrently,
//    never re-entrantly (an Env call posts; it never calls the node back).
//  - A send to a peer is acknowledged by the peer's runtime after its node took
//    it in; without that acknowledgement within k::kGossipRequestTimeout, or
//    when the connection is refused, reset or cut, the sender's node gets
//    on_send_failed for it (exactly once per send).
//  - A frame that fails decoding (wrong HMAC, version, length, random bytes)
//    is logged and its connection closed; the node never sees it.
//  - Control lines on `control_fd` (the harness's pipe): "cut ID", "uncut ID",
//    "heal", "offset NS" (clock fault: now() = system clock + NS), "endpoint
//    ID" (the database's cluster endpoint moved to member ID), "stop"
//    (graceful: on_stop, the database requests it made are run, then exit),
//    "spec KEY VALUE" (an operator's ControlOp set_spec: on_spec, then the
//    node's on_control).
//    End of file (the harness is gone) exits at once.
//  - HTTP (`http_port`): GET /api/v4/system/ping, plain or with
//    get_server_status=true, is the node's HealthPing and its HealthPong the
//    answer: 200 {"status":"OK"...}, or 500 {"status":"UNHEALTHY"} when the
//    status probe failed (REFERENCE.md, Health check); other paths 404, other
//    methods 405. A ping never waits on another ping.
//  - The edge (live/ws_edge.h): the websocket endpoint and the posts API on
//    the same port, the node's inputs from the proxy (o.spec->clients.proxy);
//    its WsOpened/WsEvent/WsClose/ApiResponse to the proxy go back on them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/env.h"
#include "base/history.h"
#include "base/ids.h"
#include "base/time.h"
#include "nodes/spec.h"

namespace fl::live {

struct NodeRunOptions {
  std::shared_ptr<const ClusterSpec> spec;   // the machines' files (nodes/spec.h)
  std::string name;                          // "app1"
  NodeId self{kNoNode};
  std::map<NodeId, std::uint16_t> gossip_ports;  // every app server's loopback port
  std::string secret;                        // the cluster's HMAC key
  std::string db_conninfo;                   // libpq connection string of the primary
  NodeId db_node{kNoNode};                   // the id the database's events carry
  // Every database member's connection string by its id (empty: db_node's
  // alone), and the member the cluster endpoint leads to (kNoNode: db_node);
  // the control line "endpoint ID" moves it (a failover).
  std::map<NodeId, std::string> db_members;
  NodeId db_endpoint{kNoNode};
  std::int64_t epoch_ns = 0;                 // the run's time origin (system clock, ns)
  Duration clock_offset{};                   // clock fault at start
  std::uint64_t seed = 0;                    // this process start's generator seed
  std::function<void(const HistoryEvent&)> sink;  // every emitted event, stamped
  int control_fd = 0;
  // The client-facing HTTP port (Boost.Beast; 0: none). It listens only while
  // the server serves (from ServerServing to ServerStopping), as the real
  // server has no listener before: a client meanwhile is refused.
  std::uint16_t http_port = 0;
  // The control line "spec KEY VALUE" (the live operator, harness/live_ops.h):
  // called with the edit before the node's on_control, so that the owner of
  // `spec` writes it into the machine's files first (nullptr: not written).
  std::function<void(const ControlOp&)> on_spec;
};

// The NodeId a live node's HTTP requests come from (HealthPing's `from`): no
// cluster member has it; the runtime routes the node's answers to it back to
// the waiting HTTP connection.
inline constexpr NodeId kHttpEdge{UINT32_MAX - 1};

// Runs the node until "stop" or end of file on control_fd. Returns 0, or 3
// when the runtime itself failed (the port taken).
int run_node(const NodeRunOptions& options);

// The wall instant as live mode's Time: system clock ns since `epoch_ns`.
Time live_time(std::int64_t epoch_ns);
std::int64_t system_now_ns();

}  // namespace fl::live
