// The runner and `faultline run` end to end, on small scenarios written here
// (text -> loader -> runner): [expect] judged as SCENARIOS.md says, the vacuity
// check, --check-determinism semantics, --jobs giving the same lines in the same
// order, the failing-run folder of --out, JUnit with one testcase per (scenario,
// seed), and --verbose printing what the seed decides before the run.
// Every scenario is tens of simulated seconds with a handful of clients, so the
// whole file runs in well under a second of wall time.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "harness/cli.h"
#include "harness/runner.h"
#include "harness/scenario_loader.h"
#include "base/env.h"
#include "sim/history_json.h"
#include "sim/simulation.h"
#include "tests/harness/cli_helpers.h"

namespace fl::harness {
namespace {

using test::read_text;
std::filesystem::path temp_dir(const std::string& name) { return test::fresh_dir("runner", name); }

// A small cluster where the seed's bully election splits under a partition:
// each side elects its own leader, which single_leader must catch (the hazard
// of REFERENCE.md that scenarios/hazards/split_brain_bully_partition.toml
// shows at full size).
constexpr const char* kSplitBrain = R"(duration = "40s"
settle = "10s"
[cluster]
app_servers = 3
leader_election = "bully"
[clients]
count = 4
channels = 2
[[faults]]
at = "5s"
kind = "partition"
groups = [["app1"], ["app2", "app3"]]
[[faults]]
at = "30s"
kind = "heal"
)";

// The same cluster with no fault at all.
constexpr const char* kSteady = R"(duration = "30s"
settle = "5s"
[cluster]
app_servers = 3
[clients]
count = 4
channels = 2
)";

Scenario load(const std::string& text, const std::string& path = "test.toml") {
  LoadResult r = parse_scenario(text, path);
  if (!r.ok()) {
    std::string all;
    for (const auto& e : r.errors) all += e.str() + "\n";
    ADD_FAILURE() << all;
    return Scenario{};
  }
  return std::move(*r.scenario);
}

RunResult run(const std::string& text, std::uint64_t seed = 1, RunOptions options = {}) {
  options.seed = seed;
  const Scenario s = load(text);
  return run_scenario(s, options);
}

