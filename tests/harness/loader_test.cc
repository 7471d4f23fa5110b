// The scenario loader: every class of mistake gets an error with the exact
// file:line:column and the parts of the message a user acts on.
//
// Expected positions are computed by the test from the text itself (where the
// offending token sits), never taken from the loader.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/scenario_loader.h"

namespace fl::harness {
namespace {

constexpr const char* kFile = "scenarios/t.toml";

// A complete, valid scenario that every negative test breaks in one place.
const std::string kValid = R"(name = "split brain"
description = "bully election under a partition"
duration = "10m"
seed = 7

[cluster]
app_servers = 3
version = "10.4.1"
leader_election = "bully"
migration_lock = "morph"
migration_time = "20s"
bugs = []
allow_unsupported_upgrades = false

[[cluster.server]]
name = "app3"
version = "10.4.2"

[database]
replicas = 2
replication = "async"
replication_lag = "5ms..50ms"
failover = "automatic"
failover_detection = "30s"

[proxy]
health_check = "ping"
health_check_interval = "5s"

[network]
latency = "0.2ms..2ms"
loss = 0.0
duplicate = 0.0
reorder = 0.0

[clients]
count = 50
channels = 5
post_interval = "10s"

[[faults]]
at = "2m"
kind = "partition"
groups = [["app1"], ["app2", "app3"]]
for = "1m"

[[faults]]
at = "4m"
kind = "heal"

[[operations]]
at = "6m"
runbook = "rolling_upgrade"
to_version = "10.5.0"

[invariants]
check = ["single_leader", "job_exactly_once"]

[expect]
violations = ["single_leader"]
)";

struct Where {
  std::uint32_t line = 0, column = 0;
};

// 1-based line and column of the n-th occurrence of `needle` in `text`.
Where where(const std::string& text, const std::string& needle, int nth = 0) {
  std::size_t at = text.find(needle);
  for (int i = 0; i < nth && at != std::string::npos; ++i) at = text.find(needle, at + 1);
  EXPECT_NE(at, std::string::npos) << needle;
  Where w{1, 1};
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++w.line;
      w.column = 1;
    } else {
      ++w.column;
    }
  }
  return w;
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The only error of `text`, which must have exactly one.
LoadError only_error(const std::string& text) {
  LoadResult r = parse_scenario(text, kFile);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.errors.size(), 1u);
  if (r.errors.size() != 1)
    for (const auto& e : r.errors) ADD_FAILURE() << "error: " << e.str();
  if (r.errors.empty()) return {};
  return r.errors.front();
}

void expect_at(const LoadError& e, Where w) {
  EXPECT_EQ(e.file, kFile);
  EXPECT_EQ(e.line, w.line) << e.str();
  EXPECT_EQ(e.column, w.column) << e.str();
  const std::string prefix = std::string(kFile) + ":" + std::to_string(w.line) + ":" + std::to_string(w.column) + ": ";
  EXPECT_EQ(e.str().substr(0, prefix.size()), prefix);
}

void expect_parts(const LoadError& e, const std::vector<std::string>& parts) {
  for (const auto& p : parts) EXPECT_NE(e.message.find(p), std::string::npos) << "missing \"" << p << "\" in: " << e.str();
}

// Runs `text` expecting exactly one error at the position of `needle`.
void expect_error(const std::string& text, const std::string& needle, const std::vector<std::string>& parts,
                  int nth = 0) {
  LoadResult r = parse_scenario(text, kFile);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << [&] {
    std::string all;
    for (const auto& e : r.errors) all += e.str() + "\n";
    return all;
  }();
  expect_at(r.errors.front(), where(text, needle, nth));
  expect_parts(r.errors.front(), parts);
}

