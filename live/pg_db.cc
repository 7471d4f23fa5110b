// PgSession and PgDatabase: DbOp -> SQL (see pg_db.h, pg_session.h).
// nodes/database.cc is the reference for every answer; each lambda names the
// model's rule it reproduces. Each operation is a coroutine on the session's
// executor: a statement is sent (PQsendQueryParams) and its answer awaited on
// the socket's readiness, never blocking the thread.
#include "live/pg_db.h"
#include "live/pg_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/assert.h"
#include "nodes/constants.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace fl::live {

namespace asio = boost::asio;

// A failed statement: the status the model gives for it, and the server's text.
struct PgFailure {
  DbStatus status;
  std::string message;
};

namespace {
template <class... Ts> struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> Overloaded(Ts...) -> Overloaded<Ts...>;

// u64 ids (random discovery ids, client post ids) stored in bigint: the bit
// pattern, so every value round-trips.
std::string s64(std::uint64_t v) { return std::to_string(static_cast<std::int64_t>(v)); }
std::uint64_t u64(const char* text) { return static_cast<std::uint64_t>(std::strtoll(text, nullptr, 10)); }
std::int64_t i64(const char* text) { return std::strtoll(text, nullptr, 10); }

const char* status_text(JobStatus s) {
  switch (s) {
    case JobStatus::pending: return "pending";
    case JobStatus::in_progress: return "in_progress";
    case JobStatus::success: return "success";
    case JobStatus::error: return "error";
  }
  return "error";
}
JobStatus status_of(const char* s) {
  if (std::strcmp(s, "pending") == 0) return JobStatus::pending;
  if (std::strcmp(s, "in_progress") == 0) return JobStatus::in_progress;
  if (std::strcmp(s, "success") == 0) return JobStatus::success;
  return JobStatus::error;
}

const char* kSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS ClusterDiscovery (
  Id bigint PRIMARY KEY, Type text NOT NULL, ClusterName text NOT NULL, Hostname text NOT NULL,
  Node bigint NOT NULL, ServerId integer NOT NULL, GossipPort integer NOT NULL,
  CreateAt bigint NOT NULL, LastPingAt bigint NOT NULL);
CREATE TABLE IF NOT EXISTS db_lock (Id text PRIMARY KEY, Holder bigint NOT NULL, ExpireAt bigint NOT NULL);
CREATE TABLE IF NOT EXISTS db_migrations (Version integer PRIMARY KEY, AppliedBy bigint NOT NULL,
  AppliedCount integer NOT NULL);
CREATE TABLE IF NOT EXISTS Systems (Name text PRIMARY KEY, Value text NOT NULL);
CREATE TABLE IF NOT EXISTS Jobs (Id bigserial PRIMARY KEY, Type text NOT NULL, Status text NOT NULL,
  Worker bigint NOT NULL, CreateAt bigint NOT NULL);
CREATE TABLE IF NOT EXISTS Posts (Id bigint PRIMARY KEY, ChannelId integer NOT NULL, Author bigint NOT NULL,
  CreateAt bigint NOT NULL, Lsn bigint NOT NULL);
CREATE SEQUENCE IF NOT EXISTS post_lsn;
CREATE TABLE IF NOT EXISTS cluster_lease (Name text PRIMARY KEY, Holder bigint NOT NULL, ExpireAt bigint NOT NULL);
CREATE TABLE IF NOT EXISTS ChannelMembers (UserId bigint NOT NULL, ChannelId integer NOT NULL, Lsn bigint NOT NULL,
  PRIMARY KEY (UserId, ChannelId));
)sql";

class Result {
 public:
  Result() = default;
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(const Result&) = delete;
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result& operator=(Result&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  int rows() const { return PQntuples(r_); }
  const char* at(int row, int col) const { return PQgetvalue(r_, row, col); }
  PGresult* raw() const { return r_; }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

 private:
  PGresult* r_ = nullptr;
};

// How long a connection attempt may take (PQconnectPoll does not enforce the
// conninfo's connect_timeout; the caller must): the same 10 s.
constexpr auto kConnectTimeout = std::chrono::seconds(10);

}  // namespace

