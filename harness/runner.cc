#include "harness/runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <set>

#include "base/assert.h"
#include "base/rng.h"
#include "harness/cluster_builder.h"
#include "harness/edge_builder.h"
#include "invariants/registry.h"
#include "nodes/spec.h"
#include "reports/report.h"
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
  return line;
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
  }
  FL_UNREACHABLE();
}

bool FaultKind_is_network(FaultKind k) {
  return k == FaultKind::partition || k == FaultKind::one_way || k == FaultKind::gossip_send_failure ||
         k == FaultKind::loss || k == FaultKind::duplicate || k == FaultKind::reorder || k == FaultKind::delay;
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
      if (server.name == o.name.name && o.version) server.version = *o.version;
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
  struct FaultState {
    bool active = false;
    bool healed = false;
    Time injected_at{}, healed_at{};
    std::uint64_t cut_at_inject = 0;
    std::vector<NodeId> nodes;     // the nodes it names (crash targets, sender, ...)
    std::vector<std::pair<NodeId, NodeId>> cuts;  // one_way / gossip_send_failure
    std::string detail;
    std::string vacuous;           // why it had no effect ("" : it had one, or no check applies)
    std::vector<NodeId> restart_cancelled;  // crash restarts the operator's stop cancelled
  };

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
  void inject(std::size_t i);
  void end(std::size_t i, bool settling);
  void apply_network();
  void settle();
  void dump_primary();
  void on_event(const HistoryEvent& e);
  void print_plan(std::ostream& out) const;
  void finish(RunResult& r, double wall);

  const Scenario& s_;
  const RunOptions& o_;
  sim::Simulation sim_;
  BuiltCluster cluster_;
  inv::ClusterInfo info_;
  std::vector<std::unique_ptr<inv::Invariant>> checks_;
  std::vector<FaultState> faults_;
  sim::LinkConfig base_link_;
  std::optional<std::size_t> partition_;           // the active partition fault
  std::set<NodeId> crashed_by_faults_;
  std::set<NodeId> skewed_;
  std::set<NodeId> lagging_;
  bool storage_out_ = false;
  Time settle_begin_{};
  bool stopping_ = false;
  // The history streams to these files as it is recorded (the run's folder,
  // RunOptions::history_path): nothing of it stays in memory.
  std::vector<std::unique_ptr<sim::HistoryWriter>> writers_;
  std::string folder_;
  std::vector<HistoryEvent> timeline_;
  std::string internal_error_;
};

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

  for (const auto& spec : inv::invariant_specs()) {
    if (!s_.invariants.checks(spec.name)) continue;
    std::map<std::string, std::string> options;
    if (auto it = s_.invariants.options.find(spec.name); it != s_.invariants.options.end())
      for (const auto& [k, v] : it->second.values) options[k] = format_duration(v);
    inv::MadeInvariant made = inv::make_invariant(spec.name, options, info_);
    FL_ASSERT_MSG(made.invariant != nullptr, "the loader validates invariant names and options");
    checks_.push_back(std::move(made.invariant));
  }
  faults_.resize(s_.faults.size());

  std::vector<std::string> names;
  for (const auto& n : info_.nodes) names.push_back(n.name);
  auto stream_to = [&](const std::string& path) {
    std::string error;
    auto writer = sim::HistoryWriter::open(path, names, &error);
    if (writer) writers_.push_back(std::move(writer));
    else if (internal_error_.empty()) internal_error_ = error;
  };
  if (!o_.out_dir.empty()) {
    std::string stem = s_.path;
    if (auto slash = stem.find_last_of('/'); slash != std::string::npos) stem = stem.substr(slash + 1);
    if (stem.size() > 5 && stem.substr(stem.size() - 5) == ".toml") stem.resize(stem.size() - 5);
    folder_ = (std::filesystem::path(o_.out_dir) / (stem + "-" + std::to_string(o_.seed))).string() + "/";
    std::error_code ec;
    std::filesystem::create_directories(folder_, ec);
    if (ec) internal_error_ = "cannot create " + folder_ + ": " + ec.message();
    else stream_to(folder_ + "history.jsonl");
  }
  if (!o_.history_path.empty()) stream_to(o_.history_path);
  sim_.add_history_listener([this](const HistoryEvent& e) { on_event(e); });
}

