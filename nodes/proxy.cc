#include "nodes/proxy.h"

#include <algorithm>
#include <string>

#include "base/assert.h"

namespace fl {

namespace {

std::string name_of(const ClusterSpec& file, NodeId id) {
  for (const auto& [name, node] : file.directory)
    if (node == id) return name;
  return "node" + std::to_string(id.value);
}

std::string names_of(const ClusterSpec& file, const std::vector<NodeId>& ids) {
  std::string out;
  for (const NodeId id : ids) {
    if (!out.empty()) out += ",";
    out += name_of(file, id);
  }
  return out;
}

}  // namespace

Proxy::Proxy(std::shared_ptr<const ClusterSpec> file) : file_(std::move(file)) {
  FL_ASSERT(file_ != nullptr);
  with_status_ = file_->proxy.health_with_status;
  interval_ = file_->proxy.health_interval;
  ignore_health_ = file_->bugs.on(Bug::proxy_ignores_health);
  FL_ASSERT(interval_ > Duration{0});
}

void Proxy::on_start(Env& env) {
  // The upstream block as the config file has it now (an operator's edit of
  // the list survives a restart of NGINX).
  set_upstream(env, file_->proxy.upstream);
  health_tick(env);
}

bool Proxy::healthy(NodeId server) const {
  const auto it = health_.find(server);
  return it != health_.end() && it->second.healthy;
}

NodeId Proxy::websocket_server(NodeId client) const { return ws_server(client); }

Proxy::PerClient& Proxy::client_state(NodeId client) {
  FL_ASSERT(client != kNoNode);
  if (client.value >= clients_.size()) clients_.resize(std::size_t{client.value} + 1);
  return clients_[client.value];
}

void Proxy::set_upstream(Env& env, std::vector<NodeId> servers) {
  upstream_ = std::move(servers);
  std::map<NodeId, Health> kept;
  for (const NodeId s : upstream_) {
    FL_ASSERT(s != kNoNode);
    const auto it = health_.find(s);
    kept[s] = it == health_.end() ? Health{} : it->second;
  }
  health_ = std::move(kept);
  round_robin_ = 0;
  env.emit(UpstreamChanged{names_of(*file_, upstream_)});
}

bool Proxy::usable(NodeId server) const {
  const auto it = health_.find(server);
  if (it == health_.end()) return false;  // not in the upstream list
  if (it->second.healthy) return true;
  // The planted bug proxy_ignores_health breaks only the way out of rotation:
  // a server that passed a check once keeps getting new connections after its
  // checks fail (MODEL.md, Planted bugs: "keeps routing to a server that fails
  // its health check"). A server that never passed one, such as one still in
  // start-up with no listener, was never put in rotation, bug or not; so the
  // bug shows when a healthy server turns unhealthy, not at start-up.
  return ignore_health_ && it->second.passed_once;
}

NodeId Proxy::pick(NodeId client, const std::set<NodeId>& tried) {
  const PerClient* known = find_client(client);
  const NodeId sticky = known == nullptr ? kNoNode : known->sticky;
  if (sticky != kNoNode && usable(sticky) && !tried.count(sticky)) return sticky;
  // Round robin over the usable servers (NGINX's default balancing).
  for (std::size_t i = 0; i < upstream_.size(); ++i) {
    const NodeId s = upstream_[(round_robin_ + i) % upstream_.size()];
    if (usable(s) && !tried.count(s)) {
      round_robin_ = (round_robin_ + i + 1) % upstream_.size();
      client_state(client).sticky = s;
      return s;
    }
  }
  return kNoNode;
}

void Proxy::health_tick(Env& env) {
  for (const NodeId s : upstream_) {
    Health& h = health_[s];
    // A check still unanswered at the next tick timed out: a failure.
    if (h.outstanding) {
      h.outstanding.reset();
      set_health(env, s, false);
      lose_upstream(env, s);
    }
    h.outstanding = ++check_seq_;
    env.send(s, Message{HealthPing{check_seq_, with_status_}});
  }
  // Requests the upstream never answered are given up (proxy_read_timeout);
  // the client has timed out on them already.
  const Time now = env.now();
  for (auto it = api_.begin(); it != api_.end();) {
    if (now - it->second.sent_at >= k::kProxyReadTimeout) it = api_.erase(it);
    else ++it;
  }
  env.after(interval_, TimerTag{kHealthTick, 0});
}

void Proxy::set_health(Env& env, NodeId server, bool healthy) {
  auto it = health_.find(server);
  if (it == health_.end()) return;  // removed from the list meanwhile
  Health& h = it->second;
  if (healthy) h.passed_once = true;
  if (h.reported && h.healthy == healthy) return;
  h.healthy = healthy;
  h.reported = true;
  env.emit(HealthChecked{server, healthy});
}

void Proxy::lose_upstream(Env& env, NodeId server) {
  std::vector<NodeId> clients;
  for (std::size_t i = 0; i < clients_.size(); ++i)
    if (clients_[i].websocket == server) clients.push_back(NodeId{static_cast<std::uint32_t>(i)});
  for (const NodeId c : clients) close_client(env, c, WsCloseReason::upstream_lost);
}

void Proxy::close_client(Env& env, NodeId client, WsCloseReason reason, std::uint64_t revocation) {
  PerClient& c = client_state(client);
  c.websocket = kNoNode;
  c.connecting.reset();
  env.send(client, Message{WsClose{client, reason, revocation}});
}

void Proxy::route_connect(Env& env, PendingWs pending) {
  const NodeId client = pending.connect.client;
  const NodeId server = pick(client, pending.tried);
  if (server == kNoNode) {
    close_client(env, client, WsCloseReason::no_upstream);
    return;
  }
  pending.tried.insert(server);
  client_state(client).websocket = server;
  env.emit(ProxyRouted{client, server});
  env.send(server, Message{pending.connect});
  client_state(client).connecting = std::make_unique<PendingWs>(std::move(pending));
}

void Proxy::route_api(Env& env, PendingApi pending) {
  const NodeId client = pending.request.client;
  const NodeId server = pick(client, pending.tried);
  if (server == kNoNode) {
    api_.erase({client, pending.request.req});
    env.send(client, Message{ApiResponse{client, pending.request.req, ApiStatus::unavailable, kNoNode, nullptr}});
    return;
  }
  pending.tried.insert(server);
  pending.sent_at = env.now();
  env.emit(ProxyRouted{client, server});
  env.send(server, Message{pending.request});
  api_[{client, pending.request.req}] = std::move(pending);
}

void Proxy::on_message(Env& env, NodeId from, const Message& message) {
  // ---- from clients ----
  if (const auto* m = message.get<WsConnect>()) {
    FL_ASSERT(m->client == from);
    // A new websocket replaces the client's old one (a reconnect): the old
    // server side is closed.
    const NodeId old = ws_server(from);
    if (old != kNoNode) {
      env.send(old, Message{WsClose{from, WsCloseReason::client_closed}});
      client_state(from).websocket = kNoNode;
    }
    route_connect(env, PendingWs{*m, {}});
    return;
  }
  if (message.is<WsPing>()) {
    const NodeId server = ws_server(from);
    if (server == kNoNode) {
      env.send(from, Message{WsClose{from, WsCloseReason::unknown}});
      return;
    }
    env.send(server, message);
    return;
  }
  if (const auto* m = message.get<ApiRequest>()) {
    FL_ASSERT(m->client == from);
    route_api(env, PendingApi{*m, {}, env.now()});
    return;
  }
  // ---- from servers ----
  if (const auto* m = message.get<HealthPong>()) {
    auto it = health_.find(from);
    if (it == health_.end() || it->second.outstanding != m->seq) return;  // stale
    it->second.outstanding.reset();
    set_health(env, from, m->status == 200);
    // No listener: the process is not serving, its connections are gone.
    if (m->status == kHealthRefused) lose_upstream(env, from);
    return;
  }
  if (const auto* m = message.get<WsOpened>()) {
    if (ws_server(m->client) != from) {
      env.send(from, Message{WsClose{m->client, WsCloseReason::client_closed}});
      return;
    }
    client_state(m->client).connecting.reset();
    env.send(m->client, message);
    return;
  }
  if (const auto* m = message.get<WsEvent>()) {
    if (ws_server(m->client) != from) {
      // No such websocket on this side any more: tell the server.
      env.send(from, Message{WsClose{m->client, WsCloseReason::unknown}});
      return;
    }
    env.send(m->client, message);
    return;
  }
  if (const auto* m = message.get<WsClose>()) {
    if (from == m->client) {  // the client closed its side
      const NodeId server = ws_server(from);
      if (server != kNoNode) {
        env.send(server, Message{WsClose{from, WsCloseReason::client_closed}});
        client_state(from).websocket = kNoNode;
      }
      if (from.value < clients_.size()) clients_[from.value].connecting.reset();
      return;
    }
    if (ws_server(m->client) != from) return;  // stale
    if (m->reason == WsCloseReason::refused) {
      // No listener on that server: passive failure, try the next one.
      set_health(env, from, false);
      PerClient& c = client_state(m->client);
      if (c.connecting != nullptr) {
        PendingWs again = std::move(*c.connecting);
        c.connecting.reset();
        c.websocket = kNoNode;
        route_connect(env, std::move(again));
        return;
      }
    }
    close_client(env, m->client, m->reason == WsCloseReason::refused ? WsCloseReason::upstream_lost : m->reason,
                 m->revocation);
    return;
  }
  if (const auto* m = message.get<ApiResponse>()) {
    const auto it = api_.find({m->client, m->req});
    if (m->status == ApiStatus::refused && it != api_.end()) {
      set_health(env, from, false);
      PendingApi again = std::move(it->second);
      api_.erase(it);
      route_api(env, std::move(again));
      return;
    }
    if (it != api_.end()) api_.erase(it);
    ApiResponse out = *m;
    if (out.status == ApiStatus::refused) out.status = ApiStatus::unavailable;
    env.send(m->client, Message{out});
    return;
  }
}

void Proxy::on_send_failed(Env& env, NodeId to, const Message& message) {
  if (message.is<HealthPing>()) {
    auto it = health_.find(to);
    if (it != health_.end()) it->second.outstanding.reset();
    set_health(env, to, false);
    lose_upstream(env, to);
    return;
  }
  if (const auto* m = message.get<WsConnect>()) {
    // Connecting to the upstream failed: passive failure, next upstream.
    set_health(env, to, false);
    const PerClient* known = find_client(m->client);
    if (known == nullptr || known->connecting == nullptr || known->websocket != to) return;  // superseded
    PerClient& c = client_state(m->client);
    PendingWs again = std::move(*c.connecting);
    c.connecting.reset();
    c.websocket = kNoNode;
    route_connect(env, std::move(again));
    return;
  }
  if (const auto* m = message.get<ApiRequest>()) {
    set_health(env, to, false);
    const auto it = api_.find({m->client, m->req});
    if (it == api_.end()) return;
    PendingApi again = std::move(it->second);
    api_.erase(it);
    route_api(env, std::move(again));
    return;
  }
  // A frame towards a server failed: that websocket's upstream is gone.
  if (const auto* m = message.get<WsPing>()) {
    if (ws_server(m->client) == to) close_client(env, m->client, WsCloseReason::upstream_lost);
    return;
  }
  // A frame towards a client failed: the client is gone; close the server side.
  NodeId client = kNoNode;
  if (const auto* e = message.get<WsEvent>()) client = e->client;
  if (const auto* o = message.get<WsOpened>()) client = o->client;
  if (client != kNoNode && client == to) {
    const NodeId server = ws_server(client);
    if (server != kNoNode) {
      env.send(server, Message{WsClose{client, WsCloseReason::client_closed}});
      client_state(client).websocket = kNoNode;
    }
  }
}

void Proxy::on_timer(Env& env, TimerId id, TimerTag tag) {
  (void)id;
  FL_ASSERT(tag.kind == kHealthTick);
  health_tick(env);
}

void Proxy::on_control(Env& env, const ControlOp& op) {
  if (op.kind != ControlOp::Kind::set_spec || op.key != "upstream") return;
  // "Comment out all but one server and reload NGINX": the new list applies to
  // new connections at once; websockets already open stay where they are.
  std::vector<NodeId> servers;
  std::size_t start = 0;
  while (start <= op.value.size()) {
    const std::size_t comma = op.value.find(',', start);
    const std::string name = op.value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!name.empty()) {
      const NodeId id = file_->node_id(name);
      FL_ASSERT_MSG(id != kNoNode, "proxy upstream names an unknown server");
      servers.push_back(id);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  set_upstream(env, std::move(servers));
}


void Proxy::describe(StateWriter& out) const {
  std::string up;
  for (NodeId server : upstream_) {
    if (!up.empty()) up += ", ";
    auto it = health_.find(server);
    up += out.name(server) + "=" + (it == health_.end() ? "unchecked" : it->second.healthy ? "healthy" : "unhealthy");
  }
  out.field("upstreams", up.empty() ? "none" : up);
  std::map<NodeId, std::size_t> per_server;
  std::size_t connecting = 0;
  for (const PerClient& c : clients_) {
    if (c.websocket != kNoNode) ++per_server[c.websocket];
    if (c.connecting != nullptr) ++connecting;
  }
  std::string ws;
  for (const auto& [server, n] : per_server) {
    if (!ws.empty()) ws += ", ";
    ws += out.name(server) + "=" + std::to_string(n);
  }
  out.field("websockets", ws.empty() ? "none" : ws);
  if (connecting != 0) out.field("connecting", std::to_string(connecting));
  if (!api_.empty()) out.field("requests_in_flight", std::to_string(api_.size()));
}

}  // namespace fl
