#include "harness/scenario_loader.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

// toml++ only here: it is heavy. Debian builds it as a compiled library with
// exceptions on, so a syntax error arrives as toml::parse_error.
#include <toml++/toml.h>

#include "base/assert.h"
#include "base/rng.h"
#include "base/suggest.h"
#include "harness/catalog.h"

namespace fl::harness {

std::string LoadError::str() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

namespace {

using Names = std::vector<std::string_view>;

std::string quote(std::string_view s) {
  // Printable and short, whatever the file held: messages go to a terminal.
  constexpr std::size_t kMaxQuoted = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMaxQuoted; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += char(c);
    }
  }
  if (s.size() > kMaxQuoted) out += "...";
  out += "\"";
  return out;
}

std::string join(const Names& names, std::string_view sep = ", ") {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += sep;
    out += names[i];
  }
  return out;
}

std::string describe(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string (" + quote(n.as_string()->get()) + ")";
    case toml::node_type::integer: return "an integer (" + std::to_string(n.as_integer()->get()) + ")";
    case toml::node_type::floating_point: {
      std::ostringstream s;
      s << n.as_floating_point()->get();
      return "a float (" + s.str() + ")";
    }
    case toml::node_type::boolean: return std::string("a boolean (") + (n.as_boolean()->get() ? "true" : "false") + ")";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

constexpr std::string_view kDurationExample = "a duration string such as \"30s\", \"250ms\" or \"1h30m\"";
constexpr std::string_view kRangeExample = "a duration or range string such as \"5ms\" or \"5ms..50ms\"";

// The first pass: TOML to Scenario, checking keys, types and formats.
class Parser {
 public:
  explicit Parser(const std::string& file) : file_(file) {}

  std::vector<LoadError>& errors() { return errors_; }
  // True when the top level, [cluster], [database] and [clients] parsed cleanly,
  // so that the meaning checks can run without reporting noise.
  bool frame_ok() const { return frame_ok_; }

  void error(SourcePos p, std::string message) {
    if (errors_.size() >= kMaxErrors) return;
    errors_.push_back(LoadError{file_, std::max<std::uint32_t>(p.line, 1), std::max<std::uint32_t>(p.column, 1),
                                std::move(message)});
  }

  static SourcePos pos(const toml::source_region& r) {
    return SourcePos{std::uint32_t(r.begin.line), std::uint32_t(r.begin.column)};
  }
  static SourcePos pos(const toml::node& n) { return pos(n.source()); }

  // Every key of `t` must be in `allowed`.
  void check_keys(const toml::table& t, const Names& allowed, std::string_view where,
                  const Names& other_kind_keys = {}, std::string_view kind_note = {}) {
    for (auto&& [key, value] : t) {
      const std::string_view k = key.str();
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      const SourcePos p = key.source().begin.line ? pos(key.source()) : pos(value);
      if (!reported_keys_.insert({p.line, p.column}).second) continue;
      if (std::find(other_kind_keys.begin(), other_kind_keys.end(), k) != other_kind_keys.end()) {
        error(p, "key " + quote(k) + " does not apply to " + std::string(kind_note) + "; expected one of " +
                     join(allowed));
      } else {
        error(p, "unknown key " + quote(k) + " in " + std::string(where) + did_you_mean(k, allowed) +
                     "; expected one of " + join(allowed));
      }
    }
  }

  const toml::node* get(const toml::table& t, std::string_view key) { return t.get(key); }

  void type_error(const toml::node& n, std::string_view key, std::string_view expected) {
    error(pos(n), std::string(key) + " is " + describe(n) + "; expected " + std::string(expected));
  }

  // A required key is absent. When a key of the table is a near miss of it
  // ("kid" for "kind"), that key is the mistake: say so there, once.
  void missing(const toml::table& t, std::string_view where, std::string_view key, std::string_view expected) {
    const std::vector<std::string_view> wanted = {key};
    for (auto&& [k, v] : t) {
      if (k.str() == key || !closest_name(k.str(), wanted)) continue;
      const SourcePos p = k.source().begin.line ? pos(k.source()) : pos(v);
      if (!reported_keys_.insert({p.line, p.column}).second) return;
      error(p, "unknown key " + quote(k.str()) + " in " + std::string(where) + " (did you mean " + quote(key) +
                   "?); expected " + std::string(key) + " = " + std::string(expected));
      return;
    }
    error(pos(t), std::string(where) + " has no " + std::string(key) + "; expected " + std::string(key) +
                         " = " + std::string(expected));
  }

  std::optional<std::string> get_string(const toml::table& t, std::string_view key, SourcePos* at = nullptr) {
    const toml::node* n = get(t, key);
    if (!n) return std::nullopt;
    if (at) *at = pos(*n);
    if (!n->is_string()) {
      type_error(*n, key, "a string");
      return std::nullopt;
    }
    return std::string(n->as_string()->get());
  }

  std::optional<bool> get_bool(const toml::table& t, std::string_view key) {
    const toml::node* n = get(t, key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) {
      type_error(*n, key, "true or false");
      return std::nullopt;
    }
    return n->as_boolean()->get();
  }

  std::optional<std::int64_t> get_int(const toml::table& t, std::string_view key, std::int64_t lo,
                                      std::int64_t hi, SourcePos* at = nullptr) {
    const toml::node* n = get(t, key);
    if (!n) return std::nullopt;
    if (at) *at = pos(*n);
    const std::string expected = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    if (!n->is_integer()) {
      type_error(*n, key, expected);
      return std::nullopt;
    }
    const std::int64_t v = n->as_integer()->get();
    if (v < lo || v > hi) {
      error(pos(*n), std::string(key) + " = " + std::to_string(v) + " is out of range; expected " + expected);
      return std::nullopt;
    }
    return v;
  }

  // A probability: a float or an integer (0, 1) in [0, 1].
  std::optional<double> get_probability(const toml::table& t, std::string_view key) {
    const toml::node* n = get(t, key);
    if (!n) return std::nullopt;
    double v = 0;
    if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else if (n->is_integer()) {
      v = double(n->as_integer()->get());
    } else {
      type_error(*n, key, "a probability from 0.0 to 1.0");
      return std::nullopt;
    }
    if (!(v >= 0.0 && v <= 1.0)) {  // also rejects nan
      error(pos(*n), std::string(key) + " is " + describe(*n) + ", outside [0, 1]; expected a probability from 0.0 to 1.0");
      return std::nullopt;
    }
    return v;
  }

  std::optional<Duration> get_duration(const toml::table& t, std::string_view key, bool allow_negative = false,
                                       SourcePos* at = nullptr, bool positive = false) {
    const toml::node* n = get(t, key);
    if (!n) return std::nullopt;
    if (at) *at = pos(*n);
    if (!n->is_string()) {
      type_error(*n, key, kDurationExample);
      return std::nullopt;
    }
    std::string reason;
    const auto d = parse_duration(n->as_string()->get(), &reason, allow_negative);
    if (!d) {
      error(pos(*n), std::string(key) + ": " + reason);
      return std::nullopt;
    }
    if (positive && *d <= Duration::zero()) {
      error(pos(*n), std::string(key) + " = " + quote(n->as_string()->get()) +
                         " is not positive; expected a duration greater than 0s");
      return std::nullopt;
    }
    return d;
  }

  std::optional<DurationRange> get_range(const toml::table& t, std::string_view key) {
    const toml::node* n = get(t, key);
    if (!n) return std::nullopt;
    if (!n->is_string()) {
      type_error(*n, key, kRangeExample);
      return std::nullopt;
    }
    std::string reason;
    const auto r = parse_duration_range(n->as_string()->get(), &reason);
    if (!r) {
      error(pos(*n), std::string(key) + ": " + reason);
      return std::nullopt;
    }
    return r;
  }

  std::optional<Version> get_version(const toml::table& t, std::string_view key, SourcePos* at) {
    const auto s = get_string(t, key, at);
    if (!s) return std::nullopt;
    const auto v = parse_version(*s);
    if (!v) {
      error(*at, std::string(key) + " = " + quote(*s) +
                     " is not a version; expected \"major.minor.patch\" such as \"10.4.1\"");
      return std::nullopt;
    }
    return v;
  }

  // A name chosen from a fixed list; returns its index.
  std::optional<std::size_t> get_choice(const toml::table& t, std::string_view key, const Names& choices,
                                        std::string_view what) {
    SourcePos p;
    const auto s = get_string(t, key, &p);
    if (!s) return std::nullopt;
    return choose(*s, p, choices, what);
  }

  std::optional<std::size_t> choose(const std::string& s, SourcePos p, const Names& choices, std::string_view what) {
    for (std::size_t i = 0; i < choices.size(); ++i)
      if (choices[i] == s) return i;
    error(p, "unknown " + std::string(what) + " " + quote(s) + did_you_mean(s, choices) + "; expected one of " +
                 join(choices));
    return std::nullopt;
  }

  // A list of strings (node names, invariant names...). `allow_empty` false
  // makes [] an error.
  std::optional<std::vector<NameRef>> get_name_list(const toml::table& t, std::string_view key, bool allow_empty,
                                                    std::string_view what = "a list of node names") {
    const toml::node* n = get(t, key);
    if (!n) return std::nullopt;
    return name_list(*n, key, allow_empty, what);
  }

  std::optional<std::vector<NameRef>> name_list(const toml::node& n, std::string_view key, bool allow_empty,
                                                std::string_view what) {
    const toml::array* a = n.as_array();
    if (!a) {
      type_error(n, key, std::string(what) + " such as [\"app1\", \"app2\"]");
      return std::nullopt;
    }
    if (a->empty() && !allow_empty) {
      error(pos(n), std::string(key) + " is an empty list; expected " + std::string(what) + ", at least one");
      return std::nullopt;
    }
    std::vector<NameRef> out;
    bool ok = true;
    for (const toml::node& e : *a) {
      if (!e.is_string()) {
        error(pos(e), "an element of " + std::string(key) + " is " + describe(e) + "; expected a string");
        ok = false;
        continue;
      }
      out.push_back(NameRef{std::string(e.as_string()->get()), pos(e)});
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // `node = "x"` or `nodes = ["x", "y"]`, exactly one of them when required.
  std::vector<NameRef> get_targets(const toml::table& t, SourcePos table_pos, std::string_view where, bool required) {
    const toml::node* one = get(t, "node");
    const toml::node* many = get(t, "nodes");
    if (one && many) {
      error(pos(*many), where == "" ? "both node and nodes given" :
                                      std::string(where) + " has both node and nodes; expected one of them");
      return {};
    }
    if (one) {
      if (!one->is_string()) {
        type_error(*one, "node", "a node name such as \"app1\" (or nodes = [...])");
        return {};
      }
      return {NameRef{std::string(one->as_string()->get()), pos(*one)}};
    }
    if (many) return name_list(*many, "nodes", false, "a list of node names").value_or(std::vector<NameRef>{});
    if (required) missing(t, where, "node", "\"app1\" (or nodes = [\"app1\", \"app2\"])");
    return {};
  }

  const toml::table* sub_table(const toml::table& root, std::string_view key) {
    const toml::node* n = get(root, key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      type_error(*n, key, "a table ([" + std::string(key) + "])");
      return nullptr;
    }
    return n->as_table();
  }

  // ---- the sections ----------------------------------------------------------

  void parse_root(const toml::table& root, Scenario& s) {
    check_keys(root,
               {"name", "description", "duration", "seed", "settle", "cluster", "database", "proxy", "network",
                "clients", "faults", "operations", "invariants", "expect", "fuzz", "timing"},
               "the top level");
    const std::size_t errors_before_frame = errors_.size();
    if (auto v = get_string(root, "name")) s.name = *v;
    if (auto v = get_string(root, "description")) s.description = *v;
    if (const toml::node* n = get(root, "duration")) {
      s.duration_pos = pos(*n);
      if (auto d = get_duration(root, "duration", false, nullptr, true)) {
        if (*d > kMaxScenarioDuration) {
          error(s.duration_pos, "duration = " + quote(n->as_string()->get()) + " is too long; expected at most " +
                                    format_duration(kMaxScenarioDuration));
        } else {
          s.duration = *d;
        }
      }
    } else {
      missing(root, "the top level", "duration", "\"10m\" (simulated time)");
    }
    if (auto v = get_int(root, "seed", 0, INT64_MAX)) s.seed = std::uint64_t(*v);
    if (const toml::node* n = get(root, "settle")) {
      if (auto d = get_duration(root, "settle")) {
        if (*d > kMaxSettle) {
          error(pos(*n), "settle is longer than " + format_duration(kMaxSettle) + "; expected at most that");
        } else {
          s.settle = *d;
        }
      }
    }
    if (const auto* t = sub_table(root, "cluster")) parse_cluster(*t, s.cluster);
    if (const auto* t = sub_table(root, "database")) parse_database(*t, s.database);
    if (const auto* t = sub_table(root, "clients")) parse_clients(*t, s.clients);
    // What the meaning checks judge against (the cluster's node names, the
    // duration) is settled here: later errors do not make them misleading.
    frame_ok_ = errors_.size() == errors_before_frame;
    if (const auto* t = sub_table(root, "proxy")) parse_proxy(*t, s.proxy);
    if (const auto* t = sub_table(root, "network")) parse_network(*t, s.network);
    if (const auto* t = sub_table(root, "timing")) parse_timing(*t, s.timing);
    for_each_table(root, "faults", kMaxFaults, [&](const toml::table& t) { parse_fault(t, s); });
    for_each_table(root, "operations", kMaxOperations, [&](const toml::table& t) { parse_operation(t, s); });
    if (const auto* t = sub_table(root, "invariants")) parse_invariants(*t, s.invariants);
    if (const auto* t = sub_table(root, "expect")) parse_expect(*t, s.expect);
    if (const auto* t = sub_table(root, "fuzz")) parse_fuzz(*t, s.fuzz);
  }

  template <class F>
  void for_each_table(const toml::table& root, std::string_view key, std::size_t limit, F&& f) {
    const toml::node* n = get(root, key);
    if (!n) return;
    const toml::array* a = n->as_array();
    if (!a) {
      type_error(*n, key, "an array of tables ([[" + std::string(key) + "]])");
      return;
    }
    if (a->size() > limit) {
      error(pos(*n), std::to_string(a->size()) + " [[" + std::string(key) + "]] entries; expected at most " +
                         std::to_string(limit));
      return;
    }
    for (const toml::node& e : *a) {
      if (!e.is_table()) {
        error(pos(e), "an element of " + std::string(key) + " is " + describe(e) + "; expected a table ([[" +
                          std::string(key) + "]])");
        continue;
      }
      f(*e.as_table());
    }
  }

  void parse_cluster(const toml::table& t, ClusterConfig& c) {
    check_keys(t,
               {"app_servers", "version", "leader_election", "migration_lock", "migration_time", "bugs",
                "allow_unsupported_upgrades", "server", "cluster_name"},
               "[cluster]");
    if (get(t, "cluster_name")) {
      if (auto v = get_string(t, "cluster_name")) c.cluster_name = *v;
    }
    if (auto v = get_int(t, "app_servers", 1, kMaxAppServers, &c.app_servers_pos)) c.app_servers = std::uint32_t(*v);
    if (auto v = get_version(t, "version", &c.version_pos)) c.version = *v;
    if (auto v = get_choice(t, "leader_election", {"bully", "db_lease"}, "leader_election"))
      c.leader_election = LeaderElection(*v);
    if (auto v = get_choice(t, "migration_lock", {"morph", "db_clock"}, "migration_lock"))
      c.migration_lock = MigrationLock(*v);
    if (auto v = get_duration(t, "migration_time", false, nullptr, true)) c.migration_time = *v;
    if (auto v = get_name_list(t, "bugs", true, "a list of bug names")) c.bugs = *v;
    if (auto v = get_bool(t, "allow_unsupported_upgrades")) c.allow_unsupported_upgrades = *v;
    for_each_table(t, "server", kMaxAppServers * 4, [&](const toml::table& st) {
      ServerOverride o;
      o.pos = pos(st);
      check_keys(st, {"name", "version", "config"}, "[[cluster.server]]");
      SourcePos np;
      if (auto n = get_string(st, "name", &np)) {
        o.name = NameRef{*n, np};
      } else if (!get(st, "name")) {
        missing(st, "[[cluster.server]]", "name", "\"app1\"");
      }
      o.version = get_version(st, "version", &o.version_pos);
      if (const toml::node* cfg = get(st, "config")) parse_server_config(*cfg, o.config);
      c.servers.push_back(std::move(o));
    });
  }

  // [[cluster.server]] config = { "Section.Key" = value, ... }: the server's
  // config.json settings; a value is a string, an integer or a boolean.
  void parse_server_config(const toml::node& n, std::map<std::string, std::string>& out) {
    const toml::table* t = n.as_table();
    if (!t) {
      type_error(n, "config", "a table such as { \"JobSettings.RunScheduler\" = false }");
      return;
    }
    for (auto&& [key, value] : *t) {
      const std::string k(key.str());
      const SourcePos p = key.source().begin.line ? pos(key.source()) : pos(value);
      if (k.find('.') == std::string::npos || k.front() == '.' || k.back() == '.') {
        error(p, "config key " + quote(k) + " is not a setting; expected \"Section.Key\" in quotes, such as "
                 "\"JobSettings.RunScheduler\"");
        continue;
      }
      if (value.is_string()) out[k] = std::string(value.as_string()->get());
      else if (value.is_integer()) out[k] = std::to_string(value.as_integer()->get());
      else if (value.is_boolean()) out[k] = value.as_boolean()->get() ? "true" : "false";
      else type_error(value, "config " + quote(k), "a string, an integer or a boolean");
    }
  }

  void parse_database(const toml::table& t, DatabaseConfig& d) {
    check_keys(t, {"replicas", "replication", "replication_lag", "failover", "failover_detection", "sync_fallback"},
               "[database]");
    if (auto v = get_int(t, "replicas", 0, kMaxReplicas)) d.replicas = std::uint32_t(*v);
    if (auto v = get_choice(t, "replication", {"async", "sync"}, "replication")) d.replication = Replication(*v);
    if (auto v = get_range(t, "replication_lag")) d.replication_lag = *v;
    if (auto v = get_choice(t, "failover", {"automatic", "manual"}, "failover")) d.failover = Failover(*v);
    if (auto v = get_duration(t, "failover_detection")) d.failover_detection = *v;
    if (auto v = get_bool(t, "sync_fallback")) {
      d.sync_fallback = *v;
      d.sync_fallback_pos = pos(*get(t, "sync_fallback"));
      if (*v && d.replication != Replication::sync)
        error(d.sync_fallback_pos, "sync_fallback = true applies to replication = \"sync\" only; expected it with "
                                   "replication = \"sync\", or no sync_fallback");
    }
  }

  void parse_proxy(const toml::table& t, ProxyConfig& p) {
    check_keys(t, {"health_check", "health_check_interval"}, "[proxy]");
    if (auto v = get_choice(t, "health_check", {"ping", "ping_with_status"}, "health_check"))
      p.health_check = HealthCheck(*v);
    if (auto v = get_duration(t, "health_check_interval", false, nullptr, true)) p.health_check_interval = *v;
  }

  void parse_network(const toml::table& t, NetworkConfig& n) {
    check_keys(t, {"latency", "loss", "duplicate", "reorder"}, "[network]");
    if (auto v = get_range(t, "latency")) n.latency = *v;
    if (auto v = get_probability(t, "loss")) n.loss = *v;
    if (auto v = get_probability(t, "duplicate")) n.duplicate = *v;
    if (auto v = get_probability(t, "reorder")) n.reorder = *v;
  }

  // [timing] (issue 9): the simulator's unkindness; every key off by default.
  void parse_timing(const toml::table& t, TimingConfig& c) {
    c.pos = pos(t);
    check_keys(t,
               {"latency_tail", "latency_tail_factor", "jitter", "clock_drift_ppm", "timer_late", "timer_late_max",
                "commit_latency"},
               "[timing]");
    if (auto v = get_probability(t, "latency_tail")) c.latency_tail = *v;
    if (auto v = get_int(t, "latency_tail_factor", 1, 1000)) c.latency_tail_factor = *v;
    if (auto v = get_duration(t, "jitter")) c.jitter = *v;
    // Crystals are off by tens of ppm; 100,000 ppm (10 %) is far beyond any real one.
    if (auto v = get_int(t, "clock_drift_ppm", 0, 100'000)) c.clock_drift_ppm = *v;
    if (auto v = get_probability(t, "timer_late")) c.timer_late = *v;
    if (auto v = get_duration(t, "timer_late_max")) c.timer_late_max = *v;
    if (auto v = get_range(t, "commit_latency")) c.commit_latency = *v;
    // Bounds that keep a run a run: delays longer than a minute are outages,
    // which are faults ([[faults]] delay, pause), not timing.
    const auto at_most_minute = [&](std::string_view key, Duration d) {
      if (d > minutes(1))
        error(pos(*get(t, key)), std::string(key) + " = " + format_duration(d) +
                                      " is longer than 1m; expected at most 1m (a longer stall is a fault: delay, pause)");
    };
    if (get(t, "jitter")) at_most_minute("jitter", c.jitter);
    if (get(t, "timer_late_max")) at_most_minute("timer_late_max", c.timer_late_max);
    if (get(t, "commit_latency")) at_most_minute("commit_latency", c.commit_latency.hi);
    // A knob with its partner off would do nothing: say so rather than run kind.
    if (get(t, "latency_tail") && c.latency_tail > 0.0 && c.latency_tail_factor < 2)
      error(pos(*get(t, "latency_tail")), "latency_tail > 0 needs latency_tail_factor = 2 or more (how many times "
                                          "the drawn latency a tail message may take); expected both");
    if (get(t, "latency_tail_factor") && c.latency_tail_factor > 1 && c.latency_tail == 0.0)
      error(pos(*get(t, "latency_tail_factor")), "latency_tail_factor without latency_tail > 0 changes nothing; "
                                                 "expected latency_tail = 0.01 (say) or no latency_tail_factor");
    if (get(t, "timer_late") && c.timer_late > 0.0 && c.timer_late_max <= Duration::zero())
      error(pos(*get(t, "timer_late")), "timer_late > 0 needs timer_late_max (how late a timer may fire); expected "
                                        "timer_late_max = \"500ms\" (say)");
    if (get(t, "timer_late_max") && c.timer_late_max > Duration::zero() && c.timer_late == 0.0)
      error(pos(*get(t, "timer_late_max")), "timer_late_max without timer_late > 0 changes nothing; expected "
                                            "timer_late = 0.05 (say) or no timer_late_max");
  }

  void parse_clients(const toml::table& t, ClientsConfig& c) {
    check_keys(t, {"count", "channels", "post_interval"}, "[clients]");
    if (auto v = get_int(t, "count", 0, kMaxClients)) c.count = std::uint32_t(*v);
    if (auto v = get_int(t, "channels", 1, kMaxChannels)) c.channels = std::uint32_t(*v);
    if (auto v = get_duration(t, "post_interval", false, nullptr, true)) c.post_interval = *v;
  }

  // The keys each fault kind takes besides `at`, `kind` (and `for` where allowed).
  static Names fault_keys(FaultKind k) {
    switch (k) {
      case FaultKind::partition: return {"groups"};
      case FaultKind::one_way: return {"from", "to"};
      case FaultKind::heal: return {};
      case FaultKind::loss:
      case FaultKind::duplicate:
      case FaultKind::reorder: return {"rate", "between"};
      case FaultKind::delay: return {"latency", "between"};
      case FaultKind::crash: return {"node", "nodes", "restart_after"};
      case FaultKind::restart: return {"node", "nodes"};
      case FaultKind::pause: return {"node", "nodes"};
      case FaultKind::clock_skew: return {"node", "nodes", "offset", "drift_ppm"};
      case FaultKind::clock_step: return {"node", "nodes", "by"};
      case FaultKind::gossip_send_failure: return {"node", "nodes", "peer"};
      case FaultKind::db_crash: return {"node", "nodes"};
      case FaultKind::replica_lag: return {"node", "nodes", "lag"};
      case FaultKind::db_failover: return {};
      case FaultKind::storage_outage: return {};
    }
    FL_UNREACHABLE();
  }
  static bool takes_for(FaultKind k) {
    return k != FaultKind::heal && k != FaultKind::restart && k != FaultKind::db_failover;
  }

  void parse_at(const toml::table& t, SourcePos table_pos, std::string_view where, Time& at, SourcePos& at_pos) {
    if (!get(t, "at")) {
      missing(t, where, "at", "\"2m\" (when, in simulated time since the start)");
      return;
    }
    if (auto d = get_duration(t, "at", false, &at_pos)) at = Time{*d};
  }

  void parse_fault(const toml::table& t, Scenario& s) {
    Fault f;
    f.pos = pos(t);
    const Names kinds = names_of(fault_catalog());
    SourcePos kind_pos;
    const auto kind_text = get_string(t, "kind", &kind_pos);
    if (!get(t, "kind")) {
      missing(t, "[[faults]]", "kind", "\"partition\" (faultline list faults)");
      return;
    }
    if (!kind_text) return;
    const auto k = choose(*kind_text, kind_pos, kinds, "fault kind");
    if (!k) return;
    f.kind = FaultKind(*k);
    const std::string where = "[[faults]] " + std::string(to_string(f.kind));

    Names allowed = {"at", "kind"};
    if (takes_for(f.kind)) allowed.push_back("for");
    const Names specific = fault_keys(f.kind);
    allowed.insert(allowed.end(), specific.begin(), specific.end());
    Names every_fault_key = {"for"};
    for (std::size_t i = 0; i < kFaultKindCount; ++i)
      for (auto key : fault_keys(FaultKind(i))) every_fault_key.push_back(key);
    check_keys(t, allowed, "[[faults]]", every_fault_key, "fault kind " + quote(to_string(f.kind)));

    parse_at(t, f.pos, where, f.at, f.at_pos);
    if (takes_for(f.kind)) f.for_ = get_duration(t, "for", false, &f.for_pos, true);

    const bool needs_nodes = std::find(specific.begin(), specific.end(), "node") != specific.end();
    if (needs_nodes) f.nodes = get_targets(t, f.pos, where, true);

    switch (f.kind) {
      case FaultKind::partition: {
        const toml::node* g = get(t, "groups");
        if (!g) {
          missing(t, where, "groups", "[[\"app1\"], [\"app2\", \"app3\"]]");
          break;
        }
        const toml::array* a = g->as_array();
        if (!a) {
          type_error(*g, "groups", "a list of node lists such as [[\"app1\"], [\"app2\", \"app3\"]]");
          break;
        }
        if (a->size() < 2)
          error(pos(*g), "groups has " + std::to_string(a->size()) +
                             (a->size() == 1 ? " group" : " groups") +
                             "; expected at least two groups (nodes not named keep their links)");
        for (const toml::node& e : *a) {
          if (auto names = name_list(e, "groups", true, "a list of node names")) {
            if (names->empty()) error(pos(e), "empty partition group; expected at least one node name in each group");
            f.groups.push_back(std::move(*names));
          }
        }
        break;
      }
      case FaultKind::one_way:
        if (auto v = get_name_list(t, "from", false)) f.from = *v;
        else if (!get(t, "from")) missing(t, where, "from", "[\"app1\"]");
        if (auto v = get_name_list(t, "to", false)) f.to = *v;
        else if (!get(t, "to")) missing(t, where, "to", "[\"app2\"]");
        break;
      case FaultKind::loss:
      case FaultKind::duplicate:
      case FaultKind::reorder:
        if (auto v = get_probability(t, "rate")) f.rate = *v;
        else if (!get(t, "rate")) missing(t, where, "rate", "0.1 (a probability)");
        parse_between(t, f);
        break;
      case FaultKind::delay:
        if (auto v = get_range(t, "latency")) f.latency = *v;
        else if (!get(t, "latency")) missing(t, where, "latency", "\"100ms..500ms\"");
        parse_between(t, f);
        break;
      case FaultKind::crash:
        f.restart_after = get_duration(t, "restart_after");
        if (f.restart_after && f.for_)
          error(f.for_pos, "crash has both for and restart_after; expected one of them (both restart the node)");
        break;
      case FaultKind::pause:
        if (!get(t, "for")) missing(t, where, "for", "\"15s\" (how long the process is frozen)");
        break;
      case FaultKind::clock_skew:
        if (auto v = get_duration(t, "offset", true)) f.offset = *v;
        else if (!get(t, "offset")) missing(t, where, "offset", "\"+90s\" or \"-2s\"");
        // A real oscillator is off by tens of ppm; a million ppm doubles the rate.
        if (auto v = get_int(t, "drift_ppm", -1'000'000, 1'000'000)) f.drift_ppm = *v;
        break;
      case FaultKind::clock_step:
        if (auto v = get_duration(t, "by", true)) f.by = *v;
        else if (!get(t, "by")) missing(t, where, "by", "\"+30s\" or \"-5s\"");
        break;
      case FaultKind::gossip_send_failure: {
        SourcePos pp;
        if (auto v = get_string(t, "peer", &pp)) f.peer = NameRef{*v, pp};
        else if (!get(t, "peer")) missing(t, where, "peer", "\"app2\"");
        break;
      }
      case FaultKind::replica_lag:
        if (auto v = get_duration(t, "lag", false, nullptr, true)) f.lag = *v;
        else if (!get(t, "lag")) missing(t, where, "lag", "\"30s\"");
        break;
      case FaultKind::heal:
      case FaultKind::restart:
      case FaultKind::db_crash:
      case FaultKind::db_failover:
      case FaultKind::storage_outage: break;
    }
    s.faults.push_back(std::move(f));
  }

  void parse_between(const toml::table& t, Fault& f) {
    const toml::node* n = get(t, "between");
    if (!n) return;
    if (auto v = name_list(*n, "between", false, "a list of two node names")) {
      if (v->size() != 2) {
        error(pos(*n), "between names " + std::to_string(v->size()) +
                           " nodes; expected exactly two (the link between them)");
        return;
      }
      f.between = *v;
    }
  }

  static Names runbook_keys(Runbook r) {
    switch (r) {
      case Runbook::rolling_upgrade:
      case Runbook::upgrade_with_schema_change: return {"to_version"};
      case Runbook::config_change_continuous: return {"key", "value"};
      case Runbook::manual_failover: return {"to"};
      case Runbook::add_server: return {"version"};
      case Runbook::remove_server: return {"node"};
      case Runbook::install_plugin: return {"node", "plugin"};
    }
    FL_UNREACHABLE();
  }
  static Names step_keys(StepKind k) {
    switch (k) {
      case StepKind::stop:
      case StepKind::start:
      case StepKind::restart:
      case StepKind::reload_config:
      case StepKind::recycle_connections: return {"node", "nodes"};
      case StepKind::upgrade: return {"node", "nodes", "version"};
      case StepKind::proxy_route: return {"to"};
      case StepKind::config_change: return {"node", "nodes", "key", "value"};
      case StepKind::set_datasource: return {"node", "nodes", "to"};
      case StepKind::install_plugin: return {"node", "nodes", "plugin"};
      case StepKind::add_to_channel: return {"node", "client", "channel"};
      case StepKind::revoke_sessions: return {"client", "node"};
    }
    FL_UNREACHABLE();
  }

  // A configuration value: a System Console field can be a string, a number or a switch.
  std::optional<std::string> get_config_value(const toml::table& t) {
    const toml::node* n = get(t, "value");
    if (!n) return std::nullopt;
    if (n->is_string()) return std::string(n->as_string()->get());
    if (n->is_integer()) return std::to_string(n->as_integer()->get());
    if (n->is_boolean()) return n->as_boolean()->get() ? "true" : "false";
    type_error(*n, "value", "a string, an integer or a boolean");
    return std::nullopt;
  }

  void parse_operation(const toml::table& t, Scenario& s) {
    Operation op;
    op.pos = pos(t);
    const toml::node* rb = get(t, "runbook");
    const toml::node* st = get(t, "step");
    if (rb && st) {
      error(pos(*st), "[[operations]] has both runbook and step; expected one of them");
      return;
    }
    if (!rb && !st) {
      missing(t, "[[operations]]", "runbook", "\"rolling_upgrade\" (or step = \"stop\"; faultline list runbooks)");
      return;
    }
    Names specific;
    std::string where;
    if (rb) {
      SourcePos p;
      const auto text = get_string(t, "runbook", &p);
      if (!text) return;
      const auto r = choose(*text, p, names_of(runbook_catalog()), "runbook");
      if (!r) return;
      op.runbook = Runbook(*r);
      specific = runbook_keys(*op.runbook);
      where = "runbook " + quote(*text);
    } else {
      SourcePos p;
      const auto text = get_string(t, "step", &p);
      if (!text) return;
      const auto k = choose(*text, p, names_of(step_catalog()), "step");
      if (!k) return;
      op.step = StepKind(*k);
      specific = step_keys(*op.step);
      where = "step " + quote(*text);
    }
    Names allowed = {"at", rb ? "runbook" : "step"};
    allowed.insert(allowed.end(), specific.begin(), specific.end());
    Names every_key = {"node", "nodes", "version", "to_version", "key", "value", "to", "plugin", "client", "channel"};
    check_keys(t, allowed, "[[operations]]", every_key, where);
    parse_at(t, op.pos, "[[operations]] " + where, op.at, op.at_pos);

    auto has = [&](std::string_view k) { return std::find(specific.begin(), specific.end(), k) != specific.end(); };
    const std::string full = "[[operations]] " + where;
    if (op.step == StepKind::revoke_sessions) {
      // The admin's server is optional (app1 by default); the client is not.
      SourcePos p;
      if (auto v = get_string(t, "node", &p)) op.nodes = {NameRef{*v, p}};
      if (auto v = get_string(t, "client", &p)) op.client = NameRef{*v, p};
      else if (!get(t, "client")) missing(t, full, "client", "\"client3\" (or \"all\")");
    } else if (has("nodes")) op.nodes = get_targets(t, op.pos, full, true);
    else if (has("node")) {
      SourcePos p;
      if (auto v = get_string(t, "node", &p)) op.nodes = {NameRef{*v, p}};
      else if (!get(t, "node")) missing(t, full, "node", "\"app3\"");
    }
    if (has("to_version")) {
      op.version = get_version(t, "to_version", &op.version_pos);
      if (!get(t, "to_version")) missing(t, full, "to_version", "\"10.5.0\"");
    }
    if (has("version")) {
      op.version = get_version(t, "version", &op.version_pos);
      if (!get(t, "version") && op.step) missing(t, full, "version", "\"10.5.0\"");
    }
    if (has("key")) {
      if (auto v = get_string(t, "key")) op.key = *v;
      else if (!get(t, "key")) missing(t, full, "key", "\"ServiceSettings.SiteURL\"");
      if (auto v = get_config_value(t)) op.value = *v;
      else if (!get(t, "value")) missing(t, full, "value", "\"...\"");
    }
    if (has("plugin")) {
      if (auto v = get_string(t, "plugin")) op.plugin = *v;
      else if (!get(t, "plugin")) missing(t, full, "plugin", "\"com.example.plugin\"");
    }
    if (has("client") && op.step != StepKind::revoke_sessions) {  // revoke_sessions: read above
      // add_to_channel: the user added, by its client's name (validated later).
      SourcePos p;
      if (auto v = get_string(t, "client", &p)) op.client = NameRef{*v, p};
      else if (!get(t, "client")) missing(t, full, "client", "\"client3\"");
    }
    if (has("channel")) {
      if (auto v = get_int(t, "channel", 0, 63, &op.channel_pos)) op.channel = std::uint32_t(*v);
      else if (!get(t, "channel")) missing(t, full, "channel", "1");
    }
    if (has("to")) {
      const toml::node* n = get(t, "to");
      const bool list = op.step == StepKind::proxy_route;
      if (n && list) {
        if (auto v = name_list(*n, "to", false, "a list of server names")) op.to = *v;
      } else if (n) {
        if (n->is_string()) op.to = {NameRef{std::string(n->as_string()->get()), pos(*n)}};
        else type_error(*n, "to", "a database member name such as \"db-replica1\"");
      } else if (list || op.step == StepKind::set_datasource) {
        missing(t, full, "to", list ? "[\"app1\"]" : "\"db-replica1\"");
      }
    }
    s.operations.push_back(std::move(op));
  }

  void parse_invariants(const toml::table& t, InvariantsConfig& inv) {
    const Names names = names_of(invariant_catalog());
    Names allowed = {"check", "skip"};
    allowed.insert(allowed.end(), names.begin(), names.end());
    check_keys(t, allowed, "[invariants]");
    if (get(t, "check")) {
      if (auto v = get_name_list(t, "check", true, "a list of invariant names")) {
        inv.all = false;
        inv.check = *v;
      }
    }
    if (const toml::node* n = get(t, "skip")) {
      // skip = { message_delivery = "why" }: every invariant is judged unless
      // the scenario says why not; a reason is what a reader of the report needs.
      if (get(t, "check")) {
        error(pos(*n), "[invariants] has both check and skip; expected one of them (check judges only the listed "
                       "invariants, skip judges all but the listed ones)");
      } else if (!n->is_table()) {
        type_error(*n, "skip", "a table of invariant = \"reason\", such as skip = { message_delivery = \"why\" }");
      } else {
        for (const auto& [key, value] : *n->as_table()) {
          NameRef name{std::string(key.str()), pos(value)};
          if (std::find(names.begin(), names.end(), name.name) == names.end()) {
            error(name.pos, "unknown invariant " + quote(name.name) + did_you_mean(name.name, names) +
                                " in [invariants] skip; expected one of " + join(names));
            continue;
          }
          const auto* reason = value.as_string();
          if (reason == nullptr) {
            type_error(value, name.name, "a string: the reason it is skipped");
            continue;
          }
          if (reason->get().find_first_not_of(" \t") == std::string::npos) {
            error(pos(value), "the reason for skipping " + quote(name.name) +
                                  " is empty; expected a sentence saying why it is not judged");
            continue;
          }
          inv.skip.push_back(SkippedInvariant{name, reason->get()});
        }
      }
    }
    for (auto name : names) {
      const toml::node* n = get(t, name);
      if (!n) continue;
      const std::string where = "[invariants." + std::string(name) + "]";
      if (!n->is_table()) {
        type_error(*n, name, "a table (" + where + ") with its options");
        continue;
      }
      const toml::table& ot = *n->as_table();
      // Options each invariant takes: the registry's (invariants/registry.h).
      Names options;
      for (const auto& e : invariant_catalog()) {
        if (e.name != name) continue;
        std::string_view keys = e.keys;
        while (!keys.empty()) {
          const auto space = keys.find(' ');
          options.push_back(keys.substr(0, space));
          keys = space == std::string_view::npos ? std::string_view{} : keys.substr(space + 1);
        }
      }
      check_keys(ot, options, where);
      InvariantOptions o;
      o.pos = pos(ot);
      for (auto key : options)
        if (auto d = get_duration(ot, key)) o.values[std::string(key)] = *d;
      inv.options[std::string(name)] = o;
    }
  }

  void parse_expect(const toml::table& t, ExpectConfig& e) {
    check_keys(t, {"violations"}, "[expect]");
    if (auto v = get_name_list(t, "violations", true, "a list of invariant names")) e.violations = *v;
  }

  void parse_fuzz(const toml::table& t, FuzzConfig& f) {
    f.present = true;
    check_keys(t, {"faults", "max_faults", "swarm", "timing"}, "[fuzz]");
    if (auto v = get_name_list(t, "faults", false, "a list of fault kinds")) {
      const Names kinds = names_of(fault_catalog());
      for (const auto& n : *v) {
        if (auto k = choose(n.name, n.pos, kinds, "fault kind")) {
          f.faults.push_back(FaultKind(*k));
          f.faults_pos.push_back(n.pos);
        }
      }
    }
    if (auto v = get_int(t, "max_faults", 0, kMaxFuzzFaults)) f.max_faults = std::uint32_t(*v);
    if (auto v = get_bool(t, "swarm")) f.swarm = *v;
    if (auto v = get_bool(t, "timing")) f.timing = *v;
  }

 private:
  std::string file_;
  std::vector<LoadError> errors_;
  bool frame_ok_ = false;
  std::set<std::pair<std::uint32_t, std::uint32_t>> reported_keys_;  // keys already named in an error
};

// ---- the second pass: meaning -----------------------------------------------

enum class NodeClass : std::uint8_t { any, app, db, replica, client };

class Validator {
 public:
  explicit Validator(const Scenario& s) : s_(s) {
    for (std::uint32_t i = 1; i <= s.cluster.app_servers + added_servers(); ++i) apps_.push_back(app_name(i));
    dbs_.push_back(std::string(kDbPrimaryName));
    for (std::uint32_t i = 1; i <= s.database.replicas; ++i) {
      dbs_.push_back(replica_name(i));
      replicas_.push_back(replica_name(i));
    }
    all_ = node_names(s);
    for (std::uint32_t i = 1; i <= s.clients.count; ++i) clients_.push_back(client_name(i));
  }

  std::uint32_t added_servers() const {
    std::uint32_t n = 0;
    for (const auto& op : s_.operations) n += op.runbook == Runbook::add_server ? 1 : 0;
    return n;
  }

  void error(SourcePos p, std::string message) {
    if (errors_.size() >= kMaxErrors) return;
    errors_.push_back(LoadError{s_.path, std::max<std::uint32_t>(p.line, 1), std::max<std::uint32_t>(p.column, 1),
                                std::move(message)});
  }

  static bool contains(const std::vector<std::string>& v, std::string_view x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  }

  // "app4" in a 3-server cluster is not a typo of "app1": say what exists instead.
  static bool numbered_beyond(std::string_view name) {
    for (std::string_view prefix : {"app", "db-replica", "client"}) {
      if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) continue;
      const auto digits = name.substr(prefix.size());
      if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return true;
    }
    return false;
  }

  bool check_node(const NameRef& n, NodeClass c) {
    const std::vector<std::string>* pool = &all_;
    std::string what = "node";
    switch (c) {
      case NodeClass::any: break;
      case NodeClass::app: pool = &apps_; what = "app server"; break;
      case NodeClass::db: pool = &dbs_; what = "database member"; break;
      case NodeClass::replica: pool = &replicas_; what = "database replica"; break;
      case NodeClass::client: pool = &clients_; what = "client"; break;
    }
    if (contains(*pool, n.name)) return true;
    std::vector<std::string_view> cands(pool->begin(), pool->end());
    std::string msg = "unknown " + what + " " + quote(n.name);
    if (c != NodeClass::any && contains(all_, n.name)) msg = quote(n.name) + " is not " + (what == "app server" ? "an " : "a ") + what;
    else if (!numbered_beyond(n.name)) msg += did_you_mean(n.name, cands);
    std::string expected;
    if (pool->empty()) {
      expected = "this cluster has no " + what + "s";
    } else if (c == NodeClass::client) {
      expected = "expected a client of [clients] count, client1..client" + std::to_string(pool->size());
    } else if (pool->size() <= 12) {
      expected = "expected one of " + join(cands);
    } else {
      expected = "expected a node of this cluster (app1..app" + std::to_string(apps_.size()) + ", db-primary, " +
                 (replicas_.empty() ? "" : "db-replica1..db-replica" + std::to_string(replicas_.size()) + ", ") +
                 "proxy, storage" + (s_.clients.count ? ", client1..client" + std::to_string(s_.clients.count) : "") + ")";
    }
    error(n.pos, msg + "; " + expected);
    return false;
  }

  void check_nodes(const std::vector<NameRef>& v, NodeClass c) {
    std::set<std::string> seen;
    for (const auto& n : v) {
      if (!check_node(n, c)) continue;
      if (!seen.insert(n.name).second) error(n.pos, quote(n.name) + " is listed twice; expected each node once");
    }
  }

  void check_at(Time at, SourcePos p) {
    if (at.time_since_epoch() > s_.duration)
      error(p, "at = \"" + format_time(at) + "\" is beyond the scenario's duration \"" + format_duration(s_.duration) +
                   "\"; expected a time from 0s to " + format_duration(s_.duration));
  }

  void check_names(const std::vector<NameRef>& v, const Names& known, std::string_view what) {
    std::set<std::string> seen;
    for (const auto& n : v) {
      if (std::find(known.begin(), known.end(), n.name) == known.end()) {
        error(n.pos, "unknown " + std::string(what) + " " + quote(n.name) + did_you_mean(n.name, known) +
                         "; expected one of " + join(known));
      } else if (!seen.insert(n.name).second) {
        error(n.pos, quote(n.name) + " is listed twice; expected each " + std::string(what) + " once");
      }
    }
  }

  std::vector<LoadError> run() {
    const Names invariants = names_of(invariant_catalog());
    check_names(s_.cluster.bugs, names_of(bug_catalog()), "bug");
    if (!s_.invariants.all) check_names(s_.invariants.check, invariants, "invariant");
    check_names(s_.expect.violations, invariants, "invariant");
    const bool check_list_known = std::all_of(s_.invariants.check.begin(), s_.invariants.check.end(), [&](const NameRef& c) {
      return std::find(invariants.begin(), invariants.end(), c.name) != invariants.end();
    });
    for (const auto& v : s_.expect.violations) {
      // A misspelled check list is already reported; it may be the missing name.
      if (check_list_known && !s_.invariants.checks(v.name) &&
          std::find(invariants.begin(), invariants.end(), v.name) != invariants.end())
        error(v.pos, "expected violation " + quote(v.name) + " is not judged (" + s_.invariants.skip_reason(v.name) +
                         "); expected it in [invariants] check, or not in [invariants] skip");
    }
    for (const auto& [name, o] : s_.invariants.options)
      if (std::find(invariants.begin(), invariants.end(), name) == invariants.end())
        error(o.pos, "unknown invariant " + quote(name));

    // [[cluster.server]]: initial servers only, each once.
    std::set<std::string> overridden;
    std::vector<std::string> initial(apps_.begin(), apps_.begin() + s_.cluster.app_servers);
    for (const auto& o : s_.cluster.servers) {
      if (o.name.name.empty() && !o.name.pos.known()) continue;  // missing name: reported by the parser
      if (!contains(initial, o.name.name)) {
        std::vector<std::string_view> cands(initial.begin(), initial.end());
        error(o.name.pos, "unknown app server " + quote(o.name.name) + did_you_mean(o.name.name, cands) +
                              "; expected one of " + join(cands) + " (app_servers = " +
                              std::to_string(s_.cluster.app_servers) + ")");
      } else if (!overridden.insert(o.name.name).second) {
        error(o.name.pos, "[[cluster.server]] " + quote(o.name.name) + " is given twice; expected one override per server");
      }
    }

    for (const auto& f : s_.faults) check_fault(f);
    for (const auto& op : s_.operations) check_operation(op);
    check_upgrades();
    std::stable_sort(errors_.begin(), errors_.end(), [](const LoadError& a, const LoadError& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    return std::move(errors_);
  }

  void check_fault(const Fault& f) {
    check_at(f.at, f.at_pos);
    switch (f.kind) {
      case FaultKind::partition: {
        std::map<std::string, bool> seen;
        for (const auto& g : f.groups)
          for (const auto& n : g) {
            if (!check_node(n, NodeClass::any)) continue;
            if (seen.count(n.name)) error(n.pos, quote(n.name) + " is in two partition groups; expected each node in one group");
            seen[n.name] = true;
          }
        break;
      }
      case FaultKind::one_way:
        check_nodes(f.from, NodeClass::any);
        check_nodes(f.to, NodeClass::any);
        for (const auto& a : f.from)
          for (const auto& b : f.to)
            if (a.name == b.name) error(b.pos, quote(b.name) + " is in both from and to; expected disjoint lists");
        break;
      case FaultKind::loss:
      case FaultKind::duplicate:
      case FaultKind::reorder:
      case FaultKind::delay:
        check_nodes(f.between, NodeClass::any);
        break;
      case FaultKind::crash:
      case FaultKind::restart:
      case FaultKind::pause:
      case FaultKind::clock_skew:
      case FaultKind::clock_step: check_nodes(f.nodes, NodeClass::any); break;
      case FaultKind::gossip_send_failure:
        check_nodes(f.nodes, NodeClass::app);
        if (!f.peer.name.empty() || f.peer.pos.known()) {
          if (check_node(f.peer, NodeClass::app))
            for (const auto& n : f.nodes)
              if (n.name == f.peer.name) error(f.peer.pos, "peer " + quote(f.peer.name) + " is the sending node itself; expected another app server");
        }
        break;
      case FaultKind::db_crash: check_nodes(f.nodes, NodeClass::db); break;
      case FaultKind::replica_lag: check_nodes(f.nodes, NodeClass::replica); break;
      case FaultKind::db_failover:
        if (s_.database.replicas == 0)
          error(f.pos, "db_failover with no replica to promote; expected [database] replicas >= 1");
        break;
      case FaultKind::heal:
      case FaultKind::storage_outage: break;
    }
  }

  void check_operation(const Operation& op) {
    check_at(op.at, op.at_pos);
    if (op.runbook) {
      switch (*op.runbook) {
        case Runbook::remove_server:
        case Runbook::install_plugin: check_nodes(op.nodes, NodeClass::app); break;
        case Runbook::manual_failover:
          check_nodes(op.to, NodeClass::replica);
          if (s_.database.replicas == 0)
            error(op.pos, "manual_failover with no replica to promote; expected [database] replicas >= 1");
          break;
        default: break;
      }
    } else if (op.step) {
      if (*op.step == StepKind::proxy_route) check_nodes(op.to, NodeClass::app);
      else check_nodes(op.nodes, NodeClass::app);
      if (*op.step == StepKind::add_to_channel) {
        if (!op.client.name.empty()) check_node(op.client, NodeClass::client);
        if (op.channel >= s_.clients.channels)
          error(op.channel_pos, "channel = " + std::to_string(op.channel) + " is not a channel of this cluster; expected "
                                "0 to " + std::to_string(s_.clients.channels - 1) + " ([clients] channels = " +
                                std::to_string(s_.clients.channels) + ")");
      }
      if (*op.step == StepKind::set_datasource) check_nodes(op.to, NodeClass::db);
      if (*op.step == StepKind::revoke_sessions && !op.client.name.empty() && op.client.name != "all") {
        std::vector<std::string> clients;
        for (std::uint32_t i = 1; i <= s_.clients.count; ++i) clients.push_back("client" + std::to_string(i));
        if (!contains(clients, op.client.name)) {
          std::vector<std::string_view> cands(clients.begin(), clients.end());
          cands.push_back("all");
          error(op.client.pos, "unknown client " + quote(op.client.name) +
                                   (numbered_beyond(op.client.name) ? "" : did_you_mean(op.client.name, cands)) +
                                   "; expected \"all\"" +
                                   (clients.empty() ? " ([clients] count is 0)"
                                                    : " or one of client1..client" + std::to_string(clients.size())));
        }
      }
    }
  }

  // Replays every version change in time order (ties: file order) and flags an
  // upgrade that moves a server by more than one minor version (SCENARIOS.md).
  void check_upgrades() {
    if (s_.cluster.allow_unsupported_upgrades) return;
    std::map<std::string, Version> running;  // app server -> version it would run
    for (std::uint32_t i = 1; i <= s_.cluster.app_servers; ++i) running[app_name(i)] = s_.cluster.version;
    for (const auto& o : s_.cluster.servers)
      if (o.version && running.count(o.name.name)) running[o.name.name] = *o.version;
    std::vector<const Operation*> ops;
    for (const auto& op : s_.operations) ops.push_back(&op);
    std::stable_sort(ops.begin(), ops.end(), [](const Operation* a, const Operation* b) { return a->at < b->at; });
    std::uint32_t next_app = s_.cluster.app_servers + 1;
    const std::string hint = "; expected at most one minor version per upgrade "
                             "(set allow_unsupported_upgrades = true in [cluster] to test that)";
    for (const Operation* op : ops) {
      if (op->runbook == Runbook::add_server) {
        running[app_name(next_app++)] = op->version.value_or(s_.cluster.version);
        continue;
      }
      if (op->runbook == Runbook::remove_server) {
        for (const auto& n : op->nodes) running.erase(n.name);
        continue;
      }
      if (!op->version) continue;
      const Version to = *op->version;
      std::vector<std::string> targets;
      std::string what;
      if (op->runbook == Runbook::rolling_upgrade || op->runbook == Runbook::upgrade_with_schema_change) {
        for (const auto& [name, v] : running) targets.push_back(name);
        what = std::string(to_string(*op->runbook));
      } else if (op->step == StepKind::upgrade) {
        for (const auto& n : op->nodes)
          if (running.count(n.name)) targets.push_back(n.name);
        what = "upgrade";
      } else {
        continue;
      }
      for (const auto& name : targets) {
        const Version from = running[name];
        if (minor_distance(from, to) > 1) {
          error(op->version_pos, what + " of " + name + " from " + from.str() + " to " + to.str() +
                                     " skips a minor version" + hint);
          break;
        }
      }
      for (const auto& name : targets) running[name] = to;
    }
  }

 private:
  const Scenario& s_;
  std::vector<std::string> apps_, dbs_, replicas_, all_, clients_;
  std::vector<LoadError> errors_;
};

}  // namespace

std::vector<std::string> node_names(const Scenario& s) {
  std::vector<std::string> out;
  std::uint32_t apps = s.cluster.app_servers;
  for (const auto& op : s.operations) apps += op.runbook == Runbook::add_server ? 1 : 0;
  for (std::uint32_t i = 1; i <= apps; ++i) out.push_back(app_name(i));
  out.emplace_back(kDbPrimaryName);
  for (std::uint32_t i = 1; i <= s.database.replicas; ++i) out.push_back(replica_name(i));
  out.emplace_back(kProxyName);
  out.emplace_back(kStorageName);
  for (std::uint32_t i = 1; i <= s.clients.count; ++i) out.push_back(client_name(i));
  FL_ASSERT(out.size() == apps + 3 + s.database.replicas + s.clients.count);
  return out;
}

std::vector<LoadError> validate_scenario(const Scenario& scenario) { return Validator(scenario).run(); }

LoadResult parse_scenario(std::string_view text, const std::string& path) {
  LoadResult result;
  if (text.size() > kMaxScenarioBytes) {
    result.errors.push_back(LoadError{path, 1, 1,
                                      "the file is " + std::to_string(text.size()) + " bytes; expected at most " +
                                          std::to_string(kMaxScenarioBytes)});
    return result;
  }
  toml::table parsed;
  try {
    parsed = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    result.errors.push_back(LoadError{path, std::max<std::uint32_t>(1, std::uint32_t(e.source().begin.line)),
                                      std::max<std::uint32_t>(1, std::uint32_t(e.source().begin.column)),
                                      "TOML syntax error: " + std::string(e.description())});
    return result;
  }
  Scenario s;
  s.path = path;
  s.source_hash = fnv1a64(text);
  Parser parser(path);
  parser.parse_root(parsed, s);
  if (s.name.empty()) {
    const auto slash = path.find_last_of('/');
    s.name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  }
  result.errors = std::move(parser.errors());
  if (parser.frame_ok()) {
    // Meaning checks also run after a local mistake elsewhere, so one pass
    // reports as much as it can; a value the parser rejected kept its default
    // and may hide a second error, never invent one.
    std::vector<LoadError> meaning = validate_scenario(s);
    result.errors.insert(result.errors.end(), meaning.begin(), meaning.end());
    if (result.errors.size() > kMaxErrors) result.errors.resize(kMaxErrors);
  }
  std::stable_sort(result.errors.begin(), result.errors.end(), [](const LoadError& a, const LoadError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  if (result.errors.empty()) result.scenario = std::move(s);
  FL_ASSERT(result.scenario.has_value() != !result.errors.empty());
  return result;
}

LoadResult load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(LoadError{path, 0, 0, "cannot open the file; expected a readable scenario file (.toml)"});
    return r;
  }
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, std::size_t(in.gcount()));
    if (text.size() > kMaxScenarioBytes) break;  // parse_scenario reports the size
  }
  if (in.bad()) {
    LoadResult r;
    r.errors.push_back(LoadError{path, 0, 0, "cannot read the file (is it a directory?); expected a scenario file"});
    return r;
  }
  return parse_scenario(text, path);
}

}  // namespace fl::harness
