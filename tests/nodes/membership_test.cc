// Channel membership changes end to end (issue 14; docs/model.md, Incidents:
// channel membership): an admin adds users to a channel through app1; each
// added user must get the channel's posts committed after the membership, with
// the fixed code, and misses them with each pre-fix bug on its own trigger.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/nodes/edge_support.h"

namespace fl::test {
namespace {

constexpr std::uint32_t kClients = 10;
constexpr std::uint32_t kChannel = 1;

// client1..client3 in channels 0 and 1 (they post in both); the others only
// in channel 0, and client4..client10 are added to channel 1 at 1 min.
std::function<void(ClusterSpec&)> members(std::function<void(ClusterSpec&)> more) {
  return with_clients(kClients, seconds(2), minutes(3), [more](ClusterSpec& spec) {
    spec.clients.channel_masks.assign(kClients, 0b01);
    for (std::uint32_t i = 0; i < 3; ++i) spec.clients.channel_masks[i] = 0b11;
    if (more) more(spec);
  });
}

struct Outcome {
  std::size_t added = 0;            // MembershipChanged events
  std::size_t learned = 0;          // ClientAddedToChannel events
  std::size_t owed = 0;             // (client, post) pairs owed after the membership
  std::size_t missing = 0;          // of those, never delivered
  std::set<NodeId> servers_of_added;  // where the added clients' websockets were
};

Outcome add_and_run(TestCluster& c) {
  c.run_for(minutes(1));
  for (std::uint32_t i = 4; i <= kClients; ++i)
    c.control("app1", ControlOp{ControlOp::Kind::set_spec, "channel.add",
                                "client" + std::to_string(i) + ":" + std::to_string(kChannel)});
  c.run_for(minutes(4));
  Outcome o;
  // Posts of the channel in commit order, and where each membership falls.
  std::map<NodeId, std::size_t> from;  // client -> number of channel posts committed before its membership
  std::vector<std::uint64_t> posts;
  std::map<NodeId, std::set<std::uint64_t>> got;
  std::set<std::uint64_t> acked;
  std::map<NodeId, NodeId> server;
  for (const HistoryEvent& e : c.history()) {
    if (const auto* m = e.get<MembershipChanged>()) {
      ++o.added;
      from.emplace(m->client, posts.size());
    } else if (const auto* p = e.get<PostCommitted>(); p && p->channel == kChannel) {
      posts.push_back(p->post);
    } else if (const auto* a = e.get<PostAcked>()) {
      acked.insert(a->post);
    } else if (const auto* d = e.get<PostDelivered>()) {
      got[e.node].insert(d->post);
    } else if (e.is<ClientAddedToChannel>()) {
      ++o.learned;
    } else if (const auto* cc = e.get<ClientConnected>()) {
      server[e.node] = cc->server;
    }
  }
  for (const auto& [client, first] : from) {
    o.servers_of_added.insert(server[client]);
    for (std::size_t i = first; i < posts.size(); ++i) {
      if (!acked.count(posts[i])) continue;
      ++o.owed;
      if (!got[client].count(posts[i])) ++o.missing;
    }
  }
  return o;
}

TEST(Membership, AddedUsersGetTheChannelsPostsFromThenOn) {
  TestCluster c({.app_servers = 2, .replicas = 1, .tweak = members(sync_replication)});
  const Outcome o = add_and_run(c);
  EXPECT_EQ(o.added, kClients - 3);
  EXPECT_EQ(o.learned, kClients - 3) << "each added user got user_added";
  EXPECT_EQ(o.servers_of_added.size(), 2u) << "added users on both servers";
  EXPECT_GT(o.owed, 100u);
  EXPECT_EQ(o.missing, 0u) << c.dump();
  EXPECT_TRUE(c.violated({"message_delivery"}).empty()) << "the invariant agrees";
}

TEST(Membership, FixedCodeHoldsUnderALaggingReplica) {
  // Reloads read the primary: the lag only slows the added user's load.
  TestCluster c({.app_servers = 2, .replicas = 1, .tweak = members([](ClusterSpec& spec) {
                   spec.database.replication_lag = DurationRange{seconds(2), seconds(3)};
                 })});
  const Outcome o = add_and_run(c);
  EXPECT_EQ(o.learned, kClients - 3);
  EXPECT_EQ(o.missing, 0u);
}

TEST(Membership, PlantedMm55485ReloadsFromTheLaggingReplica) {
  TestCluster c({.app_servers = 2, .replicas = 1, .tweak = members([](ClusterSpec& spec) {
                   spec.database.replication_lag = DurationRange{seconds(2), seconds(3)};
                   spec.bugs.set(Bug::mm_55485);
                 })});
  const Outcome o = add_and_run(c);
  EXPECT_EQ(o.added, kClients - 3);
  EXPECT_LT(o.learned, kClients - 3) << "user_added filtered out by caches reloaded from the replica";
  EXPECT_GT(o.missing, 0u);
}

TEST(Membership, PlantedMm58355LeavesOtherServersCachesStale) {
  TestCluster c({.app_servers = 2, .replicas = 1, .tweak = members([](ClusterSpec& spec) {
                   sync_replication(spec);
                   spec.bugs.set(Bug::mm_58355);
                 })});
  const Outcome o = add_and_run(c);
  EXPECT_EQ(o.learned, kClients - 3) << "the event still reaches each user directly";
  ASSERT_EQ(o.servers_of_added.size(), 2u);
  EXPECT_GT(o.missing, 0u) << "users on app2 miss the channel's posts";
  EXPECT_EQ(c.violated({"message_delivery"}), std::vector<std::string>{"message_delivery"}) << "the invariant agrees";
}

TEST(Membership, PlantedMm59911HoldsOnAnOrderedLink) {
  // The race needs the event to overtake the invalidation; on a FIFO link
  // without faults it cannot (the scenario reorders the link).
  TestCluster c({.app_servers = 2, .replicas = 1, .tweak = members([](ClusterSpec& spec) {
                   sync_replication(spec);
                   spec.bugs.set(Bug::mm_59911);
                 })});
  const Outcome o = add_and_run(c);
  EXPECT_EQ(o.learned, kClients - 3);
  EXPECT_EQ(o.missing, 0u);
}

}  // namespace
}  // namespace fl::test
