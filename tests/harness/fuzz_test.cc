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
#include <map>
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

using test::source_dir;
using test::data;
std::filesystem::path temp_dir(const std::string& name) { return test::fresh_dir("fuzz", name); }

Scenario load(const std::string& path) {
  LoadResult r = load_scenario(path);
  std::string errors;
  for (const auto& e : r.errors) errors += e.str() + "\n";
  EXPECT_TRUE(r.ok()) << errors;
  return r.ok() ? *r.scenario : Scenario{};
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
  // The timing profile is part of what the seed drew: written, read back the same.
  if (back.ok()) {
    const TimingConfig& a = schedule.timing;
    const TimingConfig& b = back.scenario->timing;
    if (a.latency_tail != b.latency_tail || a.latency_tail_factor != b.latency_tail_factor || a.jitter != b.jitter ||
        a.clock_drift_ppm != b.clock_drift_ppm || a.timer_late != b.timer_late ||
        a.timer_late_max != b.timer_late_max || a.commit_latency != b.commit_latency)
      problems += "timing profile changed on the way through the file; ";
  }
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

// ---- timing profiles (the simulator stops being kind) ------------------------

TEST(FuzzTiming, EachSeedDrawsItsOwnProfileWithinTheBounds) {
  const Scenario base = load(data("fuzz_small.toml"));
  ASSERT_TRUE(base.fuzz.timing);  // on by default
  int unkind = 0, tail = 0, jitter = 0, drift = 0, late = 0, commit = 0;
  std::set<std::string> profiles;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const TimingConfig t = draw_schedule(base, seed).timing;
    unkind += t.any();
    if (t.latency_tail > 0) {
      ++tail;
      EXPECT_GE(t.latency_tail, 0.001);
      EXPECT_LE(t.latency_tail, 0.05);
      EXPECT_GE(t.latency_tail_factor, 2);
      EXPECT_LE(t.latency_tail_factor, 100);
    }
    if (t.jitter.count() > 0) {
      ++jitter;
      EXPECT_LE(t.jitter, milliseconds(50));
    }
    if (t.clock_drift_ppm != 0) {
      ++drift;
      EXPECT_GE(t.clock_drift_ppm, 1);
      EXPECT_LE(t.clock_drift_ppm, 500);
    }
    if (t.timer_late > 0) {
      ++late;
      EXPECT_LE(t.timer_late, 0.2);
      EXPECT_GE(t.timer_late_max, milliseconds(10));
      EXPECT_LE(t.timer_late_max, seconds(2));
    }
    if (t.commit_latency.hi.count() > 0) {
      ++commit;
      EXPECT_LE(t.commit_latency.lo, t.commit_latency.hi);
      EXPECT_LE(t.commit_latency.hi, milliseconds(505));
    }
    // Recorded in the fuzzed scenario, so that repro.toml and replay carry it.
    const Scenario fuzzed = fuzzed_scenario(base, seed);
    EXPECT_EQ(fuzzed.timing.jitter, t.jitter);
    EXPECT_EQ(fuzzed.timing.commit_latency, t.commit_latency);
    if (t.any()) EXPECT_NE(write_scenario(fuzzed).find("\n[timing]\n"), std::string::npos) << seed;
    profiles.insert(std::to_string(t.latency_tail) + "/" + std::to_string(t.jitter.count()) + "/" +
                    std::to_string(t.clock_drift_ppm) + "/" + std::to_string(t.timer_late) + "/" +
                    std::to_string(t.commit_latency.hi.count()));
  }
  // Each knob on about half the time; nearly every seed unkind somehow (1/32 kind).
  for (int on : {tail, jitter, drift, late, commit}) {
    EXPECT_GT(on, 60);
    EXPECT_LT(on, 140);
  }
  EXPECT_GT(unkind, 180);
  EXPECT_LT(unkind, 200);  // and a few seeds run on the kind simulator
  EXPECT_GT(profiles.size(), 150u);
}

TEST(FuzzTiming, TheProfileHasItsOwnStreamAndCanBeTurnedOff) {
  Scenario base = load(data("fuzz_small.toml"));
  Scenario off = base;
  off.fuzz.timing = false;
  off.timing.jitter = milliseconds(7);  // the file's own [timing] applies then
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    const Schedule a = draw_schedule(base, seed);
    const Schedule b = draw_schedule(off, seed);
    // The same faults with timing drawn or not: turning it off does not move them.
    EXPECT_EQ(write_scenario(fuzzed_scenario(base, Schedule{a.enabled, a.faults, {}}, seed)),
              write_scenario(fuzzed_scenario(base, Schedule{b.enabled, b.faults, {}}, seed)));
    EXPECT_EQ(b.timing.jitter, milliseconds(7));
    EXPECT_FALSE(b.timing.latency_tail > 0 || b.timing.clock_drift_ppm || b.timing.timer_late > 0);
  }
}

