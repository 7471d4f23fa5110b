// The cluster's edge inside a Simulation: the proxy, the shared storage, the
// clients and the operator, declared after the core's nodes (build_cluster
// calls build_edge), with their part of the spec hook.
//
// Node names: proxy, storage, client1..clientN, operator.
#pragma once

#include "harness/cluster_builder.h"

namespace fl {

// Declares the edge's nodes (not started), fills the spec's edge fields (node
// ids, the proxy's upstream = every app server that is not a spare) and the
// hosts file (spec.directory).
void build_edge(sim::Simulation& sim, BuiltCluster& cluster);
// Starts storage, proxy, clients and operator (after the servers).
void start_edge(sim::Simulation& sim, const BuiltCluster& cluster);
// The spec hook's edge part: "upstream" on the proxy (a comma-separated list of
// server names). Returns false for a key it does not know.
bool apply_edge_spec_op(ClusterSpec& spec, NodeId target, const ControlOp& op);
// True when `server` is declared as a spare (add_server brings it up).
bool is_spare(const BuiltCluster& cluster, NodeId server);

}  // namespace fl