struct PgSession::Impl {
  asio::any_io_executor ex;
  std::string conninfo;
  std::int64_t epoch_ns = 0;
  PGconn* conn = nullptr;
  // The connection's socket for readiness waits; released (never closed by
  // Asio) before libpq closes it.
  std::unique_ptr<asio::posix::stream_descriptor> socket;
  std::string now_sql;  // the database's clock, ns since the run's epoch

  ~Impl() { close(); }
  void close() {
    if (socket) {
      socket->release();
      socket.reset();
    }
    if (conn) PQfinish(conn);
    conn = nullptr;
  }
  // Waits until `fd` is readable (or writable), at most `limit`; false when
  // the limit passed.
  asio::awaitable<bool> wait_on(int fd, bool write, std::optional<std::chrono::steady_clock::duration> limit) {
    const bool own = !socket || socket->native_handle() != fd;
    std::unique_ptr<asio::posix::stream_descriptor> temp;
    asio::posix::stream_descriptor* d = socket.get();
    if (own) {
      temp = std::make_unique<asio::posix::stream_descriptor>(ex, fd);
      d = temp.get();
    }
    bool expired = false;
    std::optional<asio::steady_timer> timer;
    if (limit) {
      timer.emplace(ex, *limit);
      timer->async_wait([d, &expired](const boost::system::error_code& ec) {
        if (ec) return;
        expired = true;
        boost::system::error_code ignored;
        d->cancel(ignored);
      });
    }
    boost::system::error_code ec;
    co_await d->async_wait(write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read,
                           asio::redirect_error(asio::use_awaitable, ec));
    if (timer) {
      timer->cancel();
      // The timer's handler may already be queued (it fired as the wait
      // ended): it runs before this posted resumption, while `d` and
      // `expired` still exist.
      co_await asio::post(ex, asio::use_awaitable);
    }
    if (temp) temp->release();
    co_return !expired;
  }
  asio::awaitable<void> connect() {
    if (conn && PQstatus(conn) == CONNECTION_OK) co_return;
    close();
    conn = PQconnectStart(conninfo.c_str());
    if (conn == nullptr) throw PgFailure{DbStatus::connection_refused, "out of memory"};
    const auto deadline = std::chrono::steady_clock::now() + kConnectTimeout;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero() ||
          !co_await wait_on(PQsocket(conn), st == PGRES_POLLING_WRITING, left)) {
        close();
        throw PgFailure{DbStatus::connection_refused, "connection timed out"};
      }
      st = PQconnectPoll(conn);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(conn);
      close();
      throw PgFailure{DbStatus::connection_refused, msg};
    }
    PQsetnonblocking(conn, 1);
    socket = std::make_unique<asio::posix::stream_descriptor>(ex, PQsocket(conn));
    // Notices (a ROLLBACK after a failure outside a transaction warns) are
    // not errors; errors come back as results and are logged by the caller.
    PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  }
  [[noreturn]] void lost(const std::string& why) {
    std::string msg = why + (conn ? PQerrorMessage(conn) : "");
    close();
    throw PgFailure{DbStatus::connection_refused, msg};
  }
  // Runs one statement with text parameters; throws PgFailure on any error.
  // (Parameters as arguments, not a braced list: GCC 12 cannot keep an
  // initializer_list's array across a co_await in the caller.)
  template <class... A> asio::awaitable<Result> q(std::string sql, A... a) {
    std::vector<std::string> params{std::string(std::move(a))...};
    co_return co_await qv(std::move(sql), std::move(params));
  }
  asio::awaitable<Result> qv(std::string sql, std::vector<std::string> params) {
    if (!conn) lost("not connected: ");
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    if (!PQsendQueryParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                           nullptr, 0))
      lost("sending: ");
    for (;;) {  // the statement out: PQflush 1 = more to write when the socket takes it
      const int f = PQflush(conn);
      if (f == 0) break;
      if (f < 0) lost("sending: ");
      co_await wait_on(PQsocket(conn), true, std::nullopt);
    }
    // Its results in: one per statement (then a null). A slow one leaves the
    // thread to the io_context's other work while the socket stays quiet.
    Result kept;
    std::optional<Result> error;
    for (;;) {
      while (PQisBusy(conn)) {
        co_await wait_on(PQsocket(conn), false, std::nullopt);
        if (!PQconsumeInput(conn)) lost("receiving: ");
      }
      PGresult* r = PQgetResult(conn);
      if (r == nullptr) break;
      const ExecStatusType st = PQresultStatus(r);
      if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (!error) kept = Result(r);
        else PQclear(r);
      } else if (!error) {
        error.emplace(r);
      } else {
        PQclear(r);
      }
    }
    if (!error) co_return std::move(kept);
    PGresult* r = error->raw();
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    std::string code = state ? state : "";
    std::string msg = PQresultErrorMessage(r);
    DbStatus status = DbStatus::conflict;
    if (PQstatus(conn) != CONNECTION_OK || code.rfind("08", 0) == 0 || code == "57P01") {
      close();
      status = DbStatus::connection_refused;
    } else if (code == "40001" || code == "40P01") {
      status = DbStatus::serialization_failure;
    } else if (code == "57014") {
      status = DbStatus::timeout;
    } else if (code == "25006" || (code == "0A000" && msg.find("hot standby") != std::string::npos)) {
      // A write on a standby (25006), or a SERIALIZABLE transaction, which a
      // hot standby refuses outright (0A000): the model's replica answers
      // read_only to both. (Found by PgStandby: create-once said conflict.)
      status = DbStatus::read_only;
    }
    throw PgFailure{status, code + " " + msg};
  }
  // Rolls back an open transaction after a failure, ignoring errors (the
  // connection may be gone).
  asio::awaitable<void> rollback() {
    if (!conn || PQstatus(conn) != CONNECTION_OK) co_return;
    try {
      co_await q("ROLLBACK");
    } catch (const PgFailure&) {
    }
  }
  asio::awaitable<DbReply> run(DbOp op);
  // The create-once transaction up to its COMMIT: an answer when it already
  // has one (a job of the type is active: nothing to create, committed), or
  // nothing when its INSERT waits for create_once_commit(). Throws PgFailure.
  asio::awaitable<std::optional<DbReply>> create_once_open(std::string type);
  asio::awaitable<DbReply> create_once_commit();
  std::uint64_t open_job = 0;  // the uncommitted job's id between the two
  bool open = false;
};

