#include "harness/fuzz.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <mutex>
#include <ostream>
#include <thread>

#include <nlohmann/json.hpp>

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

std::string write_fuzz_summary(const std::string& dir, const Scenario& scenario, const FuzzOptions& o,
                               const FuzzSummary& summary) {
  char hash[32];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(scenario.source_hash));
  nlohmann::ordered_json failing = nlohmann::ordered_json::array();
  for (const auto& f : summary.failures) failing.push_back(f.seed);
  const double rate = summary.wall_seconds > 0 ? double(summary.seeds_run) / summary.wall_seconds : 0;
  nlohmann::ordered_json shard = {{"index", o.shard_index},
                                  {"seeds_requested", o.wall_seconds ? nlohmann::ordered_json() : nlohmann::ordered_json(o.seeds)},
                                  {"seeds_run", summary.seeds_run},
                                  {"failures", summary.failures.size()},
                                  {"failing_seeds", failing},
                                  {"wall_seconds", summary.wall_seconds},
                                  {"seeds_per_s", rate}};
  nlohmann::ordered_json missing = nlohmann::ordered_json::array();
  for (std::uint64_t i = 0; i < o.shard_count; ++i)
    if (i != o.shard_index) missing.push_back(i);
  nlohmann::ordered_json campaign = {{"scenario", scenario.path},
                                     {"scenario_hash", hash},
                                     {"guided", o.guided},
                                     {"shard_count", o.shard_count},
                                     {"shards", nlohmann::ordered_json::array({shard})},
                                     {"seeds_run", summary.seeds_run},
                                     {"failures", summary.failures.size()},
                                     {"failing_seeds", failing},
                                     {"shards_missing", missing},
                                     {"wall_seconds", summary.wall_seconds},
                                     {"cpu_seconds", summary.wall_seconds},
                                     {"seeds_per_s", rate}};
  nlohmann::ordered_json j = {{"schema", std::string(kFuzzSummarySchema)},
                              {"campaigns", nlohmann::ordered_json::array({campaign})}};
  const std::string path = (std::filesystem::path(dir) / std::string(kFuzzSummaryFile)).string();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << j.dump(2) << "\n";
  f.close();
  return f ? "" : "cannot write " + path;
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


// ---- guided search -----------------------------------------------------------

namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 29);
}

std::uint64_t bucket(std::uint64_t v) { return v == 0 ? 0 : v <= 2 ? 1 : v <= 9 ? 2 : 3; }

}  // namespace

struct FingerprintRecorder::State {
  std::uint32_t apps = 0, db_first = 0, db_count = 0;
  std::vector<NodeId> believed;   // per app server: the leader it believes in
  std::vector<char> acting, lock, down, paused;
  std::set<std::pair<std::uint32_t, std::uint32_t>> peers_down, peers_red;
  NodeId primary{kNoNode};
  bool primary_down = false;
  std::uint64_t primary_lsn = 0;
  std::vector<std::uint64_t> applied;  // per database member
  std::map<std::uint64_t, int> claims;
  std::set<std::uint64_t> running;
  bool double_claim = false;
  std::set<std::uint64_t> states;
  std::uint64_t last = 0;

  bool is_app(NodeId n) const { return n.value < apps; }
  bool is_db(NodeId n) const { return n.value >= db_first && n.value < db_first + db_count; }

  std::uint64_t hash() const {
    std::uint64_t acting_n = 0, lock_n = 0, down_n = 0, paused_n = 0;
    std::set<std::uint32_t> leaders;
    for (std::uint32_t i = 0; i < apps; ++i) {
      acting_n += acting[i];
      lock_n += lock[i];
      down_n += down[i];
      paused_n += paused[i];
      if (!down[i] && believed[i] != kNoNode) leaders.insert(believed[i].value);
    }
    std::uint64_t h = 0;
    h = mix(h, std::min<std::uint64_t>(acting_n, 2));
    h = mix(h, std::min<std::uint64_t>(leaders.size(), 3));
    h = mix(h, std::min<std::uint64_t>(lock_n, 2));
    h = mix(h, bucket(peers_down.size()));
    h = mix(h, bucket(peers_red.size()));
    std::vector<std::uint64_t> behind;
    for (std::uint32_t i = 0; i < db_count; ++i) {
      if (NodeId{db_first + i} == primary) continue;
      behind.push_back(bucket(primary_lsn > applied[i] ? primary_lsn - applied[i] : 0));
    }
    std::sort(behind.begin(), behind.end());
    for (auto b : behind) h = mix(h, 10 + b);
    h = mix(h, std::min<std::uint64_t>(running.size(), 2));
    h = mix(h, double_claim);
    h = mix(h, std::min<std::uint64_t>(down_n, 2));
    h = mix(h, std::min<std::uint64_t>(paused_n, 2));
    h = mix(h, primary_down);
    return h;
  }
};

