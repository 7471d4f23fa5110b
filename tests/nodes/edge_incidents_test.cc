// Issue 14, the incidents modelled in the nodes, each with the planted bug on
// and off: an empty cluster name (mattermost/mattermost#17762), reliable
// websockets across servers (MM-61904) and revoking every session (MM-68543).
#include <gtest/gtest.h>

#include <memory>

#include "tests/nodes/edge_support.h"

namespace fl::test {
namespace {

Time at_s(int s) { return time_from_ns(ns(seconds(s))); }

std::function<void(ClusterSpec&)> empty_cluster_name(bool bug) {
  return with_clients(9, seconds(5), minutes(3), [bug](ClusterSpec& spec) {
    sync_replication(spec);
    for (ServerSpec& s : spec.servers) s.cluster_name = "";
    if (bug) spec.bugs.set(Bug::mm_17762);
  });
}

TEST(Incident17762, AnEmptyClusterNameGetsTheDefaultAndTheServersTalk) {
  TestCluster c({.app_servers = 3, .replicas = 1, .tweak = empty_cluster_name(false)});
  c.run_until(at_s(240));
  EXPECT_EQ(c.count<DiscoveryRowRejected>(), 0u);
  EXPECT_GE(c.count<DiscoveryRowWritten>("app1"), 1u);
  EXPECT_EQ(c.leaders(), names({"app1"}));
  EXPECT_TRUE(PostBook(c).not_exactly_once(c).empty());
}

TEST(Incident17762, PlantedBugLeavesEachServerAloneAndPostsStayOnTheirServer) {
  TestCluster c({.app_servers = 3, .replicas = 1, .tweak = empty_cluster_name(true)});
  c.run_until(at_s(240));
  for (const char* s : {"app1", "app2", "app3"}) {
    EXPECT_GE(c.count<DiscoveryRowRejected>(s), 1u) << s;
    EXPECT_EQ(c.count<DiscoveryRowWritten>(s), 0u) << s;
    EXPECT_EQ(c.count<PeerStatus>(s), 0u) << s << " heard of a peer";
  }
  EXPECT_EQ(c.leaders(), names({"app1", "app2", "app3"}));  // each leads alone
  EXPECT_GT(PostBook(c).missing_total(c), 0u);               // realtime events stay on their server
}

// 30 clients on 10.6.0 servers (which ask the others for a reconnect's queues);
// at 60 s the proxy loses app1 for 40 s while app1 lives on.
std::unique_ptr<TestCluster> moved_off_app1(bool bug) {
  auto made = std::make_unique<TestCluster>(TestClusterOptions{.app_servers = 3,
                 .replicas = 1,
                 .version = Version{10, 6, 0},
                 .tweak = with_clients(30, seconds(3), minutes(3), [bug](ClusterSpec& spec) {
                   sync_replication(spec);
                   if (bug) spec.bugs.set(Bug::mm_61904);
                 })});
  TestCluster& c = *made;
  c.run_until(at_s(60));
  c.partition({"proxy"}, {"app1"});
  c.run_until(at_s(100));
  c.heal();
  c.run_until(at_s(300));
  return made;
}

TEST(Incident61904, AReconnectToAnotherServerTakesTheQueueAndResumes) {
  auto made = moved_off_app1(false);
  TestCluster& c = *made;
  const auto moved = c.events<WsQueueTransferred>();
  ASSERT_FALSE(moved.empty());
  for (const auto& m : moved) {
    EXPECT_EQ(m.event.from, c.id("app1"));
    EXPECT_NE(m.node, c.id("app1"));
    // The client resumed its own connection there: no new id, no resync.
    bool resumed = false;
    for (const auto& e : c.events<ClientConnected>(c.name(m.event.client)))
      if (e.node == m.event.client && e.event.server == m.node && e.event.resumed && e.event.conn == m.event.conn)
        resumed = true;
    EXPECT_TRUE(resumed) << c.name(m.event.client);
    for (const auto& r : c.events<ClientResync>(c.name(m.event.client))) EXPECT_LT(r.at, at_s(60));
  }
  const PostBook book(c);
  EXPECT_TRUE(book.not_exactly_once(c).empty()) << book.not_exactly_once(c).front();
  EXPECT_TRUE(book.out_of_author_order(c).empty());
}

TEST(Incident61904, PlantedBugStartsAfreshAndTheClientsResync) {
  auto made = moved_off_app1(true);
  TestCluster& c = *made;
  EXPECT_EQ(c.count<WsQueueTransferred>(), 0u);
  std::size_t resynced = 0;
  for (const auto& r : c.events<ClientResync>()) resynced += r.at > at_s(60) ? 1 : 0;
  EXPECT_GT(resynced, 0u);
}

// 20 clients posting about once a minute; at 2m every session is revoked on app1.
std::unique_ptr<TestCluster> revoke_all(bool bug) {
  auto made = std::make_unique<TestCluster>(TestClusterOptions{
      .app_servers = 3, .replicas = 1, .tweak = with_clients(20, seconds(60), minutes(5), [bug](ClusterSpec& spec) {
        sync_replication(spec);
        if (bug) spec.bugs.set(Bug::mm_68543);
      })});
  TestCluster& c = *made;
  c.run_until(at_s(120));
  c.control("app1", ControlOp{ControlOp::Kind::set_spec, "session.revoke_sessions", "1 all"});
  c.run_until(at_s(300));
  return made;
}

TEST(Incident68543, RevokingEverySessionClosesEveryWebsocketEverywhere) {
  auto made = revoke_all(false);
  TestCluster& c = *made;
  ASSERT_EQ(c.count<SessionRevoked>("app1"), 1u);
  std::uint64_t closed = 0;
  for (const char* s : {"app1", "app2", "app3"}) {
    ASSERT_EQ(c.count<SessionRevocationApplied>(s), 1u) << s;
    closed += c.events<SessionRevocationApplied>(s).front().event.closed;
  }
  EXPECT_EQ(closed, 20u);  // every client's websocket, wherever it was
  EXPECT_EQ(c.count<ClientLoggedOut>(), 20u);
  EXPECT_EQ(c.count<ClientLoggedIn>(), 20u);  // and each user logged in again
  EXPECT_TRUE(c.violated({"session_revocation", "message_delivery"}).empty());
}

TEST(Incident68543, PlantedBugLeavesTheWebsocketsServingTheRevokedSessions) {
  auto made = revoke_all(true);
  TestCluster& c = *made;
  for (const char* s : {"app1", "app2", "app3"}) {
    ASSERT_EQ(c.count<SessionRevocationApplied>(s), 1u) << s;
    EXPECT_EQ(c.events<SessionRevocationApplied>(s).front().event.closed, 0u) << s;
  }
  EXPECT_EQ(c.violated({"session_revocation"}), std::vector<std::string>{"session_revocation"});
}

TEST(Incident68543, RevokingOneUserClosesThatUsersWebsocketEvenWithTheBug) {
  // The per-user path always invalidated the connections (PLT-4242).
  TestCluster c({.app_servers = 3, .replicas = 1, .tweak = with_clients(6, seconds(20), minutes(5), [](ClusterSpec& spec) {
                                                        sync_replication(spec);
                                                        spec.bugs.set(Bug::mm_68543);
                                                      })});
  c.run_until(at_s(120));
  c.control("app2", ControlOp{ControlOp::Kind::set_spec, "session.revoke_sessions",
                              "1 " + std::to_string(c.id("client3").value)});
  c.run_until(at_s(240));
  EXPECT_EQ(c.count<ClientLoggedOut>(), 1u);
  EXPECT_EQ(c.count<ClientLoggedOut>("client3"), 1u);
  EXPECT_TRUE(c.violated({"session_revocation", "message_delivery"}).empty());
}

}  // namespace
}  // namespace fl::test