TEST(FuzzTiming, TheTimingTableLoadsAndBadValuesAreErrorsWithTheirPosition) {
  const std::string head = "duration = \"1m\"\n";
  LoadResult ok = parse_scenario(head +
                                     "[timing]\nlatency_tail = 0.01\nlatency_tail_factor = 20\njitter = \"5ms\"\n"
                                     "clock_drift_ppm = 200\ntimer_late = 0.1\ntimer_late_max = \"500ms\"\n"
                                     "commit_latency = \"1ms..200ms\"\n",
                                 "t.toml");
  ASSERT_TRUE(ok.ok());
  const TimingConfig& t = ok.scenario->timing;
  EXPECT_EQ(t.latency_tail, 0.01);
  EXPECT_EQ(t.latency_tail_factor, 20);
  EXPECT_EQ(t.jitter, milliseconds(5));
  EXPECT_EQ(t.clock_drift_ppm, 200);
  EXPECT_EQ(t.timer_late, 0.1);
  EXPECT_EQ(t.timer_late_max, milliseconds(500));
  EXPECT_EQ(t.commit_latency, (DurationRange{milliseconds(1), milliseconds(200)}));
  // Written and read back: the same table.
  LoadResult back = parse_scenario(write_scenario(*ok.scenario), "back.toml");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(write_scenario(*back.scenario), write_scenario(*ok.scenario));
  // A scenario without [timing] is kind, and its written form has no [timing].
  LoadResult kind = parse_scenario(head, "k.toml");
  ASSERT_TRUE(kind.ok());
  EXPECT_FALSE(kind.scenario->timing.any());
  EXPECT_EQ(write_scenario(*kind.scenario).find("[timing]"), std::string::npos);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"latency_tail = 1.5", "3:16"},
      {"latency_tail = 0.1", "3:16"},  // no factor
      {"latency_tail_factor = 5", "3:23"},
      {"latency_tail_factor = 0", "3:23"},
      {"jitter = \"5m\"", "3:10"},
      {"jitter = 5", "3:10"},
      {"clock_drift_ppm = -3", "3:19"},
      {"clock_drift_ppm = 200000", "3:19"},
      {"timer_late = 0.5", "3:14"},  // no max
      {"timer_late_max = \"1s\"", "3:18"},
      {"commit_latency = \"9ms..1ms\"", "3:18"},
      {"commit_latency = \"1ms..2m\"", "3:18"},
      {"slow = true", "3:1"},
  };
  for (const auto& [line, where] : bad) {
    LoadResult r = parse_scenario(head + "[timing]\n" + line + "\n", "bad.toml");
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_NE(r.errors.front().str().find("bad.toml:" + where + ":"), std::string::npos)
        << line << " -> " << r.errors.front().str();
  }
  LoadResult fuzz_bad = parse_scenario(head + "[fuzz]\nfaults = [\"crash\"]\ntiming = 3\n", "f.toml");
  EXPECT_FALSE(fuzz_bad.ok());
}

TEST(FuzzTiming, AnUnkindScenarioRunsDeterministicallyAndDiffersFromTheKindOne) {
  Scenario base = load(data("fuzz_small.toml"));
  base.fuzz = FuzzConfig{};
  RunOptions ro;
  ro.seed = 3;
  const RunResult kind = run_scenario(base, ro);
  Scenario slow = base;
  slow.timing.commit_latency = DurationRange{milliseconds(50), milliseconds(300)};
  const RunResult a = run_scenario(slow, ro);
  const RunResult b = run_scenario(slow, ro);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_NE(a.trace_hash, kind.trace_hash);  // slow commits change the run
  Scenario drift = base;
  drift.timing.clock_drift_ppm = 300;
  EXPECT_NE(run_scenario(drift, ro).trace_hash, kind.trace_hash);
}

TEST(FuzzTiming, SlowCommitsDelayEveryAcknowledgementByTheFlushTime) {
  Scenario base = load(data("fuzz_small.toml"));
  base.fuzz = FuzzConfig{};
  base.duration = minutes(1);
  // The gap between a post's commit at the primary and its acknowledgement
  // by the app server, over every post of the run.
  auto gaps = [&](const Scenario& s) {
    std::map<std::uint64_t, Time> committed;
    std::vector<Duration> out;
    RunOptions ro;
    ro.seed = 2;
    ro.listen = [&](const HistoryEvent& e) {
      if (const auto* c = e.get<PostCommitted>()) committed.emplace(c->post, e.at);
      if (const auto* a = e.get<PostAcked>())
        if (auto it = committed.find(a->post); it != committed.end()) out.push_back(e.at - it->second);
    };
    EXPECT_EQ(run_scenario(s, ro).outcome, Outcome::pass);
    return out;
  };
  const auto kind = gaps(base);
  Scenario slow = base;
  slow.timing.commit_latency = DurationRange{milliseconds(200), milliseconds(200)};
  const auto flushed = gaps(slow);
  ASSERT_GT(kind.size(), 10u);
  ASSERT_GT(flushed.size(), 10u);
  EXPECT_LT(*std::max_element(kind.begin(), kind.end()), milliseconds(200));
  EXPECT_GE(*std::min_element(flushed.begin(), flushed.end()), milliseconds(200));
}