void Run::on_event(const HistoryEvent& e) {
  for (auto& w : writers_) w->write(e);
  if (notable(e) && timeline_.size() < kMaxTimelineEvents) timeline_.push_back(e);
  for (auto& c : checks_) {
    c->on_event(e);
    // --stop-at-first only: otherwise the run goes on, so that a later
    // violation (and the end-of-run judgement) is still seen.
    if (o_.stop_at_first && !stopping_ && c->failed()) {
      stopping_ = true;
      sim_.stop_run();
    }
  }
}

void Run::schedule() {
  for (std::size_t i = 0; i < s_.faults.size(); ++i) {
    const Fault& f = s_.faults[i];
    sim_.at(f.at, [this, i](sim::Simulation&) { inject(i); });
    std::optional<Duration> length = f.for_;
    if (f.kind == FaultKind::crash && f.restart_after) length = f.restart_after;
    if (length) sim_.at(f.at + *length, [this, i](sim::Simulation&) { end(i, false); });
  }
}

// The network as the active faults make it: the sim's network state is rebuilt
// from scratch, so ending one fault leaves the others in force.
void Run::apply_network() {
  sim_.heal();
  if (partition_) {
    std::vector<std::vector<NodeId>> groups;
    for (const auto& g : s_.faults[*partition_].groups) groups.push_back(ids(g));
    sim_.partition(groups);
  }
  sim::LinkConfig all = base_link_;
  std::map<std::pair<NodeId, NodeId>, sim::LinkConfig> pairs;
  for (std::size_t i = 0; i < s_.faults.size(); ++i) {
    if (!faults_[i].active) continue;
    const Fault& f = s_.faults[i];
    for (const auto& [from, to] : faults_[i].cuts) sim_.cut_one_way(from, to);
    auto modify = [&](sim::LinkConfig& l) {
      switch (f.kind) {
        case FaultKind::loss: l.loss = f.rate; break;
        case FaultKind::duplicate: l.duplicate = f.rate; break;
        case FaultKind::reorder: l.reorder = f.rate; break;
        case FaultKind::delay: l.latency = f.latency; break;
        default: break;
      }
    };
    if (f.kind != FaultKind::loss && f.kind != FaultKind::duplicate && f.kind != FaultKind::reorder &&
        f.kind != FaultKind::delay)
      continue;
    if (f.between.empty()) {
      modify(all);
    } else {
      auto key = std::minmax(id(f.between[0].name), id(f.between[1].name));
      auto [it, fresh] = pairs.emplace(key, all);
      modify(it->second);
    }
  }
  sim_.set_default_link(all);
  for (const auto& [pair, link] : pairs) sim_.set_link(pair.first, pair.second, link);
}

