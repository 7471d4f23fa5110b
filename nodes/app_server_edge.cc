// The app server's edge: the HTTP side of one server (the ping health check,
// the REST calls the clients make), its websocket hub, and plugins through the
// shared file storage. Reached from the core through the edge hooks of
// app_server.h; the hub itself (nodes/ws_hub.h) knows nothing of the server and
// talks to it through the EdgeHost below.
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "base/assert.h"
#include "nodes/app_server.h"
#include "nodes/ws_hub.h"

namespace fl {

namespace {

constexpr std::uint32_t kReaperTimer = AppServer::kEdgeTimerBase + 0;
constexpr std::string_view kPluginPrefix = "plugins/";

// The hub's view of its server: posts go to the primary, resync reads through
// the server's read routing (a replica when one is online, lag or not), and
// the broadcast is a reliable cluster message.
class EdgeHost final : public HubHost {
 public:
  explicit EdgeHost(AppServer& server) : server_(server) {}

  Version version() const override { return server_.spec().version; }
  void write_post(Env& env, std::uint64_t token, const PostEvent& post) override {
    PostRow row;
    row.post = post.id;
    row.channel = post.channel;
    row.author = post.author.value;
    row.create_at = post.create_at;
    writes[server_.db_write(env, DbPostInsert{row})] = token;
  }
  void read_posts_since(Env& env, std::uint64_t token, std::uint64_t mask, Time since) override {
    reads[server_.db_read(env, DbPostsSince{mask, since})] = token;
  }
  void broadcast(Env& env, const Message& message) override { server_.broadcast(env, message, true); }
  void read_memberships(Env& env, std::uint64_t token, NodeId user, bool from_primary) override {
    const DbOp op = DbChannelMembersOf{user.value};
    members[from_primary ? server_.db_write(env, op) : server_.db_read(env, op)] = token;
  }
  std::uint64_t session_revoked_by(std::uint64_t session) const override {
    return server_.session_revoked_by(session);
  }
  std::vector<NodeId> queue_peers() const override {
    // MM-61904 (mattermost/mattermost#29489): from kWsQueueFetchSince on, a
    // reconnect this server does not hold is looked up on the other servers;
    // older servers (and the planted bug mm_61904) start afresh.
    if (server_.spec().version < k::kWsQueueFetchSince || server_.bugs().on(Bug::mm_61904)) return {};
    return server_.up_peers();
  }
  void send_peer(Env& env, NodeId peer, const Message& message) override { env.send(peer, message); }

  std::map<RequestId, std::uint64_t> writes, reads, members;

 private:
  AppServer& server_;
};

}  // namespace

struct AppServer::EdgeState {
  explicit EdgeState(AppServer& server) : host(server), hub(host, server.bugs_) {}

  // get_server_status=true: the primary's write-and-delete and the file store's
  // test must both pass (REFERENCE.md, Health check).
  struct StatusProbe {
    NodeId from{kNoNode};
    std::uint64_t seq = 0;
    bool db_done = false, db_ok = false, store_done = false, store_ok = false;
  };
  enum class StoreCall : std::uint8_t { probe, install, load, list };
  struct StoreRequest {
    StoreCall call = StoreCall::probe;
    std::uint64_t arg = 0;  // probe id
    std::string plugin;
  };

