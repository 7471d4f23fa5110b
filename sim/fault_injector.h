// The fault injector: applies a time-ordered schedule of fault records to a
// Simulation (through Simulation::at), undoes those with a `for`, and records
// for each fault whether it did anything (the vacuity check: a partition that
// cut no message, or a crash of a node already down, proved nothing).
//
// It is the second of the three separate things (simulator, injector,
// checkers): it knows the Simulation's public API only, and records are data,
// so the harness builds them from scenario files and the fuzzer draws them.
//
// Invariants kept:
//  - Every applied fault emits FaultInjected (node = the first node it names, or
//    kNoNode) with a detail using node names; every undo emits FaultHealed.
//  - An undo restores what the fault changed and nothing else: a partition's
//    undo ends that partition only if no later partition replaced it; a link
//    fault restores the link as it was before.
//  - The injector must outlive the simulation run it was scheduled into.
#pragma once

#include <cstdint>
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
    restart,     // nodes: crash-and-start a running node, start a down one
    stop,        // nodes (graceful)
    start,       // nodes
    pause,       // nodes, for (the pause length)
    clock_skew,  // nodes, offset, drift_ppm
    clock_step,  // nodes, by
    control,     // nodes (the first is the target), op: the harness's db faults etc.
  };
  Kind kind = Kind::heal;
  Time at{};
  std::optional<Duration> duration;  // the scenario's `for`: undone after this long
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
  std::string label;  // optional: the scenario's kind name when it differs (e.g. "db_crash")
};

std::string_view fault_kind_name(FaultRecord::Kind kind);

struct FaultOutcome {
  bool applied = false;
  bool effective = false;  // it changed something the system could observe
  bool active = false;     // applied and not yet undone
  std::uint64_t effect_count = 0;  // messages cut / lost / ... while active (network faults)
  std::string detail;
};

class FaultInjector {
 public:
  FaultInjector(Simulation& sim, std::vector<FaultRecord> schedule);
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  // Schedules every record (and its undo) into the simulation. Call once.
  void schedule();
  // The settle phase: heal the network (partitions, cuts, link faults), start
  // crashed nodes again. Clock faults stay (a clock is not fixed by settling).
  void heal_everything();

  const std::vector<FaultRecord>& records() const { return records_; }
  // Per record, in schedule order. Network faults still active count their
  // effect up to now.
  std::vector<FaultOutcome> outcomes() const;

 private:
  void apply(std::size_t index);
  void undo(std::size_t index);
  std::string describe(const FaultRecord& r) const;
  std::string names(const std::vector<NodeId>& nodes) const;
  std::uint64_t counter_for(FaultRecord::Kind kind) const;
  void set_link_field(const FaultRecord& r, std::size_t index);
  void heal_network_faults();

  Simulation& sim_;
  std::vector<FaultRecord> records_;
  std::vector<FaultOutcome> outcomes_;
  std::vector<std::uint64_t> counter_at_apply_;
  // What a link fault overwrote, to restore it: (a, b, config) or the default.
  struct SavedLink { bool is_default = true; NodeId a{}, b{}; LinkConfig config{}; };
  std::vector<SavedLink> saved_links_;
  struct SavedClock { Duration offset{}; std::int64_t drift_ppm = 0; };
  std::vector<std::vector<SavedClock>> saved_clocks_;
  std::optional<std::size_t> current_partition_;
  bool scheduled_ = false;
};

}  // namespace fl::sim
