// Typed database operations (never SQL text). In simulation a model of
// PostgreSQL answers them (nodes/database); live, each maps to SQL on a real
// server through libpq. Owned by nodes/ (app server and database).
//
// Every operation names the table it touches in its comment, with the real
// statement it stands for where REFERENCE.md has one. Times stamped by the
// database (discovery rows, lease expiry, db_clock locks) are in the database
// member's own clock; times sent by an app server (morph lock expiry, a post's
// create_at) are in that server's clock: the difference is the point.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/ids.h"
#include "base/time.h"

namespace fl {

// Where a request goes: the cluster endpoint (moved by automatic failover), or
// one named database member (a DataSource pointing at a host, or a replica read).
struct DbTarget {
  bool endpoint = true;
  NodeId node{kNoNode};
  static DbTarget cluster_endpoint() { return {true, kNoNode}; }
  static DbTarget member(NodeId n) { return {false, n}; }
  friend bool operator==(const DbTarget&, const DbTarget&) = default;
};

// ---- rows ------------------------------------------------------------------------
// ClusterDiscovery (REFERENCE.md, Cluster discovery). `server_id` is the model's
// addition: the numeric id the bully election compares (the seed's "node ID").
struct DiscoveryRow {
  std::uint64_t id = 0;  // random per process start
  std::string type;      // "mattermost_app"
  std::string cluster;   // ClusterName
  std::string hostname;
  NodeId node{kNoNode};  // the address peers connect to
  std::uint32_t server_id = 0;
  std::uint16_t gossip_port = 0;
  Time create_at{};      // database clock
  Time last_ping_at{};   // database clock
  friend bool operator==(const DiscoveryRow&, const DiscoveryRow&) = default;
};

enum class JobStatus : std::uint8_t { pending, in_progress, success, error };

struct JobRow {
  std::uint64_t id = 0;
  std::string type;
  JobStatus status = JobStatus::pending;
  NodeId worker{kNoNode};
  Time create_at{};  // database clock
  friend bool operator==(const JobRow&, const JobRow&) = default;
};

struct PostRow {
  std::uint64_t post = 0;     // chosen by the client; the idempotency key
  std::uint32_t channel = 0;
  std::uint64_t author = 0;   // opaque to the database (the edge's client index)
  Time create_at{};           // the accepting app server's clock
  std::uint64_t lsn = 0;      // position in the primary's write stream
  friend bool operator==(const PostRow&, const PostRow&) = default;
};
// A row of ChannelMembers (issue 14): `user` is opaque to the database (the
// edge's client node id), as PostRow::author.
struct ChannelMemberRow {
  std::uint64_t user = 0;
  std::uint32_t channel = 0;
  std::uint64_t lsn = 0;      // position in the primary's write stream
  friend bool operator==(const ChannelMemberRow&, const ChannelMemberRow&) = default;
};

// ---- operations --------------------------------------------------------------------
struct DbPing {};

// ClusterDiscovery. Register deletes the caller's old rows (same type, cluster,
// hostname) and inserts `row` with create_at = last_ping_at = the database's now.
struct DbDiscoveryRegister { DiscoveryRow row; };
// UPDATE ... SET LastPingAt = now WHERE Id = id. conflict when the row is gone.
struct DbDiscoveryRefresh { std::uint64_t id = 0; };
struct DbDiscoveryDelete { std::uint64_t id = 0; };
// DELETE WHERE Type = type AND ClusterName = cluster AND LastPingAt < now - stale_after.
struct DbDiscoveryCleanStale { std::string type; std::string cluster; Duration stale_after{}; };
// SELECT WHERE Type, ClusterName AND LastPingAt >= now - alive_within, ordered by id.
struct DbDiscoveryList { std::string type; std::string cluster; Duration alive_within{}; };

// The migration lock, table db_lock(id, expireat) (REFERENCE.md, Schema migrations).
// clock = client (morph, the real lock): expire_at = client_now + ttl, and an
// existing row is taken over when client_now >= its expireat; refresh and
// release touch the row by key only (the real row has no holder column).
// clock = database (db_clock, the safe variant): the database judges expiry by
// its own clock and refresh/release need the holder to match.
enum class LockClock : std::uint8_t { client, database };
struct DbLockAcquire { std::string key; NodeId holder{kNoNode}; Time client_now{}; Duration ttl{}; LockClock clock = LockClock::client; };
struct DbLockRefresh { std::string key; NodeId holder{kNoNode}; Time client_now{}; Duration ttl{}; LockClock clock = LockClock::client; };
struct DbLockRelease { std::string key; NodeId holder{kNoNode}; LockClock clock = LockClock::client; };

// db_migrations: the highest applied schema version.
struct DbSchemaRead {};
// Applies one migration (one minor version) in its own transaction with its
// version row. Re-applying an applied version is not an error (the real
// migrations are written IF NOT EXISTS); the reply says it was already there.
// fenced with clock = database (db_clock): the same transaction checks that `by`
// still holds the migration lock by the database's clock, conflict if not.
// morph has no such check (fenced = false or clock = client).
struct DbMigrationApply { std::uint32_t schema = 0; NodeId by{kNoNode}; LockClock clock = LockClock::client; bool fenced = true; };

// A lease row for leader_election = "db_lease", judged by the database's clock:
// acquired (or renewed) when free, expired, or already held by `holder`.
struct DbLeaseAcquire { std::string name; NodeId holder{kNoNode}; Duration ttl{}; };
struct DbLeaseRelease { std::string name; NodeId holder{kNoNode}; };

// Jobs (REFERENCE.md, Leader and jobs). once = true: a SERIALIZABLE transaction
// that creates nothing when a job of the type is pending or in progress, and
// fails with serialization_failure when a concurrent one committed first.
// once = false (the create_job_without_once bug): a plain insert.
struct DbJobCreate { std::string type; bool once = true; };
struct DbJobListPending {};  // a read: routed to a replica
// UPDATE Jobs SET Status = in_progress WHERE Id = job AND Status = pending:
// conflict when no row changed.
struct DbJobClaim { std::uint64_t job = 0; NodeId worker{kNoNode}; };
// Plain UPDATE (mark done; and the job_claim_without_cas bug's claim).
struct DbJobSetStatus { std::uint64_t job = 0; JobStatus status = JobStatus::success; NodeId worker{kNoNode}; };

// Posts. Insert is idempotent by post id: a retry returns the first commit's lsn.
struct DbPostInsert { PostRow row; };
// Posts in the channels of channel_mask (bit c = channel c) with create_at >= since,
// ordered by lsn; a read (a resync after a reconnect), usually sent to a replica.
struct DbPostsSince { std::uint64_t channel_mask = ~0ULL; Time since{}; };
// get_server_status: writes and deletes a row on the primary (REFERENCE.md, Health check).
struct DbStatusProbe {};
// ChannelMembers (issue 14): a user added to a channel (idempotent by (user,
// channel)), and the channels a user was added to, as a mask (a read: the
// websocket's membership cache; to the primary or a replica as the caller routes it).
struct DbChannelMemberInsert { ChannelMemberRow row; };
struct DbChannelMembersOf { std::uint64_t user = 0; };

// Replication control (the failover controller; the operator's manual failover).
struct DbMemberStatus {};
struct DbPromote {};
// Follow `primary` from now on; a member ahead of fork_lsn (a deposed primary)
// rewinds to it first, losing what it had beyond (pg_rewind).
struct DbFollow { NodeId primary{kNoNode}; std::uint64_t fork_lsn = 0; };

using DbOp = std::variant<DbPing, DbDiscoveryRegister, DbDiscoveryRefresh, DbDiscoveryDelete,
                          DbDiscoveryCleanStale, DbDiscoveryList, DbLockAcquire, DbLockRefresh,
                          DbLockRelease, DbSchemaRead, DbMigrationApply, DbLeaseAcquire,
                          DbLeaseRelease, DbJobCreate, DbJobListPending, DbJobClaim, DbJobSetStatus,
                          DbPostInsert, DbPostsSince, DbStatusProbe, DbMemberStatus, DbPromote,
                          DbFollow, DbChannelMemberInsert, DbChannelMembersOf>;

// True for operations that change data: a replica answers them read_only.
bool db_op_writes(const DbOp& op);
// snake_case name of an operation, for traces and test messages.
const char* db_op_name(const DbOp& op);

struct DbRequest {
  DbTarget target{};
  DbOp op;
};

enum class DbStatus : std::uint8_t {
  ok,
  connection_refused,  // hard error: the member is down (a replica goes offline)
  timeout,             // no answer within the query timeout
  serialization_failure,
  conflict,            // the operation's precondition did not hold (a lost CAS)
  read_only,           // a write reached a replica
};

// ---- results -----------------------------------------------------------------------
struct DbPong {};
struct DbOk {};
struct DbDiscoveryRows { std::vector<DiscoveryRow> rows; };
struct DbLockResult { bool acquired = false; bool took_over = false; Time expire_at{}; };
struct DbSchema { std::uint32_t schema = 0; };
struct DbMigrationResult { bool already_applied = false; };
struct DbLeaseResult { bool held = false; NodeId holder{kNoNode}; Time expire_at{}; };
struct DbJobCreated { bool created = false; std::uint64_t job = 0; };
struct DbJobs { std::vector<JobRow> jobs; };
struct DbPostResult { std::uint64_t lsn = 0; bool duplicate = false; };
struct DbPosts { std::vector<PostRow> posts; };
enum class DbRole : std::uint8_t { primary, replica };
struct DbMemberState { DbRole role = DbRole::primary; std::uint64_t received_lsn = 0; std::uint64_t applied_lsn = 0; };
struct DbPromoted { std::uint64_t lsn = 0; };
struct DbChannelMask { std::uint64_t mask = 0; };

struct DbReply {
  DbStatus status = DbStatus::ok;
  std::variant<DbPong, DbOk, DbDiscoveryRows, DbLockResult, DbSchema, DbMigrationResult,
               DbLeaseResult, DbJobCreated, DbJobs, DbPostResult, DbPosts, DbMemberState,
               DbPromoted, DbChannelMask>
      result;

  bool ok() const { return status == DbStatus::ok; }
  template <class T> const T* get() const { return std::get_if<T>(&result); }
};

const char* db_status_name(DbStatus status);

}  // namespace fl
