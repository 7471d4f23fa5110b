// Migrations, jobs, versions, plugins.
#include <gtest/gtest.h>

#include "tests/invariants/history_builder.h"

namespace fl::inv::testing {
namespace {

using namespace std::chrono_literals;

// The seed's upgrade with a schema change: 10.4 -> 10.5, app1 starts first.
Hist upgraded() {
  Hist h;
  h.start_servers(0s, "10.4.1");
  for (NodeId s : {h.app1, h.app2, h.app3}) h.at(60s, s, ProcessStopped{});
  h.at(70s, h.app1, ProcessStarted{});
  h.at(70s, h.app1, ServerStarting{"10.5.0", 7});
  h.at(71s, h.app1, MigrationLockAcquired{T(86s), false});
  h.at(71s, h.app1, MigrationStarted{10005});
  return h;
}

TEST(MigrationByFirstStarter, FirstStarterMigratesOthersWaitPasses) {
  Hist h = upgraded();
  h.at(80s, h.app2, ProcessStarted{});
  h.at(80s, h.app2, ServerStarting{"10.5.0", 7});
  h.at(91s, h.app1, MigrationApplied{10005});
  h.at(91s, h.app1, MigrationLockReleased{});
  h.at(92s, h.app1, ServerServing{"10.5.0"});
  h.at(93s, h.app2, MigrationLockAcquired{T(108s), false});
  h.at(94s, h.app2, ServerServing{"10.5.0"});
  EXPECT_TRUE(h.check("migration_by_first_starter", 300s).empty());
}

TEST(MigrationByFirstStarter, TwoMigratingAtOnceUnderSkewIsCaughtAndNamesTheSkew) {
  Hist h = upgraded();
  const auto skew = h.at(75s, h.app2, ClockChanged{20s, 0, 20s});
  h.at(80s, h.app2, ProcessStarted{});
  h.at(80s, h.app2, ServerStarting{"10.5.0", 7});
  const auto lock2 = h.at(81s, h.app2, MigrationLockAcquired{T(116s), true});
  const auto start2 = h.at(81s, h.app2, MigrationStarted{10005});
  h.at(91s, h.app1, MigrationApplied{10005});
  const auto again = h.at(101s, h.app2, MigrationApplied{10005});
  const auto v = h.check("migration_by_first_starter", 300s);
  ASSERT_GE(v.size(), 2u);
  // First: both migrating at 81 s.
  EXPECT_EQ(v[0].at, T(81s));
  EXPECT_TRUE(names_node(v[0], h.app1));
  EXPECT_TRUE(names_node(v[0], h.app2));
  EXPECT_TRUE(has_witness(v[0], start2));
  EXPECT_TRUE(has_witness(v[0], lock2));
  EXPECT_TRUE(has_witness(v[0], skew));
  EXPECT_NE(v[0].message.find("both migrate schema 10.5"), std::string::npos) << v[0].message;
  EXPECT_NE(v[0].message.find("under clock skew: app2's clock +20s"), std::string::npos) << v[0].message;
  // And the double application at 101 s.
  bool twice = false;
  for (const auto& x : v)
    if (x.at == T(101s) && has_witness(x, again) && x.message.find("applied twice") != std::string::npos) twice = true;
  EXPECT_TRUE(twice);
}

TEST(MigrationByFirstStarter, MigrationByALaterStarterIsCaught) {
  Hist h;
  h.start_servers(0s, "10.4.1");
  h.at(70s, h.app1, ProcessStarted{});
  h.at(70s, h.app1, ServerStarting{"10.5.0", 7});
  h.at(80s, h.app2, ProcessStarted{});
  h.at(80s, h.app2, ServerStarting{"10.5.0", 7});
  const auto m = h.at(81s, h.app2, MigrationStarted{10005});  // migration_without_lock, say
  const auto v = h.check("migration_by_first_starter", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(81s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app2, h.app1}));
  EXPECT_TRUE(has_witness(v[0], m));
  EXPECT_NE(v[0].message.find("app1 started version 10.5.0 first"), std::string::npos) << v[0].message;
}

TEST(MigrationByFirstStarter, CrashedFirstStarterLeavesTheRaceAndTiesAreFair) {
  Hist h;
  h.start_servers(0s, "10.4.1");
  h.at(70s, h.app1, ProcessStarted{});
  h.at(70s, h.app1, ServerStarting{"10.5.0", 7});
  h.at(70s, h.app2, ProcessStarted{});
  h.at(70s, h.app2, ServerStarting{"10.5.0", 7});
  h.at(71s, h.app2, MigrationStarted{10005});  // app2 won the lock in a tie
  h.at(72s, h.app2, ProcessCrashed{});           // and died mid-migration
  h.at(80s, h.app1, MigrationStarted{10005});    // app1 takes over: fine
  h.at(100s, h.app1, MigrationApplied{10005});
  EXPECT_TRUE(h.check("migration_by_first_starter", 300s).empty());
}

// Issue 13, finding 1 (seed 73): app2, crashed at 1m53s, restarts at 2m12s on the
// new version in the middle of the operator's upgrade, takes the lock and starts
// migrating; app1 starts 10.5.0 at 2m14s and waits; app2 crashes at 2m20s
// mid-migration (rolled back), restarts at 2m28s, takes the expired lock over at
// 2m41.575s and finishes. Applied once, by a server of the new version that
// first started on it before app1, and nothing served early: correct. The
// checker used to compare app2's latest start (2m28s) with app1's (2m14s).
Hist crashed_mid_migration() {
  Hist h;
  h.start_servers(0s, "10.4.1");
  h.at(113s, h.app2, ProcessCrashed{});
  h.at(120s, h.app1, ProcessStopped{});  // the runbook stops every server
  h.at(120s, h.app3, ProcessStopped{});
  h.at(132s, h.app2, ProcessStarted{});  // the crash fault's restart, on the new binary
  h.at(132s, h.app2, ServerStarting{"10.5.0", 7});
  h.at(133s, h.app2, MigrationLockAcquired{T(148s), false});
  h.at(133s, h.app2, MigrationStarted{10005});
  h.at(134s, h.app1, ProcessStarted{});  // the runbook starts one server
  h.at(134s, h.app1, ServerStarting{"10.5.0", 7});
  h.at(140s, h.app2, ProcessCrashed{});  // mid-migration: rolled back
  h.at(148s, h.app2, ProcessStarted{});
  h.at(148s, h.app2, ServerStarting{"10.5.0", 7});
  return h;
}

TEST(MigrationByFirstStarter, CrashMidMigrationThenTakeOverByTheFirstStarterPasses) {
  Hist h = crashed_mid_migration();
  h.at(161575ms, h.app2, MigrationLockAcquired{T(176575ms), true});
  const auto m = h.at(161575ms, h.app2, MigrationStarted{10005});
  h.at(181s, h.app2, MigrationApplied{10005});
  h.at(181s, h.app2, MigrationLockReleased{});
  h.at(182s, h.app2, ServerServing{"10.5.0"});
  h.at(183s, h.app1, MigrationLockAcquired{T(198s), false});
  h.at(183s, h.app1, MigrationLockReleased{});
  h.at(184s, h.app1, ServerServing{"10.5.0"});
  h.at(190s, h.app3, ProcessStarted{});
  h.at(190s, h.app3, ServerStarting{"10.5.0", 7});
  h.at(191s, h.app3, MigrationLockAcquired{T(206s), false});
  h.at(191s, h.app3, MigrationLockReleased{});
  h.at(192s, h.app3, ServerServing{"10.5.0"});
  EXPECT_TRUE(h.check_online("migration_by_first_starter", m).empty());
  EXPECT_TRUE(h.check("migration_by_first_starter", 360s).empty());
}

// The same start, but app3, which started 10.5.0 after both of them and never
// crashed, migrates while app1 and app2 wait: caught, and the first starter named
// is app2 by its FIRST start on 10.5.0 (2m12s), not its latest (2m28s).
TEST(MigrationByFirstStarter, LaterStarterMigratingIsJudgedByFirstStarts) {
  Hist h = crashed_mid_migration();
  h.at(150s, h.app3, ProcessStarted{});
  h.at(150s, h.app3, ServerStarting{"10.5.0", 7});
  const auto m = h.at(151s, h.app3, MigrationStarted{10005});  // migration_without_lock, say
  const auto v = h.check_online("migration_by_first_starter", m);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(151s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app3, h.app2}));
  EXPECT_TRUE(has_witness(v[0], m));
  EXPECT_NE(v[0].message.find("app2 started version 10.5.0 first (at 2m12s, app3 at 2m30s) and is still waiting"),
            std::string::npos)
      << v[0].message;
}

