// A test DSL in the domain's words over the real simulator:
//
//   TestCluster c({.app_servers = 3});
//   c.run_for(minutes(2));
//   EXPECT_EQ(c.leaders(), names({"app1"}));
//   c.partition({"app1"}, {"app2", "app3"});
//   c.run_for(minutes(2));
//   EXPECT_EQ(c.leaders(), names({"app1", "app2"}));
//   c.heal(); c.crash("app2"); c.skew("app2", seconds(20));
//   c.events<PeerDown>("app1");
//
// Everything it reports is read from the recorded history (what the nodes
// emitted), never from the nodes' memory: tests assert on behaviour.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <set>
#include <sstream>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include "harness/cluster_builder.h"
#include "invariants/registry.h"
#include "nodes/app_server.h"
#include "sim/simulation.h"

namespace fl::test {

struct TestClusterOptions {
  std::uint32_t app_servers = 3;
  std::uint32_t replicas = 2;
  std::uint64_t seed = 1;
  Version version{10, 4, 1};
  // Edits the spec before the cluster is built (bugs, lock variant, jobs...).
  std::function<void(ClusterSpec&)> tweak;
};

// One event of type T with where and when it happened.
template <class T>
struct Seen {
  Time at{};     // virtual time
  Time local{};  // the node's clock
  NodeId node{};
  T event;
};

inline std::vector<std::string> names(std::initializer_list<const char*> list) {
  std::vector<std::string> out(list.begin(), list.end());
  std::sort(out.begin(), out.end());
  return out;
}

class TestCluster {
 public:
  // FL_TEST_SEED=N shifts every test's seed by N (to explore other schedules).
  static std::uint64_t seed_shift() {
    const char* v = std::getenv("FL_TEST_SEED");
    return v == nullptr ? 0 : std::strtoull(v, nullptr, 10);
  }
  explicit TestCluster(TestClusterOptions options = {}) : sim_(options.seed + seed_shift()) {
    ClusterSpec spec = default_cluster_spec(options.app_servers, options.version);
    spec.database.replicas = options.replicas;
    if (options.tweak) options.tweak(spec);
    sim_.keep_history(true);
    cluster_ = build_cluster(sim_, spec);
  }

  sim::Simulation& sim() { return sim_; }
  BuiltCluster& cluster() { return cluster_; }
  // Any node of the simulation (the cluster's, or one a test added).
  NodeId id(std::string_view name) const { return sim_.id(name); }
  std::string name(NodeId node) const { return sim_.name(node); }
  Time now() const { return sim_.now(); }

  // Starts the whole cluster (done by the first run_for when not called).
  void start() {
    if (started_) return;
    started_ = true;
    start_cluster(sim_, cluster_);
  }
  // Starts the cluster but not these servers (start them with start_node).
  void start_except(std::vector<std::string> held) {
    FL_ASSERT(!started_);
    started_ = true;
    const auto list = ids(held);
    start_cluster(sim_, cluster_, std::set<NodeId>(list.begin(), list.end()));
  }
  void run_for(Duration d) {
    start();
    sim_.run_until(sim_.now() + d);
  }
  void run_until(Time t) {
    start();
    sim_.run_until(t);
  }

  // ---- faults, in the domain's words ----
  void partition(std::vector<std::string> a, std::vector<std::string> b) {
    sim_.partition({ids(a), ids(b)});
  }
  void heal() { sim_.heal(); }
  void crash(std::string_view node) { sim_.crash(id(node)); }
  void restart(std::string_view node, Duration delay = k::kRestartDelay) { sim_.restart(id(node), delay); }
  void stop(std::string_view node) { sim_.stop(id(node)); }
  void start_node(std::string_view node) { sim_.start(id(node)); }
  void skew(std::string_view node, Duration offset) { sim_.set_clock(id(node), offset, 0); }
  void pause(std::string_view node, Duration length) { sim_.pause(id(node), length); }
  void cut(std::string_view from, std::string_view to) { sim_.cut_one_way(id(from), id(to)); }
  void control(std::string_view node, ControlOp op) { sim_.control(id(node), op); }

  AppServer* app(std::string_view node) { return dynamic_cast<AppServer*>(sim_.node(id(node))); }
  Database* db(std::string_view node) { return dynamic_cast<Database*>(sim_.node(id(node))); }

  // ---- what happened (from the history) ----
  const std::vector<HistoryEvent>& history() const { return sim_.history(); }

  // The history as text, one event a line (for a failing test's message).
  std::string dump(Time from = kTimeZero, Time to = kTimeMax) const {
    std::ostringstream out;
    for (const HistoryEvent& e : sim_.history()) {
      if (e.at < from || e.at > to) continue;
      out << format_time(e.at) << " " << (e.node == kNoNode ? std::string("-") : sim_.name(e.node)) << " "
          << e.name();
      std::visit(
          [&](const auto& body) {
            body.fields([&](std::string_view key, const auto& value) {
              out << " " << key << "=";
              using V = std::decay_t<decltype(value)>;
              if constexpr (std::is_same_v<V, NodeId>) {
                out << (value == kNoNode ? std::string("none") : sim_.name(value));
              } else if constexpr (std::is_same_v<V, Duration>) {
                out << format_duration(value);
              } else if constexpr (std::is_same_v<V, Time>) {
                out << format_time(value);
              } else if constexpr (std::is_same_v<V, NodeGroups>) {
                for (const auto& group : value) {
                  out << "[";
                  for (std::size_t i = 0; i < group.size(); ++i) out << (i ? " " : "") << sim_.name(group[i]);
                  out << "]";
                }
              } else {
                out << value;
              }
            });
          },
          e.body);
      out << "\n";
    }
    return out.str();
  }

