// PostgresServer (see postgres.h).
#include "live/postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <libpq-fe.h>

#include "live/process.h"

namespace fl::live {

namespace {
namespace fs = std::filesystem;

std::string tail_of(const std::string& path, std::size_t max = 1500) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}

bool bindable(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::uint16_t free_port_range(std::uint16_t count) {
  // Live mode is not the simulator: a nondeterministic base is what avoids
  // collisions between runs (and tests) on one machine.
  std::random_device rd;
  for (int attempt = 0; attempt < 50; ++attempt) {
    const auto base = static_cast<std::uint16_t>(20000 + rd() % 30000);
    bool ok = true;
    for (std::uint16_t i = 0; i < count && ok; ++i) ok = bindable(static_cast<std::uint16_t>(base + i));
    if (ok) return base;
  }
  return 0;
}

PostgresServer::~PostgresServer() {
  if (!keep_) stop();
}

std::vector<std::string> PostgresServer::as_owner(std::vector<std::string> argv) const {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> out{"runuser", "-u", "postgres", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::string PostgresServer::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) +
         " user=postgres dbname=postgres connect_timeout=10 options='-c statement_timeout=30000 -c client_min_messages=warning'";
}

bool PostgresServer::make_dir(const std::string& dir, std::uint16_t port, std::string* error) {
  dir_ = fs::absolute(dir).string();
  port_ = port != 0 ? port : free_port();
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return *error = "cannot create " + dir_ + ": " + ec.message(), false;
  if (::geteuid() == 0) {
    // PostgreSQL refuses root: the data folder belongs to postgres, and the
    // folders above it must let that user through.
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) return *error = "running as root needs a `postgres` user (apt-get install postgresql-15)", false;
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return *error = "cannot chown " + dir_, false;
    // Only added, never replaced: the folder above may be shared (/tmp).
    fs::permissions(fs::path(dir_).parent_path(), fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add, ec);
  }
  // A data folder must be private to its owner (PostgreSQL checks).
  fs::permissions(dir_, fs::perms::owner_all, ec);
  if (!fs::exists(std::string(kPgBin) + "/initdb"))
    return *error = std::string(kPgBin) + "/initdb not found: install postgresql-15 (scripts/setup)", false;
  return true;
}

bool PostgresServer::launch(std::string* error) {
  const std::string log = dir_ + "/../postgres-setup.log";
  const std::string opts = "-p " + std::to_string(port_) + " -k " + dir_ +
                           " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100";
  if (run_command(as_owner({std::string(kPgBin) + "/pg_ctl", "-D", dir_, "-l", dir_ + "/server.log", "-w", "-t", "30",
                            "-o", opts, "start"}),
                  log) != 0)
    return *error = "pg_ctl start failed:\n" + tail_of(dir_ + "/server.log") + tail_of(log, 600), false;
  running_ = true;
  start_reaper();
  return true;
}

void PostgresServer::start_reaper() {
  // pg_ctl daemonizes the server: nothing ties its life to ours. A child
  // process holds the read end of a pipe only we write to; when we are gone
  // for any reason (an assertion, SIGKILL) it reads end of file and stops the
  // server. Everything the child needs is made before fork(): after it, in a
  // process that may have threads, only async-signal-safe calls.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return;
  const std::vector<std::string> args =
      as_owner({std::string(kPgBin) + "/pg_ctl", "-D", dir_, "-m", "immediate", "-w", "stop"});
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in = fds[0];
    for (int fd = 3; fd < 1024; ++fd)
      if (fd != in && fd != devnull) ::close(fd);
    char byte;
    while (::read(in, &byte, 1) != 0) {
    }
    ::dup2(devnull, 0), ::dup2(devnull, 1), ::dup2(devnull, 2);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[0]);
  if (devnull >= 0) ::close(devnull);
  if (pid < 0) {
    ::close(fds[1]);
    return;
  }
  reaper_pid_ = pid;
  reaper_fd_ = fds[1];
}

void PostgresServer::end_reaper() {
  if (reaper_pid_ <= 0) return;
  // We stopped the server ourselves: the reaper has nothing left to do.
  ::kill(reaper_pid_, SIGKILL);
  ::close(reaper_fd_);
  ::waitpid(reaper_pid_, nullptr, 0);
  reaper_pid_ = -1;
  reaper_fd_ = -1;
}

std::string PostgresServer::template_dir() const {
  return (fs::temp_directory_path() / ("faultline-pg15-" + std::to_string(::geteuid())) / "template").string();
}

