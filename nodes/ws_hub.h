// The websocket hub of one app server (REFERENCE.md, Websockets; MODEL.md,
// Websocket hub): the connections the proxy routed here, each with its
// sequence numbers, send queue and replay buffer; and the post path (write to
// the primary, acknowledge, broadcast to the other servers, deliver to the
// connected members of the channel).
//
// What it keeps true (FL_ASSERT where the state changes):
//  - Per connection, sequence numbers are consecutive from 0 (the hello);
//    every event enters the replay buffer before it is sent, and the buffer
//    holds the last 128 sent events.
//  - A disconnected connection keeps queueing (no sends); its queue never
//    exceeds 256: the event that would overflow it closes the connection.
//  - A resume (known connection id, sequence still available) replays exactly
//    the events the client has not seen, in order; otherwise the client gets a
//    new connection id with a hello (it resynchronises).
//  - A post is acknowledged only after the primary committed it (unless
//    ack_before_commit is planted).
//
// The hub is sans-IO and knows nothing of the app server: it reaches the
// database and the other servers through a HubHost (the app server's edge
// glue, or a fake in unit tests).
#pragma once

#include <cstdint>
#include <array>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "base/env.h"
#include "nodes/bugs.h"

namespace fl {

class HubHost {
 public:
  virtual ~HubHost() = default;
  virtual Version version() const = 0;
  // Writes the post to the primary; the answer comes back as WsHub::post_written(token, ...).
  virtual void write_post(Env& env, std::uint64_t token, const PostEvent& post) = 0;
  // A routed read (a replica when one is online); answer: WsHub::posts_read(token, ...).
  virtual void read_posts_since(Env& env, std::uint64_t token, std::uint64_t channel_mask, Time since) = 0;
  // A reliable cluster message to every other server.
  virtual void broadcast(Env& env, const Message& message) = 0;
  // The channels `user` was added to (ChannelMembers), from the primary or a
  // replica; answer: WsHub::memberships_read(token, ...). Issue 14.
  virtual void read_memberships(Env& env, std::uint64_t token, NodeId user, bool from_primary) = 0;
  // Sessions (nodes/ws_sessions.cc): 0 when the session is valid on this
  // server, else the revocation that covers it. A host that knows of no
  // revocation (unit tests) accepts every session.
  virtual std::uint64_t session_revoked_by(std::uint64_t session) const {
    (void)session;
    return 0;
  }
  // Reliable websockets across servers (nodes/ws_queues.cc, MM-61904): the
  // servers to ask for a reconnecting connection's queues (the peers believed
  // up), none when this server does not ask (an older version, unit tests).
  virtual std::vector<NodeId> queue_peers() const { return {}; }
  // A cluster request to one peer (best effort: no retry).
  virtual void send_peer(Env& env, NodeId peer, const Message& message) {
    (void)env, (void)peer, (void)message;
  }
};

// A connection's replay buffer: the last `kCapacity` events sent, oldest
// first. A ring in one vector (grown up to the capacity, then overwritten in
// place) rather than a std::deque, which allocated and freed a 7-event chunk
// per 7 events sent and added a pointer hop per push (issue 12).
class ReplayRing {
 public:
  static constexpr std::size_t kCapacity = 128;  // k::kWsReplayBufferSize (asserted in ws_hub.cc)
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  const WsEvent& front() const { return slots_[head_]; }
  const WsEvent& operator[](std::size_t i) const { return slots_[(head_ + i) % slots_.size()]; }
  void clear() {
    slots_.clear();
    head_ = 0;
    size_ = 0;
  }
  // Appends `event`; when full, the oldest event goes.
  void push(const WsEvent& event) {
    if (slots_.size() < kCapacity) {
      slots_.push_back(event);  // not wrapped yet: head_ is 0
      ++size_;
      return;
    }
    slots_[head_] = event;
    head_ = (head_ + 1) % kCapacity;
  }
  // Where the next push writes (for a prefetch), or null when it allocates.
  const void* next_slot() const {
    if (slots_.size() < kCapacity) return slots_.size() < slots_.capacity() ? slots_.data() + slots_.size() : nullptr;
    return slots_.data() + head_;
  }
  struct Iter {
    const ReplayRing* ring;
    std::size_t i;
    const WsEvent& operator*() const { return (*ring)[i]; }
    Iter& operator++() {
      ++i;
      return *this;
    }
    bool operator!=(const Iter& o) const { return i != o.i; }
  };
  Iter begin() const { return Iter{this, 0}; }
  Iter end() const { return Iter{this, size_}; }