// A waiter that went away and came back after the migrating server had started
// re-entered the lock race behind it: not a violation, though its first start
// was earlier. app1 starts first, crashes before getting the lock; app2 starts,
// migrates, crashes; app2 restarts (95 s), then app1 (100 s); app2 takes the
// expired lock over.
TEST(MigrationByFirstStarter, AWaiterThatRestartedAfterTheMigratorIsNotAhead) {
  Hist h;
  h.start_servers(0s, "10.4.1");
  for (NodeId s : {h.app1, h.app2, h.app3}) h.at(60s, s, ProcessStopped{});
  h.at(70s, h.app1, ProcessStarted{});
  h.at(70s, h.app1, ServerStarting{"10.5.0", 7});
  h.at(72s, h.app1, ProcessCrashed{});
  h.at(75s, h.app2, ProcessStarted{});
  h.at(75s, h.app2, ServerStarting{"10.5.0", 7});
  h.at(76s, h.app2, MigrationStarted{10005});
  h.at(90s, h.app2, ProcessCrashed{});
  h.at(95s, h.app2, ProcessStarted{});
  h.at(95s, h.app2, ServerStarting{"10.5.0", 7});
  h.at(100s, h.app1, ProcessStarted{});
  h.at(100s, h.app1, ServerStarting{"10.5.0", 7});
  h.at(110s, h.app2, MigrationStarted{10005});
  h.at(130s, h.app2, MigrationApplied{10005});
  EXPECT_TRUE(h.check("migration_by_first_starter", 300s).empty());
  // Had app1 not restarted (waiting since 70 s), app2 would not be first.
  Hist g;
  g.start_servers(0s, "10.4.1");
  for (NodeId s : {g.app1, g.app2, g.app3}) g.at(60s, s, ProcessStopped{});
  g.at(70s, g.app1, ProcessStarted{});
  g.at(70s, g.app1, ServerStarting{"10.5.0", 7});
  g.at(75s, g.app2, ProcessStarted{});
  g.at(75s, g.app2, ServerStarting{"10.5.0", 7});
  g.at(90s, g.app2, ProcessCrashed{});
  g.at(95s, g.app2, ProcessStarted{});
  g.at(95s, g.app2, ServerStarting{"10.5.0", 7});
  g.at(110s, g.app2, MigrationStarted{10005});
  EXPECT_EQ(g.check("migration_by_first_starter", 300s).size(), 1u);
}

