#include "harness/runner.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <set>

#include "base/assert.h"
#include "base/rng.h"
#include "harness/cluster_builder.h"
#include "harness/edge_builder.h"
#include "harness/scenario_writer.h"
#include "invariants/registry.h"
#include "nodes/spec.h"
#include "reports/escape.h"
#include "reports/history_keep.h"
#include "reports/report.h"
#include "sim/fault_injector.h"
#include "sim/history_json.h"
#include "sim/simulation.h"

namespace fl::harness {

// The line shows times to the millisecond ("2m03.412s", "1h0m"), as
// SCENARIOS.md does; reports keep the nanoseconds.
std::string line_time(Duration d) { return format_duration(std::chrono::round<milliseconds>(d)); }

std::string node_stream_name(std::string_view node) { return "node/" + std::string(node); }

std::string line_count(std::uint64_t n) {
  char buf[32];
  if (n < 1000) return std::to_string(n);
  if (n < 1'000'000) std::snprintf(buf, sizeof buf, "%.1fk", double(n) / 1e3);
  else if (n < 1'000'000'000) std::snprintf(buf, sizeof buf, "%.1fM", double(n) / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1fG", double(n) / 1e9);
  return buf;
}

std::string result_line(const RunResult& r) {
  std::string line;
  const std::string head = r.path + " seed=" + std::to_string(r.seed);
  if (r.outcome == Outcome::pass) {
    char wall[32], hash[32];
    std::snprintf(wall, sizeof wall, "%.2fs", r.wall_seconds);
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(r.trace_hash));
    line = "PASS " + head + " sim=" + line_time(r.sim_time) + " wall=" + wall + " events=" + line_count(r.events) +
           " hash=" + hash;
  } else {
    line = (r.outcome == Outcome::fail ? "FAIL " : "ERROR ") + head + " ";
    // The first unexpected violation says it best; otherwise the first problem.
    const RunViolation* first = nullptr;
    for (const auto& v : r.violations)
      if (!v.expected) {
        first = &v;
        break;
      }
    if (first && r.outcome == Outcome::fail) {
      line += first->invariant + " at " + line_time(first->at.time_since_epoch()) + ": " + first->message;
      // Every other unexpected violation is counted, with the invariants it
      // broke (each named once, in time order): one violation never hides another.
      std::size_t more = 0;
      std::vector<std::string> which;
      for (const auto& v : r.violations) {
        if (v.expected || &v == first) continue;
        ++more;
        if (std::find(which.begin(), which.end(), v.invariant) == which.end()) which.push_back(v.invariant);
      }
      if (more > 0) {
        line += " (+" + std::to_string(more) + " more:";
        for (std::size_t i = 0; i < which.size(); ++i) line += (i ? ", " : " ") + which[i];
        line += ")";
      }
    } else if (!r.problems.empty()) {
      line += r.problems.front();
      if (r.problems.size() > 1) line += " (+" + std::to_string(r.problems.size() - 1) + " more problems)";
    } else {
      line += "failed";
    }
    // Every run ends by printing its trace hash (DESIGN.md), failures too: the
    // cross-build determinism check compares them.
    if (r.outcome == Outcome::fail) {
      char hash[32];
      std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(r.trace_hash));
      line += std::string(" hash=") + hash;
    }
    if (!r.report_dir.empty()) line += " -> " + r.report_dir;
  }
  // Names, paths and messages come from scenario files: nothing in them may
  // reach the terminal raw (reports/escape.h).
  return reports::escape_controls(line);
}

namespace {

// The report's space-time diagram keeps the notable events only, at most this
// many (a one-hour run has millions of post events; the diagram needs the
// leader terms, crashes, faults and migrations).
constexpr std::size_t kMaxTimelineEvents = 20'000;

bool notable(const HistoryEvent& e) {
  return !(e.is<PostSent>() || e.is<PostAcked>() || e.is<PostAckReceived>() || e.is<PostDelivered>() ||
           e.is<PostCommitted>() || e.is<ReplicaApplied>() || e.is<PostPresent>() || e.is<HealthChecked>() ||
           e.is<ProxyRouted>() || e.is<ClientChannels>() || e.is<DiscoveryRowWritten>() || e.is<Probe>());
}

fl::Replication to_spec(Replication r) { return r == Replication::async ? fl::Replication::async : fl::Replication::sync; }
fl::Failover to_spec(Failover f) { return f == Failover::automatic ? fl::Failover::automatic : fl::Failover::manual; }

OperatorRunbook to_spec(Runbook r) {
  switch (r) {
    case Runbook::rolling_upgrade: return OperatorRunbook::rolling_upgrade;
    case Runbook::upgrade_with_schema_change: return OperatorRunbook::upgrade_with_schema_change;
    case Runbook::config_change_continuous: return OperatorRunbook::config_change_continuous;
    case Runbook::manual_failover: return OperatorRunbook::manual_failover;
    case Runbook::add_server: return OperatorRunbook::add_server;
    case Runbook::remove_server: return OperatorRunbook::remove_server;
    case Runbook::install_plugin: return OperatorRunbook::install_plugin;
  }
  FL_UNREACHABLE();
}

OperatorStepKind to_spec(StepKind k) {
  switch (k) {
    case StepKind::stop: return OperatorStepKind::stop;
    case StepKind::start: return OperatorStepKind::start;
    case StepKind::restart: return OperatorStepKind::restart;
    case StepKind::upgrade: return OperatorStepKind::upgrade;
    case StepKind::proxy_route: return OperatorStepKind::proxy_route;
    case StepKind::config_change: return OperatorStepKind::config_change;
    case StepKind::set_datasource: return OperatorStepKind::set_datasource;
    case StepKind::reload_config: return OperatorStepKind::reload_config;
    case StepKind::recycle_connections: return OperatorStepKind::recycle_connections;
    case StepKind::install_plugin: return OperatorStepKind::install_plugin;
    case StepKind::add_to_channel: return OperatorStepKind::add_to_channel;
    case StepKind::revoke_sessions: return OperatorStepKind::revoke_sessions;
  }
  FL_UNREACHABLE();
}


std::vector<std::string> names_of(const std::vector<NameRef>& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs) out.push_back(r.name);
  return out;
}

}  // namespace

