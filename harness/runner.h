// One run of one scenario with one seed (DESIGN.md, "Phases of a run"): build
// the cluster from the Scenario, schedule its faults and operations, attach the
// invariants, run the safety phase (`duration`), then settle (heal every fault,
// restart crashed nodes, run `settle`), judge [expect] and the vacuity check.
//
// A run shares nothing with another: each has its own Simulation, so runs of
// different seeds may go on different threads at once.
//
// Invariants kept:
//  - The verdict depends only on (scenario, seed): never on wall time, thread
//    or order of runs. wall_seconds is reported, never decided on.
//  - A scenario that expects a violation fails when none of the expected
//    invariants broke (SCENARIOS.md, [expect]); an unexpected violation fails.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "harness/scenario.h"
#include "reports/run_result.h"

namespace fl::sim {
class Simulation;
}

namespace fl::harness {

struct RunOptions {
  std::uint64_t seed = 1;
  bool verbose = false;           // print every option derived from the seed to `log`
  std::ostream* log = nullptr;    // verbose output (nullptr: none)
  std::string out_dir;            // write the folder of a failing run here ("" : none)
  bool always_write = false;      // write the folder even when the run passes (--keep-passing)
  // End the run at its first violation (--stop-at-first): faster, but later
  // violations and the end-of-run (liveness) judgements go unseen. Off by
  // default: a run goes to the end of settle (DESIGN.md, Phases of a run).
  bool stop_at_first = false;
  // Stream the history (JSON Lines) to this file as it is recorded, whatever
  // the outcome ("" : none beyond out_dir's folder). Nothing of the history is
  // held in memory either way (faultline-bench scenario measures exactly this).
  std::string history_path;
  // Watching the run from outside (the command line's progress line and memory
  // budget, harness/run_watch.h): called every kWatchEvery events with the
  // virtual time reached, the run's end (duration + settle) and the events so
  // far. A non-empty answer stops the run there with that message
  // (RunResult::aborted). Never decides anything inside the run.
  std::function<std::string(Time now, Time end, std::uint64_t events)> watch;
  // ---- replay (harness/replay.h) ----
  // Pause once at virtual time `inspect_at`, after every event at or before
  // it, and call `inspect` with the simulation (read it, never change it);
  // then the run goes on. No event is added: the history and trace hash are
  // those of the run without the pause. Not called when the run ends first.
  std::optional<Time> inspect_at;
  std::function<void(sim::Simulation&)> inspect;
  // The report folder's name below out_dir, without the seed ("" : the
  // scenario file's stem). faultline run passes reports::report_folder_stems.
  std::string report_name;
  // Keep the whole history in the folder (--history full); by default the
  // folder keeps the events that matter (reports/history_keep.h).
  bool history_full = false;
  // Called with every history event as it is recorded (fuzz --guided records
  // the abstract states a run reached, harness/fuzz.h). Reads, never decides.
  std::function<void(const HistoryEvent&)> listen;
  // Feed every checker every event, none skipped by the types it reads or a
  // timed checker's wake (Invariant::read_timed): the control of the test that
  // the skipping changes no verdict (tests/harness/runner_test.cc).
  bool check_every_event = false;
};
inline constexpr std::uint64_t kWatchEvery = 16'384;

struct RunViolation {
  std::string invariant;
  Time at{};
  std::string message;
  std::vector<std::string> nodes;
  bool expected = false;          // named in [expect] violations
};

enum class Outcome : std::uint8_t { pass, fail, internal_error };

struct RunResult {
  std::string path;
  std::uint64_t seed = 0;
  Outcome outcome = Outcome::internal_error;
  Duration sim_time{};            // virtual time when the run stopped
  double wall_seconds = 0;        // reported only
  std::uint64_t events = 0;
  std::uint64_t trace_hash = 0;
  std::vector<RunViolation> violations;  // every violation found, in time order
  // Why the run failed, first reason first: an unexpected violation, an expected
  // one not found, a vacuous scenario, an internal error.
  std::vector<std::string> problems;
  // Vacuity findings (a fault that had no effect), reported on every run.
  std::vector<std::string> notes;
  // Invariants not judged, each with its reason ([invariants] skip or check).
  std::vector<std::pair<std::string, std::string>> skipped;
  std::string report_dir;         // the folder written, if any
  std::string aborted;            // why the watch stopped the run ("" : it did not)
  // Everything the report writers (reports/) need: filled on every run, so
  // JUnit and the failing-run folder read one record.
  reports::RunResult report;
};

RunResult run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace fl::harness

namespace fl {
struct ClusterSpec;
}

namespace fl::harness {

// The Scenario as the nodes' specification (nodes/spec.h): servers (with the
// spares that add_server brings up), database, election, lock, bugs, proxy,
// clients and the operator's actions.
ClusterSpec cluster_spec_of(const Scenario& scenario);

// The one line per run of SCENARIOS.md:
//   PASS scenarios/steady_state.toml seed=7 sim=1h0m wall=0.84s events=3.1M hash=9f3a1c0b2d4e5f60
//   FAIL scenarios/split_brain.toml seed=3 single_leader at 2m03.412s: app1 and app2 both lead -> out/split_brain-3/
std::string result_line(const RunResult& result);

// Virtual times as the result line writes them: "2m03.412s", "1h0m", "15s", "250ms".
std::string line_time(Duration d);
// The name of a node's generator stream, split off the run's root generator
// (sim/simulation.cc, add_node): --verbose prints each stream's seed.
std::string node_stream_name(std::string_view node);

// Event counts: "950", "12.3k", "3.1M".
std::string line_count(std::uint64_t n);

}  // namespace fl::harness