TEST(MigrationByFirstStarter, MigrationByAServerOfTheOldVersionIsCaught) {
  Hist h;
  h.start_servers(0s, "10.4.1");
  const auto m = h.at(30s, h.app3, MigrationStarted{10005});
  const auto v = h.check_online("migration_by_first_starter", m);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app3}));
  EXPECT_NE(v[0].message.find("app3 migrates schema 10.5 at 30s but runs version 10.4.1"), std::string::npos)
      << v[0].message;
}

TEST(MigrationByFirstStarter, ServingBeforeTheMigrationFinishedIsCaught) {
  Hist h = upgraded();
  h.at(80s, h.app2, ProcessStarted{});
  h.at(80s, h.app2, ServerStarting{"10.5.0", 7});
  const auto serve = h.at(85s, h.app2, ServerServing{"10.5.0"});
  const auto v = h.check_online("migration_by_first_starter", serve);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(85s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app2, h.app1}));
  EXPECT_NE(v[0].message.find("app1 has been migrating it since 1m11s"), std::string::npos) << v[0].message;
}

TEST(JobExactlyOnce, OneRunPerJobAndOneOpenPerTypePasses) {
  Hist h;
  h.start_servers(0s);
  h.at(60s, h.app1, JobCreated{1, "cleanup", true});
  h.at(70s, h.app2, JobClaimed{1, "cleanup"});
  h.at(70s, h.app2, JobRunStarted{1, "cleanup"});
  h.at(80s, h.app2, JobFinished{1, "cleanup"});
  h.at(120s, h.app1, JobCreated{2, "cleanup", true});
  h.at(121s, h.app1, JobCreated{3, "export", false});
  h.at(122s, h.app1, JobCreated{4, "export", false});  // not create-once: may pile up
  EXPECT_TRUE(h.check("job_exactly_once", 300s).empty());
}

