// Start-up: the database connect, the migration lock (morph's real lock judged
// by app-server clocks vs db_clock), migrations, the version rule, discovery.
#include <gtest/gtest.h>

#include "tests/support/cluster_dsl.h"

namespace fl::test {
namespace {

constexpr Version kOld{10, 4, 1};
constexpr Version kNew{10, 5, 0};

// Two servers of the new version over a database at the old schema.
TestClusterOptions upgrade(MigrationLock lock, BugSet bugs = {}) {
  return TestClusterOptions{.app_servers = 2, .version = kNew, .tweak = [lock, bugs](ClusterSpec& s) {
                              s.database.initial_schema = kOld.schema();
                              s.migration_lock = lock;
                              s.bugs = bugs;
                            }};
}

std::size_t applied(const TestCluster& c, std::uint32_t schema) {
  std::size_t n = 0;
  for (auto& e : c.events<MigrationApplied>()) n += e.event.schema == schema;
  return n;
}

TEST(Migration, FirstStarterMigratesOthersWaitAndFindNothing) {
  TestCluster c(upgrade(MigrationLock::morph));
  c.run_for(minutes(3));
  EXPECT_EQ(applied(c, kNew.schema()), 1u) << c.dump();
  EXPECT_EQ(c.serving(), names({"app1", "app2"}));
  // Every starting server took the lock, even with nothing left to apply.
  EXPECT_EQ(c.count<MigrationLockAcquired>("app1"), 1u);
  EXPECT_EQ(c.count<MigrationLockAcquired>("app2"), 1u);
  // Nobody served before the migration was applied.
  const Time done = c.events<MigrationApplied>().front().at;
  for (auto& s : c.events<ServerServing>()) EXPECT_GE(s.at, done);
  // The migration took migration_time.
  const auto started = c.events<MigrationStarted>();
  ASSERT_EQ(started.size(), 1u);
  EXPECT_GE(done - started[0].at, k::kMigrationTimeDefault);
}

// app1 starts and migrates; app2, whose clock runs 20 s ahead, starts 5 s later.
TestCluster& skewed_start(TestCluster& c) {
  c.start_except({"app2"});
  c.skew("app2", seconds(20));
  c.run_for(seconds(5));
  c.start_node("app2");
  c.run_for(minutes(3));
  return c;
}

TEST(Migration, MorphLockTakenOverByAServerWhoseClockRuns20sAheadSoBothMigrate) {
  TestCluster c(upgrade(MigrationLock::morph));
  skewed_start(c);
  const auto took = c.events<MigrationLockAcquired>("app2");
  ASSERT_EQ(took.size(), 1u);
  EXPECT_TRUE(took[0].event.took_over) << c.dump();
  // app2 took it while app1 was still migrating: both apply the migration.
  EXPECT_LT(took[0].at, c.events<MigrationApplied>("app1").front().at);
  EXPECT_EQ(applied(c, kNew.schema()), 2u);
  EXPECT_EQ(c.count<MigrationApplied>("app1"), 1u);
  EXPECT_EQ(c.count<MigrationApplied>("app2"), 1u);
}

TEST(Migration, DbClockLockIsNotFooledByTheSkewedClock) {
  TestCluster c(upgrade(MigrationLock::db_clock));
  skewed_start(c);
  const auto took = c.events<MigrationLockAcquired>("app2");
  ASSERT_EQ(took.size(), 1u);
  EXPECT_FALSE(took[0].event.took_over);
  EXPECT_GT(took[0].at, c.events<MigrationApplied>("app1").front().at);
  EXPECT_EQ(applied(c, kNew.schema()), 1u) << c.dump();
  EXPECT_EQ(c.serving(), names({"app1", "app2"}));
}

TEST(Migration, DbClockFencesAPausedHolder) {
  // A holder paused past the TTL loses the lock; its migration's transaction is
  // refused, so the schema is still applied once.
  TestCluster c(upgrade(MigrationLock::db_clock));
  c.start_except({"app2"});
  c.run_for(seconds(2));
  c.pause("app1", seconds(40));
  c.start_node("app2");
  c.run_for(minutes(4));
  EXPECT_EQ(applied(c, kNew.schema()), 1u) << c.dump();
  EXPECT_EQ(c.count<MigrationLockLost>("app1"), 1u);
  EXPECT_EQ(c.serving(), names({"app1", "app2"}));
}

TEST(Migration, PlantedBugMigrationWithoutLockAppliesTwice) {
  TestCluster good(upgrade(MigrationLock::morph));
  good.run_for(minutes(3));
  BugSet bugs;
  bugs.set(Bug::migration_without_lock);
  TestCluster bug(upgrade(MigrationLock::morph, bugs));
  bug.run_for(minutes(3));
  EXPECT_EQ(applied(good, kNew.schema()), 1u);
  EXPECT_EQ(applied(bug, kNew.schema()), 2u);
  EXPECT_EQ(bug.count<MigrationLockAcquired>(), 0u);
}

// app1 and app2 run 10.6.0; app3 runs 10.4.1. `schema` is the database's at start.
TestClusterOptions two_minors_behind(bool bug, Version schema) {
  return TestClusterOptions{.app_servers = 3, .tweak = [bug, schema](ClusterSpec& s) {
                              s.servers[0].version = s.servers[1].version = Version{10, 6, 0};
                              s.servers[2].version = Version{10, 4, 1};
                              s.database.initial_schema = schema.schema();
                              s.bugs.set(Bug::join_across_two_minors, bug);
                            }};
}

TEST(Migration, BinaryTwoMinorsOlderThanTheDatabaseRefusesBeforeTheLock) {
  // The early check, right after connecting: the planted bug does not touch it.
  for (bool bug : {false, true}) {
    TestCluster c(two_minors_behind(bug, Version{10, 6, 0}));
    c.run_for(minutes(2));
    EXPECT_EQ(c.count<ServerRefusedStart>("app3"), 1u) << (bug ? "bug on" : "bug off");
    EXPECT_EQ(c.count<MigrationLockAcquired>("app3"), 0u);
    EXPECT_EQ(c.serving(), names({"app1", "app2"}));
  }
}

// The path join_across_two_minors is named for. The database is at 10.5 when
// app3 (10.4.1, one minor behind: supported) connects, so its early check
// passes; app1 already holds the lock and migrates to 10.6 while app3 waits.
// When app3 gets the lock, the schema is two minors ahead of its binary.
struct SchemaMovedRun {
  Time applied_10_6 = kTimeMax;       // app1's (or app2's) migration to 10.6
  Time app3_lock = kTimeMax;          // app3's MigrationLockAcquired
  Time app3_refused = kTimeMax;       // its ServerRefusedStart
  Time app3_serving = kTimeMax;       // its ServerServing
  std::size_t app3_migrations = 0;    // migrations app3 applied
  std::vector<std::string> serving;
};
SchemaMovedRun schema_moves_while_app3_waits(bool bug) {
  TestCluster c(two_minors_behind(bug, Version{10, 5, 0}));
  c.start_except({"app3"});
  c.run_for(seconds(3));  // app1 or app2 holds the lock and migrates (20 s)
  c.start_node("app3");
  c.run_for(minutes(3));
  SchemaMovedRun r;
  for (const auto& e : c.events<MigrationApplied>())
    if (e.event.schema == Version{10, 6, 0}.schema()) r.applied_10_6 = std::min(r.applied_10_6, e.at);
  for (const auto& e : c.events<MigrationLockAcquired>("app3")) r.app3_lock = std::min(r.app3_lock, e.at);
  for (const auto& e : c.events<ServerRefusedStart>("app3")) r.app3_refused = std::min(r.app3_refused, e.at);
  for (const auto& e : c.events<ServerServing>("app3")) r.app3_serving = std::min(r.app3_serving, e.at);
  r.app3_migrations = c.count<MigrationApplied>("app3");
  r.serving = c.serving();
  return r;
}

TEST(Migration, VersionRuleIsCheckedAgainUnderTheLock) {
  const SchemaMovedRun r = schema_moves_while_app3_waits(/*bug=*/false);
  ASSERT_NE(r.applied_10_6, kTimeMax);
  // app3 passed the early check (it went on to the lock), got the lock only
  // after the schema had moved to 10.6, and refused there.
  ASSERT_NE(r.app3_lock, kTimeMax);
  EXPECT_GT(r.app3_lock, r.applied_10_6);
  EXPECT_GE(r.app3_refused, r.app3_lock);
  EXPECT_NE(r.app3_refused, kTimeMax);
  EXPECT_EQ(r.app3_serving, kTimeMax);
  EXPECT_EQ(r.app3_migrations, 0u);
  EXPECT_EQ(r.serving, names({"app1", "app2"}));
}

TEST(Migration, PlantedBugJoinAcrossTwoMinorsTrustsTheCheckMadeBeforeTheLock) {
  const SchemaMovedRun r = schema_moves_while_app3_waits(/*bug=*/true);
  ASSERT_NE(r.applied_10_6, kTimeMax);
  ASSERT_NE(r.app3_lock, kTimeMax);
  EXPECT_GT(r.app3_lock, r.applied_10_6);
  // Same path, no second check: nothing to apply for a 10.4 binary, so it serves
  // two minors behind the schema and beside the 10.6.0 servers.
  EXPECT_EQ(r.app3_refused, kTimeMax);
  EXPECT_GT(r.app3_serving, r.app3_lock);
  EXPECT_EQ(r.app3_migrations, 0u);
  EXPECT_EQ(r.serving, names({"app1", "app2", "app3"}));
}

TEST(Migration, OneMinorOlderBinaryStarts) {
  TestCluster c({.app_servers = 2, .tweak = [](ClusterSpec& s) {
                   s.servers[1].version = Version{10, 3, 0};
                   s.database.initial_schema = Version{10, 4, 0}.schema();
                 }});
  c.run_for(minutes(1));
  EXPECT_EQ(c.serving(), names({"app1", "app2"}));
}

// ---- database connect ----

TestClusterOptions manual_failover() {
  return TestClusterOptions{.app_servers = 1, .tweak = [](ClusterSpec& s) { s.database.failover = Failover::manual; }};
}

TEST(Startup, DatabaseDownExitsAfterFivePings10sApart) {
  TestCluster c(manual_failover());
  c.start();
  c.crash("db-primary");
  c.run_for(minutes(2));
  const auto fails = c.events<DbConnectFailed>("app1");
  ASSERT_EQ(fails.size(), k::kDbConnectAttempts);
  for (std::size_t i = 1; i < fails.size(); ++i) {
    EXPECT_GE(fails[i].at - fails[i - 1].at, k::kDbConnectRetryInterval);
  }
  EXPECT_EQ(c.count<ServerRefusedStart>("app1"), 1u);
  EXPECT_TRUE(c.serving().empty());
}

TEST(Startup, DatabaseBackWithinTheAttemptsStarts) {
  TestCluster c(manual_failover());
  c.start();
  c.crash("db-primary");
  c.run_for(seconds(25));
  c.start_node("db-primary");
  c.run_for(minutes(1));
  EXPECT_GE(c.count<DbConnectFailed>("app1"), 2u);
  EXPECT_LT(c.count<DbConnectFailed>("app1"), k::kDbConnectAttempts);
  EXPECT_EQ(c.serving(), names({"app1"}));
}

// ---- discovery ----

std::size_t rows_for(TestCluster& c, std::string_view host) {
  std::size_t n = 0;
  for (const auto& [id, row] : c.cluster().disk(c.id("db-primary")).tables.discovery) n += row.hostname == host;
  return n;
}

TEST(Discovery, GracefulStopDeletesTheRowACrashLeavesIt) {
  TestCluster c({.app_servers = 3});
  c.run_for(minutes(2));
  EXPECT_EQ(rows_for(c, "app2"), 1u);
  EXPECT_GE(c.count<DiscoveryRowWritten>("app2"), 2u);  // registered, then refreshed at 60 s
  c.stop("app2");
  c.crash("app3");
  c.run_for(seconds(10));
  EXPECT_EQ(rows_for(c, "app2"), 0u);
  EXPECT_EQ(rows_for(c, "app3"), 1u);
  // A restart replaces its own old row (one row per host).
  c.start_node("app3");
  c.run_for(seconds(30));
  EXPECT_EQ(rows_for(c, "app3"), 1u);
}

TEST(Discovery, AJoinerIsFoundThroughTheTable) {
  TestCluster c({.app_servers = 3});
  c.start_except({"app3"});
  c.run_for(minutes(1));
  c.start_node("app3");
  c.run_for(minutes(1));
  // app3 listed app1 and app2 from the table and pinged them; they answered.
  bool app1_knows_app3 = false;
  for (auto& e : c.events<PeerStatus>("app1")) app1_knows_app3 |= e.event.peer == c.id("app3") && e.event.green;
  EXPECT_TRUE(app1_knows_app3);
  EXPECT_EQ(c.events<ElectionLost>("app3").back().event.leader, c.id("app1"));
}

}  // namespace
}  // namespace fl::test