FingerprintRecorder::FingerprintRecorder(const Scenario& s) : st_(std::make_unique<State>()) {
  std::uint32_t added = 0;
  for (const auto& op : s.operations) added += op.runbook == Runbook::add_server ? 1 : 0;
  // Node ids follow the cluster's declaration order (scenario.h): the app
  // servers, then the database members, primary first.
  st_->apps = s.cluster.app_servers + added;
  st_->db_first = st_->apps;
  st_->db_count = 1 + s.database.replicas;
  st_->primary = NodeId{st_->db_first};
  st_->believed.assign(st_->apps, kNoNode);
  st_->acting.assign(st_->apps, 0);
  st_->lock.assign(st_->apps, 0);
  st_->down.assign(st_->apps, 0);
  st_->paused.assign(st_->apps, 0);
  st_->applied.assign(st_->db_count, 0);
}

FingerprintRecorder::~FingerprintRecorder() = default;

void FingerprintRecorder::on_event(const HistoryEvent& e) {
  State& s = *st_;
  const NodeId n = e.node;
  bool changed = true;
  if (n != kNoNode && s.is_app(n)) {
    const std::uint32_t i = n.value;
    if (e.is<ElectionWon>()) s.believed[i] = n;
    else if (const auto* l = e.get<ElectionLost>()) s.believed[i] = l->leader;
    else if (e.is<LeaderBegin>()) s.acting[i] = 1;
    else if (e.is<LeaderEnd>()) s.acting[i] = 0;
    else if (e.is<MigrationLockAcquired>()) s.lock[i] = 1;
    else if (e.is<MigrationLockLost>() || e.is<MigrationLockReleased>()) s.lock[i] = 0;
    else if (const auto* d = e.get<PeerDown>()) s.peers_down.insert({i, d->peer.value});
    else if (const auto* u = e.get<PeerUp>()) s.peers_down.erase({i, u->peer.value});
    else if (const auto* p = e.get<PeerStatus>()) {
      if (p->green) s.peers_red.erase({i, p->peer.value});
      else s.peers_red.insert({i, p->peer.value});
    } else if (const auto* c = e.get<JobClaimed>()) {
      if (++s.claims[c->job] > 1) s.double_claim = true;
      s.running.insert(c->job);
    } else if (const auto* f = e.get<JobFinished>()) s.running.erase(f->job);
    else if (e.is<ProcessCrashed>() || e.is<ProcessStopped>()) {
      s.down[i] = 1;
      s.acting[i] = s.lock[i] = s.paused[i] = 0;
      s.believed[i] = kNoNode;
      std::erase_if(s.peers_down, [i](const auto& p) { return p.first == i; });
      std::erase_if(s.peers_red, [i](const auto& p) { return p.first == i; });
    } else if (e.is<ProcessStarted>()) s.down[i] = 0;
    else if (e.is<ProcessPaused>()) s.paused[i] = 1;
    else if (e.is<ProcessResumed>()) s.paused[i] = 0;
    else changed = false;
  } else if (n != kNoNode && s.is_db(n)) {
    const std::uint32_t i = n.value - s.db_first;
    if (const auto* c = e.get<PostCommitted>()) s.primary_lsn = std::max(s.primary_lsn, c->lsn);
    else if (const auto* a = e.get<ReplicaApplied>()) s.applied[i] = std::max(s.applied[i], a->lsn);
    else if (const auto* p = e.get<Promoted>()) {
      s.primary = n;
      s.primary_down = false;
      s.primary_lsn = p->lsn;
    } else if (e.is<DbCrashed>() || e.is<ProcessCrashed>()) {
      if (n == s.primary) s.primary_down = true;
    } else if (e.is<ProcessStarted>()) {
      if (n == s.primary) s.primary_down = false;
    } else changed = false;
  } else {
    changed = false;
  }
  if (!changed) return;
  const std::uint64_t h = s.hash();
  if (h == s.last) return;
  s.last = h;
  s.states.insert(h);
}

Fingerprint FingerprintRecorder::fingerprint() const { return Fingerprint(st_->states.begin(), st_->states.end()); }

RunResult run_fingerprinted(const Scenario& fuzzed, std::uint64_t seed, Fingerprint* fingerprint) {
  RunOptions ro;
  ro.seed = seed;
  ro.stop_at_first = true;
  if (!fingerprint) return run_scenario(fuzzed, ro);
  FingerprintRecorder rec(fuzzed);
  ro.listen = [&rec](const HistoryEvent& e) { rec.on_event(e); };
  RunResult r = run_scenario(fuzzed, ro);
  *fingerprint = rec.fingerprint();
  return r;
}

