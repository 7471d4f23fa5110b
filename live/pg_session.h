// One non-blocking libpq connection driven by Boost.Asio (live/ only: it
// includes Asio). Every statement is PQsendQueryParams; the connection's socket,
// wrapped in an asio stream_descriptor, is awaited (async_wait read or write)
// until PQconsumeInput leaves PQisBusy false, so the io_context's other work
// (the node's timers, gossip, other connections) runs while a query is slow.
// Connecting is PQconnectStart/PQconnectPoll on the same socket waits.
//
// The SQL of each DbOp is live/pg_db.cc's (one text for both PgDatabase, the
// blocking face that tests use, and the node runtime's pool in pg_async.cc),
// so the answers are the same by construction.
#pragma once

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without it under C++20.
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/db.h"

namespace fl::live {

struct PgFailure;

class PgSession {
 public:
  PgSession(boost::asio::any_io_executor ex, std::string conninfo, std::int64_t epoch_ns);
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  // As PgDatabase's (pg_db.h); one at a time per session.
  boost::asio::awaitable<DbReply> execute(DbOp op);
  boost::asio::awaitable<std::optional<DbReply>> open_create_once(DbJobCreate op);
  boost::asio::awaitable<DbReply> finish_create_once();
  const std::string& last_error() const { return last_error_; }
  bool connected() const;
  // Drops the connection (the next operation reconnects).
  void close();

 private:
  // The answer to an operation that failed: its transaction rolled back, the
  // error kept for the log, the status the model gives.
  DbReply failed(const PgFailure& f);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string last_error_;
};

}  // namespace fl::live