  EdgeHost host;
  WsHub hub;
  bool hub_started = false;
  std::map<std::uint64_t, StatusProbe> probes;
  std::map<RequestId, std::uint64_t> probe_db;  // db request -> probe id
  std::uint64_t next_probe = 0;
  std::map<std::uint64_t, StoreRequest> store;  // storage req -> purpose
  std::uint64_t next_store = 0;
  std::set<std::string> plugins;                // loaded
  // add_to_channel requests: the ChannelMembers insert -> (user, channel).
  std::map<RequestId, std::pair<NodeId, std::uint32_t>> member_writes;
};

void AppServer::EdgeStateDeleter::operator()(EdgeState* state) const { delete state; }

namespace {

void answer_probe_if_done(Env& env, AppServer::EdgeState& e, std::uint64_t id);

}  // namespace

// ---- helpers (members, to reach the server's state) ----------------------------------

static AppServer::EdgeState& ensure_edge(std::unique_ptr<AppServer::EdgeState, AppServer::EdgeStateDeleter>& edge,
                                        AppServer& server) {
  if (!edge) edge.reset(new AppServer::EdgeState(server));
  return *edge;
}

namespace {

void answer_probe_if_done(Env& env, AppServer::EdgeState& e, std::uint64_t id) {
  const auto it = e.probes.find(id);
  if (it == e.probes.end()) return;
  const auto& p = it->second;
  if (!p.db_done || !p.store_done) return;
  const std::uint16_t status = p.db_ok && p.store_ok ? 200 : 500;
  env.send(p.from, Message{HealthPong{p.seq, status, Version{}}});
  e.probes.erase(it);
}

std::uint64_t store_request(Env& env, AppServer::EdgeState& e, NodeId storage, StorageOp op,
                            std::string key, AppServer::EdgeState::StoreRequest purpose) {
  const std::uint64_t req = ++e.next_store;
  e.store[req] = std::move(purpose);
  env.send(storage, Message{StorageRequest{req, op, std::move(key)}});
  return req;
}

void plugin_loaded(Env& env, AppServer::EdgeState& e, const std::string& plugin) {
  if (e.plugins.insert(plugin).second) env.emit(PluginLoaded{plugin});
}

}  // namespace

void AppServer::handle_edge_serving(Env& env) {
  EdgeState& e = ensure_edge(edge_, *this);
  if (!e.hub_started) {
    e.hub.start(env, kReaperTimer);
    e.hub_started = true;
  }
  // Plugins: those installed on this machine, and every plugin in the shared
  // store (the seed: propagated across all nodes through NAS/S3).
  for (const std::string& p : spec_.plugins) plugin_loaded(env, e, p);
  if (file_->storage.node != kNoNode)
    store_request(env, e, file_->storage.node, StorageOp::list, std::string(kPluginPrefix),
                  {EdgeState::StoreCall::list, 0, ""});
}

void AppServer::handle_edge_stop(Env& env) {
  // A graceful stop closes the websockets: their clients reconnect elsewhere.
  if (!edge_) return;
  edge_->hub.close_all(env);
}

void AppServer::handle_edge_db_reply(Env& env, RequestId id, const DbReply& reply) {
  EdgeState& e = ensure_edge(edge_, *this);
  if (const auto w = e.host.writes.find(id); w != e.host.writes.end()) {
    const std::uint64_t token = w->second;
    e.host.writes.erase(w);
    e.hub.post_written(env, token, reply.ok());
    return;
  }
  if (const auto r = e.host.reads.find(id); r != e.host.reads.end()) {
    const std::uint64_t token = r->second;
    e.host.reads.erase(r);
    PostList posts;
    if (const auto* rows = reply.get<DbPosts>(); reply.ok() && rows != nullptr) {
      auto list = std::make_shared<std::vector<PostEvent>>();
      list->reserve(rows->posts.size());
      for (const PostRow& row : rows->posts)
        list->push_back(PostEvent{row.post, row.channel, NodeId{static_cast<std::uint32_t>(row.author)}, row.create_at});
      posts = std::move(list);
    }
    e.hub.posts_read(env, token, reply.ok() && posts != nullptr, posts);
    return;
  }
  if (const auto m = e.host.members.find(id); m != e.host.members.end()) {
    const std::uint64_t token = m->second;
    e.host.members.erase(m);
    const auto* mask = reply.get<DbChannelMask>();
    e.hub.memberships_read(env, token, reply.ok() && mask != nullptr, mask ? mask->mask : 0);
    return;
  }
  if (const auto w = e.member_writes.find(id); w != e.member_writes.end()) {
    const auto [user, channel] = w->second;
    e.member_writes.erase(w);
    if (reply.ok() && serving()) member_added(env, user, channel);
    return;
  }
  if (const auto p = e.probe_db.find(id); p != e.probe_db.end()) {
    const std::uint64_t probe = p->second;
    e.probe_db.erase(p);
    const auto it = e.probes.find(probe);
    if (it == e.probes.end()) return;
    it->second.db_done = true;
    it->second.db_ok = reply.ok();
    answer_probe_if_done(env, e, probe);
    return;
  }
}

void AppServer::handle_edge_message(Env& env, NodeId from, const Message& message) {
  EdgeState& e = ensure_edge(edge_, *this);
  const bool up = serving();

  if (const auto* m = message.get<HealthPing>()) {
    // No listener before serving: in reality the connection is refused.
    if (!up) {
      env.send(from, Message{HealthPong{m->seq, kHealthRefused, spec_.version}});
      return;
    }
    // The plain ping answers 200 whenever the HTTP server is up: it does not
    // touch the database (REFERENCE.md, Health check).
    if (!m->with_status) {
      env.send(from, Message{HealthPong{m->seq, 200, spec_.version}});
      return;
    }
    const std::uint64_t probe = ++e.next_probe;
    auto& p = e.probes[probe];
    p.from = from;
    p.seq = m->seq;
    e.probe_db[db_write(env, DbStatusProbe{})] = probe;
    if (file_->storage.node == kNoNode) {
      p.store_done = p.store_ok = true;  // local file store
    } else {
      store_request(env, e, file_->storage.node, StorageOp::check, "", {EdgeState::StoreCall::probe, probe, ""});
    }
    return;
  }
  if (const auto* m = message.get<WsConnect>()) {
    if (!up) {
      env.send(from, Message{WsClose{m->client, WsCloseReason::refused}});
      return;
    }
    e.hub.on_connect(env, from, *m);
    return;
  }
  if (const auto* m = message.get<ApiRequest>()) {
    if (!up) {
      env.send(from, Message{ApiResponse{m->client, m->req, ApiStatus::refused, env.self(), nullptr}});
      return;
    }
    e.hub.on_api(env, from, *m);
    return;
  }
  if (const auto* m = message.get<WsClose>()) {
    if (up) e.hub.on_close(env, from, *m);
    return;
  }
  if (const auto* m = message.get<WsPing>()) {
    if (up) e.hub.on_ping(env, from, *m);
    else env.send(from, Message{WsClose{m->client, WsCloseReason::server_closed}});
    return;
  }
  if (const auto* m = message.get<HubPostBroadcast>()) {
    if (up) e.hub.on_broadcast(env, *m);
    return;
  }
  if (const auto* m = message.get<HubUserAdded>()) {
    if (!up) return;
    if (m->invalidate) e.hub.invalidate_member(m->user);
    if (m->direct) e.hub.send_user_added(env, m->user, m->channel);
    else e.hub.publish_user_added(env, m->user, m->channel);
    return;
  }
  if (const auto* m = message.get<HubInvalidateMember>()) {
    if (up) e.hub.invalidate_member(m->user);
    return;
  }
  if (const auto* m = message.get<WsQueueRequest>()) {
    if (up) e.hub.on_queue_request(env, from, *m);
    return;
  }
  if (const auto* m = message.get<WsQueueReply>()) {
    if (up) e.hub.on_queue_reply(env, from, *m);
    return;
  }
  if (const auto* m = message.get<PluginInstalled>()) {
    // Another server installed it: load it from the shared store.
    if (!up || e.plugins.count(m->plugin) || file_->storage.node == kNoNode) return;
    store_request(env, e, file_->storage.node, StorageOp::get, std::string(kPluginPrefix) + m->plugin,
                  {EdgeState::StoreCall::load, 0, m->plugin});
    return;
  }
  if (const auto* m = message.get<StorageReply>()) {
    const auto it = e.store.find(m->req);
    if (it == e.store.end()) return;
    const EdgeState::StoreRequest purpose = it->second;
    e.store.erase(it);
    switch (purpose.call) {
      case EdgeState::StoreCall::probe: {
        auto p = e.probes.find(purpose.arg);
        if (p == e.probes.end()) return;
        p->second.store_done = true;
        p->second.store_ok = m->ok;
        answer_probe_if_done(env, e, purpose.arg);
        return;
      }
      case EdgeState::StoreCall::install:
        if (!m->ok) return;  // the store is out: the plugin is not installed
        plugin_loaded(env, e, purpose.plugin);
        broadcast(env, Message{PluginInstalled{purpose.plugin}}, true);
        return;
      case EdgeState::StoreCall::load:
        if (m->ok && m->found) plugin_loaded(env, e, purpose.plugin);
        return;
      case EdgeState::StoreCall::list:
        if (m->ok && m->keys)
          for (const std::string& key : *m->keys) plugin_loaded(env, e, key.substr(kPluginPrefix.size()));
        return;
    }
    return;
  }
}

void AppServer::handle_edge_timer(Env& env, TimerId id, TimerTag tag) {
  (void)id;
  EdgeState& e = ensure_edge(edge_, *this);
  FL_ASSERT(tag.kind == kReaperTimer);
  e.hub.on_reaper(env, tag.arg);
}

bool AppServer::handle_edge_control(Env& env, const ControlOp& op) {
  if (op.key == "plugin") {
    // Installing a plugin on this server: written to the shared store, loaded
    // here, and announced to the others (who load it from the store).
    EdgeState& e = ensure_edge(edge_, *this);
    if (!serving()) return true;
    if (file_->storage.node == kNoNode) {
      plugin_loaded(env, e, op.value);
      return true;
    }
    store_request(env, e, file_->storage.node, StorageOp::put, std::string(kPluginPrefix) + op.value,
                  {EdgeState::StoreCall::install, 0, op.value});
    return true;
  }
  if (op.key == "channel.add") {
    // An admin adds a user to a channel through this server (issue 14):
    // value "<client name>:<channel>". The ChannelMembers row goes to the
    // primary; once committed, member_added tells the websockets.
    EdgeState& e = ensure_edge(edge_, *this);
    if (!serving()) return true;  // no listener: the admin's request fails
    const auto colon = op.value.rfind(':');
    FL_ASSERT(colon != std::string::npos);
    const auto user = file_->directory.find(op.value.substr(0, colon));
    FL_ASSERT_MSG(user != file_->directory.end(), "add_to_channel: the loader validates client names");
    const auto channel = static_cast<std::uint32_t>(std::strtoul(op.value.c_str() + colon + 1, nullptr, 10));
    ChannelMemberRow row;
    row.user = user->second.value;
    row.channel = channel;
    e.member_writes[db_write(env, DbChannelMemberInsert{row})] = {user->second, channel};
    return true;
  }
  if (op.key == "recycle_connections") {
    // The model's requests already follow the DataSource read at the last
    // reload; recycling has nothing more to close. The operator waits the 12 s.
    return true;
  }
  return false;
}

// The membership is committed: this server's websockets, then the cluster's
// (docs/model.md, Incidents: channel membership). The fixed code (after
// mattermost#27846) invalidates the user's membership cache here and sends one
// reliable cluster message that invalidates it on every other server before it
// sends user_added to the user directly. The planted pre-fix variants:
//  - mm_58355: the invalidation does not cross the cluster (before #27204);
//  - mm_59911 (and mm_55485, older still): user_added is published to the
//    channel's members as their caches say, best effort (ClusterEventPublish),
//    and the invalidation travels as its own reliable message, so a node can
//    get the event first;
//  - mm_55485: the caches reload from a replica (ws_membership.cc).
void AppServer::member_added(Env& env, NodeId user, std::uint32_t channel) {
  EdgeState& e = ensure_edge(edge_, *this);
  const bool direct = !bugs_.on(Bug::mm_55485) && !bugs_.on(Bug::mm_59911);
  const bool cluster_invalidation = !bugs_.on(Bug::mm_58355);
  e.hub.invalidate_member(user);
  if (direct) {
    broadcast(env, Message{HubUserAdded{user, channel, true, cluster_invalidation}}, true);
    e.hub.send_user_added(env, user, channel);
    return;
  }
  if (cluster_invalidation) broadcast(env, Message{HubInvalidateMember{user}}, true);
  broadcast(env, Message{HubUserAdded{user, channel, false, false}}, false);
  e.hub.publish_user_added(env, user, channel);
}

std::uint64_t AppServer::handle_edge_revocation(Env& env, std::uint64_t revocation) {
  if (!edge_) return 0;
  return edge_->hub.close_revoked(env, revocation);
}

void AppServer::handle_edge_send_failed(Env& env, NodeId to, const Message& message) {
  EdgeState& e = ensure_edge(edge_, *this);
  if (const auto* m = message.get<StorageRequest>()) {
    // The store is unreachable: the same as its error answer.
    StorageReply failed;
    failed.req = m->req;
    failed.ok = false;
    handle_edge_message(env, to, Message{failed});
    return;
  }
  e.hub.on_send_failed(env, to, message);
}

}  // namespace fl
