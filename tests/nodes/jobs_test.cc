// The job server: the leader schedules create-once jobs, watchers on every
// server poll a replica and claim with a compare-and-set; a crashed worker's
// job stays in progress.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "tests/support/cluster_dsl.h"

namespace fl::test {
namespace {

TestClusterOptions jobs(JobTypeSpec type, BugSet bugs = {}, DurationRange lag = {milliseconds(5), milliseconds(50)}) {
  return TestClusterOptions{.app_servers = 3, .tweak = [type, bugs, lag](ClusterSpec& s) {
                              s.jobs = {type};
                              s.bugs = bugs;
                              s.database.replication_lag = lag;
                            }};
}

BugSet bug(Bug b) {
  BugSet s;
  s.set(b);
  return s;
}

std::map<std::uint64_t, std::size_t> claims_per_job(const TestCluster& c) {
  std::map<std::uint64_t, std::size_t> out;
  for (auto& e : c.events<JobClaimed>()) ++out[e.event.job];
  return out;
}

// The most jobs of one type created and not yet finished at one instant.
std::size_t max_active(const TestCluster& c) {
  std::map<std::uint64_t, bool> active;
  std::size_t most = 0;
  for (const HistoryEvent& e : c.history()) {
    if (auto* j = e.get<JobCreated>()) active[j->job] = true;
    if (auto* j = e.get<JobFinished>()) active.erase(j->job);
    most = std::max(most, active.size());
  }
  return most;
}

TEST(Jobs, LeaderSchedulesEveryJobRunsOnceAndFinishes) {
  TestCluster c(jobs({"report", minutes(2), seconds(20)}));
  c.run_for(minutes(12));
  const auto created = c.events<JobCreated>();
  ASSERT_GE(created.size(), 3u) << c.dump();
  for (auto& e : created) {
    EXPECT_EQ(e.node, c.id("app1"));  // only the leader schedules
    EXPECT_TRUE(e.event.create_once);
  }
  // Periods: at least the period apart (the 60-s tick can add up to a minute).
  for (std::size_t i = 1; i < created.size(); ++i) {
    EXPECT_GE(created[i].at - created[i - 1].at, minutes(2));
    EXPECT_LE(created[i].at - created[i - 1].at, minutes(3) + seconds(2));
  }
  for (auto& [job, n] : claims_per_job(c)) EXPECT_EQ(n, 1u) << "job " << job;
  EXPECT_GE(c.count<JobFinished>(), created.size() - 1);
}

TEST(Jobs, CrashedWorkersJobStaysInProgressForever) {
  TestCluster c(jobs({"long", minutes(2), minutes(5)}));
  c.run_for(minutes(4));
  const auto claims = c.events<JobClaimed>();
  ASSERT_EQ(claims.size(), 1u) << c.dump();
  const std::uint64_t job = claims[0].event.job;
  c.crash(c.name(claims[0].node));
  c.run_for(minutes(20));
  for (auto& f : c.events<JobFinished>()) EXPECT_NE(f.event.job, job);
  EXPECT_EQ(claims_per_job(c)[job], 1u);  // nobody reclaims it
  const auto& row = c.cluster().disk(c.id("db-primary")).tables.jobs.at(job);
  EXPECT_EQ(row.status, JobStatus::in_progress);
  EXPECT_EQ(row.worker, claims[0].node);
  // And create-once blocks its type from then on.
  EXPECT_EQ(c.count<JobCreated>(), 1u);
}

TEST(Jobs, CompareAndSetClaimHoldsAgainstStaleReplicas) {
  // Replicas 20 s behind: every watcher sees a claimed job still pending.
  TestCluster c(jobs({"report", minutes(2), seconds(5)}, {}, {seconds(20), seconds(20)}));
  c.run_for(minutes(12));
  ASSERT_FALSE(claims_per_job(c).empty());
  for (auto& [job, n] : claims_per_job(c)) EXPECT_EQ(n, 1u) << "job " << job;
}

TEST(Jobs, PlantedBugClaimWithoutCasRunsAJobTwice) {
  TestCluster c(jobs({"report", minutes(2), seconds(5)}, bug(Bug::job_claim_without_cas), {seconds(20), seconds(20)}));
  c.run_for(minutes(12));
  std::size_t most = 0;
  for (auto& [job, n] : claims_per_job(c)) most = std::max(most, n);
  EXPECT_GE(most, 2u) << c.dump();
}

TEST(Jobs, CreateOnceKeepsOneActiveJobPerType) {
  // Runs longer than the period: create-once skips while one is active.
  TestCluster c(jobs({"slow", minutes(1), minutes(4)}));
  c.run_for(minutes(15));
  ASSERT_GE(c.count<JobCreated>(), 2u);
  EXPECT_EQ(max_active(c), 1u);
}

TEST(Jobs, PlantedBugCreateWithoutOnceStacksJobs) {
  TestCluster c(jobs({"slow", minutes(1), minutes(4)}, bug(Bug::create_job_without_once)));
  c.run_for(minutes(15));
  EXPECT_GE(max_active(c), 2u);
  for (auto& e : c.events<JobCreated>()) EXPECT_TRUE(e.event.create_once);  // the type still is
}

TEST(Jobs, CreateOnceHoldsUnderSplitBrain) {
  // Two leaders (partition), each scheduling: the database's create-once still
  // keeps one active job of the type.
  TestCluster c(jobs({"slow", minutes(1), minutes(4)}));
  c.run_for(minutes(2));
  c.partition({"app1"}, {"app2", "app3"});
  c.run_for(minutes(10));
  ASSERT_EQ(c.leaders(), names({"app1", "app2"}));
  EXPECT_EQ(max_active(c), 1u);
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
namespace {

TEST(Jobs, GracefulStopWaitsForTheRunningJobACrashDoesNot) {
  TestCluster c(jobs({"long", minutes(2), minutes(5)}));
  c.run_for(minutes(4));
  const auto claims = c.events<JobClaimed>();
  ASSERT_EQ(claims.size(), 1u);
  const std::uint64_t job = claims[0].event.job;
  c.stop(c.name(claims[0].node));
  c.run_for(seconds(5));
  const auto finished = c.events<JobFinished>();
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].event.job, job);
  EXPECT_EQ(finished[0].node, claims[0].node);
  EXPECT_EQ(c.cluster().disk(c.id("db-primary")).tables.jobs.at(job).status, JobStatus::success);
}

// ---- issue 14: the schedulers of real incidents --------------------------------------

TestClusterOptions ldap(BugSet bugs = {}, std::function<void(ClusterSpec&)> more = {}) {
  return TestClusterOptions{.app_servers = 3, .tweak = [bugs, more](ClusterSpec& s) {
                              s.jobs = {{"ldap_sync", minutes(1), seconds(5)}};
                              s.bugs = bugs;
                              if (more) more(s);
                            }};
}

std::set<NodeId> schedulers(const TestCluster& c, Time from = kTimeZero) {
  std::set<NodeId> out;
  for (auto& e : c.events<JobScheduled>())
    if (e.at >= from) out.insert(e.node);
  return out;
}

TEST(Schedulers, OnlyTheLeaderSchedulesAndEachSchedulingIsAJobScheduledEvent) {
  TestCluster c(ldap());
  c.run_for(minutes(8));
  EXPECT_EQ(schedulers(c), (std::set<NodeId>{c.id("app1")})) << c.dump();
  const auto s = c.events<JobScheduled>();
  ASSERT_GE(s.size(), 3u);
  for (std::size_t i = 1; i < s.size(); ++i) {
    EXPECT_GE(s[i].at - s[i - 1].at, minutes(1));
    EXPECT_LE(s[i].at - s[i - 1].at, minutes(2) + seconds(2));  // the first tick at or after the period
  }
  EXPECT_TRUE(c.violated({"job_schedule"}).empty());
}

TEST(Schedulers, PlantedBugMm10502EveryServerSchedules) {
  TestCluster c(ldap(bug(Bug::mm_10502)));
  c.run_for(minutes(8));
  EXPECT_EQ(schedulers(c), (std::set<NodeId>{c.id("app1"), c.id("app2"), c.id("app3")})) << c.dump();
  EXPECT_EQ(c.violated({"job_schedule"}), names({"job_schedule"}));
}

TEST(Schedulers, AConfigChangeOnAFollowerLeavesItsSchedulerAloneWithTheFix) {
  TestCluster c(ldap());
  c.run_for(minutes(3));
  for (const char* n : {"app1", "app2", "app3"}) {
    c.control(n, {ControlOp::Kind::set_spec, "config.MessageExportSettings.DailyRunTime", "02:00"});
    c.control(n, {ControlOp::Kind::set_spec, "reload_config", ""});
  }
  const Time changed = c.now();
  c.run_for(minutes(6));
  EXPECT_EQ(schedulers(c, changed), (std::set<NodeId>{c.id("app1")}));
  // The leader's next run is counted afresh from the change (the fixed listener).
  const auto after = c.events<JobScheduled>();
  Time first = kTimeMax;
  for (auto& e : after)
    if (e.at >= changed) first = std::min(first, e.at);
  EXPECT_GE(first - changed, minutes(1));
  EXPECT_TRUE(c.violated({"job_schedule"}).empty());
}

TEST(Schedulers, PlantedBugMm17508AConfigChangeMakesFollowersSchedule) {
  TestCluster c(ldap(bug(Bug::mm_17508)));
  c.run_for(minutes(3));
  // Before the change: the loop runs on every server, but only the leader's
  // notice gave it next runs.
  EXPECT_EQ(schedulers(c), (std::set<NodeId>{c.id("app1")})) << c.dump();
  // A System Console save that every server reloads: all three compute their
  // next runs from the same instant and schedule together.
  for (const char* n : {"app1", "app2", "app3"}) {
    c.control(n, {ControlOp::Kind::set_spec, "config.MessageExportSettings.DailyRunTime", "02:00"});
    c.control(n, {ControlOp::Kind::set_spec, "reload_config", ""});
  }
  c.run_for(minutes(5));
  EXPECT_EQ(schedulers(c), (std::set<NodeId>{c.id("app1"), c.id("app2"), c.id("app3")})) << c.dump();
  EXPECT_EQ(c.violated({"job_schedule"}), names({"job_schedule"}));
}

TEST(Schedulers, ALeaderWithRunSchedulerFalseLeadsAndSchedulesNothing) {
  TestCluster c(ldap({}, [](ClusterSpec& s) { s.servers[0].config[std::string(k::kRunSchedulerKey)] = "false"; }));
  c.run_for(minutes(6));
  EXPECT_EQ(c.leaders(), names({"app1"}));
  EXPECT_EQ(c.count<JobScheduled>(), 0u) << c.dump();
  EXPECT_EQ(c.violated({"job_schedule"}), names({"job_schedule"}));
  // A follower with it false changes nothing while another leads.
  TestCluster d(ldap({}, [](ClusterSpec& s) { s.servers[2].config[std::string(k::kRunSchedulerKey)] = "false"; }));
  d.run_for(minutes(6));
  EXPECT_EQ(schedulers(d), (std::set<NodeId>{d.id("app1")}));
  EXPECT_TRUE(d.violated({"job_schedule"}).empty());
}

}  // namespace
}  // namespace fl::test
