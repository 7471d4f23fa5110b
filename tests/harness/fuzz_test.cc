// The fuzzer (issue 9): drawn schedules are valid (they load back through the
// loader when written out), meaningful (no heal before a network fault, no
// restart of a node that is up), deterministic per seed, within max_faults and
// the seed's swarm subset; `faultline fuzz` finds a planted bug from a scenario
// without its trigger, exits 0/1/2 as SCENARIOS.md says, and its shards
// partition the seeds.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "harness/fuzz.h"
#include "harness/fuzz_gen.h"
#include "harness/scenario_loader.h"
#include "harness/scenario_writer.h"
#include "tests/harness/cli_helpers.h"

namespace fl::harness {
namespace {

std::filesystem::path source_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}
std::string data(const char* name) { return (source_dir() / "tests/harness/data" / name).string(); }

Scenario load(const std::string& path) {
  LoadResult r = load_scenario(path);
  std::string errors;
  for (const auto& e : r.errors) errors += e.str() + "\n";
  EXPECT_TRUE(r.ok()) << errors;
  return r.ok() ? *r.scenario : Scenario{};
}

std::filesystem::path temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("faultline-fuzz-test-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Every rule a schedule must keep, as a list of what broke ("" : none).
std::string schedule_problems(const Scenario& base, const Schedule& schedule, std::uint64_t seed) {
  std::string problems;
  if (schedule.faults.size() > base.fuzz.max_faults) problems += "more than max_faults; ";
  if (schedule.enabled.empty()) problems += "no kind enabled; ";
  for (FaultKind k : schedule.enabled)
    if (std::find(base.fuzz.faults.begin(), base.fuzz.faults.end(), k) == base.fuzz.faults.end())
      problems += "enabled kind not in [fuzz] faults; ";
  bool network_before = false;
  std::set<std::string> crashed_for_good;
  for (std::size_t i = 0; i < schedule.faults.size(); ++i) {
    const Fault& f = schedule.faults[i];
    const std::string where = "fault #" + std::to_string(i + 1) + " " + std::string(to_string(f.kind)) + ": ";
    if (std::find(schedule.enabled.begin(), schedule.enabled.end(), f.kind) == schedule.enabled.end())
      problems += where + "kind not in the seed's swarm subset; ";
    if (i > 0 && f.at < schedule.faults[i - 1].at) problems += where + "out of time order; ";
    if (f.at.time_since_epoch() >= base.duration) problems += where + "at beyond the duration; ";
    if (f.for_ && *f.for_ > base.duration) problems += where + "for longer than the duration; ";
    switch (f.kind) {
      case FaultKind::partition:
      case FaultKind::one_way:
      case FaultKind::loss:
      case FaultKind::duplicate:
      case FaultKind::reorder:
      case FaultKind::delay: network_before = true; break;
      case FaultKind::heal:
        if (!network_before) problems += where + "heal with no network fault before it; ";
        break;
      case FaultKind::crash:
        if (!f.restart_after) crashed_for_good.insert(f.nodes.at(0).name);
        break;
      case FaultKind::restart:
        if (!crashed_for_good.erase(f.nodes.at(0).name)) problems += where + "restart of a node not down; ";
        break;
      case FaultKind::pause:
        if (!f.for_) problems += where + "pause without for; ";
        break;
      default: break;
    }
  }
  // Valid by construction: the loader accepts the written scenario.
  const std::string text = write_scenario(fuzzed_scenario(base, schedule, seed));
  LoadResult back = parse_scenario(text, "fuzzed.toml");
  for (const auto& e : back.errors) problems += e.str() + "; ";
  if (back.ok() && back.scenario->faults.size() != schedule.faults.size()) problems += "fault count changed; ";
  return problems;
}

TEST(FuzzSchedule, EverySeedDrawsAValidMeaningfulSchedule) {
  for (const char* file : {"fuzz_small.toml", "fuzz_down_after_one_failure.toml"}) {
    const Scenario base = load(data(file));
    for (std::uint64_t seed = 1; seed <= 300; ++seed) {
      const Schedule schedule = draw_schedule(base, seed);
      EXPECT_EQ(schedule_problems(base, schedule, seed), "") << file << " seed " << seed;
    }
  }
}

// The same generator through RapidCheck: valid for every draw sequence,
// including the ones RapidCheck's shrinking produces.
RC_GTEST_PROP(FuzzSchedule, RapidCheckDrawsAreValidToo, ()) {
  static const Scenario base = load(data("fuzz_small.toml"));
  const Schedule schedule = *gen_schedule(base);
  RC_ASSERT(schedule_problems(base, schedule, 1) == "");
}

TEST(FuzzSchedule, SameSeedSameScheduleDifferentSeedsDiffer) {
  const Scenario base = load(data("fuzz_small.toml"));
  std::set<std::string> texts;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    const std::string a = write_scenario(fuzzed_scenario(base, seed));
    const std::string b = write_scenario(fuzzed_scenario(base, seed));
    EXPECT_EQ(a, b) << seed;
    texts.insert(a);
  }
  EXPECT_EQ(texts.size(), 50u);
}

TEST(FuzzSchedule, RespectsMaxFaultsAndTheSwarmSubset) {
  Scenario base = load(data("fuzz_small.toml"));
  const std::size_t kinds = applicable_kinds(base).size();
  ASSERT_EQ(kinds, base.fuzz.faults.size());
  std::set<std::size_t> subset_sizes, counts;
  for (std::uint32_t max : {0u, 1u, 3u}) {
    base.fuzz.max_faults = max;
    for (std::uint64_t seed = 1; seed <= 100; ++seed) {
      const Schedule s = draw_schedule(base, seed);
      EXPECT_LE(s.faults.size(), max);
      EXPECT_GE(s.enabled.size(), 1u);
      subset_sizes.insert(s.enabled.size());
      counts.insert(s.faults.size());
    }
  }
  EXPECT_GE(subset_sizes.size(), 4u) << "swarm: subsets of many sizes";
  EXPECT_FALSE(subset_sizes.count(0));
  EXPECT_TRUE(counts.count(3));
  // Without swarm every applicable kind is enabled on every seed.
  base.fuzz.swarm = false;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) EXPECT_EQ(draw_schedule(base, seed).enabled.size(), kinds);
}

