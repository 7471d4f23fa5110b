// A scenario file as data (SCENARIOS.md, "Scenario file"): a plain tree of
// structs that mirrors the TOML one to one, with the defaults SCENARIOS.md shows.
// No toml++ here: the loader (scenario_loader.cc) is the only file that parses.
//
// Every value that a later check may complain about (validation, the runner's
// vacuity check, the report's "fault #2 at line 20") carries its source
// position. Positions are 1-based; {0, 0} means "not from a file" (defaults,
// scenarios built in code by the fuzzer or a test).
//
// Invariants a loaded Scenario keeps (the loader guarantees them, or returns
// errors instead):
//  - duration > 0; every `at` lies in [0, duration];
//  - every node name refers to a node of this cluster;
//  - every probability is in [0, 1]; every range has lo <= hi;
//  - every invariant and bug name is known;
//  - no upgrade skips a minor version unless allow_unsupported_upgrades.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "base/version.h"

namespace fl::harness {

struct SourcePos {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  bool known() const { return line != 0; }
  friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

// A name as written in the file (a node, an invariant, a bug) and where.
struct NameRef {
  std::string name;
  SourcePos pos;
  friend bool operator==(const NameRef&, const NameRef&) = default;
};

// ---- [cluster] ---------------------------------------------------------------
enum class LeaderElection : std::uint8_t { bully, db_lease };
enum class MigrationLock : std::uint8_t { morph, db_clock };

// [[cluster.server]]: per-server overrides.
struct ServerOverride {
  NameRef name;
  std::optional<Version> version;
  SourcePos version_pos;
  // config.json settings of this server, "Section.Key" -> value as text
  // ([[cluster.server]] config = { "JobSettings.RunScheduler" = false }).
  std::map<std::string, std::string> config;
  SourcePos pos;  // the table header
};

// Defaults: SCENARIOS.md's example; migration_time 20 s per MODEL.md ("default
// 20 s, up to 30 s as the seed says").
struct ClusterConfig {
  std::uint32_t app_servers = 3;
  SourcePos app_servers_pos;
  Version version{10, 4, 1};
  SourcePos version_pos;
  LeaderElection leader_election = LeaderElection::bully;
  MigrationLock migration_lock = MigrationLock::morph;
  Duration migration_time = seconds(20);
  std::vector<NameRef> bugs;
  bool allow_unsupported_upgrades = false;
  std::vector<ServerOverride> servers;
  // ClusterSettings.ClusterName of every server; unset: the model's default.
  // "" is the misconfiguration of mattermost/mattermost#17762.
  std::optional<std::string> cluster_name;
};

// ---- [database] --------------------------------------------------------------
enum class Replication : std::uint8_t { async, sync };
enum class Failover : std::uint8_t { automatic, manual };

struct DatabaseConfig {
  std::uint32_t replicas = 2;
  Replication replication = Replication::async;
  DurationRange replication_lag{milliseconds(5), milliseconds(50)};
  Failover failover = Failover::automatic;
  Duration failover_detection = seconds(30);
  // sync only: a primary with no streaming standby drops the synchronous
  // requirement instead of waiting for one (Patroni's synchronous_mode without
  // synchronous_mode_strict); see docs/model.md.
  bool sync_fallback = false;
  SourcePos sync_fallback_pos;
};

// ---- [proxy] -----------------------------------------------------------------
enum class HealthCheck : std::uint8_t { ping, ping_with_status };

struct ProxyConfig {
  HealthCheck health_check = HealthCheck::ping;
  Duration health_check_interval = seconds(5);
};

// ---- [network] ---------------------------------------------------------------
struct NetworkConfig {
  DurationRange latency{microseconds(200), milliseconds(2)};
  double loss = 0.0;
  double duplicate = 0.0;
  double reorder = 0.0;
};

// ---- [timing] ----------------------------------------------------------------
// The simulator's unkindness (issue 9; sim::Timing, and the database's commit
// latency). All off by default: a scenario without [timing] runs on the kind
// simulator. `faultline fuzz` draws a profile per seed ([fuzz] timing) and
// writes it here, so that repro.toml and replay reproduce it.
struct TimingConfig {
  double latency_tail = 0.0;          // probability a message takes a long-tail latency
  std::int64_t latency_tail_factor = 1;  // ... up to this many times its drawn latency
  Duration jitter{0};                 // extra per-message delay in [0, jitter): reorders across connections
  std::int64_t clock_drift_ppm = 0;   // each node's clock rate drawn in [-this, +this] ppm
  double timer_late = 0.0;            // probability a timer fires late ...
  Duration timer_late_max{0};         // ... by up to this (never early)
  DurationRange commit_latency{};     // a database commit's flush before its acknowledgement
  SourcePos pos;                      // the [timing] header
  bool any() const {
    return latency_tail > 0.0 || jitter.count() > 0 || clock_drift_ppm != 0 || timer_late > 0.0 ||
           commit_latency.hi.count() > 0;
  }
};

// ---- [clients] ---------------------------------------------------------------
struct ClientsConfig {
  std::uint32_t count = 50;
  std::uint32_t channels = 5;
  Duration post_interval = seconds(10);
};

// ---- [[faults]] --------------------------------------------------------------
enum class FaultKind : std::uint8_t {
  partition, one_way, heal,
  loss, duplicate, reorder, delay,
  crash, restart, pause,
  clock_skew, clock_step,
  gossip_send_failure,
  db_crash, replica_lag, db_failover,
  storage_outage,
};
inline constexpr std::size_t kFaultKindCount = std::size_t(FaultKind::storage_outage) + 1;

// One record of the fault schedule. Which fields are meaningful depends on
// `kind` (SCENARIOS.md lists the keys of each); the others keep their defaults.
struct Fault {
  FaultKind kind = FaultKind::heal;
  SourcePos pos;             // the [[faults]] header
  Time at{};
  SourcePos at_pos;
  std::optional<Duration> for_;  // `for`: ends the fault after that long
  SourcePos for_pos;

