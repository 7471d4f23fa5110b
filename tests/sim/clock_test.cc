// Node clocks: offset, drift and steps; timers run on the monotonic clock.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "sim/node_clock.h"
#include "sim/simulation.h"
#include "tests/sim/test_nodes.h"

namespace fl::sim {
namespace {
using namespace testing;

Time T(Duration d) { return kTimeZero + d; }

// One node that arms a timer of `length` (tag arg = index) whenever told.
struct OneNode {
  Simulation sim{1};
  Log log;
  NodeId id;
  OneNode() { id = sim.add_node("n", recorder(sim, log)); }
  Recorder& node() { return *static_cast<Recorder*>(sim.node(id)); }
  // Arms a timer of `length` (on the node's monotonic clock) at virtual time `at`.
  void arm_at(Time at, Duration length, std::uint64_t arg) {
    sim.at(at, [this, length, arg](Simulation&) { node().env()->after(length, TimerTag{2, arg}); });
  }
  std::vector<Input> fired() const { return log.of(Input::Kind::timer); }
};

TEST(Clock, DriftPlus1000PpmFires15sTimerEarlyInVirtualTime) {
  OneNode n;
  n.sim.set_clock(n.id, Duration{0}, 1000);
  n.sim.start(n.id);
  n.arm_at(T(Duration{0}), seconds(15), 1);
  n.sim.run_until(T(seconds(20)));
  const auto fired = n.fired();
  ASSERT_EQ(fired.size(), 1u);
  // local(v) = v + floor(v * 1000 / 1e6). The least v with local(v) >= 15e9 ns:
  // 15e9 / 1.001 = 14985014985.01..., and local(14985014985) = 14985014985 +
  // 14985014 = 14999999999 < 15e9, while local(14985014986) = 15000000000.
  EXPECT_EQ(ns(fired[0].virtual_at), 14'985'014'986);
  EXPECT_EQ(ns(fired[0].local_at), 15'000'000'000);
}

TEST(Clock, NegativeDriftFiresLateInVirtualTime) {
  OneNode n;
  n.sim.set_clock(n.id, Duration{0}, -500);
  n.sim.start(n.id);
  n.arm_at(T(Duration{0}), seconds(10), 1);
  n.sim.run_until(T(seconds(20)));
  const auto fired = n.fired();
  ASSERT_EQ(fired.size(), 1u);
  // local(v) = v + floor(-500 v / 1e6) = v - ceil(v / 2000). 10e9 / 0.9995 =
  // 10005002501.25...: local(10005002501) = 10005002501 - 5002502 = 9999999999,
  // local(10005002502) = 10005002502 - 5002502 = 10000000000.
  EXPECT_EQ(ns(fired[0].virtual_at), 10'005'002'502);
}

TEST(Clock, OffsetShowsInNowButNotInTimerLength) {
  OneNode n;
  n.sim.set_clock(n.id, seconds(90), 0);
  n.sim.start(n.id);
  n.arm_at(T(seconds(1)), seconds(15), 1);
  n.sim.run_until(T(seconds(30)));
  ASSERT_EQ(n.fired().size(), 1u);
  EXPECT_EQ(n.fired()[0].virtual_at, T(seconds(16)));
  EXPECT_EQ(n.fired()[0].local_at, T(seconds(106)));
  EXPECT_EQ(n.sim.local_time(n.id), T(seconds(120)));
}

// Timers run on the monotonic clock, as steady timers do in a real runtime
// (Go's timers, Asio's steady_timer): a step moves now(), not a pending timer.
TEST(Clock, StepForwardMovesNowButNoPendingTimer) {
  OneNode n;
  n.sim.start(n.id);
  n.arm_at(T(Duration{0}), seconds(15), 1);
  n.arm_at(T(Duration{0}), seconds(100), 2);
  n.sim.at(T(seconds(5)), [&](Simulation& s) { s.step_clock(n.id, seconds(20)); });
  n.sim.run_until(T(seconds(200)));
  const auto fired = n.fired();
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].value, 1u);
  EXPECT_EQ(fired[0].virtual_at, T(seconds(15)));
  EXPECT_EQ(fired[0].local_at, T(seconds(35)));  // the wall clock jumped
  EXPECT_EQ(fired[1].value, 2u);
  EXPECT_EQ(fired[1].virtual_at, T(seconds(100)));
}

TEST(Clock, StepBackwardMovesNowButNoPendingTimer) {
  OneNode n;
  n.sim.start(n.id);
  n.arm_at(T(Duration{0}), seconds(15), 1);
  n.sim.at(T(seconds(5)), [&](Simulation& s) { s.step_clock(n.id, -seconds(10)); });
  n.sim.run_until(T(seconds(200)));
  ASSERT_EQ(n.fired().size(), 1u);
  EXPECT_EQ(n.fired()[0].virtual_at, T(seconds(15)));
  EXPECT_EQ(n.fired()[0].local_at, T(seconds(5)));
}

TEST(Clock, MonotonicIgnoresOffsetAndStepsButDrifts) {
  OneNode n;
  n.sim.start(n.id);
  Time mono_at_10{}, mono_at_20{};
  n.sim.at(T(seconds(1)), [&](Simulation& s) { s.set_clock(n.id, seconds(90), 1000); });
  n.sim.at(T(seconds(10)), [&](Simulation& s) {
    mono_at_10 = static_cast<Recorder*>(s.node(n.id))->env()->monotonic();
    s.step_clock(n.id, -seconds(60));
  });
  n.sim.at(T(seconds(20)), [&](Simulation& s) { mono_at_20 = static_cast<Recorder*>(s.node(n.id))->env()->monotonic(); });
  n.sim.run_until(T(seconds(30)));
  EXPECT_EQ(mono_at_10, T(seconds(10) + milliseconds(9)));  // 9 s at +1000 ppm
  EXPECT_EQ(mono_at_20 - mono_at_10, seconds(10) + milliseconds(10));
}

TEST(Clock, ChangingDriftMidwayDoesNotJumpTheClock) {
  OneNode n;
  n.sim.start(n.id);
  n.sim.at(T(hours(1)), [&](Simulation& s) {
    const Time before = s.local_time(n.id);
    s.set_clock(n.id, Duration{0}, 1000);
    EXPECT_EQ(s.local_time(n.id), before);
  });
  n.sim.run_until(T(hours(1) + seconds(10)));
  // 10 s at +1000 ppm after the change: 10 ms gained.
  EXPECT_EQ(n.sim.local_time(n.id), T(hours(1) + seconds(10) + milliseconds(10)));
}

TEST(Clock, ClockChangesAreRecordedInHistory) {
  OneNode n;
  n.sim.keep_history(true);
  n.sim.set_clock(n.id, seconds(3), 50);
  n.sim.step_clock(n.id, -seconds(1));
  int changes = 0;
  for (const auto& e : n.sim.history()) {
    if (const auto* c = e.get<ClockChanged>()) {
      ++changes;
      EXPECT_EQ(c->offset, seconds(3));
      EXPECT_EQ(c->drift_ppm, 50);
    }
  }
  EXPECT_EQ(changes, 2);
}

// virtual_for is the exact inverse of local: the least v >= not_before at which
// the local clock has reached the deadline, for any drift, offset and steps.
RC_GTEST_PROP(NodeClockProp, VirtualForIsTheLeastInstantReachingTheDeadline, ()) {
  NodeClock clock;
  const auto t1 = *rc::gen::inRange<std::int64_t>(0, 1'000'000'000'000);
  const auto ppm1 = *rc::gen::inRange<std::int64_t>(-200'000, 200'000);
  const auto offset = *rc::gen::inRange<std::int64_t>(-100'000'000'000, 100'000'000'000);
  clock.set(0, offset, ppm1);
  const auto ppm2 = *rc::gen::inRange<std::int64_t>(-200'000, 200'000);
  clock.set(t1, offset, ppm2);
  clock.step(*rc::gen::inRange<std::int64_t>(-10'000'000'000, 10'000'000'000));
  const auto now = t1 + *rc::gen::inRange<std::int64_t>(0, 1'000'000'000'000);
  const auto length = *rc::gen::inRange<std::int64_t>(0, 3'600'000'000'000);
  const std::int64_t deadline = clock.local(now) + length;
  const std::int64_t v = clock.virtual_for(deadline, now);
  RC_ASSERT(v >= now);
  RC_ASSERT(clock.local(v) >= deadline);
  if (v > now) RC_ASSERT(clock.local(v - 1) < deadline);
}

RC_GTEST_PROP(NodeClockProp, LocalIsNonDecreasing, ()) {
  NodeClock clock;
  clock.set(0, *rc::gen::inRange<std::int64_t>(-1'000'000'000, 1'000'000'000),
            *rc::gen::inRange<std::int64_t>(-999'999, 999'999));
  const auto v = *rc::gen::inRange<std::int64_t>(0, 4'000'000'000'000'000);
  RC_ASSERT(clock.local(v) <= clock.local(v + 1));
}

}  // namespace
}  // namespace fl::sim
