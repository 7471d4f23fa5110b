// The network model: latency, partitions, one-way cuts, connect timeouts,
// refused connections, FIFO per connection, loss / duplication / reordering.
#include <gtest/gtest.h>

#include <set>

#include "sim/simulation.h"
#include "tests/sim/test_nodes.h"

namespace fl::sim {
namespace {
using namespace testing;

constexpr Duration kLat = milliseconds(5);

// A node that sends what the test tells it to on a timer tag, so that sends come
// from inside the node through Env::send (as node logic does).
struct Sender {
  Simulation sim;
  std::vector<Log> logs;
  std::vector<NodeId> ids;
  struct Order { std::uint32_t to; std::uint64_t seq; };
  std::vector<std::vector<Order>> orders;  // per node, by timer arg index

  explicit Sender(int n, std::uint64_t seed = 1, LinkConfig link = LinkConfig{{kLat, kLat}}) : sim(seed), logs(n) {
    sim.set_default_link(link);
    orders.resize(n);
    for (int i = 0; i < n; ++i) {
      Recorder::Hooks hooks;
      hooks.on_timer = [this, i](Env& env, TimerId, TimerTag tag) {
        if (tag.kind != 1) return;
        const Order& o = orders[i][tag.arg];
        env.send(NodeId{o.to}, heartbeat(o.seq));
      };
      ids.push_back(sim.add_node("n" + std::to_string(i), recorder(sim, logs[i], hooks)));
    }
  }
  void start_all() { for (NodeId id : ids) sim.start(id); }
  // Node `from` sends `seq` to `to` at virtual time `at` (via a zero timer).
  void send_at(Time at, int from, int to, std::uint64_t seq) {
    const std::uint64_t arg = orders[from].size();
    orders[from].push_back({static_cast<std::uint32_t>(to), seq});
    const NodeId f = ids[from];
    sim.at(at, [f, arg](Simulation& s) {
      ASSERT_TRUE(s.running(f));
      static_cast<Recorder*>(s.node(f))->arm(TimerTag{1, arg});
    });
  }
  std::vector<Input> received(int node) const { return logs[node].of(Input::Kind::message); }
  std::vector<Input> failed(int node) const { return logs[node].of(Input::Kind::send_failed); }
};

Time T(Duration d) { return kTimeZero + d; }

TEST(Network, MessageArrivesAfterExactlyTheLinkLatency) {
  Sender s(2);
  s.start_all();
  s.send_at(T(seconds(1)), 0, 1, 42);
  s.sim.run_until(T(seconds(2)));
  const auto got = s.received(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, 42u);
  EXPECT_EQ(got[0].peer, s.ids[0]);
  EXPECT_EQ(got[0].virtual_at, T(seconds(1) + kLat));
}

TEST(Network, PartitionCutsExactlyTheLinksBetweenGroups) {
  // Groups {0,1} and {2,3}; node 4 is named in no group and keeps every link.
  constexpr int kN = 5;
  Sender s(kN);
  s.start_all();
  s.sim.partition({{s.ids[0], s.ids[1]}, {s.ids[2], s.ids[3]}});
  const auto group = [](int i) { return i <= 1 ? 0 : i <= 3 ? 1 : -1; };
  std::uint64_t seq = 0;
  for (int from = 0; from < kN; ++from)
    for (int to = 0; to < kN; ++to)
      if (from != to) s.send_at(T(seconds(1)), from, to, ++seq);
  s.sim.run_until(T(seconds(10)));
  for (int from = 0; from < kN; ++from) {
    for (int to = 0; to < kN; ++to) {
      if (from == to) continue;
      const bool should_cut = group(from) >= 0 && group(to) >= 0 && group(from) != group(to);
      EXPECT_EQ(s.sim.reachable(s.ids[from], s.ids[to]), !should_cut) << from << "->" << to;
      bool arrived = false;
      for (const auto& in : s.received(to)) arrived = arrived || in.peer == s.ids[from];
      bool failed = false;
      for (const auto& in : s.failed(from)) failed = failed || in.peer == s.ids[to];
      EXPECT_EQ(arrived, !should_cut) << from << "->" << to;
      EXPECT_EQ(failed, should_cut) << from << "->" << to;
    }
  }
  EXPECT_EQ(s.sim.messages_cut(), 8u);  // 2 x 2 pairs, both directions
}

TEST(Network, OneWayCutFailsOneDirectionOnly) {
  Sender s(2);
  s.start_all();
  s.sim.cut_one_way(s.ids[0], s.ids[1]);
  EXPECT_FALSE(s.sim.reachable(s.ids[0], s.ids[1]));
  EXPECT_TRUE(s.sim.reachable(s.ids[1], s.ids[0]));
  s.send_at(T(seconds(1)), 0, 1, 1);
  s.send_at(T(seconds(1)), 1, 0, 2);
  s.sim.run_until(T(seconds(10)));
  EXPECT_TRUE(s.received(1).empty());
  ASSERT_EQ(s.received(0).size(), 1u);
  EXPECT_EQ(s.received(0)[0].value, 2u);
  ASSERT_EQ(s.failed(0).size(), 1u);
  EXPECT_TRUE(s.failed(1).empty());
}

TEST(Network, SendOverCutLinkFailsAfterConnectTimeout) {
  Sender s(2);
  s.start_all();
  s.sim.partition({{s.ids[0]}, {s.ids[1]}});
  s.send_at(T(seconds(1)), 0, 1, 7);
  s.sim.run_until(T(seconds(1) + kConnectTimeout - nanoseconds(1)));
  EXPECT_TRUE(s.failed(0).empty());  // not before the timeout
  s.sim.run_until(T(seconds(10)));
  const auto failed = s.failed(0);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].virtual_at, T(seconds(1) + kConnectTimeout));
  EXPECT_EQ(failed[0].value, 7u);  // the message comes back with the failure
  EXPECT_EQ(failed[0].peer, s.ids[1]);
}

