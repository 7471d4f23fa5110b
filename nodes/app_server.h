// The app server: one Mattermost node of the seed's high-availability cluster,
// as a sans-IO state machine. It knows only what reached it: its own spec (the
// machine's config file), messages from peers, database replies and its timers.
//
// What it keeps true (checked with FL_ASSERT where the state changes):
//  - It serves (has an HTTP listener) only after the start-up sequence of
//    MODEL.md: database connect, migration lock, migrations, discovery row.
//  - A peer is marked down only at its second failed attempt, 15 s after the
//    first (the seed's 15-second rule), unless down_after_one_failure is planted;
//    nothing is queued for a down peer.
//  - It acts as leader (LeaderBegin..LeaderEnd) only after winning an election
//    it ran itself (and, under db_lease, while its lease row is confirmed).
//  - It schedules jobs only while it acts as leader.
//
// The implementation is split by concern: app_server.cc (start-up, migrations,
// discovery, dispatch, DB routing), app_gossip.cc (gossip, 15-s rule, status,
// cluster messages), app_election.cc (bully and db_lease), app_jobs.cc
// (scheduler and workers). The edge (websocket hub, HTTP) lives in
// app_server_edge.cc, owned by the edge helper, through the hooks below.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/db.h"
#include "base/env.h"
#include "nodes/spec.h"

namespace fl {

class AppServer : public Node {
 public:
  // `file` is the machine's configuration, owned by the harness (it survives
  // crashes; the operator edits it). The server copies its own ServerSpec at
  // construction and again at reload_config.
  AppServer(std::shared_ptr<const ClusterSpec> file, std::string name);
  ~AppServer() override;

  // ---- Node ----
  void on_start(Env& env) override;
  void on_message(Env& env, NodeId from, const Message& message) override;
  void on_send_failed(Env& env, NodeId to, const Message& message) override;
  void on_timer(Env& env, TimerId id, TimerTag tag) override;
  void on_db_reply(Env& env, RequestId id, const DbReply& reply) override;
  void on_stop(Env& env) override;
  // set_spec keys: "reload_config" (re-read config and DataSource);
  // "session.cache" / "session.revoke" (a login here / a System Console
  // revocation here, value = session id); others go to the edge first.
  void on_control(Env& env, const ControlOp& op) override;
  // replay --dump-state: phase, the leader it believes in, peers, lock, lease, jobs.
  void describe(StateWriter& out) const override;

  // ---- for the edge (websocket hub, HTTP) and tests ----
  // The HTTP listener is up (start-up finished, not stopping).
  bool serving() const { return phase_ == Phase::serving; }
  const ServerSpec& spec() const { return spec_; }
  std::uint64_t config_hash() const { return config_hash_; }
  // Acts as leader (may schedule jobs).
  bool acting_leader() const { return acting_leader_; }
  // The leader this server believes in (itself included), or kNoNode.
  NodeId believed_leader() const { return leader_; }
  // Peers this server believes down (for tests and the status page).
  std::vector<NodeId> down_peers() const;
  bool peer_green(NodeId peer) const;
  // Peers not believed down, in node order (cluster requests go to them).
  std::vector<NodeId> up_peers() const;
  const BugSet& bugs() const { return bugs_; }
  // A write (or a read-after-write read): to the primary through the DataSource.
  // The reply arrives at handle_edge_db_reply with the returned id.
  RequestId db_write(Env& env, DbOp op);
  // A read: round-robin over the online replicas, the primary when none is.
  RequestId db_read(Env& env, DbOp op);
  // Sends to every peer not believed down. `reliable` messages lost with a
  // broken connection are resent with the 15-s retry (REFERENCE.md, Inter-node
  // messages); best-effort ones are dropped.
  void broadcast(Env& env, const Message& message, bool reliable);
  // Session cache (REFERENCE.md, Sessions and caches): revoking a session
  // clears it here and sends a reliable invalidation to every peer.
  void cache_session(Env& env, std::uint64_t session);
  bool session_cached(Env& env, std::uint64_t session) const;
  void revoke_session(Env& env, std::uint64_t session);
  std::vector<std::uint64_t> cached_sessions() const;  // for tests (ttl not applied)
  // Revocations that reached this server (docs/model.md, Sessions): 0 when
  // `session` is still valid here, else the number of the revocation covering it.
  std::uint64_t session_revoked_by(std::uint64_t session) const;

