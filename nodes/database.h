// The simulated PostgreSQL: one member (primary or replica) of the database
// cluster, answering the typed operations of base/db.h.
//
// What it keeps true:
//  - Durable data (tables, the write-ahead log, the role) lives in a DbDisk
//    owned outside the node, so it survives a crash of the process; what a
//    session holds in memory (an open serializable transaction, a commit waiting
//    for a sync standby) vanishes with the process.
//  - The log is contiguous: record i has lsn i + 1; a member's tables are the
//    base backup plus records 1..applied_lsn, in order, always.
//  - A replica answers reads only (writes -> read_only). The primary ships each
//    committed record to each replica after a lag drawn per record from the
//    scenario's range (in lsn order); the replica applies it on arrival. So
//    replica reads are stale by the lag, and a crash of the primary loses, for
//    the replicas, every record still within it. A replica reports what it has
//    (WalStatus); the primary resends what it misses.
//  - async acknowledges a commit at the primary; sync when one replica has
//    received it (synchronous_commit = on). A sync primary with no standby
//    streaming holds its commits until one comes (and says so once per stall:
//    SyncCommitsWaiting); with sync_fallback it drops the requirement instead
//    while no standby streams (SyncRequirement), checked every status interval.
//  - Promotion keeps exactly what the replica has, then accepts writes; a member told
//    to follow a new primary from a fork point it is ahead of throws away what
//    it had beyond (pg_rewind) and says so (CommitsLost).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "base/db.h"
#include "base/env.h"
#include "base/message.h"
#include "nodes/spec.h"

namespace fl {

// ---- row images in the write-ahead log ----------------------------------------------
struct LockRow { std::string key; NodeId holder{kNoNode}; Time expire_at{}; };
struct MigrationRow { std::uint32_t schema = 0; NodeId by{kNoNode}; std::uint32_t applied_count = 0; };
struct LeaseRow { std::string name; NodeId holder{kNoNode}; Time expire_at{}; };
struct WalDiscoveryDelete { std::uint64_t id = 0; };
struct WalLockDelete { std::string key; };
struct WalLeaseDelete { std::string name; };

// One committed change (a row put or delete). Immutable once logged.
struct WalWrite {
  std::variant<DiscoveryRow, WalDiscoveryDelete, LockRow, WalLockDelete, MigrationRow, LeaseRow,
               WalLeaseDelete, JobRow, PostRow, ChannelMemberRow>
      change;
};

// The tables of one member.
struct DbTables {
  std::map<std::uint64_t, DiscoveryRow> discovery;  // by row id
  std::map<std::string, LockRow> locks;             // db_lock, by key
  std::map<std::uint32_t, MigrationRow> migrations; // db_migrations, by version
  std::map<std::string, LeaseRow> leases;
  std::map<std::uint64_t, JobRow> jobs;             // by job id
  std::map<std::uint64_t, PostRow> posts;           // by post id (the idempotency key)
  // ChannelMembers (issue 14): the users added to a channel during the run, by
  // (user, channel). The memberships a client starts with are its own
  // (ClientsSpec::channel_masks or its draw) and are not rows here.
  std::map<std::pair<std::uint64_t, std::uint32_t>, ChannelMemberRow> channel_members;

  void apply(const WalWrite& write);
  std::uint32_t schema() const { return migrations.empty() ? 0 : migrations.rbegin()->first; }
};

// What survives a crash of a database member.
struct DbDisk {
  DbRole role = DbRole::primary;
  NodeId upstream{kNoNode};  // the primary a replica follows
  DbTables base;             // the base backup (state at lsn 0)
  DbTables tables;           // base + log[0 .. applied_lsn)
  std::vector<WalRecord> log;  // received (replica) or committed (primary) records
  std::uint64_t applied_lsn = 0;
  bool clean_shutdown = true;

  std::uint64_t last_lsn() const { return log.size(); }
  // A fresh database at `schema` (every minor version up to it applied).
  static DbDisk initial(DbRole role, NodeId upstream, std::uint32_t schema);
};

struct DatabaseConfig {
  std::vector<NodeId> members;  // every database member, this one included
  std::vector<std::string> member_names;  // their host names (same order): primary_conninfo
  Replication replication = Replication::async;
  DurationRange replication_lag{};
  bool sync_fallback = false;  // DatabaseSpec::sync_fallback
  // How long the WAL flush of a commit takes before it is acknowledged, drawn
  // per commit (a slow disk: DatabaseSpec::commit_latency). {0, 0}: at once,
  // with no draw (the kind default of every library scenario).
  DurationRange commit_latency{};
};

class Database : public Node {
 public:
  Database(DbDisk& disk, DatabaseConfig config);