// ---- guided search ----------------------------------------------------------------

TEST(FuzzGuided, AFingerprintIsTheAbstractStatesARunReached) {
  Scenario base = load(data("fuzz_small.toml"));
  Fingerprint quiet, busy;
  run_fingerprinted(fuzzed_scenario(base, Schedule{}, 1), 1, &quiet);
  EXPECT_FALSE(quiet.empty());  // an election, a leader: states even without a fault
  EXPECT_TRUE(std::is_sorted(quiet.begin(), quiet.end()));
  // A crash of an app server and of the primary reaches states the quiet run never does.
  Schedule s;
  Fault crash;
  crash.kind = FaultKind::crash;
  crash.at = Time{seconds(30)};
  crash.nodes = {NameRef{"app1", {}}};
  Fault db;
  db.kind = FaultKind::db_crash;
  db.at = Time{seconds(60)};
  db.nodes = {NameRef{"db-primary", {}}};
  s.faults = {crash, db};
  run_fingerprinted(fuzzed_scenario(base, s, 1), 1, &busy);
  std::vector<std::uint64_t> only_busy;
  std::set_difference(busy.begin(), busy.end(), quiet.begin(), quiet.end(), std::back_inserter(only_busy));
  EXPECT_FALSE(only_busy.empty());
  // The same run, the same fingerprint.
  Fingerprint again;
  run_fingerprinted(fuzzed_scenario(base, s, 1), 1, &again);
  EXPECT_EQ(again, busy);
}

TEST(FuzzGuided, CandidatesDependOnEarlierBatchesOnlyAndAreValid) {
  const Scenario base = load(data("fuzz_small.toml"));
  GuidedSearch a(base), b(base);
  const std::uint64_t n = 3 * GuidedSearch::kBatch;
  std::vector<Schedule> sa(n), sb(n);
  for (std::uint64_t k = 0; k < n; ++k) {
    sa[k] = a.candidate(k, k + 1);
    sb[k] = b.candidate(k, k + 1);
    // Feeds in another order within a batch (as threads finish): b gets them
    // at the end of each batch, reversed; a at once.
    a.feed(k, sa[k], Fingerprint{k % 5, 100 + k});
    if ((k + 1) % GuidedSearch::kBatch == 0)
      for (std::uint64_t j = k + 1; j-- > k + 1 - GuidedSearch::kBatch;) b.feed(j, sb[j], Fingerprint{j % 5, 100 + j});
    EXPECT_EQ(write_scenario(fuzzed_scenario(base, sa[k], k + 1)), write_scenario(fuzzed_scenario(base, sb[k], k + 1))) << k;
    EXPECT_EQ(schedule_problems(base, sa[k], k + 1), "") << k;
  }
  // The first batch is fresh draws; later ones mutate the corpus (some differ from a fresh draw).
  for (std::uint64_t k = 0; k < GuidedSearch::kBatch; ++k)
    EXPECT_EQ(write_scenario(fuzzed_scenario(base, sa[k], k + 1)), write_scenario(fuzzed_scenario(base, k + 1)));
  int mutated = 0;
  for (std::uint64_t k = GuidedSearch::kBatch; k < n; ++k)
    mutated += write_scenario(fuzzed_scenario(base, sa[k], k + 1)) != write_scenario(fuzzed_scenario(base, k + 1));
  EXPECT_GT(mutated, 8);
  a.flush();
  EXPECT_EQ(a.corpus_size(), n);  // every feed brought a new state (100 + k)
}

TEST(FuzzGuided, TheGuidedCampaignIsTheSameWithAnyNumberOfJobs) {
  const Scenario base = load(data("fuzz_down_after_one_failure.toml"));
  auto campaign = [&](unsigned jobs) {
    FuzzOptions o;
    o.seeds = 20;
    o.jobs = jobs;
    o.keep_going = true;
    o.shrink = false;
    o.guided = true;
    std::vector<std::string> seen;
    const FuzzSummary s = run_fuzz(base, o, [&](std::uint64_t seed, const Schedule& schedule, const RunResult& r) {
      seen.push_back(std::to_string(seed) + " " + std::to_string(r.trace_hash) + " " +
                     std::to_string(schedule.faults.size()));
    });
    seen.push_back("corpus " + std::to_string(s.corpus) + " states " + std::to_string(s.states));
    return seen;
  };
  const auto one = campaign(1);
  EXPECT_EQ(one.size(), 21u);
  EXPECT_EQ(one, campaign(2));
  EXPECT_EQ(one, campaign(3));
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