TEST(JobExactlyOnce, JobRunTwiceCaught) {
  Hist h;
  h.at(60s, h.app1, JobCreated{1, "cleanup", true});
  const auto r1 = h.at(70s, h.app2, JobRunStarted{1, "cleanup"});
  const auto r2 = h.at(70s, h.app3, JobRunStarted{1, "cleanup"});
  const auto v = h.check_online("job_exactly_once", r2);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(70s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app2, h.app3}));
  EXPECT_TRUE(has_witness(v[0], r1));
  EXPECT_TRUE(has_witness(v[0], r2));
}

TEST(JobExactlyOnce, TwoPendingCreateOnceJobsCaught) {
  Hist h;
  const auto c1 = h.at(60s, h.app1, JobCreated{1, "cleanup", true});
  const auto c2 = h.at(61s, h.app2, JobCreated{2, "cleanup", true});  // split brain: two schedulers
  const auto v = h.check("job_exactly_once", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(61s));
  EXPECT_TRUE(has_witness(v[0], c1));
  EXPECT_TRUE(has_witness(v[0], c2));
  EXPECT_NE(v[0].message.find("create-once jobs of type cleanup"), std::string::npos);
}

TEST(JobProgress, FinishedOrRecentJobsPass) {
  Hist h;
  h.at(60s, h.app2, JobClaimed{1, "cleanup"});
  h.at(70s, h.app2, JobFinished{1, "cleanup"});
  h.at(250s, h.app2, JobClaimed{2, "cleanup"});  // 50 s before the end: within the 2-min bound
  EXPECT_TRUE(h.check("job_progress", 300s).empty());
}

TEST(JobProgress, JobOfACrashedWorkerIsStuck) {
  Hist h;
  const auto claim = h.at(60s, h.app2, JobClaimed{1, "cleanup"});
  h.at(61s, h.app2, JobRunStarted{1, "cleanup"});
  const auto crash = h.at(65s, h.app2, ProcessCrashed{});
  const auto v = h.check("job_progress", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(180s));  // claim + 2 min
  EXPECT_TRUE(has_witness(v[0], claim));
  EXPECT_TRUE(has_witness(v[0], crash));
  EXPECT_NE(v[0].message.find("app2 crashed at 1m05s"), std::string::npos) << v[0].message;
  EXPECT_TRUE(h.check("job_progress", 300s, {{"bound", 5min}}).empty());
}

TEST(VersionSkew, OneMinorApartPasses) {
  Hist h;
  h.start_servers(0s, "10.4.1");
  h.at(60s, h.app1, ProcessStopped{});
  h.at(65s, h.app1, ProcessStarted{});
  h.at(65s, h.app1, ServerStarting{"10.5.0", 7});
  h.at(66s, h.app1, MigrationLockAcquired{T(80s), false});
  h.at(90s, h.app1, ServerServing{"10.5.0"});
  EXPECT_TRUE(h.check("version_skew", 300s).empty());
}

// Issue 8: the sign of life is serving. A too-old binary takes the migration
// lock (every starting server does, MODEL.md) and then refuses to start: it never
// joined, so it is not a violation; nor is a server still blocked in start-up.
TEST(VersionSkew, LockThenRefusalIsNotAJoin) {
  Hist h;
  h.start_servers(0s, "10.6.0");
  h.at(60s, h.app1, ProcessStopped{});
  h.at(65s, h.app1, ProcessStarted{});
  h.at(65s, h.app1, ServerStarting{"10.4.1", 7});
  h.at(66s, h.app1, MigrationLockAcquired{T(81s), false});
  h.at(67s, h.app1, MigrationLockReleased{});
  h.at(67s, h.app1, DiscoveryRowWritten{});
  h.at(67s, h.app1, ServerRefusedStart{"binary older than the database"});  // the safe behaviour
  h.at(90s, h.app2, DiscoveryRowWritten{});
  EXPECT_TRUE(h.check("version_skew", 300s).empty());
  // A new start of the same old binary that blocks in start-up (never serves).
  h.at(100s, h.app1, ProcessStarted{});
  h.at(100s, h.app1, ServerStarting{"10.4.1", 7});
  h.at(101s, h.app1, MigrationLockAcquired{T(116s), false});
  EXPECT_TRUE(h.check("version_skew", 300s).empty());
}

