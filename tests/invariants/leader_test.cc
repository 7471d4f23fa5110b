#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "tests/invariants/history_builder.h"

namespace fl::inv::testing {
namespace {

using namespace std::chrono_literals;

TEST(SingleLeader, HandOverPasses) {
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, LeaderBegin{});
  h.at(60s, h.app1, LeaderEnd{});
  h.at(61s, h.app2, LeaderBegin{});
  EXPECT_TRUE(h.check("single_leader", 120s).empty());
}

TEST(SingleLeader, CrashEndsLeadership) {
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, LeaderBegin{});
  h.at(30s, h.app1, ProcessCrashed{});
  h.at(40s, h.app2, LeaderBegin{});
  EXPECT_TRUE(h.check("single_leader", 120s).empty());
}

TEST(SingleLeader, TwoLeadersUnderPartitionCaughtAtTheSecondBegin) {
  Hist h;
  h.start_servers(0s);
  const auto b1 = h.at(5s, h.app1, LeaderBegin{});
  const auto part = h.at(60s, kNoNode, FaultInjected{0, "partition", "app1 | app2 app3", {{h.app1}, {h.app2, h.app3}}});
  const auto b2 = h.at(83s, h.app2, LeaderBegin{});
  // With no grace the overlap is known at the instant it happens.
  const auto online = h.check_online("single_leader", b2, {{"grace", 0s}});
  ASSERT_EQ(online.size(), 1u);
  const auto& v = online[0];
  EXPECT_EQ(v.invariant, "single_leader");
  EXPECT_EQ(v.at, T(83s));
  EXPECT_TRUE(names_node(v, h.app1));
  EXPECT_TRUE(names_node(v, h.app2));
  EXPECT_TRUE(has_witness(v, b1));
  EXPECT_TRUE(has_witness(v, b2));
  EXPECT_TRUE(has_witness(v, part));
  EXPECT_NE(v.message.find("app1 and app2 both lead"), std::string::npos) << v.message;
  EXPECT_EQ(h.check("single_leader", 120s, {{"grace", 0s}}).size(), 1u);  // one overlap, one violation
  // The default grace is 0 (MODEL.md): the same, at the instant of the overlap.
  const auto by_default = h.check("single_leader", 120s);
  ASSERT_EQ(by_default.size(), 1u);
  EXPECT_EQ(by_default[0].at, T(83s));
  // With a grace of 5 s it is caught when the grace runs out.
  const auto with_grace = h.check("single_leader", 120s, {{"grace", 5s}});
  ASSERT_EQ(with_grace.size(), 1u);
  EXPECT_EQ(with_grace[0].at, T(88s));
}

// Issue 8: a 1-s overlap (db_lease after a clock step) was hidden by the old
// default grace of 5 s. It is a violation by default; grace = "5s" tolerates it.
TEST(SingleLeader, OneSecondOverlapIsAViolationByDefault) {
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, LeaderBegin{});
  const auto step = h.at(40s, h.app2, ClockChanged{-6s, 0, -6s});
  const auto b2 = h.at(50s, h.app2, LeaderBegin{});
  h.at(51s, h.app1, LeaderEnd{});  // 1 s of two leaders
  const auto v = h.check("single_leader", 120s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(50s));
  EXPECT_TRUE(has_witness(v[0], b2));
  EXPECT_TRUE(has_witness(v[0], step));  // the clock note names the step
  EXPECT_NE(v[0].message.find("app1 and app2 both lead"), std::string::npos) << v[0].message;
  EXPECT_TRUE(h.check("single_leader", 120s, {{"grace", 5s}}).empty());
}

TEST(SingleLeader, GraceToleratesShortOverlapOnly) {
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, LeaderBegin{});
  h.at(10s, h.app2, LeaderBegin{});
  h.at(12s, h.app1, LeaderEnd{});  // 2 s of overlap
  EXPECT_TRUE(h.check("single_leader", 60s, {{"grace", 3s}}).empty());
  const auto v = h.check("single_leader", 60s, {{"grace", 1s}});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(11s));  // the instant the grace ran out
}

TEST(SingleLeader, GraceOverlapStillOnAtTheEndIsCaught) {
  Hist h;
  h.at(5s, h.app1, LeaderBegin{});
  h.at(10s, h.app2, LeaderBegin{});
  const auto v = h.check("single_leader", 60s, {{"grace", 5s}});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(15s));
}

TEST(SingleLeader, SkewIsNamed) {
  Hist h;
  const auto skew = h.at(1s, h.app2, ClockChanged{20s, 0, 0s});
  h.at(5s, h.app1, LeaderBegin{});
  h.at(10s, h.app2, LeaderBegin{});
  const auto v = h.check("single_leader", 60s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].message.find("clock skew"), std::string::npos) << v[0].message;
  EXPECT_NE(v[0].message.find("app2's clock +20s"), std::string::npos) << v[0].message;
  EXPECT_TRUE(has_witness(v[0], skew));
}

// Property: histories in which leadership strictly alternates (each begin after
// the previous leader's end or crash) never trip single_leader.
RC_GTEST_PROP(SingleLeaderProperty, AlternatingLeadershipNeverFires, ()) {
  Hist h;
  const auto steps = *rc::gen::inRange(1, 40);
  std::int64_t t = 0;
  for (int i = 0; i < steps; ++i) {
    const NodeId who = std::vector<NodeId>{h.app1, h.app2, h.app3}[*rc::gen::inRange(0, 3)];
    t += *rc::gen::inRange(0, 5000);
    h.at(milliseconds(t), who, LeaderBegin{});
    t += *rc::gen::inRange(0, 5000);
    if (*rc::gen::arbitrary<bool>()) h.at(milliseconds(t), who, LeaderEnd{});
    else h.at(milliseconds(t), who, ProcessCrashed{});
  }
  RC_ASSERT(h.check("single_leader", milliseconds(t + 1)).empty());
}