bool has(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

std::string write_file(const std::filesystem::path& path, const std::string& text) {
  return test::write_file(path.parent_path(), path.filename().string(), text);
}

using test::cli;
using test::CliOutcome;

// Result lines without their wall time, the one field a rerun may change.
std::string without_wall(const std::string& lines) {
  return std::regex_replace(lines, std::regex(" wall=[0-9.]+s"), "");
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

// Every event of the run, one a line, in order: seq numbers run without a gap
// from the first, and the last is no later than the run's end.
void expect_whole_history(const std::vector<HistoryEvent>& events, Time end) {
  ASSERT_FALSE(events.empty());
  for (std::size_t i = 1; i < events.size(); ++i) {
    ASSERT_EQ(events[i].seq, events[0].seq + i) << "line " << i + 1;
    ASSERT_LE(events[i - 1].at, events[i].at);
  }
  EXPECT_LE(events.back().at, end);
  EXPECT_GE(events.back().at, end - seconds(5));  // it ran to the end, not a prefix
}

// ---- [expect] -----------------------------------------------------------------

TEST(Runner, UnexpectedViolationFailsWithItsTimeAndNodes) {
  const RunResult r = run(kSplitBrain);
  ASSERT_EQ(r.outcome, Outcome::fail) << result_line(r);
  ASSERT_FALSE(r.violations.empty());
  EXPECT_EQ(r.violations.front().invariant, "single_leader");
  EXPECT_FALSE(r.violations.front().expected);
  // Found after the partition began; the run still went to the end of settle
  // (one violation never hides a later one).
  EXPECT_GE(r.violations.front().at, Time{seconds(5)});
  EXPECT_EQ(r.sim_time, seconds(50));
  EXPECT_FALSE(r.report.stopped_early);
  EXPECT_TRUE(has(r.problems, "unexpected violation of single_leader"));
  EXPECT_EQ(result_line(r).rfind("FAIL test.toml seed=1 single_leader at ", 0), 0u) << result_line(r);
}

TEST(Runner, StopAtFirstEndsTheRunAtItsFirstViolation) {
  RunOptions options;
  options.stop_at_first = true;
  const RunResult r = run(kSplitBrain, 1, options);
  ASSERT_EQ(r.outcome, Outcome::fail) << result_line(r);
  ASSERT_FALSE(r.violations.empty());
  // The checker saw it online: the run stopped at (or just after) the instant
  // it names, well before the end of the safety phase.
  EXPECT_GE(r.sim_time, r.violations.front().at.time_since_epoch());
  EXPECT_LT(r.sim_time, seconds(40));
  EXPECT_TRUE(r.report.stopped_early);
  // The same first violation as the run that went to the end.
  const RunResult whole = run(kSplitBrain);
  ASSERT_FALSE(whole.violations.empty());
  EXPECT_EQ(whole.violations.front().at, r.violations.front().at);
  EXPECT_EQ(whole.violations.front().message, r.violations.front().message);
}

TEST(Runner, EveryViolationIsKeptAndTheLineCountsTheOthers) {
  // Two partitions, each splitting the bully election: the first split's
  // violation must not hide the second's.
  const std::string text = std::regex_replace(std::string(kSplitBrain), std::regex("duration = \"40s\""),
                                              "duration = \"80s\"") +
                           "[[faults]]\nat = \"45s\"\nkind = \"partition\"\ngroups = [[\"app1\", \"app2\"], [\"app3\"]]\n"
                           "for = \"30s\"\n[invariants]\ncheck = [\"single_leader\"]\n";
  const RunResult r = run(text);
  ASSERT_EQ(r.outcome, Outcome::fail) << result_line(r);
  std::size_t before_heal = 0, after_heal = 0;
  for (const auto& v : r.violations) (v.at < Time{seconds(45)} ? before_heal : after_heal) += 1;
  EXPECT_GE(before_heal, 1u);
  EXPECT_GE(after_heal, 1u) << "the second split was hidden by the first";
  const std::string line = result_line(r);
  EXPECT_NE(line.find("(+" + std::to_string(r.violations.size() - 1) + " more: single_leader)"), std::string::npos)
      << line;
}

TEST(Runner, SeveralExpectedViolationsMustEachBeFoundAfterTheFirstFault) {
  const std::string text = std::string(kSplitBrain) + "[expect]\nviolations = [\"single_leader\", \"no_lost_writes\"]\n";
  const RunResult r = run(text);
  EXPECT_EQ(r.outcome, Outcome::fail) << result_line(r);
  EXPECT_TRUE(has(r.problems, "expected violation no_lost_writes not found at or after the first fault or operation (5s)"))
      << result_line(r);
  EXPECT_FALSE(has(r.problems, "expected violation single_leader not found"));
}

TEST(Runner, ExpectedViolationFoundPasses) {
  const RunResult r = run(std::string(kSplitBrain) + "[expect]\nviolations = [\"single_leader\"]\n");
  EXPECT_EQ(r.outcome, Outcome::pass) << result_line(r);
  ASSERT_FALSE(r.violations.empty());
  EXPECT_TRUE(r.violations.front().expected);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(result_line(r).rfind("PASS ", 0), 0u);
}

TEST(Runner, ExpectedViolationNotFoundFails) {
  const RunResult steady = run(kSteady);
  ASSERT_EQ(steady.outcome, Outcome::pass) << result_line(steady);  // the cluster itself is sound
  const RunResult r = run(std::string(kSteady) + "[expect]\nviolations = [\"single_leader\"]\n");
  EXPECT_EQ(r.outcome, Outcome::fail);
  EXPECT_TRUE(r.violations.empty());
  EXPECT_TRUE(has(r.problems, "expected violation single_leader not found")) << result_line(r);
  // A run that found nothing ran its whole course: safety phase and settle.
  EXPECT_EQ(r.sim_time, seconds(35));
}

TEST(Runner, ExpectedViolationBeforeTheFirstFaultIsNotThePathNamed) {
  // A server two minor versions ahead (allowed, to test exactly that) migrates
  // in two seconds and serves beside the older ones: it breaks version_skew at
  // start-up, long before the scenario's only fault: the
  // violation is real but not from the path the scenario is named for.
  const std::string skewed = std::regex_replace(std::string(kSteady), std::regex("app_servers = 3\n"),
                                                "app_servers = 3\nallow_unsupported_upgrades = true\nmigration_time = \"1s\"\n"
                                                "[[cluster.server]]\nname = \"app3\"\nversion = \"10.6.0\"\n") +
                             "[expect]\nviolations = [\"version_skew\"]\n";
  const RunResult no_fault = run(skewed);
  ASSERT_FALSE(no_fault.violations.empty());
  EXPECT_EQ(no_fault.violations.front().invariant, "version_skew");
  EXPECT_LT(no_fault.violations.front().at, Time{seconds(20)});
  EXPECT_EQ(no_fault.outcome, Outcome::pass) << result_line(no_fault);  // no fault: nothing to come after

  const RunResult r = run(skewed + "[[faults]]\nat = \"20s\"\nkind = \"crash\"\nnode = \"client1\"\n");
  EXPECT_EQ(r.outcome, Outcome::fail);
  EXPECT_TRUE(has(r.problems, "before the first fault or operation at 20s: not the path the scenario is named for"))
      << result_line(r);
  EXPECT_TRUE(has(r.problems, "expected violation version_skew not found at or after the first fault or operation (20s)"));
}

// ---- settle and the end of the run ---------------------------------------------

TEST(Runner, APrimaryPausedAcrossTheEndLosesNothing) {
  // The primary freezes at 20s for longer than the rest of the run: settle
  // resumes it, and its contents are read from its disk, not asked of it.
  const std::string text = std::string(kSteady) +
                           "[[faults]]\nat = \"20s\"\nkind = \"pause\"\nnode = \"db-primary\"\nfor = \"10s\"\n"
                           "[invariants]\ncheck = [\"no_lost_writes\"]\n";
  const RunResult r = run(text);
  EXPECT_EQ(r.outcome, Outcome::pass) << result_line(r);
  // The run really paused it across the end of the safety phase (30s).
  bool resumed_in_settle = false;
  for (const auto& e : r.report.timeline)
    if (e.is<ProcessResumed>() && e.at == Time{seconds(30)}) resumed_in_settle = true;
  EXPECT_TRUE(resumed_in_settle);
}

TEST(Runner, SkippedInvariantsAreListedWithTheirReason) {
  const RunResult r = run(std::string(kSteady) + "[invariants]\nskip = { job_progress = \"no jobs here\" }\n");
  EXPECT_EQ(r.outcome, Outcome::pass) << result_line(r);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].first, "job_progress");
  EXPECT_EQ(r.skipped[0].second, "no jobs here");
  EXPECT_EQ(r.report.skipped, r.skipped);
  // A check list reports every other invariant as skipped, with that reason.
  const RunResult c = run(std::string(kSteady) + "[invariants]\ncheck = [\"single_leader\"]\n");
  EXPECT_FALSE(c.skipped.empty());
  for (const auto& [name, why] : c.skipped) {
    EXPECT_NE(name, "single_leader");
    EXPECT_EQ(why, "not in the scenario's check list");
  }
}

