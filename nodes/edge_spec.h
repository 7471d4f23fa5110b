// The specification of the cluster's edge: the proxy's configuration (the
// NGINX upstream block), the clients, the shared file storage and the
// operator's schedule. Part of ClusterSpec (nodes/spec.h): like the servers'
// config files it survives crashes and the operator edits it (ControlOp set_spec).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/time.h"
#include "base/version.h"
#include "nodes/constants.h"

namespace fl {

struct ProxySpec {
  NodeId node{kNoNode};
  std::vector<NodeId> upstream;      // the upstream block, in order
  bool health_with_status = false;   // health_check = "ping_with_status"
  Duration health_interval = k::kHealthCheckIntervalDefault;
};

struct ClientsSpec {
  std::uint32_t count = 0;           // client1..clientN (the builder declares them)
  std::vector<NodeId> nodes;         // filled by the builder (index i-1)
  std::uint32_t channels = 5;
  Duration post_interval = seconds(10);
  // Clients stop posting this long after they start (0: never). Tests use it
  // to let the cluster settle before judging delivery.
  Duration post_until{};
  // Per client (index i-1): its channel memberships, bit c = channel c. A
  // missing or zero entry: the client draws its own (home channel plus others).
  std::vector<std::uint64_t> channel_masks;
  NodeId proxy{kNoNode};             // where the clients connect
};

// What the shared store holds. It lives outside the storage node (a crash of
// the node is an outage of the service, not a loss of the objects: S3's
// durability, or the NAS's disks).
struct StorageDisk {
  std::set<std::string> objects;
};

struct StorageSpec {
  NodeId node{kNoNode};
  std::shared_ptr<StorageDisk> disk = std::make_shared<StorageDisk>();
};

// One action of the operator (SCENARIOS.md, Operations): a runbook, or one step
// applied to each of `nodes` at the same instant.
enum class OperatorRunbook : std::uint8_t {
  none, rolling_upgrade, upgrade_with_schema_change, config_change_continuous, console_config_change,
  manual_failover, add_server, remove_server, install_plugin,
};
enum class OperatorStepKind : std::uint8_t {
  none, stop, start, restart, upgrade, proxy_route, config_change, set_datasource, reload_config,
  recycle_connections, install_plugin, add_to_channel,
  revoke_sessions,  // issue 14: on nodes.front(), of `client` (all: everyone)
};
const char* operator_runbook_name(OperatorRunbook runbook);
const char* operator_step_name(OperatorStepKind step);

struct OperatorAction {
  Duration at{};                        // from the start of the run
  OperatorRunbook runbook = OperatorRunbook::none;
  OperatorStepKind step = OperatorStepKind::none;
  std::vector<std::string> nodes;       // step targets; remove_server / install_plugin / console edit
  std::optional<Version> version;       // to_version / version
  std::string key, value;               // config changes
  std::vector<std::string> to;          // proxy_route servers; set_datasource / manual_failover target
  std::string plugin;
  std::string client;                   // add_to_channel: the user added; revoke_sessions: a client's name, or all
  std::uint32_t channel = 0;            // add_to_channel
};

struct OperatorSpec {
  NodeId node{kNoNode};
  std::vector<OperatorAction> actions;
  // Servers declared but not started, in order: what add_server brings up.
  std::vector<std::string> spares;
};

}  // namespace fl