  std::vector<std::vector<NameRef>> groups;   // partition
  std::vector<NameRef> from, to;              // one_way
  double rate = 0.0;                          // loss / duplicate / reorder
  std::vector<NameRef> between;               // loss / duplicate / reorder / delay: empty or two
  DurationRange latency{};                    // delay
  std::vector<NameRef> nodes;                 // `node` or `nodes`
  std::optional<Duration> restart_after;      // crash
  Duration offset{};                          // clock_skew
  std::int64_t drift_ppm = 0;                 // clock_skew
  Duration by{};                              // clock_step
  NameRef peer;                               // gossip_send_failure
  Duration lag{};                             // replica_lag
};

// ---- [[operations]] ----------------------------------------------------------
enum class Runbook : std::uint8_t {
  rolling_upgrade, upgrade_with_schema_change, config_change_continuous, manual_failover,
  add_server, remove_server, install_plugin,
};
enum class StepKind : std::uint8_t {
  stop, start, restart, upgrade, proxy_route, config_change, set_datasource, reload_config,
  recycle_connections, install_plugin, add_to_channel,
  revoke_sessions,  // issue 14 (MM-68543): an admin revokes sessions
};

// An operator's action: a whole runbook, or one step applied to `nodes` at the
// same instant.
struct Operation {
  SourcePos pos;
  Time at{};
  SourcePos at_pos;
  std::optional<Runbook> runbook;    // exactly one of runbook / step
  std::optional<StepKind> step;
  std::vector<NameRef> nodes;        // `node` or `nodes`
  std::optional<Version> version;    // to_version (runbooks), version (upgrade, add_server)
  SourcePos version_pos;
  std::string key, value;            // config_change(_continuous)
  std::vector<NameRef> to;           // proxy_route servers; set_datasource / manual_failover target
  std::string plugin;                // install_plugin
  NameRef client;                    // add_to_channel: the user added; revoke_sessions: a client or "all"
  std::uint32_t channel = 0;         // add_to_channel
  SourcePos channel_pos;
};

// ---- [invariants], [expect], [fuzz] -----------------------------------------
// [invariants.<name>]: options of one invariant (MODEL.md, "Invariants").
// Keys are the invariant's options in the invariants registry (bound, grace,
// epsilon, ...); every option is a duration.
struct InvariantOptions {
  std::map<std::string, Duration> values;
  SourcePos pos;
};

// An invariant left out of the judgement, and why (SCENARIOS.md: `skip =
// { name = "why" }`; reports and --verbose list it).
struct SkippedInvariant {
  NameRef name;
  std::string reason;
};

struct InvariantsConfig {
  bool all = true;                   // no `check` key: every invariant not skipped
  std::vector<NameRef> check;        // when !all
  std::vector<SkippedInvariant> skip;  // when all: the ones left out, each with its reason
  std::map<std::string, InvariantOptions> options;
  bool checks(const std::string& name) const {
    if (all) {
      for (const auto& s : skip)
        if (s.name.name == name) return false;
      return true;
    }
    for (const auto& c : check)
      if (c.name == name) return true;
    return false;
  }
  // Why `name` is not judged ("" when it is).
  std::string skip_reason(const std::string& name) const {
    if (checks(name)) return "";
    for (const auto& s : skip)
      if (s.name.name == name) return s.reason;
    return "not in the scenario's check list";
  }
};

struct ExpectConfig {
  std::vector<NameRef> violations;   // empty: every checked invariant must hold
};

struct FuzzConfig {
  bool present = false;
  std::vector<FaultKind> faults;
  std::vector<SourcePos> faults_pos;
  std::uint32_t max_faults = 8;
  bool swarm = false;
  bool timing = true;  // draw a [timing] profile per seed (issue 9); false: the file's [timing]
};

// Default settle phase (DESIGN.md, "Phases of a run": "default 2 min").
inline constexpr Duration kDefaultSettle = minutes(2);

struct Scenario {
  std::string path;                  // as given on the command line
  std::uint64_t source_hash = 0;     // FNV-1a of the file's bytes (reports)
  std::string name;
  std::string description;
  Duration duration = minutes(10);
  SourcePos duration_pos;
  std::uint64_t seed = 1;
  Duration settle = kDefaultSettle;