TEST(Loader, LoadsTheValidScenario) {
  LoadResult r = parse_scenario(kValid, kFile);
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(r.ok());
  const Scenario& s = *r.scenario;
  EXPECT_EQ(s.name, "split brain");
  EXPECT_EQ(s.duration, minutes(10));
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(s.settle, minutes(2));  // DESIGN.md default
  EXPECT_EQ(s.cluster.app_servers, 3u);
  ASSERT_EQ(s.cluster.servers.size(), 1u);
  EXPECT_EQ(s.cluster.servers[0].name.name, "app3");
  EXPECT_EQ(s.cluster.servers[0].version, (Version{10, 4, 2}));
  EXPECT_EQ(s.database.replication_lag, (DurationRange{milliseconds(5), milliseconds(50)}));
  EXPECT_EQ(s.network.latency, (DurationRange{microseconds(200), milliseconds(2)}));
  ASSERT_EQ(s.faults.size(), 2u);
  EXPECT_EQ(s.faults[0].kind, FaultKind::partition);
  EXPECT_EQ(s.faults[0].at, Time{minutes(2)});
  EXPECT_EQ(s.faults[0].for_, std::optional<Duration>(minutes(1)));
  ASSERT_EQ(s.faults[0].groups.size(), 2u);
  EXPECT_EQ(s.faults[0].groups[1][1].name, "app3");
  const Where w = where(kValid, "\"app3\"]]");
  EXPECT_EQ(s.faults[0].groups[1][1].pos, (SourcePos{w.line, w.column}));
  EXPECT_EQ(s.faults[1].kind, FaultKind::heal);
  ASSERT_EQ(s.operations.size(), 1u);
  EXPECT_EQ(s.operations[0].runbook, Runbook::rolling_upgrade);
  EXPECT_EQ(s.operations[0].version, (Version{10, 5, 0}));
  EXPECT_FALSE(s.invariants.all);
  EXPECT_TRUE(s.invariants.checks("single_leader"));
  EXPECT_FALSE(s.invariants.checks("no_lost_writes"));
  ASSERT_EQ(s.expect.violations.size(), 1u);
  EXPECT_EQ(s.expect.violations[0].name, "single_leader");
}

