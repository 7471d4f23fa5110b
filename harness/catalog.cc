#include "harness/catalog.h"

#include "base/assert.h"
#include "invariants/registry.h"
#include "nodes/bugs.h"

namespace fl::harness {
namespace {





// SCENARIOS.md, fault kinds; order = FaultKind. Every kind also takes `at`, and
// all but heal, restart and db_failover take `for`.
constexpr CatalogEntry kFaults[] = {
    {"partition", "groups", "nodes in different groups cannot reach each other"},
    {"one_way", "from to", "messages from `from` to `to` fail; the reverse works"},
    {"heal", "", "ends every network fault"},
    {"loss", "rate between?", "drop messages with probability `rate` (on every link, or `between` two nodes)"},
    {"duplicate", "rate between?", "deliver messages twice with probability `rate`"},
    {"reorder", "rate between?", "delay messages past later ones with probability `rate`"},
    {"delay", "latency between?", "latency drawn from the range `latency`"},
    {"crash", "node|nodes restart_after?", "kill the process (all memory lost); restart after `restart_after`"},
    {"restart", "node|nodes", "start a crashed or stopped node again"},
    {"pause", "node|nodes for", "freeze the process; its inputs wait"},
    {"clock_skew", "node|nodes offset drift_ppm?", "offset the node's clock (\"+90s\", \"-2s\"), optionally drifting"},
    {"clock_step", "node|nodes by", "step the node's clock once (an NTP correction)"},
    {"gossip_send_failure", "node|nodes peer for", "sends from node to peer fail (the 15-second retry path)"},
    {"db_crash", "node|nodes", "crash a database member"},
    {"replica_lag", "node|nodes lag for", "a replica applies the write stream `lag` late"},
    {"db_failover", "", "promote the most advanced replica"},
    {"storage_outage", "for", "the shared file store is unreachable"},
};
static_assert(std::size(kFaults) == kFaultKindCount);

// SCENARIOS.md, operations; order = Runbook.
constexpr CatalogEntry kRunbooks[] = {
    {"rolling_upgrade", "to_version", "route the proxy to one server, stop the others, upgrade, start, repeat for the last"},
    {"upgrade_with_schema_change", "to_version", "stop the proxy, upgrade all, start one, then the rest, start the proxy"},
    {"config_change_continuous", "key value", "change a setting on every server while operating continuously"},
    {"manual_failover", "to?", "promote a replica, update DataSource on each server, reload, recycle connections"},
    {"add_server", "version?", "start one more app server (the next appN)"},
    {"remove_server", "node", "take a server out of the proxy and stop it"},
    {"install_plugin", "node plugin", "install a plugin through shared storage from one server"},
};

// Order = StepKind. Each applies to `node` or `nodes` (proxy_route: the proxy).
constexpr CatalogEntry kSteps[] = {
    {"stop", "node|nodes", "graceful stop"},
    {"start", "node|nodes", "start"},
    {"restart", "node|nodes", "graceful stop, then start"},
    {"upgrade", "node|nodes version", "replace the binary (takes effect at the next start)"},
    {"proxy_route", "to", "the proxy's upstream list becomes `to`"},
    {"config_change", "node|nodes key value", "a System Console edit on that server only"},
    {"set_datasource", "node|nodes to", "point the server's DataSource at a database member"},
    {"reload_config", "node|nodes", "the server rereads its configuration"},
    {"recycle_connections", "node|nodes", "close and reopen the database connections"},
    {"install_plugin", "node|nodes plugin", "install a plugin on that server"},
    {"add_to_channel", "node client channel",
     "an admin's request to that server adds the client's user to a channel (issue 14)"},
    {"revoke_sessions", "client [node]",
     "an admin revokes every session of a client (or of everyone: client = \"all\") on that server (default app1)"},
};

}  // namespace

std::span<const CatalogEntry> invariant_catalog() {
  // invariants/registry.h is the one list of invariants and their options.
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const auto& spec : inv::invariant_specs()) {
      std::string k;
      for (const auto& o : spec.options) k += (k.empty() ? "" : " ") + o.key;
      out.push_back(k);
    }
    return out;
  }();
  static const std::vector<CatalogEntry> entries = [] {
    std::vector<CatalogEntry> out;
    const auto& specs = inv::invariant_specs();
    for (std::size_t i = 0; i < specs.size(); ++i) out.push_back(CatalogEntry{specs[i].name, keys[i], specs[i].summary});
    return out;
  }();
  return entries;
}
std::span<const CatalogEntry> bug_catalog() {
  // nodes/bugs.h is the one list of planted bugs (MODEL.md, "Planted bugs").
  static const std::vector<CatalogEntry> entries = [] {
    std::vector<CatalogEntry> out;
    for (const BugInfo& b : bug_catalogue()) out.push_back(CatalogEntry{b.name, "", b.description});
    FL_ASSERT(out.size() == kBugCount);
    return out;
  }();
  return entries;
}
std::span<const CatalogEntry> fault_catalog() { return kFaults; }
std::span<const CatalogEntry> runbook_catalog() { return kRunbooks; }
std::span<const CatalogEntry> step_catalog() { return kSteps; }

std::vector<std::string_view> names_of(std::span<const CatalogEntry> entries) {
  std::vector<std::string_view> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.push_back(e.name);
  FL_ASSERT(out.size() == entries.size());
  return out;
}

}  // namespace fl::harness
