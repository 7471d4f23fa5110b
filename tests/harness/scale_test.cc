// Big runs are visible and bounded (issue 12): the memory budget (--max-memory,
// exit 2 with a clear message), the progress line (at most a few a second, on
// the wall clock outside the run), validate's estimate, and the loader's limits.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "harness/cli.h"
#include "harness/run_watch.h"
#include "harness/scenario_loader.h"
#include "tests/harness/cli_helpers.h"

namespace fl::harness {
namespace {

using test::cli;
using test::CliOutcome;

std::string temp_file(const std::string& name, const std::string& text) {
  return test::write_file(std::filesystem::temp_directory_path() / "faultline_scale_test", name, text);
}

const char* kSmall = "duration = \"5m\"\n[cluster]\napp_servers = 3\n[clients]\ncount = 20\n";

TEST(MaxMemory, AScenarioEstimatedAboveTheBudgetIsRefusedBeforeItRuns) {
  const std::string file = temp_file("small.toml", kSmall);
  const CliOutcome o = cli({"run", file, "--max-memory", "64K"});
  EXPECT_EQ(o.code, kExitUsage) << o.out << o.err;
  EXPECT_NE(o.err.find("refused: estimate:"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("above the memory budget of 64 KiB"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("--max-memory"), std::string::npos) << o.err;
  EXPECT_EQ(o.out, "") << "nothing ran";
  // The default budget (half the machine) lets it run to its end.
  EXPECT_EQ(cli({"run", file}).code, kExitOk);
}

TEST(MaxMemory, ARunThatGrowsAboveTheBudgetStopsWithExitTwoAndSaysWhy) {
  const std::string file = temp_file("small.toml", kSmall);
  LoadResult loaded = load_scenario(file);
  ASSERT_TRUE(loaded.ok());
  // A budget just above the estimate passes the up-front check; the process
  // (in which the run happens) already holds more than that, so the in-run
  // check, which reads the resident memory, must stop it.
  const auto budget = std::uint64_t(estimate(*loaded.scenario).memory_bytes) + (1u << 20);
  std::vector<char> ballast(budget + (64u << 20), 1);  // touched: resident
  ASSERT_GT(resident_bytes(), budget);
  const CliOutcome o = cli({"run", file, "--max-memory", std::to_string(budget)});
  EXPECT_EQ(o.code, kExitUsage) << o.out << o.err;
  EXPECT_NE(o.err.find("went above the budget of"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("--max-memory"), std::string::npos) << o.err;
  EXPECT_EQ(ballast[budget / 2], 1);
}

TEST(MaxMemory, ABudgetThatIsNoSizeIsAUsageError) {
  const std::string file = temp_file("small.toml", kSmall);
  for (const char* bad : {"lots", "12Q", "0", "-1G"}) {
    const CliOutcome o = cli({"run", file, "--max-memory", bad});
    EXPECT_EQ(o.code, kExitUsage) << bad;
    EXPECT_NE(o.err.find("is not a size"), std::string::npos) << bad << ": " << o.err;
  }
}

TEST(MaxMemory, SizesParse) {
  EXPECT_EQ(parse_size("1048576"), 1048576u);
  EXPECT_EQ(parse_size("512M"), 512ull << 20);
  EXPECT_EQ(parse_size("2G"), 2ull << 30);
  EXPECT_EQ(parse_size("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_size("300MB"), 300ull << 20);
  EXPECT_EQ(parse_size("1.5G"), 3ull << 29);
  EXPECT_EQ(parse_size("64k"), 64ull << 10);
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("G"));
  EXPECT_FALSE(parse_size("5X"));
  EXPECT_FALSE(parse_size("99999999999999T"));
  EXPECT_GT(default_max_memory(), 0u);
}

TEST(Progress, AtMostFourLinesASecondOnTheWallClockAndNothingForShortRuns) {
  double wall = 100.0;
  std::ostringstream err;
  RunWatch watch(err, "big.toml", 0, true, [&] { return wall; }, [] { return std::uint64_t(300) << 20; });
  const Time end = kTimeZero + minutes(10);
  // Under 0.25 s of wall time: nothing.
  wall = 100.1;
  EXPECT_EQ(watch(kTimeZero + seconds(10), end, 1000), "");
  EXPECT_EQ(err.str(), "");
  int lines = 0;
  for (int i = 1; i <= 100; ++i) {  // 100 calls over 2 s of wall time
    wall = 100.1 + 0.02 * i;
    const std::size_t before = err.str().size();
    EXPECT_EQ(watch(kTimeZero + seconds(10 + i), end, 1000 + 500 * i), "");
    lines += err.str().size() != before;
  }
  EXPECT_GE(lines, 6);
  EXPECT_LE(lines, 9);  // every 0.25 s at most
  const std::string text = err.str();
  EXPECT_NE(text.find("big.toml: sim "), std::string::npos) << text;
  EXPECT_NE(text.find("events/s"), std::string::npos) << text;
  EXPECT_NE(text.find("left"), std::string::npos) << text;
  EXPECT_NE(text.find("300 MiB"), std::string::npos) << text;
}

TEST(Progress, TheLineSaysWhereTheRunIsAndWhatIsLeft) {
  const std::string line = progress_line("x.toml", minutes(30), minutes(60), 2'000'000, 10.0, 0);
  // 30 min simulated in 10 s: 180x, 200k events/s, 30 min left at 180x is 10 s.
  EXPECT_EQ(line, "x.toml: sim 30m of 1h0m (50%), 200.0k events/s, 180x, 10s left") << line;
}

TEST(Validate, PrintsAnEstimateForBigScenariosOnly) {
  const std::string big = temp_file("big.toml",
                                    "duration = \"10m\"\n[cluster]\napp_servers = 5\n[clients]\ncount = 10000\n"
                                    "channels = 64\npost_interval = \"5m\"\n");
  const CliOutcome o = cli({"validate", big});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_NE(o.out.find("estimate: about"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("MiB peak memory"), std::string::npos) << o.out;
  const std::string small = temp_file("small.toml", kSmall);
  EXPECT_EQ(cli({"validate", small}).out, "OK " + small + "\n");
}

TEST(Validate, TheEstimateGrowsWithClientsServersAndDuration) {
  LoadResult base = parse_scenario("duration = \"10m\"\n[clients]\ncount = 500\n", "a.toml");
  ASSERT_TRUE(base.ok());
  Scenario more = *base.scenario;
  more.clients.count = 5000;
  EXPECT_GT(estimate(more).events, estimate(*base.scenario).events);
  EXPECT_GT(estimate(more).memory_bytes, estimate(*base.scenario).memory_bytes);
  Scenario servers = *base.scenario;
  servers.cluster.app_servers = 32;
  EXPECT_GT(estimate(servers).events, estimate(*base.scenario).events);
  Scenario longer = *base.scenario;
  longer.duration = hours(10);
  EXPECT_GT(estimate(longer).wall_seconds, estimate(*base.scenario).wall_seconds);
}

TEST(LoaderLimits, ServersClientsDurationAndFileSizeAreBounded) {
  auto errors_of = [](const std::string& text) {
    LoadResult r = parse_scenario(text, "limits.toml");
    std::string all;
    for (const auto& e : r.errors) all += e.str() + "\n";
    return all;
  };
  EXPECT_EQ(errors_of("duration = \"10m\"\n[cluster]\napp_servers = 32\n[clients]\ncount = 10000\n"), "");
  EXPECT_NE(errors_of("duration = \"10m\"\n[cluster]\napp_servers = 33\n"), "");
  EXPECT_NE(errors_of("duration = \"10m\"\n[clients]\ncount = 10001\n"), "");
  EXPECT_EQ(errors_of("duration = \"168h\"\n"), "");
  EXPECT_NE(errors_of("duration = \"169h\"\n"), "");
  EXPECT_NE(errors_of("duration = \"10m\"\n[clients]\nchannels = 65\n"), "");
  std::string huge = "duration = \"10m\"\n";
  huge += "# " + std::string(kMaxScenarioBytes, 'x') + "\n";
  EXPECT_NE(errors_of(huge), "");
}

}  // namespace
}  // namespace fl::harness
