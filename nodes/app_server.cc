// AppServer: dispatch, the start-up sequence (MODEL.md, App server: database
// connect, migration lock, migrations, discovery row), discovery upkeep and the
// database routing of REFERENCE.md (Database routing).
#include "nodes/app_server.h"

#include <algorithm>
#include <cstdlib>
#include <type_traits>

#include "base/assert.h"

namespace fl {

namespace {
template <class... Ts> struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> Overloaded(Ts...) -> Overloaded<Ts...>;
}  // namespace

AppServer::AppServer(std::shared_ptr<const ClusterSpec> file, std::string name)
    : file_(std::move(file)), name_(std::move(name)) {
  FL_ASSERT(file_ != nullptr);
  reread_spec();
  election_mode_ = file_->leader_election;
  lock_mode_ = file_->migration_lock;
  migration_time_ = file_->migration_time;
  bugs_ = file_->bugs;
  allow_unsupported_upgrades_ = file_->allow_unsupported_upgrades;
  job_types_ = file_->jobs;
  FL_ASSERT(spec_.name == name_);
  FL_ASSERT_MSG(spec_.id != 0, "server ids start at 1 (the election compares them)");
}

AppServer::~AppServer() = default;

void AppServer::reread_spec() {
  const ServerSpec* s = file_->server(name_);
  FL_ASSERT_MSG(s != nullptr, "app server not in its cluster spec");
  spec_ = *s;
  // mattermost/mattermost#17762: servers with an empty ClusterSettings.ClusterName
  // never talk to each other; the fix gave the cluster a generic name. The model
  // applies that default to an empty name; the planted bug mm_17762 keeps it
  // empty, as the configuration was before the fix.
  if (spec_.cluster_name.empty() && !file_->bugs.on(Bug::mm_17762))
    spec_.cluster_name = std::string(k::kDefaultClusterName);
  config_hash_ = spec_.config_hash();
  // Replica routes keep their online flags when the list is unchanged.
  std::vector<ReplicaRoute> routes;
  for (NodeId r : spec_.replicas) {
    ReplicaRoute route;
    route.node = r;
    for (const auto& old : replicas_) {
      if (old.node == r) route = old;
    }
    routes.push_back(route);
  }
  replicas_ = std::move(routes);
  if (next_replica_ >= replicas_.size()) next_replica_ = 0;
}

LockClock AppServer::lock_clock() const {
  return lock_mode_ == MigrationLock::db_clock ? LockClock::database : LockClock::client;
}

// ---- dispatch --------------------------------------------------------------------------

void AppServer::on_start(Env& env) {
  FL_ASSERT(phase_ == Phase::created);
  instance_id_ = env.rng().next();  // a new random row id at every process start
  // Read once at start, as app/server.go does: a reload does not start or stop
  // the schedulers (nodes/constants.h kRunSchedulerKey).
  if (auto it = spec_.config.find(std::string(k::kRunSchedulerKey)); it != spec_.config.end())
    run_scheduler_ = it->second != "false";
  env.emit(ServerStarting{spec_.version.str(), config_hash_});
  phase_ = Phase::connecting;
  connect_attempt_ = 0;
  start_connect(env);
}

void AppServer::on_message(Env& env, NodeId from, const Message& message) {
  if (phase_ == Phase::refused || phase_ == Phase::stopped) return;
  std::visit(Overloaded{
                 [&](const GossipPing& m) { handle_ping(env, from, m); },
                 [&](const GossipPong& m) { handle_pong(env, from, m); },
                 [&](const ElectionMsg& m) { handle_election(env, from, m); },
                 [&](const ElectionAnswer& m) { handle_answer(env, from, m); },
                 [&](const Coordinator& m) { handle_coordinator(env, from, m); },
                 [&](const SessionInvalidate& m) { sessions_.erase(m.session); },
                 [&](const SessionsRevoked& m) { apply_revocation(env, m.revocation, m.client); },
                 [&](const CacheInvalidate&) {},
                 [&](const WalRecord&) {},
                 [&](const WalStatus&) {},
                 [&](const Heartbeat&) {},
                 [&](const auto&) { handle_edge_message(env, from, message); },
             },
             message.body);
}

void AppServer::on_send_failed(Env& env, NodeId to, const Message& message) {
  auto it = peers_.find(to);
  if (it == peers_.end()) {  // not a peer (an edge connection): the edge's concern
    if (phase_ != Phase::refused && phase_ != Phase::stopped) handle_edge_send_failed(env, to, message);
    return;
  }
  handle_send_failed(env, it->second, message);
}

void AppServer::on_timer(Env& env, TimerId id, TimerTag tag) {
  if (tag.kind >= kEdgeTimerBase) {
    handle_edge_timer(env, id, tag);
    return;
  }
  switch (static_cast<TimerKind>(tag.kind)) {
    case kDbTimeout: {
      // No answer in time: the request fails with a timeout for its caller.
      auto it = calls_.find(RequestId{tag.arg});
      if (it == calls_.end() || it->second.timeout != id) return;
      PendingCall pending = std::move(it->second);
      calls_.erase(it);
      DbReply reply;
      reply.status = DbStatus::timeout;
      handle_db(env, pending, reply);
      return;
    }
    case kConnectRetry: start_connect(env); return;
    case kLockRetry: try_lock(env); return;
    case kLockRefresh:
      lock_refresh_timer_.reset();
      if (!lock_held_) return;
      send_db(env, spec_.datasource,
              DbLockRefresh{std::string(k::kMigrationLockKey), env.self(), env.now(), k::kLockTtl, lock_clock()},
              Call::lock_refresh, 0);
      lock_refresh_timer_ = env.after(k::kLockRefreshInterval, TimerTag{kLockRefresh, 0});
      return;
    case kMigrationDone:
      send_db(env, spec_.datasource,
              DbMigrationApply{static_cast<std::uint32_t>(tag.arg), env.self(), lock_clock(),
                               !bugs_.on(Bug::migration_without_lock)},
              Call::migration_apply, tag.arg);
      return;
    case kDiscoveryRefresh:
      if (phase_ != Phase::serving) return;
      send_db(env, spec_.datasource, DbDiscoveryRefresh{instance_id_}, Call::discovery_refresh, 0);
      send_db(env, spec_.datasource,
              DbDiscoveryList{std::string(k::kDiscoveryType), spec_.cluster_name, k::kDiscoveryStaleAfter},
              Call::discovery_list, 0);
      env.after(k::kDiscoveryRefreshInterval, TimerTag{kDiscoveryRefresh, 0});
      return;
    case kGossipTick: gossip_tick(env); return;
    case kSendRetry: on_send_retry(env, NodeId{static_cast<std::uint32_t>(tag.arg)}); return;
    case kPeerProbe: on_probe(env, NodeId{static_cast<std::uint32_t>(tag.arg)}); return;
    case kElectionStart: {
      // A server that sees no leader, or a leader it outranks, starts an election.
      if (leader_ == kNoNode) {
        start_election(env);
      } else if (leader_ != env.self()) {
        auto p = peers_.find(leader_);
        if (p != peers_.end() && p->second.server_id != 0 && better(spec_.id, p->second.server_id)) {
          start_election(env);
        }
      }
      return;
    }
    case kSchemaRetry:
      if (phase_ == Phase::migrating) send_db(env, spec_.datasource, DbSchemaRead{}, Call::schema_read, 0);
      if (phase_ == Phase::checking) send_db(env, spec_.datasource, DbSchemaRead{}, Call::schema_check, 0);
      return;
    case kElectionAnswerTimeout: on_election_answer_timeout(env, tag.arg); return;
    case kTakeover:
      if (won_election_ && leader_ == env.self() && tag.arg == election_round_) {
        takeover_ready_ = true;
        update_acting_leader(env);
      }
      return;
    case kCoordinatorTimeout: on_coordinator_timeout(env, tag.arg); return;
    case kLeaseRenew: lease_renew(env); return;
    case kLeaseExpiry:
      lease_expiry_timer_.reset();
      update_acting_leader(env);  // stops acting unless a renewal came meanwhile
      return;
    case kSchedulerTick: scheduler_tick(env); return;
    case kWatcherPoll: watcher_poll(env); return;
    case kJobRunDone: on_job_run_done(env, tag.arg); return;
    case kJobDoneRetry: on_job_run_done(env, tag.arg); return;
    case kReplicaReprobe: {
      const std::size_t index = tag.arg;
      if (index >= replicas_.size() || replicas_[index].online) return;
      send_db(env, DbTarget::member(replicas_[index].node), DbPing{}, Call::replica_probe, index,
              k::kQueryTimeout, index);
      return;
    }
  }
  FL_UNREACHABLE();
}

void AppServer::on_db_reply(Env& env, RequestId id, const DbReply& reply) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;  // timed out already: a late answer is dropped
  PendingCall pending = std::move(it->second);
  calls_.erase(it);
  env.cancel(pending.timeout);
  // A hard connection error takes a replica offline (REFERENCE.md, Database routing).
  if (pending.replica != SIZE_MAX && reply.status == DbStatus::connection_refused &&
      pending.replica < replicas_.size() && replicas_[pending.replica].online) {
    replicas_[pending.replica].online = false;
    env.after(k::kReplicaReprobeInterval, TimerTag{kReplicaReprobe, pending.replica});
  }
  handle_db(env, pending, reply);
}

