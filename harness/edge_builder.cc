#include "harness/edge_builder.h"

#include <algorithm>
#include <string>

#include "base/assert.h"
#include "nodes/client.h"
#include "nodes/operator.h"
#include "nodes/proxy.h"
#include "nodes/storage.h"

namespace fl {

bool is_spare(const BuiltCluster& cluster, NodeId server) {
  const auto& spares = cluster.spec->operator_.spares;
  return std::any_of(spares.begin(), spares.end(),
                     [&](const std::string& name) { return cluster.by_name.count(name) && cluster.id(name) == server; });
}

void build_edge(sim::Simulation& sim, BuiltCluster& c) {
  ClusterSpec& spec = *c.spec;
  std::shared_ptr<const ClusterSpec> file = c.spec;

  c.storage = sim.add_node("storage", [file] { return std::make_unique<Storage>(file); });
  c.by_name.emplace("storage", c.storage);
  spec.storage.node = c.storage;

  c.proxy = sim.add_node("proxy", [file] { return std::make_unique<Proxy>(file); });
  c.by_name.emplace("proxy", c.proxy);
  spec.proxy.node = c.proxy;
  spec.proxy.upstream.clear();
  for (const NodeId a : c.app_servers)
    if (!is_spare(c, a)) spec.proxy.upstream.push_back(a);

  spec.clients.nodes.clear();
  spec.clients.proxy = c.proxy;
  // One store of shown posts for all the clients (nodes/shown_posts.h).
  auto shown = spec.clients.count > 0 ? std::make_shared<ShownPosts>(spec.clients.count) : nullptr;
  for (std::uint32_t i = 1; i <= spec.clients.count; ++i) {
    const std::string name = "client" + std::to_string(i);
    const NodeId id = sim.add_node(name, [file, i, shown] { return std::make_unique<Client>(file, i, shown); });
    c.clients.push_back(id);
    c.by_name.emplace(name, id);
    spec.clients.nodes.push_back(id);
  }

  c.operator_node = sim.add_node("operator", [file] { return std::make_unique<Operator>(file); });
  c.by_name.emplace("operator", c.operator_node);
  spec.operator_.node = c.operator_node;

  spec.directory.clear();
  for (const auto& [name, id] : c.by_name) spec.directory.emplace(name, id);
  FL_ASSERT(spec.clients.nodes.size() == spec.clients.count);
}

void start_edge(sim::Simulation& sim, const BuiltCluster& c) {
  sim.start(c.storage);
  sim.start(c.proxy);
  for (const NodeId client : c.clients) sim.start(client);
  sim.start(c.operator_node);
}

bool apply_edge_spec_op(ClusterSpec& spec, NodeId target, const ControlOp& op) {
  FL_ASSERT(op.kind == ControlOp::Kind::set_spec);
  if (target == spec.proxy.node && op.key == "upstream") {
    std::vector<NodeId> servers;
    std::size_t start = 0;
    while (start <= op.value.size()) {
      const std::size_t comma = op.value.find(',', start);
      const std::string name = op.value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!name.empty()) {
        const NodeId id = spec.node_id(name);
        FL_ASSERT_MSG(id != kNoNode, "upstream names an unknown server");
        servers.push_back(id);
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    spec.proxy.upstream = std::move(servers);
    return true;
  }
  return false;
}

}  // namespace fl