 private:
  std::vector<WsEvent> slots_;
  std::size_t head_ = 0;  // the oldest event's slot
  std::size_t size_ = 0;
};

class WsHub {
 public:
  WsHub(HubHost& host, BugSet bugs);

  // Arms the inactive-connection reaper (timer kind `timer_kind`).
  void start(Env& env, std::uint32_t timer_kind);

  // ---- inputs (from the proxy at `from`) ----
  void on_connect(Env& env, NodeId from, const WsConnect& connect);
  void on_close(Env& env, NodeId from, const WsClose& close);
  void on_ping(Env& env, NodeId from, const WsPing& ping);
  void on_api(Env& env, NodeId from, const ApiRequest& request);
  // A post accepted by another server.
  void on_broadcast(Env& env, const HubPostBroadcast& broadcast);
  // A send to `to` failed: the websocket of that frame's client is broken.
  void on_send_failed(Env& env, NodeId to, const Message& message);
  // Timer `arg` 0: the 5-min reaper of disconnected connections; 1: the
  // pong-timeout check of connected ones (every kWsPingInterval).
  void on_reaper(Env& env, std::uint64_t arg = 0);
  // A graceful stop: every connected websocket is closed (its client reconnects).
  void close_all(Env& env);
  // nodes/ws_sessions.cc: a revocation reached this server. Every connection
  // whose session it covers is closed as unauthorized and forgotten (the web
  // app logs out); returns how many.
  std::uint64_t close_revoked(Env& env, std::uint64_t revocation);
  // nodes/ws_queues.cc (MM-61904): another server asks for a connection's
  // queues / answers our request; timer arg >= kTransferTimerBase: no answer.
  void on_queue_request(Env& env, NodeId from, const WsQueueRequest& request);
  void on_queue_reply(Env& env, NodeId from, const WsQueueReply& reply);
  std::size_t transfers_pending() const { return transfers_.size(); }

  // ---- answers from the host ----
  void post_written(Env& env, std::uint64_t token, bool ok);
  void posts_read(Env& env, std::uint64_t token, bool ok, const PostList& posts);

  // ---- channel membership (issue 14; nodes/ws_membership.cc) ----
  // The user's connection here forgets its membership cache: the next channel
  // event reloads it (webConn.InvalidateCache).
  void invalidate_member(NodeId user);
  // user_added to the user's connection here, whatever its cache says (the
  // fix of mattermost#27846).
  void send_user_added(Env& env, NodeId user, std::uint32_t channel);
  // user_added to the channel's members as their caches say (before it).
  void publish_user_added(Env& env, NodeId user, std::uint32_t channel);
  void memberships_read(Env& env, std::uint64_t token, bool ok, std::uint64_t mask);

  // ---- for tests ----
  // The fields a post's delivery reads and writes come first, so that they
  // share the connection's first cache lines (issue 12).
  struct Conn {
    std::uint64_t id = 0;
    NodeId client{kNoNode};
    NodeId via{kNoNode};  // the proxy it came through
    std::uint64_t channel_mask = 0;
    std::uint64_t next_seq = 0;
    bool connected = false;
    // The membership cache (issue 14): channel_mask is the cache; invalid after
    // an invalidation until a reload answers, channel events waiting in `held`.
    bool cache_valid = true;
    bool refreshing = false;
    bool invalidated_again = false;  // during the reload: its answer may be stale
    ReplayRing buffer;           // last sent events (replay)
    std::deque<WsEvent> queue;   // not yet sent (while disconnected)
    Time last_activity{};        // local clock
    Time last_heard{};           // monotonic: the client's last open, resume or ping
    std::uint64_t added_mask = 0;    // channels learned from ChannelMembers rows
    std::deque<WsEvent> held;
    std::uint64_t session = 0;   // the session that authenticated it (WsConnect)
  };
  const Conn* conn_of(NodeId client) const;
  std::size_t connections() const { return conns_.size(); }

 private:
  struct PendingPost {
    NodeId via{kNoNode};
    ApiRequest request;
    bool acked = false;  // ack_before_commit: answered already
  };
  struct PendingRead {
    NodeId via{kNoNode};
    ApiRequest request;
  };