  template <class T>
  std::vector<Seen<T>> events() const {
    std::vector<Seen<T>> out;
    for (const HistoryEvent& e : sim_.history()) {
      if (const T* body = e.get<T>()) out.push_back(Seen<T>{e.at, e.local, e.node, *body});
    }
    return out;
  }
  template <class T>
  std::vector<Seen<T>> events(std::string_view node) const {
    const NodeId n = id(node);
    std::vector<Seen<T>> out;
    for (auto& s : events<T>()) {
      if (s.node == n) out.push_back(s);
    }
    return out;
  }
  template <class T>
  std::size_t count(std::string_view node) const { return events<T>(node).size(); }
  template <class T>
  std::size_t count() const { return events<T>().size(); }

  // The servers acting as leader at `at` (default: now), by name, sorted:
  // LeaderBegin opens, LeaderEnd / crash / stop closes.
  std::vector<std::string> leaders(Time at = kTimeMax) const {
    std::set<NodeId> acting;
    for (const HistoryEvent& e : sim_.history()) {
      if (e.at > at) break;
      if (e.is<LeaderBegin>()) acting.insert(e.node);
      if (e.is<LeaderEnd>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>()) acting.erase(e.node);
    }
    std::vector<std::string> out;
    for (NodeId n : acting) out.push_back(sim_.name(n));
    std::sort(out.begin(), out.end());
    return out;
  }
  // The largest number of servers acting as leader at one instant, in [from, to].
  std::size_t max_simultaneous_leaders(Time from = kTimeZero, Time to = kTimeMax) const {
    std::set<NodeId> acting;
    std::size_t most = 0;
    for (const HistoryEvent& e : sim_.history()) {
      if (e.at > to) break;
      if (e.is<LeaderBegin>()) acting.insert(e.node);
      if (e.is<LeaderEnd>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>()) acting.erase(e.node);
      if (e.at >= from) most = std::max(most, acting.size());
    }
    return most;
  }
  // Servers that emitted ServerServing since their last start and are running.
  std::vector<std::string> serving() const {
    std::set<NodeId> up;
    for (const HistoryEvent& e : sim_.history()) {
      if (e.is<ServerServing>()) up.insert(e.node);
      if (e.is<ProcessCrashed>() || e.is<ProcessStopped>() || e.is<ServerStopping>()) up.erase(e.node);
    }
    std::vector<std::string> out;
    for (NodeId n : up) out.push_back(sim_.name(n));
    std::sort(out.begin(), out.end());
    return out;
  }

  // Which of these invariants (MODEL.md) the history so far violates, judged as
  // the harness would at the end of the run, by the invariant helper's checkers.
  std::vector<std::string> violated(std::initializer_list<const char*> invariants) const {
    inv::ClusterInfo info;
    info.nodes.resize(sim_.node_count());
    for (std::size_t i = 0; i < info.nodes.size(); ++i) {
      inv::NodeInfo& n = info.nodes[i];
      n.name = sim_.name(NodeId{static_cast<std::uint32_t>(i)});
      if (n.name == "db-primary") n.role = inv::Role::db_primary;
      else if (n.name.rfind("db-replica", 0) == 0) n.role = inv::Role::db_replica;
      else if (n.name == "proxy") n.role = inv::Role::proxy;
      else if (n.name == "storage") n.role = inv::Role::storage;
      else if (n.name == "operator") n.role = inv::Role::oper;
      else if (n.name.rfind("client", 0) == 0) n.role = inv::Role::client;
      if (const ServerSpec* server = cluster_.spec->server(n.name)) {
        n.role = inv::Role::app_server;
        n.server_id = server->id;
      }
    }
    info.leader_election = cluster_.spec->leader_election == LeaderElection::db_lease ? "db_lease" : "bully";
    info.initial_schema = cluster_.spec->initial_schema();
    for (const JobTypeSpec& j : cluster_.spec->jobs) info.job_periods.emplace_back(j.type, j.period);
    std::vector<std::string> out;
    for (const char* name : invariants) {
      auto checker = inv::make_invariant(name, info);
      for (const HistoryEvent& e : sim_.history()) checker->on_event(e);
      checker->finish(inv::RunEnd{sim_.now(), true});
      if (checker->failed()) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::vector<NodeId> ids(const std::vector<std::string>& list) const {
    std::vector<NodeId> out;
    for (const auto& n : list) out.push_back(id(n));
    return out;
  }

  sim::Simulation sim_;
  BuiltCluster cluster_;
  bool started_ = false;
};

}  // namespace fl::test