  void on_start(Env& env) override;
  void on_message(Env& env, NodeId from, const Message& message) override;
  void on_timer(Env& env, TimerId id, TimerTag tag) override;
  void on_db_request(Env& env, NodeId from, RequestId id, const DbRequest& request) override;
  void on_stop(Env& env) override;
  // set_spec keys: "promote"; "follow" (a member's name: the operator re-points
  // this replica at a new primary after a manual failover; no rewind);
  // "report_contents" (PostPresent for every post held); "replication_lag" (a
  // range, "" = back to the scenario's; on the primary: it ships with that lag).
  void on_control(Env& env, const ControlOp& op) override;
  // replay --dump-state: role, log and applied positions, upstream, replicas.
  void describe(StateWriter& out) const override;

  const DbDisk& disk() const { return disk_; }

 private:
  enum TimerKind : std::uint32_t { kShip = 1, kTxnCommit, kStatus, kHold, kFlushed };
  struct Txn {  // an open SERIALIZABLE create-once transaction
    NodeId from{kNoNode};
    RequestId id{};
    std::string type;
    std::uint64_t read_version = 0;
    bool exists = false;
  };
  struct SyncWaiter {  // a commit waiting for a standby (sync replication)
    std::uint64_t lsn = 0;
    NodeId from{kNoNode};
    RequestId id{};
    DbReply reply;
    Time since{};  // local time it began to wait
  };

  // Appends a committed write: applies it, logs it, streams it. Returns its lsn.
  std::uint64_t commit(Env& env, WalWrite write);
  void answer(Env& env, NodeId from, RequestId id, DbReply reply, std::uint64_t lsn);
  // answer() once the commit's flush is done (at once without commit_latency).
  void answer_flushed(Env& env, NodeId from, RequestId id, DbReply reply, std::uint64_t lsn);
  void release_sync_waiters(Env& env);
  // primary, sync: standbys that reported within wal_sender_timeout.
  std::uint32_t streaming_standbys(Time now) const;
  // primary, sync, every status interval: the stall report and the fallback.
  void check_sync_standbys(Env& env);
  void stream(Env& env, const WalRecord& record, NodeId to);
  void ship_due(Env& env, std::size_t index);
  void receive(Env& env, NodeId from, const WalRecord& record);
  void accept(Env& env, const WalRecord& record);
  void release_held(Env& env);
  void append(Env& env, const WalRecord& record);
  void send_status(Env& env, bool resend);
  void promote(Env& env);
  void follow(Env& env, NodeId primary, std::uint64_t fork_lsn);
  void rebuild_tables(std::uint64_t upto);
  std::uint64_t& type_version(const std::string& type) { return type_versions_[type]; }
  void handle(Env& env, NodeId from, RequestId id, const DbOp& op);
  std::uint64_t next_job_id() const;

  DbDisk& disk_;
  DatabaseConfig config_;
  DurationRange lag_{};
  // primary: what each replica reported (received lsn)
  std::map<NodeId, std::uint64_t> replica_received_;
  std::map<NodeId, Time> replica_status_at_;  // primary: local time of each one's last WalStatus
  std::vector<SyncWaiter> sync_waiters_;
  bool sync_required_ = true;   // false while sync_fallback has dropped it
  bool stall_reported_ = false; // SyncCommitsWaiting emitted for the current waiters
  std::map<std::uint64_t, Txn> txns_;
  struct Flushing {  // a commit whose acknowledgement waits out commit_latency
    NodeId from{kNoNode};
    RequestId id{};
    DbReply reply;
    std::uint64_t lsn = 0;
  };
  std::map<std::uint64_t, Flushing> flushing_;
  std::uint64_t next_flush_ = 1;
  std::uint64_t next_txn_ = 1;
  std::map<std::string, std::uint64_t> type_versions_;  // bumped by each create-once commit of a type
  // primary: per member (index of config_.members), records waiting out the
  // replication lag before they are shipped (lost with the process)
  struct Outgoing {
    std::deque<std::pair<Time, WalRecord>> queue;  // (local ship time, record), in lsn order
    Time last_at{};
    bool timer_armed = false;
  };
  std::vector<Outgoing> outgoing_;
  // replica: records that arrived after a gap; records held by a replica_lag
  // fault (in memory: not received yet)
  std::map<std::uint64_t, WalRecord> out_of_order_;
  DurationRange extra_lag_{};
  std::deque<std::pair<Time, WalRecord>> held_;
  bool hold_timer_armed_ = false;
};

}  // namespace fl