TEST(Loader, DefaultsWhenOnlyDurationIsGiven) {
  LoadResult r = parse_scenario("duration = \"1m\"\n", "dir/minimal.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.scenario->name, "minimal.toml");
  EXPECT_TRUE(r.scenario->invariants.all);
  EXPECT_EQ(r.scenario->cluster.app_servers, 3u);
  EXPECT_EQ(r.scenario->clients.count, 50u);
}

TEST(Loader, TomlSyntaxErrorHasItsPosition) {
  const std::string text = replace(kValid, "[proxy]", "[proxy");
  const LoadError e = only_error(text);
  EXPECT_EQ(e.line, where(text, "[proxy").line);
  EXPECT_GE(e.column, 1u);
  expect_parts(e, {"TOML syntax error"});
}

TEST(Loader, DuplicateKeyIsASyntaxError) {
  const std::string text = replace(kValid, "seed = 7\n", "seed = 7\nseed = 8\n");
  const LoadError e = only_error(text);
  EXPECT_EQ(e.line, where(text, "seed = 8").line);
}

TEST(Loader, UnknownKeysAtEveryLevel) {
  expect_error(replace(kValid, "seed = 7", "sed = 7"), "sed", {"unknown key \"sed\"", "the top level", "did you mean \"seed\"?"});
  expect_error(replace(kValid, "app_servers = 3", "app_server = 3"), "app_server",
               {"unknown key \"app_server\" in [cluster]", "did you mean \"app_servers\"?", "expected one of app_servers"});
  expect_error(replace(kValid, "name = \"app3\"", "nam = \"app3\""), "nam =", {"[[cluster.server]]", "did you mean \"name\"?"});
  expect_error(replace(kValid, "replicas = 2", "replica = 2"), "replica =", {"[database]", "did you mean \"replicas\"?"});
  expect_error(replace(kValid, "health_check = \"ping\"", "healthcheck = \"ping\""), "healthcheck", {"[proxy]", "did you mean \"health_check\"?"});
  expect_error(replace(kValid, "loss = 0.0", "los = 0.0"), "los =", {"[network]", "did you mean \"loss\"?"});
  expect_error(replace(kValid, "channels = 5", "chanels = 5"), "chanels", {"[clients]", "did you mean \"channels\"?"});
  expect_error(replace(kValid, "groups = [[", "grups = [["), "grups", {"[[faults]]", "did you mean \"groups\"?"});
  expect_error(replace(kValid, "to_version = ", "to_versoin = "), "to_versoin", {"[[operations]]", "did you mean \"to_version\"?"});
  expect_error(replace(kValid, "violations = ", "violation = "), "violation =", {"[expect]", "did you mean \"violations\"?"});
  expect_error(replace(kValid, "[invariants]\n", "[invariants]\nchek = []\n"), "chek", {"[invariants]", "did you mean \"check\"?"});
  expect_error(kValid + "\n[fuzz]\nmax_fault = 3\n", "max_fault", {"[fuzz]", "did you mean \"max_faults\"?"});
  expect_error(kValid + "\n[invariants.single_leader]\ngrce = \"1s\"\n", "grce",
               {"[invariants.single_leader]", "did you mean \"grace\"?"});
  expect_error(replace(kValid, "[network]", "[netwrok]"), "netwrok", {"did you mean \"network\"?"});
}

TEST(Loader, KeyOfAnotherFaultKindSaysSo) {
  expect_error(replace(kValid, "kind = \"heal\"", "kind = \"heal\"\ngroups = []"), "groups = []",
               {"\"groups\" does not apply to fault kind \"heal\""});
  expect_error(replace(kValid, "kind = \"heal\"", "kind = \"heal\"\nfor = \"1s\""), "for = \"1s\"",
               {"\"for\" does not apply"});
}

TEST(Loader, WrongTypes) {
  expect_error(replace(kValid, "app_servers = 3", "app_servers = \"3\""), "\"3\"",
               {"app_servers is a string (\"3\")", "expected an integer from 1 to 32"});
  expect_error(replace(kValid, "duration = \"10m\"", "duration = 10"), "10\n",
               {"duration is an integer (10)", "expected a duration string"});
  expect_error(replace(kValid, "loss = 0.0", "loss = \"none\""), "\"none\"", {"loss is a string", "probability"});
  expect_error(replace(kValid, "allow_unsupported_upgrades = false", "allow_unsupported_upgrades = 0"),
               "0\n\n[[cluster.server]]", {"allow_unsupported_upgrades is an integer (0)", "true or false"});
  expect_error(replace(kValid, "groups = [[\"app1\"], [\"app2\", \"app3\"]]", "groups = \"app1\""), "\"app1\"\nfor",
               {"groups is a string", "a list of node lists"});
  expect_error(replace(kValid, "[\"app2\", \"app3\"]", "[\"app2\", 3]"), "3]]", {"an element of groups is an integer (3)", "expected a string"});
  expect_error(replace(kValid, "[cluster]\n", "[cluster]\nbugs2 = 1\n"), "bugs2", {"unknown key"});
  expect_error("duration = \"1m\"\ndatabase = 3\n", "3\n", {"database is an integer (3)", "a table"});
  expect_error(replace(kValid, "version = \"10.4.1\"", "version = \"10.4\""), "\"10.4\"",
               {"version = \"10.4\" is not a version", "\"major.minor.patch\""});
}

TEST(Loader, UnknownNamesWithSuggestions) {
  expect_error(replace(kValid, "kind = \"partition\"", "kind = \"partiton\""), "\"partiton\"",
               {"unknown fault kind \"partiton\" (did you mean \"partition\"?)", "expected one of partition, one_way"});
  expect_error(replace(kValid, "runbook = \"rolling_upgrade\"", "runbook = \"roling_upgrade\""), "\"roling_upgrade\"",
               {"unknown runbook \"roling_upgrade\" (did you mean \"rolling_upgrade\"?)"});
  expect_error(replace(kValid, "check = [\"single_leader\"", "check = [\"single_leadr\""), "\"single_leadr\"",
               {"unknown invariant \"single_leadr\" (did you mean \"single_leader\"?)"});
  expect_error(replace(kValid, "bugs = []", "bugs = [\"leader_hihgest_id\"]"), "\"leader_hihgest_id\"",
               {"unknown bug \"leader_hihgest_id\" (did you mean \"leader_highest_id\"?)"});
  expect_error(replace(kValid, "[\"app2\", \"app3\"]", "[\"app2\", \"ap3\"]"), "\"ap3\"",
               {"unknown node \"ap3\" (did you mean \"app3\"?)"});
  expect_error(replace(kValid, "leader_election = \"bully\"", "leader_election = \"bulli\""), "\"bulli\"",
               {"unknown leader_election \"bulli\" (did you mean \"bully\"?)", "bully, db_lease"});
  const std::string step = kValid + "\n[[operations]]\nat = \"1m\"\nstep = \"restrat\"\nnode = \"app1\"\n";
  expect_error(step, "\"restrat\"", {"unknown step \"restrat\" (did you mean \"restart\"?)"});
}

TEST(Loader, NodeBeyondTheClusterNamesWhatExists) {
  const std::string text = replace(kValid, "[\"app2\", \"app3\"]", "[\"app2\", \"app4\"]");
  expect_error(text, "\"app4\"", {"unknown node \"app4\"", "app1..app3", "db-primary", "client1..client50"});
  EXPECT_EQ(only_error(text).message.find("did you mean"), std::string::npos);
}

TEST(Loader, NodeOfTheWrongClass) {
  const std::string text = kValid + "\n[[faults]]\nat = \"5m\"\nkind = \"db_crash\"\nnode = \"app1\"\n";
  expect_error(text, "\"app1\"\n", {"\"app1\" is not a database member", "db-primary, db-replica1, db-replica2"});
  const std::string lag = kValid + "\n[[faults]]\nat = \"5m\"\nkind = \"replica_lag\"\nnode = \"db-primary\"\nlag = \"5s\"\n";
  expect_error(lag, "\"db-primary\"\nlag", {"is not a database replica"});
  const std::string gossip =
      kValid + "\n[[faults]]\nat = \"5m\"\nkind = \"gossip_send_failure\"\nnode = \"app1\"\npeer = \"app1\"\n";
  expect_error(gossip, "\"app1\"\n", {"sending node itself"}, 1);
}

TEST(Loader, TimesBeyondDuration) {
  expect_error(replace(kValid, "at = \"4m\"", "at = \"14m\""), "\"14m\"",
               {"at = \"14m\" is beyond the scenario's duration \"10m\"", "expected a time from 0s to 10m"});
  expect_error(replace(kValid, "at = \"6m\"", "at = \"10m1s\""), "\"10m1s\"", {"beyond"});
  EXPECT_TRUE(parse_scenario(replace(kValid, "at = \"6m\"", "at = \"10m\""), kFile).ok());
}

TEST(Loader, NegativeAndMalformedDurationsAndRanges) {
  expect_error(replace(kValid, "for = \"1m\"", "for = \"-1m\""), "\"-1m\"", {"for:", "negative duration \"-1m\""});
  expect_error(replace(kValid, "for = \"1m\"", "for = \"0s\""), "\"0s\"", {"not positive"});
  expect_error(replace(kValid, "migration_time = \"20s\"", "migration_time = \"20 seconds\""), "\"20 seconds\"",
               {"migration_time:", "expected a duration"});
  expect_error(replace(kValid, "replication_lag = \"5ms..50ms\"", "replication_lag = \"50ms..5ms\""), "\"50ms..5ms\"",
               {"replication_lag:"});
  expect_error(replace(kValid, "latency = \"0.2ms..2ms\"", "latency = \"0.2ms..2\""), "\"0.2ms..2\"",
               {"latency:"});
  expect_error(replace(kValid, "duration = \"10m\"", "duration = \"0s\""), "\"0s\"", {"duration", "not positive"});
  // A clock offset is signed: "-2s" is fine there.
  EXPECT_TRUE(parse_scenario(kValid + "\n[[faults]]\nat = \"5m\"\nkind = \"clock_skew\"\nnode = \"app2\"\noffset = \"-2s\"\n", kFile).ok());
}

TEST(Loader, ProbabilitiesOutsideZeroOne) {
  expect_error(replace(kValid, "loss = 0.0", "loss = 1.5"), "1.5", {"loss is a float (1.5), outside [0, 1]"});
  expect_error(replace(kValid, "reorder = 0.0", "reorder = -0.1"), "-0.1", {"reorder", "outside [0, 1]"});
  expect_error(replace(kValid, "duplicate = 0.0", "duplicate = nan"), "nan", {"duplicate", "outside [0, 1]"});
  const std::string rate = kValid + "\n[[faults]]\nat = \"5m\"\nkind = \"loss\"\nrate = 2\n";
  expect_error(rate, "2\n", {"rate is an integer (2), outside [0, 1]"}, 1);
  EXPECT_TRUE(parse_scenario(replace(kValid, "loss = 0.0", "loss = 1"), kFile).ok());
}

TEST(Loader, PartitionGroups) {
  expect_error(replace(kValid, "[[\"app1\"], [\"app2\", \"app3\"]]", "[[\"app1\"], []]"), "[]]",
               {"empty partition group", "at least one node name"});
  expect_error(replace(kValid, "[[\"app1\"], [\"app2\", \"app3\"]]", "[[\"app1\", \"app2\"]]"), "[[\"app1\", \"app2\"]]",
               {"groups has 1 group", "at least two groups"});
  expect_error(replace(kValid, "[[\"app1\"], [\"app2\", \"app3\"]]", "[[\"app1\"], [\"app2\", \"app1\"]]"),
               "\"app1\"]]", {"\"app1\" is in two partition groups"});
}

TEST(Loader, UpgradeThatSkipsAMinorVersion) {
  const std::string runbook = replace(kValid, "to_version = \"10.5.0\"", "to_version = \"10.6.0\"");
  expect_error(runbook, "\"10.6.0\"",
               {"rolling_upgrade of app1 from 10.4.1 to 10.6.0 skips a minor version", "allow_unsupported_upgrades"});
  EXPECT_TRUE(parse_scenario(replace(runbook, "allow_unsupported_upgrades = false", "allow_unsupported_upgrades = true"), kFile).ok());

  // A step, after the runbook moved every server to 10.5.0: 10.6.x is one step on,
  // 10.7.0 two.
  const std::string steps = kValid +
                            "\n[[operations]]\nat = \"8m\"\nstep = \"upgrade\"\nnodes = [\"app1\", \"app2\"]\nversion = \"10.6.1\"\n"
                            "\n[[operations]]\nat = \"9m\"\nstep = \"upgrade\"\nnode = \"app3\"\nversion = \"10.7.0\"\n";
  expect_error(steps, "\"10.7.0\"", {"upgrade of app3 from 10.5.0 to 10.7.0 skips a minor version"});
  // Operations are replayed in time order, not file order.
  const std::string early = kValid + "\n[[operations]]\nat = \"1m\"\nstep = \"upgrade\"\nnode = \"app1\"\nversion = \"10.6.0\"\n";
  expect_error(early, "\"10.6.0\"", {"upgrade of app1 from 10.4.1 to 10.6.0"});
}

// Issue 14: add_to_channel names an app server, a client and a channel.
TEST(Loader, AddToChannelStep) {
  const std::string op = "[[operations]]\nat = \"6m\"\nrunbook = \"rolling_upgrade\"\nto_version = \"10.5.0\"";
  auto with = [&](const std::string& body) { return replace(kValid, op, "[[operations]]\nat = \"6m\"\n" + body); };
  {
    LoadResult r = parse_scenario(with("step = \"add_to_channel\"\nnode = \"app2\"\nclient = \"client7\"\nchannel = 3"),
                                  kFile);
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().str());
    const Operation& o = r.scenario->operations.back();
    ASSERT_TRUE(o.step.has_value());
    EXPECT_EQ(*o.step, StepKind::add_to_channel);
    EXPECT_EQ(o.nodes.front().name, "app2");
    EXPECT_EQ(o.client.name, "client7");
    EXPECT_EQ(o.channel, 3u);
  }
  expect_error(with("step = \"add_to_channel\"\nnode = \"app2\"\nclient = \"client70\"\nchannel = 3"),
               "\"client70\"", {"unknown client \"client70\"", "client1"});
  expect_error(with("step = \"add_to_channel\"\nnode = \"app2\"\nclient = \"client7\"\nchannel = 63"),
               "63", {"channel = 63 is not a channel of this cluster", "0 to 4"});
  expect_error(with("step = \"add_to_channel\"\nnode = \"db-primary\"\nclient = \"client7\"\nchannel = 1"),
               "\"db-primary\"", {"is not an app server"});
  expect_error(with("step = \"add_to_channel\"\nnode = \"app2\"\nchannel = 1"), "[[operations]]",
               {"client"}, 0);
  expect_error(with("step = \"add_to_channel\"\nnode = \"app2\"\nclient = \"client7\"\nchannel = 1\nplugin = \"x\""),
               "plugin =", {"key \"plugin\" does not apply to step \"add_to_channel\"", "client, channel"});
}

