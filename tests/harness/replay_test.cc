// Replay (issue 9): `faultline replay REPORT.json` re-runs a reported run and
// proves it is the same (trace hash), shows each node's state at a chosen
// virtual time without changing the run, refuses a report whose hash it does
// not reproduce (exit 3) and bad input (exit 2).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "harness/replay.h"
#include "tests/harness/cli_helpers.h"

namespace fl::harness {
namespace {

using test::source_dir;
using test::data;
using test::read_text;
std::filesystem::path temp_dir(const std::string& name) { return test::fresh_dir("replay", name); }

namespace fs = std::filesystem;
using test::cli;

// Runs replay_split_brain.toml with --out; returns its report.json.
fs::path failing_report(const fs::path& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"run", data("replay_split_brain.toml"), "--out", dir.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto o = cli(args);
  EXPECT_EQ(o.code, 1) << o.out << o.err;
  const auto report = dir / "replay_split_brain-1" / "report.json";
  EXPECT_TRUE(fs::exists(report)) << o.out;
  return report;
}

std::string believed_leader(const nlohmann::json& j, const std::string& node) {
  for (const auto& n : j["nodes"])
    if (n["name"] == node) return n["state"].value("believed_leader", "");
  return "(no " + node + ")";
}

TEST(Replay, ReproducesTheTraceHashOfAFailingRun) {
  const auto dir = temp_dir("hash");
  const auto report = failing_report(dir);
  const auto j = nlohmann::json::parse(read_text(report));
  const auto o = cli({"replay", report.string()});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("trace hash " + j["trace_hash"].get<std::string>() + " matches the report"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("FAIL"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("single_leader"), std::string::npos) << o.out;
}

TEST(Replay, DumpStateShowsTheLeaderEachServerBelievesIn) {
  const auto dir = temp_dir("dump");
  const auto report = failing_report(dir);
  // Before the partition (1m) everyone follows app1; during it, app2 and app3
  // elect app2 while app1 still leads its side; after the heal (3m), app1 again.
  const auto before = cli({"replay", report.string(), "--until", "30s", "--dump-state", "--json"});
  ASSERT_EQ(before.code, 0) << before.err;
  const auto b = nlohmann::json::parse(before.out);
  EXPECT_EQ(b["state_at"], "30s");
  EXPECT_EQ(believed_leader(b, "app1"), "app1");
  EXPECT_EQ(believed_leader(b, "app2"), "app1");
  EXPECT_EQ(believed_leader(b, "app3"), "app1");
  EXPECT_TRUE(b["violations"].empty()) << "no violation before the partition";

  const auto during = cli({"replay", report.string(), "--until", "2m", "--dump-state", "--json"});
  ASSERT_EQ(during.code, 0) << during.err;
  const auto d = nlohmann::json::parse(during.out);
  EXPECT_EQ(believed_leader(d, "app1"), "app1");
  EXPECT_EQ(believed_leader(d, "app2"), "app2");
  EXPECT_EQ(believed_leader(d, "app3"), "app2");
  ASSERT_FALSE(d["violations"].empty());
  EXPECT_EQ(d["violations"][0]["invariant"], "single_leader");
  EXPECT_TRUE(d["hash_matches"].get<bool>()) << "the pause for the dump changed the run";
  // Every node is listed, with its process state; the database says its role.
  bool primary = false;
  for (const auto& n : d["nodes"]) {
    EXPECT_FALSE(n["process"].get<std::string>().empty());
    if (n["name"] == "db-primary") primary = n["state"]["role"] == "primary";
  }
  EXPECT_TRUE(primary);

  // The text form says the same for a person.
  const auto text = cli({"replay", report.string(), "--until", "2m", "--dump-state"});
  ASSERT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("state at 2m:"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("  app2 (running"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("believed_leader: app2"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("fault #1 at 1m: partition"), std::string::npos) << text.out;
}

TEST(Replay, DumpDoesNotChangeTheRun) {
  const auto dir = temp_dir("same");
  const auto report = failing_report(dir);
  ReplayOptions plain, dumped;
  dumped.until = seconds(100);
  dumped.dump_state = true;
  const ReplayResult a = replay(report.string(), plain);
  const ReplayResult b = replay(report.string(), dumped);
  ASSERT_EQ(a.exit_code, 0) << a.error;
  ASSERT_EQ(b.exit_code, 0) << b.error;
  EXPECT_EQ(a.run.trace_hash, b.run.trace_hash);
  EXPECT_EQ(a.run.events, b.run.events);
  ASSERT_TRUE(b.dumped_at.has_value());
  EXPECT_EQ(*b.dumped_at, Time{seconds(100)});
  EXPECT_FALSE(a.dumped_at.has_value());
}

TEST(Replay, TamperedHashExitsThreeWithBothHashes) {
  const auto dir = temp_dir("tamper");
  const auto report = failing_report(dir);
  auto j = nlohmann::ordered_json::parse(read_text(report));
  const std::string real = j["trace_hash"];
  const std::string fake = real == "0123456789abcdef" ? "fedcba9876543210" : "0123456789abcdef";
  j["trace_hash"] = fake;
  std::ofstream(report) << j.dump(2);
  const auto o = cli({"replay", report.string(), "--until", "2m", "--dump-state"});
  EXPECT_EQ(o.code, 3) << o.out << o.err;
  EXPECT_NE(o.err.find(fake), std::string::npos) << o.err;
  EXPECT_NE(o.err.find(real), std::string::npos) << o.err;
  EXPECT_EQ(o.out.find("state at"), std::string::npos) << "no dump of a run that is not the reported one";
}

TEST(Replay, AFuzzReportReplaysFromItsRepro) {
  const auto dir = temp_dir("fuzz");
  const auto f = cli({"fuzz", data("fuzz_down_after_one_failure.toml"), "--seeds", "20", "--out", dir.string(), "-q"});
  ASSERT_EQ(f.code, 1) << f.out << f.err;
  fs::path report;
  for (const auto& e : fs::directory_iterator(dir))
    if (fs::exists(e.path() / "report.json")) report = e.path() / "report.json";
  ASSERT_FALSE(report.empty()) << f.out;
  ASSERT_TRUE(fs::exists(report.parent_path() / "repro.toml"));
  const auto o = cli({"replay", report.string()});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("repro.toml"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("status_accuracy"), std::string::npos) << o.out;
  // The folder moved elsewhere (a CI artifact downloaded) still replays: the
  // repro beside report.json is preferred to the path recorded.
  const auto moved = temp_dir("fuzz-moved") / "artifact";
  fs::copy(report.parent_path(), moved, fs::copy_options::recursive);
  fs::remove_all(dir);
  const auto m = cli({"replay", (moved / "report.json").string()});
  EXPECT_EQ(m.code, 0) << m.out << m.err;
}

TEST(Replay, AStopAtFirstRunReplaysTheSameWay) {
  const auto dir = temp_dir("stop");
  const auto report = failing_report(dir, {"--stop-at-first"});
  const auto j = nlohmann::json::parse(read_text(report));
  ASSERT_TRUE(j["stopped_early"].get<bool>());
  const auto o = cli({"replay", report.string(), "--json"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  // After the stop, the dump comes from the same run continued.
  const auto late = cli({"replay", report.string(), "--until", "3m30s", "--dump-state", "--json"});
  ASSERT_EQ(late.code, 0) << late.err;
  EXPECT_EQ(nlohmann::json::parse(late.out)["state_at"], "3m30s");
}

TEST(Replay, BadInputExitsTwo) {
  const auto dir = temp_dir("bad");
  EXPECT_EQ(cli({"replay", (dir / "missing.json").string()}).code, 2);
  const auto not_json = test::write_file(dir, "not.json", "this is not json");
  auto o = cli({"replay", not_json});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("not JSON"), std::string::npos) << o.err;
  const auto other = test::write_file(dir, "other.json", "{\"schema\": \"something/1\"}");
  EXPECT_EQ(cli({"replay", other}).code, 2);
  const auto no_seed = test::write_file(
      dir, "noseed.json",
      "{\"schema\": \"faultline.report/2\", \"scenario\": {\"path\": \"x.toml\"}, \"trace_hash\": \"0000000000000001\"}");
  o = cli({"replay", no_seed});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("seed"), std::string::npos) << o.err;
  const auto gone = test::write_file(dir, "gone.json",
                                     "{\"schema\": \"faultline.report/2\", \"scenario\": {\"path\": \"" +
                                         (dir / "nowhere.toml").string() +
                                         "\"}, \"seed\": 1, \"trace_hash\": \"0000000000000001\"}");
  o = cli({"replay", gone});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("nowhere.toml"), std::string::npos) << o.err;
  const auto report = failing_report(dir / "run");
  o = cli({"replay", report.string(), "--until", "1h"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("outside the run"), std::string::npos) << o.err;
  EXPECT_EQ(cli({"replay", report.string(), "--until", "soon"}).code, 2);
  EXPECT_EQ(cli({"replay"}).code, 2);
}

}  // namespace
}  // namespace fl::harness
