#include "harness/scenario_writer.h"

#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "base/assert.h"

namespace fl::harness {
namespace {

// A TOML basic string, escaped by toml++ (one line: no multi-line or literal
// forms, so the text is predictable and diffs stay one line per value).
std::string str(std::string_view s) {
  std::ostringstream o;
  o << toml::toml_formatter{toml::value<std::string>{std::string(s)}, toml::format_flags::allow_unicode_strings};
  return o.str();
}

std::string dur(Duration d) { return str(format_duration(d)); }

std::string range(const DurationRange& r) {
  if (r.lo == r.hi) return dur(r.lo);
  return str(format_duration(r.lo) + ".." + format_duration(r.hi));
}

// The shortest decimal that reads back to the same double (fmt's default is
// shortest round-trip), always with a fraction or exponent so TOML sees a float.
std::string probability(double p) {
  std::string s = fmt::format("{}", p);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string names(const std::vector<NameRef>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + str(v[i].name);
  return out + "]";
}

// `node = "x"` for one target, `nodes = [...]` for several (the loader reads
// both into the same list).
void targets(std::string& out, const std::vector<NameRef>& nodes, bool allow_list = true) {
  if (nodes.empty()) return;
  if (nodes.size() == 1 || !allow_list) out += "node = " + str(nodes.front().name) + "\n";
  else out += "nodes = " + names(nodes) + "\n";
}

void write_fault(std::string& out, const Fault& f) {
  out += "\n[[faults]]\n";
  out += "at = " + dur(f.at.time_since_epoch()) + "\n";
  out += "kind = " + str(to_string(f.kind)) + "\n";
  switch (f.kind) {
    case FaultKind::partition: {
      out += "groups = [";
      for (std::size_t i = 0; i < f.groups.size(); ++i) out += (i ? ", " : "") + names(f.groups[i]);
      out += "]\n";
      break;
    }
    case FaultKind::one_way:
      out += "from = " + names(f.from) + "\n";
      out += "to = " + names(f.to) + "\n";
      break;
    case FaultKind::loss:
    case FaultKind::duplicate:
    case FaultKind::reorder:
      out += "rate = " + probability(f.rate) + "\n";
      if (!f.between.empty()) out += "between = " + names(f.between) + "\n";
      break;
    case FaultKind::delay:
      out += "latency = " + range(f.latency) + "\n";
      if (!f.between.empty()) out += "between = " + names(f.between) + "\n";
      break;
    case FaultKind::crash:
      targets(out, f.nodes);
      if (f.restart_after) out += "restart_after = " + dur(*f.restart_after) + "\n";
      break;
    case FaultKind::restart:
    case FaultKind::pause:
    case FaultKind::db_crash: targets(out, f.nodes); break;
    case FaultKind::clock_skew:
      targets(out, f.nodes);
      out += "offset = " + dur(f.offset) + "\n";
      if (f.drift_ppm != 0) out += "drift_ppm = " + std::to_string(f.drift_ppm) + "\n";
      break;
    case FaultKind::clock_step:
      targets(out, f.nodes);
      out += "by = " + dur(f.by) + "\n";
      break;
    case FaultKind::gossip_send_failure:
      targets(out, f.nodes);
      out += "peer = " + str(f.peer.name) + "\n";
      break;
    case FaultKind::replica_lag:
      targets(out, f.nodes);
      out += "lag = " + dur(f.lag) + "\n";
      break;
    case FaultKind::heal:
    case FaultKind::db_failover:
    case FaultKind::storage_outage: break;
  }
  if (f.for_) out += "for = " + dur(*f.for_) + "\n";
}

void write_operation(std::string& out, const Operation& op) {
  out += "\n[[operations]]\n";
  out += "at = " + dur(op.at.time_since_epoch()) + "\n";
  if (op.runbook) {
    out += "runbook = " + str(to_string(*op.runbook)) + "\n";
    switch (*op.runbook) {
      case Runbook::rolling_upgrade:
      case Runbook::upgrade_with_schema_change:
        if (op.version) out += "to_version = " + str(op.version->str()) + "\n";
        break;
      case Runbook::config_change_continuous:
        out += "key = " + str(op.key) + "\n";
        out += "value = " + str(op.value) + "\n";
        break;
      case Runbook::manual_failover:
        if (!op.to.empty()) out += "to = " + str(op.to.front().name) + "\n";
        break;
      case Runbook::add_server:
        if (op.version) out += "version = " + str(op.version->str()) + "\n";
        break;
      case Runbook::remove_server: targets(out, op.nodes, false); break;
      case Runbook::install_plugin:
        targets(out, op.nodes, false);
        out += "plugin = " + str(op.plugin) + "\n";
        break;
    }
    return;
  }
  FL_ASSERT(op.step.has_value());
  out += "step = " + str(to_string(*op.step)) + "\n";
  switch (*op.step) {
    case StepKind::stop:
    case StepKind::start:
    case StepKind::restart:
    case StepKind::reload_config:
    case StepKind::recycle_connections: targets(out, op.nodes); break;
    case StepKind::upgrade:
      targets(out, op.nodes);
      if (op.version) out += "version = " + str(op.version->str()) + "\n";
      break;
    case StepKind::proxy_route: out += "to = " + names(op.to) + "\n"; break;
    case StepKind::config_change:
      targets(out, op.nodes);
      out += "key = " + str(op.key) + "\n";
      out += "value = " + str(op.value) + "\n";
      break;
    case StepKind::set_datasource:
      targets(out, op.nodes);
      if (!op.to.empty()) out += "to = " + str(op.to.front().name) + "\n";
      break;
    case StepKind::install_plugin:
      targets(out, op.nodes);
      out += "plugin = " + str(op.plugin) + "\n";
      break;
    case StepKind::add_to_channel:
      targets(out, op.nodes, false);
      out += "client = " + str(op.client.name) + "\n";
      out += "channel = " + std::to_string(op.channel) + "\n";
      break;
    case StepKind::revoke_sessions:
      if (!op.nodes.empty()) out += "node = " + str(op.nodes.front().name) + "\n";
      out += "client = " + str(op.client.name) + "\n";
      break;
  }
}

// A comment line must stay one line whatever the text holds.
std::string comment(std::string_view line) {
  std::string out = "#";
  if (!line.empty()) out += " ";
  for (char c : line) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out + "\n";
}

}  // namespace

std::string write_scenario(const Scenario& s, const WriteOptions& options) {
  std::string out;
  for (const auto& line : options.header) out += comment(line);
  if (!options.header.empty()) out += "\n";

  out += "name = " + str(s.name) + "\n";
  if (!s.description.empty()) out += "description = " + str(s.description) + "\n";
  out += "duration = " + dur(s.duration) + "\n";
  out += "seed = " + std::to_string(s.seed) + "\n";
  out += "settle = " + dur(s.settle) + "\n";

  const ClusterConfig& c = s.cluster;
  out += "\n[cluster]\n";
  out += "app_servers = " + std::to_string(c.app_servers) + "\n";
  out += "version = " + str(c.version.str()) + "\n";
  out += "leader_election = " + str(to_string(c.leader_election)) + "\n";
  out += "migration_lock = " + str(to_string(c.migration_lock)) + "\n";
  out += "migration_time = " + dur(c.migration_time) + "\n";
  out += "bugs = " + names(c.bugs) + "\n";
  out += std::string("allow_unsupported_upgrades = ") + (c.allow_unsupported_upgrades ? "true" : "false") + "\n";
  if (c.cluster_name) out += "cluster_name = " + str(*c.cluster_name) + "\n";
  for (const auto& o : c.servers) {
    out += "\n[[cluster.server]]\n";
    out += "name = " + str(o.name.name) + "\n";
    if (o.version) out += "version = " + str(o.version->str()) + "\n";
    if (!o.config.empty()) {
      out += "config = {";
      bool first = true;
      for (const auto& [key, value] : o.config) {
        out += std::string(first ? " " : ", ") + str(key) + " = " + str(value);
        first = false;
      }
      out += " }\n";
    }
  }

  const DatabaseConfig& d = s.database;
  out += "\n[database]\n";
  out += "replicas = " + std::to_string(d.replicas) + "\n";
  out += "replication = " + str(to_string(d.replication)) + "\n";
  out += "replication_lag = " + range(d.replication_lag) + "\n";
  out += "failover = " + str(to_string(d.failover)) + "\n";
  out += "failover_detection = " + dur(d.failover_detection) + "\n";
  if (d.sync_fallback) out += "sync_fallback = true\n";

  out += "\n[proxy]\n";
  out += "health_check = " + str(to_string(s.proxy.health_check)) + "\n";
  out += "health_check_interval = " + dur(s.proxy.health_check_interval) + "\n";

  out += "\n[network]\n";
  out += "latency = " + range(s.network.latency) + "\n";
  out += "loss = " + probability(s.network.loss) + "\n";
  out += "duplicate = " + probability(s.network.duplicate) + "\n";
  out += "reorder = " + probability(s.network.reorder) + "\n";

  if (const TimingConfig& t = s.timing; t.any()) {  // only when unkind: a kind file stays as it was
    out += "\n[timing]\n";
    if (t.latency_tail > 0.0) {
      out += "latency_tail = " + probability(t.latency_tail) + "\n";
      out += "latency_tail_factor = " + std::to_string(t.latency_tail_factor) + "\n";
    }
    if (t.jitter.count() > 0) out += "jitter = " + dur(t.jitter) + "\n";
    if (t.clock_drift_ppm != 0) out += "clock_drift_ppm = " + std::to_string(t.clock_drift_ppm) + "\n";
    if (t.timer_late > 0.0) {
      out += "timer_late = " + probability(t.timer_late) + "\n";
      out += "timer_late_max = " + dur(t.timer_late_max) + "\n";
    }
    if (t.commit_latency.hi.count() > 0) out += "commit_latency = " + range(t.commit_latency) + "\n";
  }

  out += "\n[clients]\n";
  out += "count = " + std::to_string(s.clients.count) + "\n";
  out += "channels = " + std::to_string(s.clients.channels) + "\n";
  out += "post_interval = " + dur(s.clients.post_interval) + "\n";

  for (const auto& f : s.faults) write_fault(out, f);
  for (const auto& op : s.operations) write_operation(out, op);

  const InvariantsConfig& inv = s.invariants;
  const bool has_invariants = !inv.all || !inv.skip.empty() || !inv.options.empty();
  if (has_invariants) {
    out += "\n[invariants]\n";
    if (!inv.all) {
      out += "check = " + names(inv.check) + "\n";
    } else if (!inv.skip.empty()) {
      out += "skip = { ";
      for (std::size_t i = 0; i < inv.skip.size(); ++i)
        out += (i ? ", " : "") + inv.skip[i].name.name + " = " + str(inv.skip[i].reason);
      out += " }\n";
    }
    for (const auto& [name, o] : inv.options) {  // std::map: sorted, as the loader stores them
      out += "\n[invariants." + name + "]\n";
      for (const auto& [key, value] : o.values) out += key + " = " + dur(value) + "\n";
    }
  }

  if (!s.expect.violations.empty()) out += "\n[expect]\nviolations = " + names(s.expect.violations) + "\n";

  if (s.fuzz.present) {
    out += "\n[fuzz]\n";
    if (!s.fuzz.faults.empty()) {
      out += "faults = [";
      for (std::size_t i = 0; i < s.fuzz.faults.size(); ++i) out += (i ? ", " : "") + str(to_string(s.fuzz.faults[i]));
      out += "]\n";
    }
    out += "max_faults = " + std::to_string(s.fuzz.max_faults) + "\n";
    out += std::string("swarm = ") + (s.fuzz.swarm ? "true" : "false") + "\n";
    if (!s.fuzz.timing) out += "timing = false\n";
  }
  return out;
}

}  // namespace fl::harness