  Conn& open_new(Env& env, NodeId from, const WsConnect& connect, std::uint64_t id, bool hello);
  void erase(std::uint64_t id);
  // Sets the connection's channels and keeps by_channel_ in step.
  void set_mask(Conn& conn, std::uint64_t mask);
  void push(Env& env, Conn& conn, WsEvent event);
  void send_now(Env& env, Conn& conn, const WsEvent& event);
  void deliver(Env& env, const PostEvent& post);
  void accept(Env& env, const PendingPost& pending);
  void answer(Env& env, NodeId via, const ApiRequest& request, ApiStatus status, PostList posts = nullptr);
  std::uint64_t new_conn_id(Env& env);
  // A channel event for the connections whose membership cache is invalid:
  // held until their reload answers (ws_membership.cc).
  void route_to_unsure(Env& env, std::uint32_t channel, const WsEvent& event);
  // nodes/ws_sessions.cc: refuses (401) a request or an upgrade whose session
  // is revoked here; true when it did.
  bool refuse_revoked(Env& env, NodeId from, const WsConnect& connect);
  bool refuse_revoked(Env& env, NodeId from, const ApiRequest& request);
  // nodes/ws_queues.cc: a client reconnecting with a connection id this hub
  // does not hold: ask the peers (true: asked, the connect waits for them).
  bool fetch_queue(Env& env, NodeId from, const WsConnect& connect);
  void finish_transfer(Env& env, std::uint64_t token, bool answered);
  void drop_transfers(Env& env, NodeId client);
  void hold_for_transfers(const PostEvent& post);
  static constexpr std::uint64_t kTransferTimerBase = 2;

  HubHost& host_;
  BugSet bugs_;
  std::uint32_t reaper_kind_ = 0;
  std::map<std::uint64_t, Conn> conns_;        // by connection id
  // A client's current connection (it lives in conns_, whose nodes never
  // move), indexed by the client's node id: ids are dense from 0, and the table
  // grows to the largest client that connected here. Never iterated. A map
  // here cost a tree walk per ping and per close at 10,000 clients (issue 12).
  std::vector<Conn*> by_client_;
  Conn* current(NodeId client) const {
    return client.value < by_client_.size() ? by_client_[client.value] : nullptr;
  }
  void set_current(NodeId client, Conn* conn);
  // Each channel's connections, sorted by connection id (the order a scan of
  // conns_ gives): a post visits its channel's members, not every connection
  // of the server (issue 12). A sorted vector rather than a map: a post walks
  // ~100 members per server at 10,000 clients, and a tree walk missed the
  // cache at every step; joins and leaves (connects, closes) are rare.
  static constexpr std::uint32_t kChannels = 64;
  using Member = std::pair<std::uint64_t, Conn*>;
  std::array<std::vector<Member>, kChannels> by_channel_;
  // Calls f(conn) for each member of `channel` in id order. f may erase the
  // connection it is given (a full queue closes it), no other.
  template <class F>
  void for_members(std::uint32_t channel, F&& f) {
    auto& in_channel = by_channel_[channel];
    for (std::size_t i = 0; i < in_channel.size();) {
      const std::uint64_t id = in_channel[i].first;
      // The members' connections are scattered on the heap: fetch the next
      // ones' first lines while this one is served.
      if (i + 2 < in_channel.size()) {
        const char* next = reinterpret_cast<const char*>(in_channel[i + 2].second);
        __builtin_prefetch(next);
        __builtin_prefetch(next + 64);
      }
      // The next member's connection was fetched the round before: fetch
      // the replay slot its event will go to.
      if (i + 1 < in_channel.size())
        if (const void* slot = in_channel[i + 1].second->buffer.next_slot()) __builtin_prefetch(slot, 1);
      f(*in_channel[i].second);
      // Erased: the next member moved into slot i.
      if (i < in_channel.size() && in_channel[i].first == id) ++i;
    }
  }
  std::uint64_t next_token_ = 0;
  std::map<std::uint64_t, PendingPost> posts_;
  std::map<std::uint64_t, PendingRead> reads_;
  // Issue 14: connections whose membership cache is invalid (by id), and the
  // reloads in flight (token -> connection id).
  std::map<std::uint64_t, Conn*> unsure_;
  std::map<std::uint64_t, std::uint64_t> member_reads_;
  std::uint64_t next_member_token_ = 0;
  // Reconnects waiting for the peers' answers (nodes/ws_queues.cc).
  struct Transfer {
    NodeId via{kNoNode};
    WsConnect connect;
    std::set<NodeId> waiting;          // peers not answered yet
    NodeId from{kNoNode};              // the peer whose queues are taken
    WsQueueReply found;
    std::vector<PostEvent> held;       // posted here meanwhile, for its channels
    TimerId timer{};
  };
  std::map<std::uint64_t, Transfer> transfers_;  // by token
  std::uint64_t next_transfer_ = 0;
};

}  // namespace fl
