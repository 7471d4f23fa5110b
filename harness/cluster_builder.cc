#include "harness/cluster_builder.h"

#include <algorithm>

#include "base/assert.h"
#include "harness/edge_builder.h"
#include "nodes/app_server.h"
#include "nodes/constants.h"

namespace fl {

NodeId BuiltCluster::id(std::string_view name) const {
  auto it = by_name.find(name);
  FL_ASSERT_MSG(it != by_name.end(), "no node of that name in the cluster");
  return it->second;
}

DbDisk& BuiltCluster::disk(NodeId member) const {
  for (std::size_t i = 0; i < db_members.size(); ++i) {
    if (db_members[i] == member) return *disks.at(i);
  }
  FL_ASSERT_MSG(false, "not a database member");
  FL_UNREACHABLE();
}

bool apply_spec_op(ClusterSpec& spec, const std::map<std::string, NodeId, std::less<>>& names,
                   const std::string& target_name, const ControlOp& op) {
  FL_ASSERT(op.kind == ControlOp::Kind::set_spec);
  ServerSpec* server = nullptr;
  for (auto& s : spec.servers) {
    if (s.name == target_name) server = &s;
  }
  if (server == nullptr) return false;  // not an app server: the node handles it itself
  if (op.key == "version") {
    auto v = parse_version(op.value);
    FL_ASSERT_MSG(v.has_value(), "set_spec version: the loader validates versions");
    server->version = *v;
    return true;
  }
  if (op.key.rfind("config.", 0) == 0) {
    server->config[op.key.substr(7)] = op.value;
    return true;
  }
  if (op.key == "datasource") {
    if (op.value == "endpoint") {
      server->datasource = DbTarget::cluster_endpoint();
    } else {
      auto it = names.find(op.value);
      FL_ASSERT_MSG(it != names.end(), "set_spec datasource: the loader validates node names");
      server->datasource = DbTarget::member(it->second);
      // The new primary no longer serves reads as a replica.
      std::erase(server->replicas, it->second);
    }
    return true;
  }
  if (op.key == "plugin") {
    if (std::find(server->plugins.begin(), server->plugins.end(), op.value) == server->plugins.end()) {
      server->plugins.push_back(op.value);
    }
    return true;
  }
  return false;
}

BuiltCluster build_cluster(sim::Simulation& sim, const ClusterSpec& input) {
  FL_ASSERT(!input.servers.empty());
  BuiltCluster c;
  c.spec = std::make_shared<ClusterSpec>(input);
  std::shared_ptr<const ClusterSpec> file = c.spec;

  for (const ServerSpec& s : input.servers) {
    const std::string name = s.name;
    const NodeId id = sim.add_node(name, [file, name] { return std::make_unique<AppServer>(file, name); });
    c.app_servers.push_back(id);
    c.by_name.emplace(name, id);
  }

  // Database members: every disk starts from the same base backup.
  const std::uint32_t schema = input.initial_schema();
  const std::uint32_t replicas = input.database.replicas;
  std::vector<std::string> member_names{"db-primary"};
  for (std::uint32_t i = 1; i <= replicas; ++i) member_names.push_back("db-replica" + std::to_string(i));
  // Ids are dense in declaration order: the members get the next ones.
  const NodeId first{static_cast<std::uint32_t>(sim.node_count())};
  std::vector<NodeId> members;
  for (std::size_t i = 0; i < member_names.size(); ++i) members.push_back(NodeId{first.value + static_cast<std::uint32_t>(i)});
  DatabaseConfig config{members, member_names, input.database.replication, input.database.replication_lag,
                        input.database.sync_fallback};
  config.commit_latency = input.database.commit_latency;
  for (std::size_t i = 0; i < member_names.size(); ++i) {
    const DbRole role = i == 0 ? DbRole::primary : DbRole::replica;
    c.disks.push_back(std::make_unique<DbDisk>(DbDisk::initial(role, i == 0 ? kNoNode : members[0], schema)));
    DbDisk* disk = c.disks.back().get();
    const NodeId id = sim.add_node(member_names[i], [disk, config] { return std::make_unique<Database>(*disk, config); });
    FL_ASSERT(id == members[i]);
    c.by_name.emplace(member_names[i], id);
  }
  c.db_members = members;
  c.db_primary = members[0];
  c.db_replicas.assign(members.begin() + 1, members.end());
  sim.set_db_endpoint(c.db_primary);

  if (input.database.failover == Failover::automatic) {
    c.failover_state = std::make_unique<FailoverState>();
    c.failover_state->primary = c.db_primary;
    FailoverState* state = c.failover_state.get();
    const Duration detection = input.database.failover_detection;
    c.failover = sim.add_node("db-failover", [state, members, detection] {
      return std::make_unique<FailoverController>(*state, members, detection);
    });
    c.by_name.emplace("db-failover", c.failover);
  }

  // The servers' DataSource: the cluster endpoint under automatic failover (the
  // seed's recommendation), the primary's host under manual failover.
  for (ServerSpec& s : c.spec->servers) {
    s.datasource = input.database.failover == Failover::automatic ? DbTarget::cluster_endpoint()
                                                                  : DbTarget::member(c.db_primary);
    s.replicas = c.db_replicas;
  }

  // The gossip transport's request timeout between every two app servers (spares
  // included): a frozen peer or a black-holed link fails their sends (MODEL.md).
  // Edge traffic (client, proxy) keeps the nodes' own timeouts.
  for (NodeId from : c.app_servers) {
    for (NodeId to : c.app_servers) {
      if (from != to) sim.set_request_timeout(from, to, k::kGossipRequestTimeout);
    }
  }

  build_edge(sim, c);

  auto spec = c.spec;
  auto names = c.by_name;
  sim.set_spec_hook([spec, names, &sim](NodeId target, const ControlOp& op) {
    if (!apply_spec_op(*spec, names, sim.name(target), op)) apply_edge_spec_op(*spec, target, op);
  });
  FL_ASSERT(c.app_servers.size() == input.servers.size());
  return c;
}

void start_cluster(sim::Simulation& sim, const BuiltCluster& cluster, const std::set<NodeId>& held) {
  for (NodeId m : cluster.db_members) sim.start(m);
  if (cluster.failover != kNoNode) sim.start(cluster.failover);
  for (NodeId a : cluster.app_servers) {
    if (!is_spare(cluster, a) && held.count(a) == 0) sim.start(a);
  }
  start_edge(sim, cluster);
}

}  // namespace fl
