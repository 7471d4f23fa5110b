// What the report writers need to know about one run; the harness fills it.
// Plain data: no behaviour, no heavy includes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/history.h"
#include "base/time.h"
#include "invariants/invariant.h"

namespace fl::reports {

enum class Outcome : std::uint8_t { pass, fail, error };
std::string_view outcome_name(Outcome o);  // "PASS" | "FAIL" | "ERROR"

// A fault of the scenario's schedule as it was applied (FaultInjected/FaultHealed).
struct FaultRecord {
  std::uint32_t index = 0;
  Time at{};
  std::string kind;
  std::string detail;
  std::vector<std::string> nodes;  // names of the nodes it acted on
  bool applied = true;             // its time came within the run
  bool effective = true;           // it changed something (sim/fault_injector.h)
  std::string no_effect;           // why not, in words
  bool healed = false;             // it ended (its `for`, a heal, a replacement, settle)
  Time healed_at{};
};

struct Lane {
  std::string name;
  std::string role;  // inv::role_name
};

struct RunResult {
  std::string scenario_path;
  std::string scenario_name;
  std::uint64_t scenario_hash = 0;   // hash of the file's bytes
  std::uint64_t seed = 0;
  std::uint64_t trace_hash = 0;
  Outcome outcome = Outcome::pass;
  std::vector<std::string> expected;  // [expect] violations
  // Why the run failed, in words (unexpected violation, expected one missing,
  // vacuous scenario, internal error); empty on a pass.
  std::vector<std::string> problems;
  std::vector<inv::Violation> violations;  // by time
  // Invariants not judged, each with its reason (the scenario's [invariants]).
  std::vector<std::pair<std::string, std::string>> skipped;
  // The run ended before settle was over (--stop-at-first): liveness not judged.
  bool stopped_early = false;
  std::vector<FaultRecord> faults;
  Time sim_end{};
  Time settle_begin{};
  double wall_seconds = 0;  // reported, never decided on
  std::uint64_t events = 0;
  std::map<std::string, std::int64_t> statistics;  // any counters the harness has (messages_cut, ...)
  std::string reproduce;    // the command that reproduces the run
  std::string history_file = "history.jsonl";  // relative to the run's folder, written by sim/
  // For the space-time diagram: one lane per node (ids index this), and the
  // notable events the harness kept (leader terms, crashes, migrations, ...).
  std::vector<Lane> lanes;
  std::vector<HistoryEvent> timeline;
};

}  // namespace fl::reports
