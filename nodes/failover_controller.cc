#include "nodes/failover_controller.h"

#include "base/assert.h"

namespace fl {

FailoverController::FailoverController(FailoverState& state, std::vector<NodeId> members, Duration detection)
    : state_(state), members_(std::move(members)), detection_(detection) {
  FL_ASSERT(detection_.count() > 0);
  FL_ASSERT(!members_.empty());
}

void FailoverController::on_start(Env& env) {
  env.after(k::kFailoverPingInterval, TimerTag{1, 0});
}

void FailoverController::on_timer(Env& env, TimerId id, TimerTag tag) {
  (void)id, (void)tag;
  tick(env);
  env.after(k::kFailoverPingInterval, TimerTag{1, 0});
}

void FailoverController::tick(Env& env) {
  const Time now = env.now();
  if (ping_outstanding_ && now - ping_sent_at_ >= k::kFailoverPingInterval) {
    // No answer within a ping interval (a paused or hung primary holds the
    // request): a failed ping.
    ping_outstanding_ = false;
    ping_failed(env, ping_sent_at_);
  }
  if (!failing_over_ && !ping_outstanding_ && state_.primary != kNoNode) {
    ping_outstanding_ = true;
    ping_sent_at_ = now;
    pending_[env.db(DbRequest{DbTarget::member(state_.primary), DbPing{}})] = {Ask::ping, state_.primary};
  }
  for (NodeId member : state_.to_follow) {
    pending_[env.db(DbRequest{DbTarget::member(member), DbFollow{state_.primary, state_.fork_lsn}})] = {
        Ask::follow, member};
  }
}

void FailoverController::ping_failed(Env& env, Time sent_at) {
  // The primary has been gone since the first ping it failed; promote once
  // that is failover_detection ago.
  if (!first_failure_) first_failure_ = sent_at;
  if (env.now() - *first_failure_ >= detection_ && !failing_over_) begin_failover(env);
}

void FailoverController::begin_failover(Env& env) {
  FL_ASSERT(!failing_over_);
  failing_over_ = true;
  received_.clear();
  status_outstanding_ = 0;
  for (NodeId member : members_) {
    if (member == state_.primary) continue;
    pending_[env.db(DbRequest{DbTarget::member(member), DbMemberStatus{}})] = {Ask::status, member};
    ++status_outstanding_;
  }
  if (status_outstanding_ == 0) failing_over_ = false;  // nothing to promote
}

void FailoverController::choose(Env& env) {
  FL_ASSERT(failing_over_ && status_outstanding_ == 0);
  // The most advanced replica; ties go to the first in declaration order.
  NodeId best = kNoNode;
  std::uint64_t best_lsn = 0;
  for (NodeId member : members_) {
    auto it = received_.find(member);
    if (it == received_.end()) continue;
    if (best == kNoNode || it->second > best_lsn) {
      best = member;
      best_lsn = it->second;
    }
  }
  if (best == kNoNode) {
    failing_over_ = false;  // no replica answered: try again at the next tick
    return;
  }
  pending_[env.db(DbRequest{DbTarget::member(best), DbPromote{}})] = {Ask::promote, best};
}

void FailoverController::on_db_reply(Env& env, RequestId id, const DbReply& reply) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  const Pending p = it->second;
  pending_.erase(it);
  switch (p.ask) {
    case Ask::ping:
      ping_outstanding_ = false;
      if (p.member != state_.primary || failing_over_) return;
      if (reply.ok()) {
        first_failure_.reset();
      } else {
        ping_failed(env, ping_sent_at_);
      }
      return;
    case Ask::status: {
      FL_ASSERT(status_outstanding_ > 0);
      --status_outstanding_;
      const DbMemberState* s = reply.get<DbMemberState>();
      if (reply.ok() && s != nullptr && s->role == DbRole::replica) received_[p.member] = s->received_lsn;
      if (status_outstanding_ == 0) choose(env);
      return;
    }
    case Ask::promote: {
      failing_over_ = false;
      const DbPromoted* promoted = reply.get<DbPromoted>();
      if (!reply.ok() || promoted == nullptr) return;  // try again at the next tick
      const NodeId old = state_.primary;
      state_.primary = p.member;
      state_.fork_lsn = promoted->lsn;
      state_.to_follow.clear();
      for (NodeId member : members_) {
        if (member != p.member) state_.to_follow.insert(member);
      }
      FL_ASSERT(state_.to_follow.count(old) == 1 || old == kNoNode);
      env.set_db_endpoint(p.member);
      first_failure_.reset();
      tick(env);
      return;
    }
    case Ask::follow:
      if (reply.ok()) state_.to_follow.erase(p.member);
      return;
  }
}

}  // namespace fl
