// AppServer leader election: the seed's bully algorithm (lowest id among the
// servers believed alive wins; ELECTION / ANSWER / COORDINATOR with timeouts;
// a partition elects a leader on each side, as the seed's algorithm really
// does), and the db_lease variant (the bully winner must also hold a lease row
// in the primary, its expiry judged by the database's clock).
#include "base/assert.h"
#include "nodes/app_server.h"

namespace fl {

bool AppServer::better(std::uint32_t a, std::uint32_t b) const {
  FL_ASSERT(a != 0 && b != 0);
  // The planted bug leader_highest_id inverts the seed's rule.
  return bugs_.on(Bug::leader_highest_id) ? a > b : a < b;
}

bool AppServer::peer_alive(const Peer& peer) const {
  return peer.state != PeerState::down && peer.server_id != 0;
}

void AppServer::start_election(Env& env) {
  if (phase_ != Phase::serving) return;
  electing_ = true;
  ++election_round_;
  env.emit(ElectionStarted{});
  if (election_timer_) env.cancel(*election_timer_);
  election_timer_.reset();
  std::size_t asked = 0;
  for (auto& [node, peer] : peers_) {
    if (!peer_alive(peer) || !better(peer.server_id, spec_.id)) continue;
    send_to_peer(env, peer, Message{ElectionMsg{spec_.id, election_round_}}, /*reliable=*/false);
    ++asked;
  }
  if (asked == 0) {
    win_election(env);  // nobody better believed alive
    return;
  }
  election_timer_ = env.after(k::kElectionAnswerTimeout, TimerTag{kElectionAnswerTimeout, election_round_});
}

void AppServer::on_election_answer_timeout(Env& env, std::uint64_t round) {
  if (!electing_ || round != election_round_) return;
  election_timer_.reset();
  win_election(env);  // no better candidate answered in time
}

void AppServer::handle_answer(Env& env, NodeId from, const ElectionAnswer& msg) {
  (void)from;
  if (phase_ != Phase::serving || !electing_ || msg.round != election_round_) return;
  // A better candidate lives: wait for its COORDINATOR, start over if none comes.
  if (election_timer_) env.cancel(*election_timer_);
  election_timer_ = env.after(k::kCoordinatorTimeout, TimerTag{kCoordinatorTimeout, election_round_});
}

void AppServer::on_coordinator_timeout(Env& env, std::uint64_t round) {
  if (!electing_ || round != election_round_) return;
  election_timer_.reset();
  start_election(env);
}

void AppServer::win_election(Env& env) {
  FL_ASSERT(phase_ == Phase::serving);
  electing_ = false;
  if (election_timer_) env.cancel(*election_timer_);
  election_timer_.reset();
  env.emit(ElectionWon{});
  leader_ = env.self();
  won_election_ = true;
  if (!acting_leader_) {
    // Act after the announcement had time to reach the old leader.
    takeover_ready_ = false;
    env.after(k::kLeaderTakeoverDelay, TimerTag{kTakeover, election_round_});
  }
  for (auto& [node, peer] : peers_) {
    send_to_peer(env, peer, Message{Coordinator{spec_.id}}, /*reliable=*/false);
  }
  if (election_mode_ == LeaderElection::db_lease) lease_renew(env);
  update_acting_leader(env);
}

void AppServer::accept_leader(Env& env, NodeId leader, std::uint32_t leader_id) {
  FL_ASSERT(leader != env.self() && leader_id != 0);
  electing_ = false;
  if (election_timer_) env.cancel(*election_timer_);
  election_timer_.reset();
  won_election_ = false;
  takeover_ready_ = false;
  if (leader_ != leader) {
    leader_ = leader;
    env.emit(ElectionLost{leader});
    // The cluster's leader changed and it is not us: the "not leader" notice
    // (only the pre-fix mm_17508 schedulers act on it; see app_jobs.cc).
    if (!acting_leader_) scheduler_leader_notice(env, false);
  }
  update_acting_leader(env);
}

void AppServer::handle_election(Env& env, NodeId from, const ElectionMsg& msg) {
  if (phase_ != Phase::serving || msg.server_id == 0) return;
  learn_peer(env, from, msg.server_id);
  if (!better(spec_.id, msg.server_id)) return;  // only worse candidates ask us
  send_to_peer(env, peers_.at(from), Message{ElectionAnswer{spec_.id, msg.round}}, /*reliable=*/false);
  if (!electing_) start_election(env);
}

void AppServer::handle_coordinator(Env& env, NodeId from, const Coordinator& msg) {
  if (phase_ != Phase::serving || msg.server_id == 0) return;
  learn_peer(env, from, msg.server_id);
  if (better(spec_.id, msg.server_id)) {
    // A worse server claims leadership while we live: bully it.
    if (!electing_) start_election(env);
    return;
  }
  accept_leader(env, from, msg.server_id);
}

void AppServer::on_peer_gone(Env& env, Peer& peer) {
  if (phase_ != Phase::serving) return;
  if (leader_ == peer.node) {
    // The leader is gone: elect again.
    leader_ = kNoNode;
    start_election(env);
  }
}

void AppServer::on_peer_back(Env& env, Peer& peer) {
  if (phase_ != Phase::serving || peer.server_id == 0 || peer.state == PeerState::down) return;
  if (better(peer.server_id, spec_.id)) {
    // A better server is (back) alive: unless it already leads, elect; our
    // ELECTION makes it take over.
    if (leader_ != peer.node && !electing_) start_election(env);
    return;
  }
  // A worse one: tell it who leads, if it is us.
  if (won_election_) send_to_peer(env, peer, Message{Coordinator{spec_.id}}, /*reliable=*/false);
}

// ---- db_lease ---------------------------------------------------------------------------

void AppServer::lease_renew(Env& env) {
  if (phase_ != Phase::serving || election_mode_ != LeaderElection::db_lease) return;
  if (lease_timer_) env.cancel(*lease_timer_);
  if (won_election_) {
    send_db(env, spec_.datasource, DbLeaseAcquire{std::string(k::kLeaderLeaseName), env.self(), k::kLeaseTtl},
            Call::lease_acquire, 0, k::kLeaseRenewInterval);
  } else if (lease_held_) {
    send_db(env, spec_.datasource, DbLeaseRelease{std::string(k::kLeaderLeaseName), env.self()},
            Call::lease_release, 0);
    lease_held_ = false;
  }
  update_acting_leader(env);  // a lease not confirmed in time ends leadership
  lease_timer_ = env.after(k::kLeaseRenewInterval, TimerTag{kLeaseRenew, 0});
}

void AppServer::on_lease_reply(Env& env, const DbReply& reply, Time sent_mono) {
  const DbLeaseResult* result = reply.get<DbLeaseResult>();
  if (reply.ok() && result != nullptr) {
    if (result->held && result->holder == env.self()) {
      lease_held_ = true;
      // Conservative (MODEL.md, Leader election): the database set the expiry
      // at or after it received the request, so after we sent it. Measured on
      // the monotonic clock from that send, never on now(): a clock step or
      // skew cannot stretch the lease. Stop a safety margin before the TTL.
      lease_valid_until_ = sent_mono + k::kLeaseTtl - k::kLeaseSafetyMargin;
      // Wake up at that instant even if no renewal is answered meanwhile.
      if (lease_expiry_timer_) env.cancel(*lease_expiry_timer_);
      lease_expiry_timer_.reset();
      const Time mono = env.monotonic();
      if (lease_valid_until_ > mono) {
        lease_expiry_timer_ = env.after(lease_valid_until_ - mono, TimerTag{kLeaseExpiry, 0});
      }
    } else {
      lease_held_ = false;
    }
  }
  update_acting_leader(env);
}

void AppServer::update_acting_leader(Env& env) {
  bool want = won_election_ && takeover_ready_ && leader_ == env.self() && phase_ == Phase::serving;
  if (election_mode_ == LeaderElection::db_lease) {
    if (lease_held_ && env.monotonic() >= lease_valid_until_) lease_held_ = false;
    want = want && lease_held_;
  }
  if (want == acting_leader_) return;
  acting_leader_ = want;
  env.emit(want ? EventBody{LeaderBegin{}} : EventBody{LeaderEnd{}});
  if (schedulers_everywhere()) {
    // The pre-fix schedulers run on every server; mm_17508's hear the notice.
    scheduler_leader_notice(env, want);
    return;
  }
  if (want) {
    // A leader with RunScheduler false leads and schedules nothing (docs#3845).
    if (!run_scheduler_) return;
    next_run_.clear();  // schedules computed afresh by the new leader
    // First schedule: one period from now (no last successful job known here).
    reset_next_runs(env);
  } else {
    if (scheduler_timer_) env.cancel(*scheduler_timer_);
    scheduler_timer_.reset();
  }
}

}  // namespace fl