TEST(Network, SendToCrashedNodeIsRefusedAfterOneRoundTrip) {
  Sender s(2);
  s.start_all();
  s.sim.crash(s.ids[1]);
  s.send_at(T(seconds(1)), 0, 1, 9);
  s.sim.run_until(T(seconds(10)));
  const auto failed = s.failed(0);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].virtual_at, T(seconds(1) + 2 * kLat));
  EXPECT_TRUE(s.received(1).empty());
}

TEST(Network, MessageInFlightToANodeThatCrashesIsDropped) {
  Sender s(2);
  s.start_all();
  s.send_at(T(seconds(1)), 0, 1, 1);
  s.sim.at(T(seconds(1) + kLat / 2), [&](Simulation& sim) { sim.crash(s.ids[1]); });
  s.sim.at(T(seconds(1) + kLat / 2 + nanoseconds(1)), [&](Simulation& sim) { sim.start(s.ids[1]); });
  s.sim.run_until(T(seconds(10)));
  EXPECT_TRUE(s.received(1).empty());  // not even to the restarted process
  EXPECT_EQ(s.logs[1].objects_built, 2);
}

TEST(Network, PartitionAfterSendFailsTheInFlightMessage) {
  Sender s(2);
  s.start_all();
  s.send_at(T(seconds(1)), 0, 1, 1);
  s.sim.at(T(seconds(1) + kLat / 2), [&](Simulation& sim) { sim.partition({{s.ids[0]}, {s.ids[1]}}); });
  s.sim.run_until(T(seconds(10)));
  EXPECT_TRUE(s.received(1).empty());
  ASSERT_EQ(s.failed(0).size(), 1u);
  EXPECT_EQ(s.failed(0)[0].virtual_at, T(seconds(1) + kConnectTimeout));
}

TEST(Network, HealRestoresEveryLink) {
  Sender s(3);
  s.start_all();
  s.sim.partition({{s.ids[0]}, {s.ids[1], s.ids[2]}});
  s.sim.cut_one_way(s.ids[1], s.ids[2]);
  s.sim.heal();
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) EXPECT_TRUE(s.sim.reachable(s.ids[a], s.ids[b]));
}

TEST(Network, FifoPerConnectionEvenWithLatencyRange) {
  // Latency drawn per message from [1ms, 50ms]: without the FIFO rule, later
  // messages would often overtake earlier ones.
  Sender s(2, 7, LinkConfig{{milliseconds(1), milliseconds(50)}});
  s.start_all();
  for (int i = 0; i < 200; ++i) s.send_at(T(seconds(1) + microseconds(100) * i), 0, 1, i);
  s.sim.run_until(T(seconds(10)));
  const auto got = s.received(1);
  ASSERT_EQ(got.size(), 200u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].value, i);
}

