#include "nodes/spec.h"

#include <algorithm>
#include <string>

#include "base/assert.h"
#include "base/rng.h"

namespace fl {

std::uint64_t ServerSpec::config_hash() const {
  // std::map iterates in key order: the hash is independent of edit order.
  // Each key and value is length-prefixed, so no two different maps hash the
  // same text ({"a": "b=c"} vs {"a=b": "c"}).
  std::uint64_t h = fnv1a64("");
  for (const auto& [key, value] : config) {
    h = fnv1a64(std::to_string(key.size()) + ":", h);
    h = fnv1a64(key, h);
    h = fnv1a64(std::to_string(value.size()) + ":", h);
    h = fnv1a64(value, h);
  }
  return h;
}

std::uint32_t ClusterSpec::initial_schema() const {
  if (database.initial_schema != 0) return database.initial_schema;
  FL_ASSERT(!servers.empty());
  std::uint32_t lowest = servers.front().version.schema();
  for (const auto& s : servers) lowest = std::min(lowest, s.version.schema());
  return lowest;
}

const ServerSpec* ClusterSpec::server(std::string_view name) const {
  for (const auto& s : servers) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ClusterSpec default_cluster_spec(std::uint32_t app_servers, Version version) {
  FL_ASSERT(app_servers >= 1);
  ClusterSpec spec;
  for (std::uint32_t i = 1; i <= app_servers; ++i) {
    ServerSpec s;
    s.name = "app" + std::to_string(i);
    s.id = i;
    s.version = version;
    s.config["ClusterSettings.Enable"] = "true";
    s.config["ClusterSettings.GossipPort"] = std::to_string(k::kGossipPort);
    spec.servers.push_back(std::move(s));
  }
  FL_ASSERT(spec.servers.size() == app_servers);
  return spec;
}

}  // namespace fl