PgSession::PgSession(asio::any_io_executor ex, std::string conninfo, std::int64_t epoch_ns)
    : impl_(std::make_unique<Impl>()) {
  impl_->ex = std::move(ex);
  impl_->conninfo = std::move(conninfo);
  impl_->epoch_ns = epoch_ns;
  impl_->now_sql = "(floor(extract(epoch from clock_timestamp()) * 1000000)::bigint * 1000 - " +
                   std::to_string(epoch_ns) + ")";
}

PgSession::~PgSession() = default;

bool PgSession::connected() const { return impl_->conn && PQstatus(impl_->conn) == CONNECTION_OK; }
void PgSession::close() {
  impl_->open = false;
  impl_->close();
}

DbReply PgSession::failed(const PgFailure& f) {
  impl_->open = false;
  last_error_ = f.message;
  DbReply reply;
  reply.status = f.status;
  return reply;
}

// Each of the three: the operation, or on failure its transaction rolled back
// (outside the catch: a handler cannot co_await) and failed()'s answer.
asio::awaitable<DbReply> PgSession::execute(DbOp op) {
  std::optional<PgFailure> failure;
  try {
    co_await impl_->connect();
    DbReply reply = co_await impl_->run(std::move(op));
    last_error_.clear();
    co_return reply;
  } catch (const PgFailure& f) {
    failure = f;
  }
  co_await impl_->rollback();
  co_return failed(*failure);
}

asio::awaitable<std::optional<DbReply>> PgSession::open_create_once(DbJobCreate op) {
  FL_ASSERT(op.once);
  std::optional<PgFailure> failure;
  try {
    co_await impl_->connect();
    auto reply = co_await impl_->create_once_open(op.type);
    last_error_.clear();
    co_return reply;
  } catch (const PgFailure& f) {
    failure = f;
  }
  co_await impl_->rollback();
  co_return failed(*failure);
}

asio::awaitable<DbReply> PgSession::finish_create_once() {
  FL_ASSERT(impl_->open);
  std::optional<PgFailure> failure;
  try {
    DbReply reply = co_await impl_->create_once_commit();
    last_error_.clear();
    co_return reply;
  } catch (const PgFailure& f) {
    failure = f;
  }
  co_await impl_->rollback();
  co_return failed(*failure);
}