TEST(Network, ReorderingLinkDoesReorder) {
  Sender s(2, 7, LinkConfig{{milliseconds(1), milliseconds(2)}, 0.0, 0.0, 0.5});
  s.start_all();
  for (int i = 0; i < 200; ++i) s.send_at(T(seconds(1) + microseconds(100) * i), 0, 1, i);
  s.sim.run_until(T(seconds(10)));
  const auto got = s.received(1);
  ASSERT_EQ(got.size(), 200u);
  int inversions = 0;
  for (std::size_t i = 1; i < got.size(); ++i) inversions += got[i].value < got[i - 1].value;
  EXPECT_GT(inversions, 10);
  EXPECT_GT(s.sim.messages_reordered(), 60u);   // ~100 expected of 200 at rate 0.5
  EXPECT_LT(s.sim.messages_reordered(), 140u);
}

TEST(Network, LossAndDuplicationRatesRoughlyAsConfigured) {
  constexpr int kSends = 4000;
  Sender s(2, 11, LinkConfig{{kLat, kLat}, 0.25, 0.10, 0.0});
  s.start_all();
  for (int i = 0; i < kSends; ++i) s.send_at(T(seconds(1) + microseconds(10) * i), 0, 1, i);
  s.sim.run_until(T(seconds(100)));
  const double lost = static_cast<double>(s.sim.messages_lost()) / kSends;
  EXPECT_NEAR(lost, 0.25, 0.03);
  const auto got = s.received(1);
  // Delivered = sent - lost + duplicated, each duplicated among the survivors.
  EXPECT_EQ(got.size(), kSends - s.sim.messages_lost() + s.sim.messages_duplicated());
  const double dup = static_cast<double>(s.sim.messages_duplicated()) / (kSends - s.sim.messages_lost());
  EXPECT_NEAR(dup, 0.10, 0.03);
  std::set<std::uint64_t> distinct;
  for (const auto& in : got) distinct.insert(in.value);
  EXPECT_EQ(distinct.size(), kSends - s.sim.messages_lost());
  EXPECT_TRUE(s.failed(0).empty());  // a lossy link never reports failure
}

TEST(Network, SetLinkOverridesOnePairBothWays) {
  Sender s(3);
  s.start_all();
  s.sim.set_link(s.ids[0], s.ids[1], LinkConfig{{milliseconds(40), milliseconds(40)}});
  s.send_at(T(seconds(1)), 0, 1, 1);
  s.send_at(T(seconds(1)), 1, 0, 2);
  s.send_at(T(seconds(1)), 0, 2, 3);
  s.sim.run_until(T(seconds(2)));
  EXPECT_EQ(s.received(1).at(0).virtual_at, T(seconds(1) + milliseconds(40)));
  EXPECT_EQ(s.received(0).at(0).virtual_at, T(seconds(1) + milliseconds(40)));
  EXPECT_EQ(s.received(2).at(0).virtual_at, T(seconds(1) + kLat));
  s.sim.clear_link(s.ids[0], s.ids[1]);
  EXPECT_EQ(s.sim.link(s.ids[0], s.ids[1]).latency.hi, kLat);
}


// ---- the sparse link table (issue 12): state only for links that have any ----