TEST(Loader, MissingRequiredKeys) {
  const std::string no_duration = replace(kValid, "duration = \"10m\"\n", "");
  const LoadError e = only_error(no_duration);
  EXPECT_EQ(e.line, 1u);
  expect_parts(e, {"no duration", "duration = \"10m\""});
  expect_error(replace(kValid, "at = \"4m\"\n", ""), "[[faults]]\nkind = \"heal\"", {"has no at", "at = \"2m\""});
  expect_error(replace(kValid, "kind = \"heal\"\n", ""), "[[faults]]\nat = \"4m\"", {"has no kind"});
  expect_error(replace(kValid, "runbook = \"rolling_upgrade\"\nto_version = \"10.5.0\"\n", ""), "[[operations]]",
               {"has no runbook", "or step"});
  expect_error(kValid + "\n[[faults]]\nat = \"5m\"\nkind = \"crash\"\n", "[[faults]]\nat = \"5m\"", {"has no node"});
  expect_error(kValid + "\n[[faults]]\nat = \"5m\"\nkind = \"pause\"\nnode = \"app1\"\n", "[[faults]]\nat = \"5m\"",
               {"has no for"});
}

TEST(Loader, ExpectedViolationMustBeChecked) {
  expect_error(replace(kValid, "violations = [\"single_leader\"]", "violations = [\"no_lost_writes\"]"),
               "\"no_lost_writes\"]", {"expected violation \"no_lost_writes\" is not judged"});
}

