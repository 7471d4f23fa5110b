// A client's resync after a long absence, racing with the live posts that its
// new websocket already carries (found by scenarios/hazards/jobs_worker_crash_stuck:
// a resync answer brought an author's old post after that author's new one).
#include <gtest/gtest.h>

#include "tests/nodes/edge_support.h"

namespace fl::test {
namespace {

Time at_s(int s) { return time_from_ns(ns(seconds(s))); }

struct AbsentClientRun {
  std::vector<std::string> out_of_order;  // clients that saw an author's posts out of order
  std::size_t resyncs_after = 0;          // client1's resyncs after it came back
  std::size_t resync_deliveries = 0;      // posts client1 got from those resyncs
  std::size_t missing = 0;                // posts client1 never got
};

// client1 is cut off from the proxy for 90 s while 24 others post every
// second; the replica answers reads 300 ms late (a slow link between the
// servers and the replica), so many live posts reach client1's new websocket
// while its resync for what it missed is still out.
AbsentClientRun absent_client(std::uint64_t seed) {
  TestCluster c({.app_servers = 3, .replicas = 1, .seed = seed,
                 .tweak = with_clients(25, seconds(1), minutes(4), sync_replication)});
  c.run_until(at_s(61));
  c.partition({"client1"}, {"proxy"});
  c.run_until(at_s(150));  // past client1's websocket ping at 120 s, which fails
  c.heal();
  sim::LinkConfig slow;
  slow.latency = DurationRange{milliseconds(300), milliseconds(300)};
  for (const char* app : {"app1", "app2", "app3"}) c.sim().set_link(c.id(app), c.id("db-replica1"), slow);
  c.run_until(at_s(300));
  AbsentClientRun r;
  const PostBook book(c);
  r.out_of_order = book.out_of_author_order(c);
  for (const auto& e : c.events<ClientResync>("client1"))
    if (e.at > at_s(120)) ++r.resyncs_after;
  const auto& via = book.via.at(c.id("client1"));
  for (const auto& v : via) r.resync_deliveries += v == "resync";
  r.missing = book.missing(c, "client1");
  return r;
}

TEST(EdgeResyncOrder, LivePostsArrivingDuringAResyncAreFiledAfterItsOlderPosts) {
  for (std::uint64_t seed : {1, 2, 3}) {
    const AbsentClientRun r = absent_client(seed);
    // The path was taken: client1 came back, resynchronised, and the resync
    // brought back what it had missed.
    EXPECT_GE(r.resyncs_after, 1u) << "seed " << seed;
    EXPECT_GT(r.resync_deliveries, 20u) << "seed " << seed;
    // Nothing missing (a sync replica), and no author's posts out of order.
    EXPECT_EQ(r.missing, 0u) << "seed " << seed;
    EXPECT_TRUE(r.out_of_order.empty()) << "seed " << seed << ": " << r.out_of_order.front();
  }
}

}  // namespace
}  // namespace fl::test
