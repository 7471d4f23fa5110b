#include "harness/fuzz.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <ostream>
#include <thread>

#include "base/assert.h"
#include "harness/scenario_loader.h"
#include "harness/scenario_writer.h"
#include "reports/report.h"

namespace fl::harness {
namespace {

constexpr std::int64_t kMs = 1'000'000;  // ns per ms: every drawn time is whole milliseconds (readable repros)

bool is_network_fault(FaultKind k) {
  switch (k) {
    case FaultKind::partition:
    case FaultKind::one_way:
    case FaultKind::loss:
    case FaultKind::duplicate:
    case FaultKind::reorder:
    case FaultKind::delay: return true;
    default: return false;
  }
}

// Kinds that only mean something after another fault (a heal after a network
// fault, a restart after a crash); drawn only when that holds.
bool is_follow_up(FaultKind k) { return k == FaultKind::heal || k == FaultKind::restart; }

bool applies(FaultKind k, const Scenario& s) {
  const std::uint32_t apps = s.cluster.app_servers;
  switch (k) {
    case FaultKind::partition:
    case FaultKind::one_way:
    case FaultKind::gossip_send_failure: return apps >= 2;
    case FaultKind::crash:
    case FaultKind::restart:
    case FaultKind::pause:
    case FaultKind::clock_skew:
    case FaultKind::clock_step: return apps >= 1;
    case FaultKind::replica_lag:
    case FaultKind::db_failover: return s.database.replicas >= 1;
    case FaultKind::heal:
    case FaultKind::loss:
    case FaultKind::duplicate:
    case FaultKind::reorder:
    case FaultKind::delay:
    case FaultKind::db_crash:
    case FaultKind::storage_outage: return true;
  }
  FL_UNREACHABLE();
}

// Draws one schedule. State tracked in time order so that no fault is
// meaningless: which app servers are down (and until when), whether a network
// fault came before, whether the primary was crashed.
class Drawer {
 public:
  Drawer(const Scenario& s, DrawSource& d) : s_(s), d_(d) {
    for (std::uint32_t i = 1; i <= s.cluster.app_servers; ++i) apps_.push_back(app_name(i));
    down_until_.assign(apps_.size(), Time::min());
  }

  Schedule draw() {
    Schedule out;
    const std::vector<FaultKind> kinds = applicable_kinds(s_);
    if (kinds.empty()) return out;
    // Swarm testing (Groce et al. 2012; FoundationDB, TigerBeetle): each seed
    // enables a random non-empty subset of the kinds, so that some seeds hammer
    // one mechanism instead of diluting every one.
    if (s_.fuzz.swarm) {
      for (FaultKind k : kinds)
        if (d_.between(0, 1) == 1) out.enabled.push_back(k);
      if (out.enabled.empty()) out.enabled.push_back(kinds[std::size_t(d_.between(0, std::int64_t(kinds.size()) - 1))]);
    } else {
      out.enabled = kinds;
    }
    const std::uint32_t max = s_.fuzz.max_faults;
    if (max == 0) return out;
    const std::int64_t count = d_.between(1, max);
    // Times first, sorted, so that kinds are chosen knowing what came before.
    const std::int64_t duration_ms = std::max<std::int64_t>(ns(s_.duration) / kMs, 1);
    std::vector<std::int64_t> times;
    for (std::int64_t i = 0; i < count; ++i) times.push_back(d_.between(0, duration_ms - 1));
    std::sort(times.begin(), times.end());
    for (std::int64_t at_ms : times) {
      const Time at{Duration{at_ms * kMs}};
      std::vector<FaultKind> possible;
      for (FaultKind k : out.enabled)
        if (possible_now(k, at)) possible.push_back(k);
      if (possible.empty()) continue;  // e.g. only heal enabled and nothing to heal yet
      const FaultKind k = possible[std::size_t(d_.between(0, std::int64_t(possible.size()) - 1))];
      out.faults.push_back(make(k, at));
    }
    return out;
  }

 private:
  std::vector<std::size_t> apps_up(Time at) const {
    std::vector<std::size_t> v;
    for (std::size_t i = 0; i < apps_.size(); ++i)
      if (down_until_[i] <= at) v.push_back(i);
    return v;
  }
  std::vector<std::size_t> apps_down_for_good(Time at) const {
    std::vector<std::size_t> v;
    for (std::size_t i = 0; i < apps_.size(); ++i)
      if (down_until_[i] == Time::max() && at >= Time{}) v.push_back(i);
    return v;
  }