void AppServer::handle_db(Env& env, const PendingCall& pending, const DbReply& reply) {
  switch (pending.call) {
    case Call::connect_ping: on_connect_reply(env, reply); return;
    case Call::lock_acquire: on_lock_reply(env, reply); return;
    case Call::lock_refresh:
      // morph's refresh touches the row by key only: it cannot tell that another
      // server took the lock over. db_clock's refresh checks the holder.
      if (reply.status == DbStatus::conflict && lock_held_) {
        lock_held_ = false;
        env.emit(MigrationLockLost{});
      }
      return;
    case Call::lock_release: return;
    case Call::schema_check: on_schema_check(env, reply); return;
    case Call::schema_read: on_schema(env, reply); return;
    case Call::migration_apply: on_migration_reply(env, static_cast<std::uint32_t>(pending.arg), reply); return;
    case Call::discovery_clean:
      // Clean-up is best effort; registering comes next either way.
      register_discovery(env);
      return;
    case Call::discovery_register:
      if (reply.ok()) env.emit(DiscoveryRowWritten{});
      send_db(env, spec_.datasource,
              DbDiscoveryList{std::string(k::kDiscoveryType), spec_.cluster_name, k::kDiscoveryStaleAfter},
              Call::discovery_list, 0);
      return;
    case Call::discovery_refresh:
      if (reply.ok()) {
        env.emit(DiscoveryRowWritten{});
      } else if (reply.status == DbStatus::conflict) {
        // The row is gone (deleted by a stale clean-up elsewhere): insert it again.
        register_discovery(env);
      }
      return;
    case Call::discovery_list: on_discovery_list(env, reply); return;
    case Call::discovery_delete: return;
    case Call::lease_acquire: on_lease_reply(env, reply, pending.sent_mono); return;
    case Call::lease_release: return;
    case Call::job_create: on_job_created(env, pending, reply); return;
    case Call::job_list: on_job_list(env, reply); return;
    case Call::job_claim: on_job_claim(env, pending.arg, reply); return;
    case Call::job_done: on_job_done(env, pending.arg, reply); return;
    case Call::replica_probe: {
      const std::size_t index = pending.arg;
      if (index >= replicas_.size()) return;
      if (reply.ok()) {
        replicas_[index].online = true;
      } else {
        env.after(k::kReplicaReprobeInterval, TimerTag{kReplicaReprobe, index});
      }
      return;
    }
    case Call::edge: handle_edge_db_reply(env, RequestId{pending.arg}, reply); return;
  }
  FL_UNREACHABLE();
}

