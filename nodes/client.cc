#include "nodes/client.h"

#include <algorithm>

#include "base/assert.h"

namespace fl {

Duration client_reconnect_wait(std::uint32_t failures) {
  FL_ASSERT(failures >= 1);
  // websocket.ts: MIN_WEBSOCKET_RETRY_TIME, and past MAX_WEBSOCKET_FAILS the
  // quadratic back-off, capped at MAX_WEBSOCKET_RETRY_TIME.
  if (failures <= k::kWsFailuresBeforeBackoff) return k::kWsReconnectMin;
  const std::int64_t n = failures;
  // Compare in seconds first so that n * n cannot overflow the nanoseconds.
  if (n > 1000) return k::kWsReconnectMax;
  return std::min<Duration>(k::kWsReconnectMin * (n * n), k::kWsReconnectMax);
}

Client::Client(std::shared_ptr<const ClusterSpec> file, std::uint32_t index, std::shared_ptr<ShownPosts> shown)
    : shown_(std::move(shown)), file_(std::move(file)), index_(index) {
  FL_ASSERT(file_ != nullptr);
  FL_ASSERT(index_ >= 1 && index_ <= file_->clients.nodes.size());
  if (shown_) {
    shown_slot_ = index_ - 1;
    FL_ASSERT(shown_slot_ < shown_->clients());
    shown_->forget(shown_slot_);  // a new process has shown nothing
  } else {
    shown_ = std::make_shared<ShownPosts>(1);
  }
  proxy_ = file_->clients.proxy;
  post_interval_ = file_->clients.post_interval;
  FL_ASSERT(file_->clients.channels >= 1 && file_->clients.channels <= 64);
}

void Client::on_start(Env& env) {
  const ClientsSpec& spec = file_->clients;
  const std::uint32_t channels = spec.channels;
  if (index_ - 1 < spec.channel_masks.size()) mask_ = spec.channel_masks[index_ - 1];
  if (mask_ == 0) {
    // Home channel, plus each other channel with probability 2/(channels-1):
    // about three channels per user, whatever the channel count (a model
    // choice: the seed says nothing of membership, and a user in half of all
    // channels made every post fan out to half the clients).
    const std::uint32_t home = (index_ - 1) % channels;
    mask_ = 1ULL << home;
    const double join = channels > 1 ? std::min(1.0, 2.0 / double(channels - 1)) : 0.0;
    for (std::uint32_t c = 0; c < channels; ++c)
      if (c != home && env.rng().chance(join)) mask_ |= 1ULL << c;
  }
  for (std::uint32_t c = 0; c < 64; ++c)
    if (mask_ & (1ULL << c)) channels_.push_back(c);
  FL_ASSERT(!channels_.empty());
  post_until_ = spec.post_until > Duration{0} ? env.now() + spec.post_until : kTimeMax;
  env.emit(ClientChannels{mask_});
  connect(env);
  env.after(k::kWsPingInterval, TimerTag{kPing, 0});
}

// ---- websocket ------------------------------------------------------------------

void Client::connect(Env& env) {
  FL_ASSERT(ws_ == WsState::closed);
  ws_ = WsState::connecting;
  env.send(proxy_, Message{WsConnect{env.self(), conn_id_, next_seq_, mask_, session(env)}});
  connect_timer_ = env.after(k::kClientRequestTimeout, TimerTag{kConnectTimeout, 0});
}

void Client::disconnected(Env& env, const char* reason) {
  if (ws_ == WsState::closed) return;
  ws_ = WsState::closed;
  server_ = kNoNode;
  if (connect_timer_) env.cancel(*connect_timer_), connect_timer_.reset();
  env.emit(ClientDisconnected{reason});
  // websocket.ts onclose: count the failure, wait, reconnect.
  ++fail_count_;
  const Duration wait = client_reconnect_wait(fail_count_) + env.rng().jitter(k::kWsReconnectJitter);
  env.emit(ClientReconnecting{fail_count_, wait});
  FL_ASSERT(!reconnect_timer_);
  reconnect_timer_ = env.after(wait, TimerTag{kReconnect, 0});
}

void Client::handle_event(Env& env, const WsEvent& event) {
  if (ws_ != WsState::open) return;  // a frame after we closed: ignored
  if (event.kind == WsEventKind::hello) {
    // websocket.ts: a hello carrying another connection id than ours means the
    // server lost our events (long timeout, restart, sequence not found):
    // resynchronise and count from 0. A first hello (no id yet) is the page's
    // initial load of its channels.
    if (conn_id_ != event.conn_id) {
      resync_wanted_ = true;
      next_seq_ = 0;
    }
    conn_id_ = event.conn_id;
    if (!page_version_) page_version_ = event.server_version;
  }
  if (event.seq != next_seq_) {
    // "missed websocket event": close and reconnect; the count is reset so the
    // reconnect comes after the minimum wait.
    env.send(proxy_, Message{WsClose{env.self(), WsCloseReason::client_closed}});
    fail_count_ = 0;
    disconnected(env, "sequence_gap");
    return;
  }
  next_seq_ = event.seq + 1;
  if (event.kind == WsEventKind::user_added && event.user == env.self() && event.channel < 64 &&
      (mask_ >> event.channel & 1) == 0) {
    // websocket_actions handleUserAddedEvent: the current user was added to a
    // channel; the web app loads the channel and its posts. Posts of a channel
    // it never heard of stay unshown (deliver), so missing this event is
    // missing the channel (mattermost#27846: "missing unreads").
    mask_ |= 1ULL << event.channel;
    env.emit(ClientAddedToChannel{event.channel});
    load_all_ = true;
    resync_wanted_ = true;
  }
  if (resync_wanted_) send_resync(env);
  if (event.kind == WsEventKind::posted) {
    // While a resync is pending its answer may still bring older posts of the
    // same authors: this one is filed after them (see client.h).
    if (resync_pending()) held_.push_back(event.post);
    else deliver(env, event.post, "ws", true);
  }
}

void Client::deliver(Env& env, const PostEvent& post, const char* via, bool received) {
  if ((mask_ & (1ULL << post.channel)) == 0) return;  // not a member: not shown
  if (!shown_->insert(shown_slot_, post.id)) return;  // already held
  ++shown_count_;
  env.emit(PostDelivered{post.id, post.channel, via});
  if (received && post.create_at >= newest_at_) {
    newest_at_ = post.create_at;
    newest_post_ = post.id;
  }
}

void Client::flush_held(Env& env) {
  FL_ASSERT(!resync_pending());
  std::vector<PostEvent> held;
  held.swap(held_);
  for (const PostEvent& post : held) deliver(env, post, "ws", true);
  FL_ASSERT(held_.empty());
}

// ---- posts and REST -------------------------------------------------------------

void Client::schedule_post(Env& env) {
  // About every post_interval: uniform in [interval/2, 3 interval/2].
  const Duration wait = env.rng().duration(post_interval_ / 2, post_interval_ * 3 / 2);
  env.after(wait, TimerTag{kPostTick, 0});
}

void Client::send_request(Env& env, ApiRequest request, Want want) {
  request.client = env.self();
  request.req = ++next_req_;
  request.page_version = page_version_.value_or(Version{});
  request.session = session(env);
  const TimerId timeout = env.after(k::kClientRequestTimeout, TimerTag{kRequestTimeout, request.req});
  outstanding_[request.req] = Outstanding{want, timeout};
  env.send(proxy_, Message{request});
}

void Client::send_next_post(Env& env) {
  if (logged_out_ || post_in_flight_ || post_retry_armed_ || pending_.empty()) return;
  const PostEvent& post = pending_.front();
  ++attempt_;
  env.emit(PostSent{post.id, post.channel, attempt_});
  ApiRequest request;
  request.kind = ApiKind::create_post;
  request.post = post;
  post_in_flight_ = true;
  send_request(env, request, Want::post);
}

void Client::send_resync(Env& env) {
  if (logged_out_ || resync_in_flight_ || resync_retry_armed_) return;
  resync_wanted_ = false;
  env.emit(ClientResync{newest_post_});
  ApiRequest request;
  request.kind = ApiKind::posts_since;
  request.channel_mask = mask_;
  request.since = load_all_ ? Time{} : newest_at_;
  load_all_in_flight_ = load_all_;
  load_all_ = false;
  resync_in_flight_ = true;
  send_request(env, request, Want::resync);
}

void Client::request_failed(Env& env, Want want, const char* reason, bool unsupported) {
  env.emit(ClientRequestFailed{want == Want::post ? "create_post" : "posts_since", reason});
  if (want == Want::post) {
    post_in_flight_ = false;
    post_retry_armed_ = true;
    env.after(k::kPostRetryWait, TimerTag{kRetry, 0});
  } else {
    resync_in_flight_ = false;
    if (load_all_in_flight_) load_all_ = true;  // the retry asks for everything again
    load_all_in_flight_ = false;
    resync_retry_armed_ = true;
    env.after(k::kPostRetryWait, TimerTag{kRetry, 1});
  }
  unsupported_in_row_ = unsupported ? unsupported_in_row_ + 1 : 0;
  if (unsupported_in_row_ >= k::kReloadAfterFailures) reload(env);
}

void Client::reload(Env& env) {
  // The user refreshes the page: a new web app from whichever server the proxy
  // picks, a new websocket, and the initial load of the channels.
  unsupported_in_row_ = 0;
  page_version_.reset();
  if (ws_ != WsState::closed) {
    env.send(proxy_, Message{WsClose{env.self(), WsCloseReason::client_closed}});
    ws_ = WsState::closed;
    if (connect_timer_) env.cancel(*connect_timer_), connect_timer_.reset();
    env.emit(ClientDisconnected{"reload"});
  }
  if (reconnect_timer_) env.cancel(*reconnect_timer_), reconnect_timer_.reset();
  conn_id_ = 0;
  next_seq_ = 0;
  connect(env);
}

void Client::handle_response(Env& env, const ApiResponse& response) {
  const auto it = outstanding_.find(response.req);
  if (it == outstanding_.end()) return;  // timed out already
  const Want want = it->second.want;
  env.cancel(it->second.timeout);
  outstanding_.erase(it);
  if (response.status == ApiStatus::unauthorized) {
    // 401: the session is gone. Not a failure of the cluster: the web app
    // logs out (and the user logs in again).
    (want == Want::post ? post_in_flight_ : resync_in_flight_) = false;
    if (want == Want::resync) resync_wanted_ = true;
    log_out(env, response.revocation);
    return;
  }
  if (response.status != ApiStatus::ok) {
    request_failed(env, want, api_status_name(response.status), response.status == ApiStatus::unsupported);
    return;
  }
  unsupported_in_row_ = 0;
  if (want == Want::post) {
    FL_ASSERT(!pending_.empty());
    env.emit(PostAckReceived{pending_.front().id});
    // The web app adds its own post from the answer to the POST; it is not a
    // post received from the channel, so it does not move the resync point.
    deliver(env, pending_.front(), "ack", false);
    pending_.pop_front();
    attempt_ = 0;
    post_in_flight_ = false;
    send_next_post(env);
    return;
  }
  resync_in_flight_ = false;
  load_all_in_flight_ = false;
  if (response.posts)
    for (const PostEvent& post : *response.posts) deliver(env, post, "resync", true);
  if (resync_wanted_) send_resync(env);
  if (!resync_pending()) flush_held(env);
}

// ---- inputs ---------------------------------------------------------------------

void Client::on_message(Env& env, NodeId from, const Message& message) {
  (void)from;
  if (const auto* m = message.get<WsOpened>()) {
    if (ws_ != WsState::connecting) return;
    ws_ = WsState::open;
    server_ = m->server;
    if (connect_timer_) env.cancel(*connect_timer_), connect_timer_.reset();
    fail_count_ = 0;  // websocket.ts onopen
    // The user posts once the page has loaded (its first websocket open).
    if (!posting_ && post_interval_ > Duration{0}) {
      posting_ = true;
      schedule_post(env);
    }
    env.emit(ClientConnected{m->server, m->conn_id, conn_id_ != 0 && m->conn_id == conn_id_});
    return;
  }
  if (const auto* m = message.get<WsEvent>()) {
    handle_event(env, *m);
    return;
  }
  if (const auto* m = message.get<WsClose>()) {
    if (m->reason == WsCloseReason::unauthorized) {
      log_out(env, m->revocation);
      return;
    }
    disconnected(env, ws_close_reason_name(m->reason));
    return;
  }
  if (const auto* m = message.get<ApiResponse>()) {
    handle_response(env, *m);
    return;
  }
}

void Client::on_send_failed(Env& env, NodeId to, const Message& message) {
  (void)to;
  if (message.is<WsConnect>() || message.is<WsPing>()) {
    disconnected(env, "proxy_unreachable");
    return;
  }
  if (const auto* m = message.get<ApiRequest>()) {
    const auto it = outstanding_.find(m->req);
    if (it == outstanding_.end()) return;
    const Want want = it->second.want;
    env.cancel(it->second.timeout);
    outstanding_.erase(it);
    request_failed(env, want, "proxy_unreachable", false);
  }
}

void Client::on_timer(Env& env, TimerId id, TimerTag tag) {
  (void)id;
  switch (tag.kind) {
    case kReconnect:
      reconnect_timer_.reset();
      if (ws_ == WsState::closed && !logged_out_) connect(env);
      return;
    case kRelogin:
      log_in(env);
      return;
    case kConnectTimeout:
      connect_timer_.reset();
      if (ws_ == WsState::connecting) {
        env.send(proxy_, Message{WsClose{env.self(), WsCloseReason::client_closed}});
        disconnected(env, "connect_timeout");
      }
      return;
    case kPostTick: {
      if (env.now() >= post_until_) return;
      if (logged_out_) {  // a logged-out user writes nothing
        schedule_post(env);
        return;
      }
      const std::uint32_t n = ++posts_made_;
      PostEvent post;
      post.id = (std::uint64_t{index_} << 32) | n;
      post.channel = channels_[env.rng().below(channels_.size())];
      post.author = env.self();
      pending_.push_back(post);
      send_next_post(env);
      schedule_post(env);
      return;
    }
    case kRequestTimeout: {
      const auto it = outstanding_.find(tag.arg);
      if (it == outstanding_.end()) return;
      const Want want = it->second.want;
      outstanding_.erase(it);
      request_failed(env, want, "timeout", false);
      return;
    }
    case kRetry:
      if (tag.arg == 0) {
        post_retry_armed_ = false;
        send_next_post(env);
      } else {
        resync_retry_armed_ = false;
        send_resync(env);
      }
      return;
    case kPing:
      if (ws_ == WsState::open) env.send(proxy_, Message{WsPing{env.self()}});
      env.after(k::kWsPingInterval, TimerTag{kPing, 0});
      return;
    default:
      FL_UNREACHABLE();
  }
}

// ---- sessions ---------------------------------------------------------------------

void Client::log_out(Env& env, std::uint64_t revocation) {
  if (logged_out_) return;
  // The web app on a 401: the user is sent to the login page. Its websocket
  // closes; nothing is requested until the user logs in again.
  logged_out_ = true;
  logout_revocation_ = revocation;
  env.emit(ClientLoggedOut{revocation});
  if (ws_ != WsState::closed) {
    env.send(proxy_, Message{WsClose{env.self(), WsCloseReason::client_closed}});
    ws_ = WsState::closed;
    server_ = kNoNode;
    if (connect_timer_) env.cancel(*connect_timer_), connect_timer_.reset();
    env.emit(ClientDisconnected{"logged_out"});
  }
  if (reconnect_timer_) env.cancel(*reconnect_timer_), reconnect_timer_.reset();
  for (const auto& [req, o] : outstanding_) env.cancel(o.timeout);
  outstanding_.clear();
  post_in_flight_ = resync_in_flight_ = false;
  env.after(k::kClientReloginDelay, TimerTag{kRelogin, 0});
}

void Client::log_in(Env& env) {
  FL_ASSERT(logged_out_);
  // A new session, created after the revocation that ended the last one; a
  // fresh page: a new websocket whose hello makes the client resynchronise.
  logged_out_ = false;
  after_ = std::max(after_, logout_revocation_);
  env.emit(ClientLoggedIn{session(env), after_});
  conn_id_ = 0;
  next_seq_ = 0;
  fail_count_ = 0;
  page_version_.reset();
  connect(env);
  send_next_post(env);
}

void Client::describe(StateWriter& out) const {
  static constexpr const char* kWs[] = {"closed", "connecting", "open"};
  out.field("websocket", kWs[static_cast<std::size_t>(ws_)]);
  out.field("server", out.name(server_));
  out.field("conn_id", std::to_string(conn_id_));
  out.field("next_seq", std::to_string(next_seq_));
  if (fail_count_ > 0) out.field("failures", std::to_string(fail_count_));
  out.field("posts_made", std::to_string(posts_made_));
  out.field("pending_posts", std::to_string(pending_.size()));
  out.field("delivered", std::to_string(shown_count_));
  if (resync_pending()) out.field("resync", "pending");
}

}  // namespace fl
