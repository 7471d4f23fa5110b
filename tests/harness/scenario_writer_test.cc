// The writer is the loader's inverse: every shipped scenario, one scenario that
// uses every key of every section, and random variations of values that are
// easy to get wrong (durations to the nanosecond, probabilities, strings with
// quotes and control characters) read back to the same scenario. "The same"
// is checked as text (write -> parse -> write is a fixed point) and, for a few
// small scenarios, as behaviour (the same trace hash).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/runner.h"
#include "harness/scenario_loader.h"
#include "harness/scenario_writer.h"
#include "tests/harness/cli_helpers.h"

namespace fl::harness {
namespace {

using test::source_dir;

std::vector<std::string> library() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(source_dir() / "scenarios"))
    if (e.is_regular_file() && e.path().extension() == ".toml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::string errors_of(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.str() + "\n";
  return out;
}

// Writes, re-reads, writes again: the two texts must be equal. Returns the re-read scenario.
Scenario round_trip(const Scenario& s, const std::string& what) {
  const std::string text = write_scenario(s);
  LoadResult again = parse_scenario(text, what + " (written)");
  EXPECT_TRUE(again.ok()) << errors_of(again) << text;
  if (!again.ok()) return s;
  EXPECT_EQ(write_scenario(*again.scenario), text) << what;
  return *again.scenario;
}

TEST(ScenarioWriter, EveryShippedScenarioIsAFixedPoint) {
  const auto files = library();
  ASSERT_GE(files.size(), 20u);
  for (const auto& f : files) {
    LoadResult r = load_scenario(f);
    ASSERT_TRUE(r.ok()) << errors_of(r);
    round_trip(*r.scenario, f);
  }
}

// Every section and every fault kind's and operation form's keys, in one file.
constexpr const char* kEveryKey = R"(
name = "every key \"quoted\" \\ and a tab\t"
description = "written by the writer test"
duration = "20m"
seed = 9
settle = "1m30s"

[cluster]
app_servers = 4
version = "10.4.1"
leader_election = "db_lease"
migration_lock = "db_clock"
migration_time = "25s"
bugs = ["down_after_one_failure", "leader_highest_id"]
allow_unsupported_upgrades = true

[[cluster.server]]
name = "app2"
version = "10.3.2"

[[cluster.server]]
name = "app3"

[database]
replicas = 2
replication = "sync"
replication_lag = "7ms"
failover = "manual"
failover_detection = "45s"

[proxy]
health_check = "ping_with_status"
health_check_interval = "2.5s"

[network]
latency = "0.2ms..2ms"
loss = 0.001
duplicate = 1
reorder = 0.25

[clients]
count = 7
channels = 3
post_interval = "3s"

[[faults]]
at = "1m"
kind = "partition"
groups = [["app1", "db-primary"], ["app2", "app3"]]
for = "30s"

[[faults]]
at = "1m10s"
kind = "one_way"
from = ["app1"]
to = ["app2", "app3"]

[[faults]]
at = "1m20s"
kind = "heal"

[[faults]]
at = "1m30s"
kind = "loss"
rate = 0.3
between = ["app1", "app2"]

[[faults]]
at = "1m31s"
kind = "duplicate"
rate = 0.1

[[faults]]
at = "1m32s"
kind = "reorder"
rate = 0.5
for = "10s"

[[faults]]
at = "1m33s"
kind = "delay"
latency = "100ms..500ms"
between = ["app3", "db-primary"]

[[faults]]
at = "2m"
kind = "crash"
node = "app2"
restart_after = "20s"

[[faults]]
at = "2m1s"
kind = "crash"
nodes = ["app3", "app4"]

[[faults]]
at = "2m30s"
kind = "restart"
nodes = ["app3", "app4"]

[[faults]]
at = "3m"
kind = "pause"
node = "app1"
for = "15s"

[[faults]]
at = "3m1s"
kind = "clock_skew"
node = "app1"
offset = "-2s"
drift_ppm = -40

[[faults]]
at = "3m2s"
kind = "clock_skew"
nodes = ["app2", "app3"]
offset = "90s"

[[faults]]
at = "3m3s"
kind = "clock_step"
node = "app4"
by = "1.000000001s"

[[faults]]
at = "4m"
kind = "gossip_send_failure"
node = "app1"
peer = "app3"
for = "40s"

[[faults]]
at = "5m"
kind = "db_crash"
node = "db-replica2"

[[faults]]
at = "5m1s"
kind = "replica_lag"
node = "db-replica1"
lag = "30s"
for = "1m"

[[faults]]
at = "6m"
kind = "db_failover"

[[faults]]
at = "6m1s"
kind = "storage_outage"
for = "2m"

[[operations]]
at = "7m"
runbook = "rolling_upgrade"
to_version = "10.4.2"

[[operations]]
at = "8m"
runbook = "upgrade_with_schema_change"
to_version = "10.5.0"

[[operations]]
at = "9m"
runbook = "config_change_continuous"
key = "ServiceSettings.SiteURL"
value = 42

[[operations]]
at = "10m"
runbook = "manual_failover"
to = "db-replica1"

[[operations]]
at = "10m1s"
runbook = "manual_failover"

[[operations]]
at = "11m"
runbook = "add_server"
version = "10.5.0"

[[operations]]
at = "11m1s"
runbook = "add_server"

[[operations]]
at = "12m"
runbook = "remove_server"
node = "app5"

[[operations]]
at = "12m1s"
runbook = "install_plugin"
node = "app1"
plugin = "com.example.plugin"

[[operations]]
at = "13m"
step = "stop"
node = "app6"

[[operations]]
at = "13m1s"
step = "start"
nodes = ["app6", "app4"]

[[operations]]
at = "13m2s"
step = "restart"
node = "app1"

[[operations]]
at = "13m3s"
step = "upgrade"
nodes = ["app1", "app2"]
version = "10.5.1"

[[operations]]
at = "13m4s"
step = "proxy_route"
to = ["app1", "app2"]

[[operations]]
at = "13m5s"
step = "config_change"
node = "app2"
key = "A.B"
value = true

[[operations]]
at = "13m6s"
step = "set_datasource"
nodes = ["app1", "app2"]
to = "db-replica1"

[[operations]]
at = "13m7s"
step = "reload_config"
node = "app3"

[[operations]]
at = "13m8s"
step = "recycle_connections"
node = "app3"

[[operations]]
at = "13m9s"
step = "install_plugin"
node = "app3"
plugin = "p"

[invariants]
skip = { message_delivery = "a reason with \"quotes\"", single_leader = "why not" }

[invariants.single_leader]
grace = "1.5s"

[expect]
violations = ["status_accuracy"]

[fuzz]
faults = ["partition", "crash", "clock_skew"]
max_faults = 5
swarm = true
)";