void AppServer::on_stop(Env& env) {
  if (phase_ == Phase::stopped) return;
  env.emit(ServerStopping{});
  if (phase_ == Phase::serving) handle_edge_stop(env);
  // A graceful stop deletes the discovery row (REFERENCE.md) and gives up what
  // it holds; the process ends right after, so nobody waits for the answers.
  env.db(DbRequest{spec_.datasource, DbDiscoveryDelete{instance_id_}});
  if (lock_held_) {
    env.db(DbRequest{spec_.datasource, DbLockRelease{std::string(k::kMigrationLockKey), env.self(), lock_clock()}});
    lock_held_ = false;
  }
  if (lease_held_) {
    env.db(DbRequest{spec_.datasource, DbLeaseRelease{std::string(k::kLeaderLeaseName), env.self()}});
    lease_held_ = false;
  }
  if (worker_busy_ && running_job_ != 0 && job_running_) {
    // A graceful stop waits for the running job (the worker's Stop waits for
    // its DoJob to return: server/channels/jobs/base_workers.go); the
    // simulator's stop is instant, so the job completes at the stop.
    env.db(DbRequest{spec_.datasource, DbJobSetStatus{running_job_, JobStatus::success, env.self()}});
    env.emit(JobFinished{running_job_, running_type_});
    worker_busy_ = false;
  }
  if (acting_leader_) {
    acting_leader_ = false;
    env.emit(LeaderEnd{});
  }
  phase_ = Phase::stopped;
}