TEST(SparseLinks, EveryPairAnswersAsTheFaultsSay) {
  // Partition {0,1} | {2,3}, node 4 in no group, a one-way cut 4 -> 5, an
  // override between 0 and 5: every ordered pair's answer, then each finer
  // undo, then heal (which keeps request timeouts).
  constexpr int kN = 6;
  Sender s(kN);
  const LinkConfig slow{{milliseconds(40), milliseconds(40)}};
  s.sim.partition({{s.ids[0], s.ids[1]}, {s.ids[2], s.ids[3]}});
  s.sim.cut_one_way(s.ids[4], s.ids[5]);
  s.sim.set_link(s.ids[0], s.ids[5], slow);
  s.sim.set_request_timeout(s.ids[1], s.ids[2], kLat * 3);
  const auto group = [](int i) { return i <= 1 ? 0 : i <= 3 ? 1 : -1; };
  const auto expect_all = [&](bool partitioned, bool one_way, bool overridden) {
    for (int a = 0; a < kN; ++a) {
      for (int b = 0; b < kN; ++b) {
        const bool cut = (partitioned && a != b && group(a) >= 0 && group(b) >= 0 && group(a) != group(b)) ||
                         (one_way && a == 4 && b == 5);
        EXPECT_EQ(s.sim.reachable(s.ids[a], s.ids[b]), !cut) << a << "->" << b;
        const bool slow_pair = overridden && ((a == 0 && b == 5) || (a == 5 && b == 0));
        EXPECT_EQ(s.sim.link(s.ids[a], s.ids[b]).latency.hi, slow_pair ? milliseconds(40) : kLat) << a << "->" << b;
      }
    }
  };
  expect_all(true, true, true);
  s.sim.heal_partition();
  expect_all(false, true, true);
  s.sim.heal_one_way(s.ids[4], s.ids[5]);
  expect_all(false, false, true);
  s.sim.clear_link(s.ids[0], s.ids[5]);
  expect_all(false, false, false);
  s.sim.partition({{s.ids[0], s.ids[1]}, {s.ids[2], s.ids[3]}});
  s.sim.cut_one_way(s.ids[4], s.ids[5]);
  s.sim.set_link(s.ids[0], s.ids[5], slow);
  s.sim.heal();
  expect_all(false, false, false);
  EXPECT_EQ(s.sim.request_timeout(s.ids[1], s.ids[2]), kLat * 3);
  EXPECT_EQ(s.sim.request_timeout(s.ids[2], s.ids[1]), Duration{0});
}

TEST(SparseLinks, TwentyThousandNodesNeedNoSquaredTable) {
  // A nodes-squared table of 20,000 nodes would take gigabytes: the sparse one
  // answers any pair, and faults between far-apart ids work as on a small one.
  constexpr int kN = 20'000;
  Simulation sim(3);
  sim.set_default_link(LinkConfig{{kLat, kLat}});
  for (int i = 0; i < kN; ++i) sim.add_node("n" + std::to_string(i), [] { return std::unique_ptr<Node>(); });
  EXPECT_TRUE(sim.reachable(NodeId{0}, NodeId{kN - 1}));
  sim.partition({{NodeId{1}}, {NodeId{kN - 2}}});
  sim.cut_one_way(NodeId{kN - 1}, NodeId{0});
  EXPECT_FALSE(sim.reachable(NodeId{1}, NodeId{kN - 2}));
  EXPECT_FALSE(sim.reachable(NodeId{kN - 2}, NodeId{1}));
  EXPECT_TRUE(sim.reachable(NodeId{1}, NodeId{kN - 3}));
  EXPECT_FALSE(sim.reachable(NodeId{kN - 1}, NodeId{0}));
  EXPECT_TRUE(sim.reachable(NodeId{0}, NodeId{kN - 1}));
  sim.heal();
  EXPECT_TRUE(sim.reachable(NodeId{kN - 1}, NodeId{0}));
}

TEST(SparseLinks, FifoHoldsOnManyConnectionsWhileTheFloorTableCompacts) {
  // 12 nodes, every ordered pair (132 connections, past the table's first
  // size) sends bursts with drawn latencies: the per-connection floors are
  // dropped once in the past and the table compacts, yet no message ever
  // overtakes an earlier one on its connection.
  constexpr int kN = 12;
  Sender s(kN, 9, LinkConfig{{milliseconds(1), milliseconds(50)}});
  s.start_all();
  std::uint64_t seq = 0;
  for (int round = 0; round < 6; ++round) {
    int i = 0;
    for (int a = 0; a < kN; ++a)
      for (int b = 0; b < kN; ++b)
        if (a != b) s.send_at(T(seconds(1 + round * 5) + microseconds(200) * i++), a, b, ++seq);
  }
  s.sim.run_until(T(seconds(60)));
  std::size_t total = 0;
  for (int b = 0; b < kN; ++b) {
    std::vector<std::uint64_t> last(kN, 0);
    for (const auto& in : s.received(b)) {
      ++total;
      EXPECT_GT(in.value, last[in.peer.value]) << "overtaken on " << in.peer.value << "->" << b;
      last[in.peer.value] = in.value;
    }
  }
  EXPECT_EQ(total, seq);
}

