#include <gtest/gtest.h>

#include "tests/invariants/history_builder.h"

namespace fl::inv::testing {
namespace {

using namespace std::chrono_literals;

// app1 watches app2: green at 5 s.
Hist watched() {
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, PeerStatus{h.app2, true, ""});
  return h;
}

TEST(StatusAccuracy, DownAfterTwoAttemptsAndUpAgainPasses) {
  Hist h = watched();
  h.at(100s, h.app2, ProcessCrashed{});
  h.at(103s, h.app1, SendFailed{h.app2, 1});
  h.at(121s, h.app1, SendFailed{h.app2, 2});
  h.at(121s, h.app1, PeerDown{h.app2, 2});
  h.at(121s, h.app1, PeerStatus{h.app2, false, "down"});
  h.at(200s, h.app2, ProcessStarted{});
  h.at(200s, h.app2, ServerStarting{"10.4.1", 7});
  h.at(206s, h.app2, ServerServing{"10.4.1"});
  h.at(215s, h.app1, PeerUp{h.app2});
  h.at(215s, h.app1, PeerStatus{h.app2, true, ""});
  EXPECT_TRUE(h.check("status_accuracy", 400s).empty());
}

TEST(StatusAccuracy, StillGreenLongAfterACrashIsCaught) {
  Hist h = watched();
  const auto crash = h.at(100s, h.app2, ProcessCrashed{});
  h.at(150s, h.app3, DiscoveryRowWritten{});  // any later event lets the checker see time pass
  const auto v = h.check("status_accuracy", 400s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(145s));  // 30 s + 15 s epsilon after the crash
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app1, h.app2}));
  EXPECT_TRUE(has_witness(v[0], 9));  // the green PeerStatus at 5 s (after 9 start-up events)
  EXPECT_NE(v[0].message.find("app1 shows app2 green"), std::string::npos) << v[0].message;
  (void)crash;
  // Found online at the first event past the deadline.
  EXPECT_EQ(h.check_online("status_accuracy", h.events.size() - 1).size(), 1u);
  EXPECT_TRUE(h.check("status_accuracy", 400s, {{"epsilon", 10min}}).empty());
}

TEST(StatusAccuracy, DownAfterOneFailureIsCaughtAtOnce) {
  Hist h = watched();
  h.at(100s, h.app1, FaultInjected{0, "gossip_send_failure", "app1 -> app2", {{h.app1}, {h.app2}}});
  const auto f = h.at(103s, h.app1, SendFailed{h.app2, 1});
  const auto down = h.at(103s, h.app1, PeerDown{h.app2, 1});
  const auto v = h.check_online("status_accuracy", down);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(103s));
  EXPECT_TRUE(has_witness(v[0], f));
  EXPECT_TRUE(has_witness(v[0], down));
  EXPECT_NE(v[0].message.find("after 1 failed attempt"), std::string::npos) << v[0].message;
}

// The seed's rule: the second attempt comes 15 s after the first failure.
TEST(StatusAccuracy, DownAfterTwoAttemptsTooCloseIsCaught) {
  Hist h = watched();
  h.at(100s, h.app1, FaultInjected{0, "gossip_send_failure", "app1 -> app2", {{h.app1}, {h.app2}}});
  const auto f1 = h.at(103s, h.app1, SendFailed{h.app2, 1});
  const auto f2 = h.at(108s, h.app1, SendFailed{h.app2, 2});
  const auto down = h.at(108s, h.app1, PeerDown{h.app2, 2});
  const auto v = h.check_online("status_accuracy", down);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(108s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app1, h.app2}));
  EXPECT_TRUE(has_witness(v[0], f1));
  EXPECT_TRUE(has_witness(v[0], f2));
  EXPECT_TRUE(has_witness(v[0], down));
  EXPECT_NE(v[0].message.find("two failed attempts only 5s apart (at 1m43s and 1m48s)"), std::string::npos)
      << v[0].message;
}

// Attempt 1, then PeerDown 5 s later claiming two attempts with no second
// SendFailed: one attempt seen.
TEST(StatusAccuracy, DownFiveSecondsAfterTheFirstAttemptIsCaught) {
  Hist h = watched();
  h.at(100s, h.app1, FaultInjected{0, "gossip_send_failure", "app1 -> app2", {{h.app1}, {h.app2}}});
  const auto f1 = h.at(103s, h.app1, SendFailed{h.app2, 1});
  const auto down = h.at(108s, h.app1, PeerDown{h.app2, 2});
  const auto v = h.check_online("status_accuracy", down);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(108s));
  EXPECT_TRUE(has_witness(v[0], f1));
  EXPECT_NE(v[0].message.find("after 1 failed attempt"), std::string::npos) << v[0].message;
}

