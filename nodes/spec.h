// What the cluster is made of: the specification the harness builds nodes from.
// A node's specification is its machine's configuration (config.json, the
// installed binary, the DataSource): it survives crashes and the operator edits
// it (ControlOp set_spec); a node reads its own at start and on reload_config.
//
// The edge helper adds fields for clients, the proxy, storage and the operator
// (below the marked line of ClusterSpec).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/db.h"
#include "base/ids.h"
#include "base/time.h"
#include "base/version.h"
#include "nodes/bugs.h"
#include "nodes/constants.h"
#include "nodes/edge_spec.h"

namespace fl {

// One app server: the seed's Mattermost node.
struct ServerSpec {
  std::string name;            // "app1"
  std::uint32_t id = 0;        // numeric id: lower = higher priority in the bully election
  Version version{10, 4, 1};   // the installed binary
  std::map<std::string, std::string> config;  // config.json, flattened "Section.Key" -> value
  std::string cluster_name = "faultline";
  DbTarget datasource = DbTarget::cluster_endpoint();  // SqlSettings.DataSource
  std::vector<NodeId> replicas;                        // SqlSettings.DataSourceReplicas
  std::vector<std::string> plugins;                    // installed plugin ids

  // The hash peers compare (MODEL.md, Cluster status): FNV-1a over the sorted,
  // length-prefixed keys and values: content only, never insertion order.
  std::uint64_t config_hash() const;
};

// A job type the leader schedules (REFERENCE.md, Leader and jobs).
struct JobTypeSpec {
  std::string type;
  Duration period{};    // next run = now + period + jitter [0, 2 s)
  Duration run_time{};  // how long a worker takes to run one
  // Most types are "create once" (REFERENCE.md); the create_job_without_once
  // bug makes the scheduler forget it, but the type stays create-once.
  bool create_once = true;
};

enum class Replication : std::uint8_t { async, sync };
enum class Failover : std::uint8_t { automatic, manual };
enum class LeaderElection : std::uint8_t { bully, db_lease };
enum class MigrationLock : std::uint8_t { morph, db_clock };

struct DatabaseSpec {
  std::uint32_t replicas = 2;                     // db-replica1..N
  Replication replication = Replication::async;
  DurationRange replication_lag{milliseconds(5), milliseconds(50)};  // SCENARIOS.md example
  Failover failover = Failover::automatic;
  Duration failover_detection = k::kFailoverDetectionDefault;
  // The schema the database holds before the run; 0 = the lowest of the
  // servers' versions (the cluster was already running that version).
  std::uint32_t initial_schema = 0;
  // sync only: when no standby is streaming, the primary drops the synchronous
  // requirement and acknowledges at commit, and restores it when one streams
  // again (Patroni's synchronous_mode without synchronous_mode_strict). Off: a
  // primary without a standby holds every commit (PostgreSQL's behaviour).
  bool sync_fallback = false;
  // Time from a commit to its acknowledgement (the WAL flush), drawn per
  // commit; {0, 0} = at once (the kind default). The scenario's [timing]
  // commit_latency, drawn by the fuzzer (issue 9: slow database commits).
  DurationRange commit_latency{};
};

struct ClusterSpec {
  std::vector<ServerSpec> servers;
  DatabaseSpec database;
  LeaderElection leader_election = LeaderElection::bully;
  MigrationLock migration_lock = MigrationLock::morph;
  Duration migration_time = k::kMigrationTimeDefault;  // per minor version
  BugSet bugs;
  bool allow_unsupported_upgrades = false;
  // The periodic job types the leader schedules. expiry_notify runs every
  // 10 min in the real server; ldap_sync is the model's short-period type (the
  // seed names LDAP sync as the leader's work; its interval is configurable,
  // minimum 1 min) whose run can outlast its period, so that a scenario of a
  // few minutes exercises scheduling, claims and create-once. Tests set their own.
  std::vector<JobTypeSpec> jobs{{"expiry_notify", minutes(10), seconds(5)}, {"ldap_sync", minutes(1), seconds(90)}};

  // ---- edge (clients, proxy, storage, operator): added by the edge helper ----
  ProxySpec proxy;
  ClientsSpec clients;
  StorageSpec storage;
  OperatorSpec operator_;
  // The hosts file: every node's name and address (filled by the builder).
  std::map<std::string, NodeId> directory;
  NodeId node_id(std::string_view name) const;  // kNoNode when unknown

  // The schema the database starts with (database.initial_schema, or the
  // lowest server version's).
  std::uint32_t initial_schema() const;
  const ServerSpec* server(std::string_view name) const;
};

// A spec of n servers app1..appN with ids 1..N, all at `version`.
ClusterSpec default_cluster_spec(std::uint32_t app_servers, Version version = Version{10, 4, 1});

}  // namespace fl
