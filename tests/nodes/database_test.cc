// The simulated PostgreSQL: replication, failover and lost commits, the
// serializable create-once, read-only replicas, stale replica reads.
#include <gtest/gtest.h>

#include <set>

#include "tests/support/cluster_dsl.h"
#include "tests/support/db_client.h"

namespace fl::test {
namespace {

std::vector<DbOp> posts(std::size_t n) {
  std::vector<DbOp> ops;
  for (std::size_t i = 1; i <= n; ++i) ops.push_back(DbPostInsert{PostRow{i, 0, 7, {}, 0}});
  return ops;
}

struct FailoverOutcome {
  std::set<std::uint64_t> acked, present;
  std::size_t lost_commits = 0;
  std::size_t promoted = 0;
};

// A writer posts every 50 ms (for 100 s) through the cluster endpoint; the primary crashes
// at 60 s, automatic failover promotes a replica; the old primary comes back,
// rejoins as a replica; then the new primary reports what it holds.
FailoverOutcome crash_primary_under_load(Replication replication) {
  TestCluster c({.app_servers = 1, .tweak = [replication](ClusterSpec& s) {
                   s.database.replication = replication;
                   s.database.replication_lag = {milliseconds(100), milliseconds(400)};
                 }});
  const NodeId writer = c.sim().add_node("writer", [] {
    return std::make_unique<DbClient>(DbTarget::cluster_endpoint(), posts(2000), milliseconds(50));
  });
  c.start();
  c.sim().start(writer);
  c.run_for(seconds(60));
  c.crash("db-primary");
  c.run_for(seconds(60));
  c.start_node("db-primary");
  c.run_for(seconds(30));
  const NodeId primary = c.sim().db_endpoint();
  EXPECT_NE(primary, c.id("db-primary"));
  c.sim().control(primary, ControlOp{ControlOp::Kind::set_spec, "report_contents", ""});
  c.run_for(seconds(1));
  FailoverOutcome out;
  for (auto& p : c.events<Probe>("writer")) {
    if (p.event.tag == DbClient::kPostAcked) out.acked.insert(static_cast<std::uint64_t>(p.event.value));
  }
  for (auto& p : c.events<PostPresent>()) {
    EXPECT_EQ(p.node, primary);
    out.present.insert(p.event.post);
  }
  for (auto& l : c.events<CommitsLost>("db-primary")) out.lost_commits += l.event.count;
  out.promoted = c.count<Promoted>();
  return out;
}

TEST(Database, AsyncReplicationAndPrimaryCrashLosesAcknowledgedCommits) {
  const FailoverOutcome o = crash_primary_under_load(Replication::async);
  EXPECT_EQ(o.promoted, 1u);
  ASSERT_GT(o.acked.size(), 1000u);
  std::size_t missing = 0;
  for (auto post : o.acked) missing += o.present.count(post) == 0;
  EXPECT_GT(missing, 0u);
  // The deposed primary said what it threw away when it rejoined.
  EXPECT_GE(o.lost_commits, missing);
}

TEST(Database, SyncReplicationLosesNoAcknowledgedCommit) {
  const FailoverOutcome o = crash_primary_under_load(Replication::sync);
  EXPECT_EQ(o.promoted, 1u);
  ASSERT_GT(o.acked.size(), 1000u);
  for (auto post : o.acked) EXPECT_EQ(o.present.count(post), 1u) << "post " << post;
}

TEST(Database, SerializableCreateOnceRaceCreatesOneJobAndFailsTheOther) {
  TestCluster c({.app_servers = 1, .tweak = [](ClusterSpec& s) { s.jobs.clear(); }});
  const NodeId client = c.sim().add_node("client", [] {
    return std::make_unique<DbClient>(DbTarget::cluster_endpoint(),
                                      std::vector<DbOp>{DbJobCreate{"t", true}, DbJobCreate{"t", true}}, Duration{0});
  });
  c.start();
  c.sim().start(client);
  c.run_for(seconds(1));
  auto* db_client = dynamic_cast<DbClient*>(c.sim().node(client));
  ASSERT_EQ(db_client->replies().size(), 2u);
  const DbReply& a = db_client->replies().at(0);
  const DbReply& b = db_client->replies().at(1);
  EXPECT_TRUE(a.ok());
  ASSERT_NE(a.get<DbJobCreated>(), nullptr);
  EXPECT_TRUE(a.get<DbJobCreated>()->created);
  EXPECT_EQ(b.status, DbStatus::serialization_failure);
  EXPECT_EQ(c.cluster().disk(c.id("db-primary")).tables.jobs.size(), 1u);
}

TEST(Database, PlainCreateRaceCreatesTwo) {
  TestCluster c({.app_servers = 1, .tweak = [](ClusterSpec& s) { s.jobs.clear(); }});
  const NodeId client = c.sim().add_node("client", [] {
    return std::make_unique<DbClient>(DbTarget::cluster_endpoint(),
                                      std::vector<DbOp>{DbJobCreate{"t", false}, DbJobCreate{"t", false}}, Duration{0});
  });
  c.start();
  c.sim().start(client);
  c.run_for(seconds(1));
  EXPECT_EQ(c.cluster().disk(c.id("db-primary")).tables.jobs.size(), 2u);
}

TEST(Database, ReplicaRefusesWritesAndServesStaleReads) {
  TestCluster c({.app_servers = 1, .tweak = [](ClusterSpec& s) {
                   s.jobs.clear();
                   s.database.replication_lag = {seconds(5), seconds(5)};
                 }});
  const NodeId replica = c.id("db-replica1");
  // Started 20 s in (after the cluster's own start-up writes reached the replicas).
  const NodeId writer = c.sim().add_node("writer", [] {
    return std::make_unique<DbClient>(DbTarget::cluster_endpoint(), posts(1), Duration{0});
  });
  const NodeId on_replica = c.sim().add_node("bad-writer", [replica] {
    return std::make_unique<DbClient>(DbTarget::member(replica), posts(1), Duration{0});
  });
  const NodeId reader = c.sim().add_node("reader", [replica] {
    return std::make_unique<DbClient>(DbTarget::member(replica),
                                      std::vector<DbOp>{DbPostsSince{}, DbPostsSince{}}, seconds(3));
  });
  c.run_for(seconds(20));
  c.sim().start(writer);
  c.sim().start(on_replica);
  c.sim().start(reader);
  c.run_for(seconds(10));
  auto* bad = dynamic_cast<DbClient*>(c.sim().node(on_replica));
  ASSERT_EQ(bad->replies().size(), 1u);
  EXPECT_EQ(bad->replies().at(0).status, DbStatus::read_only);
  auto* r = dynamic_cast<DbClient*>(c.sim().node(reader));
  ASSERT_EQ(r->replies().size(), 2u);
  // At 3 s the post (committed at 0 s) is still within the 5-s lag; at 6 s it is there.
  EXPECT_TRUE(r->replies().at(0).get<DbPosts>()->posts.empty());
  EXPECT_EQ(r->replies().at(1).get<DbPosts>()->posts.size(), 1u);
}

TEST(Database, CrashedReplicaCatchesUpAfterRestart) {
  TestCluster c({.app_servers = 1});
  const NodeId writer = c.sim().add_node("writer", [] {
    return std::make_unique<DbClient>(DbTarget::cluster_endpoint(), posts(200), milliseconds(100));
  });
  c.start();
  c.sim().start(writer);
  c.run_for(seconds(5));
  c.crash("db-replica2");
  c.run_for(seconds(10));
  c.start_node("db-replica2");
  c.run_for(seconds(30));
  const auto& primary = c.cluster().disk(c.id("db-primary"));
  const auto& replica = c.cluster().disk(c.id("db-replica2"));
  EXPECT_EQ(replica.last_lsn(), primary.last_lsn());
  EXPECT_EQ(replica.tables.posts.size(), 200u);
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
namespace {

TEST(Database, ReplicaLagFaultMakesThatReplicaStaleUntilItEnds) {
  TestCluster c({.app_servers = 1, .tweak = [](ClusterSpec& s) { s.jobs.clear(); }});
  const NodeId replica = c.id("db-replica1");
  const NodeId writer = c.sim().add_node("writer", [] {
    return std::make_unique<DbClient>(DbTarget::cluster_endpoint(), posts(1), Duration{0});
  });
  const NodeId reader = c.sim().add_node("reader", [replica] {
    return std::make_unique<DbClient>(DbTarget::member(replica),
                                      std::vector<DbOp>{DbPostsSince{}, DbPostsSince{}}, seconds(6));
  });
  c.run_for(seconds(20));
  c.control("db-replica1", ControlOp{ControlOp::Kind::set_spec, "replication_lag", "10s"});
  c.sim().start(writer);
  c.sim().start(reader);
  c.run_for(seconds(15));
  auto* r = dynamic_cast<DbClient*>(c.sim().node(reader));
  ASSERT_EQ(r->replies().size(), 2u);
  EXPECT_TRUE(r->replies().at(0).get<DbPosts>()->posts.empty());       // at 6 s: held
  EXPECT_EQ(r->replies().at(1).get<DbPosts>()->posts.size(), 1u);      // at 12 s: in
  // db-replica2 had it at once.
  EXPECT_EQ(c.cluster().disk(c.id("db-replica2")).tables.posts.size(), 1u);
  c.control("db-replica1", ControlOp{ControlOp::Kind::set_spec, "replication_lag", ""});
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
namespace {

TEST(Failover, AutomaticFailoverPromotesAfterTheDetectionDelayAndMovesTheEndpoint) {
  TestCluster c({.app_servers = 1, .tweak = [](ClusterSpec& s) { s.database.failover_detection = seconds(30); }});
  c.run_for(seconds(20));
  const Time crashed = c.now();
  c.crash("db-primary");
  c.run_for(seconds(60));
  const auto promoted = c.events<Promoted>();
  ASSERT_EQ(promoted.size(), 1u);
  EXPECT_GE(promoted[0].at - crashed, seconds(30));
  EXPECT_LE(promoted[0].at - crashed, seconds(30) + 2 * k::kFailoverPingInterval);  // detection + one ping + a round
  EXPECT_EQ(c.sim().db_endpoint(), promoted[0].node);
  // The server keeps working through the endpoint: its discovery row is refreshed.
  bool written = false;
  for (auto& e : c.events<DiscoveryRowWritten>("app1")) written |= e.at > promoted[0].at;
  c.run_for(seconds(60));
  for (auto& e : c.events<DiscoveryRowWritten>("app1")) written |= e.at > promoted[0].at;
  EXPECT_TRUE(written);
}

TEST(Failover, APausedPrimaryIsFailedOverToo) {
  TestCluster c({.app_servers = 1});
  c.run_for(seconds(20));
  c.pause("db-primary", seconds(90));
  c.run_for(seconds(60));
  EXPECT_EQ(c.count<Promoted>(), 1u);
  // When it resumes it is told to follow the new primary.
  c.run_for(seconds(60));
  EXPECT_EQ(c.cluster().disk(c.id("db-primary")).role, DbRole::replica);
}

TEST(Failover, ManualFailoverModeNeverPromotesByItself) {
  TestCluster c({.app_servers = 1, .tweak = [](ClusterSpec& s) { s.database.failover = Failover::manual; }});
  c.run_for(seconds(20));
  c.crash("db-primary");
  c.run_for(minutes(3));
  EXPECT_EQ(c.count<Promoted>(), 0u);
}

}  // namespace
}  // namespace fl::test