  ClusterConfig cluster;
  DatabaseConfig database;
  ProxyConfig proxy;
  NetworkConfig network;
  TimingConfig timing;
  ClientsConfig clients;
  std::vector<Fault> faults;
  std::vector<Operation> operations;
  InvariantsConfig invariants;
  ExpectConfig expect;
  FuzzConfig fuzz;
};

// Names as scenario files write them (and `faultline list` prints them).
std::string_view to_string(FaultKind kind);
std::string_view to_string(Runbook runbook);
std::string_view to_string(StepKind step);
std::string_view to_string(LeaderElection v);
std::string_view to_string(MigrationLock v);
std::string_view to_string(Replication v);
std::string_view to_string(Failover v);
std::string_view to_string(HealthCheck v);

// Node names of a scenario's cluster, in declaration order (SCENARIOS.md):
// app1..appN (plus one per add_server operation), db-primary, db-replica1..K,
// proxy, storage, client1..clientM.
std::string app_name(std::uint32_t index1);
std::string replica_name(std::uint32_t index1);
std::string client_name(std::uint32_t index1);
inline constexpr std::string_view kDbPrimaryName = "db-primary";
inline constexpr std::string_view kProxyName = "proxy";
inline constexpr std::string_view kStorageName = "storage";  // the shared file store
inline constexpr std::string_view kOperatorName = "operator";

}  // namespace fl::harness
