// Determinism: the same seed gives the same run (trace hash), different seeds
// differ, and ties are broken by insertion order, never by an address.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>

#include "sim/simulation.h"
#include "sim/trace_hash.h"
#include "tests/sim/test_nodes.h"

namespace fl::sim {
namespace {
using namespace testing;

Time T(Duration d) { return kTimeZero + d; }

// A chatty node: on each timer it sends to a random peer and re-arms a random
// delay, emitting a Probe for both; draws come from its Env stream.
class Chatty final : public Node {
 public:
  explicit Chatty(std::uint32_t n) : n_(n) {}
  void on_start(Env& env) override { env.after(env.rng().duration(milliseconds(1), seconds(1)), TimerTag{}); }
  void on_message(Env& env, NodeId from, const Message& m) override {
    env.emit(Probe{from.value, static_cast<std::int64_t>(m.get<Heartbeat>()->seq)});
  }
  void on_send_failed(Env& env, NodeId to, const Message&) override { env.emit(Probe{1000 + to.value, -1}); }
  void on_timer(Env& env, TimerId, TimerTag) override {
    const NodeId to{static_cast<std::uint32_t>(env.rng().below(n_))};
    env.send(to, heartbeat(++seq_));
    env.after(env.rng().duration(milliseconds(1), seconds(1)), TimerTag{});
  }

 private:
  std::uint32_t n_;
  std::uint64_t seq_ = 0;
};

constexpr std::uint32_t kN = 6;

std::uint64_t chatty_run(std::uint64_t seed, std::vector<HistoryEvent>* history = nullptr) {
  Simulation sim(seed);
  sim.keep_history(history != nullptr);
  sim.set_default_link(LinkConfig{{milliseconds(1), milliseconds(30)}, 0.05, 0.05, 0.05});
  for (std::uint32_t i = 0; i < kN; ++i) sim.add_node("c" + std::to_string(i), [] { return std::make_unique<Chatty>(kN); });
  for (std::uint32_t i = 0; i < kN; ++i) sim.start(NodeId{i});
  sim.at(T(seconds(20)), [](Simulation& s) { s.partition({{NodeId{0}, NodeId{1}}, {NodeId{2}}}); });
  sim.at(T(seconds(30)), [](Simulation& s) { s.crash(NodeId{3}); });
  sim.at(T(seconds(35)), [](Simulation& s) { s.start(NodeId{3}); });
  sim.at(T(seconds(40)), [](Simulation& s) { s.heal(); });
  sim.run_until(T(minutes(1)));
  if (history) *history = sim.history();
  return sim.trace_hash();
}

TEST(Determinism, SameSeedSameTraceHash) {
  std::vector<HistoryEvent> h1, h2;
  const auto a = chatty_run(42, &h1);
  const auto b = chatty_run(42, &h2);
  EXPECT_EQ(a, b);
  ASSERT_EQ(h1.size(), h2.size());
  EXPECT_GT(h1.size(), 200u);  // the run did something
  for (std::size_t i = 0; i < h1.size(); ++i) {
    EXPECT_EQ(h1[i].at, h2[i].at);
    EXPECT_EQ(h1[i].node, h2[i].node);
  }
  // The hash covers the history, whether kept or not.
  EXPECT_EQ(chatty_run(42), a);
  EXPECT_EQ(trace_hash_of(h1), a);
}

TEST(Determinism, DifferentSeedsDiffer) {
  const auto a = chatty_run(1), b = chatty_run(2), c = chatty_run(3);
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
}

TEST(Determinism, TraceHashSeesEveryField) {
  std::vector<HistoryEvent> h;
  chatty_run(7, &h);
  const auto base = trace_hash_of(h);
  auto changed = h;
  changed[h.size() / 2].local += nanoseconds(1);
  EXPECT_NE(trace_hash_of(changed), base);
  changed = h;
  std::swap(changed[10], changed[11]);
  EXPECT_NE(trace_hash_of(changed), base);
  changed = h;
  for (auto& e : changed) {
    if (auto* p = std::get_if<Probe>(&e.body)) {
      p->value += 1;
      break;
    }
  }
  EXPECT_NE(trace_hash_of(changed), base);
}

TEST(Determinism, StringsHashByContentNotByLength) {
  TraceHasher a, b;
  a.add_string("ab");
  b.add_string("ba");
  EXPECT_NE(a.value(), b.value());
  TraceHasher c, d;  // the length is part of the encoding: "a"+"bc" != "ab"+"c"
  c.add_string("a");
  c.add_string("bc");
  d.add_string("ab");
  d.add_string("c");
  EXPECT_NE(c.value(), d.value());
}

// Same-time actions run in the order they were scheduled, however the objects
// they capture happen to be laid out in memory.
TEST(Determinism, SameTimeEventsFireInInsertionOrderRegardlessOfAllocation) {
  for (int variant = 0; variant < 2; ++variant) {
    Simulation sim(1);
    std::vector<int> order;
    // Allocate the captured objects in opposite orders in the two variants, so
    // their addresses are ordered differently relative to insertion order.
    std::vector<std::unique_ptr<int>> boxes(50);
    for (int i = 0; i < 50; ++i) {
      const int slot = variant == 0 ? i : 49 - i;
      boxes[slot] = std::make_unique<int>(slot);
    }
    for (int i = 0; i < 50; ++i) {
      int* box = boxes[i].get();
      sim.at(T(seconds(1)), [&order, box](Simulation&) { order.push_back(*box); });
    }
    sim.run_until(T(seconds(2)));
    std::vector<int> expected(50);
    std::iota(expected.begin(), expected.end(), 0);
    EXPECT_EQ(order, expected) << "variant " << variant;
  }
}

// Any schedule of actions runs in (time, insertion) order: a stable sort by time.
RC_GTEST_PROP(DeterminismProp, ActionsRunStablySortedByTime, ()) {
  const auto times = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 20));
  Simulation sim(1);
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < times.size(); ++i) {
    sim.at(T(milliseconds(times[i])), [&order, i](Simulation&) { order.push_back(i); });
  }
  sim.run_until(T(seconds(1)));
  std::vector<std::size_t> expected(times.size());
  std::iota(expected.begin(), expected.end(), 0);
  std::stable_sort(expected.begin(), expected.end(), [&](std::size_t a, std::size_t b) { return times[a] < times[b]; });
  RC_ASSERT(order == expected);
}

// Actions scheduled while running, at the current instant, run after the ones
// already scheduled for that instant (they were inserted later).
TEST(Determinism, ActionScheduledForNowRunsAfterEarlierOnes) {
  Simulation sim(1);
  std::vector<int> order;
  sim.at(T(seconds(1)), [&](Simulation& s) {
    order.push_back(1);
    s.at(s.now(), [&](Simulation&) { order.push_back(3); });
  });
  sim.at(T(seconds(1)), [&](Simulation&) { order.push_back(2); });
  sim.run_until(T(seconds(1)));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(sim.now(), T(seconds(1)));
}

TEST(Determinism, StopRunStopsAtOnce) {
  Simulation sim(1);
  int ran = 0;
  sim.at(T(seconds(1)), [&](Simulation& s) { ++ran; s.stop_run(); });
  sim.at(T(seconds(1)), [&](Simulation&) { ++ran; });
  sim.run_until(T(seconds(5)));
  EXPECT_EQ(ran, 1);
  EXPECT_TRUE(sim.stopped());
  EXPECT_EQ(sim.now(), T(seconds(1)));
}

}  // namespace
}  // namespace fl::sim
