// A 3-server live cluster on a real PostgreSQL (scenarios/live/basic.toml):
// app1 is elected; after its kill -9, app2 takes over; frames from outside the
// cluster (random bytes, a wrong HMAC, a wrong version, a bad length) sent to
// app2 meanwhile are rejected and app2 keeps serving. Everything the run
// started is stopped and its folder removed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/live_run.h"
#include "harness/scenario_loader.h"
#include "live/frame.h"
#include "live/postgres.h"
#include "tests/live/live_helpers.h"

namespace fl::harness {
namespace {

using live_test::source_dir;
using live_test::read_all;

namespace fs = std::filesystem;

// Connects to 127.0.0.1:port and writes `bytes`; true when written.
bool send_raw(std::uint16_t port, const std::vector<std::uint8_t>& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::close(fd);
  return ok;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(LiveCluster, ElectsApp1ThenApp2AfterKill9AndRejectsStrangersFrames) {
  if (!fs::exists(std::string(live::kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
  LoadResult loaded = load_scenario(source_dir() + "/scenarios/live/basic.toml");
  ASSERT_TRUE(loaded.ok());
  LiveOptions o;
  o.node_binary = FL_FAULTLINE_BINARY;
  o.base_port = live::free_port_range(3);
  ASSERT_NE(o.base_port, 0);
  o.http_port = live::free_port_range(3);
  ASSERT_NE(o.http_port, 0);
  const std::string dir = (fs::temp_directory_path() / ("fl-livetest-" + std::to_string(::getpid()))).string();
  o.work_dir = dir;
  const std::uint16_t app2_port = static_cast<std::uint16_t>(o.base_port + 1);

  // Strangers' frames reach app2 while the cluster runs (before and after the crash).
  std::thread stranger([&] {
    // Once app2 listens (PostgreSQL's start comes first, and takes longer on
    // a loaded machine): a fixed delay made this depend on the machine.
    for (int i = 0; i < 300 && !send_raw(app2_port, {}); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    using namespace fl::live;
    Frame f{FrameType::message, NodeId{0}, 1, Message{Coordinator{1}}};
    auto forged = *encode_frame(f, "not-the-cluster-secret");
    auto wrong_version = *encode_frame(f, "x");
    wrong_version[9] ^= 0x7;
    std::vector<std::uint8_t> bad_length{0xff, 0xff, 0xff, 0xff, 1, 2, 3};
    std::vector<std::uint8_t> noise(300);
    for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<std::uint8_t>(i * 131 + 7);
    for (const auto* bytes : {&forged, &wrong_version, &bad_length, &noise}) send_raw(app2_port, *bytes);
  });
  // Run through --compare (the simulator first, then live), so that the one
  // live run (about 40 s) checks both; --time-scale 0.95 on both sides keeps
  // app2's takeover (crash + about 22 s) inside the shortened duration.
  o.time_scale = 0.95;
  std::stringstream err;
  const CompareResult cmp = compare_live(*loaded.scenario, o, err);
  const LiveResult& r = cmp.live;
  stranger.join();

  // Every node process was ended: nothing listens on the gossip ports.
  for (std::uint16_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(send_raw(static_cast<std::uint16_t>(o.base_port + i), {1})) << "app" << i + 1 << " still listens";
  }
  const std::string app2_log = read_all(dir + "/app2.log");
  fs::remove_all(dir);
  ASSERT_EQ(r.exit_code, 0) << r.line << "\n" << err.str();

  // The history: app1 leads first; after its crash, app2 leads (before settle
  // restarts app1).
  auto name = [&](NodeId n) { return n.value < r.node_names.size() ? r.node_names[n.value] : "-"; };
  std::vector<std::string> leaders;
  bool crashed = false, app2_after_crash = false;
  std::string trace;
  for (const auto& e : r.history) {
    if (e.is<LeaderBegin>() || e.is<ProcessCrashed>() || e.is<SettleBegin>() || e.is<PeerDown>() ||
        e.is<ServerServing>())
      trace += format_duration(e.at.time_since_epoch()) + " " + name(e.node) + " " + std::string(e.name()) + "\n";
    if (e.is<LeaderBegin>()) leaders.push_back(name(e.node));
    if (e.is<ProcessCrashed>() && name(e.node) == "app1") crashed = true;
    if (e.is<SettleBegin>()) break;
    if (crashed && e.is<LeaderBegin>() && name(e.node) == "app2") app2_after_crash = true;
  }
  ASSERT_FALSE(leaders.empty()) << trace;
  EXPECT_EQ(leaders.front(), "app1") << trace;
  EXPECT_TRUE(crashed) << trace;
  EXPECT_TRUE(app2_after_crash) << trace;
  // Each stranger's connection was rejected and logged; app2 kept serving
  // (it took over above).
  EXPECT_GE(count_of(app2_log, "rejected frame"), 4u) << app2_log;
  EXPECT_NE(app2_log.find("bad_hmac"), std::string::npos) << app2_log;
  EXPECT_NE(app2_log.find("bad_version"), std::string::npos) << app2_log;
  EXPECT_NE(app2_log.find("bad_length"), std::string::npos) << app2_log;

  // Sim against live: the same leaders in the same order, the same servers
  // marked down, the same verdicts; times within the noise.
  EXPECT_EQ(cmp.exit_code, 0) << cmp.table;
  auto row = [&](const std::string& what) -> const CompareRow* {
    for (const auto& x : cmp.rows)
      if (x.what == what) return &x;
    return nullptr;
  };
  for (const char* what : {"leader #1", "leader #2", "app2 marks app1 down", "app3 marks app1 down", "single_leader",
                           "leader_liveness"}) {
    const CompareRow* x = row(what);
    ASSERT_NE(x, nullptr) << what << "\n" << cmp.table;
    EXPECT_NE(x->mark, CompareRow::Mark::differs) << what << "\n" << cmp.table;
  }
  EXPECT_EQ(row("leader #1")->sim.substr(0, 4), "app1") << cmp.table;
  EXPECT_EQ(row("leader #2")->live.substr(0, 4), "app2") << cmp.table;
  EXPECT_NE(cmp.table.find("compare: "), std::string::npos) << cmp.table;
  EXPECT_NE(cmp.table.find("time-scale"), std::string::npos) << cmp.table;
}

}  // namespace
}  // namespace fl::harness
