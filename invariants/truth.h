// What really happened, derived from the simulator's own events (never from a
// node's belief): which processes run, which links are cut, which faults are
// active. Several checkers need the same truth; each keeps its own copy (they
// are cheap) so that checkers stay independent.
//
// Approximations, stated once here:
//  - Network faults are known from FaultInjected's typed fields (kind, groups:
//    a partition's groups; one_way and gossip_send_failure {from, to}; a link
//    fault's pair, or none for every link). The detail is for people only.
//  - Loss, duplication, reordering and delay make a link `uncertain` (whether a
//    node should notice them depends on timing): judged again once they heal.
//  - A fault is active from its FaultInjected to its FaultHealed (same index), a
//    `heal` fault (ends every network fault), a later partition (replaces the
//    earlier one, as Simulation::partition does) or SettleBegin (every fault healed).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/history.h"
#include "invariants/invariant.h"

namespace fl::inv {

enum class Link : std::uint8_t { up, cut, uncertain };

struct ActiveFault {
  HistoryEvent injected;  // the FaultInjected event
  std::string kind;
  // partition: groups; one_way/gossip_send_failure: {from, to}; link faults:
  // the `between` pair (empty: every link). `parsed` false: could not be read.
  std::vector<std::vector<NodeId>> groups;
  bool parsed = false;
};

class FaultBook {
 public:
  explicit FaultBook(const ClusterInfo& cluster) : cluster_(&cluster) {}
  // Returns true when the set of active faults changed.
  bool observe(const HistoryEvent& e);
  // The event types observe() reads (Invariant::read_only).
  static EventMask reads() { return event_mask<FaultInjected, FaultHealed, SettleBegin>(); }

  bool any_active() const { return !active_.empty(); }
  // Virtual time of the last injection or heal (kTimeZero if none).
  Time last_change() const { return last_change_; }
  const HistoryEvent* last_change_event() const { return has_last_ ? &last_event_ : nullptr; }
  bool settling() const { return settling_; }
  Link link(NodeId from, NodeId to) const;
  bool storage_out() const;
  const std::map<std::uint32_t, ActiveFault>& active() const { return active_; }
  // Network faults active now that touch `node` (for witnesses).
  std::vector<const ActiveFault*> touching(NodeId node) const;

  // Reads a fault's typed fields (exposed for tests).
  static ActiveFault parse(const HistoryEvent& injected, const ClusterInfo& cluster);
  static bool is_network_kind(std::string_view kind);

 private:
  const ClusterInfo* cluster_;
  std::map<std::uint32_t, ActiveFault> active_;
  Time last_change_{};
  bool has_last_ = false;
  HistoryEvent last_event_;
  bool settling_ = false;
};

// Process lifecycle truth per node, from the simulator's process events and the
// server's own start-up events.
struct NodeLife {
  bool running = false;      // started, not crashed or stopped
  bool paused = false;       // inputs wait (ProcessPaused .. ProcessResumed)
  bool serving = false;      // app server: ServerServing, until crash/stop/ServerStopping
  bool refused = false;      // app server: ServerRefusedStart since its last start
  Time since{};              // when `running` last changed
  Time serving_since{};
  std::string version;       // app server: from ServerStarting
  std::uint64_t config_hash = 0;
  std::uint64_t incarnation = 0;  // counts starts
};

class LifeBook {
 public:
  explicit LifeBook(const ClusterInfo& cluster) : nodes_(cluster.nodes.size()) {}
  // Returns true when the event changed a node's running/serving/paused state.
  bool observe(const HistoryEvent& e);
  // The event types observe() reads (Invariant::read_only).
  static EventMask reads() {
    return event_mask<ProcessStarted, ProcessCrashed, ProcessStopped, ProcessPaused, ProcessResumed, ServerStarting,
                      ServerServing, ServerStopping, ServerRefusedStart, ConfigChanged>();
  }
  const NodeLife& at(NodeId id) const;
  bool running(NodeId id) const { return at(id).running; }
  bool serving(NodeId id) const { return at(id).serving; }

 private:
  NodeLife& mut(NodeId id);
  std::vector<NodeLife> nodes_;
  NodeLife none_;
};

}  // namespace fl::inv