TEST(Runner, TheOperatorsStopCancelsACrashFaultsPendingRestart) {
  // app2 crashes at 10s with a restart due at 25s; the operator stops it at
  // 15s. A supervisor does not restart a service its operator stopped.
  const std::string base = std::string(kSteady) +
                           "[[faults]]\nat = \"10s\"\nkind = \"crash\"\nnode = \"app2\"\nrestart_after = \"15s\"\n"
                           "[invariants]\ncheck = [\"single_leader\"]\n";
  const RunResult r = run(base + "[[operations]]\nat = \"15s\"\nstep = \"stop\"\nnode = \"app2\"\n");
  EXPECT_TRUE(has(r.notes, "the restart of app2 was cancelled: the operator had stopped it meanwhile")) << result_line(r);
  bool started_after = false;
  for (const auto& e : r.report.timeline)
    if (e.is<ProcessStarted>() && r.report.lanes.at(e.node.value).name == "app2" && e.at > Time{seconds(15)})
      started_after = true;
  EXPECT_FALSE(started_after) << "app2 was started again after the operator stopped it";
  // Control: without the operator's stop, the fault's restart happens.
  const RunResult control = run(base);
  bool restarted = false;
  for (const auto& e : control.report.timeline)
    if (e.is<ProcessStarted>() && control.report.lanes.at(e.node.value).name == "app2" && e.at == Time{seconds(25)})
      restarted = true;
  EXPECT_TRUE(restarted);
  EXPECT_FALSE(has(control.notes, "was cancelled"));
}