TEST(FuzzSchedule, OnlyKindsThatApplyToTheCluster) {
  Scenario base = load(data("fuzz_small.toml"));
  base.cluster.app_servers = 1;
  base.database.replicas = 0;
  for (FaultKind k : applicable_kinds(base)) {
    EXPECT_NE(k, FaultKind::partition);
    EXPECT_NE(k, FaultKind::gossip_send_failure);
    EXPECT_NE(k, FaultKind::db_failover);
    EXPECT_NE(k, FaultKind::replica_lag);
  }
  for (std::uint64_t seed = 1; seed <= 100; ++seed)
    EXPECT_EQ(schedule_problems(base, draw_schedule(base, seed), seed), "") << seed;
  base.fuzz.faults = {FaultKind::heal, FaultKind::restart};
  EXPECT_TRUE(applicable_kinds(base).empty());
  EXPECT_NE(fuzz_config_error(base), "");
}

TEST(FuzzSchedule, FuzzedScenarioReplacesFaultsAndClearsExpect) {
  Scenario base = load(data("fuzz_down_after_one_failure.toml"));
  base.faults.push_back(Fault{});
  base.expect.violations.push_back(NameRef{"status_accuracy", {}});
  const Scenario s = fuzzed_scenario(base, 5);
  EXPECT_EQ(s.seed, 5u);
  EXPECT_TRUE(s.expect.violations.empty());
  EXPECT_FALSE(s.fuzz.present);
  EXPECT_EQ(s.faults.size(), draw_schedule(base, 5).faults.size());
  EXPECT_NE(s.name.find("fuzz seed 5"), std::string::npos);
}

// ---- the command line ----------------------------------------------------------

using test::cli;

TEST(FuzzCli, NoFuzzTableIsAUsageErrorNamingTheFile) {
  const auto o = cli({"fuzz", (source_dir() / "scenarios/bugs/down_after_one_failure.toml").string()});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("down_after_one_failure.toml: no [fuzz] table"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("max_faults"), std::string::npos) << o.err;
}

TEST(FuzzCli, BadScenarioIsAUsageErrorWithItsPosition) {
  const auto dir = temp_dir("bad");
  const auto path = test::write_file(dir, "bad.toml", "duration = \"1m\"\n[fuzz]\nfaults = [\"partiton\"]\n");
  const auto o = cli({"fuzz", path});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("bad.toml:3:"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("did you mean \"partition\""), std::string::npos) << o.err;
  EXPECT_EQ(cli({"fuzz", data("fuzz_small.toml"), "--shard", "3/3"}).code, 2);
  EXPECT_EQ(cli({"fuzz", data("fuzz_small.toml"), "--for", "soon"}).code, 2);
}