  bool possible_now(FaultKind k, Time at) const {
    switch (k) {
      case FaultKind::heal: return network_before_;
      case FaultKind::restart: return !apps_down_for_good(at).empty();
      case FaultKind::crash:
      case FaultKind::pause: return !apps_up(at).empty();
      case FaultKind::db_crash: return !primary_crashed_;
      default: return true;
    }
  }

  std::int64_t pick(std::size_t n) { return d_.between(0, std::int64_t(n) - 1); }
  bool coin() { return d_.between(0, 1) == 1; }
  Duration ms(std::int64_t v) { return Duration{v * kMs}; }

  // A `for`: from 1 s (or the duration, if shorter) to what is left of the
  // safety phase, so that most faults also end within it.
  Duration draw_for(Time at) {
    const std::int64_t left = std::max<std::int64_t>((ns(s_.duration) - ns(at)) / kMs, 1);
    const std::int64_t lo = std::min<std::int64_t>(1000, left);
    return ms(d_.between(lo, std::max(lo, left)));
  }

  // Two distinct nodes of apps + db-primary, for `between`.
  std::vector<NameRef> pair() {
    std::vector<std::string> pool = apps_;
    pool.emplace_back(kDbPrimaryName);
    const std::size_t a = std::size_t(pick(pool.size()));
    std::size_t b = std::size_t(pick(pool.size() - 1));
    if (b >= a) ++b;
    return {NameRef{pool[a], {}}, NameRef{pool[b], {}}};
  }

  // A non-empty proper subset of the app servers (as indices), the rest its complement.
  void split_apps(std::vector<NameRef>& one, std::vector<NameRef>& rest) {
    std::vector<std::size_t> order(apps_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[std::size_t(pick(i))]);  // Fisher-Yates
    const std::size_t cut = std::size_t(d_.between(1, std::int64_t(apps_.size()) - 1));
    for (std::size_t i = 0; i < order.size(); ++i) (i < cut ? one : rest).push_back(NameRef{apps_[order[i]], {}});
    // Names in cluster order inside each group: readable, and the order is not a draw.
    auto by_index = [](const NameRef& a, const NameRef& b) {
      return a.name.size() != b.name.size() ? a.name.size() < b.name.size() : a.name < b.name;
    };
    std::sort(one.begin(), one.end(), by_index);
    std::sort(rest.begin(), rest.end(), by_index);
  }

