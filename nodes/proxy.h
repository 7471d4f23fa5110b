// The proxy: the seed's NGINX in front of the app servers. An upstream list,
// active health checks on /api/v4/system/ping (plain, or with
// get_server_status=true), sticky sessions, and websocket routing: it forwards
// every frame between a client and the server that holds its websocket.
//
// What it keeps true:
//  - A new connection (websocket or REST request) goes only to a server of the
//    upstream list whose last health check passed (NGINX health_check with
//    fails=1 passes=1), unless proxy_ignores_health is planted (then a server
//    that has passed a check once stays in rotation whatever its later checks
//    say: the removal path is what the bug breaks). A server that
//    refuses a connection is passed over for the next one (proxy_next_upstream)
//    and counts as failed until its next check passes.
//  - A client's websocket is forwarded to exactly one server at a time; when
//    the proxy learns that server is gone (a refused or failed health check, a
//    failed forward) it closes the client's side, so the client reconnects.
//  - It knows only what reached it: answers, failed sends, its timers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "base/env.h"
#include "nodes/spec.h"

namespace fl {

class Proxy : public Node {
 public:
  explicit Proxy(std::shared_ptr<const ClusterSpec> file);

  void on_start(Env& env) override;
  void on_message(Env& env, NodeId from, const Message& message) override;
  void on_send_failed(Env& env, NodeId to, const Message& message) override;
  void on_timer(Env& env, TimerId id, TimerTag tag) override;
  void on_control(Env& env, const ControlOp& op) override;
  // replay --dump-state: upstreams and their health, websockets per server.
  void describe(StateWriter& out) const override;

  // ---- for tests ----
  const std::vector<NodeId>& upstream() const { return upstream_; }
  bool healthy(NodeId server) const;
  // The server holding the client's websocket, or kNoNode.
  NodeId websocket_server(NodeId client) const;

 private:
  enum TimerKind : std::uint32_t { kHealthTick = 1 };
  struct Health {
    bool healthy = true;   // NGINX: a server is up until a check fails
    bool reported = false; // a HealthChecked was emitted for it
    // It has passed a check since it joined the list: it is in rotation. Only
    // the planted bug reads this (usable()).
    bool passed_once = false;
    std::optional<std::uint64_t> outstanding;  // seq of the unanswered check
  };
  struct PendingWs {
    WsConnect connect;
    std::set<NodeId> tried;
  };
  struct PendingApi {
    ApiRequest request;
    std::set<NodeId> tried;
    Time sent_at{};
  };

  void health_tick(Env& env);
  void set_health(Env& env, NodeId server, bool healthy);
  // The server for a new connection of `client`, trying none of `tried`.
  NodeId pick(NodeId client, const std::set<NodeId>& tried);
  bool usable(NodeId server) const;
  void route_connect(Env& env, PendingWs pending);
  void route_api(Env& env, PendingApi pending);
  // The server side of every websocket on `server` is gone: close the clients'.
  void lose_upstream(Env& env, NodeId server);
  void close_client(Env& env, NodeId client, WsCloseReason reason, std::uint64_t revocation = 0);
  void set_upstream(Env& env, std::vector<NodeId> servers);

  std::shared_ptr<const ClusterSpec> file_;
  bool with_status_ = false;
  Duration interval_{};
  bool ignore_health_ = false;  // planted bug proxy_ignores_health

  std::vector<NodeId> upstream_;
  std::map<NodeId, Health> health_;
  std::uint64_t check_seq_ = 0;
  std::size_t round_robin_ = 0;
  // Per client, indexed by the client's node id (ids are dense from 0; the
  // table grows to the largest client id that reached the proxy). A map keyed
  // by client cost a cache miss per tree level on every websocket frame at
  // 10,000 clients (issue 12); iterating the table in index order is the map's
  // client-id order, so what reaches behaviour (lose_upstream's closes) is the
  // same.
  struct PerClient {
    NodeId sticky{kNoNode};     // the session cookie's server, kNoNode: none
    NodeId websocket{kNoNode};  // the server holding its websocket, kNoNode: none
    std::unique_ptr<PendingWs> connecting;  // its open in progress
  };
  PerClient& client_state(NodeId client);
  const PerClient* find_client(NodeId client) const {
    return client.value < clients_.size() ? &clients_[client.value] : nullptr;
  }
  // The server holding the client's websocket here, or kNoNode.
  NodeId ws_server(NodeId client) const {
    const PerClient* c = find_client(client);
    return c == nullptr ? kNoNode : c->websocket;
  }
  std::vector<PerClient> clients_;
  std::map<std::pair<NodeId, std::uint64_t>, PendingApi> api_;  // (client, req)
};

}  // namespace fl