// ---- [invariants] skip ----------------------------------------------------------

const std::string kSkip = replace(kValid, "check = [\"single_leader\", \"job_exactly_once\"]",
                                  "skip = { message_delivery = \"the start-up replica race\", job_progress = \"no jobs\" }");

TEST(Loader, SkipJudgesEveryOtherInvariantAndKeepsItsReason) {
  LoadResult r = parse_scenario(kSkip, kFile);
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(r.ok());
  const InvariantsConfig& inv = r.scenario->invariants;
  EXPECT_TRUE(inv.all);
  EXPECT_TRUE(inv.checks("single_leader"));
  EXPECT_TRUE(inv.checks("no_lost_writes"));
  EXPECT_FALSE(inv.checks("message_delivery"));
  EXPECT_FALSE(inv.checks("job_progress"));
  EXPECT_EQ(inv.skip_reason("message_delivery"), "the start-up replica race");
  EXPECT_EQ(inv.skip_reason("single_leader"), "");
  ASSERT_EQ(inv.skip.size(), 2u);
  const Where w = where(kSkip, "\"no jobs\"");
  for (const auto& skipped : inv.skip)
    if (skipped.name.name == "job_progress") EXPECT_EQ(skipped.name.pos, (SourcePos{w.line, w.column}));
}