  // Timer kinds at or above this value belong to the edge.
  static constexpr std::uint32_t kEdgeTimerBase = 1000;

  // ---- edge hooks: defined in nodes/app_server_edge.cc (the edge helper's) ----
  // The edge's own state, defined by the edge in app_server_edge.cc.
  struct EdgeState;
  struct EdgeStateDeleter {
    void operator()(EdgeState* state) const;
  };
  void handle_edge_serving(Env& env);  // the listener just came up
  void handle_edge_stop(Env& env);     // graceful stop, before the row is deleted
  void handle_edge_db_reply(Env& env, RequestId id, const DbReply& reply);
  void handle_edge_message(Env& env, NodeId from, const Message& message);  // FL_EDGE_MESSAGES
  void handle_edge_timer(Env& env, TimerId id, TimerTag tag);  // tag.kind >= kEdgeTimerBase
  // A control op the core does not know; returns true when the edge handled it.
  bool handle_edge_control(Env& env, const ControlOp& op);
  // A send to a node that is not a peer (the proxy, the storage) failed.
  void handle_edge_send_failed(Env& env, NodeId to, const Message& message);
  // A ChannelMembers row this server wrote is committed (issue 14).
  void member_added(Env& env, NodeId user, std::uint32_t channel);
  // A revocation reached this server: close the websockets of the sessions it
  // covers (session_revoked_by); returns how many were closed.
  std::uint64_t handle_edge_revocation(Env& env, std::uint64_t revocation);

 private:
  enum class Phase : std::uint8_t { created, connecting, checking, locking, migrating, registering, serving, refused, stopped };
  enum TimerKind : std::uint32_t {
    kDbTimeout = 1,      // arg: request id
    kConnectRetry,
    kLockRetry,
    kLockRefresh,
    kMigrationDone,      // arg: schema
    kDiscoveryRefresh,
    kGossipTick,
    kSendRetry,          // arg: peer
    kPeerProbe,          // arg: peer
    kElectionStart,
    kElectionAnswerTimeout,  // arg: round
    kCoordinatorTimeout,     // arg: round
    kLeaseRenew,
    kSchedulerTick,
    kWatcherPoll,
    kJobRunDone,         // arg: job
    kJobDoneRetry,       // arg: job
    kReplicaReprobe,     // arg: index into replicas_
    kSchemaRetry,
    kTakeover,           // arg: election round
    kLeaseExpiry,        // db_lease: our own conservative end of the lease
  };
  // Why a database request was sent: how to handle its reply.
  enum class Call : std::uint8_t {
    connect_ping, schema_check, lock_acquire, lock_refresh, lock_release, schema_read, migration_apply,
    discovery_clean, discovery_register, discovery_refresh, discovery_list, discovery_delete,
    lease_acquire, lease_release, job_create, job_list, job_claim, job_done, replica_probe, edge,
  };
  struct PendingCall {
    Call call = Call::edge;
    std::uint64_t arg = 0;
    TimerId timeout{};
    std::size_t replica = SIZE_MAX;  // index into replicas_ when sent to a replica
    Time sent_at{};                  // local clock
    Time sent_mono{};                // monotonic clock (Env::monotonic)
    DbOp op;                         // kept for retries (job create)
    std::uint32_t attempt = 0;
  };
  enum class PeerState : std::uint8_t { up, suspect, down };
  struct Peer {
    NodeId node{kNoNode};
    std::uint32_t server_id = 0;  // 0 until learned (discovery row or gossip)
    bool info_known = false;      // version / schema / config hash heard
    Version version{};
    std::uint32_t schema = 0;
    std::uint64_t config_hash = 0;
    PeerState state = PeerState::up;
    std::uint32_t failed_attempts = 0;
    std::optional<TimerId> retry_timer, probe_timer;
    std::uint64_t retry_seq = 0;  // the ping that is the second attempt (0: not sent yet)
    // Reliable messages recently sent (local send time), and those to resend
    // with the retry after a broken connection.
    std::deque<std::pair<Time, Message>> reliable_inflight;
    std::vector<Message> resend;
    bool status_known = false, green = true;
    std::string reason;
  };
  struct ReplicaRoute {
    NodeId node{kNoNode};
    bool online = true;
    bool probing = false;
  };