// ---- the transport's request timeout (set_request_timeout) ----
// A frozen receiver (SIGSTOP, a long GC pause) still has its kernel accepting
// the connection: nothing fails at connect time, but no answer comes. Where a
// request timeout is set, the sender learns of it after exactly that timeout.

constexpr Duration kRequest = seconds(10);

TEST(RequestTimeout, SendToAPausedNodeFailsAfterExactlyTheTimeoutAndIsDeliveredOnResume) {
  Sender s(2);
  s.sim.set_request_timeout(s.ids[0], s.ids[1], kRequest);
  s.start_all();
  s.sim.at(T(milliseconds(500)), [&](Simulation& sim) { sim.pause(s.ids[1], seconds(60)); });
  s.send_at(T(seconds(1)), 0, 1, 5);
  s.sim.run_until(T(seconds(1) + kRequest - nanoseconds(1)));
  EXPECT_TRUE(s.failed(0).empty());  // not before the timeout
  s.sim.run_until(T(seconds(1) + kRequest));
  ASSERT_EQ(s.failed(0).size(), 1u);
  EXPECT_EQ(s.failed(0)[0].virtual_at, T(seconds(1) + kRequest));
  EXPECT_EQ(s.failed(0)[0].value, 5u);
  EXPECT_EQ(s.failed(0)[0].peer, s.ids[1]);
  EXPECT_TRUE(s.received(1).empty());
  s.sim.run_until(T(seconds(120)));
  // The kernel kept it: the resumed process reads it, as TCP would deliver it.
  ASSERT_EQ(s.received(1).size(), 1u);
  EXPECT_EQ(s.received(1)[0].virtual_at, T(milliseconds(60500)));
  EXPECT_EQ(s.received(1)[0].value, 5u);
  EXPECT_EQ(s.failed(0).size(), 1u);  // one failure per send
  EXPECT_EQ(s.sim.sends_timed_out(), 1u);
}

TEST(RequestTimeout, ANodePausedLessThanTheTimeoutAnswersInTime) {
  Sender s(2);
  s.sim.set_request_timeout(s.ids[0], s.ids[1], kRequest);
  s.start_all();
  s.sim.at(T(milliseconds(500)), [&](Simulation& sim) { sim.pause(s.ids[1], seconds(5)); });
  s.send_at(T(seconds(1)), 0, 1, 5);
  s.sim.run_until(T(seconds(60)));
  EXPECT_TRUE(s.failed(0).empty());
  ASSERT_EQ(s.received(1).size(), 1u);
  EXPECT_EQ(s.received(1)[0].virtual_at, T(milliseconds(5500)));
}

TEST(RequestTimeout, WithoutATimeoutAPausedReceiverNeverFailsTheSend) {
  Sender s(2);
  s.sim.set_request_timeout(s.ids[0], s.ids[1], kRequest);
  s.start_all();
  s.sim.at(T(milliseconds(500)), [&](Simulation& sim) { sim.pause(s.ids[0], seconds(60)); });
  s.send_at(T(seconds(1)), 1, 0, 6);  // the other direction has none set
  s.sim.run_until(T(seconds(59)));
  EXPECT_TRUE(s.failed(1).empty());
  EXPECT_EQ(s.sim.request_timeout(s.ids[1], s.ids[0]), Duration{0});
  EXPECT_EQ(s.sim.request_timeout(s.ids[0], s.ids[1]), kRequest);
}

TEST(RequestTimeout, ABlackHoledLinkFailsEverySendAfterTheTimeout) {
  Sender s(3);
  s.sim.set_request_timeout(s.ids[0], s.ids[1], kRequest);
  s.sim.set_request_timeout(s.ids[0], s.ids[2], kRequest);
  s.start_all();
  LinkConfig hole{{kLat, kLat}};
  hole.loss = 1.0;
  s.sim.set_link(s.ids[0], s.ids[1], hole);
  for (int i = 0; i < 5; ++i) s.send_at(T(seconds(1) + seconds(2) * i), 0, 1, 100 + i);
  s.send_at(T(seconds(1)), 0, 2, 200);  // another link: unaffected
  s.sim.run_until(T(seconds(60)));
  EXPECT_TRUE(s.received(1).empty());
  const auto failed = s.failed(0);
  ASSERT_EQ(failed.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(failed[i].value, 100u + i);
    EXPECT_EQ(failed[i].peer, s.ids[1]);
    EXPECT_EQ(failed[i].virtual_at, T(seconds(1) + seconds(2) * i + kRequest));
  }
  ASSERT_EQ(s.received(2).size(), 1u);
  EXPECT_EQ(s.sim.messages_lost(), 5u);
  EXPECT_EQ(s.sim.sends_timed_out(), 5u);
}