void AppServer::on_control(Env& env, const ControlOp& op) {
  if (op.kind != ControlOp::Kind::set_spec) return;
  if (handle_edge_control(env, op)) return;
  if (op.key == "session.revoke_sessions") {
    revoke_sessions(env, op);
    return;
  }
  // A user logs in on this server / an admin revokes a session (System Console).
  if (op.key == "session.cache" || op.key == "session.revoke") {
    if (phase_ != Phase::serving) return;
    const std::uint64_t session = std::strtoull(op.value.c_str(), nullptr, 10);
    if (op.key == "session.cache") cache_session(env, session);
    else revoke_session(env, session);
    return;
  }
  // "config.<Key>", "datasource", "version": edits of the machine's files (the
  // harness's spec hook made them); they take effect at reload_config (config,
  // DataSource) or at the next start (the binary).
  if (op.key != "reload_config") return;
  const std::map<std::string, std::string> before = spec_.config;
  const std::uint64_t hash_before = config_hash_;
  const Version running = spec_.version;
  reread_spec();
  spec_.version = running;  // a new binary needs a restart
  for (const auto& [key, value] : spec_.config) {
    auto it = before.find(key);
    if (it == before.end() || it->second != value) env.emit(ConfigChanged{key, value, config_hash_});
  }
  for (const auto& [key, value] : before) {
    if (spec_.config.count(key) == 0) env.emit(ConfigChanged{key, "", config_hash_});
  }
  if (config_hash_ != hash_before && phase_ == Phase::serving) {
    // Peers learn the new hash from our pings; send one now rather than in 5 s.
    for (auto& [node, peer] : peers_) {
      if (peer.state == PeerState::up) send_ping(env, peer);
      update_status(env, peer);
    }
    // The schedulers' config listener (jobs/schedulers.go handleConfigChange).
    scheduler_config_changed(env);
  }
}

// ---- database requests and routing -------------------------------------------------------

RequestId AppServer::send_db(Env& env, DbTarget target, DbOp op, Call call, std::uint64_t arg,
                             Duration timeout, std::size_t replica) {
  FL_ASSERT(timeout.count() > 0);
  const RequestId id = env.db(DbRequest{target, op});
  FL_ASSERT(calls_.find(id) == calls_.end());
  PendingCall pending;
  pending.call = call;
  pending.arg = call == Call::edge ? id.value : arg;
  pending.replica = replica;
  pending.sent_at = env.now();
  pending.sent_mono = env.monotonic();
  pending.op = std::move(op);
  // Our own query timeout, so that a request nobody answers still ends.
  pending.timeout = env.after(timeout, TimerTag{kDbTimeout, id.value});
  calls_.emplace(id, std::move(pending));
  return id;
}

RequestId AppServer::route_read(Env& env, DbOp op, Call call, std::uint64_t arg) {
  // Round-robin over the online replicas; all offline (or none) -> the primary.
  // Lag is never looked at (REFERENCE.md): stale reads happen.
  for (std::size_t tried = 0; tried < replicas_.size(); ++tried) {
    const std::size_t index = (next_replica_ + tried) % replicas_.size();
    if (!replicas_[index].online) continue;
    next_replica_ = (index + 1) % replicas_.size();
    return send_db(env, DbTarget::member(replicas_[index].node), std::move(op), call, arg, k::kQueryTimeout, index);
  }
  return send_db(env, spec_.datasource, std::move(op), call, arg);
}

