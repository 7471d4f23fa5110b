// service_available: judged at the end of settle.
#include <gtest/gtest.h>

#include "tests/invariants/history_builder.h"

namespace fl::inv::testing {
namespace {

using namespace std::chrono_literals;

// Three servers serving, the proxy routing to all three, two connected clients
// posting: a cluster that serves.
Hist serving_cluster() {
  Hist h;
  h.start_servers(0s);
  h.at(0s, h.primary, ProcessStarted{});
  h.at(0s, h.proxy, ProcessStarted{});
  h.at(0s, h.proxy, UpstreamChanged{"app1,app2,app3"});
  for (NodeId s : {h.app1, h.app2, h.app3}) h.at(5s, h.proxy, HealthChecked{s, true});
  h.at(6s, h.client1, ProcessStarted{});
  h.at(6s, h.client2, ProcessStarted{});
  h.at(7s, h.proxy, ProxyRouted{h.client1, h.app1});
  h.at(7s, h.client1, ClientConnected{h.app1, 1, false});
  h.at(7s, h.proxy, ProxyRouted{h.client2, h.app2});
  h.at(7s, h.client2, ClientConnected{h.app2, 2, false});
  return h;
}

TEST(ServiceAvailable, AHealthyEndHolds) {
  Hist h = serving_cluster();
  // Failures long before the last minute (a fault in the safety phase) do not count.
  h.at(100s, h.client1, ClientRequestFailed{"create_post", "unavailable"});
  h.at(105s, h.client1, PostAckReceived{1});
  EXPECT_TRUE(h.check("service_available", 300s).empty());
  // One server stopped on purpose, the others serving: still serves.
  h.at(200s, h.app3, ProcessStopped{});
  h.at(201s, h.proxy, HealthChecked{h.app3, false});
  h.at(290s, h.client2, PostAckReceived{2});
  EXPECT_TRUE(h.check("service_available", 300s).empty());
}

TEST(ServiceAvailable, AClusterLeftStoppedFails) {
  Hist h = serving_cluster();
  const auto s1 = h.at(125s, h.app1, ProcessStopped{});
  h.at(126s, h.app2, ProcessCrashed{});
  h.at(127s, h.app3, ProcessStopped{});
  h.at(130s, h.app3, ProcessStarted{});
  h.at(130s, h.app3, ServerStarting{"10.2.0", 7});
  const auto refused = h.at(131s, h.app3, ServerRefusedStart{"binary too old for the database"});
  for (NodeId s : {h.app1, h.app2, h.app3}) h.at(135s, h.proxy, HealthChecked{s, false});
  h.at(135s, h.client1, ClientDisconnected{"upstream_lost"});
  h.at(135s, h.client2, ClientDisconnected{"upstream_lost"});
  const auto v = h.check("service_available", 300s);
  ASSERT_EQ(v.size(), 1u);  // the proxy's finding follows from it; no client is connected
  EXPECT_EQ(v[0].invariant, "service_available");
  EXPECT_EQ(v[0].at, T(300s));
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.app1, h.app2, h.app3}));
  EXPECT_TRUE(has_witness(v[0], s1));
  EXPECT_TRUE(has_witness(v[0], refused));
  EXPECT_NE(v[0].message.find("No app server is serving at the end of settle (5m): app1 stopped by the operator at "
                              "2m05s, app2 crashed at 2m06s and app3 refused to start at 2m11s (binary too old"),
            std::string::npos)
      << v[0].message;
  // Not judged when the run stopped early: liveness needs the end of settle.
  EXPECT_TRUE(h.check("service_available", 300s, {}, /*completed=*/false).empty());
}

TEST(ServiceAvailable, AServerStillInStartUpIsNotServing) {
  Hist h;
  h.at(0s, h.app1, ProcessStarted{});
  h.at(0s, h.app1, ServerStarting{"10.5.0", 7});
  h.at(1s, h.app1, MigrationLockAcquired{T(16s), false});
  const auto v = h.check("service_available", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].message.find("app1 in start-up since 0s, not serving, app2 never started and app3 never started"),
            std::string::npos)
      << v[0].message;
}