  // app_server.cc: start-up, migrations, discovery, DB routing
  RequestId send_db(Env& env, DbTarget target, DbOp op, Call call, std::uint64_t arg,
                    Duration timeout = k::kQueryTimeout, std::size_t replica = SIZE_MAX);
  RequestId route_read(Env& env, DbOp op, Call call, std::uint64_t arg);
  void handle_db(Env& env, const PendingCall& pending, const DbReply& reply);
  void start_connect(Env& env);
  void on_connect_reply(Env& env, const DbReply& reply);
  void on_schema_check(Env& env, const DbReply& reply);
  void try_lock(Env& env);
  void on_lock_reply(Env& env, const DbReply& reply);
  void on_schema(Env& env, const DbReply& reply);
  void apply_next_migration(Env& env);
  void on_migration_reply(Env& env, std::uint32_t schema, const DbReply& reply);
  void finish_migrations(Env& env);
  void start_discovery(Env& env);
  // Inserts this process's discovery row (unless its cluster name is invalid).
  void register_discovery(Env& env);
  void on_discovery_list(Env& env, const DbReply& reply);
  void become_serving(Env& env);
  void refuse(Env& env, std::string reason);
  // The version rule (seed: one minor version of difference supported).
  bool too_old_for(std::uint32_t db_schema) const;
  void refuse_too_old(Env& env, std::uint32_t db_schema);
  void reread_spec();
  LockClock lock_clock() const;

  // app_gossip.cc
  Peer& learn_peer(Env& env, NodeId node, std::uint32_t server_id);
  void gossip_tick(Env& env);
  void send_to_peer(Env& env, Peer& peer, const Message& message, bool reliable);
  std::uint64_t send_ping(Env& env, Peer& peer);  // returns the ping's seq
  void handle_ping(Env& env, NodeId from, const GossipPing& ping);
  void handle_pong(Env& env, NodeId from, const GossipPong& pong);
  void handle_send_failed(Env& env, Peer& peer, const Message& message);
  void on_send_retry(Env& env, NodeId node);
  void on_probe(Env& env, NodeId node);
  void mark_down(Env& env, Peer& peer);
  void mark_up(Env& env, Peer& peer);
  void update_status(Env& env, Peer& peer);

  // app_election.cc
  bool better(std::uint32_t a, std::uint32_t b) const;  // a has priority over b
  bool peer_alive(const Peer& peer) const;
  void start_election(Env& env);
  void win_election(Env& env);
  void accept_leader(Env& env, NodeId leader, std::uint32_t leader_id);
  void handle_election(Env& env, NodeId from, const ElectionMsg& msg);
  void handle_answer(Env& env, NodeId from, const ElectionAnswer& msg);
  void handle_coordinator(Env& env, NodeId from, const Coordinator& msg);
  void on_election_answer_timeout(Env& env, std::uint64_t round);
  void on_coordinator_timeout(Env& env, std::uint64_t round);
  void on_peer_gone(Env& env, Peer& peer);
  void on_peer_back(Env& env, Peer& peer);
  void lease_renew(Env& env);
  void on_lease_reply(Env& env, const DbReply& reply, Time sent_mono);
  void update_acting_leader(Env& env);