TEST(RequestTimeout, ALossyLinkFailsExactlyTheLostSends) {
  constexpr int kSends = 1000;
  Sender s(2, 11, LinkConfig{{kLat, kLat}, 0.25, 0.0, 0.0});
  s.sim.set_request_timeout(s.ids[0], s.ids[1], kRequest);
  s.start_all();
  for (int i = 0; i < kSends; ++i) s.send_at(T(seconds(1) + microseconds(10) * i), 0, 1, i);
  s.sim.run_until(T(seconds(100)));
  std::set<std::uint64_t> got, failed;
  for (const auto& in : s.received(1)) got.insert(in.value);
  for (const auto& in : s.failed(0)) failed.insert(in.value);
  EXPECT_EQ(failed.size(), s.sim.messages_lost());
  EXPECT_GT(failed.size(), 150u);
  EXPECT_EQ(got.size() + failed.size(), static_cast<std::size_t>(kSends));
  for (std::uint64_t v : failed) EXPECT_EQ(got.count(v), 0u) << v;
}

TEST(RequestTimeout, ALinkSlowerThanTheTimeoutFailsTheSendYetDelivers) {
  Sender s(2);
  s.sim.set_request_timeout(s.ids[0], s.ids[1], kRequest);
  s.start_all();
  s.sim.set_link(s.ids[0], s.ids[1], LinkConfig{{seconds(20), seconds(20)}});
  s.send_at(T(seconds(1)), 0, 1, 8);
  s.sim.run_until(T(seconds(60)));
  ASSERT_EQ(s.failed(0).size(), 1u);
  EXPECT_EQ(s.failed(0)[0].virtual_at, T(seconds(11)));
  ASSERT_EQ(s.received(1).size(), 1u);
  EXPECT_EQ(s.received(1)[0].virtual_at, T(seconds(21)));
}

TEST(RequestTimeout, ATimedOutMessageCutLaterFailsOnlyOnce) {
  Sender s(2);
  s.sim.set_request_timeout(s.ids[0], s.ids[1], kRequest);
  s.start_all();
  s.sim.at(T(milliseconds(500)), [&](Simulation& sim) { sim.pause(s.ids[1], seconds(60)); });
  s.send_at(T(seconds(1)), 0, 1, 5);
  s.sim.at(T(seconds(20)), [&](Simulation& sim) { sim.partition({{s.ids[0]}, {s.ids[1]}}); });
  s.sim.run_until(T(seconds(120)));
  ASSERT_EQ(s.failed(0).size(), 1u);
  EXPECT_EQ(s.failed(0)[0].virtual_at, T(seconds(11)));
}

TEST(RequestTimeout, SameSeedSameFailures) {
  auto run = [] {
    Sender s(3, 5, LinkConfig{{milliseconds(1), milliseconds(30)}, 0.3, 0.1, 0.1});
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b)
        if (a != b) s.sim.set_request_timeout(s.ids[a], s.ids[b], kRequest);
    s.start_all();
    s.sim.at(T(seconds(2)), [&](Simulation& sim) { sim.pause(s.ids[2], seconds(30)); });
    for (int i = 0; i < 300; ++i) s.send_at(T(seconds(1) + milliseconds(37) * i), i % 3, (i + 1) % 3, i);
    s.sim.run_until(T(seconds(100)));
    std::vector<std::pair<std::int64_t, std::uint64_t>> out;
    for (int n = 0; n < 3; ++n)
      for (const auto& in : s.failed(n)) out.emplace_back(ns(in.virtual_at), in.value);
    return std::make_pair(out, s.sim.trace_hash());
  };
  const auto a = run();
  EXPECT_FALSE(a.first.empty());
  EXPECT_EQ(a, run());
}

}  // namespace
}  // namespace fl::sim