  Fault make(FaultKind k, Time at) {
    Fault f;
    f.kind = k;
    f.at = at;
    if (is_network_fault(k)) network_before_ = true;
    switch (k) {
      case FaultKind::partition: {
        std::vector<NameRef> one, rest;
        split_apps(one, rest);
        // Sometimes the database is cut off with one side: the db_lease
        // election and the database-clock lock see a partition differently.
        if (d_.between(0, 2) == 0) (coin() ? one : rest).push_back(NameRef{std::string(kDbPrimaryName), {}});
        f.groups = {std::move(one), std::move(rest)};
        if (coin()) f.for_ = draw_for(at);
        break;
      }
      case FaultKind::one_way:
        split_apps(f.from, f.to);
        if (coin()) f.for_ = draw_for(at);
        break;
      case FaultKind::heal: break;
      case FaultKind::loss:
      case FaultKind::duplicate:
      case FaultKind::reorder:
        f.rate = double(d_.between(1, 100)) / 100.0;  // exact in every IEEE implementation
        if (coin()) f.between = pair();
        if (coin()) f.for_ = draw_for(at);
        break;
      case FaultKind::delay: {
        const std::int64_t lo = d_.between(1, 1000);
        f.latency = DurationRange{ms(lo), ms(lo + d_.between(0, 5000))};
        if (coin()) f.between = pair();
        if (coin()) f.for_ = draw_for(at);
        break;
      }
      case FaultKind::crash: {
        const auto up = apps_up(at);
        const std::size_t i = up[std::size_t(pick(up.size()))];
        f.nodes = {NameRef{apps_[i], {}}};
        if (coin()) {
          f.restart_after = ms(d_.between(1000, 120'000));
          down_until_[i] = at + *f.restart_after;
        } else {
          down_until_[i] = Time::max();
        }
        break;
      }
      case FaultKind::restart: {
        const auto down = apps_down_for_good(at);
        const std::size_t i = down[std::size_t(pick(down.size()))];
        f.nodes = {NameRef{apps_[i], {}}};
        down_until_[i] = Time::min();
        break;
      }
      case FaultKind::pause: {
        const auto up = apps_up(at);
        f.nodes = {NameRef{apps_[up[std::size_t(pick(up.size()))]], {}}};
        f.for_ = draw_for(at);
        break;
      }
      case FaultKind::clock_skew: {
        f.nodes = {NameRef{apps_[std::size_t(pick(apps_.size()))], {}}};
        std::int64_t off = d_.between(-120'000, 120'000);
        f.offset = ms(off == 0 ? 1 : off);
        if (coin()) f.drift_ppm = d_.between(-500, 500);
        if (coin()) f.for_ = draw_for(at);
        break;
      }
      case FaultKind::clock_step: {
        f.nodes = {NameRef{apps_[std::size_t(pick(apps_.size()))], {}}};
        std::int64_t by = d_.between(-60'000, 60'000);
        f.by = ms(by == 0 ? 1 : by);
        break;
      }
      case FaultKind::gossip_send_failure: {
        const std::size_t a = std::size_t(pick(apps_.size()));
        std::size_t b = std::size_t(pick(apps_.size() - 1));
        if (b >= a) ++b;
        f.nodes = {NameRef{apps_[a], {}}};
        f.peer = NameRef{apps_[b], {}};
        f.for_ = draw_for(at);
        break;
      }
      case FaultKind::db_crash:
        f.nodes = {NameRef{std::string(kDbPrimaryName), {}}};
        primary_crashed_ = true;
        break;
      case FaultKind::replica_lag:
        f.nodes = {NameRef{replica_name(std::uint32_t(d_.between(1, s_.database.replicas))), {}}};
        f.lag = ms(d_.between(1000, 60'000));
        f.for_ = draw_for(at);
        break;
      case FaultKind::db_failover: break;
      case FaultKind::storage_outage: f.for_ = draw_for(at); break;
    }
    return f;
  }

  const Scenario& s_;
  DrawSource& d_;
  std::vector<std::string> apps_;
  std::vector<Time> down_until_;  // Time::max(): crashed with no restart yet
  bool network_before_ = false;
  bool primary_crashed_ = false;
};

std::string stem_of(const std::string& path) {
  std::string stem = path;
  if (auto slash = stem.find_last_of('/'); slash != std::string::npos) stem = stem.substr(slash + 1);
  if (stem.size() > 5 && stem.substr(stem.size() - 5) == ".toml") stem.resize(stem.size() - 5);
  return stem;
}

}  // namespace

std::vector<FaultKind> applicable_kinds(const Scenario& s) {
  std::vector<FaultKind> out;
  for (FaultKind k : s.fuzz.faults)
    if (applies(k, s) && std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  // A follow-up alone can never be drawn (nothing before it to follow).
  if (std::all_of(out.begin(), out.end(), is_follow_up)) out.clear();
  return out;
}

std::string fuzz_config_error(const Scenario& s) {
  const std::string example =
      "; expected a table such as\n  [fuzz]\n  faults = [\"partition\", \"crash\", \"clock_skew\"]\n"
      "  max_faults = 8\n  swarm = true";
  if (!s.fuzz.present) return s.path + ": no [fuzz] table: nothing says what faultline fuzz may draw" + example;
  if (s.fuzz.faults.empty()) return s.path + ": [fuzz] has no faults" + example;
  if (applicable_kinds(s).empty())
    return s.path + ": none of the [fuzz] fault kinds applies to this cluster (a partition needs two app servers, "
                    "db_failover and replica_lag a replica, heal and restart another fault before them)" + example;
  return "";
}

TimingConfig draw_timing(DrawSource& d) {
  TimingConfig t;
  const auto on = [&] { return d.between(0, 1) == 1; };
  if (on()) {
    t.latency_tail = double(d.between(1, 50)) / 1000.0;
    t.latency_tail_factor = d.between(2, 100);
  }
  if (on()) t.jitter = Duration{d.between(1, 50) * kMs};
  if (on()) t.clock_drift_ppm = d.between(1, 500);
  if (on()) {
    t.timer_late = double(d.between(1, 20)) / 100.0;
    t.timer_late_max = Duration{d.between(10, 2000) * kMs};
  }
  if (on()) {
    const std::int64_t lo = d.between(0, 5);
    t.commit_latency = DurationRange{Duration{lo * kMs}, Duration{(lo + d.between(1, 500)) * kMs}};
  }
  return t;
}

namespace {
Schedule draw_schedule(const Scenario& s, DrawSource& faults, DrawSource& timing) {
  Schedule out = Drawer(s, faults).draw();
  out.timing = s.fuzz.timing ? draw_timing(timing) : s.timing;
  return out;
}
}  // namespace

Schedule draw_schedule(const Scenario& s, DrawSource& draw) { return draw_schedule(s, draw, draw); }

Schedule draw_schedule(const Scenario& s, std::uint64_t seed) {
  RngSource faults(Rng(seed).split("fuzz.schedule"));
  RngSource timing(Rng(seed).split("fuzz.timing"));
  return draw_schedule(s, faults, timing);
}

Scenario fuzzed_scenario(const Scenario& base, const Schedule& schedule, std::uint64_t seed) {
  Scenario s = base;
  s.faults = schedule.faults;
  s.timing = schedule.timing;
  s.expect.violations.clear();
  s.fuzz = FuzzConfig{};
  s.seed = seed;
  s.name = base.name + " (fuzz seed " + std::to_string(seed) + ")";
  return s;
}

Scenario fuzzed_scenario(const Scenario& base, std::uint64_t seed) {
  return fuzzed_scenario(base, draw_schedule(base, seed), seed);
}

std::string write_repro(const std::string& dir, const ShrinkResult& shrunk, const std::vector<std::string>& header,
                        std::string* folder_out, std::string* repro_out) {
  const std::uint64_t seed = shrunk.scenario.seed;
  const std::filesystem::path folder = std::filesystem::path(dir) / (stem_of(shrunk.original.path) + "-" + std::to_string(seed));
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return "cannot create " + folder.string() + ": " + ec.message();
  const std::string repro = (folder / "repro.toml").string();
  {
    std::ofstream f(repro, std::ios::binary);
    WriteOptions o;
    o.header = header;
    f << write_scenario(shrunk.scenario, o);
    if (!f) return "cannot write " + repro;
  }
  // The report of the shrunk run, with the command that reproduces it: the
  // repro file, not the fuzzed file (whose faults are drawn, not written).
  reports::RunResult report = shrunk.final_run.report;
  report.reproduce = "faultline run " + repro;
  report.scenario_path = repro;
  report.scenario_name = shrunk.scenario.name;
  const std::string error = reports::write_run_folder(folder.string() + "/", report);
  if (!error.empty()) return error;
  if (folder_out) *folder_out = folder.string() + "/";
  if (repro_out) *repro_out = repro;
  return "";
}

FuzzSummary run_fuzz(const Scenario& scenario, const FuzzOptions& o,
                     const std::function<void(std::uint64_t, const Schedule&, const RunResult&)>& on_result) {
  FL_ASSERT(o.shard_count >= 1 && o.shard_index < o.shard_count);
  FuzzSummary summary;
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };

  // Seeds 1, 2, 3, ... of this shard, handed out in increasing order. Without
  // keep_going, a failure at seed F stops handing out seeds above F; the seeds
  // below F were all handed out already and finish, so the judged set (every
  // seed up to the lowest failing one) does not depend on threads or timing.
  std::mutex mu;
  std::uint64_t next_seed = o.shard_index == 0 ? o.shard_count : o.shard_index;
  std::uint64_t stop_after = UINT64_MAX;  // the lowest failing seed (without keep_going)
  std::map<std::uint64_t, std::pair<Schedule, RunResult>> ready;  // finished, not yet reported
  std::vector<std::uint64_t> started_seeds;                         // in order
  std::size_t next_report = 0;
  std::uint64_t failures = 0;
  bool exhausted = false;  // the seed space of this shard ran out (2^64 seeds: never, in practice)
  const std::uint64_t last_seed = o.wall_seconds ? UINT64_MAX : o.seeds;

  auto report_ready = [&] {  // holds mu
    while (next_report < started_seeds.size()) {
      const std::uint64_t seed = started_seeds[next_report];
      auto it = ready.find(seed);
      if (it == ready.end()) break;
      if (seed <= stop_after) {
        ++summary.seeds_run;
        if (on_result) on_result(seed, it->second.first, it->second.second);
        if (it->second.second.outcome != Outcome::pass) {
          FuzzFailure f;
          f.seed = seed;
          f.faults = it->second.first.faults.size();
          f.run = std::move(it->second.second);
          summary.failures.push_back(std::move(f));
        }
      }
      ready.erase(it);
      ++next_report;
    }
    if (o.progress) {
      const double wall = elapsed();
      const double rate = wall > 0 ? double(summary.seeds_run) / wall : 0;
      *o.progress << "\r\033[K" << summary.seeds_run << " seeds, " << failures << " failed, " << std::fixed
                  << std::setprecision(1) << rate << " seeds/s";
      if (o.wall_seconds) *o.progress << ", " << std::setprecision(0) << std::max(0.0, *o.wall_seconds - wall) << "s left";
      else if (rate > 0) *o.progress << ", " << std::setprecision(0) << double(o.seeds / o.shard_count - std::min(o.seeds / o.shard_count, summary.seeds_run)) / rate << "s left";
      *o.progress << std::flush;
    }
  };

  auto worker = [&] {
    for (;;) {
      std::uint64_t seed;
      {
        std::lock_guard lock(mu);
        if (exhausted || next_seed > last_seed || next_seed > stop_after) return;
        if (o.wall_seconds && elapsed() >= *o.wall_seconds) return;  // decides only how many seeds start
        seed = next_seed;
        started_seeds.push_back(seed);
        if (seed > UINT64_MAX - o.shard_count) exhausted = true;
        else next_seed = seed + o.shard_count;
      }
      Schedule schedule = draw_schedule(scenario, seed);
      const Scenario fuzzed = fuzzed_scenario(scenario, schedule, seed);
      RunOptions ro;
      ro.seed = seed;
      ro.stop_at_first = true;  // speed: the first violation is the verdict and the shrink target
      RunResult r = run_scenario(fuzzed, ro);
      std::lock_guard lock(mu);
      if (r.outcome != Outcome::pass) {
        ++failures;
        if (!o.keep_going) stop_after = std::min(stop_after, seed);
      }
      ready.emplace(seed, std::make_pair(std::move(schedule), std::move(r)));
      report_ready();
    }
  };

  const unsigned threads = std::max(1u, o.jobs);
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  {
    std::lock_guard lock(mu);
    report_ready();
    if (o.progress) *o.progress << "\r\033[K" << std::flush;
  }
  summary.wall_seconds = elapsed();  // the seeds' rate; shrinking comes after

  if (!o.shrink) return summary;
  for (FuzzFailure& f : summary.failures) {
    const Scenario fuzzed = fuzzed_scenario(scenario, f.seed);
    ShrinkOptions so = o.shrink_options;
    so.seed = f.seed;
    so.log = o.log;
    ShrinkResult sr = shrink_scenario(fuzzed, so);
    if (sr.ok) {
      sr.scenario.name = scenario.name + " (repro of fuzz seed " + std::to_string(f.seed) + ")";
      if (!o.out_dir.empty()) {
        const std::vector<std::string> header = {
            "repro.toml: a minimal scenario that breaks " + sr.invariant + ", shrunk by faultline",
            "from: " + scenario.path + ", fuzz seed " + std::to_string(f.seed) + " (" + std::to_string(f.faults) +
                " faults drawn; " + std::to_string(sr.scenario.faults.size()) + " kept)",
            "found by: " + (o.command.empty() ? "faultline fuzz " + scenario.path : o.command),
            "run it: faultline run <this file> (fails with " + sr.invariant + ")"};
        const std::string error = write_repro(o.out_dir, sr, header, &f.folder, &f.repro_path);
        if (!error.empty() && summary.error.empty()) summary.error = error;
      }
    }
    f.shrunk = std::move(sr);
  }
  return summary;
}

}  // namespace fl::harness