asio::awaitable<std::optional<DbReply>> PgSession::Impl::create_once_open(std::string type) {
  co_await q("BEGIN ISOLATION LEVEL SERIALIZABLE");
  Result active = co_await q("SELECT 1 FROM Jobs WHERE Type = $1 AND Status IN ('pending', 'in_progress') LIMIT 1", type);
  if (active.rows() > 0) {
    co_await q("COMMIT");
    DbReply reply;
    reply.result = DbJobCreated{false, 0};
    co_return reply;
  }
  Result res = co_await q("INSERT INTO Jobs (Type, Status, Worker, CreateAt) VALUES ($1, 'pending', $2, " + now_sql +
                              ") RETURNING Id",
                          type, std::to_string(kNoNode.value));
  open_job = u64(res.at(0, 0));
  open = true;
  co_return std::nullopt;
}

asio::awaitable<DbReply> PgSession::Impl::create_once_commit() {
  open = false;
  co_await q("COMMIT");  // 40001 here when a concurrent serializable creator committed first
  DbReply reply;
  reply.result = DbJobCreated{true, open_job};
  co_return reply;
}

// ---- PgDatabase: the blocking face ----------------------------------------------------------

struct PgDatabase::Impl {
  asio::io_context io;
  PgSession session;
  Impl(std::string conninfo, std::int64_t epoch_ns) : session(io.get_executor(), std::move(conninfo), epoch_ns) {}
  // Runs one of the session's coroutines to its answer.
  template <class T> T wait(asio::awaitable<T> op) {
    std::optional<T> out;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T value) {
      if (e) error = e;
      else out.emplace(std::move(value));
    });
    io.restart();
    io.run();
    if (error) std::rethrow_exception(error);
    FL_ASSERT(out.has_value());
    return std::move(*out);
  }
};

PgDatabase::PgDatabase(std::string conninfo, std::int64_t epoch_ns)
    : impl_(std::make_unique<Impl>(std::move(conninfo), epoch_ns)) {}
PgDatabase::~PgDatabase() = default;
DbReply PgDatabase::execute(const DbOp& op) { return impl_->wait(impl_->session.execute(op)); }
std::optional<DbReply> PgDatabase::open_create_once(const DbJobCreate& op) {
  return impl_->wait(impl_->session.open_create_once(op));
}
DbReply PgDatabase::finish_create_once() { return impl_->wait(impl_->session.finish_create_once()); }
const std::string& PgDatabase::last_error() const { return impl_->session.last_error(); }

