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
#include "reports/messages.h"

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
  std::uint64_t effect_count = 0;  // messages cut / lost / ... while active (network faults)
};

// How much of the history the run's folder keeps (SCENARIOS.md, Reports).
enum class HistoryKeep : std::uint8_t {
  window,  // history.jsonl.gz: the events that matter (default)
  full,    // history.jsonl: every event (--history full)
};

// Violations of one invariant with one cause (reports/explain.h fills these).
struct CauseGroup {
  std::string invariant;
  std::string kind;                  // "replica_behind", "peer_paused", ... ; "unexplained"
  std::string cause;                 // one sentence naming the cause; "" when the history does not show it
  std::vector<std::size_t> members;  // indexes into RunResult::violations, in time order
  std::vector<HistoryEvent> evidence;  // the events that show the cause, by seq
  Time at{};                         // when the cause acted (else the first member's time)
  std::vector<std::uint32_t> faults_in_force;  // FaultRecord indexes active at `at`
  struct Clock {
    std::string node;
    Duration offset{};
    std::int64_t drift_ppm = 0;
  };
  std::vector<Clock> clocks;         // nodes whose clock was off at `at`
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
  // A run of `faultline live`: its times are wall-clock time since the run's
  // epoch, and it has no trace hash (a real cluster is not deterministic), so
  // the writers say "live" where they say "simulated" and print no hash.
  bool live = false;
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
  HistoryKeep history_keep = HistoryKeep::window;  // what write_run_folder leaves of history_file
  // Filled by write_run_folder (reports/explain.h), read by the writers.
  std::vector<CauseGroup> groups;
  std::uint64_t history_kept = 0;    // events in the folder's history file
  bool history_done = false;         // history_file is the cut already (reports/history_keep.h, HistoryKeeper)
  // For the space-time diagram: one lane per node (ids index this), and the
  // notable events the harness kept (leader terms, crashes, migrations, ...).
  std::vector<Lane> lanes;
  std::vector<HistoryEvent> timeline;
  // Filled by write_run_folder from the history file (reports/messages.h): the
  // messages around the violations, drawn as arrows in report.html.
  std::vector<Message> messages;
};

}  // namespace fl::reports