RequestId AppServer::db_write(Env& env, DbOp op) {
  return send_db(env, spec_.datasource, std::move(op), Call::edge, 0);
}

RequestId AppServer::db_read(Env& env, DbOp op) { return route_read(env, std::move(op), Call::edge, 0); }

// ---- start-up: connect -------------------------------------------------------------------

void AppServer::start_connect(Env& env) {
  FL_ASSERT(phase_ == Phase::connecting);
  ++connect_attempt_;
  FL_ASSERT(connect_attempt_ <= k::kDbConnectAttempts);
  send_db(env, spec_.datasource, DbPing{}, Call::connect_ping, connect_attempt_, k::kDbConnectTimeout);
}

void AppServer::on_connect_reply(Env& env, const DbReply& reply) {
  if (phase_ != Phase::connecting) return;
  if (reply.ok()) {
    // First the version rule: a binary too old for the schema exits before it
    // touches the lock.
    phase_ = Phase::checking;
    send_db(env, spec_.datasource, DbSchemaRead{}, Call::schema_check, 0);
    return;
  }
  env.emit(DbConnectFailed{connect_attempt_});
  if (connect_attempt_ >= k::kDbConnectAttempts) {
    refuse(env, "database unreachable after " + std::to_string(k::kDbConnectAttempts) + " pings");
    return;
  }
  env.after(k::kDbConnectRetryInterval, TimerTag{kConnectRetry, 0});
}

void AppServer::on_schema_check(Env& env, const DbReply& reply) {
  if (phase_ != Phase::checking) return;
  const DbSchema* schema = reply.get<DbSchema>();
  if (!reply.ok() || schema == nullptr) {
    env.after(k::kDbConnectRetryInterval, TimerTag{kSchemaRetry, 0});
    return;
  }
  // A binary older than the database by more than one minor refuses to start
  // (seed: one minor version difference supported). This early check spares the
  // lock when the answer is already no; the schema can still move while we wait
  // for the lock, so on_schema checks again under it.
  if (too_old_for(schema->schema)) {
    refuse_too_old(env, schema->schema);
    return;
  }
  phase_ = Phase::locking;
  lock_attempt_ = 0;
  if (bugs_.on(Bug::migration_without_lock)) {
    // The planted bug: straight to the schema, no lock.
    phase_ = Phase::migrating;
    send_db(env, spec_.datasource, DbSchemaRead{}, Call::schema_read, 0);
    return;
  }
  try_lock(env);
}

bool AppServer::too_old_for(std::uint32_t db_schema) const {
  return spec_.version.schema() + k::kMaxMinorSkew < db_schema;
}

void AppServer::refuse_too_old(Env& env, std::uint32_t db_schema) {
  refuse(env, "binary " + spec_.version.str() + " is more than one minor version older than the database schema " +
                  std::to_string(db_schema));
}

void AppServer::refuse(Env& env, std::string reason) {
  // The process exits; the machine keeps it down until the operator acts.
  env.emit(ServerRefusedStart{std::move(reason)});
  if (lock_held_) {
    env.db(DbRequest{spec_.datasource, DbLockRelease{std::string(k::kMigrationLockKey), env.self(), lock_clock()}});
    lock_held_ = false;
  }
  if (lock_refresh_timer_) env.cancel(*lock_refresh_timer_);
  lock_refresh_timer_.reset();
  phase_ = Phase::refused;
}

// ---- start-up: the migration lock and migrations ------------------------------------------

void AppServer::try_lock(Env& env) {
  if (phase_ != Phase::locking) return;
  ++lock_attempt_;
  send_db(env, spec_.datasource,
          DbLockAcquire{std::string(k::kMigrationLockKey), env.self(), env.now(), k::kLockTtl, lock_clock()},
          Call::lock_acquire, 0);
}