asio::awaitable<DbReply> PgSession::Impl::run(DbOp op) {
  DbReply reply;
  const std::string& now = now_sql;
  auto visitor = Overloaded{
          [&](const DbPing&) -> asio::awaitable<void> {
            co_await q("SELECT 1");
            reply.result = DbPong{};
          },
          [&](const DbDiscoveryRegister& r) -> asio::awaitable<void> {
            // The model deletes the caller's old rows and inserts, atomically.
            co_await q("BEGIN");
            co_await q("DELETE FROM ClusterDiscovery WHERE Type = $1 AND ClusterName = $2 AND Hostname = $3",
              r.row.type, r.row.cluster, r.row.hostname);
            // One reading of the clock for both stamps: the model's create_at == last_ping_at.
            co_await q("INSERT INTO ClusterDiscovery SELECT $1, $2, $3, $4, $5, $6, $7, n, n FROM (SELECT " + now + " AS n) AS t",
              s64(r.row.id), r.row.type, r.row.cluster, r.row.hostname, std::to_string(r.row.node.value),
               std::to_string(r.row.server_id), std::to_string(r.row.gossip_port));
            co_await q("COMMIT");
            reply.result = DbOk{};
          },
          [&](const DbDiscoveryRefresh& r) -> asio::awaitable<void> {
            Result res = co_await q("UPDATE ClusterDiscovery SET LastPingAt = " + now + " WHERE Id = $1 RETURNING Id", s64(r.id));
            if (res.rows() == 0) reply.status = DbStatus::conflict;  // the row is gone
            else reply.result = DbOk{};
          },
          [&](const DbDiscoveryDelete& r) -> asio::awaitable<void> {
            co_await q("DELETE FROM ClusterDiscovery WHERE Id = $1", s64(r.id));
            reply.result = DbOk{};
          },
          [&](const DbDiscoveryCleanStale& r) -> asio::awaitable<void> {
            co_await q("DELETE FROM ClusterDiscovery WHERE Type = $1 AND ClusterName = $2 AND LastPingAt < " + now + " - $3",
              r.type, r.cluster, std::to_string(ns(r.stale_after)));
            reply.result = DbOk{};
          },
          [&](const DbDiscoveryList& r) -> asio::awaitable<void> {
            Result res = co_await q("SELECT Id, Type, ClusterName, Hostname, Node, ServerId, GossipPort, CreateAt, LastPingAt "
                           "FROM ClusterDiscovery WHERE Type = $1 AND ClusterName = $2 AND LastPingAt >= " +
                               now + " - $3",
                           r.type, r.cluster, std::to_string(ns(r.alive_within)));
            DbDiscoveryRows rows;
            for (int i = 0; i < res.rows(); ++i) {
              DiscoveryRow row;
              row.id = u64(res.at(i, 0));
              row.type = res.at(i, 1);
              row.cluster = res.at(i, 2);
              row.hostname = res.at(i, 3);
              row.node = NodeId{static_cast<std::uint32_t>(i64(res.at(i, 4)))};
              row.server_id = static_cast<std::uint32_t>(i64(res.at(i, 5)));
              row.gossip_port = static_cast<std::uint16_t>(i64(res.at(i, 6)));
              row.create_at = time_from_ns(i64(res.at(i, 7)));
              row.last_ping_at = time_from_ns(i64(res.at(i, 8)));
              rows.rows.push_back(std::move(row));
            }
            // The model orders by the unsigned id; bigint orders by its sign.
            std::sort(rows.rows.begin(), rows.rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
            reply.result = std::move(rows);
          },
          [&](const DbLockAcquire& r) -> asio::awaitable<void> {
            // One statement under the row lock: insert, or take over a row whose
            // expireat the judge has reached (judge >= expireat). morph judges
            // with the client's clock; db_clock with the database's. EXCLUDED's
            // ExpireAt - ttl is the judge, evaluated once.
            // (PostgreSQL refuses a parameter the statement never uses: db_clock
            // sends no client_now. Found by tests/live/db_diff_test.cc: every
            // db_clock acquire answered conflict.)
            const bool client = r.clock == LockClock::client;
            const std::string judge = client ? "$4::bigint" : now;
            std::vector<std::string> params{r.key, std::to_string(r.holder.value), std::to_string(ns(r.ttl))};
            if (client) params.push_back(std::to_string(ns(r.client_now)));
            Result res = co_await qv("INSERT INTO db_lock AS l SELECT $1, $2, j + $3 FROM (SELECT " + judge +
                               " AS j) AS t ON CONFLICT (Id) DO UPDATE SET Holder = EXCLUDED.Holder, "
                               "ExpireAt = EXCLUDED.ExpireAt WHERE EXCLUDED.ExpireAt - $3 >= l.ExpireAt "
                               "RETURNING ExpireAt, (xmax <> 0) AS took_over",
                           params);
            DbLockResult result;
            if (res.rows() == 1) {
              result.acquired = true;
              result.took_over = res.at(0, 1)[0] == 't';
              result.expire_at = time_from_ns(i64(res.at(0, 0)));
            } else {
              Result held = co_await q("SELECT ExpireAt FROM db_lock WHERE Id = $1", r.key);
              if (held.rows() == 1) result.expire_at = time_from_ns(i64(held.at(0, 0)));
            }
            reply.result = result;
          },
          [&](const DbLockRefresh& r) -> asio::awaitable<void> {
            // (if/else, not ?: : GCC 12 miscompiles a co_await in each arm.)
            Result res;
            if (r.clock == LockClock::client) {
              // morph: UPDATE by key only, no holder to check.
              res = co_await q("UPDATE db_lock SET ExpireAt = $2::bigint + $3 WHERE Id = $1 RETURNING ExpireAt", r.key,
                               std::to_string(ns(r.client_now)), std::to_string(ns(r.ttl)));
            } else {
              res = co_await q("UPDATE db_lock SET ExpireAt = " + now + " + $3 WHERE Id = $1 AND Holder = $2 AND " + now +
                                   " < ExpireAt RETURNING ExpireAt",
                               r.key, std::to_string(r.holder.value), std::to_string(ns(r.ttl)));
            }
            if (res.rows() == 0) reply.status = DbStatus::conflict;
            else reply.result = DbLockResult{true, false, time_from_ns(i64(res.at(0, 0)))};
          },
          [&](const DbLockRelease& r) -> asio::awaitable<void> {
            if (r.clock == LockClock::client) co_await q("DELETE FROM db_lock WHERE Id = $1", r.key);
            else co_await q("DELETE FROM db_lock WHERE Id = $1 AND Holder = $2", r.key, std::to_string(r.holder.value));
            reply.result = DbOk{};
          },
          [&](const DbSchemaRead&) -> asio::awaitable<void> {
            Result res = co_await q("SELECT coalesce(max(Version), 0) FROM db_migrations");
            reply.result = DbSchema{static_cast<std::uint32_t>(i64(res.at(0, 0)))};
          },
          [&](const DbMigrationApply& r) -> asio::awaitable<void> {
            // Its own transaction with its version row; db_clock fences it on the
            // lock (holder and expiry by the database's clock) in the same one.
            co_await q("BEGIN");
            if (r.fenced && r.clock == LockClock::database) {
              Result lock = co_await q("SELECT 1 FROM db_lock WHERE Id = $1 AND Holder = $2 AND " + now +
                                  " < ExpireAt FOR UPDATE",
                              std::string(k::kMigrationLockKey), std::to_string(r.by.value));
              if (lock.rows() == 0) {
                co_await q("ROLLBACK");
                reply.status = DbStatus::conflict;
                co_return;
              }
            }
            // The schema change itself: real DDL in the migration's transaction,
            // written IF NOT EXISTS like the real migrations.
            co_await q("ALTER TABLE Systems ADD COLUMN IF NOT EXISTS v" + std::to_string(r.schema) + " integer");
            Result res = co_await q("INSERT INTO db_migrations AS m VALUES ($1, $2, 1) ON CONFLICT (Version) DO UPDATE "
                           "SET AppliedCount = m.AppliedCount + 1 RETURNING (xmax <> 0) AS already",
                           std::to_string(r.schema), std::to_string(r.by.value));
            co_await q("COMMIT");
            reply.result = DbMigrationResult{res.at(0, 0)[0] == 't'};
          },
          [&](const DbLeaseAcquire& r) -> asio::awaitable<void> {
            // Free, expired (database clock) or already ours: acquired or renewed.
            Result res = co_await q("INSERT INTO cluster_lease AS l SELECT $1, $2, n + $3 FROM (SELECT " + now +
                               " AS n) AS t ON CONFLICT (Name) DO UPDATE SET Holder = EXCLUDED.Holder, "
                               "ExpireAt = EXCLUDED.ExpireAt WHERE EXCLUDED.ExpireAt - $3 >= l.ExpireAt "
                               "OR l.Holder = EXCLUDED.Holder RETURNING ExpireAt",
                           r.name, std::to_string(r.holder.value), std::to_string(ns(r.ttl)));
            if (res.rows() == 1) {
              reply.result = DbLeaseResult{true, r.holder, time_from_ns(i64(res.at(0, 0)))};
              co_return;
            }
            Result held = co_await q("SELECT Holder, ExpireAt FROM cluster_lease WHERE Name = $1", r.name);
            DbLeaseResult result;
            if (held.rows() == 1) {
              result.holder = NodeId{static_cast<std::uint32_t>(i64(held.at(0, 0)))};
              result.expire_at = time_from_ns(i64(held.at(0, 1)));
            }
            reply.result = result;
          },
          [&](const DbLeaseRelease& r) -> asio::awaitable<void> {
            co_await q("DELETE FROM cluster_lease WHERE Name = $1 AND Holder = $2", r.name, std::to_string(r.holder.value));
            reply.result = DbOk{};
          },
          [&](const DbJobCreate& r) -> asio::awaitable<void> {
            if (!r.once) {  // the create_job_without_once bug: a plain insert
              Result res = co_await q("INSERT INTO Jobs (Type, Status, Worker, CreateAt) VALUES ($1, 'pending', $2, " + now +
                                 ") RETURNING Id",
                             r.type, std::to_string(kNoNode.value));
              reply.result = DbJobCreated{true, u64(res.at(0, 0))};
              co_return;
            }
            // Create once: SERIALIZABLE; a concurrent creator makes one of the
            // two fail with 40001 (serialization_failure), as in the model.
            if (auto early = co_await create_once_open(r.type)) {
              reply = std::move(*early);
              co_return;
            }
            reply = co_await create_once_commit();
          },
          [&](const DbJobListPending&) -> asio::awaitable<void> {
            Result res = co_await q("SELECT Id, Type, Status, Worker, CreateAt FROM Jobs WHERE Status = 'pending' ORDER BY Id");
            DbJobs jobs;
            for (int i = 0; i < res.rows(); ++i) {
              jobs.jobs.push_back(JobRow{u64(res.at(i, 0)), res.at(i, 1), status_of(res.at(i, 2)),
                                         NodeId{static_cast<std::uint32_t>(i64(res.at(i, 3)))},
                                         time_from_ns(i64(res.at(i, 4)))});
            }
            reply.result = std::move(jobs);
          },
          [&](const DbJobClaim& r) -> asio::awaitable<void> {
            // Compare-and-set: won by the one update that changes the row.
            Result res = co_await q("UPDATE Jobs SET Status = 'in_progress', Worker = $2 WHERE Id = $1 AND Status = 'pending' "
                           "RETURNING Id",
                           s64(r.job), std::to_string(r.worker.value));
            if (res.rows() == 0) reply.status = DbStatus::conflict;
            else reply.result = DbOk{};
          },
          [&](const DbJobSetStatus& r) -> asio::awaitable<void> {
            Result res = co_await q("UPDATE Jobs SET Status = $2, Worker = $3 WHERE Id = $1 RETURNING Id",
                           s64(r.job), status_text(r.status), std::to_string(r.worker.value));
            if (res.rows() == 0) reply.status = DbStatus::conflict;
            else reply.result = DbOk{};
          },
          [&](const DbPostInsert& r) -> asio::awaitable<void> {
            // Idempotent by post id: a retry returns the first commit's lsn.
            Result res = co_await q("INSERT INTO Posts VALUES ($1, $2, $3, $4, nextval('post_lsn')) ON CONFLICT (Id) DO NOTHING "
                           "RETURNING Lsn",
                           s64(r.row.post), std::to_string(r.row.channel), s64(r.row.author),
                            std::to_string(ns(r.row.create_at)));
            if (res.rows() == 1) {
              reply.result = DbPostResult{u64(res.at(0, 0)), false};
              co_return;
            }
            Result old = co_await q("SELECT Lsn FROM Posts WHERE Id = $1", s64(r.row.post));
            reply.result = DbPostResult{old.rows() ? u64(old.at(0, 0)) : 0, true};
          },
          [&](const DbPostsSince& r) -> asio::awaitable<void> {
            Result res = co_await q("SELECT Id, ChannelId, Author, CreateAt, Lsn FROM Posts WHERE CreateAt >= $1 ORDER BY Lsn",
                           std::to_string(ns(r.since)));
            DbPosts posts;
            for (int i = 0; i < res.rows(); ++i) {
              PostRow row{u64(res.at(i, 0)), static_cast<std::uint32_t>(i64(res.at(i, 1))), u64(res.at(i, 2)),
                          time_from_ns(i64(res.at(i, 3))), u64(res.at(i, 4))};
              if (row.channel < 64 && ((r.channel_mask >> row.channel) & 1U) != 0) posts.posts.push_back(row);
            }
            reply.result = std::move(posts);
          },
          [&](const DbStatusProbe&) -> asio::awaitable<void> {
            // get_server_status: write and delete a row on the primary.
            co_await q("BEGIN");
            co_await q("INSERT INTO Systems (Name, Value) VALUES ('status_probe_' || pg_backend_pid(), 'x') "
              "ON CONFLICT (Name) DO NOTHING");
            co_await q("DELETE FROM Systems WHERE Name = 'status_probe_' || pg_backend_pid()");
            co_await q("COMMIT");
            reply.result = DbOk{};
          },
          [&](const DbMemberStatus&) -> asio::awaitable<void> {
            // Positions are WAL bytes (pg_lsn - '0/0'), not the model's record
            // counts: comparable between members, which is what the failover's
            // choice needs. A standby that has not streamed yet reports what
            // it replayed.
            Result res = co_await q(
                "SELECT pg_is_in_recovery(), (CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_receive_lsn(), "
                "pg_last_wal_replay_lsn(), '0/0') ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint, "
                "(CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn(), '0/0') ELSE "
                "pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint");
            reply.result = DbMemberState{res.at(0, 0)[0] == 't' ? DbRole::replica : DbRole::primary,
                                         u64(res.at(0, 1)), u64(res.at(0, 2))};
          },
          [&](const DbPromote&) -> asio::awaitable<void> {
            // pg_promote(wait => true): the member leaves recovery and takes
            // writes; the answer is the last position it had replayed (the
            // fork point). Already a primary: its current position, as the model.
            Result at = co_await q(
                "SELECT (coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn()) - '0/0'::pg_lsn)::bigint, "
                "pg_is_in_recovery()");
            const std::uint64_t lsn = u64(at.at(0, 0));
            if (at.at(0, 1)[0] == 't') {
              Result done = co_await q("SELECT pg_promote(true, 30)");
              if (done.at(0, 0)[0] != 't') {  // not promoted within 30 s
                reply.status = DbStatus::timeout;
                co_return;
              }
            }
            reply.result = DbPromoted{lsn};
          },
          // Following another member needs its address, which a session does
          // not know: the harness re-points standbys itself (primary_conninfo
          // and a reload, live/postgres.h). Refused, never faked.
          [&](const DbFollow&) -> asio::awaitable<void> {
            reply.status = DbStatus::conflict;
            co_return;
          },
          [&](const DbChannelMemberInsert& r) -> asio::awaitable<void> {
            // Idempotent by (user, channel): a retry is the same membership and
            // takes no new position in the write stream (the NOT EXISTS: an
            // ON CONFLICT alone would draw nextval first).
            co_await q("INSERT INTO ChannelMembers SELECT $1, $2, nextval('post_lsn') WHERE NOT EXISTS (SELECT 1 FROM "
                       "ChannelMembers WHERE UserId = $1 AND ChannelId = $2) ON CONFLICT DO NOTHING",
                       s64(r.row.user), std::to_string(r.row.channel));
            reply.result = DbOk{};
          },
          [&](const DbChannelMembersOf& r) -> asio::awaitable<void> {
            Result res = co_await q("SELECT ChannelId FROM ChannelMembers WHERE UserId = $1", s64(r.user));
            DbChannelMask mask;
            for (int i = 0; i < res.rows(); ++i) {
              const std::int64_t channel = i64(res.at(i, 0));
              if (channel >= 0 && channel < 64) mask.mask |= 1ULL << channel;
            }
            reply.result = mask;
          },
  };
  co_await std::visit(visitor, op);
  co_return reply;
}

bool prepare_schema(const std::string& conninfo, std::uint32_t initial_schema, std::string* error) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  auto fail = [&](const std::string& what) {
    if (error) *error = what + ": " + PQerrorMessage(conn);
    PQfinish(conn);
    return false;
  };
  if (PQstatus(conn) != CONNECTION_OK) return fail("cannot connect");
  PGresult* r = PQexec(conn, kSchemaSql);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) return fail("creating the schema");
  if (initial_schema > 0) {
    const std::string sql = "INSERT INTO db_migrations VALUES (" + std::to_string(initial_schema) +
                            ", " + std::to_string(kNoNode.value) + ", 1) ON CONFLICT DO NOTHING";
    r = PQexec(conn, sql.c_str());
    const bool ok2 = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok2) return fail("writing the initial schema version");
  }
  PQfinish(conn);
  return true;
}

bool reset_data(const std::string& conninfo, std::uint32_t initial_schema, std::string* error) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    if (error) *error = std::string("cannot connect: ") + PQerrorMessage(conn);
    PQfinish(conn);
    return false;
  }
  // DELETE, not TRUNCATE: on tables this small it is several times faster
  // (TRUNCATE makes new files), which a test resetting per case feels.
  PGresult* r = PQexec(conn,
                       "DELETE FROM ClusterDiscovery; DELETE FROM db_lock; DELETE FROM db_migrations; "
                       "DELETE FROM Systems; DELETE FROM Jobs; DELETE FROM Posts; DELETE FROM cluster_lease; "
                       "DELETE FROM ChannelMembers; "
                       "ALTER SEQUENCE jobs_id_seq RESTART; ALTER SEQUENCE post_lsn RESTART");
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok && error) *error = std::string("emptying the tables: ") + PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  return ok && prepare_schema(conninfo, initial_schema, error);
}

}  // namespace fl::live