TEST(Runner, AServerClosesTheWebsocketOfAClientFrozenPastThePongTimeout) {
  // REFERENCE.md: pong timeout 100 s. client1 freezes for 150 s: its server
  // closes the connection, and at its thaw the client learns it and connects
  // again. Frozen for 50 s, its connection survives.
  auto reconnects_after = [&](const std::string& pause) {
    const std::string text = std::regex_replace(std::string(kSteady), std::regex("duration = \"30s\""),
                                                "duration = \"4m\"") +
                             "[[faults]]\nat = \"20s\"\nkind = \"pause\"\nnode = \"client1\"\nfor = \"" + pause +
                             "\"\n[invariants]\ncheck = [\"single_leader\"]\n";
    const RunResult r = run(text);
    int connects = 0;
    for (const auto& e : r.report.timeline)
      if (e.is<ClientConnected>() && r.report.lanes.at(e.node.value).name == "client1" && e.at > Time{seconds(20)})
        ++connects;
    return connects;
  };
  EXPECT_GE(reconnects_after("150s"), 1);
  EXPECT_EQ(reconnects_after("50s"), 0);
}

// ---- vacuity ------------------------------------------------------------------

TEST(Runner, VacuityFlagsAPartitionThatCutNothingAndACrashOfANodeAlreadyDown) {
  const std::string text = std::string(kSteady) +
                           // Clients never talk to each other: this partition cuts nothing.
                           "[[faults]]\nat = \"5s\"\nkind = \"partition\"\ngroups = [[\"client1\"], [\"client2\"]]\n"
                           "for = \"5s\"\n"
                           "[[faults]]\nat = \"6s\"\nkind = \"crash\"\nnode = \"app3\"\n"
                           "[[faults]]\nat = \"7s\"\nkind = \"crash\"\nnode = \"app3\"\n";
  const RunResult r = run(text);
  EXPECT_TRUE(has(r.notes, "fault #1 partition at 5s (line 8) had no effect: it cut no message")) << r.notes.size();
  EXPECT_TRUE(has(r.notes, "fault #3 crash at 7s (line 17) had no effect: the crash of app3 found it already down"));
  // The first crash did something: it is not flagged.
  EXPECT_FALSE(has(r.notes, "fault #2"));
}

TEST(Runner, APartitionThatCutsMessagesIsNotFlagged) {
  std::string text = std::string(kSteady) +
                     "[[faults]]\nat = \"5s\"\nkind = \"partition\"\ngroups = [[\"app1\", \"app2\", \"app3\"], "
                     "[\"db-primary\", \"db-replica1\", \"db-replica2\"]]\nfor = \"3s\"\n";
  const RunResult r = run(text);
  EXPECT_FALSE(has(r.notes, "cut no message")) << (r.notes.empty() ? "" : r.notes.front());
  EXPECT_GT(r.report.statistics.at("messages_cut"), 0);
}

TEST(Runner, AnExpectedViolationNotFoundNamesTheVacuousFault) {
  const std::string text = std::string(kSteady) +
                           "[[faults]]\nat = \"5s\"\nkind = \"partition\"\ngroups = [[\"client1\"], [\"client2\"]]\n"
                           "for = \"5s\"\n[expect]\nviolations = [\"single_leader\"]\n";
  const RunResult r = run(text);
  EXPECT_EQ(r.outcome, Outcome::fail);
  EXPECT_TRUE(has(r.problems, "expected violation single_leader not found")) << result_line(r);
  EXPECT_TRUE(has(r.problems, "(fault #1 partition at 5s (line 8) had no effect: it cut no message)")) << result_line(r);
}

// ---- determinism --------------------------------------------------------------

TEST(Runner, SameSeedSameTraceDifferentSeedsDiffer) {
  const RunResult a = run(kSplitBrain, 1), b = run(kSplitBrain, 1), c = run(kSplitBrain, 2);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.sim_time, b.sim_time);
  EXPECT_NE(a.trace_hash, c.trace_hash);
  const RunResult s1 = run(kSteady, 1), s2 = run(kSteady, 2);
  EXPECT_NE(s1.trace_hash, s2.trace_hash);
}

TEST(Runner, CheckDeterminismPassesOnADeterministicRun) {
  const auto dir = temp_dir("determinism");
  const std::string file = write_file(dir / "steady.toml", kSteady);
  const CliOutcome once = cli({"run", file, "--seeds", "1..2"});
  const CliOutcome checked = cli({"run", file, "--seeds", "1..2", "--check-determinism"});
  EXPECT_EQ(checked.code, kExitOk) << checked.err;
  EXPECT_EQ(checked.err.find("nondeterminism"), std::string::npos);
  // The check changes nothing on the lines: same runs, same hashes.
  EXPECT_EQ(without_wall(checked.out), without_wall(once.out));
  EXPECT_EQ(count(checked.out, "PASS "), 2u);
}

// ---- --jobs -------------------------------------------------------------------