// The Scenario as the nodes' specification (nodes/spec.h).
ClusterSpec cluster_spec_of(const Scenario& s) {
  std::uint32_t added = 0;
  for (const auto& op : s.operations) added += op.runbook == Runbook::add_server ? 1 : 0;
  ClusterSpec spec = default_cluster_spec(s.cluster.app_servers + added, s.cluster.version);
  for (const auto& o : s.cluster.servers)
    for (auto& server : spec.servers)
      if (server.name == o.name.name) {
        if (o.version) server.version = *o.version;
        for (const auto& [key, value] : o.config) server.config[key] = value;
      }
  // Servers that add_server brings up: declared, not started (spares), at the
  // version the operation names.
  std::uint32_t next = s.cluster.app_servers;
  for (const auto& op : s.operations) {
    if (op.runbook != Runbook::add_server) continue;
    ServerSpec& server = spec.servers.at(next++);
    if (op.version) server.version = *op.version;
    spec.operator_.spares.push_back(server.name);
  }
  spec.database.replicas = s.database.replicas;
  spec.database.replication = to_spec(s.database.replication);
  spec.database.replication_lag = s.database.replication_lag;
  spec.database.failover = to_spec(s.database.failover);
  spec.database.failover_detection = s.database.failover_detection;
  spec.database.sync_fallback = s.database.sync_fallback;
  spec.database.commit_latency = s.timing.commit_latency;
  spec.leader_election = s.cluster.leader_election == LeaderElection::bully ? fl::LeaderElection::bully
                                                                            : fl::LeaderElection::db_lease;
  spec.migration_lock = s.cluster.migration_lock == MigrationLock::morph ? fl::MigrationLock::morph
                                                                         : fl::MigrationLock::db_clock;
  spec.migration_time = s.cluster.migration_time;
  for (const auto& b : s.cluster.bugs) {
    const auto bug = parse_bug(b.name);
    FL_ASSERT_MSG(bug.has_value(), "the loader validates bug names");
    spec.bugs.set(*bug);
  }
  spec.allow_unsupported_upgrades = s.cluster.allow_unsupported_upgrades;
  if (s.cluster.cluster_name)
    for (ServerSpec& server : spec.servers) server.cluster_name = *s.cluster.cluster_name;
  spec.proxy.health_with_status = s.proxy.health_check == HealthCheck::ping_with_status;
  spec.proxy.health_interval = s.proxy.health_check_interval;
  spec.clients.count = s.clients.count;
  spec.clients.channels = s.clients.channels;
  spec.clients.post_interval = s.clients.post_interval;
  // Clients post during the safety phase only: settle is for convergence, and
  // message_delivery judges what was acknowledged (DESIGN.md, Phases of a run).
  spec.clients.post_until = s.duration;
  for (const auto& op : s.operations) {
    OperatorAction a;
    a.at = op.at.time_since_epoch();
    if (op.runbook) a.runbook = to_spec(*op.runbook);
    if (op.step) a.step = to_spec(*op.step);
    a.nodes = names_of(op.nodes);
    a.version = op.version;
    a.key = op.key;
    a.value = op.value;
    a.to = names_of(op.to);
    a.plugin = op.plugin;
    a.client = op.client.name;
    a.channel = op.channel;
    if (op.step == StepKind::revoke_sessions && a.nodes.empty()) a.nodes = {"app1"};
    spec.operator_.actions.push_back(std::move(a));
  }
  FL_ASSERT(spec.servers.size() == s.cluster.app_servers + added);
  return spec;
}

namespace {

class Run {
 public:
  Run(const Scenario& s, const RunOptions& o) : s_(s), o_(o), sim_(o.seed) {}

  RunResult go();