  // app_jobs.cc
  void start_jobs(Env& env);
  // The pre-fix schedulers (mm_10502, mm_17508) tick on every server that runs
  // them, leader or not; the fixed one only on the acting leader.
  bool schedulers_everywhere() const;
  // setNextRunTime for every type (now + period + jitter), and the loop's
  // 1-minute wait started afresh (schedulers.go: a new timer per select).
  void reset_next_runs(Env& env);
  // The cluster-leader-change notice (HandleClusterLeaderChange) as the
  // pre-fix mm_17508 schedulers handle it: leader -> next runs set, else cleared.
  void scheduler_leader_notice(Env& env, bool leader);
  // A reload that changed the configuration (the schedulers' config listener).
  void scheduler_config_changed(Env& env);
  void scheduler_tick(Env& env);
  void on_job_created(Env& env, const PendingCall& pending, const DbReply& reply);
  void watcher_poll(Env& env);
  void on_job_list(Env& env, const DbReply& reply);
  void on_job_claim(Env& env, std::uint64_t job, const DbReply& reply);
  void on_job_run_done(Env& env, std::uint64_t job);
  void on_job_done(Env& env, std::uint64_t job, const DbReply& reply);
  Duration job_run_time(const std::string& type) const;

  // ---- state ----
  std::shared_ptr<const ClusterSpec> file_;
  std::string name_;
  ServerSpec spec_;
  std::uint64_t config_hash_ = 0;
  LeaderElection election_mode_ = LeaderElection::bully;
  MigrationLock lock_mode_ = MigrationLock::morph;
  Duration migration_time_{};
  BugSet bugs_;
  bool allow_unsupported_upgrades_ = false;
  std::vector<JobTypeSpec> job_types_;

  Phase phase_ = Phase::created;
  std::uint64_t instance_id_ = 0;  // the discovery row id: random per process start
  std::map<RequestId, PendingCall> calls_;

  // start-up
  std::uint32_t connect_attempt_ = 0;
  std::uint32_t lock_attempt_ = 0;
  bool lock_held_ = false;
  std::optional<TimerId> lock_refresh_timer_;
  std::uint32_t db_schema_ = 0;
  std::uint32_t next_migration_ = 0;

  // routing
  std::vector<ReplicaRoute> replicas_;
  std::size_t next_replica_ = 0;

  // gossip
  std::map<NodeId, Peer> peers_;
  std::uint64_t ping_seq_ = 0;

  // election
  NodeId leader_{kNoNode};
  bool won_election_ = false;  // bully says: me
  bool acting_leader_ = false; // LeaderBegin emitted, no LeaderEnd yet
  bool takeover_ready_ = false; // the takeover delay after winning has passed
  bool electing_ = false;
  std::uint64_t election_round_ = 0;
  std::optional<TimerId> election_timer_;
  bool lease_held_ = false;
  Time lease_valid_until_{};   // monotonic clock (Env::monotonic), conservative
  std::optional<TimerId> lease_timer_;
  std::optional<TimerId> lease_expiry_timer_;  // fires at lease_valid_until_

  // jobs
  bool run_scheduler_ = true;  // JobSettings.RunScheduler, read at process start
  // Per type; absent = nil (not scheduled here). Local clock.
  std::map<std::string, Time> next_run_;
  std::optional<TimerId> scheduler_timer_;
  bool worker_busy_ = false;   // claiming or running a job
  bool job_running_ = false;   // claimed: running until marked done
  std::uint64_t running_job_ = 0;
  std::string running_type_;

  // sessions: id -> local time cached
  std::map<std::uint64_t, Time> sessions_;
  // revocations applied here: every session created before revoked_all_, and
  // each user's created before revoked_user_[user], are revoked.
  void revoke_sessions(Env& env, const ControlOp& op);
  void apply_revocation(Env& env, std::uint64_t revocation, NodeId client);
  std::uint64_t revoked_all_ = 0;
  std::map<NodeId, std::uint64_t> revoked_user_;
  std::set<std::uint64_t> revocations_applied_;

  std::unique_ptr<EdgeState, EdgeStateDeleter> edge_;
};

}  // namespace fl