bool PostgresServer::start(const std::string& dir, std::uint16_t port, std::string* error) {
  if (!make_dir(dir, port, error)) return false;
  const std::string log = dir_ + "/../postgres-setup.log";
  // initdb is most of a start (about a second of CPU): it runs once per
  // machine into a template folder (made under another name and renamed, so a
  // reader never sees half of one), and each start copies the template.
  const std::string tmpl = template_dir();
  std::error_code ec;
  if (!fs::exists(tmpl + "/PG_VERSION", ec)) {
    const std::string building = tmpl + "-build-" + std::to_string(::getpid());
    fs::create_directories(fs::path(tmpl).parent_path(), ec);
    PostgresServer scratch;
    if (!scratch.make_dir(building, 1, error)) return false;
    scratch.keep_ = true;  // its folder is the template, not removed
    if (run_command(as_owner({std::string(kPgBin) + "/initdb", "-D", building, "-U", "postgres", "--auth=trust", "-E",
                              "UTF8", "--no-sync"}),
                    log) != 0) {
      fs::remove_all(building, ec);
      return *error = "initdb failed:\n" + tail_of(log), false;
    }
    fs::rename(building, tmpl, ec);
    if (ec) fs::remove_all(building, ec);  // another start made it first
  }
  if (run_command(as_owner({"cp", "-a", tmpl + "/.", dir_}), log) != 0)
    return *error = "copying the initdb template " + tmpl + " failed:\n" + tail_of(log), false;
  return launch(error);
}

bool PostgresServer::start_standby(const PostgresServer& primary, const std::string& dir, std::uint16_t port,
                                   std::string* error) {
  if (!primary.running_) return *error = "the primary is not running", false;
  if (!make_dir(dir, port, error)) return false;
  const std::string log = dir_ + "/../postgres-setup.log";
  // -R: standby.signal and primary_conninfo (streaming from the primary);
  // -X stream: the WAL written meanwhile comes along; -c fast: no wait for a
  // checkpoint. initdb's trust rules let loopback replication connections in.
  if (run_command(as_owner({std::string(kPgBin) + "/pg_basebackup", "-h", "127.0.0.1", "-p",
                            std::to_string(primary.port_), "-U", "postgres", "-D", dir_, "-R", "-X", "stream", "-c",
                            "fast", "--no-sync"}),
                  log) != 0)
    return *error = "pg_basebackup failed:\n" + tail_of(log), false;
  // The copy brings the source's own files along: its server.log (a failing
  // start would show the source's log), and the lock files of the sockets it
  // keeps in its folder (-k), naming its postmaster's pid: a standby rebuilt
  // on the port of a member whose postmaster has not quite exited (a deposed
  // primary) refused to start on one ("lock file already exists").
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == "server.log" || name.rfind(".s.PGSQL.", 0) == 0) fs::remove(entry.path(), ec);
  }
  return launch(error);
}

bool PostgresServer::promote(std::string* error) {
  const std::string log = dir_ + "/../postgres-setup.log";
  if (!running_) return *error = "not running", false;
  if (run_command(as_owner({std::string(kPgBin) + "/pg_ctl", "-D", dir_, "-w", "-t", "30", "promote"}), log) != 0)
    return *error = "pg_ctl promote failed:\n" + tail_of(dir_ + "/server.log"), false;
  return true;
}

bool PostgresServer::crash() {
  if (!running_) return false;
  run_command(as_owner({std::string(kPgBin) + "/pg_ctl", "-D", dir_, "-m", "immediate", "-w", "stop"}), "/dev/null");
  running_ = false;
  end_reaper();
  return true;
}

bool PostgresServer::restart(std::string* error) {
  if (running_) return true;
  if (dir_.empty()) return *error = "never started", false;
  return launch(error);
}

bool run_sql(const std::string& conninfo, const std::string& statement, std::string* error) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  bool ok = PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(conn, statement.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
  }
  if (!ok && error) *error = statement + ": " + PQerrorMessage(conn);
  PQfinish(conn);
  return ok;
}

void PostgresServer::stop() {
  if (running_) {
    run_command(as_owner({std::string(kPgBin) + "/pg_ctl", "-D", dir_, "-m", "immediate", "-w", "stop"}), "/dev/null");
    running_ = false;
  }
  end_reaper();
  if (!dir_.empty() && !keep_) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

}  // namespace fl::live
