// The invariants of MODEL.md, run on histories the real nodes produced: each
// real hazard and each planted bug of the core is caught, and the safe
// configuration holds. (The checkers are the invariant helper's; these tests
// check that the core emits what they need.)
#include <gtest/gtest.h>

#include "tests/support/cluster_dsl.h"

namespace fl::test {
namespace {

using Names = std::vector<std::string>;

BugSet bug(Bug b) {
  BugSet s;
  s.set(b);
  return s;
}

TEST(Crosscheck, SplitBrainBreaksSingleLeaderDbLeaseHolds) {
  for (LeaderElection mode : {LeaderElection::bully, LeaderElection::db_lease}) {
    TestCluster c({.app_servers = 3, .tweak = [mode](ClusterSpec& s) { s.leader_election = mode; }});
    c.run_for(minutes(2));
    c.partition({"app1"}, {"app2", "app3"});
    c.run_for(minutes(2));
    c.heal();
    c.run_for(minutes(2));
    const Names broken = c.violated({"single_leader", "leader_liveness"});
    if (mode == LeaderElection::bully) {
      EXPECT_EQ(broken, Names{"single_leader"});
    } else {
      EXPECT_EQ(broken, Names{});
    }
  }
}

TEST(Crosscheck, FaultFreeClusterHoldsEveryCoreInvariant) {
  TestCluster c({.app_servers = 3, .tweak = [](ClusterSpec& s) { s.jobs = {{"report", minutes(2), seconds(10)}}; }});
  c.run_for(minutes(10));
  EXPECT_EQ(c.violated({"single_leader", "leader_liveness", "migration_by_first_starter", "job_exactly_once",
                        "job_progress", "version_skew", "status_accuracy"}),
            Names{});
}

TEST(Crosscheck, SkewedMorphLockBreaksMigrationByFirstStarterDbClockHolds) {
  for (MigrationLock lock : {MigrationLock::morph, MigrationLock::db_clock}) {
    TestCluster c({.app_servers = 2, .version = Version{10, 5, 0}, .tweak = [lock](ClusterSpec& s) {
                     s.database.initial_schema = Version{10, 4, 0}.schema();
                     s.migration_lock = lock;
                   }});
    c.start_except({"app2"});
    c.skew("app2", seconds(20));
    c.run_for(seconds(5));
    c.start_node("app2");
    c.run_for(minutes(3));
    const Names broken = c.violated({"migration_by_first_starter"});
    EXPECT_EQ(broken, lock == MigrationLock::morph ? Names{"migration_by_first_starter"} : Names{});
  }
}

TEST(Crosscheck, CrashedWorkerBreaksJobProgress) {
  TestCluster c({.app_servers = 3, .tweak = [](ClusterSpec& s) { s.jobs = {{"long", minutes(2), minutes(5)}}; }});
  c.run_for(minutes(4));
  ASSERT_EQ(c.count<JobClaimed>(), 1u);
  c.crash(c.name(c.events<JobClaimed>()[0].node));
  c.run_for(minutes(20));
  EXPECT_EQ(c.violated({"job_progress", "job_exactly_once"}), Names{"job_progress"});
}

struct BugCase {
  Bug bug;
  const char* invariant;
};

// Each planted bug of the core, on a run that exercises it, breaks its invariant.
TEST(Crosscheck, EachCorePlantedBugIsCaught) {
  for (const BugCase& bc : {BugCase{Bug::leader_highest_id, "leader_liveness"},
                            BugCase{Bug::down_after_one_failure, "status_accuracy"},
                            BugCase{Bug::job_claim_without_cas, "job_exactly_once"},
                            BugCase{Bug::create_job_without_once, "job_exactly_once"},
                            BugCase{Bug::migration_without_lock, "migration_by_first_starter"},
                            BugCase{Bug::join_across_two_minors, "version_skew"}}) {
    for (bool on : {false, true}) {
      TestCluster c({.app_servers = 3, .tweak = [&](ClusterSpec& s) {
                       if (on) s.bugs = bug(bc.bug);
                       s.database.replication_lag = {seconds(20), seconds(20)};  // stale job reads
                       s.jobs = {{"slow", minutes(1), minutes(3)}};
                       if (bc.bug == Bug::migration_without_lock) {
                         for (auto& server : s.servers) server.version = Version{10, 5, 0};
                         s.database.initial_schema = Version{10, 4, 0}.schema();
                       }
                       if (bc.bug == Bug::join_across_two_minors) {
                         // app3 (10.4.1) passes the early check at schema 10.5 and
                         // waits for the lock while app1 migrates to 10.6 (the
                         // bug's path: migration_test.cc, VersionRuleIsChecked...).
                         s.servers[0].version = s.servers[1].version = Version{10, 6, 0};
                         s.servers[2].version = Version{10, 4, 1};
                         s.database.initial_schema = Version{10, 5, 0}.schema();
                       }
                     }});
      if (bc.bug == Bug::join_across_two_minors) {
        c.start_except({"app3"});
        c.run_for(seconds(3));
        c.start_node("app3");
      }
      c.run_for(minutes(2));
      if (bc.bug == Bug::down_after_one_failure) {
        c.partition({"app1", "app2"}, {"app3"});  // shorter than the 15-s retry
        c.run_for(seconds(8));
        c.heal();
      }
      c.run_for(minutes(12));
      const Names broken = c.violated({bc.invariant});
      EXPECT_EQ(broken, on ? Names{bc.invariant} : Names{}) << bug_name(bc.bug) << (on ? " on" : " off");
    }
  }
}

}  // namespace
}  // namespace fl::test
