// A throw-away PostgreSQL 15 server for live mode and its tests: initdb in a
// folder, pg_ctl start on a loopback port, pg_ctl stop and removal at the end.
// As root (CI), the tools run as the `postgres` user through runuser, since
// PostgreSQL refuses to run as root; the folder is chowned to it.
// scripts/live-postgres does the same from a shell.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fl::live {

inline constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

class PostgresServer {
 public:
  PostgresServer() = default;
  ~PostgresServer();  // stops the server and removes its folder unless kept
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A fresh cluster in `dir` (created; must not exist or be empty) started on
  // `port` (0: a free one): a copy of the machine's initdb'd template
  // (<temp>/faultline-pg15-<uid>/template, made by the first start). False and
  // *error on failure (the log's tail included).
  bool start(const std::string& dir, std::uint16_t port, std::string* error);
  // A streaming standby of `primary` in `dir`: pg_basebackup -R (standby.signal,
  // primary_conninfo) and start on `port` (0: a free one). Hot standby: it
  // answers reads, refuses writes (SQLSTATE 25006).
  bool start_standby(const PostgresServer& primary, const std::string& dir, std::uint16_t port, std::string* error);
  // pg_ctl promote, waiting until it accepts writes (db_failover's last step).
  bool promote(std::string* error);
  // pg_ctl stop -m immediate, keeping the folder (a crash of the member: the
  // data stays, as a DbDisk does). False when it was not running.
  bool crash();
  // pg_ctl start again on the same folder and port after crash(): a standby
  // comes back a standby (its standby.signal stays), a primary a primary.
  bool restart(std::string* error);
  bool running() const { return running_; }
  void stop();          // pg_ctl stop -m immediate, then remove the folder
  void keep() {  // --keep: the destructor leaves it running, also after this process
    keep_ = true;
    end_reaper();
  }
  std::uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string conninfo() const;  // libpq keyword/value string for the "faultline" database

 private:
  std::vector<std::string> as_owner(std::vector<std::string> argv) const;
  bool make_dir(const std::string& dir, std::uint16_t port, std::string* error);
  std::string template_dir() const;  // the machine's initdb'd template (start copies it)
  bool launch(std::string* error);
  std::string dir_;
  std::uint16_t port_ = 0;
  void start_reaper();
  void end_reaper();
  bool running_ = false;
  bool keep_ = false;
  int reaper_pid_ = -1;  // stops the server if this process dies (postgres.cc)
  int reaper_fd_ = -1;
};

// Runs one SQL statement on `conninfo` outside a transaction (ALTER SYSTEM
// needs that), blocking; false and *error when it fails.
bool run_sql(const std::string& conninfo, const std::string& statement, std::string* error);

// A loopback TCP port that was free a moment ago (bind to port 0).
std::uint16_t free_port();
// `count` consecutive free loopback ports from a random base; 0 if none found.
std::uint16_t free_port_range(std::uint16_t count);

}  // namespace fl::live
