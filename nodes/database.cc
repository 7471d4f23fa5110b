// The simulated PostgreSQL member (see database.h for what it keeps true).
#include "nodes/database.h"

#include <algorithm>
#include <optional>
#include <type_traits>

#include "base/assert.h"

namespace fl {

namespace {
template <class... Ts> struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> Overloaded(Ts...) -> Overloaded<Ts...>;

// PostgreSQL's wal_sender_timeout default: the primary drops a standby's
// connection after this long without a status from it; until then the standby
// counts as streaming (pg_stat_replication lists it).
constexpr Duration kWalSenderTimeout = seconds(60);
static_assert(kWalSenderTimeout > k::kWalStatusInterval, "a streaming standby reports within the timeout");

bool job_active(const JobRow& job) {
  return job.status == JobStatus::pending || job.status == JobStatus::in_progress;
}
}  // namespace

// ---- tables -------------------------------------------------------------------------------

void DbTables::apply(const WalWrite& write) {
  std::visit(Overloaded{
                 [&](const DiscoveryRow& r) { discovery[r.id] = r; },
                 [&](const WalDiscoveryDelete& d) { discovery.erase(d.id); },
                 [&](const LockRow& r) { locks[r.key] = r; },
                 [&](const WalLockDelete& d) { locks.erase(d.key); },
                 [&](const MigrationRow& r) { migrations[r.schema] = r; },
                 [&](const LeaseRow& r) { leases[r.name] = r; },
                 [&](const WalLeaseDelete& d) { leases.erase(d.name); },
                 [&](const JobRow& r) { jobs[r.id] = r; },
                 [&](const PostRow& r) { posts[r.post] = r; },
                 [&](const ChannelMemberRow& r) { channel_members[{r.user, r.channel}] = r; },
             },
             write.change);
}

DbDisk DbDisk::initial(DbRole role, NodeId upstream, std::uint32_t schema) {
  DbDisk disk;
  disk.role = role;
  disk.upstream = upstream;
  // The cluster was already running at `schema`: its version row is there (the
  // earlier ones are not needed: only the highest is ever read).
  if (schema > 0) disk.base.migrations[schema] = MigrationRow{schema, kNoNode, 1};
  disk.tables = disk.base;
  FL_ASSERT(disk.tables.schema() == schema);
  return disk;
}

// ---- node -----------------------------------------------------------------------------------

Database::Database(DbDisk& disk, DatabaseConfig config) : disk_(disk), config_(std::move(config)) {
  lag_ = config_.replication_lag;
  outgoing_.resize(config_.members.size());
  FL_ASSERT(lag_.lo <= lag_.hi);
  FL_ASSERT(disk_.applied_lsn <= disk_.last_lsn());
}

void Database::on_start(Env& env) {
  // DbCrashed is the harness's to emit, at the crash (a process cannot); the
  // flag only records that this start is a crash recovery.
  disk_.clean_shutdown = false;
  // Crash recovery replays the log: what is in it is applied.
  if (disk_.applied_lsn < disk_.last_lsn()) rebuild_tables(disk_.last_lsn());
  if (disk_.role == DbRole::replica) send_status(env, /*resend=*/true);
  env.after(k::kWalStatusInterval, TimerTag{kStatus, 0});
}

void Database::on_stop(Env& env) {
  (void)env;
  disk_.clean_shutdown = true;
}

void Database::on_control(Env& env, const ControlOp& op) {
  if (op.kind != ControlOp::Kind::set_spec) return;
  if (op.key == "promote") {
    if (disk_.role == DbRole::replica) promote(env);
  } else if (op.key == "follow") {
    for (std::size_t i = 0; i < config_.member_names.size() && i < config_.members.size(); ++i) {
      if (config_.member_names[i] == op.value) follow(env, config_.members[i], disk_.last_lsn());
    }
  } else if (op.key == "report_contents") {
    for (const auto& [post, row] : disk_.tables.posts) env.emit(PostPresent{post});
  } else if (op.key == "replication_lag") {
    // On the primary: the lag it ships with ("" = the scenario's). On a
    // replica (the replica_lag fault): extra lag before it takes records in
    // ("" = none).
    std::optional<DurationRange> range;
    if (!op.value.empty()) {
      std::string error;
      range = parse_duration_range(op.value, &error);
      if (!range) return;  // the loader validated it; a bad value changes nothing
    }
    if (disk_.role == DbRole::primary) {
      lag_ = range ? *range : config_.replication_lag;
    } else {
      extra_lag_ = range ? *range : DurationRange{};
    }
  }
}

void Database::on_timer(Env& env, TimerId id, TimerTag tag) {
  (void)id;
  switch (static_cast<TimerKind>(tag.kind)) {
    case kShip: ship_due(env, tag.arg); return;
    case kHold: release_held(env); return;
    case kStatus:
      // wal_receiver_status_interval: also how a replica that missed records
      // (a partition, a restart) gets them again.
      send_status(env, /*resend=*/true);
      if (disk_.role == DbRole::primary && config_.replication == Replication::sync) check_sync_standbys(env);
      env.after(k::kWalStatusInterval, TimerTag{kStatus, 0});
      return;
    case kFlushed: {
      auto it = flushing_.find(tag.arg);
      if (it == flushing_.end()) return;  // its session ended (demoted)
      Flushing f = std::move(it->second);
      flushing_.erase(it);
      answer_flushed(env, f.from, f.id, std::move(f.reply), f.lsn);
      return;
    }
    case kTxnCommit: {
      auto it = txns_.find(tag.arg);
      if (it == txns_.end()) return;
      const Txn txn = it->second;
      txns_.erase(it);
      DbReply reply;
      if (disk_.role != DbRole::primary) {
        reply.status = DbStatus::connection_refused;  // demoted: sessions terminated
        answer(env, txn.from, txn.id, reply, 0);
        return;
      }
      if (type_version(txn.type) != txn.read_version) {
        // A concurrent transaction wrote a job of this type since our read.
        reply.status = DbStatus::serialization_failure;
        answer(env, txn.from, txn.id, reply, 0);
        return;
      }
      if (txn.exists) {
        reply.result = DbJobCreated{false, 0};
        answer(env, txn.from, txn.id, reply, 0);
        return;
      }
      JobRow job{next_job_id(), txn.type, JobStatus::pending, kNoNode, env.now()};
      const std::uint64_t lsn = commit(env, WalWrite{job});
      // Only serializable transactions conflict with one another (PostgreSQL's
      // SSI tracks no others): claims, status updates and plain inserts run at
      // READ COMMITTED and never abort a create-once. (Found by
      // tests/live/db_diff_test.cc: the model aborted one beside a claim.)
      ++type_version(txn.type);
      reply.result = DbJobCreated{true, job.id};
      answer(env, txn.from, txn.id, reply, lsn);
      return;
    }
  }
  FL_UNREACHABLE();
}

void Database::on_message(Env& env, NodeId from, const Message& message) {
  if (const auto* record = message.get<WalRecord>()) {
    receive(env, from, *record);
    return;
  }
  if (const auto* status = message.get<WalStatus>()) {
    if (disk_.role != DbRole::primary) return;
    replica_received_[from] = status->received_lsn;
    replica_status_at_[from] = env.now();
    release_sync_waiters(env);
    // Resend what it misses of what was already shipped (the rest is still
    // waiting out the lag, or this member never shipped it: a new primary).
    auto member = std::find(config_.members.begin(), config_.members.end(), from);
    if (!status->resend || member == config_.members.end()) return;
    Outgoing& out = outgoing_[static_cast<std::size_t>(member - config_.members.begin())];
    const std::uint64_t upto = out.queue.empty() ? disk_.last_lsn() : out.queue.front().second.lsn - 1;
    for (std::uint64_t lsn = status->received_lsn + 1; lsn <= upto; ++lsn) {
      stream(env, disk_.log[lsn - 1], from);
    }
  }
}

void Database::on_db_request(Env& env, NodeId from, RequestId id, const DbRequest& request) {
  if (disk_.role == DbRole::replica && db_op_writes(request.op)) {
    DbReply reply;
    reply.status = DbStatus::read_only;
    env.db_reply(from, id, reply);
    return;
  }
  handle(env, from, id, request.op);
}

std::uint64_t Database::next_job_id() const {
  return disk_.tables.jobs.empty() ? 1 : disk_.tables.jobs.rbegin()->first + 1;
}

void Database::handle(Env& env, NodeId from, RequestId id, const DbOp& op) {
  DbTables& t = disk_.tables;
  const Time now = env.now();  // the database's own clock
  DbReply reply;
  std::uint64_t lsn = 0;  // the last record this request committed (0: none)
  bool deferred = false;  // answered later (an open transaction)
  std::visit(
      Overloaded{
          [&](const DbPing&) { reply.result = DbPong{}; },
          [&](const DbDiscoveryRegister& r) {
            std::vector<std::uint64_t> old;
            for (const auto& [rid, row] : t.discovery) {
              if (row.type == r.row.type && row.cluster == r.row.cluster && row.hostname == r.row.hostname) {
                old.push_back(rid);
              }
            }
            // The row id is the primary key: another host's row with the same id
            // fails the INSERT (23505) and the transaction, deletes and all.
            // (Found by tests/live/db_diff_test.cc; ids are random per start, so
            // only a collision gets here.)
            auto same_id = t.discovery.find(r.row.id);
            if (same_id != t.discovery.end() && std::find(old.begin(), old.end(), r.row.id) == old.end()) {
              reply.status = DbStatus::conflict;
              return;
            }
            for (std::uint64_t rid : old) lsn = commit(env, WalWrite{WalDiscoveryDelete{rid}});
            DiscoveryRow row = r.row;
            row.create_at = now;
            row.last_ping_at = now;
            lsn = commit(env, WalWrite{row});
            reply.result = DbOk{};
          },
          [&](const DbDiscoveryRefresh& r) {
            auto it = t.discovery.find(r.id);
            if (it == t.discovery.end()) {
              reply.status = DbStatus::conflict;
              return;
            }
            DiscoveryRow row = it->second;
            row.last_ping_at = now;
            lsn = commit(env, WalWrite{row});
            reply.result = DbOk{};
          },
          [&](const DbDiscoveryDelete& r) {
            if (t.discovery.count(r.id)) lsn = commit(env, WalWrite{WalDiscoveryDelete{r.id}});
            reply.result = DbOk{};
          },
          [&](const DbDiscoveryCleanStale& r) {
            std::vector<std::uint64_t> stale;
            for (const auto& [rid, row] : t.discovery) {
              if (row.type == r.type && row.cluster == r.cluster && row.last_ping_at < now - r.stale_after) {
                stale.push_back(rid);
              }
            }
            for (std::uint64_t rid : stale) lsn = commit(env, WalWrite{WalDiscoveryDelete{rid}});
            reply.result = DbOk{};
          },
          [&](const DbDiscoveryList& r) {
            DbDiscoveryRows rows;
            for (const auto& [rid, row] : t.discovery) {
              if (row.type == r.type && row.cluster == r.cluster && row.last_ping_at >= now - r.alive_within) {
                rows.rows.push_back(row);
              }
            }
            reply.result = std::move(rows);
          },
          [&](const DbLockAcquire& r) {
            // morph: "now" is the value the app server sent, in its own clock.
            const Time judge = r.clock == LockClock::client ? r.client_now : now;
            auto it = t.locks.find(r.key);
            DbLockResult result;
            if (it == t.locks.end() || judge >= it->second.expire_at) {
              result.acquired = true;
              result.took_over = it != t.locks.end();
              result.expire_at = judge + r.ttl;
              lsn = commit(env, WalWrite{LockRow{r.key, r.holder, result.expire_at}});
            } else {
              result.expire_at = it->second.expire_at;
            }
            reply.result = result;
          },
          [&](const DbLockRefresh& r) {
            auto it = t.locks.find(r.key);
            if (r.clock == LockClock::client) {
              // UPDATE db_lock SET expireat WHERE id = key: no holder to check.
              if (it == t.locks.end()) {
                reply.status = DbStatus::conflict;
                return;
              }
              LockRow row = it->second;
              row.expire_at = r.client_now + r.ttl;
              lsn = commit(env, WalWrite{row});
              reply.result = DbLockResult{true, false, row.expire_at};
              return;
            }
            if (it == t.locks.end() || it->second.holder != r.holder || now >= it->second.expire_at) {
              reply.status = DbStatus::conflict;
              return;
            }
            LockRow row = it->second;
            row.expire_at = now + r.ttl;
            lsn = commit(env, WalWrite{row});
            reply.result = DbLockResult{true, false, row.expire_at};
          },
          [&](const DbLockRelease& r) {
            auto it = t.locks.find(r.key);
            // morph deletes by key, whoever holds it now; db_clock checks the holder.
            if (it != t.locks.end() && (r.clock == LockClock::client || it->second.holder == r.holder)) {
              lsn = commit(env, WalWrite{WalLockDelete{r.key}});
            }
            reply.result = DbOk{};
          },
          [&](const DbSchemaRead&) { reply.result = DbSchema{t.schema()}; },
          [&](const DbMigrationApply& r) {
            if (r.fenced && r.clock == LockClock::database) {
              auto lock = t.locks.find(std::string(k::kMigrationLockKey));
              if (lock == t.locks.end() || lock->second.holder != r.by || now >= lock->second.expire_at) {
                reply.status = DbStatus::conflict;
                return;
              }
            }
            auto it = t.migrations.find(r.schema);
            const bool already = it != t.migrations.end();
            MigrationRow row = already ? it->second : MigrationRow{r.schema, r.by, 0};
            ++row.applied_count;
            lsn = commit(env, WalWrite{row});
            reply.result = DbMigrationResult{already};
          },
          [&](const DbLeaseAcquire& r) {
            auto it = t.leases.find(r.name);
            DbLeaseResult result;
            if (it == t.leases.end() || now >= it->second.expire_at || it->second.holder == r.holder) {
              result = DbLeaseResult{true, r.holder, now + r.ttl};
              lsn = commit(env, WalWrite{LeaseRow{r.name, r.holder, result.expire_at}});
            } else {
              result = DbLeaseResult{false, it->second.holder, it->second.expire_at};
            }
            reply.result = result;
          },
          [&](const DbLeaseRelease& r) {
            auto it = t.leases.find(r.name);
            if (it != t.leases.end() && it->second.holder == r.holder) {
              lsn = commit(env, WalWrite{WalLeaseDelete{r.name}});
            }
            reply.result = DbOk{};
          },
          [&](const DbJobCreate& r) {
            if (!r.once) {
              JobRow job{next_job_id(), r.type, JobStatus::pending, kNoNode, now};
              lsn = commit(env, WalWrite{job});
              reply.result = DbJobCreated{true, job.id};
              return;
            }
            // SERIALIZABLE: read now, commit after the transaction's time; a
            // concurrent write to a job of this type in between aborts it.
            Txn txn{from, id, r.type, type_version(r.type), false};
            for (const auto& [jid, job] : t.jobs) {
              if (job.type == r.type && job_active(job)) txn.exists = true;
            }
            const std::uint64_t tid = next_txn_++;
            txns_.emplace(tid, std::move(txn));
            env.after(k::kSerializableTxnTime, TimerTag{kTxnCommit, tid});
            deferred = true;
          },
          [&](const DbJobListPending&) {
            DbJobs jobs;
            for (const auto& [jid, job] : t.jobs) {
              if (job.status == JobStatus::pending) jobs.jobs.push_back(job);
            }
            reply.result = std::move(jobs);
          },
          [&](const DbJobClaim& r) {
            auto it = t.jobs.find(r.job);
            if (it == t.jobs.end() || it->second.status != JobStatus::pending) {
              reply.status = DbStatus::conflict;  // no row changed: the CAS lost
              return;
            }
            JobRow job = it->second;
            job.status = JobStatus::in_progress;
            job.worker = r.worker;
            lsn = commit(env, WalWrite{job});
            reply.result = DbOk{};
          },
          [&](const DbJobSetStatus& r) {
            auto it = t.jobs.find(r.job);
            if (it == t.jobs.end()) {
              reply.status = DbStatus::conflict;
              return;
            }
            JobRow job = it->second;
            job.status = r.status;
            job.worker = r.worker;
            lsn = commit(env, WalWrite{job});
            reply.result = DbOk{};
          },
          [&](const DbPostInsert& r) {
            auto it = t.posts.find(r.row.post);
            if (it != t.posts.end()) {
              reply.result = DbPostResult{it->second.lsn, true};  // a retry: same commit
              lsn = it->second.lsn;
              return;
            }
            PostRow row = r.row;
            row.lsn = disk_.last_lsn() + 1;
            lsn = commit(env, WalWrite{row});
            FL_ASSERT(lsn == row.lsn);
            env.emit(PostCommitted{row.post, row.channel, lsn});
            reply.result = DbPostResult{lsn, false};
          },
          [&](const DbPostsSince& r) {
            DbPosts posts;
            for (const auto& [pid, row] : t.posts) {
              if (row.channel < 64 && ((r.channel_mask >> row.channel) & 1U) != 0 && row.create_at >= r.since) {
                posts.posts.push_back(row);
              }
            }
            std::sort(posts.posts.begin(), posts.posts.end(),
                      [](const PostRow& a, const PostRow& b) { return a.lsn < b.lsn; });
            reply.result = std::move(posts);
          },
          [&](const DbChannelMemberInsert& r) {
            // Idempotent by (user, channel): a retry is the same membership.
            const auto it = t.channel_members.find({r.row.user, r.row.channel});
            if (it != t.channel_members.end()) {
              lsn = it->second.lsn;
              reply.result = DbOk{};
              return;
            }
            ChannelMemberRow row = r.row;
            row.lsn = disk_.last_lsn() + 1;
            lsn = commit(env, WalWrite{row});
            FL_ASSERT(lsn == row.lsn);
            env.emit(MembershipChanged{NodeId{static_cast<std::uint32_t>(row.user)}, row.channel, lsn});
            reply.result = DbOk{};
          },
          [&](const DbChannelMembersOf& r) {
            DbChannelMask mask;
            for (auto it = t.channel_members.lower_bound({r.user, 0});
                 it != t.channel_members.end() && it->first.first == r.user; ++it)
              if (it->second.channel < 64) mask.mask |= 1ULL << it->second.channel;
            reply.result = mask;
          },
          [&](const DbStatusProbe&) {
            // Writes and deletes a row: nothing remains, but it needs the primary.
            reply.result = DbOk{};
          },
          [&](const DbMemberStatus&) {
            reply.result = DbMemberState{disk_.role, disk_.last_lsn(), disk_.applied_lsn};
          },
          [&](const DbPromote&) {
            if (disk_.role == DbRole::replica) promote(env);
            reply.result = DbPromoted{disk_.last_lsn()};
          },
          [&](const DbFollow& r) {
            follow(env, r.primary, r.fork_lsn);
            reply.result = DbOk{};
          },
      },
      op);
  if (deferred) return;  // the transaction answers at its commit
  const std::uint64_t wait_for = reply.status == DbStatus::ok ? lsn : 0;
  answer(env, from, id, std::move(reply), wait_for);
}

// ---- commits and replication ------------------------------------------------------------------

std::uint64_t Database::commit(Env& env, WalWrite write) {
  FL_ASSERT(disk_.role == DbRole::primary);
  FL_ASSERT(disk_.applied_lsn == disk_.last_lsn());
  WalRecord record{disk_.last_lsn() + 1, std::make_shared<const WalWrite>(std::move(write))};
  disk_.tables.apply(*record.write);
  disk_.log.push_back(record);
  disk_.applied_lsn = record.lsn;
  FL_ASSERT(disk_.log.size() == record.lsn);
  // The WAL sender ships the record to each replica after the replication lag
  // (drawn per record and replica, kept in order): until then it exists only
  // here, and a crash of this process loses it for the replicas.
  for (std::size_t i = 0; i < config_.members.size(); ++i) {
    const NodeId member = config_.members[i];
    if (member == env.self()) continue;
    Outgoing& out = outgoing_[i];
    Time at = env.now() + env.rng().duration(lag_);
    if (at < out.last_at) at = out.last_at;
    out.last_at = at;
    out.queue.emplace_back(at, record);
    if (!out.timer_armed) {
      env.after(at - env.now(), TimerTag{kShip, i});
      out.timer_armed = true;
    }
  }
  return record.lsn;
}

void Database::stream(Env& env, const WalRecord& record, NodeId to) {
  FL_ASSERT(record.lsn >= 1 && record.write != nullptr);
  env.send(to, Message{record});
}

void Database::answer(Env& env, NodeId from, RequestId id, DbReply reply, std::uint64_t lsn) {
  if (lsn > 0 && config_.commit_latency.hi.count() > 0) {
    // The record is in the log and visible; the acknowledgement waits for the
    // flush (a crash meanwhile refuses the session: the client cannot tell
    // whether it committed, as with a real PostgreSQL).
    const std::uint64_t key = next_flush_++;
    flushing_.emplace(key, Flushing{from, id, std::move(reply), lsn});
    env.after(env.rng().duration(config_.commit_latency), TimerTag{kFlushed, key});
    return;
  }
  answer_flushed(env, from, id, std::move(reply), lsn);
}

void Database::answer_flushed(Env& env, NodeId from, RequestId id, DbReply reply, std::uint64_t lsn) {
  if (config_.replication == Replication::sync && lsn > 0 && disk_.role == DbRole::primary && sync_required_) {
    std::uint64_t best = 0;
    for (const auto& [member, received] : replica_received_) best = std::max(best, received);
    if (best < lsn) {
      // synchronous_commit: the commit is durable here, the answer waits for a
      // standby (forever, if none comes: the client's query times out).
      sync_waiters_.push_back(SyncWaiter{lsn, from, id, std::move(reply), env.now()});
      return;
    }
  }
  env.db_reply(from, id, reply);
}

void Database::release_sync_waiters(Env& env) {
  std::uint64_t best = 0;
  for (const auto& [member, received] : replica_received_) best = std::max(best, received);
  std::vector<SyncWaiter> still;
  for (SyncWaiter& w : sync_waiters_) {
    if (w.lsn <= best) {
      env.db_reply(w.from, w.id, w.reply);
    } else {
      still.push_back(std::move(w));
    }
  }
  sync_waiters_ = std::move(still);
  if (sync_waiters_.empty()) stall_reported_ = false;
}

std::uint32_t Database::streaming_standbys(Time now) const {
  std::uint32_t n = 0;
  for (const auto& [member, at] : replica_status_at_) n += now - at < kWalSenderTimeout ? 1 : 0;
  return n;
}

void Database::check_sync_standbys(Env& env) {
  FL_ASSERT(disk_.role == DbRole::primary);
  FL_ASSERT(config_.replication == Replication::sync);
  const Time now = env.now();
  const std::uint32_t standbys = streaming_standbys(now);
  if (config_.sync_fallback) {
    // Patroni's synchronous_mode without synchronous_mode_strict: its loop
    // (loop_wait 10 s, the same cadence as this check) clears
    // synchronous_standby_names when no standby streams, which releases the
    // waiting commits, and sets it again once one streams. While it is
    // cleared, commits are acknowledged at the primary alone: a crash then
    // loses them, exactly as under async (docs/model.md).
    if (standbys == 0 && sync_required_) {
      sync_required_ = false;
      env.emit(SyncRequirement{false, 0});
      for (const SyncWaiter& w : sync_waiters_) env.db_reply(w.from, w.id, w.reply);
      sync_waiters_.clear();
      stall_reported_ = false;
    } else if (standbys > 0 && !sync_required_) {
      sync_required_ = true;
      env.emit(SyncRequirement{true, standbys});
    }
  }
  // Why writes stopped: commits held a whole interval with no standby to take
  // them (PostgreSQL waits forever; the app server's query times out first).
  if (standbys == 0 && !sync_waiters_.empty() && !stall_reported_ &&
      now - sync_waiters_.front().since >= k::kWalStatusInterval) {
    stall_reported_ = true;
    env.emit(SyncCommitsWaiting{sync_waiters_.size(), sync_waiters_.front().lsn});
  }
}

void Database::ship_due(Env& env, std::size_t index) {
  FL_ASSERT(index < outgoing_.size());
  Outgoing& out = outgoing_[index];
  out.timer_armed = false;
  const Time now = env.now();
  while (!out.queue.empty() && out.queue.front().first <= now) {
    if (disk_.role == DbRole::primary) stream(env, out.queue.front().second, config_.members[index]);
    out.queue.pop_front();
  }
  if (!out.queue.empty()) {
    env.after(out.queue.front().first - now, TimerTag{kShip, index});
    out.timer_armed = true;
  }
}

void Database::receive(Env& env, NodeId from, const WalRecord& record) {
  if (disk_.role != DbRole::replica || from != disk_.upstream) return;  // not our primary
  const std::uint64_t seen = held_.empty() ? disk_.last_lsn() : held_.back().second.lsn;
  if (record.lsn <= seen) return;  // a duplicate
  if (record.lsn > seen + 1) {
    // A gap (records lost to a partition or a restart): keep it, ask for the rest.
    const bool first_gap = out_of_order_.empty();
    out_of_order_.emplace(record.lsn, record);
    if (first_gap) send_status(env, /*resend=*/true);
    return;
  }
  accept(env, record);
  while (!out_of_order_.empty()) {
    const std::uint64_t next = (held_.empty() ? disk_.last_lsn() : held_.back().second.lsn) + 1;
    if (out_of_order_.begin()->first > next) break;
    auto node = out_of_order_.extract(out_of_order_.begin());
    if (node.key() == next) accept(env, node.mapped());
  }
}

void Database::accept(Env& env, const WalRecord& record) {
  if (extra_lag_.hi.count() == 0 && held_.empty()) {
    append(env, record);
    return;
  }
  // A replica_lag fault: this replica is slow to take records in (held in
  // memory, in order; not received until then).
  Time at = env.now() + env.rng().duration(extra_lag_);
  if (!held_.empty() && at < held_.back().first) at = held_.back().first;
  held_.emplace_back(at, record);
  if (!hold_timer_armed_) {
    env.after(held_.front().first - env.now(), TimerTag{kHold, 0});
    hold_timer_armed_ = true;
  }
}

void Database::release_held(Env& env) {
  hold_timer_armed_ = false;
  const Time now = env.now();
  while (!held_.empty() && held_.front().first <= now) {
    const WalRecord record = held_.front().second;
    held_.pop_front();
    if (record.lsn == disk_.last_lsn() + 1) append(env, record);
  }
  if (!held_.empty()) {
    Duration wait = held_.front().first - now;
    if (wait.count() < 0) wait = Duration{0};
    env.after(wait, TimerTag{kHold, 0});
    hold_timer_armed_ = true;
  }
}

void Database::append(Env& env, const WalRecord& record) {
  FL_ASSERT(record.lsn == disk_.last_lsn() + 1);
  FL_ASSERT(disk_.applied_lsn == disk_.last_lsn());
  disk_.log.push_back(record);
  disk_.tables.apply(*record.write);
  disk_.applied_lsn = record.lsn;
  env.emit(ReplicaApplied{record.lsn});
  if (config_.replication == Replication::sync) send_status(env, /*resend=*/false);  // flush feedback
}

void Database::send_status(Env& env, bool resend) {
  if (disk_.role != DbRole::replica || disk_.upstream == kNoNode) return;
  env.send(disk_.upstream, Message{WalStatus{disk_.last_lsn(), disk_.applied_lsn, resend}});
}

void Database::promote(Env& env) {
  FL_ASSERT(disk_.role == DbRole::replica);
  // What had not reached this replica yet (still in the old primary's lag, or
  // held by a replica_lag fault) never will.
  out_of_order_.clear();
  held_.clear();
  disk_.role = DbRole::primary;
  disk_.upstream = kNoNode;
  replica_received_.clear();
  replica_status_at_.clear();
  // The configuration it starts from requires a synchronous standby again
  // (synchronous_standby_names); the fallback, if on, drops it at its check.
  sync_required_ = true;
  FL_ASSERT(sync_waiters_.empty());
  FL_ASSERT(disk_.applied_lsn == disk_.last_lsn());
  env.emit(Promoted{disk_.last_lsn()});
}

void Database::rebuild_tables(std::uint64_t upto) {
  FL_ASSERT(upto <= disk_.log.size());
  disk_.tables = disk_.base;
  for (std::uint64_t i = 0; i < upto; ++i) disk_.tables.apply(*disk_.log[i].write);
  disk_.applied_lsn = upto;
}

void Database::follow(Env& env, NodeId primary, std::uint64_t fork_lsn) {
  if (primary == env.self()) return;
  // Told again (the controller repeats until it hears back): already following.
  if (disk_.role == DbRole::replica && disk_.upstream == primary) return;
  // Sessions of a deposed primary end: whatever waited is refused.
  DbReply refused;
  refused.status = DbStatus::connection_refused;
  for (const SyncWaiter& w : sync_waiters_) env.db_reply(w.from, w.id, refused);
  sync_waiters_.clear();
  stall_reported_ = false;
  for (const auto& [tid, txn] : txns_) env.db_reply(txn.from, txn.id, refused);
  txns_.clear();
  for (const auto& [key, f] : flushing_) env.db_reply(f.from, f.id, refused);
  flushing_.clear();
  disk_.role = DbRole::replica;
  disk_.upstream = primary;
  if (disk_.last_lsn() > fork_lsn) {
    // pg_rewind: what this member had beyond the fork never reached the new
    // primary; it is gone for good.
    const std::uint64_t last = disk_.last_lsn();
    env.emit(CommitsLost{fork_lsn + 1, last, last - fork_lsn});
    disk_.log.resize(fork_lsn);
    if (disk_.applied_lsn > fork_lsn) rebuild_tables(fork_lsn);
  }
  out_of_order_.clear();
  held_.clear();
  for (Outgoing& out : outgoing_) out.queue.clear();  // a replica ships nothing
  FL_ASSERT(disk_.applied_lsn == disk_.last_lsn());
  send_status(env, /*resend=*/true);
}


void Database::describe(StateWriter& out) const {
  out.field("role", disk_.role == DbRole::primary ? "primary" : "replica");
  out.field("last_lsn", std::to_string(disk_.last_lsn()));
  out.field("applied_lsn", std::to_string(disk_.applied_lsn));
  if (disk_.role == DbRole::replica) out.field("upstream", out.name(disk_.upstream));
  std::string replicas;
  for (const auto& [node, lsn] : replica_received_) {
    if (!replicas.empty()) replicas += ", ";
    replicas += out.name(node) + "=" + std::to_string(lsn);
  }
  if (!replicas.empty()) out.field("replicas_received", replicas);
  if (!sync_waiters_.empty()) out.field("sync_commits_waiting", std::to_string(sync_waiters_.size()));
  if (!txns_.empty()) out.field("open_transactions", std::to_string(txns_.size()));
  if (!flushing_.empty()) out.field("commits_flushing", std::to_string(flushing_.size()));
  out.field("schema", std::to_string(disk_.tables.schema()));
  out.field("posts", std::to_string(disk_.tables.posts.size()));
}

}  // namespace fl
