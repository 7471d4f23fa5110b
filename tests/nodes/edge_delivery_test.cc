// Posts and websockets end to end: clients through the proxy to the servers,
// the primary, the broadcast, and back.
#include <gtest/gtest.h>

#include "tests/nodes/edge_support.h"

namespace fl::test {
namespace {

TEST(EdgeDelivery, WithNoFaultsEveryAckedPostReachesEveryMemberOnceInOrder) {
  // One replica under sync replication: a resync read sees every acknowledged
  // post (with async replicas a read can miss a post committed within the lag:
  // the real race that edge_lag_test shows at 20 s).
  TestCluster c({.app_servers = 3, .replicas = 1, .tweak = with_clients(12, seconds(5), minutes(3), sync_replication)});
  c.run_for(minutes(5));
  const PostBook book(c);
  ASSERT_EQ(book.members.size(), 12u);
  ASSERT_GT(book.acked.size(), 200u) << c.dump();
  EXPECT_TRUE(book.not_exactly_once(c).empty()) << book.not_exactly_once(c).front();
  EXPECT_TRUE(book.out_of_author_order(c).empty());
  // Every acknowledged post is in the primary, and reached its author.
  for (const auto& [post, channel] : book.acked) EXPECT_TRUE(book.committed.count(post));
  EXPECT_EQ(c.count<PostAckReceived>(), book.acked.size());
  // Once every server serves (start-up refusals aside), no websocket is lost.
  for (const auto& d : c.events<ClientDisconnected>()) EXPECT_LT(d.at, time_from_ns(ns(seconds(30))));
  // Clients were spread over the servers by the proxy (how evenly depends on
  // which servers passed their first health check first).
  std::set<NodeId> servers;
  for (const auto& s : c.events<ClientConnected>()) servers.insert(s.event.server);
  EXPECT_GE(servers.size(), 2u);
}

}  // namespace
}  // namespace fl::test
