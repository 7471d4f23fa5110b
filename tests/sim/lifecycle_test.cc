// Process lifecycle: start, crash, stop, restart, pause / resume, control ops.
#include <gtest/gtest.h>

#include "sim/simulation.h"
#include "tests/sim/test_nodes.h"

namespace fl::sim {
namespace {
using namespace testing;

constexpr Duration kLat = milliseconds(5);
Time T(Duration d) { return kTimeZero + d; }

// Node 0 sends heartbeat `seq` to node 1 when its timer (kind 1, arg = seq) fires.
struct Pair {
  Simulation sim{3};
  Log l0, l1;
  NodeId a, b;
  Pair() {
    sim.set_default_link(LinkConfig{{kLat, kLat}});
    Recorder::Hooks hooks;
    hooks.on_timer = [this](Env& env, TimerId, TimerTag tag) {
      if (tag.kind == 1) env.send(b, heartbeat(tag.arg));
    };
    a = sim.add_node("a", recorder(sim, l0, hooks));
    b = sim.add_node("b", recorder(sim, l1));
    sim.keep_history(true);
  }
  Recorder& rec(NodeId n) { return *static_cast<Recorder*>(sim.node(n)); }
  void send_at(Time at, std::uint64_t seq) {
    sim.at(at, [this, seq](Simulation&) { rec(a).arm(TimerTag{1, seq}); });
  }
  void timer_at(Time at, NodeId n, Duration length, std::uint64_t arg) {
    sim.at(at, [this, n, length, arg](Simulation&) { rec(n).env()->after(length, TimerTag{2, arg}); });
  }
};

TEST(Lifecycle, PausedNodeGetsItsInputsAfterResumeInOrder) {
  Pair p;
  p.sim.start(p.a);
  p.sim.start(p.b);
  p.timer_at(T(Duration{0}), p.b, seconds(2), 100);  // fires inside the pause
  p.sim.at(T(seconds(1)), [&](Simulation& s) { s.pause(p.b, seconds(5)); });
  for (int i = 0; i < 5; ++i) p.send_at(T(seconds(1) + milliseconds(100) * i), i);
  p.sim.run_until(T(seconds(10)));
  const auto& inputs = p.l1.inputs;
  // start, then the timer (armed first, due at 2 s) and the 5 messages, in the
  // order they arrived: messages at 1.005..1.405 s, the timer at 2 s.
  ASSERT_EQ(inputs.size(), 7u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(inputs[1 + i].kind, Input::Kind::message);
    EXPECT_EQ(inputs[1 + i].value, static_cast<std::uint64_t>(i));
    EXPECT_EQ(inputs[1 + i].virtual_at, T(seconds(6)));  // all at the resume
  }
  EXPECT_EQ(inputs[6].kind, Input::Kind::timer);
  EXPECT_EQ(inputs[6].virtual_at, T(seconds(6)));
  // The paused and resumed events are in the history, 5 s apart.
  Time paused{}, resumed{};
  for (const auto& e : p.sim.history()) {
    if (e.is<ProcessPaused>() && e.node == p.b) paused = e.at;
    if (e.is<ProcessResumed>() && e.node == p.b) resumed = e.at;
  }
  EXPECT_EQ(resumed - paused, seconds(5));
}

TEST(Lifecycle, PausedNodesClockKeepsRunning) {
  Pair p;
  p.sim.start(p.b);
  p.sim.at(T(seconds(1)), [&](Simulation& s) { s.pause(p.b, seconds(5)); });
  p.sim.at(T(seconds(3)), [&](Simulation& s) { EXPECT_EQ(s.local_time(p.b), T(seconds(3))); });
  p.sim.run_until(T(seconds(10)));
  EXPECT_FALSE(p.sim.paused(p.b));
}

TEST(Lifecycle, CrashedNodesTimersNeverFireAndRestartGivesAFreshObject) {
  Pair p;
  p.sim.start(p.b);
  p.timer_at(T(Duration{0}), p.b, seconds(5), 1);
  p.timer_at(T(Duration{0}), p.b, seconds(20), 2);
  p.sim.at(T(seconds(2)), [&](Simulation& s) { s.restart(p.b, seconds(1)); });
  p.sim.run_until(T(seconds(60)));
  EXPECT_TRUE(p.l1.of(Input::Kind::timer).empty());
  EXPECT_EQ(p.l1.objects_built, 2);
  const auto starts = p.l1.of(Input::Kind::start);
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[1].virtual_at, T(seconds(3)));
  EXPECT_TRUE(p.sim.running(p.b));
  EXPECT_EQ(p.sim.process_state(p.b), ProcessState::running);
}

TEST(Lifecycle, CancelledTimerDoesNotFire) {
  Pair p;
  p.sim.start(p.b);
  p.sim.at(T(Duration{0}), [&](Simulation&) {
    Env* env = p.rec(p.b).env();
    const TimerId keep = env->after(seconds(1), TimerTag{2, 1});
    const TimerId drop = env->after(seconds(1), TimerTag{2, 2});
    EXPECT_NE(keep, drop);
    env->cancel(drop);
    env->cancel(drop);  // twice is a no-op
  });
  p.sim.run_until(T(seconds(5)));
  const auto fired = p.l1.of(Input::Kind::timer);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].value, 1u);
}