TEST(VersionSkew, TwoServingServersTwoMinorsApartAreCaught) {
  Hist h;
  h.start_servers(0s, "10.4.1");
  h.at(60s, h.app1, ProcessStopped{});
  h.at(65s, h.app1, ProcessStarted{});
  const auto start = h.at(65s, h.app1, ServerStarting{"10.6.0", 7});
  h.at(66s, h.app1, MigrationLockAcquired{T(80s), false});
  // Running but not yet serving: not judged.
  EXPECT_TRUE(h.check("version_skew", 300s).empty());
  const auto serve = h.at(70s, h.app1, ServerServing{"10.6.0"});
  const auto v = h.check("version_skew", 300s);
  ASSERT_EQ(v.size(), 2u);  // with app2 and with app3
  EXPECT_EQ(v[0].at, T(70s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app2, h.app1}));
  EXPECT_TRUE(has_witness(v[0], start));
  EXPECT_TRUE(has_witness(v[0], serve));
  EXPECT_NE(v[0].message.find("app2 (10.4.1, serving since 0s) and app1 (10.6.0) both serve from 1m10s"),
            std::string::npos)
      << v[0].message;
  EXPECT_NE(v[0].message.find("2 minor versions apart"), std::string::npos) << v[0].message;
}

TEST(VersionSkew, AServerThatLeftIsNotJudged) {
  Hist h;
  h.start_servers(0s, "10.4.1");
  for (NodeId s : {h.app2, h.app3}) h.at(60s, s, ProcessStopped{});
  h.at(61s, h.app1, ProcessCrashed{});
  h.at(65s, h.app1, ProcessStarted{});
  h.at(65s, h.app1, ServerStarting{"10.6.0", 7});
  h.at(70s, h.app1, ServerServing{"10.6.0"});
  EXPECT_TRUE(h.check("version_skew", 300s).empty());
}

TEST(PluginConvergence, EveryServerLoadsWithinBoundPasses) {
  Hist h;
  h.start_servers(0s);
  h.at(100s, h.app1, PluginLoaded{"jira"});
  h.at(110s, h.app2, PluginLoaded{"jira"});
  h.at(120s, h.app3, PluginLoaded{"jira"});
  EXPECT_TRUE(h.check("plugin_convergence", 300s).empty());
}

TEST(PluginConvergence, AServerWithoutThePluginIsCaughtAtTheBound) {
  Hist h;
  h.start_servers(0s);
  const auto first = h.at(100s, h.app1, PluginLoaded{"jira"});
  h.at(110s, h.app2, PluginLoaded{"jira"});
  const auto v = h.check("plugin_convergence", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(160s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app3, h.app1}));
  EXPECT_TRUE(has_witness(v[0], first));
  // A storage outage suspends the deadline; a server that is down owes nothing.
  Hist g;
  g.start_servers(0s);
  g.at(100s, g.app1, PluginLoaded{"jira"});
  g.at(100s, g.app2, PluginLoaded{"jira"});
  g.at(101s, kNoNode, FaultInjected{0, "storage_outage", "storage_outage for 90s", {}});
  g.at(191s, kNoNode, FaultHealed{0, "storage_outage"});
  g.at(200s, g.app3, PluginLoaded{"jira"});
  EXPECT_TRUE(g.check("plugin_convergence", 300s).empty());
  h.info.shared_storage = false;
  EXPECT_TRUE(h.check("plugin_convergence", 300s).empty());
}

}  // namespace
}  // namespace fl::inv::testing
