// Builds the cluster of a ClusterSpec inside a Simulation: declares every node
// with its factory, owns what must outlive a process (the database members'
// disks, the failover control plane's record, the machines' specification),
// and installs the spec hook through which the operator's set_spec edits reach
// that specification (upgrades, config changes, DataSource), so that they
// survive crashes and take effect at the next start.
//
// Node naming (MODEL.md): app1..appN, db-primary, db-replica1..N, db-failover
// (the automatic failover controller, only with failover = "automatic").
// The edge helper extends this with the proxy, clients, storage and operator.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nodes/database.h"
#include "nodes/failover_controller.h"
#include "nodes/spec.h"
#include "sim/simulation.h"

namespace fl {

struct BuiltCluster {
  // The machines' specification (config files, binaries, DataSource). Node
  // factories read it at each start; the spec hook edits it.
  std::shared_ptr<ClusterSpec> spec;
  std::vector<NodeId> app_servers;   // app1..appN, in spec order
  NodeId db_primary{kNoNode};        // the member that starts as primary
  std::vector<NodeId> db_replicas;   // db-replica1..N
  std::vector<NodeId> db_members;    // primary first, then the replicas
  NodeId failover{kNoNode};          // db-failover, or kNoNode (manual failover)
  std::map<std::string, NodeId, std::less<>> by_name;
  // Durable state, one disk per database member (same order as db_members).
  std::vector<std::unique_ptr<DbDisk>> disks;
  std::unique_ptr<FailoverState> failover_state;
  // The edge (harness/edge_builder.h): proxy, storage, clients, operator.
  NodeId proxy{kNoNode};
  NodeId storage{kNoNode};
  NodeId operator_node{kNoNode};
  std::vector<NodeId> clients;       // client1..clientN

  NodeId id(std::string_view name) const;  // asserts the name exists
  DbDisk& disk(NodeId member) const;       // asserts it is a database member
};

// Declares the nodes (not started) and installs the spec hook.
BuiltCluster build_cluster(sim::Simulation& sim, const ClusterSpec& spec);

// Starts every node of the cluster now: database members, the controller, then
// the app servers in spec order (except those in `held`, which a test or the
// operator starts later), then the edge.
void start_cluster(sim::Simulation& sim, const BuiltCluster& cluster, const std::set<NodeId>& held = {});

// The spec hook's work, callable by a harness that chains its own hook: applies
// a set_spec op for `target` to `spec`. Keys: "version" (a version), "config.<Key>",
// "datasource" (a member name, or "endpoint"), "plugin" (added). Returns false
// for a key it does not know (for the caller, e.g. the edge, to handle).
bool apply_spec_op(ClusterSpec& spec, const std::map<std::string, NodeId, std::less<>>& names,
                   const std::string& target_name, const ControlOp& op);

}  // namespace fl