// A sender whose clock drifts +1000 ppm retries after 14.985 s of virtual time:
// within the slack. A sender whose clock was stepped forward during the wait
// retries early in virtual time but 15 s on its own clock: its timer moved with
// the step, the rule was kept. Well below 15 s on both clocks is a violation.
TEST(StatusAccuracy, SpacingAllowsDriftAndStepsOnTheSendersClock) {
  auto run = [](Duration gap, Duration local_gap) {
    Hist h = watched();
    h.at(100s, h.app1, FaultInjected{0, "gossip_send_failure", "app1 -> app2", {{h.app1}, {h.app2}}});
    h.at(103s, h.app1, SendFailed{h.app2, 1});
    const auto f2 = h.at(103s + gap, h.app1, SendFailed{h.app2, 2});
    const auto down = h.at(103s + gap, h.app1, PeerDown{h.app2, 2});
    h.events[f2].local = T(103s + local_gap);
    h.events[down].local = T(103s + local_gap);
    return h.check_online("status_accuracy", down);
  };
  EXPECT_TRUE(run(14985ms, 15s).empty());   // drift: 15 s local are 14.985 s virtual
  EXPECT_TRUE(run(14950ms, 14950ms).empty());  // within the 100-ms slack on virtual time
  EXPECT_TRUE(run(5s, 15s).empty());          // a forward clock step of 10 s during the wait
  EXPECT_EQ(run(14800ms, 14800ms).size(), 1u);
  EXPECT_EQ(run(5s, 5s).size(), 1u);
}

// Issue 13, finding 3 (seed 184 of the random-fault scenario): app1 restarts at
// 3m26s while its sends to app3 fail (gossip_send_failure app1 -> app3, 175 s for
// 54 s). Its first failed attempt is at 3m29s; app3's ping then makes app1 show
// it green (a suspect peer is green); the second attempt fails at 3m47s, 18 s
// later, and app1 marks app3 down: the seed's rule, kept. The checker used to
// reset its count at the green status and say "after 1 failed attempt(s)".
Hist restarted_while_sends_fail() {
  Hist h;
  h.start_servers(0s);
  h.at(5s, h.app1, PeerStatus{h.app3, true, ""});
  h.at(175s, h.app1, FaultInjected{4, "gossip_send_failure", "app1 -> app3", {{h.app1}, {h.app3}}});
  h.at(178s, h.app1, SendFailed{h.app3, 1});  // before the crash: a chain the crash cuts short
  h.at(193s, h.app1, ProcessCrashed{});
  h.at(206s, h.app1, ProcessStarted{});
  h.at(206s, h.app1, ServerStarting{"10.4.1", 7});
  h.at(208s, h.app1, ServerServing{"10.4.1"});
  return h;
}

TEST(StatusAccuracy, AttemptsAreCountedPerIncarnationAcrossARestart) {
  Hist h = restarted_while_sends_fail();
  h.at(209s, h.app1, SendFailed{h.app3, 1});
  h.at(210s, h.app1, PeerStatus{h.app3, true, ""});  // app3's ping: green while suspect
  h.at(227s, h.app1, SendFailed{h.app3, 2});
  const auto down = h.at(227s, h.app1, PeerDown{h.app3, 2});
  h.at(227s, h.app1, PeerStatus{h.app3, false, "down"});
  h.at(229s, h.app1, FaultHealed{4, "gossip_send_failure"});
  h.at(242s, h.app1, PeerUp{h.app3});
  h.at(242s, h.app1, PeerStatus{h.app3, true, ""});
  EXPECT_TRUE(h.check_online("status_accuracy", down).empty());
  EXPECT_TRUE(h.check("status_accuracy", 300s).empty());
}

// The broken form: the restarted process claims a second attempt whose first
// was made by the process that crashed. A new process remembers no attempt.
TEST(StatusAccuracy, AnAttemptBeforeARestartDoesNotCount) {
  Hist h = restarted_while_sends_fail();
  const auto f2 = h.at(227s, h.app1, SendFailed{h.app3, 2});
  const auto down = h.at(227s, h.app1, PeerDown{h.app3, 2});
  const auto v = h.check_online("status_accuracy", down);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(227s));
  EXPECT_TRUE(has_witness(v[0], f2));
  for (const auto& w : v[0].witnesses) EXPECT_NE(w.at, T(178s));  // the pre-crash attempt is no witness
  EXPECT_NE(v[0].message.find("app1 marked app3 down at 3m47s after 1 failed attempt(s)"), std::string::npos)
      << v[0].message;
}