TEST(Loader, SkipErrors) {
  expect_error(replace(kSkip, "job_progress = \"no jobs\"", "job_progres = \"no jobs\""), "\"no jobs\"",
               {"unknown invariant \"job_progres\"", "did you mean \"job_progress\"?", "[invariants] skip"});
  expect_error(replace(kSkip, "job_progress = \"no jobs\"", "job_progress = \" \""), "\" \" }",
               {"reason for skipping \"job_progress\" is empty", "expected a sentence"});
  expect_error(replace(kSkip, "job_progress = \"no jobs\"", "job_progress = true"), "true",
               {"job_progress is", "expected a string: the reason it is skipped"});
  expect_error(replace(kSkip, "skip = {", "check = [\"single_leader\"]\nskip = {"), "{ message_delivery",
               {"both check and skip"});
  expect_error(replace(kSkip, "skip = { message_delivery = \"the start-up replica race\", job_progress = \"no jobs\" }",
                       "skip = [\"job_progress\"]"),
               "[\"job_progress\"]", {"skip is", "expected a table of invariant = \"reason\""});
  // An expected violation must be judged.
  expect_error(replace(kSkip, "job_progress = \"no jobs\"", "single_leader = \"not here\""), "\"single_leader\"]",
               {"expected violation \"single_leader\" is not judged (not here)"});
}

