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
  h.at(100s, h.app1, FaultInjected{0, "gossip_send_failure", "app1 -> app2"});
  const auto f = h.at(103s, h.app1, SendFailed{h.app2, 1});
  const auto down = h.at(103s, h.app1, PeerDown{h.app2, 1});
  const auto v = h.check_online("status_accuracy", down);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(103s));
  EXPECT_TRUE(has_witness(v[0], f));
  EXPECT_TRUE(has_witness(v[0], down));
  EXPECT_NE(v[0].message.find("after 1 failed attempt"), std::string::npos) << v[0].message;
}

TEST(StatusAccuracy, PartitionedPeerShownGreenIsCaughtUnreadableIsNotJudged) {
  Hist h = watched();
  const auto part = h.at(100s, kNoNode, FaultInjected{0, "partition", R"([["app1"], ["app2", "app3"]])"});
  h.at(200s, h.app3, DiscoveryRowWritten{});
  auto v = h.check("status_accuracy", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(145s));
  EXPECT_TRUE(has_witness(v[0], part));
  EXPECT_NE(v[0].message.find("unreachable"), std::string::npos) << v[0].message;

  Hist g = watched();
  g.at(100s, kNoNode, FaultInjected{0, "partition", "gibberish"});
  g.at(200s, g.app3, DiscoveryRowWritten{});
  EXPECT_TRUE(g.check("status_accuracy", 300s).empty());
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
  h.at(40s, kNoNode, FaultInjected{0, "partition", "app1 | db-primary"});
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

TEST(HealthRouting, NoHealthyServerNoViolation) {
  Hist h = routed();
  h.at(40s, h.primary, ProcessCrashed{});
  h.at(41s, h.client1, ClientRequestFailed{"post", "500"});
  h.at(80s, h.client1, ClientRequestFailed{"post", "500"});
  EXPECT_TRUE(h.check("health_routing", 300s).empty());
}

}  // namespace
}  // namespace fl::inv::testing