TEST(StatusAccuracy, PartitionedPeerShownGreenIsCaughtALossyLinkIsNotJudged) {
  Hist h = watched();
  const auto part = h.at(100s, kNoNode, FaultInjected{0, "partition", "app1 | app2 app3", {{h.app1}, {h.app2, h.app3}}});
  h.at(200s, h.app3, DiscoveryRowWritten{});
  auto v = h.check("status_accuracy", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(145s));
  EXPECT_TRUE(has_witness(v[0], part));
  EXPECT_NE(v[0].message.find("unreachable"), std::string::npos) << v[0].message;

  Hist g = watched();
  // A lossy link is `uncertain`: whether a node should notice depends on timing.
  g.at(100s, kNoNode, FaultInjected{0, "loss", "loss 1 between app1 app3", {{g.app1, g.app3}}});
  g.at(200s, g.app3, DiscoveryRowWritten{});
  EXPECT_TRUE(g.check("status_accuracy", 300s).empty());
}

TEST(StatusAccuracy, APeerWhoseAnswersAreCutMayStayRed) {
  // app2 -> app1 is cut (a gossip send failure from app2): app1's probes reach
  // app2 but the answers never come back, so app1 rightly keeps app2 red.
  Hist h = watched();
  h.at(100s, h.app2, FaultInjected{0, "gossip_send_failure", "app2 -> app1", {{h.app2}, {h.app1}}});
  h.at(130s, h.app1, PeerStatus{h.app2, false, "down"});
  h.at(300s, h.app3, DiscoveryRowWritten{});
  EXPECT_TRUE(h.check("status_accuracy", 400s).empty());
  // Once the cut heals, red is wrong after the window.
  Hist g = watched();
  g.at(100s, g.app2, FaultInjected{0, "gossip_send_failure", "app2 -> app1", {{g.app2}, {g.app1}}});
  g.at(130s, g.app1, PeerStatus{g.app2, false, "down"});
  g.at(150s, kNoNode, FaultHealed{0, "gossip_send_failure"});
  g.at(300s, g.app3, DiscoveryRowWritten{});
  EXPECT_EQ(g.check("status_accuracy", 400s).size(), 1u);
  // And an up peer whose answers are cut may stay green: O's sends succeed.
  Hist u = watched();
  u.at(100s, u.app2, FaultInjected{0, "gossip_send_failure", "app2 -> app1", {{u.app2}, {u.app1}}});
  u.at(300s, u.app3, DiscoveryRowWritten{});
  EXPECT_TRUE(u.check("status_accuracy", 400s).empty());
}

TEST(StatusAccuracy, VersionDifferenceMustShowRed) {
  Hist h;
  h.start_servers(0s);
  h.at(10s, h.app3, ProcessStopped{});
  h.at(12s, h.app3, ProcessStarted{});
  h.at(12s, h.app3, ServerStarting{"10.4.2", 7});
  h.at(13s, h.app3, ServerServing{"10.4.2"});
  h.at(20s, h.app1, PeerStatus{h.app3, true, ""});
  h.at(21s, h.app2, PeerStatus{h.app3, false, "version"});
  const auto v = h.check("status_accuracy", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(65s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app1, h.app3}));
  EXPECT_NE(v[0].message.find("version differs"), std::string::npos) << v[0].message;
}

TEST(StatusAccuracy, RestartedPeerLeftRedIsCaught) {
  Hist h = watched();
  h.at(100s, h.app2, ProcessCrashed{});
  h.at(103s, h.app1, SendFailed{h.app2, 1});
  h.at(121s, h.app1, SendFailed{h.app2, 2});
  h.at(121s, h.app1, PeerDown{h.app2, 2});
  h.at(200s, h.app2, ProcessStarted{});
  h.at(200s, h.app2, ServerStarting{"10.4.1", 7});
  h.at(206s, h.app2, ServerServing{"10.4.1"});
  const auto v = h.check("status_accuracy", 400s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(251s));
  EXPECT_NE(v[0].message.find("app1 shows app2 red (down)"), std::string::npos) << v[0].message;
}