TEST(Loader, SyncFallbackOnlyWithSyncReplication) {
  LoadResult r = parse_scenario(replace(kValid, "replication = \"async\"", "replication = \"sync\"\nsync_fallback = true"), kFile);
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.scenario->database.sync_fallback);
  expect_error(replace(kValid, "replication = \"async\"", "replication = \"async\"\nsync_fallback = true"),
               "true\nreplication_lag", {"sync_fallback = true applies to replication = \"sync\" only"});
}

TEST(Loader, BothNodeAndNodes) {
  expect_error(kValid + "\n[[faults]]\nat = \"5m\"\nkind = \"crash\"\nnode = \"app1\"\nnodes = [\"app2\"]\n", "[\"app2\"]\n",
               {"both node and nodes"});
}

TEST(Loader, ServerOverrideMustNameAnInitialServer) {
  expect_error(replace(kValid, "name = \"app3\"", "name = \"app9\""), "\"app9\"", {"unknown app server \"app9\"", "app1, app2, app3"});
}

TEST(Loader, ServerOverrideConfigSettings) {
  // config.json settings of one server (issue 14: JobSettings.RunScheduler).
  const std::string text = replace(kValid, "version = \"10.4.2\"",
                                   "version = \"10.4.2\"\nconfig = { \"JobSettings.RunScheduler\" = false, "
                                   "\"ServiceSettings.SiteURL\" = \"https://x\", \"SqlSettings.MaxIdleConns\" = 20 }");
  LoadResult r = parse_scenario(text, kFile);
  ASSERT_TRUE(r.ok()) << r.errors.front().str();
  const auto& config = r.scenario->cluster.servers.at(0).config;
  EXPECT_EQ(config.at("JobSettings.RunScheduler"), "false");
  EXPECT_EQ(config.at("ServiceSettings.SiteURL"), "https://x");
  EXPECT_EQ(config.at("SqlSettings.MaxIdleConns"), "20");
  expect_error(replace(kValid, "version = \"10.4.2\"", "version = \"10.4.2\"\nconfig = { RunScheduler = false }"),
               "RunScheduler", {"config key \"RunScheduler\" is not a setting", "\"Section.Key\" in quotes"});
  expect_error(replace(kValid, "version = \"10.4.2\"", "version = \"10.4.2\"\nconfig = { \"A.B\" = [1] }"),
               "[1]", {"config \"A.B\" is an array", "a string, an integer or a boolean"});
  expect_error(replace(kValid, "version = \"10.4.2\"", "version = \"10.4.2\"\nconfig = 37"), "37",
               {"config is an integer (37)", "a table"});
}

TEST(Loader, AddServerExtendsTheNodeNames) {
  const std::string text = kValid + "\n[[operations]]\nat = \"7m\"\nrunbook = \"add_server\"\n" +
                           "\n[[faults]]\nat = \"8m\"\nkind = \"crash\"\nnode = \"app4\"\n";
  EXPECT_TRUE(parse_scenario(text, kFile).ok());
}