TEST(Lifecycle, StopRunsOnStopThenDestroys) {
  Pair p;
  p.sim.start(p.b);
  p.sim.at(T(seconds(1)), [&](Simulation& s) { s.stop(p.b); });
  p.sim.run_until(T(seconds(2)));
  ASSERT_EQ(p.l1.of(Input::Kind::stop).size(), 1u);
  EXPECT_FALSE(p.sim.running(p.b));
  EXPECT_EQ(p.sim.process_state(p.b), ProcessState::stopped);
  bool stopped_event = false;
  for (const auto& e : p.sim.history()) stopped_event = stopped_event || (e.is<ProcessStopped>() && e.node == p.b);
  EXPECT_TRUE(stopped_event);
}

TEST(Lifecycle, CrashEmitsAndLosesState) {
  Pair p;
  p.sim.start(p.b);
  p.sim.at(T(seconds(1)), [&](Simulation& s) { s.crash(p.b); });
  p.sim.run_until(T(seconds(2)));
  EXPECT_EQ(p.sim.node(p.b), nullptr);
  EXPECT_EQ(p.sim.process_state(p.b), ProcessState::crashed);
  EXPECT_TRUE(p.l1.of(Input::Kind::stop).empty());  // a crash runs no shutdown
}

TEST(Lifecycle, ControlOpsActOnTheTargetAndSetSpecReachesHookAndNode) {
  Pair p;
  std::vector<std::string> hook_calls;
  p.sim.set_spec_hook([&](NodeId n, const ControlOp& op) { hook_calls.push_back(p.sim.name(n) + ":" + op.key); });
  p.sim.start(p.a);
  p.sim.start(p.b);
  p.sim.at(T(seconds(1)), [&](Simulation&) {
    p.rec(p.a).env()->control(p.b, ControlOp{ControlOp::Kind::set_spec, "config.X", "1"});
  });
  p.sim.at(T(seconds(2)), [&](Simulation&) { p.rec(p.a).env()->control(p.b, ControlOp{ControlOp::Kind::stop}); });
  p.sim.at(T(seconds(3)), [&](Simulation&) { p.rec(p.a).env()->control(p.b, ControlOp{ControlOp::Kind::start}); });
  p.sim.at(T(seconds(4)), [&](Simulation&) { p.rec(p.a).env()->control(p.b, ControlOp{ControlOp::Kind::restart}); });
  p.sim.run_until(T(seconds(5)));
  EXPECT_EQ(hook_calls, std::vector<std::string>{"b:config.X"});
  const auto controls = p.l1.of(Input::Kind::control);
  ASSERT_EQ(controls.size(), 1u);
  EXPECT_EQ(controls[0].text, "config.X=1");
  EXPECT_EQ(p.l1.objects_built, 3);                   // start, start at 3 s, restart at 4 s
  EXPECT_EQ(p.l1.of(Input::Kind::stop).size(), 2u);   // stop and restart are graceful
  EXPECT_TRUE(p.sim.running(p.b));
}

TEST(Lifecycle, NodeCrashingItselfIsDeferredUntilItsHandlerReturns) {
  Pair p;
  Log log;
  Recorder::Hooks hooks;
  hooks.on_timer = [&](Env& env, TimerId, TimerTag) {
    env.control(env.self(), ControlOp{ControlOp::Kind::crash});
    env.emit(Probe{1, 1});  // still alive inside its handler
  };
  Simulation sim(1);
  const NodeId n = sim.add_node("self", recorder(sim, log, hooks));
  sim.keep_history(true);
  sim.start(n);
  sim.at(T(seconds(1)), [&](Simulation& s) { static_cast<Recorder*>(s.node(n))->arm(TimerTag{}); });
  sim.run_until(T(seconds(2)));
  EXPECT_FALSE(sim.running(n));
  ASSERT_GE(sim.history().size(), 2u);
  EXPECT_TRUE(sim.history()[sim.history().size() - 2].is<Probe>());
  EXPECT_TRUE(sim.history().back().is<ProcessCrashed>());
}

}  // namespace
}  // namespace fl::sim
