// The fault injector: the one implementation of faults (DESIGN.md, Faults:
// "One fault injector in sim/ serves the runner, the fuzzer and live mode's
// plan"). It applies a time-ordered schedule of fault records to a Simulation
// (through Simulation::at), ends those with a `for`, ends everything the
// schedule broke when the settle phase begins, and records for each fault what
// really happened: when it started and ended, the nodes it acted on, and
// whether it did anything (a partition that cut no message, or a crash of a
// node already down, proved nothing: the vacuity check).
//
// It knows the Simulation's public API only, and records are data, so the
// harness builds them from scenario files and the fuzzer draws them. Faults
// that need knowledge of the system under test (a database failover, an
// outage of shared storage) are Kind::custom: the schedule's owner applies
// and ends them through a CustomFaultHandler, and the injector keeps their
// bookkeeping like any other's.
//
// Invariants kept:
//  - Every applied fault emits FaultInjected with typed fields (kind, groups,
//    effective; history.h) and a detail for people; every end emits
//    FaultHealed. Checkers read the typed fields, never the detail.
//  - The network is rebuilt from the active faults whenever one starts or
//    ends (the scenario's links, then the latest partition, every cut, every
//    link fault in the order applied), so ending one fault leaves the others
//    exactly in force.
//  - A later partition replaces an earlier one (which ends then).
//  - A crash's restart (restart_after) restarts only a node that is still
//    crashed: one the operator has stopped meanwhile stays stopped (a process
//    supervisor does not restart a service its operator stopped).
//  - heal_everything (settle): network faults end, pauses end (paused nodes
//    resume), custom faults end, crashed nodes restart; clocks keep their
//    offsets (DESIGN.md: "clocks keep their offsets but stop stepping") and
//    what the operator did on purpose stays done.
//  - The injector must outlive the simulation run it was scheduled into.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/env.h"
#include "base/ids.h"
#include "base/time.h"
#include "sim/simulation.h"

namespace fl::sim {

struct FaultRecord {
  enum class Kind : std::uint8_t {
    partition,   // groups
    one_way,     // from -> to (every pair of the two lists)
    heal,        // ends every network fault
    loss,        // rate, between (optional pair)
    duplicate,   // rate, between
    reorder,     // rate, between
    delay,       // latency, between
    crash,       // nodes, restart_after (optional)
    restart,     // nodes: start a down node (a running one: no effect)
    stop,        // nodes (graceful)
    start,       // nodes
    pause,       // nodes, duration (the pause length)
    clock_skew,  // nodes, offset, drift_ppm
    clock_step,  // nodes, by
    control,     // nodes (the first is the target), op
    custom,      // applied and ended by the CustomFaultHandler (label names it)
  };
  Kind kind = Kind::heal;
  Time at{};
  std::optional<Duration> duration;  // the scenario's `for`: ended after this long
  std::vector<std::vector<NodeId>> groups;
  std::vector<NodeId> from, to;
  std::vector<NodeId> nodes;
  double rate = 0.0;
  DurationRange latency{};
  std::optional<std::pair<NodeId, NodeId>> between;
  std::optional<Duration> restart_after;
  Duration offset{};
  std::int64_t drift_ppm = 0;
  Duration by{};
  ControlOp op{};
  // The scenario's kind name when it differs from the record's (a
  // gossip_send_failure is a one_way cut; db_failover is custom): it is the
  // `kind` of the history event and the first word of the detail.
  std::string label;
};

std::string_view fault_kind_name(FaultRecord::Kind kind);

struct FaultOutcome {
  bool applied = false;
  bool effective = false;  // it changed something the system could observe
  bool active = false;     // applied and not yet ended
  bool ended = false;      // applied and ended (by its `for`, a heal, a replacement or settle)
  Time applied_at{}, ended_at{};
  std::uint64_t effect_count = 0;  // messages cut / lost / ... while active (network faults)
  std::string detail;
  std::string no_effect;   // why it had no effect, in words ("" : it had one, or not known yet)
  std::vector<NodeId> nodes;  // the nodes it acted on
  std::vector<NodeId> restart_cancelled;  // crash restarts the operator's stop cancelled
};

// Faults the simulator cannot apply by itself. apply returns why the fault had
// no effect ("" : it had one) and may fill the outcome's nodes and add to its
// detail; end undoes it (optional: an instant fault has nothing to undo).
struct CustomFaultHandler {
  std::function<std::string(std::size_t index, const FaultRecord&, FaultOutcome&)> apply;
  std::function<void(std::size_t index, const FaultRecord&)> end;
};

class FaultInjector {
 public:
  FaultInjector(Simulation& sim, std::vector<FaultRecord> schedule);
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  void set_custom_handler(CustomFaultHandler handler);
  // Schedules every record (and its end) into the simulation. Call once.
  void schedule();
  // The settle phase (see the invariants above).
  void heal_everything();

  const std::vector<FaultRecord>& records() const { return records_; }
  // Per record, in schedule order. Network faults still active count their
  // effect up to now.
  std::vector<FaultOutcome> outcomes() const;

 private:
  void apply(std::size_t index);
  void end(std::size_t index, bool settling);
  void emit_ended(std::size_t index);
  void rebuild_network();
  std::string describe(const FaultRecord& r) const;
  std::string names(const std::vector<NodeId>& nodes) const;
  std::string_view kind_name(const FaultRecord& r) const;
  std::uint64_t counter_for(FaultRecord::Kind kind) const;

  Simulation& sim_;
  std::vector<FaultRecord> records_;
  std::vector<FaultOutcome> outcomes_;
  std::vector<std::uint64_t> counter_at_apply_;
  std::vector<std::uint64_t> apply_order_;  // when each was applied (network rebuild order)
  std::uint64_t applied_count_ = 0;
  LinkConfig base_link_;  // the scenario's links, before any fault
  struct SavedClock { Duration offset{}; std::int64_t drift_ppm = 0; };
  std::vector<std::vector<SavedClock>> saved_clocks_;
  std::vector<std::vector<NodeId>> crashed_here_;  // per crash record: the nodes it crashed
  CustomFaultHandler custom_;
  bool scheduled_ = false;
};

}  // namespace fl::sim
