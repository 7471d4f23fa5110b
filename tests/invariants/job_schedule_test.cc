// job_schedule on hand-written histories (issue 14): correct schedules of a
// leader and its successor hold; two schedulers, a scheduler too early on its own
// clock, and a leader that schedules nothing are caught; the windows where the
// clause "at least" is not judged (no leader, two, a pause, a clock change) are
// not judged.
#include <gtest/gtest.h>

#include "tests/invariants/history_builder.h"

namespace fl::inv::testing {
namespace {

using namespace std::chrono_literals;

// ldap_sync every minute (the model's default); the bound is the registry's 2 min.
Hist jobs_hist() {
  Hist h;
  h.info.job_periods = {{"ldap_sync", 60s}};
  h.start_servers(0s);
  return h;
}

TEST(JobSchedule, ALeaderEveryPeriodAndItsSuccessorHold) {
  Hist h = jobs_hist();
  h.at(5s, h.app1, LeaderBegin{});
  h.at(125s, h.app1, JobScheduled{"ldap_sync"});  // the second tick after a period: P + 60 s
  h.at(245s, h.app1, JobScheduled{"ldap_sync"});
  h.at(250s, h.app1, ProcessCrashed{});           // no leader: not judged
  h.at(290s, h.app2, LeaderBegin{});
  h.at(410s, h.app2, JobScheduled{"ldap_sync"});  // a period after its own LeaderBegin
  h.at(530s, h.app2, JobScheduled{"ldap_sync"});
  EXPECT_TRUE(h.check("job_schedule", 600s).empty());
}

TEST(JobSchedule, TwoServersSchedulingInOnePeriodAreCaught) {
  Hist h = jobs_hist();
  h.at(5s, h.app1, LeaderBegin{});
  const auto a = h.at(125s, h.app1, JobScheduled{"ldap_sync"});
  const auto b = h.at(127s, h.app2, JobScheduled{"ldap_sync"});  // mm_10502: every server schedules
  h.at(245s, h.app1, JobScheduled{"ldap_sync"});
  h.at(247s, h.app2, JobScheduled{"ldap_sync"});  // the same pair again: reported once
  const auto v = h.check("job_schedule", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(127s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app1, h.app2}));
  EXPECT_TRUE(has_witness(v[0], a));
  EXPECT_TRUE(has_witness(v[0], b));
  EXPECT_NE(v[0].message.find("ldap_sync was scheduled twice within its period (1m)"), std::string::npos)
      << v[0].message;
}

TEST(JobSchedule, OneServerTooEarlyOnItsOwnClockIsCaughtAndAClockStepIsNoExcuse) {
  Hist h = jobs_hist();
  h.at(5s, h.app1, LeaderBegin{});
  h.at(125s, h.app1, JobScheduled{"ldap_sync"});
  h.at(130s, h.app1, ClockChanged{0s, 0, 30s});
  h.events.back().local = T(160s);
  // 40 s of virtual time and 75 s on its clock after the step: a right scheduler waits.
  h.at(170s, h.app1, JobScheduled{"ldap_sync"});
  h.events.back().local = T(200s);
  EXPECT_TRUE(h.check("job_schedule", 180s).empty()) << "75 s apart on app1's clock: not twice in a period";
  // 50 s on its clock: twice in one period, whatever the clock did.
  Hist g = jobs_hist();
  g.at(5s, g.app1, LeaderBegin{});
  g.at(125s, g.app1, JobScheduled{"ldap_sync"});
  g.at(130s, g.app1, ClockChanged{0s, 0, -30s});
  g.events.back().local = T(100s);
  const auto second = g.at(205s, g.app1, JobScheduled{"ldap_sync"});
  g.events.back().local = T(175s);
  const auto v = g.check("job_schedule", 210s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(205s));
  EXPECT_TRUE(has_witness(v[0], second));
  EXPECT_NE(v[0].message.find("50s apart on its clock"), std::string::npos) << v[0].message;
}

TEST(JobSchedule, ASuccessorWhoseClockJumpedAheadIsNotADoubleSchedule) {
  Hist h = jobs_hist();
  h.at(5s, h.app1, LeaderBegin{});
  h.at(125s, h.app1, JobScheduled{"ldap_sync"});
  h.at(130s, h.app1, ProcessCrashed{});
  h.at(140s, h.app2, LeaderBegin{});
  h.at(150s, h.app2, ClockChanged{0s, 0, 60s});  // an NTP step forward on the new leader
  h.at(170s, h.app2, JobScheduled{"ldap_sync"});  // 45 s after app1's, a period after its begin on its clock
  EXPECT_TRUE(h.check("job_schedule", 180s).empty());
  // Without the step the same 45 s is two schedulings in one period.
  Hist g = jobs_hist();
  g.at(5s, g.app1, LeaderBegin{});
  g.at(125s, g.app1, JobScheduled{"ldap_sync"});
  g.at(130s, g.app1, ProcessCrashed{});
  g.at(140s, g.app2, LeaderBegin{});
  g.at(170s, g.app2, JobScheduled{"ldap_sync"});
  EXPECT_EQ(g.check("job_schedule", 180s).size(), 1u);
}

TEST(JobSchedule, ALeaderThatSchedulesNothingIsCaughtAtItsDeadline) {
  Hist h = jobs_hist();
  const auto begin = h.at(5s, h.app3, LeaderBegin{});  // docs#3845: a leader with RunScheduler false
  h.at(100s, h.app3, PeerStatus{h.app1, true, ""});
  const auto late = h.at(190s, h.app1, PeerStatus{h.app3, true, ""});  // the first event after 5 + 60 + 120 s
  const auto v = h.check_online("job_schedule", late);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(185s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app3}));
  EXPECT_TRUE(has_witness(v[0], begin));
  EXPECT_NE(v[0].message.find("No ldap_sync job was scheduled from 5s to 3m05s while app3 alone acted as leader"),
            std::string::npos)
      << v[0].message;
  // Judged at the end of a completed run too, and once per obligation.
  Hist g = jobs_hist();
  g.at(5s, g.app3, LeaderBegin{});
  EXPECT_EQ(g.check("job_schedule", 600s).size(), 1u);
  EXPECT_TRUE(g.check("job_schedule", 185s).empty()) << "the deadline itself is still in time";
  EXPECT_TRUE(g.check("job_schedule", 600s, {}, /*completed=*/false).empty());
}