// Health routing: client1 routed by the proxy; app1 loses its database.
Hist routed() {
  Hist h;
  h.start_servers(0s);
  h.at(0s, h.primary, ProcessStarted{});
  h.at(0s, h.proxy, ProcessStarted{});
  h.at(0s, h.client1, ProcessStarted{});
  h.at(1s, h.proxy, HealthChecked{h.app1, true});
  h.at(1s, h.proxy, HealthChecked{h.app2, true});
  h.at(2s, h.proxy, ProxyRouted{h.client1, h.app1});
  h.at(2s, h.client1, ClientConnected{h.app1, 1, false});
  return h;
}

TEST(HealthRouting, ShortFailuresAndRoutingToHealthyPass) {
  Hist h = routed();
  h.at(50s, h.client1, ClientRequestFailed{"post", "500"});
  h.at(60s, h.client1, ClientRequestFailed{"post", "500"});
  h.at(61s, h.client1, PostAckReceived{1});
  h.at(70s, h.proxy, HealthChecked{h.app2, false});
  h.at(75s, h.proxy, HealthChecked{h.app2, true});
  h.at(76s, h.proxy, ProxyRouted{h.client2, h.app2});
  EXPECT_TRUE(h.check("health_routing", 300s).empty());
}

TEST(HealthRouting, RoutingToAFailedServerIsCaught) {
  Hist h = routed();
  const auto check = h.at(70s, h.proxy, HealthChecked{h.app2, false});
  const auto route = h.at(71s, h.proxy, ProxyRouted{h.client2, h.app2});
  const auto v = h.check_online("health_routing", route);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(71s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app2, h.client2}));
  EXPECT_TRUE(has_witness(v[0], check));
  EXPECT_TRUE(has_witness(v[0], route));
}

TEST(HealthRouting, PlainPingKeepsADeadDatabaseServerInRotation) {
  Hist h = routed();
  h.at(40s, kNoNode, FaultInjected{0, "partition", "app1 | db-primary", {{h.app1}, {h.primary}}});
  const auto first = h.at(41s, h.client1, ClientRequestFailed{"post", "500 database unreachable"});
  h.at(45s, h.proxy, HealthChecked{h.app1, true});  // the plain ping passes
  h.at(60s, h.client1, ClientRequestFailed{"post", "500 database unreachable"});
  const auto late = h.at(80s, h.client1, ClientRequestFailed{"post", "500 database unreachable"});
  const auto v = h.check("health_routing", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(80s));
  EXPECT_TRUE(names_node(v[0], h.client1));
  EXPECT_TRUE(names_node(v[0], h.app2));  // the healthy one
  EXPECT_TRUE(names_node(v[0], h.app1));  // where the proxy sent it
  EXPECT_TRUE(has_witness(v[0], first));
  EXPECT_TRUE(has_witness(v[0], late));
  EXPECT_NE(v[0].message.find("whose last health check passed"), std::string::npos) << v[0].message;
}

TEST(HealthRouting, FailuresThatBeganWithNoHealthyServerCountOnceOneIs) {
  // The primary crashes; requests fail while no server can be healthy; the
  // replica is promoted at 70s, and requests keep failing (a sync primary with
  // no standby left waits for ever): the bound runs from the promotion.
  Hist h = routed();
  h.at(3s, h.replica, ProcessStarted{});
  h.at(40s, h.primary, DbCrashed{});
  h.at(40s, h.primary, ProcessCrashed{});
  h.at(41s, h.client1, ClientRequestFailed{"post", "timeout"});
  h.at(70s, h.replica, Promoted{100});
  h.at(90s, h.client1, ClientRequestFailed{"post", "timeout"});
  {
    Hist early = h;  // the same history, ending within the bound from the promotion
    EXPECT_TRUE(early.check("health_routing", 95s).empty());
  }
  const auto late = h.at(110s, h.client1, ClientRequestFailed{"post", "timeout"});
  const auto v = h.check("health_routing", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(110s));
  EXPECT_TRUE(has_witness(v[0], late));
  EXPECT_NE(v[0].message.find("(from 1m10s)"), std::string::npos) << v[0].message;
}

TEST(HealthRouting, NoHealthyServerNoViolation) {
  Hist h = routed();
  h.at(40s, h.primary, ProcessCrashed{});
  h.at(41s, h.client1, ClientRequestFailed{"post", "500"});
  h.at(80s, h.client1, ClientRequestFailed{"post", "500"});
  EXPECT_TRUE(h.check("health_routing", 300s).empty());
}

}  // namespace
}  // namespace fl::inv::testing
