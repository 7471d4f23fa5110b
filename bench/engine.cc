// The engine benchmark (DESIGN.md, Performance targets): 5 nodes, each sends a
// Heartbeat to every other node every simulated second on its Env timer, over
// links of exactly 1 ms; each receiver updates a last-seen table. Events counted
// are timer fires plus deliveries: 5 + 5 * 4 = 25 per simulated second.
// The same workload runs through a bare std::priority_queue loop, the floor any
// engine pays, so the ratio says what the engine's generality costs.
// Wall clock is allowed here (bench/), never inside sim/.
#include "bench/engine.h"

#include <sys/resource.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <queue>
#include <vector>

#include "base/assert.h"
#include "base/env.h"
#include "sim/simulation.h"

namespace fl::bench {
namespace {

constexpr std::uint32_t kNodes = 5;
constexpr Duration kHeartbeatInterval = seconds(1);
constexpr Duration kLatency = milliseconds(1);
constexpr std::uint64_t kEventsPerSecond = kNodes + kNodes * (kNodes - 1);

struct Counters {
  std::uint64_t timer_fires = 0;
  std::uint64_t deliveries = 0;
  std::int64_t checksum = 0;  // keeps the last-seen tables observable
};

class HeartbeatNode final : public Node {
 public:
  explicit HeartbeatNode(Counters* counters) : counters_(counters) { last_seen_.fill(0); }
  void on_start(Env& env) override { env.after(kHeartbeatInterval, TimerTag{}); }
  void on_message(Env& env, NodeId from, const Message& message) override {
    FL_ASSERT(message.is<Heartbeat>() && from.value < kNodes);
    last_seen_[from.value] = ns(env.now());
    ++counters_->deliveries;
  }
  void on_timer(Env& env, TimerId, TimerTag) override {
    ++counters_->timer_fires;
    ++seq_;
    const NodeId self = env.self();
    for (std::uint32_t peer = 0; peer < kNodes; ++peer) {
      if (peer != self.value) env.send(NodeId{peer}, Message{Heartbeat{seq_}});
    }
    env.after(kHeartbeatInterval, TimerTag{});
  }
  ~HeartbeatNode() override {
    for (auto t : last_seen_) counters_->checksum += t;
  }

 private:
  Counters* counters_;
  std::array<std::int64_t, kNodes> last_seen_{};
  std::uint64_t seq_ = 0;
};

struct Measured {
  std::uint64_t events = 0;
  double seconds = 0;
  std::int64_t checksum = 0;
};

Measured run_simulation(const EngineOptions& options) {
  Counters counters;
  sim::Simulation sim(options.seed);
  sim.set_default_link(sim::LinkConfig{DurationRange{kLatency, kLatency}});
  for (std::uint32_t i = 0; i < kNodes; ++i) {
    sim.add_node("n" + std::to_string(i), [&counters] { return std::make_unique<HeartbeatNode>(&counters); });
  }
  for (std::uint32_t i = 0; i < kNodes; ++i) sim.start(NodeId{i});
  const auto begin = std::chrono::steady_clock::now();
  sim.run_until(kTimeZero + seconds(options.simulated_seconds));
  const auto end = std::chrono::steady_clock::now();
  for (std::uint32_t i = 0; i < kNodes; ++i) sim.crash(NodeId{i});  // folds last-seen into checksum
  Measured m;
  m.events = counters.timer_fires + counters.deliveries;
  m.seconds = std::chrono::duration<double>(end - begin).count();
  m.checksum = counters.checksum;
  return m;
}

// The bare loop: the same events with the least machinery, one POD per event
// ordered by (time, sequence) in a std::priority_queue.
struct BareEvent {
  std::int64_t at;
  std::uint64_t seq;
  std::uint32_t node;
  std::uint32_t from;  // kNodes marks a timer
  bool operator>(const BareEvent& o) const { return at > o.at || (at == o.at && seq > o.seq); }
};

Measured run_bare_loop(const EngineOptions& options) {
  std::priority_queue<BareEvent, std::vector<BareEvent>, std::greater<BareEvent>> queue;
  std::array<std::array<std::int64_t, kNodes>, kNodes> last_seen{};
  std::uint64_t seq = 0;
  const std::int64_t until = ns(seconds(options.simulated_seconds));
  for (std::uint32_t i = 0; i < kNodes; ++i) queue.push({ns(kHeartbeatInterval), seq++, i, kNodes});
  std::uint64_t events = 0;
  const auto begin = std::chrono::steady_clock::now();
  while (!queue.empty() && queue.top().at <= until) {
    const BareEvent e = queue.top();
    queue.pop();
    ++events;
    if (e.from == kNodes) {
      for (std::uint32_t peer = 0; peer < kNodes; ++peer) {
        if (peer != e.node) queue.push({e.at + ns(kLatency), seq++, peer, e.node});
      }
      queue.push({e.at + ns(kHeartbeatInterval), seq++, e.node, kNodes});
    } else {
      last_seen[e.node][e.from] = e.at;
    }
  }
  const auto end = std::chrono::steady_clock::now();
  Measured m;
  m.events = events;
  m.seconds = std::chrono::duration<double>(end - begin).count();
  for (const auto& row : last_seen) for (auto t : row) m.checksum += t;
  return m;
}

}  // namespace

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

int run_engine(const EngineOptions& options) {
  if (options.simulated_seconds <= 0 || options.repetitions <= 0) {
    std::fprintf(stderr, "faultline-bench engine: --simulated-seconds and --repetitions must be positive\n");
    return 2;
  }
  // The machine is shared: interleave the two and keep each side's best run, so
  // a burst of someone else's work does not decide the ratio.
  Measured engine, bare;
  for (int rep = 0; rep < options.repetitions; ++rep) {
    const Measured e = run_simulation(options);
    if (rep == 0 || e.seconds < engine.seconds) engine = e;
    if (options.engine_only) continue;
    const Measured b = run_bare_loop(options);
    if (rep == 0 || b.seconds < bare.seconds) bare = b;
  }
  if (options.engine_only) {
    std::printf("engine events_per_s=%.0f peak_rss_mib=%.1f\n",
                static_cast<double>(engine.events) / engine.seconds, peak_rss_mib());
    return 0;
  }
  // Both must have done the same work, or the comparison means nothing.
  // The last tick's deliveries land 1 ms after the end, so they are not counted.
  const auto expected = static_cast<std::uint64_t>(options.simulated_seconds) * kEventsPerSecond -
                        kNodes * (kNodes - 1);
  if (engine.events != expected || bare.events != expected) {
    std::fprintf(stderr, "faultline-bench engine: event counts differ (engine %llu, bare %llu, expected %llu)\n",
                 static_cast<unsigned long long>(engine.events), static_cast<unsigned long long>(bare.events),
                 static_cast<unsigned long long>(expected));
    return 1;
  }
  const double engine_rate = static_cast<double>(engine.events) / engine.seconds;
  const double bare_rate = static_cast<double>(bare.events) / bare.seconds;
  std::printf("engine events_per_s=%.0f bare_loop_events_per_s=%.0f ratio=%.3f peak_rss_mib=%.1f\n",
              engine_rate, bare_rate, engine_rate / bare_rate, peak_rss_mib());
  return 0;
}

}  // namespace fl::bench
