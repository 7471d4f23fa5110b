// The report folder of a failing `faultline live` run (docs/live.md, Report):
// the same files as `faultline run --out` writes for a simulated run
// (summary.txt, report.json, report.md, report.html; reports/report.h), so that
// a live failure reads as a simulated one, beside what only live has: the raw
// per-process histories (<node>-<incarnation>.jsonl, harness.jsonl) and one log
// per node (<node>.log). history.jsonl is the merged history the invariants
// judged, kept whole (a live run is short and cannot be run again to cut it).
//
// What differs from a simulated run's report, and says so: no trace hash (0;
// live is not deterministic), the seed is the scenario's (it decides nothing
// live), the command that "reproduces" it is `faultline live FILE` (another
// run, not the same one), and what live mode skipped is listed among the
// problems as notes.
#pragma once

#include <string>
#include <vector>

#include "base/history.h"
#include "harness/scenario.h"
#include "invariants/invariant.h"
#include "reports/run_result.h"

namespace fl::harness {

struct LiveReportInput {
  const Scenario* scenario = nullptr;
  const std::vector<HistoryEvent>* history = nullptr;  // merged, by time
  const inv::ClusterInfo* info = nullptr;              // names (by NodeId) and roles
  std::vector<inv::Violation> violations;              // every violation found, by time
  std::vector<std::string> problems;                   // why the run failed, first first
  std::vector<std::string> skipped;                    // what live mode could not do
  Time end{};
  double wall_seconds = 0;
  double time_scale = 1.0;
};

// The record the report writers read (reports/run_result.h).
reports::RunResult live_report_record(const LiveReportInput& in);

// Writes dir/history.jsonl (the merged history) and the report files into
// `dir`; "" or an error sentence.
std::string write_live_report(const std::string& dir, const LiveReportInput& in);

}  // namespace fl::harness
