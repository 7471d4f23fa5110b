// Hand-written histories for checker tests:
//   Hist h;  h.at(2s, h.app1, LeaderBegin{});  auto v = h.check("single_leader", 10s);
#pragma once

#include <string>
#include <vector>

#include "base/history.h"
#include "invariants/invariant.h"
#include "invariants/registry.h"

namespace fl::inv::testing {

struct Hist {
  ClusterInfo info;
  std::vector<HistoryEvent> events;
  NodeId app1, app2, app3, primary, replica, proxy, client1, client2;

  // A standard cluster: app1..app3 (ids 1..3), db-primary, db-replica1, proxy,
  // client1, client2.
  Hist() {
    app1 = add("app1", Role::app_server, 1);
    app2 = add("app2", Role::app_server, 2);
    app3 = add("app3", Role::app_server, 3);
    primary = add("db-primary", Role::db_primary);
    replica = add("db-replica1", Role::db_replica);
    proxy = add("proxy", Role::proxy);
    client1 = add("client1", Role::client);
    client2 = add("client2", Role::client);
  }
  NodeId add(std::string name, Role role, std::uint32_t server_id = 0) {
    info.nodes.push_back({std::move(name), role, server_id});
    return NodeId{std::uint32_t(info.nodes.size() - 1)};
  }
  // Appends an event; returns its seq.
  std::uint64_t at(Duration t, NodeId node, EventBody body) {
    HistoryEvent e;
    e.seq = events.size();
    e.at = Time{t};
    e.local = Time{t};
    e.node = node;
    e.body = std::move(body);
    events.push_back(std::move(e));
    return events.back().seq;
  }
  // Starts three servers at version `v` serving at t (process + start-up events).
  void start_servers(Duration t, const std::string& v = "10.4.1") {
    for (NodeId s : {app1, app2, app3}) {
      at(t, s, ProcessStarted{});
      at(t, s, ServerStarting{v, 7});
      at(t, s, ServerServing{v});
    }
  }
  std::vector<Violation> check(std::string_view invariant, Duration end, const OptionValues& options = {},
                               bool completed = true) const {
    auto checker = make_invariant(invariant, info, options);
    for (const auto& e : events) checker->on_event(e);
    checker->finish(RunEnd{Time{end}, completed});
    return checker->violations();
  }
  // Feeds only events up to (and including) seq `upto`, then stops: what an
  // online checker knows at that instant.
  std::vector<Violation> check_online(std::string_view invariant, std::uint64_t upto,
                                      const OptionValues& options = {}) const {
    auto checker = make_invariant(invariant, info, options);
    for (const auto& e : events)
      if (e.seq <= upto) checker->on_event(e);
    return checker->violations();
  }
};

inline Time T(Duration d) { return Time{d}; }

inline bool has_witness(const Violation& v, std::uint64_t seq) {
  for (const auto& w : v.witnesses)
    if (w.seq == seq) return true;
  return false;
}
inline bool names_node(const Violation& v, NodeId n) {
  for (NodeId x : v.nodes)
    if (x == n) return true;
  return false;
}

}  // namespace fl::inv::testing