 private:
  NodeId id(const std::string& name) const { return cluster_.id(name); }
  std::vector<NodeId> ids(const std::vector<NameRef>& refs) const {
    std::vector<NodeId> out;
    for (const auto& r : refs) out.push_back(id(r.name));
    return out;
  }
  std::string where(std::size_t i) const {
    const Fault& f = s_.faults[i];
    return "fault #" + std::to_string(i + 1) + " " + std::string(to_string(f.kind)) + " at " +
           format_duration(f.at.time_since_epoch()) + " (line " + std::to_string(f.pos.line) + ")";
  }

  void build();
  void schedule();
  std::vector<sim::FaultRecord> fault_records() const;
  std::string apply_custom(std::size_t i, sim::FaultOutcome& out);
  void end_custom(std::size_t i);
  void settle();
  void dump_primary();
  void on_event(const HistoryEvent& e);
  void print_plan(std::ostream& out) const;
  void finish(RunResult& r, double wall);
  void run_to(Time until);  // sim_.run_until, with the replay pause (RunOptions::inspect_at)

  const Scenario& s_;
  const RunOptions& o_;
  sim::Simulation sim_;
  BuiltCluster cluster_;
  inv::ClusterInfo info_;
  std::vector<std::unique_ptr<inv::Invariant>> checks_;
  // By event type (EventBody index): the checkers that read it, in checks_
  // order. Most of a run's history is PostDelivered, which few checkers read.
  std::array<std::vector<inv::Invariant*>, kEventTypes> readers_;
  // The timed checkers (Invariant::read_timed), and the earliest of their
  // wakes: events of types they do not read reach them from then on.
  std::vector<inv::Invariant*> timed_;
  Time wake_ = kTimeMax;
  void next_wake();
  sim::LinkConfig base_link_;
  // The one fault injector (sim/fault_injector.h); the database and storage
  // faults, which need this cluster's knowledge, are its custom faults.
  std::unique_ptr<sim::FaultInjector> injector_;
  NodeId last_promoted_{kNoNode};  // the database member promoted last (Promoted)
  Time settle_begin_{};
  bool stopping_ = false;
  // The history streams to these files as it is recorded (the run's folder,
  // RunOptions::history_path): nothing of it stays in memory.
  std::vector<std::unique_ptr<sim::HistoryWriter>> writers_;
  std::string folder_;
  std::vector<HistoryEvent> timeline_;
  std::string internal_error_;
  bool inspected_ = false;
  std::function<void(const HistoryEvent&)> tap_;  // every event, for cut_history's second run
  std::string cut_history(RunResult& r);
};

// The folder's history without writing the whole of it (reports/history_keep.h):
// the run again, the same scenario and seed (the same events: the run is
// deterministic, and the trace hash checks it), its violations known from the
// first, so the windows around them are known before their events happen.
// Costs a second run, only for a run that writes its folder; a passing run of
// a sweep writes nothing at all.
std::string Run::cut_history(RunResult& r) {
  if (!r.aborted.empty() || !internal_error_.empty()) {
    r.report.history_file.clear();  // no second run of a run that could not finish: no history
    return "";
  }
  RunOptions again = o_;
  again.out_dir.clear();
  again.history_path.clear();
  again.always_write = false;
  again.verbose = false;
  again.log = nullptr;
  again.watch = nullptr;
  again.inspect = nullptr;
  again.inspect_at.reset();
  reports::HistoryKeeper keeper(folder_, r.report);
  std::vector<std::string> names;
  for (const auto& n : info_.nodes) names.push_back(n.name);
  std::string line;
  Run second(s_, again);
  second.tap_ = [&](const HistoryEvent& e) {
    keeper.on_event(e);
    if (!keeper.keep(e.name(), e.at)) return;
    line.clear();
    sim::append_history_event_json(line, e, &names);
    keeper.write(line);
  };
  const RunResult twice = second.go();
  if (twice.trace_hash != r.trace_hash || twice.events != r.events)
    return "nondeterminism: the run again for its report gave trace hash " + reports::hex64(twice.trace_hash) +
           " (" + std::to_string(twice.events) + " events), the run " + reports::hex64(r.trace_hash) + " (" +
           std::to_string(r.events) + " events)";
  return keeper.finish();
}

void Run::run_to(Time until) {
  if (o_.inspect && o_.inspect_at && !inspected_ && *o_.inspect_at <= until) {
    sim_.run_until(*o_.inspect_at);  // the same events as one run_until(until): nothing is scheduled between
    if (!sim_.stopped()) {
      inspected_ = true;
      o_.inspect(sim_);
    }
  }
  sim_.run_until(until);
}

void Run::build() {
  cluster_ = build_cluster(sim_, cluster_spec_of(s_));
  base_link_.latency = s_.network.latency;
  base_link_.loss = s_.network.loss;
  base_link_.duplicate = s_.network.duplicate;
  base_link_.reorder = s_.network.reorder;
  sim_.set_default_link(base_link_);
  sim_.keep_history(false);

  // What the checkers know before the run: names, roles, election ids.
  info_.nodes.resize(sim_.node_count());
  for (std::uint32_t i = 0; i < sim_.node_count(); ++i) {
    inv::NodeInfo& n = info_.nodes[i];
    n.name = sim_.name(NodeId{i});
    if (n.name == kDbPrimaryName) n.role = inv::Role::db_primary;
    else if (n.name.rfind("db-replica", 0) == 0) n.role = inv::Role::db_replica;
    else if (n.name == kProxyName) n.role = inv::Role::proxy;
    else if (n.name == kStorageName) n.role = inv::Role::storage;
    else if (n.name == kOperatorName) n.role = inv::Role::oper;
    else if (n.name.rfind("client", 0) == 0) n.role = inv::Role::client;
    if (const ServerSpec* server = cluster_.spec->server(n.name)) {
      n.role = inv::Role::app_server;
      n.server_id = server->id;
    }
  }
  info_.leader_election = std::string(to_string(s_.cluster.leader_election));
  info_.initial_schema = cluster_.spec->initial_schema();
  info_.shared_storage = true;
  for (const JobTypeSpec& j : cluster_.spec->jobs) info_.job_periods.emplace_back(j.type, j.period);

  for (const auto& spec : inv::invariant_specs()) {
    if (!s_.invariants.checks(spec.name)) continue;
    std::map<std::string, std::string> options;
    if (auto it = s_.invariants.options.find(spec.name); it != s_.invariants.options.end())
      for (const auto& [k, v] : it->second.values) options[k] = format_duration(v);
    inv::MadeInvariant made = inv::make_invariant(spec.name, options, info_);
    FL_ASSERT_MSG(made.invariant != nullptr, "the loader validates invariant names and options");
    if (o_.check_every_event) made.invariant->take_every_event();
    checks_.push_back(std::move(made.invariant));
  }
  for (std::size_t t = 0; t < kEventTypes; ++t)
    for (const auto& c : checks_)
      if (c->reads(t)) readers_[t].push_back(c.get());
  for (const auto& c : checks_)
    if (c->timed()) timed_.push_back(c.get());
  next_wake();
  injector_ = std::make_unique<sim::FaultInjector>(sim_, fault_records());
  injector_->set_custom_handler(sim::CustomFaultHandler{
      [this](std::size_t i, const sim::FaultRecord&, sim::FaultOutcome& out) { return apply_custom(i, out); },
      [this](std::size_t i, const sim::FaultRecord&) { end_custom(i); }});

  std::vector<std::string> names;
  for (const auto& n : info_.nodes) names.push_back(n.name);
  auto stream_to = [&](const std::string& path) {
    std::string error;
    auto writer = sim::HistoryWriter::open(path, names, &error);
    if (writer) writers_.push_back(std::move(writer));
    else if (internal_error_.empty()) internal_error_ = error;
  };
  if (!o_.out_dir.empty()) {
    // The command names the folder (RunOptions::report_name: the path below the
    // common root of its files); otherwise the file's stem.
    std::string stem = o_.report_name.empty() ? reports::report_folder_stems({s_.path}).front() : o_.report_name;
    folder_ = (std::filesystem::path(o_.out_dir) / (stem + "-" + std::to_string(o_.seed))).string() + "/";
    std::error_code ec;
    std::filesystem::create_directories(folder_, ec);
    if (ec) internal_error_ = "cannot create " + folder_ + ": " + ec.message();
    // --history full streams every event to the folder. By default nothing is
    // written during the run: a run that needs its folder runs again with its
    // violations known, and keeps only what matters (cut_history).
    else if (o_.history_full) stream_to(folder_ + "history.jsonl");
  }
  if (!o_.history_path.empty()) stream_to(o_.history_path);
  sim_.add_history_listener([this](const HistoryEvent& e) { on_event(e); });
}

void Run::on_event(const HistoryEvent& e) {
  if (o_.listen) o_.listen(e);
  if (e.is<Promoted>()) last_promoted_ = e.node;
  for (auto& w : writers_) w->write(e);
  if (tap_) tap_(e);
  if (notable(e) && timeline_.size() < kMaxTimelineEvents) timeline_.push_back(e);
  const std::size_t type = e.body.index();
  bool timed_called = false;
  auto feed = [&](inv::Invariant* c) {
    c->on_event(e);
    timed_called = timed_called || c->timed();
    // --stop-at-first only: otherwise the run goes on, so that a later
    // violation (and the end-of-run judgement) is still seen.
    if (o_.stop_at_first && !stopping_ && c->failed()) {
      stopping_ = true;
      sim_.stop_run();
    }
  };
  for (inv::Invariant* c : readers_[type]) feed(c);
  // Timed checkers whose wake has come take this event whatever its type (the
  // ones that read it had it above). One comparison per event otherwise.
  if (e.at >= wake_)
    for (inv::Invariant* c : timed_)
      if (!c->reads(type) && e.at >= c->wake()) feed(c);
  if (timed_called) next_wake();
}

void Run::next_wake() {
  wake_ = kTimeMax;
  for (const inv::Invariant* c : timed_) wake_ = std::min(wake_, c->wake());
}

void Run::schedule() { injector_->schedule(); }

// The scenario's faults as the injector's records: names resolved to ids, the
// chat-specific kinds mapped onto the injector's (a gossip_send_failure is a
// one-way cut from each node to the peer: the 15-second retry path, MODEL.md)
// or left to apply_custom (the database and storage faults).
std::vector<sim::FaultRecord> Run::fault_records() const {
  using K = sim::FaultRecord::Kind;
  std::vector<sim::FaultRecord> out;
  for (const Fault& f : s_.faults) {
    sim::FaultRecord r;
    r.at = f.at;
    r.duration = f.for_;
    r.nodes = ids(f.nodes);
    switch (f.kind) {
      case FaultKind::partition:
        r.kind = K::partition;
        for (const auto& g : f.groups) r.groups.push_back(ids(g));
        break;
      case FaultKind::one_way:
        r.kind = K::one_way;
        r.from = ids(f.from);
        r.to = ids(f.to);
        break;
      case FaultKind::gossip_send_failure:
        r.kind = K::one_way;
        r.from = r.nodes;
        r.to = {id(f.peer.name)};
        r.nodes.clear();
        break;
      case FaultKind::heal: r.kind = K::heal; break;
      case FaultKind::loss:
      case FaultKind::duplicate:
      case FaultKind::reorder:
      case FaultKind::delay:
        r.kind = f.kind == FaultKind::loss        ? K::loss
                 : f.kind == FaultKind::duplicate ? K::duplicate
                 : f.kind == FaultKind::reorder   ? K::reorder
                                                  : K::delay;
        r.rate = f.rate;
        r.latency = f.latency;
        if (!f.between.empty()) r.between = std::pair{id(f.between[0].name), id(f.between[1].name)};
        break;
      case FaultKind::crash:
        r.kind = K::crash;
        r.restart_after = f.restart_after;
        break;
      case FaultKind::restart: r.kind = K::restart; break;
      case FaultKind::pause: r.kind = K::pause; break;
      case FaultKind::clock_skew:
        r.kind = K::clock_skew;
        r.offset = f.offset;
        r.drift_ppm = f.drift_ppm;
        break;
      case FaultKind::clock_step:
        r.kind = K::clock_step;
        r.by = f.by;
        break;
      case FaultKind::db_crash:
      case FaultKind::replica_lag:
      case FaultKind::db_failover:
      case FaultKind::storage_outage: r.kind = K::custom; break;
    }
    if (to_string(f.kind) != sim::fault_kind_name(r.kind)) r.label = std::string(to_string(f.kind));
    out.push_back(std::move(r));
  }
  return out;
}

// The faults that need this cluster's knowledge. Returns why the fault had no
// effect ("" : it had one).
std::string Run::apply_custom(std::size_t i, sim::FaultOutcome& out) {
  const Fault& f = s_.faults[i];
  switch (f.kind) {
    case FaultKind::db_crash: {
      std::string none;
      std::vector<NodeId> hit;
      for (NodeId n : out.nodes) {
        if (!sim_.running(n)) {
          none = "the crash of " + sim_.name(n) + " found it already down";
          continue;
        }
        sim_.crash(n);
        // A crashed process cannot say so: the runtime records the database's crash.
        sim_.emit(n, DbCrashed{});
        hit.push_back(n);
      }
      out.nodes = hit;
      return hit.empty() ? none : "";
    }
    case FaultKind::replica_lag:
      out.detail += " lag " + format_duration(f.lag);
      for (NodeId n : out.nodes)
        sim_.control(n, ControlOp{ControlOp::Kind::set_spec, "replication_lag", format_duration(f.lag)});
      return "";
    case FaultKind::db_failover: {
      // Promote the most advanced running replica (what a managed database's
      // failover does); ties go to the first in declaration order.
      NodeId best = kNoNode;
      std::uint64_t best_lsn = 0;
      for (NodeId m : cluster_.db_members) {
        const DbDisk& disk = cluster_.disk(m);
        if (disk.role != DbRole::replica || !sim_.running(m)) continue;
        if (best == kNoNode || disk.last_lsn() > best_lsn) {
          best = m;
          best_lsn = disk.last_lsn();
        }
      }
      if (best == kNoNode) return "no running replica to promote";
      out.nodes = {best};
      out.detail += ": promote " + sim_.name(best);
      sim_.control(best, ControlOp{ControlOp::Kind::set_spec, "promote", ""});
      sim_.set_db_endpoint(best);
      if (cluster_.failover_state) {
        // The automatic controller follows the new primary and tells the others.
        FailoverState& fs = *cluster_.failover_state;
        fs.primary = best;
        fs.fork_lsn = best_lsn;
        fs.to_follow.clear();
        for (NodeId m : cluster_.db_members)
          if (m != best) fs.to_follow.insert(m);
      }
      return "";
    }
    case FaultKind::storage_outage:
      out.nodes = {cluster_.storage};
      sim_.control(cluster_.storage, ControlOp{ControlOp::Kind::set_spec, "outage", "on"});
      return "";
    default: FL_UNREACHABLE();
  }
}

void Run::end_custom(std::size_t i) {
  const Fault& f = s_.faults[i];
  switch (f.kind) {
    case FaultKind::replica_lag:
      for (NodeId n : ids(f.nodes)) sim_.control(n, ControlOp{ControlOp::Kind::set_spec, "replication_lag", ""});
      break;
    case FaultKind::storage_outage:
      sim_.control(cluster_.storage, ControlOp{ControlOp::Kind::set_spec, "outage", "off"});
      break;
    default: break;  // db_crash: settle restarts it; db_failover is instant
  }
}

// DESIGN.md, Phases of a run: every fault healed, paused nodes resumed,
// crashed nodes restarted (the injector), then `settle` of simulated time.
void Run::settle() {
  settle_begin_ = sim_.now();
  sim_.emit(kNoNode, SettleBegin{});
  injector_->heal_everything();
}

// no_lost_writes judges the primary's real contents. The runtime reads them
// from the simulated disk (DESIGN.md, Phases of a run), never by asking the
// node, which may be paused or down at the end: the primary is the member
// promoted last when it still holds the role, else the member the cluster
// endpoint names when it holds it, else the first member that does. A run with
// no primary to read is an internal error.
void Run::dump_primary() {
  NodeId primary = kNoNode;
  const NodeId endpoint = sim_.db_endpoint();
  for (NodeId m : cluster_.db_members) {
    if (cluster_.disk(m).role != DbRole::primary) continue;
    if (primary == kNoNode || m == endpoint) primary = m;
  }
  // The latest promotion wins when its member still holds the role: after a
  // manual failover the endpoint still names the old primary, which settle
  // restarts with its old role; the servers write to the promoted one.
  if (last_promoted_ != kNoNode && cluster_.disk(last_promoted_).role == DbRole::primary) primary = last_promoted_;
  if (primary == kNoNode) {
    if (internal_error_.empty()) internal_error_ = "no database member holds the primary role at the end of the run";
    return;
  }
  // The committed contents: what the primary's disk holds up to its last
  // applied record (DbDisk::tables), in key order.
  for (const auto& [post, row] : cluster_.disk(primary).tables.posts) sim_.emit(primary, PostPresent{post});
}

void Run::print_plan(std::ostream& out) const {
  out << "run " << s_.path << " seed=" << o_.seed << "\n";
  out << "  derived from the seed: root generator xoshiro256** seeded " << o_.seed
      << " (SplitMix64); each node, the network and the database draw from their own named stream\n";
  out << "  network: latency " << format_duration(s_.network.latency.lo) << ".." << format_duration(s_.network.latency.hi)
      << " drawn per message, loss " << s_.network.loss << ", duplicate " << s_.network.duplicate << ", reorder "
      << s_.network.reorder << "\n";
  out << "  database: " << s_.database.replicas << " replicas, " << to_string(s_.database.replication)
      << ", lag " << format_duration(s_.database.replication_lag.lo) << ".."
      << format_duration(s_.database.replication_lag.hi) << " drawn per record, failover "
      << to_string(s_.database.failover) << "\n";
  if (const TimingConfig& t = s_.timing; t.any()) {
    out << "  timing (unkind):";
    if (t.latency_tail > 0) out << " latency tail " << t.latency_tail << " up to x" << t.latency_tail_factor << ";";
    if (t.jitter.count() > 0) out << " jitter up to " << format_duration(t.jitter) << ";";
    if (t.clock_drift_ppm) out << " clock drift up to " << t.clock_drift_ppm << " ppm;";
    if (t.timer_late > 0) out << " timers late " << t.timer_late << " up to " << format_duration(t.timer_late_max) << ";";
    if (t.commit_latency.hi.count() > 0)
      out << " commits flushed in " << format_duration(t.commit_latency.lo) << ".." << format_duration(t.commit_latency.hi) << ";";
    out << "\n";
  }
  out << "  cluster: " << to_string(s_.cluster.leader_election) << " election, " << to_string(s_.cluster.migration_lock)
      << " migration lock, migration_time " << format_duration(s_.cluster.migration_time) << ", bugs ["
      << cluster_.spec->bugs.str() << "]\n";
  for (const auto& server : cluster_.spec->servers)
    out << "  " << server.name << ": id " << server.id << ", version " << server.version.str() << "\n";
  out << "  nodes:";
  for (std::uint32_t i = 0; i < sim_.node_count(); ++i) out << " " << i << "=" << sim_.name(NodeId{i});
  // The seed of every generator stream the run draws from: each is split off
  // the root by its name (base/rng.h), the network's and the simulator's here,
  // each node's as "node/<name>" (sim/simulation.cc, add_node). With these a
  // draw can be followed by hand; the test pins the names to the simulator's.
  const Rng root(o_.seed);
  char hex[32];
  auto seed_of = [&](const Rng& r) {
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r.seed()));
    return std::string(hex);
  };
  out << "\n  streams: root=" << seed_of(root) << " sim=" << seed_of(root.split("sim"))
      << " network=" << seed_of(root.split("network")) << "\n";
  for (std::uint32_t i = 0; i < sim_.node_count(); ++i)
    out << "    " << node_stream_name(sim_.name(NodeId{i})) << "=" << seed_of(root.split(node_stream_name(sim_.name(NodeId{i}))))
        << "\n";
  out << "  clients: " << s_.clients.count << " over " << s_.clients.channels
      << " channels; each draws its channels and its post times from its own stream (ClientChannels in the history)\n";
  out << "  phases: safety 0s.." << format_duration(s_.duration) << ", settle " << format_duration(s_.settle) << "\n";
  for (std::size_t i = 0; i < s_.faults.size(); ++i) out << "  " << where(i) << "\n";
  for (const auto& op : s_.operations)
    out << "  operation at " << format_duration(op.at.time_since_epoch()) << ": "
        << (op.runbook ? to_string(*op.runbook) : to_string(*op.step)) << "\n";
  out << "  invariants:";
  for (const auto& c : checks_) out << " " << c->name();
  out << "\n";
  for (const auto& spec : inv::invariant_specs())
    if (!s_.invariants.checks(spec.name))
      out << "  skipped: " << spec.name << ": " << s_.invariants.skip_reason(spec.name) << "\n";
}