TEST(Loader, ReportsSeveralErrorsInFileOrder) {
  std::string text = replace(kValid, "loss = 0.0", "loss = 7.0");
  text = replace(text, "seed = 7", "seeed = 7");
  text = replace(text, "at = \"4m\"", "at = \"40m\"");
  LoadResult r = parse_scenario(text, kFile);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, where(text, "seeed").line);
  EXPECT_EQ(r.errors[1].line, where(text, "7.0").line);
  EXPECT_EQ(r.errors[2].line, where(text, "\"40m\"").line);
}

TEST(Loader, UnreadableFileIsAnErrorWithoutPosition) {
  LoadResult r = load_scenario("/nonexistent/dir/x.toml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0u);
  EXPECT_EQ(r.errors[0].str(), "/nonexistent/dir/x.toml: cannot open the file; expected a readable scenario file (.toml)");
}

TEST(Loader, HostileBytesAreQuotedPrintably) {
  const std::string text = replace(kValid, "kind = \"heal\"", "kind = \"he\\u0007al\"");
  const LoadError e = only_error(text);
  expect_parts(e, {"unknown fault kind \"he\\x07al\""});
}

TEST(Loader, NodeNamesInDeclarationOrder) {
  Scenario s;
  s.cluster.app_servers = 2;
  s.database.replicas = 1;
  s.clients.count = 2;
  EXPECT_EQ(node_names(s), (std::vector<std::string>{"app1", "app2", "db-primary", "db-replica1", "proxy", "storage", "client1", "client2"}));
}


// Issue 14: the revoke_sessions step and [cluster] cluster_name.
TEST(Loader, RevokeSessionsStepAndClusterName) {
  const std::string base = "duration = \"5m\"\n[cluster]\napp_servers = 3\n[clients]\ncount = 4\n";
  LoadResult ok = parse_scenario(base + "[[operations]]\nat = \"2m\"\nstep = \"revoke_sessions\"\nclient = \"all\"\n"
                                        "[[operations]]\nat = \"3m\"\nstep = \"revoke_sessions\"\nclient = \"client3\"\n"
                                        "node = \"app2\"\n",
                                 kFile);
  ASSERT_TRUE(ok.ok()) << (ok.errors.empty() ? "" : ok.errors.front().str());
  ASSERT_EQ(ok.scenario->operations.size(), 2u);
  EXPECT_EQ(ok.scenario->operations[0].client.name, "all");
  EXPECT_TRUE(ok.scenario->operations[0].nodes.empty());  // app1 by default
  EXPECT_EQ(ok.scenario->operations[1].nodes.front().name, "app2");
  EXPECT_FALSE(ok.scenario->cluster.cluster_name.has_value());

  expect_error(base + "[[operations]]\nat = \"2m\"\nstep = \"revoke_sessions\"\n", "[[operations]]",
               {"client", "\"client3\" (or \"all\")"});
  expect_error(base + "[[operations]]\nat = \"2m\"\nstep = \"revoke_sessions\"\nclient = \"client9\"\n",
               "\"client9\"", {"unknown client \"client9\"", "client1..client4"});
  expect_error(base + "[[operations]]\nat = \"2m\"\nstep = \"revoke_sessions\"\nclient = \"al\"\n", "\"al\"",
               {"unknown client \"al\"", "did you mean \"all\"?"});
  expect_error(base + "[[operations]]\nat = \"2m\"\nstep = \"revoke_sessions\"\nclient = \"all\"\nnode = \"app7\"\n",
               "\"app7\"", {"unknown app server \"app7\""});
  expect_error(base + "[[operations]]\nat = \"2m\"\nstep = \"revoke_sessions\"\nclient = \"all\"\nplugin = \"x\"\n",
               "plugin", {"\"plugin\" does not apply"});

  LoadResult named = parse_scenario("duration = \"5m\"\n[cluster]\ncluster_name = \"\"\n", kFile);
  ASSERT_TRUE(named.ok());
  ASSERT_TRUE(named.scenario->cluster.cluster_name.has_value());
  EXPECT_EQ(*named.scenario->cluster.cluster_name, "");
  expect_error("duration = \"5m\"\n[cluster]\ncluster_name = 3\n", "3\n", {"cluster_name is an integer (3)"});
}

}  // namespace
}  // namespace fl::harness