void AppServer::on_lock_reply(Env& env, const DbReply& reply) {
  if (phase_ != Phase::locking) return;
  const DbLockResult* result = reply.get<DbLockResult>();
  if (reply.ok() && result != nullptr && result->acquired) {
    lock_held_ = true;
    env.emit(MigrationLockAcquired{result->expire_at, result->took_over});
    lock_refresh_timer_ = env.after(k::kLockRefreshInterval, TimerTag{kLockRefresh, 0});
    phase_ = Phase::migrating;
    send_db(env, spec_.datasource, DbSchemaRead{}, Call::schema_read, 0);
    return;
  }
  // Held by another (or the database failed): back off 2 s, 4 s, 8 s ... capped
  // at 5 min, less up to 250 ms of jitter; no overall timeout (REFERENCE.md).
  const std::uint32_t doublings = std::min<std::uint32_t>(lock_attempt_ - 1, 20);
  Duration wait = k::kLockBackoffInitial * (std::int64_t{1} << doublings);
  if (wait > k::kLockBackoffMax) wait = k::kLockBackoffMax;
  wait -= env.rng().jitter(k::kLockBackoffJitter);
  FL_ASSERT(wait.count() > 0);
  env.after(wait, TimerTag{kLockRetry, 0});
}

void AppServer::on_schema(Env& env, const DbReply& reply) {
  if (phase_ != Phase::migrating) return;
  const DbSchema* schema = reply.get<DbSchema>();
  if (!reply.ok() || schema == nullptr) {
    // The database failed mid start-up: read again after the retry interval.
    env.after(k::kDbConnectRetryInterval, TimerTag{kSchemaRetry, 0});
    return;
  }
  db_schema_ = schema->schema;
  // The version rule again, now under the lock: morph reads the applied
  // migrations while holding it (REFERENCE.md, Schema migrations), so this is
  // the schema as the holder before us left it. A server that passed the early
  // check while the database was one minor ahead may find it two ahead now:
  // another server migrated while we waited (MODEL.md, App server, step 2).
  // The planted bug join_across_two_minors trusts the early check and skips
  // this one: it finds nothing to apply and serves.
  if (too_old_for(db_schema_) && !bugs_.on(Bug::join_across_two_minors)) {
    refuse_too_old(env, db_schema_);  // releases the lock
    return;
  }
  next_migration_ = db_schema_ + 1;
  apply_next_migration(env);
}

void AppServer::apply_next_migration(Env& env) {
  FL_ASSERT(phase_ == Phase::migrating);
  if (next_migration_ > spec_.version.schema()) {
    finish_migrations(env);
    return;
  }
  env.emit(MigrationStarted{next_migration_});
  env.after(migration_time_, TimerTag{kMigrationDone, next_migration_});
}

void AppServer::on_migration_reply(Env& env, std::uint32_t schema, const DbReply& reply) {
  if (phase_ != Phase::migrating || schema != next_migration_) return;
  if (reply.ok()) {
    env.emit(MigrationApplied{schema});
    ++next_migration_;
    apply_next_migration(env);
    return;
  }
  if (reply.status == DbStatus::conflict) {
    // db_clock fences the migration with the lock: we no longer hold it. Start
    // over from the lock (someone else may have applied it by now).
    if (lock_held_) env.emit(MigrationLockLost{});
    lock_held_ = false;
    if (lock_refresh_timer_) env.cancel(*lock_refresh_timer_);
    lock_refresh_timer_.reset();
    phase_ = Phase::locking;
    lock_attempt_ = 0;
    try_lock(env);
    return;
  }
  // The database failed mid-migration: this migration's transaction rolled
  // back; run it again.
  env.emit(MigrationStarted{schema});
  env.after(migration_time_, TimerTag{kMigrationDone, schema});
}

void AppServer::finish_migrations(Env& env) {
  if (lock_held_) {
    send_db(env, spec_.datasource,
            DbLockRelease{std::string(k::kMigrationLockKey), env.self(), lock_clock()}, Call::lock_release, 0);
    lock_held_ = false;
    env.emit(MigrationLockReleased{});
  }
  if (lock_refresh_timer_) env.cancel(*lock_refresh_timer_);
  lock_refresh_timer_.reset();
  start_discovery(env);
}

// ---- start-up: discovery, then serve --------------------------------------------------------

