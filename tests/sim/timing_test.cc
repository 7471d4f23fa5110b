// The unkind simulator (issue 9, sim::Timing): latency tails, jitter that
// reorders across connections but never within one, clock drift drawn per
// node, timers that fire late and never early. And the kind default: no draw,
// the same run as before.
#include <gtest/gtest.h>

#include <map>

#include "sim/simulation.h"
#include "tests/sim/test_nodes.h"

namespace fl::sim {
namespace {
using namespace testing;

constexpr Duration kLat = milliseconds(5);

// n nodes; node i sends heartbeat(seq) to node `to` at virtual time `at`
// straight from an action (no timer: late timers must not move the send).
struct Net {
  Simulation sim;
  std::vector<Log> logs;
  std::vector<NodeId> ids;
  explicit Net(int n, std::uint64_t seed = 7) : sim(seed), logs(n) {
    sim.set_default_link(LinkConfig{{kLat, kLat}});
    for (int i = 0; i < n; ++i) ids.push_back(sim.add_node("n" + std::to_string(i), recorder(sim, logs[i])));
  }
  void start_all() { for (NodeId id : ids) sim.start(id); }
  void send_at(Time at, int from, int to, std::uint64_t seq) {
    const NodeId f = ids[from], t = ids[to];
    sim.at(at, [f, t, seq](Simulation& s) { static_cast<Recorder*>(s.node(f))->env()->send(t, heartbeat(seq)); });
  }
  std::vector<Input> received(int node) const { return logs[node].of(Input::Kind::message); }
};

Time T(Duration d) { return kTimeZero + d; }

TEST(Timing, KindByDefaultAndSettingKindTimingChangesNothing) {
  EXPECT_FALSE(Timing{}.any());
  auto run = [](bool set_kind) {
    Net n(3);
    if (set_kind) n.sim.set_timing(Timing{});
    n.start_all();
    for (int i = 0; i < 50; ++i) n.send_at(T(milliseconds(i)), i % 2, 2, std::uint64_t(i));
    n.sim.run_until(T(seconds(1)));
    std::vector<std::int64_t> at;
    for (const auto& r : n.received(2)) at.push_back(ns(r.virtual_at));
    return std::make_pair(n.sim.trace_hash(), at);
  };
  EXPECT_EQ(run(false), run(true));
}

TEST(Timing, JitterReordersAcrossConnectionsNeverWithinOne) {
  auto overtakes = [](Duration jitter) {
    Net n(3);
    Timing t;
    t.jitter = jitter;
    n.sim.set_timing(t);
    n.start_all();
    // n0 and n1 send alternately to n2, 1 ms apart: seq is the send order.
    for (int i = 0; i < 200; ++i) n.send_at(T(milliseconds(i)), i % 2, 2, std::uint64_t(i));
    n.sim.run_until(T(seconds(2)));
    const auto got = n.received(2);
    EXPECT_EQ(got.size(), 200u);
    std::map<std::uint32_t, std::uint64_t> last_of;  // per sender: FIFO
    int across = 0;
    std::uint64_t highest = 0;
    bool first = true;
    for (const auto& r : got) {
      if (last_of.count(r.peer.value)) EXPECT_GT(r.value, last_of[r.peer.value]) << "overtook on its own connection";
      last_of[r.peer.value] = r.value;
      if (!first && r.value < highest) ++across;  // sent before one already delivered
      highest = first ? r.value : std::max(highest, r.value);
      first = false;
      EXPECT_GE(r.virtual_at, T(milliseconds(std::int64_t(r.value))) + kLat);  // never faster than the link
    }
    return across;
  };
  EXPECT_EQ(overtakes(Duration{0}), 0);  // kind: fixed latency, sends in order arrive in order
  EXPECT_GT(overtakes(milliseconds(20)), 10);
}

TEST(Timing, LatencyTailsStretchSomeMessagesWithinTheFactorAndNeverShortenOne) {
  Net n(2);
  Timing t;
  t.tail = 0.2;
  t.tail_factor = 10;
  n.sim.set_timing(t);
  n.start_all();
  // One message per 100 ms: no FIFO floor from an earlier one can reach it.
  for (int i = 0; i < 300; ++i) n.send_at(T(milliseconds(100 * i)), 0, 1, std::uint64_t(i));
  n.sim.run_until(T(seconds(40)));
  const auto got = n.received(1);
  ASSERT_EQ(got.size(), 300u);
  int stretched = 0;
  for (const auto& r : got) {
    const Duration took = r.virtual_at - T(milliseconds(100 * std::int64_t(r.value)));
    EXPECT_GE(took, kLat);
    EXPECT_LE(took, kLat * 10);
    stretched += took > kLat;
  }
  EXPECT_GT(stretched, 30);   // ~20 % of 300, of which 8/9 draw a factor > 1
  EXPECT_LT(stretched, 100);
}

TEST(Timing, LateTimersFireLateNeverEarly) {
  Simulation sim(3);
  Log log;
  const NodeId id = sim.add_node("n", recorder(sim, log));
  Timing t;
  t.timer_late = 0.5;
  t.timer_late_max = milliseconds(100);
  sim.set_timing(t);
  sim.start(id);
  for (int i = 0; i < 200; ++i)
    sim.at(T(milliseconds(10 * i)), [id, i](Simulation& s) {
      static_cast<Recorder*>(s.node(id))->env()->after(seconds(1), TimerTag{2, std::uint64_t(i)});
    });
  sim.run_until(T(seconds(10)));
  const auto fired = log.of(Input::Kind::timer);
  ASSERT_EQ(fired.size(), 200u);
  int late = 0;
  for (const auto& f : fired) {
    const Time due = T(milliseconds(10 * std::int64_t(f.value)) + seconds(1));
    EXPECT_GE(f.virtual_at, due) << "a timer fired early";
    EXPECT_LT(f.virtual_at, due + milliseconds(100));
    late += f.virtual_at > due;
  }
  EXPECT_GT(late, 70);  // about half
  EXPECT_LT(late, 130);
}

TEST(Timing, LateTimersStayLateAcrossADriftChange) {
  // A clock change re-arms pending timers from their deadline: the lateness
  // drawn at arming must survive it (or the timer would fire on time).
  Simulation sim(5);
  Log log;
  const NodeId id = sim.add_node("n", recorder(sim, log));
  Timing t;
  t.timer_late = 1.0;
  t.timer_late_max = milliseconds(500);
  sim.set_timing(t);
  sim.start(id);
  sim.at(T(Duration{0}), [id](Simulation& s) { static_cast<Recorder*>(s.node(id))->env()->after(seconds(10), TimerTag{2, 1}); });
  sim.at(T(seconds(1)), [id](Simulation& s) { s.set_clock(id, Duration{0}, 0); });  // re-arms, same rate
  sim.run_until(T(seconds(20)));
  const auto fired = log.of(Input::Kind::timer);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_GT(fired[0].virtual_at, T(seconds(10)));
  EXPECT_LT(fired[0].virtual_at, T(seconds(10) + milliseconds(500)));
}

TEST(Timing, ClockDriftIsDrawnPerNodeWithinTheBoundAndRecorded) {
  auto drifts = [](std::uint64_t seed, int nodes) {
    Simulation sim(seed);
    sim.keep_history(true);
    Log log;
    for (int i = 0; i < nodes; ++i) sim.add_node("n" + std::to_string(i), recorder(sim, log));
    Timing t;
    t.drift_ppm = 300;
    sim.set_timing(t);
    std::vector<std::int64_t> out;
    for (int i = 0; i < nodes; ++i) out.push_back(sim.clock_drift_ppm(NodeId{std::uint32_t(i)}));
    std::size_t recorded = 0;
    for (const auto& e : sim.history()) recorded += e.is<ClockChanged>();
    std::size_t drifting = 0;
    for (auto d : out) drifting += d != 0;
    EXPECT_EQ(recorded, drifting);  // each drift is in the history (reports: "clocks in force")
    return out;
  };
  const auto a = drifts(1, 10);
  int nonzero = 0;
  for (auto d : a) {
    EXPECT_GE(d, -300);
    EXPECT_LE(d, 300);
    nonzero += d != 0;
  }
  EXPECT_GE(nonzero, 8);
  EXPECT_EQ(a, drifts(1, 10));  // the seed decides
  EXPECT_NE(a, drifts(2, 10));
  // Split by name: an eleventh node does not change the first ten's drifts.
  auto b = drifts(1, 11);
  b.pop_back();
  EXPECT_EQ(a, b);
}

TEST(Timing, UnkindRunsAreDeterministicAndDifferFromKindOnes) {
  auto run = [](bool unkind) {
    Net n(4, 11);
    if (unkind) {
      Timing t;
      t.tail = 0.05;
      t.tail_factor = 20;
      t.jitter = milliseconds(3);
      t.drift_ppm = 100;
      n.sim.set_timing(t);
    }
    n.start_all();
    for (int i = 0; i < 100; ++i) n.send_at(T(milliseconds(i)), i % 3, 3, std::uint64_t(i));
    n.sim.run_until(T(seconds(5)));
    return n.sim.trace_hash();
  };
  EXPECT_EQ(run(true), run(true));
  EXPECT_NE(run(true), run(false));
}

}  // namespace
}  // namespace fl::sim