TEST(ServiceAvailable, AProxyWithAnEmptyUpstreamListFails) {
  Hist h = serving_cluster();
  const auto emptied = h.at(100s, h.proxy, UpstreamChanged{""});
  const auto v = h.check("service_available", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.proxy}));
  EXPECT_TRUE(has_witness(v[0], emptied));
  EXPECT_NE(v[0].message.find("The proxy routes to no serving app server at the end of settle (5m): proxy's upstream "
                              "list is empty (since 1m40s)"),
            std::string::npos)
      << v[0].message;
}

TEST(ServiceAvailable, AProxyRoutingOnlyToServersThatDoNotServeFails) {
  Hist h = serving_cluster();
  h.at(100s, h.proxy, UpstreamChanged{"app1,app2"});  // the rolling update's "route to one"... never undone
  h.at(110s, h.proxy, HealthChecked{h.app1, false});
  h.at(110s, h.app2, ProcessCrashed{});  // crashed before the proxy noticed
  const auto v = h.check("service_available", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].message.find("proxy has no serving server in its upstream list: app1 failed its health check at "
                              "1m50s and app2 passed its health check at 5s but is not serving (app2 crashed at 1m50s)"),
            std::string::npos)
      << v[0].message;
  // And a stopped proxy routes nothing.
  Hist g = serving_cluster();
  g.at(100s, g.proxy, ProcessStopped{});
  const auto w = g.check("service_available", 300s);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].message.find("proxy was stopped at 1m40s"), std::string::npos) << w[0].message;
  // A restarted proxy has checked nothing yet.
  g.at(110s, g.proxy, ProcessStarted{});
  g.at(110s, g.proxy, UpstreamChanged{"app1,app2,app3"});
  const auto x = g.check("service_available", 300s);
  ASSERT_EQ(x.size(), 1u);
  EXPECT_NE(x[0].message.find("app1 has passed no health check"), std::string::npos) << x[0].message;
  g.at(115s, g.proxy, HealthChecked{g.app2, true});
  EXPECT_TRUE(g.check("service_available", 300s).empty());
}

TEST(ServiceAvailable, AConnectedClientWhoseLastRequestsFailedFails) {
  Hist h = serving_cluster();
  const auto f1 = h.at(255s, h.client1, ClientRequestFailed{"create_post", "timeout"});
  h.at(270s, h.client1, ClientRequestFailed{"posts_since", "timeout"});
  const auto f3 = h.at(285s, h.client1, ClientRequestFailed{"create_post", "timeout"});
  h.at(286s, h.client2, PostAckReceived{7});
  const auto v = h.check("service_available", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].nodes, (std::vector<NodeId>{h.client1}));
  EXPECT_TRUE(has_witness(v[0], f1));
  EXPECT_TRUE(has_witness(v[0], f3));
  EXPECT_NE(v[0].message.find("client1 (3 failed since 4m15s, the last create_post at 4m45s: timeout)"),
            std::string::npos)
      << v[0].message;
  // A shorter bound looks at the last 10 s only.
  EXPECT_TRUE(h.check("service_available", 300s, {{"bound", 10s}}).empty());
  // A client that is not connected at the end is not judged by this clause.
  h.at(290s, h.client1, ClientDisconnected{"server_closed"});
  EXPECT_TRUE(h.check("service_available", 300s).empty());
}

// Twenty clients all failing make one sentence: three detailed, the rest named.
TEST(ServiceAvailable, ManyFailingClientsAreOneReadableSentence) {
  Hist h = serving_cluster();
  std::vector<NodeId> more;
  for (int i = 3; i <= 5; ++i) more.push_back(h.add("client" + std::to_string(i), Role::client));
  for (NodeId c : more) h.at(8s, c, ProcessStarted{});
  for (NodeId c : more) h.at(9s, c, ClientConnected{h.app3, c.value, false});
  for (NodeId c : {h.client1, h.client2}) h.at(280s, c, ClientRequestFailed{"create_post", "timeout"});
  for (NodeId c : more) h.at(281s, c, ClientRequestFailed{"create_post", "timeout"});
  const auto v = h.check("service_available", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].nodes.size(), 5u);
  EXPECT_NE(v[0].message.find("client3 (1 failed since 4m41s, the last create_post at 4m41s: timeout) and 2 more "
                              "(client4, client5)."),
            std::string::npos)
      << v[0].message;
}

}  // namespace
}  // namespace fl::inv::testing
