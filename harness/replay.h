// Replay (issue 9; SCENARIOS.md, `faultline replay REPORT.json`): re-run a
// reported run from its report.json, prove it is the same run (its trace hash),
// and show every node's state at a chosen virtual time.
//
// What a report.json records (reports/report_text.cc, schema faultline.report/1)
// and what replay reads of it: scenario.path, seed, trace_hash, stopped_early
// (a --stop-at-first run, replayed the same way) and result. The scenario is the
// folder's repro.toml when there is one (fuzz and shrink write it beside
// report.json, and their scenario.path names it), else scenario.path as
// recorded (relative to where the run was started).
//
// Invariants kept:
//  - Nothing is added to the run: the state dump is taken by pausing the
//    simulation between two events (RunOptions::inspect_at), so the replayed
//    history, and its trace hash, are those of a run without the pause.
//  - The run always goes to its recorded end, so the trace hash is always
//    checked, with --until too; a dump is of the reported run or not printed.
//  - Bad input (no such file, not JSON, not a report, missing keys, an --until
//    beyond the run's end) is a sentence and exit 2; a hash mismatch exit 3.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/time.h"
#include "harness/runner.h"

namespace fl::harness {

// What replay needs of a report.json.
struct ReportRecord {
  std::string report_path;     // the report.json read
  std::string folder;          // its folder ("" : the current one)
  std::string scenario_path;   // as recorded
  std::string scenario_name;
  std::uint64_t seed = 0;
  std::uint64_t trace_hash = 0;
  std::string result;          // "PASS" | "FAIL" | "ERROR"
  bool stopped_early = false;  // the run was --stop-at-first
  std::string reproduce;
  std::int64_t simulated_ns = -1;  // statistics.simulated_ns, when present
};

// Reads a report.json; nullopt and *error (a sentence naming the file) when it
// is not one.
std::optional<ReportRecord> read_report(const std::string& path, std::string* error);

// Parses a 16-hex-digit trace hash ("9f3a1c0b2d4e5f60").
std::optional<std::uint64_t> parse_hex64(const std::string& text);

struct ReplayOptions {
  std::optional<Duration> until;  // dump (and list what happened) at this virtual time
  bool dump_state = false;        // every node's state at `until` (or at the end of the run)
};

struct NodeState {
  std::string name;
  std::string process;            // never_started | running | paused | crashed | stopped
  Time local_time{};              // its own clock (skewed, stepped)
  Duration clock_offset{};
  std::vector<std::pair<std::string, std::string>> fields;  // Node::describe, in its order
};

struct ReplayResult {
  int exit_code = 2;              // 0 reproduced, 2 bad input, 3 trace hash mismatch
  std::string error;              // with exit 2 or 3: what went wrong, one sentence
  ReportRecord report;
  std::string scenario_used;      // the scenario file run
  RunResult run;
  bool hash_matches = false;
  std::optional<Time> dumped_at;  // when the state was taken
  std::vector<NodeState> nodes;   // with dump_state
};

ReplayResult replay(const std::string& report_json, const ReplayOptions& options);

// The replay as text for a person, and as JSON (--json).
std::string replay_text(const ReplayResult& r, const ReplayOptions& options);
std::string replay_json(const ReplayResult& r, const ReplayOptions& options);

}  // namespace fl::harness