TEST(ScenarioWriter, EveryKeyOfEverySectionRoundTrips) {
  LoadResult r = parse_scenario(kEveryKey, "every_key.toml");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const Scenario& s = *r.scenario;
  const Scenario back = round_trip(s, "every_key.toml");
  // Spot checks that the text carried the values, not only the same text twice.
  EXPECT_EQ(back.name, s.name);
  EXPECT_EQ(back.settle, seconds(90));
  ASSERT_EQ(back.faults.size(), s.faults.size());
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    EXPECT_EQ(back.faults[i].kind, s.faults[i].kind) << i;
    EXPECT_EQ(back.faults[i].at, s.faults[i].at) << i;
    EXPECT_EQ(back.faults[i].for_, s.faults[i].for_) << i;
    EXPECT_EQ(back.faults[i].nodes.size(), s.faults[i].nodes.size()) << i;
  }
  EXPECT_EQ(back.faults[13].by, seconds(1) + nanoseconds(1));
  EXPECT_EQ(back.faults[11].drift_ppm, -40);
  ASSERT_EQ(back.operations.size(), s.operations.size());
  EXPECT_EQ(back.operations[2].value, "42");
  EXPECT_EQ(back.operations[4].to.size(), 0u);
  EXPECT_FALSE(back.operations[6].version.has_value());
  EXPECT_EQ(back.network.duplicate, 1.0);
  EXPECT_EQ(back.network.loss, 0.001);
  EXPECT_EQ(back.invariants.skip.size(), 2u);
  EXPECT_EQ(back.invariants.options.at("single_leader").values.at("grace"), milliseconds(1500));
  EXPECT_TRUE(back.fuzz.present);
  EXPECT_EQ(back.fuzz.max_faults, 5u);
}

TEST(ScenarioWriter, CheckListAndEmptyCheckListRoundTrip) {
  LoadResult r = parse_scenario("duration = \"1m\"\n[invariants]\ncheck = []\n", "x.toml");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const Scenario back = round_trip(*r.scenario, "x.toml");
  EXPECT_FALSE(back.invariants.all);
  EXPECT_TRUE(back.invariants.check.empty());
}