TEST(Runner, JobsTwoGivesTheSameLinesInTheSameOrderAsJobsOne) {
  const auto dir = temp_dir("jobs");
  const std::string split = write_file(dir / "split.toml", kSplitBrain);
  const std::string steady = write_file(dir / "steady.toml", kSteady);
  const CliOutcome one = cli({"run", split, steady, "--seeds", "1..3", "--jobs", "1"});
  const CliOutcome two = cli({"run", split, steady, "--seeds", "1..3", "--jobs", "2"});
  EXPECT_EQ(one.code, kExitFailed);  // the split brain fails
  EXPECT_EQ(two.code, one.code);
  EXPECT_EQ(count(one.out, "\n"), 6u) << one.out;
  EXPECT_EQ(without_wall(two.out), without_wall(one.out));
  // Order: scenario by scenario, seeds ascending (what --jobs 1 does).
  const auto first_steady = one.out.find("steady.toml seed=1");
  EXPECT_NE(first_steady, std::string::npos);
  EXPECT_GT(first_steady, one.out.find("split.toml seed=3"));
}

// ---- --out --------------------------------------------------------------------

TEST(Runner, OutWritesTheFolderOfAFailingRun) {
  const auto dir = temp_dir("out");
  const std::string file = write_file(dir / "split.toml", kSplitBrain);
  const auto out = dir / "reports";
  const CliOutcome o = cli({"run", file, "--seed", "4", "--out", out.string(), "--history", "full"});
  EXPECT_EQ(o.code, kExitFailed) << o.out << o.err;
  const auto folder = out / "split-4";
  EXPECT_NE(o.out.find(" -> " + folder.string() + "/"), std::string::npos) << o.out;
  for (const char* name : {"history.jsonl", "report.json", "report.md", "report.html", "summary.txt"}) {
    EXPECT_TRUE(std::filesystem::exists(folder / name)) << name;
    EXPECT_GT(std::filesystem::file_size(folder / name), 0u) << name;
  }
  // The history is the run's, complete and readable back.
  std::string error;
  const auto events = sim::read_history_file((folder / "history.jsonl").string(), &error);
  ASSERT_TRUE(events.has_value()) << error;
  expect_whole_history(*events, Time{run(kSplitBrain, 4).sim_time});
  EXPECT_NE(read_text(folder / "summary.txt").find("single_leader"), std::string::npos);
  EXPECT_NE(read_text(folder / "report.json").find("\"seed\": 4"), std::string::npos);
}

// repro.toml: the scenario with its seed pinned; running it alone (no --seed)
// fails the same way, with the same trace hash.
TEST(Runner, OutWritesAReproThatFailsTheSameWay) {
  const auto dir = temp_dir("out_repro");
  const std::string file = write_file(dir / "split.toml", kSplitBrain);
  const auto out = dir / "reports";
  const CliOutcome o = cli({"run", file, "--seed", "4", "--out", out.string()});
  ASSERT_EQ(o.code, kExitFailed) << o.out << o.err;
  const auto repro = out / "split-4" / "repro.toml";
  ASSERT_TRUE(std::filesystem::exists(repro));
  const std::string text = read_text(repro);
  EXPECT_NE(text.find("\nseed = 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# repro.toml: " + file + " with its seed pinned (seed 4)"), std::string::npos) << text;
  const CliOutcome again = cli({"run", repro.string()});
  EXPECT_EQ(again.code, kExitFailed) << again.out << again.err;
  auto after = [](const std::string& line, const std::string& key) {  // "single_leader at ...", "hash=..."
    const auto a = line.find(key);
    return a == std::string::npos ? std::string("missing ") + key : line.substr(a, line.find_first_of(" \n", a) - a);
  };
  EXPECT_EQ(after(again.out, "hash="), after(o.out, "hash=")) << o.out << again.out;
  EXPECT_EQ(after(again.out, "single_leader"), "single_leader") << again.out;
  const std::string verdict = o.out.substr(o.out.find(" seed=4 ") + 8);
  EXPECT_EQ(again.out.substr(again.out.find(" seed=4 ") + 8, verdict.find(" hash=")), verdict.substr(0, verdict.find(" hash=")));
  // The control: another seed of the same file gives another history.
  const CliOutcome other = cli({"run", file, "--seed", "5"});
  EXPECT_NE(after(other.out, "hash="), after(o.out, "hash="));
}

