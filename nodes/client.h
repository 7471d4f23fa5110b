// A client: the web app in a user's browser. It holds a websocket through the
// proxy, belongs to channels, posts at the scenario's interval, and keeps what
// it has received. It knows only what reached it.
//
// What it keeps true:
//  - Post ids are (client index << 32 | n): a retry reuses the id, so a retry
//    is never a second post (the server's insert is idempotent by id).
//  - Posts are sent one at a time, in order; the next waits for the previous
//    one's acknowledgement (the web app's pending-post queue).
//  - A post is recorded as delivered (PostDelivered) once, the first time it
//    reaches the client, by the websocket or by a resync; the web app keys its
//    post store by id.
//  - The channel view stays in order across a resync: posts that arrive on
//    the websocket while a resync is outstanding are filed after the resync's
//    answer (the web app files the REST answer and the live events by create
//    time, so the older posts that the resync brings back show above the new
//    ones). A live post is never shown before an older post that the pending
//    resync is fetching.
//  - The resync point is the newest post RECEIVED from the channels (websocket
//    or resync), never the client's own post learned from the POST's answer
//    (REFERENCE.md, Websockets: "posts since its newest one"): an own post is
//    newer than the other authors' posts still missing, which it would skip.
//  - Websocket sequence handling follows the web app (REFERENCE.md, Websockets):
//    a hello with another connection id makes it resynchronise; a sequence
//    number other than the expected one makes it close and reconnect; the
//    reconnect wait is 3 s, or 3 s x n^2 after 7 failures (cap 5 min), plus
//    [0, 2 s) of jitter; the failure count resets when a websocket opens.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "base/env.h"
#include "nodes/shown_posts.h"
#include "nodes/spec.h"

namespace fl {

// The web app's reconnect wait before jitter, after `failures` consecutive
// failed or closed websockets (failures >= 1).
Duration client_reconnect_wait(std::uint32_t failures);

class alignas(64) Client : public Node {
 public:
  // `index` is the client's 1-based number (client7 -> 7). `shown`: the store
  // of shown posts shared by the run's clients (nodes/shown_posts.h), with a
  // slot for index - 1; null: one of its own.
  Client(std::shared_ptr<const ClusterSpec> file, std::uint32_t index, std::shared_ptr<ShownPosts> shown = nullptr);

  void on_start(Env& env) override;
  void on_message(Env& env, NodeId from, const Message& message) override;
  void on_send_failed(Env& env, NodeId to, const Message& message) override;
  void on_timer(Env& env, TimerId id, TimerTag tag) override;
  // replay --dump-state: connection, server, last sequence, posts.
  void describe(StateWriter& out) const override;

  // ---- for tests ----
  bool connected() const { return ws_ == WsState::open; }
  std::uint64_t channel_mask() const { return mask_; }
  std::uint64_t conn_id() const { return conn_id_; }
  std::size_t pending_posts() const { return pending_.size(); }
  std::size_t delivered() const { return shown_count_; }

 private:
  enum TimerKind : std::uint32_t { kReconnect = 1, kPostTick, kRequestTimeout, kRetry, kPing, kConnectTimeout, kRelogin };
  enum class WsState : std::uint8_t { closed, connecting, open };
  enum class Want : std::uint8_t { post, resync };

  void connect(Env& env);
  void disconnected(Env& env, const char* reason);
  void schedule_post(Env& env);
  void send_next_post(Env& env);
  void send_resync(Env& env);
  void send_request(Env& env, ApiRequest request, Want want);
  void request_failed(Env& env, Want want, const char* reason, bool unsupported);
  void reload(Env& env);
  // `received`: it came from the channel (websocket or resync), so it may move
  // the resync point; false for the client's own post learned from an ack.
  void deliver(Env& env, const PostEvent& post, const char* via, bool received);
  bool resync_pending() const { return resync_wanted_ || resync_in_flight_ || resync_retry_armed_; }
  void flush_held(Env& env);
  void handle_event(Env& env, const WsEvent& event);
  void handle_response(Env& env, const ApiResponse& response);
  // Sessions (docs/model.md, Sessions): the cookie, and what a 401 does.
  std::uint64_t session(const Env& env) const { return after_ << 32 | env.self().value; }
  void log_out(Env& env, std::uint64_t revocation);
  void log_in(Env& env);

  // What every websocket frame and delivery reads and writes comes first, in
  // the object's first two cache lines (the class is aligned to a line): the
  // first holds the vtable pointer, which the call that brought the frame has
  // just read. Spread over the object they cost a cache miss each per delivery
  // (Client::deliver waited on newest_at_ for a fifth of its time at 5,000
  // clients; issue 12).
  WsState ws_ = WsState::closed;
  bool resync_wanted_ = false;
  bool post_in_flight_ = false, resync_in_flight_ = false;
  bool post_retry_armed_ = false, resync_retry_armed_ = false;
  std::uint64_t mask_ = 0;
  std::uint64_t conn_id_ = 0;   // websocket
  std::uint64_t next_seq_ = 0;  // websocket
  Time newest_at_{};  // create_at of the newest post held (server clocks)
  std::uint64_t newest_post_ = 0;  // the resync point's post (for the history)
  // Posts shown (received or acknowledged): this client's slot of the store.
  std::shared_ptr<ShownPosts> shown_;
  std::uint32_t shown_slot_ = 0;
  std::size_t shown_count_ = 0;

  std::shared_ptr<const ClusterSpec> file_;
  std::uint32_t index_ = 0;
  NodeId proxy_{kNoNode};
  Duration post_interval_{};
  Time post_until_{};  // local clock; kTimeMax when it never stops
  std::vector<std::uint32_t> channels_;

  // websocket
  NodeId server_{kNoNode};
  std::uint32_t fail_count_ = 0;
  std::optional<TimerId> reconnect_timer_;
  std::optional<TimerId> connect_timer_;
  std::optional<Version> page_version_;  // the server the page was loaded from

  // posts
  bool posting_ = false;  // started after the first websocket open
  std::uint32_t posts_made_ = 0;
  std::deque<PostEvent> pending_;        // not yet acknowledged, oldest first
  std::uint32_t attempt_ = 0;            // of pending_.front()
  std::uint32_t unsupported_in_row_ = 0;
  std::uint64_t next_req_ = 0;
  struct Outstanding {
    Want want = Want::post;
    TimerId timeout{};
  };
  std::map<std::uint64_t, Outstanding> outstanding_;  // req -> what it was

  // received
  std::vector<PostEvent> held_;    // live posts that arrived while a resync was pending
  // user_added about this user (issue 14): the web app adds the channel and
  // loads its posts; the next resync asks for every post of the client's
  // channels, not only those since newest_at_.
  bool load_all_ = false;
  bool load_all_in_flight_ = false;  // the resync in flight asks for every post

  // session: created after revocation after_ (0: the session it started with)
  std::uint64_t after_ = 0;
  bool logged_out_ = false;
  std::uint64_t logout_revocation_ = 0;
};

}  // namespace fl