TEST(ScenarioWriter, HeaderCommentsStayComments) {
  LoadResult r = parse_scenario("duration = \"1m\"\n", "x.toml");
  ASSERT_TRUE(r.ok());
  WriteOptions o;
  o.header = {"repro of seed 7", "a second line\nwith a newline = 1"};
  const std::string text = write_scenario(*r.scenario, o);
  EXPECT_EQ(text.rfind("# repro of seed 7\n# a second line with a newline = 1\n", 0), 0u) << text;
  EXPECT_TRUE(parse_scenario(text, "x.toml").ok()) << text;
}

// Values that are easy to write lossily: durations to the nanosecond,
// probabilities with long expansions, strings with quotes, backslashes,
// control characters and non-ASCII letters.
RC_GTEST_PROP(ScenarioWriter, RandomValuesRoundTrip, ()) {
  LoadResult r = parse_scenario(kEveryKey, "every_key.toml");
  RC_ASSERT(r.ok());
  Scenario s = *r.scenario;
  const auto text_char = rc::gen::elementOf(std::vector<std::string>{"a", "Z", "0", " ", "\"", "\\", "'", "\t", "\n",
                                                                       "\x01", "\x7f", "é", "→", "#", "=", "[", "]"});
  const auto text = rc::gen::map(rc::gen::container<std::vector<std::string>>(text_char), [](std::vector<std::string> v) {
    std::string out;
    for (auto& p : v) out += p;
    return out;
  });
  s.name = *rc::gen::nonEmpty(text);
  s.description = *text;
  s.duration = nanoseconds(*rc::gen::inRange<std::int64_t>(ns(minutes(14)), ns(hours(30))));
  s.settle = nanoseconds(*rc::gen::inRange<std::int64_t>(0, ns(hours(2))));
  s.network.loss = *rc::gen::inRange(0, 1'000'001) / 1e6;
  s.network.reorder = double(*rc::gen::inRange<std::uint32_t>(0, 1u << 30)) / double(1u << 30);
  const std::int64_t lo = *rc::gen::inRange<std::int64_t>(0, ns(seconds(5)));
  s.network.latency = DurationRange{nanoseconds(lo), nanoseconds(lo + *rc::gen::inRange<std::int64_t>(0, ns(seconds(5))))};
  s.faults[11].offset = nanoseconds(*rc::gen::inRange<std::int64_t>(-ns(hours(3)), ns(hours(3))));
  s.faults[2].at = Time{nanoseconds(*rc::gen::inRange<std::int64_t>(0, ns(minutes(14))))};
  s.invariants.skip[0].reason = *rc::gen::suchThat(text, [](const std::string& t) {
    return t.find_first_not_of(" \t") != std::string::npos;
  });
  s.operations[2].value = *text;

  const std::string written = write_scenario(s);
  LoadResult back = parse_scenario(written, "random.toml");
  RC_ASSERT(back.ok());
  const Scenario& b = *back.scenario;
  RC_ASSERT(b.name == s.name);
  RC_ASSERT(b.description == s.description);
  RC_ASSERT(b.duration == s.duration);
  RC_ASSERT(b.settle == s.settle);
  RC_ASSERT(b.network.loss == s.network.loss);
  RC_ASSERT(b.network.reorder == s.network.reorder);
  RC_ASSERT(b.network.latency == s.network.latency);
  RC_ASSERT(b.faults[11].offset == s.faults[11].offset);
  RC_ASSERT(b.faults[2].at == s.faults[2].at);
  RC_ASSERT(b.invariants.skip[0].reason == s.invariants.skip[0].reason);
  RC_ASSERT(b.operations[2].value == s.operations[2].value);
  RC_ASSERT(write_scenario(b) == written);
}

// Behaviour, not only text: the re-read scenario runs to the same trace hash.
TEST(ScenarioWriter, ReReadScenarioRunsToTheSameTraceHash) {
  for (const char* file : {"scenarios/operator_leaves_cluster_stopped.toml", "scenarios/manual_failover_runbook.toml",
                           "scenarios/bugs/down_after_one_failure.toml"}) {
    LoadResult r = load_scenario((source_dir() / file).string());
    ASSERT_TRUE(r.ok()) << errors_of(r);
    const Scenario back = round_trip(*r.scenario, file);
    RunOptions o;
    o.seed = 3;
    const RunResult a = run_scenario(*r.scenario, o);
    const RunResult b = run_scenario(back, o);
    EXPECT_NE(a.trace_hash, 0u) << file;
    EXPECT_EQ(a.trace_hash, b.trace_hash) << file;
    EXPECT_EQ(a.events, b.events) << file;
    EXPECT_EQ(a.outcome, b.outcome) << file;
  }
}

}  // namespace
}  // namespace fl::harness
