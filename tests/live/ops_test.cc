// [[operations]] live and the report folder of a failing live run.
//
//  - LiveOperator (no PostgreSQL, a few seconds): the simulator's Operator on
//    the harness's hands: steps and a runbook become process control, machine
//    files and control lines; wait_serving is a real HTTP ping; what live mode
//    cannot do (the proxy, another DataSource) is skipped by its step's name.
//  - LiveOps (scenarios/live/upgrade.toml, about 50 s each): a 3-server live
//    cluster on a real PostgreSQL elects app1, survives a kill -9 of app1 with
//    app2 taking over, and migrates exactly once on the schema-changing
//    upgrade; the control without the upgrade migrates nothing.
//  - LiveReport (scenarios/live/migration_without_lock.toml without its
//    [expect], about 20 s): the planted bug shows live, the run fails and its
//    folder holds report.json / report.md / report.html naming the violation,
//    beside the raw histories and the node logs; its control (the bug off)
//    migrates once, holds and writes no report.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "harness/live_ops.h"
#include "harness/live_run.h"
#include "harness/scenario_loader.h"
#include "live/postgres.h"
#include "nodes/spec.h"
#include "tests/live/live_helpers.h"

namespace fl::harness {
namespace {

using live_test::source_dir;
using live_test::read_all;

namespace fs = std::filesystem;

// A loopback listener on a port of the kernel's choosing; answers each
// connection with `answer` (or, when empty, accepts and never answers).
class FakeHttp {
 public:
  explicit FakeHttp(std::string answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0 || done_) {
          if (c >= 0) ::close(c);
          return;
        }
        ++accepted_;
        char buf[1024];
        (void)::recv(c, buf, sizeof buf, 0);
        if (answer_.empty()) {
          held_.push_back(c);  // never answered
          continue;
        }
        (void)::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~FakeHttp() {
    done_ = true;
    // Wake the accept with one last connection.
    const int c = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    thread_.join();
    ::close(c);
    for (int h : held_) ::close(h);
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  std::string answer_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> done_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> held_;
  std::thread thread_;
};

std::uint16_t closed_port() {
  FakeHttp gone("x");
  return gone.port();  // closed when it returns
}

TEST(LiveOperator, HttpPingStatusIsTheAnswersStatusOrRefusedOrNoAnswer) {
  FakeHttp ok("HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}");
  FakeHttp bad("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 22\r\n\r\n{\"status\":\"UNHEALTHY\"}");
  FakeHttp mute("");
  EXPECT_EQ(http_ping_status(ok.port(), false, 900), 200);
  EXPECT_EQ(http_ping_status(bad.port(), true, 900), 500);
  EXPECT_EQ(http_ping_status(closed_port(), false, 900), 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(http_ping_status(mute.port(), false, 300), -1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
}

// The operator on hands that record what they are asked: app1..app3 run,
// app4 is a spare whose HTTP port answers 200.
TEST(LiveOperator, StepsAndARunbookBecomeProcessControlFilesAndLinesAndSkipsAreNamed) {
  FakeHttp app4_http("HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}");
  ClusterSpec spec = default_cluster_spec(4, Version{10, 4, 1});
  spec.operator_.spares = {"app4"};
  const std::vector<std::string> names{"app1", "app2", "app3", "app4", "db-primary", "operator"};
  for (std::uint32_t i = 0; i < names.size(); ++i) spec.directory[names[i]] = NodeId{i};
  auto step = [](OperatorStepKind k, std::vector<std::string> nodes) {
    OperatorAction a;
    a.step = k;
    a.nodes = std::move(nodes);
    return a;
  };
  OperatorAction route = step(OperatorStepKind::proxy_route, {});
  route.to = {"app1"};
  OperatorAction config = step(OperatorStepKind::config_change, {"app1"});
  config.key = "LogSettings.ConsoleLevel";
  config.value = "DEBUG";
  OperatorAction datasource = step(OperatorStepKind::set_datasource, {"app3"});
  datasource.to = {"db-primary"};
  OperatorAction upgrade = step(OperatorStepKind::upgrade, {"app2"});
  upgrade.version = Version{10, 5, 0};
  OperatorAction restart = step(OperatorStepKind::restart, {"app2"});
  OperatorAction add;
  add.runbook = OperatorRunbook::add_server;
  add.at = milliseconds(100);
  spec.operator_.actions = {route, config, datasource, upgrade, restart, add};

  std::set<std::uint32_t> running{0, 1, 2};
  std::vector<std::string> did, skipped;
  std::vector<OperatorStep> steps;
  const auto t0 = std::chrono::steady_clock::now();
  LiveHands h;
  h.now = [&] { return Time{std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - t0)}; };
  h.emit = [&](NodeId n, EventBody b) {
    EXPECT_EQ(n, NodeId{5});
    if (auto* s = std::get_if<OperatorStep>(&b)) steps.push_back(*s);
  };
  h.running = [&](NodeId n) { return running.count(n.value) > 0; };
  h.stop = [&](NodeId n) { did.push_back("stop " + names[n.value]), running.erase(n.value); };
  h.start = [&](NodeId n) { did.push_back("start " + names[n.value]), running.insert(n.value); };
  h.crash = [&](NodeId n) { did.push_back("crash " + names[n.value]), running.erase(n.value); };
  h.send_line = [&](NodeId n, const std::string& line) { did.push_back(names[n.value] + " < " + line); };
  h.http_port = [&](NodeId n) { return n.value == 3 ? app4_http.port() : closed_port(); };
  h.skip = [&](const std::string& s) { skipped.push_back(s); };
  LiveOperator op(spec, names, NodeId{5}, 1.0, h, 7);
  op.start();
  // add_server: start app4, its 2-s pause, wait_serving (pings), proxy_route
  // (skipped) and its pause: about 4 s.
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(15)) {
    op.poll();
    if (op.running() == 0 && std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(200)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(op.running(), 0u);

  const std::vector<std::string> want{
      "app1 < spec config.LogSettings.ConsoleLevel DEBUG",  // config_change: the file, then the reload
      "app1 < spec reload_config",
      "app2 < spec version 10.5.0",  // upgrade of a running server: its files (takes effect at start)
      "stop app2",                   // restart
      "start app2",
      "start app4",  // add_server
  };
  EXPECT_EQ(did, want);
  EXPECT_EQ(op.files_of("app2"), std::vector<std::string>{"version=10.5.0"});
  EXPECT_EQ(op.files_of("app1"), std::vector<std::string>{"config.LogSettings.ConsoleLevel=DEBUG"});
  EXPECT_TRUE(op.files_of("app3").empty());  // set_datasource was skipped
  EXPECT_GE(app4_http.accepted(), 1);        // wait_serving asked app4 over HTTP
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_EQ(skipped[0], "operation step: proxy_route app1 (on proxy): the live proxy takes no operator commands yet (docs/live.md)");
  EXPECT_NE(skipped[1].find("operation step: set_datasource app3 db-primary (on app3): live mode runs the primary only"),
            std::string::npos)
      << skipped[1];
  EXPECT_EQ(skipped[2].rfind("operation add_server: proxy_route proxy app1,app2,app3,app4 (on proxy)", 0), 0u) << skipped[2];
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps.back().runbook, "add_server");
  EXPECT_EQ(steps.back().step, "done");  // it waited for app4 and went on
  EXPECT_EQ(steps.back().detail, "app4");
}

struct Ports {
  std::uint16_t gossip = 0, http = 0;
};
Ports free_ports() {
  Ports p;
  p.gossip = live::free_port_range(4);
  p.http = live::free_port_range(4);
  return p;
}

std::size_t migrations_to(const LiveResult& r, std::uint32_t schema) {
  std::size_t n = 0;
  for (const auto& e : r.history)
    if (const auto* m = e.get<MigrationApplied>(); m && m->schema == schema) ++n;
  return n;
}

constexpr std::uint32_t kSchema105 = 10005;  // Version{10, 5, 0}.schema()

TEST(LiveOps, Kill9ThenRollingUpgradeWithSchemaChangeMigratesExactlyOnce) {
  if (!fs::exists(std::string(live::kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
  ASSERT_EQ((Version{10, 5, 0}.schema()), kSchema105);
  LoadResult loaded = load_scenario(source_dir() + "/scenarios/live/upgrade.toml");
  ASSERT_TRUE(loaded.ok());
  LiveOptions o;
  o.node_binary = FL_FAULTLINE_BINARY;
  const Ports p = free_ports();
  ASSERT_NE(p.gossip, 0);
  ASSERT_NE(p.http, 0);
  o.base_port = p.gossip;
  o.http_port = p.http;
  std::stringstream err;
  const LiveResult r = run_live(*loaded.scenario, o, err);
  ASSERT_EQ(r.exit_code, 0) << r.line << "\n" << err.str();
  EXPECT_TRUE(r.skipped.empty()) << r.skipped.front();
  EXPECT_FALSE(fs::exists(r.work_dir)) << "a passing run leaves nothing behind";

  auto name = [&](NodeId n) { return n.value < r.node_names.size() ? r.node_names[n.value] : "-"; };
  std::string trace;
  std::vector<std::string> leaders;
  bool crashed = false, app2_took_over = false, app1_back = false;
  std::map<std::string, std::string> last_version;  // each server's last ServerStarting
  std::vector<std::string> steps;
  for (const auto& e : r.history) {
    if (e.is<LeaderBegin>() || e.is<ProcessCrashed>() || e.is<ProcessStarted>() || e.is<ProcessStopped>() ||
        e.is<MigrationApplied>() || e.is<OperatorStep>() || e.is<SettleBegin>())
      trace += format_duration(e.at.time_since_epoch()) + " " + name(e.node) + " " + std::string(e.name()) + "\n";
    if (e.is<LeaderBegin>()) leaders.push_back(name(e.node));
    if (e.is<ProcessCrashed>() && name(e.node) == "app1") crashed = true;
    if (crashed && e.is<ProcessStarted>() && name(e.node) == "app1") app1_back = true;
    if (crashed && !app1_back && e.is<LeaderBegin>() && name(e.node) == "app2") app2_took_over = true;
    if (const auto* s = e.get<ServerStarting>()) last_version[name(e.node)] = s->version;
    if (const auto* s = e.get<OperatorStep>()) steps.push_back(s->step + " " + s->detail);
  }
  ASSERT_FALSE(leaders.empty()) << trace;
  EXPECT_EQ(leaders.front(), "app1") << trace;
  EXPECT_TRUE(crashed) << trace;
  EXPECT_TRUE(app2_took_over) << "app2 leads after app1's kill -9, before the operator brings app1 back\n" << trace;
  // The schema-changing upgrade migrated exactly once, and every server ends on 10.5.0.
  EXPECT_EQ(migrations_to(r, kSchema105), 1u) << trace;
  for (const char* s : {"app1", "app2", "app3"}) EXPECT_EQ(last_version[s], "10.5.0") << s << "\n" << trace;
  const std::vector<std::string> want{"upgrade app1 10.5.0", "start app1", "stop app2", "upgrade app2 10.5.0",
                                      "start app2",          "stop app3",  "upgrade app3 10.5.0", "start app3"};
  EXPECT_EQ(steps, want) << trace;
  // migration_by_first_starter and version_skew judged it (and held: exit 0).
  EXPECT_TRUE(loaded.scenario->invariants.checks("migration_by_first_starter"));
  EXPECT_TRUE(loaded.scenario->invariants.checks("version_skew"));
  EXPECT_TRUE(r.violations.empty());
}

TEST(LiveOps, ControlWithoutTheUpgradeMigratesNothing) {
  if (!fs::exists(std::string(live::kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
  LoadResult loaded = load_scenario(source_dir() + "/scenarios/live/upgrade.toml");
  ASSERT_TRUE(loaded.ok());
  Scenario control = *loaded.scenario;
  control.operations.clear();  // the same run, the operator idle
  LiveOptions o;
  o.node_binary = FL_FAULTLINE_BINARY;
  const Ports p = free_ports();
  o.base_port = p.gossip;
  o.http_port = p.http;
  std::stringstream err;
  const LiveResult r = run_live(control, o, err);
  ASSERT_EQ(r.exit_code, 0) << r.line << "\n" << err.str();
  EXPECT_EQ(migrations_to(r, kSchema105), 0u);
  bool any_migration = false, app1_led = false;
  for (const auto& e : r.history) {
    any_migration = any_migration || e.is<MigrationApplied>() || e.is<MigrationStarted>();
    if (e.is<LeaderBegin>() && e.node == NodeId{0}) app1_led = true;
  }
  EXPECT_FALSE(any_migration);
  EXPECT_TRUE(app1_led);  // the control ran the same cluster
}

TEST(LiveReport, FailingLiveRunWritesTheReportFolderNamingTheViolation) {
  if (!fs::exists(std::string(live::kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
  LoadResult loaded = load_scenario(source_dir() + "/scenarios/live/migration_without_lock.toml");
  ASSERT_TRUE(loaded.ok());
  Scenario s = *loaded.scenario;
  ASSERT_EQ(s.expect.violations.size(), 1u);
  s.expect.violations.clear();  // a user who did not expect the bug: the run fails
  LiveOptions o;
  o.node_binary = FL_FAULTLINE_BINARY;
  const Ports p = free_ports();
  o.base_port = p.gossip;
  o.http_port = p.http;
  const std::string run_dir = (fs::temp_directory_path() / ("fl-livereport-" + std::to_string(::getpid()))).string();
  const std::string out = run_dir + "-out";
  fs::remove_all(run_dir);
  fs::remove_all(out);
  o.work_dir = run_dir;
  o.out_dir = out;  // --out: the report folder there, as `run --out` writes it
  std::stringstream err;
  const LiveResult r = run_live(s, o, err);
  EXPECT_EQ(r.exit_code, 1) << r.line << "\n" << err.str();
  EXPECT_EQ(r.line.rfind("FAIL ", 0), 0u) << r.line;
  EXPECT_NE(r.line.find("migration_by_first_starter"), std::string::npos) << r.line;
  const std::string dir = out + "/migration_without_lock-live";
  EXPECT_EQ(r.report_dir, dir);
  EXPECT_NE(r.line.find("-> " + dir), std::string::npos) << r.line;  // the FAIL line names it
  for (const char* f : {"report.json", "report.md", "report.html", "summary.txt", "history.jsonl"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  // The run's folder keeps what the processes wrote.
  for (const char* f : {"harness.jsonl", "app1.log", "app2.log", "app3.log", "app1-0.jsonl", "app1-1.jsonl"})
    EXPECT_TRUE(fs::exists(run_dir + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(run_dir + "/report.json"));
  const std::string json = read_all(dir + "/report.json");
  const std::string md = read_all(dir + "/report.md");
  const std::string html = read_all(dir + "/report.html");
  for (const std::string* text : {&json, &md, &html}) {
    EXPECT_NE(text->find("migration_by_first_starter"), std::string::npos);
    EXPECT_NE(text->find("both migrate schema 10.5"), std::string::npos);
  }
  EXPECT_NE(json.find("\"result\": \"FAIL\""), std::string::npos) << json.substr(0, 600);
  EXPECT_NE(json.find("\"mode\": \"live\""), std::string::npos) << json.substr(0, 600);
  EXPECT_NE(md.find("faultline live "), std::string::npos);  // how to run it again
  // The merged history in the folder is the one the invariants judged.
  std::size_t lines = 0;
  {
    std::ifstream in(dir + "/history.jsonl");
    for (std::string line; std::getline(in, line);) ++lines;
  }
  EXPECT_EQ(lines, r.history.size());
  fs::remove_all(out);
  fs::remove_all(run_dir);
}

// The control: the same operations with the bug off migrate once, hold, and
// write no report (a passing run's folder has the raw files only).
TEST(LiveReport, ControlBugOffMigratesOnceHoldsAndWritesNoReport) {
  if (!fs::exists(std::string(live::kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
  LoadResult loaded = load_scenario(source_dir() + "/scenarios/live/migration_without_lock.toml");
  ASSERT_TRUE(loaded.ok());
  Scenario s = *loaded.scenario;
  ASSERT_EQ(s.cluster.bugs.size(), 1u);
  s.cluster.bugs.clear();
  s.expect.violations.clear();
  LiveOptions o;
  o.node_binary = FL_FAULTLINE_BINARY;
  const Ports p = free_ports();
  o.base_port = p.gossip;
  o.http_port = p.http;
  const std::string dir = (fs::temp_directory_path() / ("fl-livereport-ctl-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  o.work_dir = dir;  // kept by the caller: the test looks inside
  std::stringstream err;
  const LiveResult r = run_live(s, o, err);
  EXPECT_EQ(r.exit_code, 0) << r.line << "\n" << err.str();
  EXPECT_EQ(migrations_to(r, kSchema105), 1u);
  EXPECT_TRUE(r.report_dir.empty());
  EXPECT_TRUE(fs::exists(dir + "/harness.jsonl"));
  EXPECT_FALSE(fs::exists(dir + "/report.json"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fl::harness
