// The fault injector: applies records at their time, undoes them after `for`,
// emits readable FaultInjected / FaultHealed events, and knows which faults
// had an effect.
#include <gtest/gtest.h>

#include "sim/fault_injector.h"
#include "sim/simulation.h"
#include "tests/sim/test_nodes.h"

namespace fl::sim {
namespace {
using namespace testing;

Time T(Duration d) { return kTimeZero + d; }

// Three nodes; each sends a heartbeat to both others every second.
struct Cluster {
  Simulation sim{21};
  std::vector<Log> logs{3};
  std::vector<NodeId> ids;
  Cluster() {
    sim.keep_history(true);
    sim.set_default_link(LinkConfig{{milliseconds(5), milliseconds(5)}});
    for (int i = 0; i < 3; ++i) {
      Recorder::Hooks h;
      h.on_start = [](Env& env) { env.after(seconds(1), TimerTag{}); };
      h.on_timer = [](Env& env, TimerId, TimerTag) {
        for (std::uint32_t p = 0; p < 3; ++p)
          if (p != env.self().value) env.send(NodeId{p}, heartbeat(1));
        env.after(seconds(1), TimerTag{});
      };
      ids.push_back(sim.add_node("app" + std::to_string(i + 1), recorder(sim, logs[i], h)));
    }
    for (NodeId id : ids) sim.start(id);
  }
  std::vector<const HistoryEvent*> events_named(std::string_view name) const {
    std::vector<const HistoryEvent*> out;
    for (const auto& e : sim.history())
      if (e.name() == name) out.push_back(&e);
    return out;
  }
};

FaultRecord partition_at(Time at, std::vector<std::vector<NodeId>> groups, std::optional<Duration> d) {
  FaultRecord r;
  r.kind = FaultRecord::Kind::partition;
  r.at = at;
  r.groups = std::move(groups);
  r.duration = d;
  return r;
}

TEST(FaultInjector, PartitionForADurationIsAppliedThenHealed) {
  Cluster c;
  FaultInjector inj(c.sim, {partition_at(T(seconds(10)), {{c.ids[0]}, {c.ids[1], c.ids[2]}}, seconds(30))});
  inj.schedule();
  c.sim.at(T(seconds(20)), [&](Simulation& s) {
    EXPECT_FALSE(s.reachable(c.ids[0], c.ids[1]));
    EXPECT_TRUE(s.reachable(c.ids[1], c.ids[2]));
  });
  c.sim.run_until(T(seconds(60)));
  EXPECT_TRUE(c.sim.reachable(c.ids[0], c.ids[1]));
  const auto injected = c.events_named("fault_injected");
  ASSERT_EQ(injected.size(), 1u);
  EXPECT_EQ(injected[0]->at, T(seconds(10)));
  EXPECT_EQ(injected[0]->node, c.ids[0]);
  EXPECT_EQ(injected[0]->get<FaultInjected>()->detail, "partition app1 | app2 app3 for 30s");
  const auto healed = c.events_named("fault_healed");
  ASSERT_EQ(healed.size(), 1u);
  EXPECT_EQ(healed[0]->at, T(seconds(40)));
  const auto out = inj.outcomes();
  EXPECT_TRUE(out[0].effective);
  // app1 <-> app2, app3: 4 sends a second for 30 s.
  EXPECT_GE(out[0].effect_count, 4u * 29);
  EXPECT_LE(out[0].effect_count, 4u * 31);
}

TEST(FaultInjector, PartitionOfIdleNodesHadNoEffect) {
  Cluster c;
  // Between t=0 and t=0.5s nobody sends (the first heartbeat is at 1 s).
  FaultInjector inj(c.sim, {partition_at(T(milliseconds(100)), {{c.ids[0]}, {c.ids[1]}}, milliseconds(300))});
  inj.schedule();
  c.sim.run_until(T(seconds(5)));
  EXPECT_FALSE(inj.outcomes()[0].effective);
  EXPECT_EQ(inj.outcomes()[0].effect_count, 0u);
}

TEST(FaultInjector, CrashOfANodeAlreadyDownHasNoEffect) {
  Cluster c;
  FaultRecord a;
  a.kind = FaultRecord::Kind::crash;
  a.at = T(seconds(1));
  a.nodes = {c.ids[1]};
  FaultRecord b = a;
  b.at = T(seconds(2));
  FaultInjector inj(c.sim, {a, b});
  inj.schedule();
  c.sim.run_until(T(seconds(3)));
  EXPECT_TRUE(inj.outcomes()[0].effective);
  EXPECT_FALSE(inj.outcomes()[1].effective);
  EXPECT_FALSE(c.sim.running(c.ids[1]));
  inj.heal_everything();  // settle: crashed nodes come back
  EXPECT_TRUE(c.sim.running(c.ids[1]));
}

TEST(FaultInjector, CrashWithRestartAfter) {
  Cluster c;
  FaultRecord r;
  r.kind = FaultRecord::Kind::crash;
  r.at = T(seconds(1));
  r.nodes = {c.ids[2]};
  r.restart_after = seconds(10);
  FaultInjector inj(c.sim, {r});
  inj.schedule();
  c.sim.run_until(T(seconds(5)));
  EXPECT_FALSE(c.sim.running(c.ids[2]));
  c.sim.run_until(T(seconds(12)));
  EXPECT_TRUE(c.sim.running(c.ids[2]));
  EXPECT_EQ(c.logs[2].objects_built, 2);
  EXPECT_EQ(inj.outcomes()[0].detail, "crash app3 restart_after 10s");
}

TEST(FaultInjector, ClockSkewIsUndoneAfterItsDuration) {
  Cluster c;
  FaultRecord r;
  r.kind = FaultRecord::Kind::clock_skew;
  r.at = T(seconds(1));
  r.nodes = {c.ids[0]};
  r.offset = seconds(90);
  r.duration = seconds(10);
  FaultInjector inj(c.sim, {r});
  inj.schedule();
  c.sim.run_until(T(seconds(5)));
  EXPECT_EQ(c.sim.local_time(c.ids[0]), T(seconds(95)));
  c.sim.run_until(T(seconds(20)));
  EXPECT_EQ(c.sim.local_time(c.ids[0]), T(seconds(20)));
  EXPECT_EQ(inj.outcomes()[0].detail, "clock_skew app1 offset +1m30s drift 0ppm for 10s");
  EXPECT_TRUE(inj.outcomes()[0].effective);
}

TEST(FaultInjector, LinkLossBetweenTwoNodesAndItsRestore) {
  Cluster c;
  FaultRecord r;
  r.kind = FaultRecord::Kind::loss;
  r.at = T(seconds(1));
  r.rate = 1.0;
  r.between = std::make_pair(c.ids[0], c.ids[1]);
  r.duration = seconds(10);
  FaultInjector inj(c.sim, {r});
  inj.schedule();
  c.sim.run_until(T(seconds(30)));
  EXPECT_EQ(c.sim.link(c.ids[0], c.ids[1]).loss, 0.0);
  const auto out = inj.outcomes();
  EXPECT_TRUE(out[0].effective);
  // 2 messages a second over the pair (both directions), for 10 s.
  EXPECT_GE(out[0].effect_count, 18u);
  EXPECT_LE(out[0].effect_count, 22u);
}

TEST(FaultInjector, HealEndsEveryNetworkFaultAndSaysSo) {
  Cluster c;
  FaultRecord one_way;
  one_way.kind = FaultRecord::Kind::one_way;
  one_way.at = T(seconds(1));
  one_way.from = {c.ids[0]};
  one_way.to = {c.ids[1], c.ids[2]};
  FaultRecord heal;
  heal.kind = FaultRecord::Kind::heal;
  heal.at = T(seconds(5));
  FaultRecord heal_again = heal;
  heal_again.at = T(seconds(6));
  FaultInjector inj(c.sim, {one_way, heal, heal_again});
  inj.schedule();
  c.sim.run_until(T(seconds(3)));
  EXPECT_FALSE(c.sim.reachable(c.ids[0], c.ids[2]));
  EXPECT_TRUE(c.sim.reachable(c.ids[2], c.ids[0]));
  c.sim.run_until(T(seconds(10)));
  EXPECT_TRUE(c.sim.reachable(c.ids[0], c.ids[2]));
  const auto out = inj.outcomes();
  EXPECT_TRUE(out[0].effective);
  EXPECT_TRUE(out[1].effective);   // there was something to heal
  EXPECT_FALSE(out[2].effective);  // nothing left
  EXPECT_EQ(out[0].detail, "one_way app1 -> app2 app3");
  EXPECT_EQ(c.events_named("fault_healed").size(), 1u);
}

TEST(FaultInjector, PauseAndControl) {
  Cluster c;
  std::vector<std::string> spec;
  c.sim.set_spec_hook([&](NodeId n, const ControlOp& op) { spec.push_back(c.sim.name(n) + " " + op.key + "=" + op.value); });
  FaultRecord p;
  p.kind = FaultRecord::Kind::pause;
  p.at = T(seconds(1));
  p.nodes = {c.ids[1]};
  p.duration = seconds(3);
  FaultRecord ctl;
  ctl.kind = FaultRecord::Kind::control;
  ctl.at = T(seconds(2));
  ctl.nodes = {c.ids[2]};
  ctl.op = ControlOp{ControlOp::Kind::set_spec, "version", "10.5.0"};
  FaultInjector inj(c.sim, {p, ctl});
  inj.schedule();
  c.sim.run_until(T(seconds(2)));
  EXPECT_TRUE(c.sim.paused(c.ids[1]));
  c.sim.run_until(T(seconds(5)));
  EXPECT_FALSE(c.sim.paused(c.ids[1]));
  EXPECT_EQ(spec, std::vector<std::string>{"app3 version=10.5.0"});
  EXPECT_EQ(inj.outcomes()[1].detail, "control app3 set_spec version=10.5.0");
}

TEST(FaultInjector, OverlappingCutsOfOneLinkEndOneAtATime) {
  // Two one-way cuts of app1 -> app2: ending the first leaves the second in force.
  Cluster c;
  FaultRecord a;
  a.kind = FaultRecord::Kind::one_way;
  a.at = T(seconds(1));
  a.from = {c.ids[0]};
  a.to = {c.ids[1]};
  a.duration = seconds(4);
  FaultRecord b = a;
  b.at = T(seconds(2));
  b.duration = seconds(8);
  b.label = "gossip_send_failure";
  FaultInjector inj(c.sim, {a, b});
  inj.schedule();
  c.sim.run_until(T(seconds(6)));
  EXPECT_FALSE(c.sim.reachable(c.ids[0], c.ids[1])) << "ending the first cut healed the second";
  c.sim.run_until(T(seconds(11)));
  EXPECT_TRUE(c.sim.reachable(c.ids[0], c.ids[1]));
  const auto injected = c.events_named("fault_injected");
  ASSERT_EQ(injected.size(), 2u);
  // The scenario's kind name, and the cut's sides as typed fields.
  EXPECT_EQ(injected[1]->get<FaultInjected>()->kind, "gossip_send_failure");
  EXPECT_EQ(injected[1]->get<FaultInjected>()->groups, (NodeGroups{{c.ids[0]}, {c.ids[1]}}));
}

TEST(FaultInjector, ACrashRestartDoesNotUndoTheOperatorsStop) {
  Cluster c;
  FaultRecord crash;
  crash.kind = FaultRecord::Kind::crash;
  crash.at = T(seconds(1));
  crash.nodes = {c.ids[1]};
  crash.restart_after = seconds(5);
  FaultInjector inj(c.sim, {crash});
  inj.schedule();
  c.sim.at(T(seconds(3)), [&](Simulation& s) { s.stop(c.ids[1]); });  // the operator's hand
  c.sim.run_until(T(seconds(10)));
  EXPECT_FALSE(c.sim.running(c.ids[1]));
  EXPECT_EQ(c.sim.process_state(c.ids[1]), ProcessState::stopped);
  EXPECT_EQ(inj.outcomes()[0].restart_cancelled, std::vector<NodeId>{c.ids[1]});
  // Settle restarts crashed nodes only: a stopped one stays stopped.
  inj.heal_everything();
  EXPECT_FALSE(c.sim.running(c.ids[1]));
}

TEST(FaultInjector, SettleEndsPausesAndCustomFaultsButKeepsClockOffsets) {
  Cluster c;
  FaultRecord pause;
  pause.kind = FaultRecord::Kind::pause;
  pause.at = T(seconds(1));
  pause.nodes = {c.ids[0]};
  pause.duration = minutes(10);
  FaultRecord skew;
  skew.kind = FaultRecord::Kind::clock_skew;
  skew.at = T(seconds(1));
  skew.nodes = {c.ids[2]};
  skew.offset = seconds(20);
  FaultRecord custom;
  custom.kind = FaultRecord::Kind::custom;
  custom.label = "storage_outage";
  custom.at = T(seconds(2));
  std::vector<std::string> calls;
  FaultInjector inj(c.sim, {pause, skew, custom});
  inj.set_custom_handler(CustomFaultHandler{
      [&](std::size_t i, const FaultRecord& r, FaultOutcome&) {
        calls.push_back("apply " + std::to_string(i) + " " + r.label);
        return std::string();
      },
      [&](std::size_t i, const FaultRecord&) { calls.push_back("end " + std::to_string(i)); }});
  inj.schedule();
  c.sim.run_until(T(seconds(5)));
  EXPECT_TRUE(c.sim.paused(c.ids[0]));
  inj.heal_everything();
  EXPECT_FALSE(c.sim.paused(c.ids[0]));
  EXPECT_EQ(c.sim.clock_offset(c.ids[2]), seconds(20));
  EXPECT_EQ(calls, (std::vector<std::string>{"apply 2 storage_outage", "end 2"}));
  const auto out = inj.outcomes();
  EXPECT_TRUE(out[0].ended);
  EXPECT_EQ(out[0].ended_at, T(seconds(5)));
  EXPECT_TRUE(out[1].active);  // the clock keeps its offset
  EXPECT_TRUE(out[2].ended);
}

TEST(FaultInjector, FaultsWithNoEffectSayWhy) {
  Cluster c;
  FaultRecord heal;
  heal.kind = FaultRecord::Kind::heal;
  heal.at = T(seconds(1));
  FaultRecord restart;
  restart.kind = FaultRecord::Kind::restart;
  restart.at = T(seconds(1));
  restart.nodes = {c.ids[0]};
  FaultRecord pause;
  pause.kind = FaultRecord::Kind::pause;
  pause.at = T(seconds(2));
  pause.nodes = {c.ids[1]};
  pause.duration = seconds(1);
  FaultInjector inj(c.sim, {heal, restart, pause});
  inj.schedule();
  c.sim.at(T(seconds(1500) / 1000), [&](Simulation& s) { s.crash(c.ids[1]); });
  c.sim.run_until(T(seconds(5)));
  const auto out = inj.outcomes();
  EXPECT_EQ(out[0].no_effect, "there was no network fault to heal");
  EXPECT_EQ(out[1].no_effect, "the restart of app1 found it running");
  EXPECT_EQ(out[2].no_effect, "the pause of app2 found it down");
  const auto injected = c.events_named("fault_injected");
  ASSERT_EQ(injected.size(), 3u);
  for (const auto* e : injected) EXPECT_FALSE(e->get<FaultInjected>()->effective);
}

}  // namespace
}  // namespace fl::sim