void Run::inject(std::size_t i) {
  const Fault& f = s_.faults[i];
  FaultState& st = faults_[i];
  st.injected_at = sim_.now();
  st.cut_at_inject = sim_.messages_cut();
  st.nodes = ids(f.nodes);
  auto join_names = [](const std::vector<NameRef>& v) {
    std::string out;
    for (const auto& n : v) out += (out.empty() ? "" : " ") + n.name;
    return out;
  };
  bool lasting = true;  // has an end (healed later)
  switch (f.kind) {
    case FaultKind::partition: {
      for (const auto& g : f.groups) st.detail += "[" + join_names(g) + "] ";
      if (partition_) {  // a new partition replaces the earlier one (Simulation::partition)
        faults_[*partition_].active = false;
        faults_[*partition_].healed = true;
        faults_[*partition_].healed_at = sim_.now();
        sim_.emit(kNoNode, FaultHealed{std::uint32_t(*partition_), "partition"});
      }
      partition_ = i;
      break;
    }
    case FaultKind::one_way:
      for (NodeId a : ids(f.from))
        for (NodeId b : ids(f.to)) st.cuts.push_back({a, b});
      st.detail = "from=[" + join_names(f.from) + "] to=[" + join_names(f.to) + "]";
      st.nodes = ids(f.from);
      break;
    case FaultKind::gossip_send_failure:
      // The chat-specific fault as the network sees it: a one-way cut from each
      // node to the peer (the 15-second retry path, MODEL.md).
      for (NodeId a : st.nodes) st.cuts.push_back({a, id(f.peer.name)});
      st.detail = join_names(f.nodes) + " -> " + f.peer.name;
      break;
    case FaultKind::heal: {
      lasting = false;
      bool any = false;
      for (std::size_t j = 0; j < s_.faults.size(); ++j) {
        if (!faults_[j].active || !FaultKind_is_network(s_.faults[j].kind)) continue;
        any = true;
        end(j, false);
      }
      if (!any) st.vacuous = "there was no network fault to heal";
      break;
    }
    case FaultKind::loss:
    case FaultKind::duplicate:
    case FaultKind::reorder:
      st.detail = "rate=" + std::to_string(f.rate) + (f.between.empty() ? "" : " between " + join_names(f.between));
      break;
    case FaultKind::delay:
      st.detail = "latency=" + format_duration(f.latency.lo) + ".." + format_duration(f.latency.hi) +
                  (f.between.empty() ? "" : " between " + join_names(f.between));
      break;
    case FaultKind::crash:
    case FaultKind::db_crash:
      st.detail = join_names(f.nodes);
      for (NodeId n : st.nodes) {
        if (!sim_.running(n)) {
          st.vacuous = "the crash of " + sim_.name(n) + " found it already down";
          continue;
        }
        sim_.crash(n);
        if (f.kind == FaultKind::db_crash) sim_.emit(n, DbCrashed{});
        crashed_by_faults_.insert(n);
      }
      break;
    case FaultKind::restart:
      lasting = false;
      st.detail = join_names(f.nodes);
      for (NodeId n : st.nodes) {
        if (sim_.running(n)) {
          st.vacuous = "the restart of " + sim_.name(n) + " found it running";
          continue;
        }
        sim_.start(n);
        crashed_by_faults_.erase(n);
      }
      break;
    case FaultKind::pause:
      lasting = false;  // the simulator resumes it after `for`
      st.detail = join_names(f.nodes) + " for " + format_duration(*f.for_);
      for (NodeId n : st.nodes) {
        if (!sim_.running(n)) {
          st.vacuous = "the pause of " + sim_.name(n) + " found it down";
          continue;
        }
        sim_.pause(n, *f.for_);
      }
      break;
    case FaultKind::clock_skew:
      st.detail = join_names(f.nodes) + " offset=" + format_duration(f.offset) + " drift_ppm=" + std::to_string(f.drift_ppm);
      for (NodeId n : st.nodes) {
        sim_.set_clock(n, f.offset, f.drift_ppm);
        skewed_.insert(n);
      }
      break;
    case FaultKind::clock_step:
      lasting = false;
      st.detail = join_names(f.nodes) + " by=" + format_duration(f.by);
      for (NodeId n : st.nodes) sim_.step_clock(n, f.by);
      break;
    case FaultKind::replica_lag:
      st.detail = join_names(f.nodes) + " lag=" + format_duration(f.lag);
      for (NodeId n : st.nodes) {
        sim_.control(n, ControlOp{ControlOp::Kind::set_spec, "replication_lag", format_duration(f.lag)});
        lagging_.insert(n);
      }
      break;
    case FaultKind::db_failover: {
      lasting = false;
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
      if (best == kNoNode) {
        st.vacuous = "no running replica to promote";
        break;
      }
      st.nodes = {best};
      st.detail = "promote " + sim_.name(best);
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
      break;
    }
    case FaultKind::storage_outage:
      st.detail = "storage";
      st.nodes = {cluster_.storage};
      sim_.control(cluster_.storage, ControlOp{ControlOp::Kind::set_spec, "outage", "on"});
      storage_out_ = true;
      break;
  }
  st.active = lasting;
  sim_.emit(st.nodes.empty() ? kNoNode : st.nodes.front(), FaultInjected{std::uint32_t(i), std::string(to_string(f.kind)), st.detail});
  if (FaultKind_is_network(f.kind) || f.kind == FaultKind::heal) apply_network();
}