TEST(Runner, OutLeavesNothingForAPassingRun) {
  const auto dir = temp_dir("out_pass");
  const std::string file = write_file(dir / "steady.toml", kSteady);
  const auto out = dir / "reports";
  const CliOutcome o = cli({"run", file, "--out", out.string()});
  EXPECT_EQ(o.code, kExitOk) << o.out << o.err;
  EXPECT_FALSE(std::filesystem::exists(out / "steady-1"));
}

TEST(Runner, HistoryPathStreamsEveryEventWhateverTheOutcome) {
  const auto dir = temp_dir("history");
  RunOptions options;
  options.history_path = (dir / "h.jsonl").string();
  const RunResult r = run(kSteady, 3, options);
  EXPECT_EQ(r.outcome, Outcome::pass);
  std::string error;
  const auto events = sim::read_history_file(options.history_path, &error);
  ASSERT_TRUE(events.has_value()) << error;
  expect_whole_history(*events, Time{r.sim_time});
}

// ---- --junit ------------------------------------------------------------------

TEST(Runner, JunitHasOneTestcasePerScenarioAndSeed) {
  const auto dir = temp_dir("junit");
  const std::string split = write_file(dir / "split.toml", kSplitBrain);
  const std::string steady = write_file(dir / "steady.toml", kSteady);
  const auto junit = dir / "junit.xml";
  const CliOutcome o = cli({"run", split, steady, "--seeds", "1..2", "--junit", junit.string()});
  EXPECT_EQ(o.code, kExitFailed);
  const std::string xml = read_text(junit);
  EXPECT_EQ(count(xml, "<testcase "), 4u) << xml;
  EXPECT_EQ(count(xml, "name=\"seed=1\""), 2u);
  EXPECT_EQ(count(xml, "name=\"seed=2\""), 2u);
  // Only the split-brain runs fail.
  EXPECT_EQ(count(xml, "<failure"), 2u) << xml;
  EXPECT_EQ(xml.rfind("<?xml", 0), 0u);
}

// ---- --verbose ----------------------------------------------------------------

// Records the seed of the generator stream the simulator hands the node.
class StreamProbe final : public Node {
 public:
  explicit StreamProbe(std::uint64_t* seen) : seen_(seen) {}
  void on_start(Env& env) override { *seen_ = env.rng().seed(); }
  void on_message(Env&, NodeId, const Message&) override {}
  void on_timer(Env&, TimerId, TimerTag) override {}

 private:
  std::uint64_t* seen_;
};

std::string hex16(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

TEST(Runner, VerbosePrintsWhatTheSeedDecidesBeforeTheRun) {
  const auto dir = temp_dir("verbose");
  const std::string file = write_file(dir / "split.toml", kSplitBrain);
  const CliOutcome o = cli({"run", file, "--seed", "5", "--verbose"});
  // Before the result line, which goes to standard output.
  EXPECT_EQ(o.err.rfind("run " + file + " seed=5\n", 0), 0u) << o.err;
  EXPECT_NE(o.err.find("fault #1 partition at 5s"), std::string::npos);
  EXPECT_NE(o.err.find("network: latency 200us..2ms"), std::string::npos);
  EXPECT_NE(o.err.find("invariants: single_leader"), std::string::npos);
  EXPECT_NE(o.err.find("streams: root="), std::string::npos);
  // Every node's stream seed, as the simulator really derives it: a probe
  // node in a bare Simulation with the same seed sees the same seed.
  for (const char* name : {"app1", "db-primary", "proxy", "client4"}) {
    sim::Simulation sim(5);
    std::uint64_t seen = 0;
    const NodeId id = sim.add_node(name, [&seen] { return std::make_unique<StreamProbe>(&seen); });
    sim.start(id);
    EXPECT_NE(o.err.find("    " + node_stream_name(name) + "=" + hex16(seen) + "\n"), std::string::npos)
        << name << " " << hex16(seen) << "\n" << o.err;
  }
  // Another seed, other streams.
  const CliOutcome other = cli({"run", file, "--seed", "6", "--verbose"});
  const auto line = [](const std::string& text, const std::string& head) {
    const auto at = text.find(head);
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  EXPECT_NE(line(other.err, "    node/app1="), line(o.err, "    node/app1="));
  EXPECT_FALSE(line(o.err, "    node/app1=").empty());
  // Without --verbose, nothing of it.
  const CliOutcome quiet = cli({"run", file, "--seed", "5"});
  EXPECT_EQ(quiet.err.find("streams:"), std::string::npos);
}

}  // namespace
}  // namespace fl::harness