TEST(FuzzCli, AllSeedsHoldingExitsZero) {
  const auto dir = temp_dir("ok");
  const auto path = test::write_file(dir, "ok.toml", R"(name = "ok"
duration = "3m"
[cluster]
app_servers = 3
leader_election = "db_lease"
[clients]
count = 3
[invariants]
check = ["single_leader", "no_lost_writes"]
[fuzz]
faults = ["clock_step", "crash", "restart"]
max_faults = 4
swarm = true
)");
  const auto o = cli({"fuzz", path, "--seeds", "20", "--jobs", "2"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("fuzz: 20 seeds, 0 failed, "), std::string::npos) << o.out;
  EXPECT_NE(o.err.find("faultline: 20 passed, 0 failed"), std::string::npos) << o.err;
}

// The planted bug, from a scenario without its trigger: found, shrunk to at
// most 3 faults, and the repro fails the same way under `faultline run`.
TEST(FuzzCli, FindsThePlantedBugShrinksItAndTheReproFailsTheSameWay) {
  const auto dir = temp_dir("planted");
  const auto o = cli({"fuzz", data("fuzz_down_after_one_failure.toml"), "--seeds", "50", "--out", dir.string()});
  EXPECT_EQ(o.code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("FAIL "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("status_accuracy"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(" 1 failed, "), std::string::npos) << o.out;  // stops at the first failure
  EXPECT_NE(o.out.find("the repro fails the same way"), std::string::npos) << o.out;
  std::vector<std::string> repros;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().filename() == "repro.toml") repros.push_back(e.path().string());
  ASSERT_EQ(repros.size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(repros[0]).parent_path() / "report.json"));
  const Scenario repro = load(repros[0]);
  EXPECT_LE(repro.faults.size(), 3u);
  EXPECT_TRUE(repro.expect.violations.empty());
  const auto run = cli({"run", repros[0]});
  EXPECT_EQ(run.code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find("FAIL "), std::string::npos);
  EXPECT_NE(run.out.find(" status_accuracy at "), std::string::npos) << run.out;
}

std::set<std::string> failing_seeds(const std::string& out) {
  std::set<std::string> seeds;
  std::size_t pos = 0;
  while ((pos = out.find("FAIL ", pos)) != std::string::npos) {
    const auto s = out.find(" seed=", pos);
    seeds.insert(out.substr(s + 6, out.find(' ', s + 6) - (s + 6)));
    ++pos;
  }
  return seeds;
}

TEST(FuzzCli, ShardsPartitionTheSeeds) {
  const std::string file = data("fuzz_down_after_one_failure.toml");
  const auto all = cli({"fuzz", file, "--seeds", "30", "--keep-going", "--no-shrink", "--jobs", "2"});
  EXPECT_EQ(all.code, 1);
  const auto expected = failing_seeds(all.out);
  ASSERT_GE(expected.size(), 5u);
  ASSERT_LT(expected.size(), 30u) << "some seeds must pass for the partition to mean something";
  std::set<std::string> united;
  std::size_t judged = 0;
  for (const char* shard : {"0/3", "1/3", "2/3"}) {
    const auto part = cli({"fuzz", file, "--seeds", "30", "--keep-going", "--no-shrink", "--shard", shard});
    for (const auto& s : failing_seeds(part.out)) {
      EXPECT_EQ(std::stoull(s) % 3, std::uint64_t(shard[0] - '0')) << shard;
      EXPECT_TRUE(united.insert(s).second) << "seed " << s << " in two shards";
    }
    judged += 10;
    EXPECT_NE(part.out.find("fuzz: 10 seeds, "), std::string::npos) << part.out;
  }
  EXPECT_EQ(united, expected);
  EXPECT_EQ(judged, 30u);
}

// Without --keep-going the judged seeds stop at the lowest failing seed,
// whatever the number of threads.
TEST(FuzzCli, FirstFailureIsTheSameWithAnyNumberOfJobs) {
  const std::string file = data("fuzz_small.toml");
  const auto one = cli({"fuzz", file, "--seeds", "400", "--no-shrink"});
  const auto two = cli({"fuzz", file, "--seeds", "400", "--no-shrink", "--jobs", "2"});
  EXPECT_EQ(one.code, two.code);
  EXPECT_EQ(failing_seeds(one.out), failing_seeds(two.out));
  EXPECT_EQ(one.out.substr(0, one.out.find("fuzz: ")), two.out.substr(0, two.out.find("fuzz: ")));
  auto counts = [](const std::string& out) {
    const auto a = out.find("fuzz: ");
    return a == std::string::npos ? std::string() : out.substr(a, out.find(" failed", a) - a);
  };
  EXPECT_NE(counts(one.out), "");
  EXPECT_EQ(counts(one.out), counts(two.out));
}

}  // namespace
}  // namespace fl::harness