void Run::finish(RunResult& r, double wall) {
  const bool completed = !sim_.stopped();
  for (auto& c : checks_) c->finish(inv::RunEnd{sim_.now(), completed});
  r.path = s_.path;
  r.seed = o_.seed;
  r.sim_time = sim_.now().time_since_epoch();
  r.wall_seconds = wall;
  r.events = sim_.events_processed();
  r.trace_hash = sim_.trace_hash();

  std::vector<inv::Violation> all;
  for (const auto& c : checks_)
    for (const auto& v : c->violations()) all.push_back(v);
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  std::set<std::string> expected;
  for (const auto& v : s_.expect.violations) expected.insert(v.name);
  // The scenario's path starts at its first fault or operation: an expected
  // violation counts only from there (SCENARIOS.md, [expect]). The same
  // invariant broken earlier, in start-up, is not the path the scenario is
  // named for: it is unexpected. No exemption for planted bugs: a bug that
  // breaks the cluster before the scenario's trigger shows nothing about it.
  Time first_action = kTimeMax;
  for (const auto& f : s_.faults) first_action = std::min(first_action, f.at);
  for (const auto& op : s_.operations) first_action = std::min(first_action, op.at);
  const bool has_action = first_action != kTimeMax;
  std::set<std::string> found;
  for (const auto& v : all) {
    const bool on_path = !has_action || v.at >= first_action;
    RunViolation rv{v.invariant, v.at, v.message, {}, expected.count(v.invariant) > 0 && on_path};
    for (NodeId n : v.nodes) rv.nodes.push_back(info_.name(n));
    if (rv.expected) found.insert(v.invariant);
    r.violations.push_back(std::move(rv));
  }
  for (const auto& v : r.violations) {
    if (v.expected) continue;
    std::string why = "unexpected violation of " + v.invariant + " at " + line_time(v.at.time_since_epoch()) + ": " +
                      v.message;
    if (expected.count(v.invariant))
      why += " (before the first fault or operation at " + line_time(first_action.time_since_epoch()) +
             ": not the path the scenario is named for)";
    r.problems.push_back(std::move(why));
  }

  // Vacuity (STYLE.md: a scenario proves it reached the path it is named for).
  const std::vector<sim::FaultOutcome> outcomes = injector_->outcomes();
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i].no_effect.empty()) r.notes.push_back(where(i) + " had no effect: " + outcomes[i].no_effect);
    for (NodeId n : outcomes[i].restart_cancelled)
      r.notes.push_back(where(i) + ": the restart of " + info_.name(n) +
                        " was cancelled: the operator had stopped it meanwhile");
  }
  for (const auto& name : expected) {
    if (found.count(name)) continue;
    std::string why = "expected violation " + name + " not found";
    if (has_action) why += " at or after the first fault or operation (" + line_time(first_action.time_since_epoch()) + ")";
    if (!r.notes.empty()) why += " (" + r.notes.front() + ")";
    r.problems.push_back(std::move(why));
  }
  for (const auto& spec : inv::invariant_specs())
    if (!s_.invariants.checks(spec.name)) r.skipped.emplace_back(spec.name, s_.invariants.skip_reason(spec.name));
  if (!internal_error_.empty()) {
    r.outcome = Outcome::internal_error;
    r.problems.insert(r.problems.begin(), "internal error: " + internal_error_);
  } else {
    r.outcome = r.problems.empty() ? Outcome::pass : Outcome::fail;
  }

  // The report record.
  reports::RunResult& rep = r.report;
  rep.scenario_path = s_.path;
  rep.scenario_name = s_.name;
  rep.scenario_hash = s_.source_hash;
  rep.seed = o_.seed;
  rep.trace_hash = r.trace_hash;
  rep.outcome = r.outcome == Outcome::pass ? reports::Outcome::pass
                : r.outcome == Outcome::fail ? reports::Outcome::fail
                                             : reports::Outcome::error;
  rep.expected.assign(expected.begin(), expected.end());
  rep.problems = r.problems;
  for (const auto& n : r.notes) rep.problems.push_back("note: " + n);
  rep.violations = std::move(all);
  rep.skipped = r.skipped;
  rep.stopped_early = !completed;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const sim::FaultOutcome& o = outcomes[i];
    reports::FaultRecord fr;
    fr.index = std::uint32_t(i);
    fr.at = s_.faults[i].at;
    fr.kind = std::string(to_string(s_.faults[i].kind));
    fr.detail = o.detail;
    for (NodeId n : o.nodes) fr.nodes.push_back(info_.name(n));
    fr.applied = o.applied;
    fr.effective = o.effective;
    fr.no_effect = o.no_effect;
    fr.healed = o.ended;
    fr.healed_at = o.ended_at;
    fr.effect_count = o.effect_count;
    rep.faults.push_back(std::move(fr));
  }
  rep.sim_end = sim_.now();
  rep.settle_begin = settle_begin_;
  rep.wall_seconds = wall;
  rep.events = r.events;
  rep.statistics["messages_cut"] = std::int64_t(sim_.messages_cut());
  rep.statistics["events"] = std::int64_t(r.events);
  rep.reproduce = "faultline run " + s_.path + " --seed " + std::to_string(o_.seed);
  for (const auto& n : info_.nodes) rep.lanes.push_back(reports::Lane{n.name, std::string(inv::role_name(n.role))});
  rep.timeline = std::move(timeline_);
  rep.history_keep = o_.history_full ? reports::HistoryKeep::full : reports::HistoryKeep::window;
}

