// Shrinking (issue 9): a planted bug's scenario padded with irrelevant faults
// shrinks to at most 3 faults that still break the same invariant, and the
// written repro fails the same way under `faultline run`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "harness/scenario_loader.h"
#include "harness/scenario_writer.h"
#include "harness/shrink.h"
#include "tests/harness/cli_helpers.h"

namespace fl::harness {
namespace {

using test::source_dir;

// scenarios/bugs/down_after_one_failure.toml, plus faults that have nothing to
// do with the bug (a skewed clock, a crash and restart, a lagging replica,
// loss on a link the bug does not need), and without its [expect] (so it fails).
std::string padded_bug_scenario() {
  std::ifstream in(source_dir() / "scenarios/bugs/down_after_one_failure.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text = text.substr(0, text.find("[invariants]"));
  text += R"(
[[faults]]
at = "10s"
kind = "clock_skew"
node = "app2"
offset = "+1s"

[[faults]]
at = "20s"
kind = "replica_lag"
node = "db-replica1"
lag = "5s"
for = "30s"

[[faults]]
at = "2m"
kind = "crash"
node = "app2"
restart_after = "10s"

[[faults]]
at = "3m"
kind = "storage_outage"
for = "20s"

[[faults]]
at = "3m30s"
kind = "clock_step"
node = "app3"
by = "-1s"

[invariants]
check = ["status_accuracy"]
)";
  return text;
}

TEST(Shrink, PlantedBugWithIrrelevantFaultsShrinksToAtMostThreeFaults) {
  LoadResult r = parse_scenario(padded_bug_scenario(), "padded.toml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].str());
  ASSERT_EQ(r.scenario->faults.size(), 6u);
  ShrinkOptions o;
  o.seed = 1;
  const ShrinkResult s = shrink_scenario(*r.scenario, o);
  ASSERT_TRUE(s.ok) << s.error;
  EXPECT_EQ(s.invariant, "status_accuracy");
  EXPECT_LE(s.scenario.faults.size(), 3u) << scenario_size(s.scenario);
  EXPECT_LE(s.scenario.duration, r.scenario->duration);
  EXPECT_TRUE(s.same_failure);
  EXPECT_FALSE(s.budget_exhausted) << s.candidates << " candidates, " << s.wall_seconds << "s";
  EXPECT_EQ(s.scenario.seed, 1u);
  EXPECT_TRUE(s.scenario.expect.violations.empty());

  // Written out and run from the file: fails, first with the same invariant.
  const auto dir = std::filesystem::temp_directory_path() / "faultline-shrink-test";
  std::filesystem::remove_all(dir);
  const auto path = test::write_file(dir, "repro.toml", write_scenario(s.scenario));
  const auto run = test::cli({"run", path});
  EXPECT_EQ(run.code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find(" status_accuracy at "), std::string::npos) << run.out;
}

TEST(Shrink, TheCommandWritesAReproThatFailsTheSameWay) {
  const auto dir = std::filesystem::temp_directory_path() / "faultline-shrink-cli-test";
  std::filesystem::remove_all(dir);
  const auto file = test::write_file(dir, "padded.toml", padded_bug_scenario());
  const auto o = test::cli({"shrink", file, "--seed", "2", "--out", (dir / "out").string()});
  ASSERT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("before: faults=6"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("after:  faults="), std::string::npos) << o.out;
  const auto repro = dir / "out" / "padded-2" / "repro.toml";
  ASSERT_TRUE(std::filesystem::exists(repro)) << o.out;
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "padded-2" / "report.json"));
  const auto run = test::cli({"run", repro.string()});
  EXPECT_EQ(run.code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find("seed=2 status_accuracy at "), std::string::npos) << run.out;
}

TEST(Shrink, NothingToShrinkWhenTheSeedHolds) {
  LoadResult r = load_scenario((source_dir() / "scenarios/election_bully_steady.toml").string());
  ASSERT_TRUE(r.ok());
  ShrinkOptions o;
  o.seed = 1;
  const ShrinkResult s = shrink_scenario(*r.scenario, o);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.error.find("nothing to shrink"), std::string::npos) << s.error;
  const auto cli = test::cli({"shrink", (source_dir() / "scenarios/election_bully_steady.toml").string()});
  EXPECT_EQ(cli.code, 1);
}

}  // namespace
}  // namespace fl::harness
