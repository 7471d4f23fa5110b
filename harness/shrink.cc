#include "harness/shrink.h"

#include <algorithm>
#include <chrono>
#include <ostream>

#include "harness/scenario_loader.h"

namespace fl::harness {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kS = 1'000 * kMs;

// Halves, rounded down to whole milliseconds (repro files stay readable).
Duration half(Duration d) { return Duration{(ns(d) / 2) / kMs * kMs}; }
Duration ceil_seconds(Duration d) { return Duration{(ns(d) + kS - 1) / kS * kS}; }

// The K of "appK" / "db-replicaK", 0 when `name` is not such a name.
std::uint32_t index_of(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return 0;
  std::uint32_t v = 0;
  for (char c : name.substr(prefix.size())) {
    if (c < '0' || c > '9' || v > 100'000) return 0;
    v = v * 10 + std::uint32_t(c - '0');
  }
  return v;
}

// The highest "appK" (or "db-replicaK") any fault or operation names.
std::uint32_t highest_named(const Scenario& s, std::string_view prefix) {
  std::uint32_t m = 0;
  auto see = [&](const NameRef& n) { m = std::max(m, index_of(n.name, prefix)); };
  auto see_all = [&](const std::vector<NameRef>& v) { std::for_each(v.begin(), v.end(), see); };
  for (const auto& f : s.faults) {
    for (const auto& g : f.groups) see_all(g);
    see_all(f.from);
    see_all(f.to);
    see_all(f.between);
    see_all(f.nodes);
    see(f.peer);
  }
  for (const auto& op : s.operations) {
    see_all(op.nodes);
    see_all(op.to);
  }
  return m;
}

class Shrinker {
 public:
  Shrinker(const Scenario& s, const ShrinkOptions& o) : o_(o), started_(std::chrono::steady_clock::now()) {
    best_ = s;
    best_.expect.violations.clear();  // the repro must FAIL under `faultline run`
    best_.fuzz = FuzzConfig{};
    best_.seed = o.seed;
  }

  ShrinkResult go() {
    ShrinkResult result;
    result.original = best_;
    RunOptions ro;
    ro.seed = o_.seed;
    ro.stop_at_first = true;
    const RunResult first = run_scenario(best_, ro);
    if (first.outcome == Outcome::internal_error) {
      result.error = "the run ended in an internal error: " +
                     (first.problems.empty() ? std::string("(no detail)") : first.problems.front());
      return result;
    }
    if (first.violations.empty()) {
      result.error = "seed " + std::to_string(o_.seed) + " breaks no invariant of " + best_.path +
                     ": nothing to shrink";
      return result;
    }
    target_ = first.violations.front().invariant;
    violation_at_ = first.violations.front().at;
    result.ok = true;
    result.invariant = target_;

    // Rounds until one keeps nothing: a later step (a shorter duration) can
    // make an earlier one (removing a fault) succeed.
    for (bool progress = true; progress && budget_left();) {
      progress = false;
      progress |= remove_faults();
      progress |= kinder_timing();
      progress |= remove_operations();
      progress |= shorten_faults();
      progress |= move_earlier();
      progress |= cut_duration();
      progress |= fewer_clients();
      progress |= fewer_servers();
    }

    RunOptions full;
    full.seed = o_.seed;
    result.final_run = run_scenario(best_, full);
    result.same_failure = result.final_run.outcome == Outcome::fail && !result.final_run.violations.empty() &&
                          result.final_run.violations.front().invariant == target_;
    result.scenario = best_;
    result.candidates = candidates_;
    result.kept = kept_;
    result.budget_exhausted = exhausted_;
    result.wall_seconds = elapsed();
    return result;
  }

 private:
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }
  bool budget_left() {
    if (candidates_ >= o_.max_candidates || elapsed() >= o_.budget_seconds) exhausted_ = true;
    return !exhausted_;
  }

  // Runs `c`; keeps it iff its first violation is of the target invariant.
  bool attempt(Scenario c, std::string_view what) {
    if (!budget_left()) return false;
    if (!validate_scenario(c).empty()) return false;  // not a scenario the loader would accept: not run
    ++candidates_;
    RunOptions ro;
    ro.seed = o_.seed;
    ro.stop_at_first = true;
    const RunResult r = run_scenario(c, ro);
    if (r.violations.empty() || r.violations.front().invariant != target_) return false;
    best_ = std::move(c);
    violation_at_ = r.violations.front().at;
    ++kept_;
    if (o_.log) *o_.log << "  shrink: " << what << ": " << scenario_size(best_) << "\n";
    return true;
  }

  bool remove_faults() {
    bool any = false;
    for (std::size_t chunk = std::max<std::size_t>(1, best_.faults.size() / 2);; chunk /= 2) {
      for (std::size_t i = 0; i < best_.faults.size() && budget_left();) {
        Scenario c = best_;
        const std::size_t end = std::min(i + chunk, c.faults.size());
        c.faults.erase(c.faults.begin() + std::ptrdiff_t(i), c.faults.begin() + std::ptrdiff_t(end));
        if (attempt(std::move(c), "removed " + std::to_string(end - i) + " fault(s)")) any = true;
        else i += chunk;
      }
      if (chunk <= 1) break;
    }
    return any;
  }

  // [timing] back to kind: all of it, else one knob at a time, so that the
  // repro keeps only the unkindness the failure needs.
  bool kinder_timing() {
    if (!best_.timing.any() || !budget_left()) return false;
    {
      Scenario c = best_;
      c.timing = TimingConfig{};
      if (attempt(std::move(c), "kind timing")) return true;
    }
    bool any = false;
    const auto knob = [&](const char* what, auto&& off) {
      if (!budget_left()) return;
      Scenario c = best_;
      off(c.timing);
      if (c.timing.latency_tail == best_.timing.latency_tail && c.timing.jitter == best_.timing.jitter &&
          c.timing.clock_drift_ppm == best_.timing.clock_drift_ppm && c.timing.timer_late == best_.timing.timer_late &&
          c.timing.commit_latency == best_.timing.commit_latency)
        return;  // already off
      if (attempt(std::move(c), std::string("timing without ") + what)) any = true;
    };
    knob("latency tails", [](TimingConfig& t) { t.latency_tail = 0; t.latency_tail_factor = 1; });
    knob("jitter", [](TimingConfig& t) { t.jitter = Duration{0}; });
    knob("clock drift", [](TimingConfig& t) { t.clock_drift_ppm = 0; });
    knob("late timers", [](TimingConfig& t) { t.timer_late = 0; t.timer_late_max = Duration{0}; });
    knob("slow commits", [](TimingConfig& t) { t.commit_latency = DurationRange{}; });
    return any;
  }

  bool remove_operations() {
    bool any = false;
    for (std::size_t i = 0; i < best_.operations.size() && budget_left();) {
      Scenario c = best_;
      c.operations.erase(c.operations.begin() + std::ptrdiff_t(i));
      if (attempt(std::move(c), "removed an operation")) any = true;
      else ++i;
    }
    return any;
  }

  bool shorten_faults() {
    bool any = false;
    for (std::size_t i = 0; i < best_.faults.size(); ++i) {
      while (best_.faults[i].for_ && *best_.faults[i].for_ >= milliseconds(200) && budget_left()) {
        Scenario c = best_;
        c.faults[i].for_ = half(*c.faults[i].for_);
        if (!attempt(std::move(c), "halved fault #" + std::to_string(i + 1) + "'s for")) break;
        any = true;
      }
      while (best_.faults[i].restart_after && *best_.faults[i].restart_after >= milliseconds(200) && budget_left()) {
        Scenario c = best_;
        c.faults[i].restart_after = half(*c.faults[i].restart_after);
        if (!attempt(std::move(c), "halved fault #" + std::to_string(i + 1) + "'s restart_after")) break;
        any = true;
      }
    }
    return any;
  }

  // Earlier faults and operations: a shorter prefix before the interesting
  // part, and then a shorter duration. Kept sorted by time (stable, so equal
  // times keep their order and with it the run's tie-breaking).
  bool move_earlier() {
    bool any = false;
    auto sort_faults = [](Scenario& c) {
      std::stable_sort(c.faults.begin(), c.faults.end(), [](const Fault& a, const Fault& b) { return a.at < b.at; });
    };
    for (std::size_t i = 0; i < best_.faults.size(); ++i) {
      while (best_.faults[i].at > Time{milliseconds(100)} && budget_left()) {
        Scenario c = best_;
        c.faults[i].at = Time{half(c.faults[i].at.time_since_epoch())};
        sort_faults(c);
        if (!attempt(std::move(c), "moved fault #" + std::to_string(i + 1) + " earlier")) break;
        any = true;
      }
    }
    for (std::size_t i = 0; i < best_.operations.size(); ++i) {
      while (best_.operations[i].at > Time{milliseconds(100)} && budget_left()) {
        Scenario c = best_;
        c.operations[i].at = Time{half(c.operations[i].at.time_since_epoch())};
        if (!attempt(std::move(c), "moved operation #" + std::to_string(i + 1) + " earlier")) break;
        any = true;
      }
    }
    return any;
  }

  // The duration cut to just after the last fault or operation and the
  // violation's time (if it came within the safety phase): the shortest of a
  // few candidates that still fails.
  bool cut_duration() {
    Time last{};
    for (const auto& f : best_.faults) last = std::max(last, f.at);
    for (const auto& op : best_.operations) last = std::max(last, op.at);
    Duration floor = last.time_since_epoch();
    if (violation_at_.time_since_epoch() <= best_.duration) floor = std::max(floor, violation_at_.time_since_epoch());
    const Duration base = ceil_seconds(floor);
    std::vector<Duration> candidates = {base + seconds(1), base + seconds(10), base + seconds(30),
                                        base + (best_.duration - base) / 2};
    std::sort(candidates.begin(), candidates.end());
    for (Duration d : candidates) {
      d = ceil_seconds(d);
      if (d >= best_.duration || d <= Duration::zero() || !budget_left()) continue;
      Scenario c = best_;
      c.duration = d;
      if (attempt(std::move(c), "cut the duration to " + format_duration(d))) return true;
    }
    return false;
  }

  bool fewer_clients() {
    bool any = false;
    const std::uint32_t n = best_.clients.count;
    for (std::uint32_t count : {0u, 1u, n / 4, n / 2}) {
      if (count >= best_.clients.count || !budget_left()) continue;
      Scenario c = best_;
      c.clients.count = count;
      if (attempt(std::move(c), "clients " + std::to_string(count))) {
        any = true;
        break;
      }
    }
    if (best_.clients.count == 0) return any;
    for (int factor : {4, 2}) {
      if (best_.clients.post_interval * factor > best_.duration + best_.settle || !budget_left()) continue;
      Scenario c = best_;
      c.clients.post_interval = best_.clients.post_interval * factor;
      if (attempt(std::move(c), "post_interval x" + std::to_string(factor))) {
        any = true;
        break;
      }
    }
    return any;
  }

  bool fewer_servers() {
    bool any = false;
    // add_server names the new servers after the initial ones: fewer initial
    // servers would rename them. Leave such clusters as they are.
    const bool adds = std::any_of(best_.operations.begin(), best_.operations.end(),
                                  [](const Operation& op) { return op.runbook == Runbook::add_server; });
    if (!adds) {
      const std::uint32_t named = std::max<std::uint32_t>(1, highest_named(best_, "app"));
      for (std::uint32_t n = named; n < best_.cluster.app_servers && budget_left(); ++n) {
        Scenario c = best_;
        c.cluster.app_servers = n;
        std::erase_if(c.cluster.servers, [n](const ServerOverride& o) { return index_of(o.name.name, "app") > n; });
        if (attempt(std::move(c), "app_servers " + std::to_string(n))) {
          any = true;
          break;
        }
      }
    }
    const std::uint32_t named = highest_named(best_, "db-replica");
    for (std::uint32_t n = named; n < best_.database.replicas && budget_left(); ++n) {
      Scenario c = best_;
      c.database.replicas = n;
      if (attempt(std::move(c), "replicas " + std::to_string(n))) {
        any = true;
        break;
      }
    }
    return any;
  }

  const ShrinkOptions& o_;
  const std::chrono::steady_clock::time_point started_;
  Scenario best_;
  std::string target_;
  Time violation_at_{};
  std::size_t candidates_ = 0, kept_ = 0;
  bool exhausted_ = false;
};

}  // namespace

std::string scenario_size(const Scenario& s) {
  return "faults=" + std::to_string(s.faults.size()) + " operations=" + std::to_string(s.operations.size()) +
         " duration=" + format_duration(s.duration) + " clients=" + std::to_string(s.clients.count) +
         " post_interval=" + format_duration(s.clients.post_interval) + " app_servers=" +
         std::to_string(s.cluster.app_servers) + " replicas=" + std::to_string(s.database.replicas) +
         (s.timing.any() ? " timing=unkind" : "");
}

ShrinkResult shrink_scenario(const Scenario& failing, const ShrinkOptions& options) {
  return Shrinker(failing, options).go();
}

}  // namespace fl::harness