// And the converse: any two begins without an end between them are caught.
RC_GTEST_PROP(SingleLeaderProperty, OverlapAlwaysCaught, ()) {
  Hist h;
  const auto a = *rc::gen::inRange(0, 10000);
  const auto gap = *rc::gen::inRange(0, 10000);
  h.at(milliseconds(a), h.app1, LeaderBegin{});
  h.at(milliseconds(a + gap), h.app3, LeaderBegin{});
  const auto v = h.check("single_leader", milliseconds(a + gap + 1), {{"grace", 0s}});
  RC_ASSERT(v.size() == 1u);
  RC_ASSERT(v[0].at == T(milliseconds(a + gap)));
}

TEST(LeaderLiveness, LowestIdLeadsAfterQuietPasses) {
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, LeaderBegin{});
  EXPECT_TRUE(h.check("leader_liveness", 300s).empty());
}

TEST(LeaderLiveness, NoLeaderAfterQuietIsCaught) {
  Hist h;
  h.start_servers(0s);
  const auto b = h.at(5s, h.app1, LeaderBegin{});
  h.at(10s, h.app1, LeaderEnd{});
  const auto heal = h.at(100s, kNoNode, SettleBegin{});
  const auto v = h.check("leader_liveness", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(160s));  // settle + 60 s bound
  EXPECT_TRUE(has_witness(v[0], heal));
  EXPECT_FALSE(has_witness(v[0], b));
  EXPECT_NE(v[0].message.find("No server leads"), std::string::npos);
}

TEST(LeaderLiveness, HighestIdLeaderUnderBullyIsCaught) {
  Hist h;
  h.start_servers(0s);
  const auto b = h.at(5s, h.app3, LeaderBegin{});
  const auto v = h.check("leader_liveness", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(names_node(v[0], h.app3));
  EXPECT_TRUE(names_node(v[0], h.app1));
  EXPECT_TRUE(has_witness(v[0], b));
  EXPECT_NE(v[0].message.find("app1 is the lowest-id live server"), std::string::npos) << v[0].message;
  // Under db_lease any single leader will do.
  h.info.leader_election = "db_lease";
  EXPECT_TRUE(h.check("leader_liveness", 300s).empty());
}

TEST(LeaderLiveness, NotJudgedWhileFaultyOrTooSoonOrIncomplete) {
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, LeaderBegin{});
  h.at(6s, h.app2, LeaderBegin{});
  h.at(100s, kNoNode, FaultInjected{0, "partition", "app1 | app2 app3", {{h.app1}, {h.app2, h.app3}}});
  EXPECT_TRUE(h.check("leader_liveness", 300s).empty());  // the partition never healed
  h.at(200s, kNoNode, FaultHealed{0, "partition"});
  EXPECT_TRUE(h.check("leader_liveness", 250s).empty());   // only 50 s fault-free
  EXPECT_TRUE(h.check("leader_liveness", 300s, {}, false).empty());  // run stopped early
  const auto v = h.check("leader_liveness", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(260s));
  EXPECT_NE(v[0].message.find("app1 and app2 all lead"), std::string::npos) << v[0].message;
}

TEST(LeaderLiveness, CrashedLowestIdIsNotExpected) {
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, LeaderBegin{});
  h.at(50s, h.app1, ProcessCrashed{});
  h.at(60s, h.app2, LeaderBegin{});
  EXPECT_TRUE(h.check("leader_liveness", 300s).empty());
}

// ---- pauses: a frozen leader cannot act ------------------------------------------

TEST(SingleLeader, AFrozenLeaderThatStepsDownAtItsThawNeverOverlaps) {
  // db_lease: app1 freezes past its lease; app2 takes over; app1's first input
  // at its thaw ends its leadership before it does anything.
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, LeaderBegin{});
  h.at(60s, h.app1, ProcessPaused{seconds(39)});
  h.at(95s, h.app2, LeaderBegin{});
  h.at(99s, h.app1, ProcessResumed{});
  h.at(99s, h.app1, LeaderEnd{});
  EXPECT_TRUE(h.check("single_leader", 300s).empty());
}

TEST(SingleLeader, AThawedLeaderStillLeadingOverlapsItsSuccessor) {
  // bully: app1 thaws still leading; app2 steps down only when it hears.
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, LeaderBegin{});
  h.at(60s, h.app1, ProcessPaused{seconds(39)});
  h.at(95s, h.app2, LeaderBegin{});
  const auto resumed = h.at(99s, h.app1, ProcessResumed{});
  h.at(99s + 3ms, h.app2, LeaderEnd{});
  const auto v = h.check("single_leader", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(99s));
  EXPECT_TRUE(has_witness(v[0], resumed));
  EXPECT_NE(v[0].message.find("acting again after its pause from 1m39s"), std::string::npos) << v[0].message;
}

TEST(SingleLeader, AThawedLeaderThatActsAtItsThawOverlaps) {
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, LeaderBegin{});
  h.at(60s, h.app1, ProcessPaused{seconds(39)});
  h.at(95s, h.app2, LeaderBegin{});
  h.at(99s, h.app1, ProcessResumed{});
  h.at(99s, h.app1, JobCreated{7, "ldap_sync", true});
  h.at(99s, h.app1, LeaderEnd{});
  const auto v = h.check("single_leader", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(99s));
}


}  // namespace
}  // namespace fl::inv::testing
