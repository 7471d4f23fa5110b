// The database of live mode: each typed DbRequest (base/db.h) as SQL on a real
// PostgreSQL, with the transactions and isolation levels that the simulated
// database (nodes/database.cc) promises. libpq stays inside pg_db.cc.
//
// Times: every Time in live mode is nanoseconds since the run's epoch (a
// system-clock instant the harness chose). Times the database stamps (discovery
// rows, the lease, db_clock locks) come from PostgreSQL's clock_timestamp()
// minus that epoch: the database's own clock, as in the model.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/db.h"

namespace fl::live {

// One libpq connection, opened lazily and reopened after a failure, with a
// blocking face: each call runs live/pg_session.h's non-blocking session on a
// private io_context until it answered (tests, the harness's failover). The
// node runtime uses the sessions themselves (live/pg_async.h). Not
// thread-safe.
class PgDatabase {
 public:
  PgDatabase(std::string conninfo, std::int64_t epoch_ns);
  ~PgDatabase();
  PgDatabase(const PgDatabase&) = delete;
  PgDatabase& operator=(const PgDatabase&) = delete;

  // Runs one operation. A lost or refused connection answers
  // connection_refused; a statement timeout answers timeout; SQLSTATE 40001
  // answers serialization_failure; an unmet precondition answers conflict.
  DbReply execute(const DbOp& op);
  // The create-once transaction (DbJobCreate with once) in two steps, so that
  // a test can interleave two sessions' transactions exactly as it wants
  // (tests/live/db_diff_test.cc): open runs it up to its COMMIT and returns
  // the answer when it already has one (a job of the type is active, or an
  // error); otherwise finish commits it and answers. execute() is the two in
  // a row.
  std::optional<DbReply> open_create_once(const DbJobCreate& op);
  DbReply finish_create_once();
  // The last error's text (for logs).
  const std::string& last_error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Creates the schema (idempotent) and, when initial_schema > 0, the version row
// the cluster was already running (DbDisk::initial's counterpart). False and
// *error when the server cannot be reached or a statement fails.
bool prepare_schema(const std::string& conninfo, std::uint32_t initial_schema, std::string* error);

// Empties every table (ids and the post sequence restarted) and writes the
// initial version row again: a fresh database without a new server (tests).
bool reset_data(const std::string& conninfo, std::uint32_t initial_schema, std::string* error);

}  // namespace fl::live