void AppServer::register_discovery(Env& env) {
  // The store validates the row before inserting it (ClusterDiscovery.IsValid,
  // server/public/model/cluster_discovery.go): an empty cluster name is an
  // error the discovery service only logs. The server goes on serving HTTP
  // alone; no peer ever lists it and it lists none (mattermost/mattermost#17762).
  if (spec_.cluster_name.empty()) {
    env.emit(DiscoveryRowRejected{"empty cluster name"});
    if (phase_ == Phase::registering) {
      send_db(env, spec_.datasource,
              DbDiscoveryList{std::string(k::kDiscoveryType), spec_.cluster_name, k::kDiscoveryStaleAfter},
              Call::discovery_list, 0);
    }
    return;
  }
  send_db(env, spec_.datasource,
          DbDiscoveryRegister{DiscoveryRow{instance_id_, std::string(k::kDiscoveryType), spec_.cluster_name,
                                           spec_.name, env.self(), spec_.id, k::kGossipPort, {}, {}}},
          Call::discovery_register, 0);
}

void AppServer::start_discovery(Env& env) {
  phase_ = Phase::registering;
  // Stale rows are cleaned only at start (REFERENCE.md, Cluster discovery).
  send_db(env, spec_.datasource,
          DbDiscoveryCleanStale{std::string(k::kDiscoveryType), spec_.cluster_name, k::kDiscoveryStaleAfter},
          Call::discovery_clean, 0);
}

void AppServer::on_discovery_list(Env& env, const DbReply& reply) {
  if (phase_ != Phase::registering && phase_ != Phase::serving) return;
  if (const DbDiscoveryRows* rows = reply.get<DbDiscoveryRows>(); reply.ok() && rows != nullptr) {
    for (const DiscoveryRow& row : rows->rows) {
      if (row.node == env.self() || row.node == kNoNode) continue;
      const bool known = peers_.count(row.node) != 0;
      Peer& peer = learn_peer(env, row.node, row.server_id);
      if (!known && phase_ == Phase::serving) send_ping(env, peer);
    }
  }
  if (phase_ == Phase::registering) become_serving(env);
}

void AppServer::become_serving(Env& env) {
  FL_ASSERT(phase_ == Phase::registering);
  FL_ASSERT(!lock_held_);
  phase_ = Phase::serving;
  env.emit(ServerServing{spec_.version.str()});
  env.after(k::kDiscoveryRefreshInterval, TimerTag{kDiscoveryRefresh, 0});
  // Gossip: introduce ourselves to every listed peer at once, then periodically.
  for (auto& [node, peer] : peers_) send_ping(env, peer);
  env.after(k::kGossipPingInterval, TimerTag{kGossipTick, 0});
  // Election after a first exchange of pings; then jobs.
  if (election_mode_ == LeaderElection::db_lease) {
    env.after(k::kElectionStartDelay, TimerTag{kLeaseRenew, 0});
  }
  env.after(k::kElectionStartDelay, TimerTag{kElectionStart, 0});
  start_jobs(env);
  handle_edge_serving(env);
}

// ---- sessions ----------------------------------------------------------------------------

void AppServer::cache_session(Env& env, std::uint64_t session) { sessions_[session] = env.now(); }

bool AppServer::session_cached(Env& env, std::uint64_t session) const {
  auto it = sessions_.find(session);
  return it != sessions_.end() && env.now() - it->second < k::kSessionCacheTtl;
}

std::vector<std::uint64_t> AppServer::cached_sessions() const {
  std::vector<std::uint64_t> out;
  for (const auto& [session, at] : sessions_) out.push_back(session);
  return out;
}

void AppServer::revoke_session(Env& env, std::uint64_t session) {
  sessions_.erase(session);
  // Session cache clears are reliable cluster messages (REFERENCE.md).
  broadcast(env, Message{SessionInvalidate{session}}, /*reliable=*/true);
}

std::uint64_t AppServer::session_revoked_by(std::uint64_t session) const {
  // A session created after revocation `after` (session = after << 32 | user)
  // is covered by every later revocation of everyone or of its user.
  const std::uint64_t after = session >> 32;
  std::uint64_t by = revoked_all_;
  if (const auto it = revoked_user_.find(NodeId{static_cast<std::uint32_t>(session & 0xffffffffULL)});
      it != revoked_user_.end())
    by = std::max(by, it->second);
  return after < by ? by : 0;
}

