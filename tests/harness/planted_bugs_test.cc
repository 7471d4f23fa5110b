// Every planted bug proven, with its control (issue 8, item 6): each
// scenarios/bugs/*.toml runs twice on its own seed.
//  - bug on, as shipped: PASS, i.e. every expected violation is found at or
//    after the scenario's first fault or operation (when it has one: some bugs,
//    leader_highest_id say, show in a fault-free cluster), and nothing else breaks;
//  - bug off: the same scenario without `bugs` and without `[expect]`: PASS,
//    i.e. every invariant it judges holds.
// A scenario that broke with its bug off would show the model's fault, not the
// bug's; one whose violation came in start-up would not show the path it is
// named for. Both are failures here.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/runner.h"
#include "harness/scenario_loader.h"

namespace fl::harness {
namespace {

std::filesystem::path source_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

std::vector<std::string> bug_scenarios() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(source_dir() / "scenarios" / "bugs"))
    if (e.is_regular_file() && e.path().extension() == ".toml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

class PlantedBug : public ::testing::TestWithParam<std::string> {};

TEST_P(PlantedBug, FoundWithTheBugOnAndHoldsWithItOff) {
  LoadResult loaded = load_scenario(GetParam());
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front().str());
  Scenario on = *loaded.scenario;
  ASSERT_FALSE(on.cluster.bugs.empty()) << "a scenario under scenarios/bugs/ turns a bug on";
  ASSERT_FALSE(on.expect.violations.empty()) << "a scenario under scenarios/bugs/ expects its bug's violation";
  RunOptions options;
  options.seed = on.seed;
  const RunResult with_bug = run_scenario(on, options);
  EXPECT_EQ(with_bug.outcome, Outcome::pass) << "bug on: " << result_line(with_bug);

  Scenario off = on;
  off.cluster.bugs.clear();
  off.expect.violations.clear();
  const RunResult control = run_scenario(off, options);
  EXPECT_EQ(control.outcome, Outcome::pass) << "bug off (control): " << result_line(control);
  EXPECT_NE(control.trace_hash, with_bug.trace_hash) << "the bug changed nothing in the run";
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  return std::filesystem::path(info.param).stem().string();
}

INSTANTIATE_TEST_SUITE_P(Library, PlantedBug, ::testing::ValuesIn(bug_scenarios()), test_name);

}  // namespace
}  // namespace fl::harness
