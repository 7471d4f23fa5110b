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
#include <string>

#include "base/db.h"

namespace fl::live {

// One blocking libpq connection, opened lazily and reopened after a failure.
// Not thread-safe: one thread uses it (live/node_runtime.cc's database worker).
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
  // The last error's text (for logs).
  const std::string& last_error() const { return last_error_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string last_error_;
};

// Creates the schema (idempotent) and, when initial_schema > 0, the version row
// the cluster was already running (DbDisk::initial's counterpart). False and
// *error when the server cannot be reached or a statement fails.
bool prepare_schema(const std::string& conninfo, std::uint32_t initial_schema, std::string* error);

}  // namespace fl::live