void AppServer::revoke_sessions(Env& env, const ControlOp& op) {
  // The admin's request (value "<revocation> all" or "<revocation> <client id>"):
  // RevokeSessionsFromAllUsers / RevokeAllSessions(user) deletes the session
  // rows, clears this server's cache and sends the clear to every peer, as a
  // reliable cluster message (REFERENCE.md, Sessions and caches).
  if (phase_ != Phase::serving) return;
  const std::size_t space = op.value.find(' ');
  FL_ASSERT_MSG(space != std::string::npos, "session.revoke_sessions takes \"<revocation> <client|all>\"");
  const std::uint64_t revocation = std::strtoull(op.value.c_str(), nullptr, 10);
  const std::string who = op.value.substr(space + 1);
  const NodeId client = who == "all" ? kNoNode : NodeId{static_cast<std::uint32_t>(std::strtoul(who.c_str(), nullptr, 10))};
  FL_ASSERT(revocation > 0);
  env.emit(SessionRevoked{revocation, client});
  apply_revocation(env, revocation, client);
  broadcast(env, Message{SessionsRevoked{revocation, client}}, /*reliable=*/true);
}

void AppServer::apply_revocation(Env& env, std::uint64_t revocation, NodeId client) {
  if (!revocations_applied_.insert(revocation).second) return;  // a resent cluster message
  if (client == kNoNode) revoked_all_ = std::max(revoked_all_, revocation);
  else revoked_user_[client] = std::max(revoked_user_[client], revocation);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (session_revoked_by(it->first) != 0) it = sessions_.erase(it);
    else ++it;
  }
  // The websockets those sessions authenticated: a per-user revocation has
  // invalidated them since PLT-4242 (mattermost/mattermost#4551). Revoking
  // every session cleared the caches only until MM-68543
  // (mattermost/mattermost#36332): each connection kept its cached session
  // and went on receiving events. The planted bug mm_68543 is that.
  std::uint64_t closed = 0;
  if (!(client == kNoNode && bugs_.on(Bug::mm_68543)) && serving()) closed = handle_edge_revocation(env, revocation);
  env.emit(SessionRevocationApplied{revocation, client, closed});
}

void AppServer::describe(StateWriter& out) const {
  static constexpr const char* kPhases[] = {"created",   "connecting",  "checking", "locking", "migrating",
                                            "registering", "serving", "refused",  "stopped"};
  out.field("phase", kPhases[static_cast<std::size_t>(phase_)]);
  out.field("version", spec_.version.str());
  out.field("schema", std::to_string(db_schema_));
  out.field("believed_leader", out.name(leader_));
  out.field("acting_leader", acting_leader_ ? "yes" : "no");
  if (electing_) out.field("electing", "round " + std::to_string(election_round_));
  if (election_mode_ == LeaderElection::db_lease) out.field("lease_held", lease_held_ ? "yes" : "no");
  out.field("migration_lock_held", lock_held_ ? "yes" : "no");
  std::string peers;
  for (const auto& [node, peer] : peers_) {
    static constexpr const char* kStates[] = {"up", "suspect", "down"};
    if (!peers.empty()) peers += ", ";
    peers += out.name(node) + "=" + kStates[static_cast<std::size_t>(peer.state)];
    if (peer.failed_attempts > 0) peers += " (" + std::to_string(peer.failed_attempts) + " failed)";
    if (peer.status_known) peers += peer.green ? " green" : " red";
  }
  out.field("peers", peers.empty() ? "none known" : peers);
  std::string replicas;
  for (const auto& r : replicas_) {
    if (!replicas.empty()) replicas += ", ";
    replicas += out.name(r.node) + (r.online ? "=online" : "=offline");
  }
  if (!replicas.empty()) out.field("read_replicas", replicas);
  if (job_running_) out.field("job_running", running_type_ + " #" + std::to_string(running_job_));
  if (!run_scheduler_) out.field("run_scheduler", "no (JobSettings.RunScheduler false)");
  out.field("db_calls_pending", std::to_string(calls_.size()));
}

}  // namespace fl