void Run::end(std::size_t i, bool settling) {
  FaultState& st = faults_[i];
  const Fault& f = s_.faults[i];
  if (!st.active) return;
  st.active = false;
  st.healed = true;
  st.healed_at = sim_.now();
  switch (f.kind) {
    case FaultKind::partition:
    case FaultKind::one_way:
    case FaultKind::gossip_send_failure:
      if (sim_.messages_cut() == st.cut_at_inject && st.vacuous.empty())
        st.vacuous = "it cut no message";
      if (partition_ == i) partition_.reset();
      break;
    case FaultKind::crash:
    case FaultKind::db_crash:
      if (!settling)
        for (NodeId n : st.nodes) {
          if (!crashed_by_faults_.count(n)) continue;
          if (sim_.process_state(n) == sim::ProcessState::crashed) {
            sim_.start(n);
          } else if (sim_.process_state(n) == sim::ProcessState::stopped) {
            // The operator stopped it meanwhile: a supervisor does not restart
            // a service its operator stopped (issue 13, finding 2).
            st.restart_cancelled.push_back(n);
          }
          crashed_by_faults_.erase(n);
        }
      break;
    case FaultKind::clock_skew:
      for (NodeId n : st.nodes) {
        sim_.set_clock(n, Duration{0}, 0);
        skewed_.erase(n);
      }
      break;
    case FaultKind::replica_lag:
      for (NodeId n : st.nodes) {
        sim_.control(n, ControlOp{ControlOp::Kind::set_spec, "replication_lag", ""});
        lagging_.erase(n);
      }
      break;
    case FaultKind::storage_outage:
      sim_.control(cluster_.storage, ControlOp{ControlOp::Kind::set_spec, "outage", "off"});
      storage_out_ = false;
      break;
    default: break;
  }
  sim_.emit(st.nodes.empty() ? kNoNode : st.nodes.front(), FaultHealed{std::uint32_t(i), std::string(to_string(f.kind))});
  if (FaultKind_is_network(f.kind) && !settling) apply_network();
}

// DESIGN.md, Phases of a run: every fault healed, crashed nodes restart, then
// `settle` of simulated time to converge.
void Run::settle() {
  settle_begin_ = sim_.now();
  sim_.emit(kNoNode, SettleBegin{});
  for (std::size_t i = 0; i < s_.faults.size(); ++i) end(i, true);
  partition_.reset();
  apply_network();
  // Paused processes resume (a pause is a fault, whatever its `for`), and
  // crashed ones restart unless the operator has stopped them since.
  for (std::uint32_t i = 0; i < sim_.node_count(); ++i) sim_.resume(NodeId{i});
  for (NodeId n : crashed_by_faults_)
    if (sim_.process_state(n) == sim::ProcessState::crashed) sim_.start(n);
  crashed_by_faults_.clear();
  FL_ASSERT(skewed_.empty() && lagging_.empty() && !storage_out_);
}

// no_lost_writes judges the primary's real contents. The runtime reads them
// from the simulated disk (DESIGN.md, Phases of a run), never by asking the
// node, which may be paused or down at the end: the primary is the member the
// cluster endpoint names when it holds the primary role, else the first member
// that does. A run with no primary to read is an internal error.
void Run::dump_primary() {
  NodeId primary = kNoNode;
  const NodeId endpoint = sim_.db_endpoint();
  for (NodeId m : cluster_.db_members) {
    if (cluster_.disk(m).role != DbRole::primary) continue;
    if (primary == kNoNode || m == endpoint) primary = m;
  }
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
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    if (!faults_[i].vacuous.empty()) r.notes.push_back(where(i) + " had no effect: " + faults_[i].vacuous);
    for (NodeId n : faults_[i].restart_cancelled)
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
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    const Fault& f = s_.faults[i];
    reports::FaultRecord fr;
    fr.index = std::uint32_t(i);
    fr.at = f.at;
    fr.kind = std::string(to_string(f.kind));
    fr.detail = faults_[i].detail;
    for (NodeId n : faults_[i].nodes) fr.nodes.push_back(info_.name(n));
    fr.healed = faults_[i].healed;
    fr.healed_at = faults_[i].healed_at;
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
}

RunResult Run::go() {
  RunResult r;
  const auto wall_start = std::chrono::steady_clock::now();
  build();
  schedule();
  if (o_.verbose && o_.log) print_plan(*o_.log);
  start_cluster(sim_, cluster_);
  sim_.run_until(Time{s_.duration});
  if (!sim_.stopped()) {
    settle();
    const Time end = Time{s_.duration + s_.settle};
    sim_.at(end, [this](sim::Simulation&) { dump_primary(); });
    sim_.run_until(end);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  finish(r, wall);
  for (auto& w : writers_) {
    std::string error;
    if (!w->close(&error) && r.outcome != Outcome::internal_error) {
      r.outcome = Outcome::internal_error;
      r.problems.insert(r.problems.begin(), "internal error: " + error);
    }
  }
  if (!folder_.empty()) {
    if (r.outcome != Outcome::pass || o_.always_write) {
      const std::string error = reports::write_run_folder(folder_, r.report);
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