namespace {

// Drops what a mutation made meaningless, in time order, by the rules the
// Drawer keeps (fuzz.h: valid by construction), and caps the count.
std::vector<Fault> meaningful(const Scenario& s, std::vector<Fault> faults) {
  std::stable_sort(faults.begin(), faults.end(), [](const Fault& a, const Fault& b) { return a.at < b.at; });
  std::map<std::string, Time> down_until;  // app -> up again at (Time::max(): for good)
  bool network_before = false, primary_crashed = false;
  std::vector<Fault> out;
  const auto up = [&](const std::string& app, Time at) {
    auto it = down_until.find(app);
    return it == down_until.end() || it->second <= at;
  };
  for (Fault& f : faults) {
    if (out.size() >= s.fuzz.max_faults) break;
    const Time end{s.duration};
    if (f.at >= end) continue;
    if (f.for_ && *f.for_ > s.duration) f.for_ = s.duration;
    const std::string node = f.nodes.empty() ? "" : f.nodes.front().name;
    switch (f.kind) {
      case FaultKind::heal:
        if (!network_before) continue;
        break;
      case FaultKind::restart: {
        auto it = down_until.find(node);
        if (it == down_until.end() || it->second != Time::max()) continue;
        down_until.erase(it);
        break;
      }
      case FaultKind::crash:
        if (!up(node, f.at)) continue;
        down_until[node] = f.restart_after ? f.at + *f.restart_after : Time::max();
        break;
      case FaultKind::pause:
        if (!up(node, f.at)) continue;
        break;
      case FaultKind::db_crash:
        if (primary_crashed) continue;
        primary_crashed = true;
        break;
      default: break;
    }
    if (is_network_fault(f.kind)) network_before = true;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

GuidedSearch::GuidedSearch(const Scenario& base) : base_(base) {}

void GuidedSearch::feed(std::uint64_t position, const Schedule& schedule, Fingerprint fingerprint) {
  pending_[position] = {schedule, std::move(fingerprint)};
}

void GuidedSearch::absorb_before(std::uint64_t batch) {
  // In position order (std::map), so the corpus does not depend on which
  // thread finished first.
  for (auto it = pending_.begin(); it != pending_.end() && it->first / kBatch < batch;) {
    bool novel = false;
    for (std::uint64_t h : it->second.second) {
      auto at = std::lower_bound(seen_.begin(), seen_.end(), h);
      if (at != seen_.end() && *at == h) continue;
      seen_.insert(at, h);
      novel = true;
    }
    if (novel) corpus_.push_back(std::move(it->second.first));
    it = pending_.erase(it);
  }
}

Schedule GuidedSearch::candidate(std::uint64_t position, std::uint64_t seed) {
  absorb_before(position / kBatch);
  Rng g = Rng(seed).split("fuzz.guided");
  if (corpus_.empty() || g.below(4) == 0) return draw_schedule(base_, seed);
  const Schedule& parent = corpus_[std::size_t(g.below(corpus_.size()))];
  Schedule child = mutate(parent, seed, g);
  if (!validate_scenario(fuzzed_scenario(base_, child, seed)).empty()) return draw_schedule(base_, seed);
  return child;
}

Schedule GuidedSearch::mutate(const Schedule& parent, std::uint64_t seed, Rng& g) const {
  Schedule c = parent;
  std::vector<std::string> apps;
  for (std::uint32_t i = 1; i <= base_.cluster.app_servers; ++i) apps.push_back(app_name(i));
  const std::int64_t duration_ms = std::max<std::int64_t>(ns(base_.duration) / kMs, 1);
  const std::uint64_t count = 1 + g.below(3);
  for (std::uint64_t m = 0; m < count; ++m) {
    const std::uint64_t op = g.below(6);
    if (op == 2 || c.faults.empty()) {  // add: one fault of a fresh draw
      const Schedule fresh = draw_schedule(base_, g.next());
      if (!fresh.faults.empty()) {
        c.faults.push_back(fresh.faults[std::size_t(g.below(fresh.faults.size()))]);
        // Its kind joins the mutant's swarm subset (it was drawn within [fuzz]).
        if (std::find(c.enabled.begin(), c.enabled.end(), c.faults.back().kind) == c.enabled.end())
          c.enabled.push_back(c.faults.back().kind);
      }
      continue;
    }
    Fault& f = c.faults[std::size_t(g.below(c.faults.size()))];
    switch (op) {
      case 0: {  // shift in time by up to a quarter of the duration either way
        const std::int64_t span = std::max<std::int64_t>(duration_ms / 4, 1);
        const std::int64_t at = ns(f.at) / kMs + g.between(-span, span);
        f.at = Time{Duration{std::clamp<std::int64_t>(at, 0, duration_ms - 1) * kMs}};
        break;
      }
      case 1: {  // stretch (or shrink) its length
        static constexpr std::int64_t kNum[] = {1, 1, 2, 4}, kDen[] = {4, 2, 1, 1};
        const std::size_t k = std::size_t(g.below(4));
        auto scale = [&](Duration d) {
          const std::int64_t v = ns(d) / kMs * kNum[k] / kDen[k];
          return Duration{std::clamp<std::int64_t>(v, 1, duration_ms) * kMs};
        };
        if (f.for_) f.for_ = scale(*f.for_);
        else if (f.restart_after) f.restart_after = scale(*f.restart_after);
        else if (f.kind == FaultKind::delay) f.latency = DurationRange{f.latency.lo, f.latency.lo + scale(f.latency.hi - f.latency.lo + milliseconds(1))};
        break;
      }
      case 3:  // drop
        c.faults.erase(c.faults.begin() + std::ptrdiff_t(&f - c.faults.data()));
        break;
      case 4: {  // retarget: the same kind at the same time, other nodes
        const Schedule fresh = draw_schedule(base_, g.next());
        bool done = false;
        for (const Fault& o : fresh.faults) {
          if (o.kind != f.kind) continue;
          const Time at = f.at;
          const auto for_ = f.for_;
          f = o;
          f.at = at;
          f.for_ = for_ ? for_ : o.for_;
          if (f.kind == FaultKind::pause && !f.for_) f.for_ = o.for_;
          done = true;
          break;
        }
        if (!done && !f.nodes.empty() && apps.size() > 1 &&
            std::find(apps.begin(), apps.end(), f.nodes.front().name) != apps.end()) {
          const NameRef to{apps[std::size_t(g.below(apps.size()))], {}};
          if (to.name != f.peer.name) f.nodes = {to};  // a gossip failure's peer is never itself
        }
        break;
      }
      case 5:  // a new timing profile
        if (base_.fuzz.timing) {
          RngSource t(g.split("timing", seed));
          c.timing = draw_timing(t);
        }
        break;
    }
  }
  c.faults = meaningful(base_, std::move(c.faults));
  return c;
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
          f.schedule = it->second.first;
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

  if (o.guided) {
    // Batches of GuidedSearch::kBatch positions: candidates drawn serially
    // (they depend on earlier batches only), run on `jobs` threads, fed and
    // reported in seed order.
    GuidedSearch search(scenario);
    std::uint64_t position = 0;
    bool stop = false;
    while (!stop && !exhausted) {
      if (o.wall_seconds && elapsed() >= *o.wall_seconds) break;
      std::vector<std::uint64_t> seeds;
      std::vector<Schedule> schedules;
      for (std::uint64_t k = 0; k < GuidedSearch::kBatch; ++k) {
        if (next_seed > last_seed) break;
        seeds.push_back(next_seed);
        schedules.push_back(search.candidate(position + k, next_seed));
        if (next_seed > UINT64_MAX - o.shard_count) {
          exhausted = true;
          break;
        }
        next_seed += o.shard_count;
      }
      if (seeds.empty()) break;
      std::vector<RunResult> results(seeds.size());
      std::vector<Fingerprint> prints(seeds.size());
      std::atomic<std::size_t> next{0};
      auto run_some = [&] {
        for (std::size_t i; (i = next.fetch_add(1)) < seeds.size();)
          results[i] = run_fingerprinted(fuzzed_scenario(scenario, schedules[i], seeds[i]), seeds[i], &prints[i]);
      };
      const unsigned threads = std::min<unsigned>(std::max(1u, o.jobs), unsigned(seeds.size()));
      if (threads == 1) {
        run_some();
      } else {
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; ++t) pool.emplace_back(run_some);
        for (auto& t : pool) t.join();
      }
      std::lock_guard lock(mu);
      for (std::size_t i = 0; i < seeds.size(); ++i) {
        search.feed(position + i, schedules[i], std::move(prints[i]));
        if (stop) continue;  // above the lowest failing seed: not judged
        if (results[i].outcome != Outcome::pass) {
          ++failures;
          if (!o.keep_going) stop = true;
        }
        started_seeds.push_back(seeds[i]);
        ready.emplace(seeds[i], std::make_pair(schedules[i], std::move(results[i])));
      }
      report_ready();
      position += seeds.size();
    }
    search.flush();  // the last batch too: the corpus figures below
    summary.corpus = search.corpus_size();
    summary.states = search.states_seen();
  }

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
  if (o.guided) {
    // ran above
  } else if (threads == 1) {
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
    const Scenario fuzzed = fuzzed_scenario(scenario, f.schedule, f.seed);
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
