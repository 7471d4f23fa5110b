#include "nodes/ws_hub.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "base/assert.h"
#include "nodes/constants.h"

namespace fl {

static_assert(ReplayRing::kCapacity == k::kWsReplayBufferSize);

WsHub::WsHub(HubHost& host, BugSet bugs) : host_(host), bugs_(bugs) {}

void WsHub::start(Env& env, std::uint32_t timer_kind) {
  reaper_kind_ = timer_kind;
  env.after(k::kWsInactiveReap, TimerTag{reaper_kind_, 0});
  env.after(k::kWsPingInterval, TimerTag{reaper_kind_, 1});
}

const WsHub::Conn* WsHub::conn_of(NodeId client) const { return current(client); }

void WsHub::set_current(NodeId client, Conn* conn) {
  FL_ASSERT(client != kNoNode);
  if (client.value >= by_client_.size()) {
    if (conn == nullptr) return;
    by_client_.resize(std::size_t{client.value} + 1, nullptr);
  }
  by_client_[client.value] = conn;
}

std::uint64_t WsHub::new_conn_id(Env& env) {
  // model.NewId(): random, so an id means nothing to another server or to this
  // server after a restart.
  std::uint64_t id = 0;
  do id = env.rng().next(); while (id == 0 || conns_.count(id));
  return id;
}

void WsHub::erase(std::uint64_t id) {
  const auto it = conns_.find(id);
  if (it == conns_.end()) return;
  if (current(it->second.client) == &it->second) set_current(it->second.client, nullptr);
  unsure_.erase(id);
  set_mask(it->second, 0);
  conns_.erase(it);
}

WsHub::Conn& WsHub::open_new(Env& env, NodeId from, const WsConnect& connect, std::uint64_t id,
                             bool hello) {
  FL_ASSERT(id != 0 && conns_.count(id) == 0);
  Conn& conn = conns_[id];
  conn.id = id;
  conn.client = connect.client;
  conn.via = from;
  conn.session = connect.session;
  set_mask(conn, connect.channel_mask);
  conn.connected = true;
  conn.last_activity = env.now();
  conn.last_heard = env.monotonic();
  set_current(connect.client, &conn);
  env.send(from, Message{WsOpened{connect.client, env.self(), id, host_.version()}});
  if (hello) {
    WsEvent event;
    event.kind = WsEventKind::hello;
    event.server_version = host_.version();
    push(env, conn, event);
    FL_ASSERT(conn.next_seq == 1);
  }
  return conn;
}

void WsHub::on_connect(Env& env, NodeId from, const WsConnect& connect) {
  FL_ASSERT(connect.client != kNoNode);
  if (!transfers_.empty()) drop_transfers(env, connect.client);  // a newer connect wins
  if (refuse_revoked(env, from, connect)) return;
  // A client has one websocket: an older connection of it is superseded.
  if (const Conn* old = current(connect.client); old != nullptr && old->id != connect.conn_id) erase(old->id);

  const auto known = connect.conn_id == 0 ? conns_.end() : conns_.find(connect.conn_id);
  if (known == conns_.end() || known->second.client != connect.client) {
    if (connect.conn_id != 0 && fetch_queue(env, from, connect)) return;  // MM-61904: ask the others
    if (connect.conn_id != 0 && bugs_.on(Bug::sequence_reset_without_hello) &&
        conns_.count(connect.conn_id) == 0) {
      // Planted: the client's id is taken over and the sequence restarts at 0,
      // without the hello that would make the client resynchronise.
      open_new(env, from, connect, connect.conn_id, /*hello=*/false);
      return;
    }
    open_new(env, from, connect, new_conn_id(env), /*hello=*/true);
    return;
  }

  Conn& conn = known->second;
  conn.via = from;
  conn.session = connect.session;
  set_mask(conn, connect.channel_mask | conn.added_mask);
  conn.connected = true;
  conn.last_activity = env.now();
  conn.last_heard = env.monotonic();
  set_current(connect.client, &conn);
  const std::uint64_t want = connect.next_seq;

  if (bugs_.on(Bug::no_missed_message_replay)) {
    // Planted: trust the client's sequence and drop what it missed.
    conn.buffer.clear();
    conn.queue.clear();
    conn.next_seq = want;
    env.send(from, Message{WsOpened{conn.client, env.self(), conn.id, host_.version()}});
    return;
  }

  // The events still available run from the buffer's first to next_seq
  // (the queue continues the buffer).
  std::uint64_t first = conn.next_seq;
  if (!conn.buffer.empty()) first = conn.buffer.front().seq;
  else if (!conn.queue.empty()) first = conn.queue.front().seq;
  if (want >= first && want <= conn.next_seq) {
    env.send(from, Message{WsOpened{conn.client, env.self(), conn.id, host_.version()}});
    for (const WsEvent& event : conn.buffer)
      if (event.seq >= want) env.send(from, Message{event});
    std::deque<WsEvent> queued;
    queued.swap(conn.queue);
    for (const WsEvent& event : queued) send_now(env, conn, event);
    FL_ASSERT(conn.queue.empty());
    return;
  }

  // Events were lost.
  if (bugs_.on(Bug::sequence_reset_without_hello)) {
    conn.buffer.clear();
    conn.queue.clear();
    conn.next_seq = 0;
    env.send(from, Message{WsOpened{conn.client, env.self(), conn.id, host_.version()}});
    return;
  }
  erase(conn.id);
  open_new(env, from, connect, new_conn_id(env), /*hello=*/true);
}

void WsHub::on_close(Env& env, NodeId from, const WsClose& close) {
  Conn* const found = current(close.client);
  if (found == nullptr) return;
  Conn& conn = *found;
  if (conn.via != from) return;  // an older path
  conn.connected = false;
  conn.last_activity = env.now();
}

void WsHub::on_ping(Env& env, NodeId from, const WsPing& ping) {
  Conn* const conn = current(ping.client);
  if (conn == nullptr || !conn->connected) {
    // The proxy believes in a websocket this server does not hold (it was
    // reaped, or this server restarted): close it so the client reconnects.
    env.send(from, Message{WsClose{ping.client, WsCloseReason::server_closed}});
    return;
  }
  conn->last_activity = env.now();
  conn->last_heard = env.monotonic();
}

void WsHub::on_send_failed(Env& env, NodeId to, const Message& message) {
  NodeId client = kNoNode;
  if (const auto* e = message.get<WsEvent>()) client = e->client;
  else if (const auto* o = message.get<WsOpened>()) client = o->client;
  if (client == kNoNode) return;
  Conn* const found = current(client);
  if (found == nullptr) return;
  Conn& conn = *found;
  if (conn.via != to) return;
  // The event already sits in the replay buffer: the client resumes from it.
  if (conn.connected) conn.last_activity = env.now();
  conn.connected = false;
}

void WsHub::on_reaper(Env& env, std::uint64_t arg) {
  if (arg >= kTransferTimerBase) {  // a queue request nobody (or not everybody) answered
    finish_transfer(env, arg - kTransferTimerBase, /*answered=*/false);
    return;
  }
  if (arg == 1) {
    // The pong timeout: a connected client heard from more than 100 s ago is
    // gone (frozen, cut off, or its path broke silently). Close it: its events
    // stay in the replay buffer, and the client resumes or resyncs when it
    // comes back (a ping to a closed connection is answered with a close).
    const Time mono = env.monotonic();
    for (auto& [id, conn] : conns_) {
      if (!conn.connected || mono - conn.last_heard <= k::kWsPongTimeout) continue;
      conn.connected = false;
      conn.last_activity = env.now();
      env.send(conn.via, Message{WsClose{conn.client, WsCloseReason::server_closed}});
    }
    env.after(k::kWsPingInterval, TimerTag{reaper_kind_, 1});
    return;
  }
  const Time now = env.now();
  std::vector<std::uint64_t> dead;
  for (const auto& [id, conn] : conns_)
    if (!conn.connected && now - conn.last_activity >= k::kWsInactiveReap) dead.push_back(id);
  for (const std::uint64_t id : dead) erase(id);
  env.after(k::kWsInactiveReap, TimerTag{reaper_kind_, 0});
}

void WsHub::close_all(Env& env) {
  for (auto& [id, conn] : conns_) {
    if (!conn.connected) continue;
    env.send(conn.via, Message{WsClose{conn.client, WsCloseReason::server_closed}});
    conn.connected = false;
  }
}

void WsHub::send_now(Env& env, Conn& conn, const WsEvent& event) {
  // The event enters the replay buffer before it is written.
  conn.buffer.push(event);
  FL_ASSERT(conn.buffer.size() <= k::kWsReplayBufferSize);
  env.send(conn.via, Message{event});
}

void WsHub::push(Env& env, Conn& conn, WsEvent event) {
  event.client = conn.client;
  event.conn_id = conn.id;
  event.seq = conn.next_seq++;
  if (conn.connected) {
    send_now(env, conn, event);
    return;
  }
  if (conn.queue.size() >= k::kWsSendQueueSize) {
    // A full send queue closes the connection: the client will get a new id.
    erase(conn.id);
    return;
  }
  conn.queue.push_back(event);
  FL_ASSERT(conn.queue.size() <= k::kWsSendQueueSize);
}

void WsHub::set_mask(Conn& conn, std::uint64_t mask) {
  const auto by_id = [](const Member& m, std::uint64_t id) { return m.first < id; };
  // Only the channels that change: left ones, then joined ones.
  for (std::uint64_t left = conn.channel_mask & ~mask; left != 0; left &= left - 1) {
    auto& in_channel = by_channel_[static_cast<std::uint32_t>(__builtin_ctzll(left))];
    const auto at = std::lower_bound(in_channel.begin(), in_channel.end(), conn.id, by_id);
    FL_ASSERT(at != in_channel.end() && at->first == conn.id);
    in_channel.erase(at);
  }
  for (std::uint64_t joined = mask & ~conn.channel_mask; joined != 0; joined &= joined - 1) {
    auto& in_channel = by_channel_[static_cast<std::uint32_t>(__builtin_ctzll(joined))];
    const auto at = std::lower_bound(in_channel.begin(), in_channel.end(), conn.id, by_id);
    FL_ASSERT(at == in_channel.end() || at->first != conn.id);
    in_channel.insert(at, Member{conn.id, &conn});
  }
  conn.channel_mask = mask;
}

void WsHub::deliver(Env& env, const PostEvent& post) {
  // The channel's members in connection-id order (as a scan of conns_ would
  // give them). A push erases at most its own connection (a full queue), so the
  // next member is found before it.
  FL_ASSERT(post.channel < kChannels);
  for_members(post.channel, [&](Conn& conn) {
    if (!conn.cache_valid) return;  // its cache reloads: route_to_unsure
    WsEvent event;
    event.kind = WsEventKind::posted;
    event.post = post;
    push(env, conn, event);
  });
  if (!unsure_.empty()) {
    WsEvent event;
    event.kind = WsEventKind::posted;
    event.post = post;
    route_to_unsure(env, post.channel, event);
  }
  if (!transfers_.empty()) hold_for_transfers(post);
}

void WsHub::on_broadcast(Env& env, const HubPostBroadcast& broadcast) { deliver(env, broadcast.post); }

void WsHub::answer(Env& env, NodeId via, const ApiRequest& request, ApiStatus status, PostList posts) {
  env.send(via, Message{ApiResponse{request.client, request.req, status, env.self(), std::move(posts)}});
}

void WsHub::on_api(Env& env, NodeId from, const ApiRequest& request) {
  if (refuse_revoked(env, from, request)) return;
  // The seed's "Messages do not post until after reloading": a page from a
  // newer minor version sends requests this server cannot handle.
  if (request.page_version.schema() > host_.version().schema()) {
    answer(env, from, request, ApiStatus::unsupported);
    return;
  }
  const std::uint64_t token = ++next_token_;
  if (request.kind == ApiKind::posts_since) {
    reads_[token] = PendingRead{from, request};
    host_.read_posts_since(env, token, request.channel_mask, request.since);
    return;
  }
  FL_ASSERT(request.kind == ApiKind::create_post);
  PendingPost pending{from, request, false};
  pending.request.post.create_at = env.now();  // the accepting server's clock
  pending.request.post.author = request.client;
  if (bugs_.on(Bug::ack_before_commit)) {
    // Planted: acknowledge and broadcast first, write afterwards.
    accept(env, pending);
    pending.acked = true;
  }
  posts_[token] = pending;
  host_.write_post(env, token, pending.request.post);
}

void WsHub::accept(Env& env, const PendingPost& pending) {
  const PostEvent& post = pending.request.post;
  env.emit(PostAcked{post.id, post.channel, pending.request.client});
  answer(env, pending.via, pending.request, ApiStatus::ok);
  host_.broadcast(env, Message{HubPostBroadcast{post}});
  deliver(env, post);
}

void WsHub::post_written(Env& env, std::uint64_t token, bool ok) {
  const auto it = posts_.find(token);
  FL_ASSERT(it != posts_.end());
  const PendingPost pending = it->second;
  posts_.erase(it);
  if (pending.acked) return;  // ack_before_commit answered already, whatever happened
  if (!ok) {
    answer(env, pending.via, pending.request, ApiStatus::error);
    return;
  }
  accept(env, pending);
}

void WsHub::posts_read(Env& env, std::uint64_t token, bool ok, const PostList& posts) {
  const auto it = reads_.find(token);
  FL_ASSERT(it != reads_.end());
  const PendingRead pending = it->second;
  reads_.erase(it);
  answer(env, pending.via, pending.request, ok ? ApiStatus::ok : ApiStatus::error,
         ok ? posts : nullptr);
}

}  // namespace fl