TEST(JobSchedule, AtLeastIsNotJudgedWithoutASoleUnpausedLeaderNorAcrossAClockChange) {
  {  // two leaders (a split brain): the first half judges it, not this one
    Hist h = jobs_hist();
    h.at(5s, h.app1, LeaderBegin{});
    h.at(6s, h.app2, LeaderBegin{});
    EXPECT_TRUE(h.check("job_schedule", 600s).empty());
  }
  {  // a paused leader: the obligation starts afresh at its resume
    Hist h = jobs_hist();
    h.at(5s, h.app1, LeaderBegin{});
    h.at(100s, h.app1, ProcessPaused{300s});
    h.at(400s, h.app1, ProcessResumed{});
    h.at(460s, h.app1, JobScheduled{"ldap_sync"});
    EXPECT_TRUE(h.check("job_schedule", 560s).empty());
    EXPECT_EQ(h.check("job_schedule", 700s).size(), 1u) << "460 + 60 + 120 = 640 s: late after it";
  }
  {  // the leader's clock stepped back: not judged until its next scheduling
    Hist h = jobs_hist();
    h.at(5s, h.app1, LeaderBegin{});
    h.at(125s, h.app1, JobScheduled{"ldap_sync"});
    h.at(130s, h.app1, ClockChanged{0s, 0, -600s});
    EXPECT_TRUE(h.check("job_schedule", 700s).empty());
  }
  {  // a configuration change on the leader starts its period afresh (the fixed listener)
    Hist h = jobs_hist();
    h.at(5s, h.app1, LeaderBegin{});
    h.at(120s, h.app1, ConfigChanged{"ServiceSettings.SiteURL", "x", 9});
    h.at(300s, h.app1, JobScheduled{"ldap_sync"});
    EXPECT_TRUE(h.check("job_schedule", 310s).empty());
  }
  {  // no job types configured: nothing to judge
    Hist h;
    h.at(5s, h.app1, LeaderBegin{});
    h.at(125s, h.app1, JobScheduled{"ldap_sync"});
    h.at(126s, h.app2, JobScheduled{"ldap_sync"});
    EXPECT_TRUE(h.check("job_schedule", 900s).empty());
  }
}

}  // namespace
}  // namespace fl::inv::testing