// repro.toml in a run's folder (SCENARIOS.md, Reports): the scenario as it ran,
// its seed pinned, so that `faultline run repro.toml` repeats the run (the same
// history and trace hash) without the original file or the command line.
std::string write_run_repro(const std::string& folder, const Scenario& s, std::uint64_t seed) {
  Scenario pinned = s;
  pinned.seed = seed;
  WriteOptions w;
  w.header = {"repro.toml: " + reports::escape_controls(s.path) + " with its seed pinned (seed " + std::to_string(seed) + ")",
              "written by `faultline run --out`; `faultline run repro.toml` repeats this run (the same trace hash)"};
  const std::string path = folder + "repro.toml";
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << write_scenario(pinned, w);
  f.close();
  return f ? "" : "cannot write " + path;
}

RunResult Run::go() {
  RunResult r;
  const auto wall_start = std::chrono::steady_clock::now();
  build();
  schedule();
  if (o_.verbose && o_.log) print_plan(*o_.log);
  std::string aborted;
  if (o_.watch) {
    const Time end{s_.duration + s_.settle};
    sim_.set_progress(kWatchEvery, [this, end, &aborted] {
      std::string why = o_.watch(sim_.now(), end, sim_.events_processed());
      if (why.empty()) return;
      aborted = std::move(why);
      sim_.stop_run();
    });
  }
  if (s_.timing.any()) {  // [timing]: before the nodes start, so that their first timers drift too
    sim::Timing t;
    t.tail = s_.timing.latency_tail;
    t.tail_factor = s_.timing.latency_tail_factor;
    t.jitter = s_.timing.jitter;
    t.drift_ppm = s_.timing.clock_drift_ppm;
    t.timer_late = s_.timing.timer_late;
    t.timer_late_max = s_.timing.timer_late_max;
    sim_.set_timing(t);
  }
  start_cluster(sim_, cluster_);
  run_to(Time{s_.duration});
  if (!sim_.stopped()) {
    settle();
    const Time end = Time{s_.duration + s_.settle};
    sim_.at(end, [this](sim::Simulation&) { dump_primary(); });
    run_to(end);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  finish(r, wall);
  if (!aborted.empty()) {
    r.outcome = Outcome::internal_error;
    r.aborted = aborted;
    r.problems.insert(r.problems.begin(), aborted);
  }
  for (auto& w : writers_) {
    std::string error;
    if (!w->close(&error) && r.outcome != Outcome::internal_error) {
      r.outcome = Outcome::internal_error;
      r.problems.insert(r.problems.begin(), "internal error: " + error);
    }
  }
  if (!folder_.empty()) {
    if (r.outcome != Outcome::pass || o_.always_write) {
      std::string error = o_.history_full ? "" : cut_history(r);
      if (error.empty()) error = reports::write_run_folder(folder_, r.report);
      if (error.empty()) error = write_run_repro(folder_, s_, o_.seed);
      if (!error.empty()) {
        r.outcome = Outcome::internal_error;
        r.problems.insert(r.problems.begin(), "internal error: " + error);
      }
      r.report_dir = folder_;
    } else {
      std::error_code ec;
      std::filesystem::remove_all(folder_, ec);  // a passing run leaves nothing behind
    }
  }
  return r;
}

}  // namespace

RunResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  Run run(scenario, options);
  return run.go();
}

}  // namespace fl::harness
