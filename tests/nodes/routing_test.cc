// Database routing (REFERENCE.md): reads round-robin over online replicas (so
// they are stale by the lag), a replica goes offline on a hard error, all
// offline -> the primary; manual failover by DataSource change and reload.
#include <gtest/gtest.h>

#include "tests/support/cluster_dsl.h"

namespace fl::test {
namespace {

// Delay between each job's creation and its claim.
std::vector<Duration> claim_delays(const TestCluster& c) {
  std::map<std::uint64_t, Time> created;
  for (auto& e : c.events<JobCreated>()) created[e.event.job] = e.at;
  std::vector<Duration> out;
  for (auto& e : c.events<JobClaimed>()) out.push_back(e.at - created.at(e.event.job));
  return out;
}

TestClusterOptions lagged() {
  return TestClusterOptions{.app_servers = 2, .tweak = [](ClusterSpec& s) {
                              s.jobs = {{"report", minutes(2), seconds(5)}};
                              s.database.replication_lag = {seconds(20), seconds(20)};
                            }};
}

TEST(Routing, WatcherReadsGoToReplicasAndSeeJobsOnlyAfterTheLag) {
  TestCluster c(lagged());
  c.run_for(minutes(10));
  const auto delays = claim_delays(c);
  ASSERT_FALSE(delays.empty());
  for (Duration d : delays) EXPECT_GE(d, seconds(20));
}

TEST(Routing, AllReplicasDownReadsGoToThePrimary) {
  TestCluster c(lagged());
  c.start();
  c.crash("db-replica1");
  c.crash("db-replica2");
  c.run_for(minutes(10));
  const auto delays = claim_delays(c);
  ASSERT_FALSE(delays.empty()) << c.dump();
  // Read from the primary: no lag; one watcher interval at most (plus the
  // re-probe of an offline replica that failed the first read).
  for (Duration d : delays) EXPECT_LT(d, k::kWatcherInterval * 2 + seconds(1));
}

TEST(Routing, ManualFailoverByDataSourceChangeAndReload) {
  TestCluster c({.app_servers = 2, .tweak = [](ClusterSpec& s) {
                   s.database.failover = Failover::manual;
                   s.jobs = {{"report", minutes(2), seconds(5)}};
                 }});
  c.run_for(minutes(2));
  c.crash("db-primary");
  c.run_for(minutes(1));
  const std::size_t before = c.count<JobFinished>();
  // The seed's runbook: promote a replica, point DataSource at it, reload.
  c.control("db-replica1", ControlOp{ControlOp::Kind::set_spec, "promote", ""});
  c.control("db-replica2", ControlOp{ControlOp::Kind::set_spec, "follow", "db-replica1"});
  for (const char* app : {"app1", "app2"}) {
    c.control(app, ControlOp{ControlOp::Kind::set_spec, "datasource", "db-replica1"});
    c.control(app, ControlOp{ControlOp::Kind::set_spec, "reload_config", ""});
  }
  const Time failed_over = c.now();
  c.run_for(minutes(6));
  EXPECT_EQ(c.count<Promoted>("db-replica1"), 1u);
  // Writes work again: discovery rows refreshed, jobs created and finished.
  bool refreshed = false;
  for (auto& e : c.events<DiscoveryRowWritten>()) refreshed |= e.at > failed_over;
  EXPECT_TRUE(refreshed);
  EXPECT_GT(c.count<JobFinished>(), before) << c.dump(failed_over);
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
namespace {

TEST(Routing, ReplicaLeftFollowingTheDeadPrimaryServesStaleReadsForever) {
  // The same runbook without re-pointing db-replica2: its reads never see new
  // jobs (routing never looks at lag, REFERENCE.md), so nothing is claimed.
  TestCluster c({.app_servers = 2, .tweak = [](ClusterSpec& s) {
                   s.database.failover = Failover::manual;
                   s.jobs = {{"report", minutes(2), seconds(5)}};
                 }});
  c.run_for(minutes(2));
  c.crash("db-primary");
  c.run_for(minutes(1));
  c.control("db-replica1", ControlOp{ControlOp::Kind::set_spec, "promote", ""});
  for (const char* app : {"app1", "app2"}) {
    c.control(app, ControlOp{ControlOp::Kind::set_spec, "datasource", "db-replica1"});
    c.control(app, ControlOp{ControlOp::Kind::set_spec, "reload_config", ""});
  }
  c.run_for(minutes(6));
  EXPECT_GE(c.count<JobCreated>(), 1u);
  EXPECT_EQ(c.count<JobClaimed>(), 0u);
}

}  // namespace
}  // namespace fl::test
