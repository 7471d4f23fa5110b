// The failing-run folder (SCENARIOS.md, Reports): summary.txt (plain text),
// report.json (schema "faultline.report/2"), report.md (for people) and
// report.html (self-contained, with a space-time diagram). history.jsonl is
// written beside them by the simulator's streamer; write_run_folder keeps what
// matters of it (history.jsonl.gz) unless the run asked for all of it.
#pragma once

#include <string>

#include "reports/run_result.h"

namespace fl::reports {

inline constexpr const char* kReportSchema = "faultline.report/2";  // schemas/report.schema.json

std::string summary_text(const RunResult& run);
std::string report_json(const RunResult& run);  // pretty-printed, deterministic key order
std::string report_markdown(const RunResult& run);
std::string report_html(const RunResult& run);
// "simulated" or "live" (RunResult::live), where the writers name the run's time.
const char* run_kind(const RunResult& run);
// The trace hash in hex, or "none (live: not deterministic)" for a live run.
std::string trace_hash_text(const RunResult& run);

// Creates `dir` if needed and writes the four files; returns "" or an error
// sentence. Before writing, reads the history the run streamed into `dir`
// (run.history_file) to group the violations by cause and, unless
// run.history_keep is full, leaves only the events that matter
// (reports/history_keep.h).
std::string write_run_folder(const std::string& dir, const RunResult& run);

// The violations grouped by invariant and cause: run.groups when filled
// (write_run_folder), else grouped from the run's timeline.
std::vector<CauseGroup> groups_of(const RunResult& run);

// Helpers shared by the writers (exposed for tests).
std::string lane_name(const RunResult& run, NodeId id);
// "leader_begin", then "peer=app2 failed_attempts=2" (nodes by name, times formatted).
std::string event_fields_text(const RunResult& run, const HistoryEvent& e);
// When a fault ended, as the timeline says it: its end, "at once" for an
// instant fault, "end of run" for one still in force, "never applied" for one
// whose time the run did not reach.
std::string fault_until(const FaultRecord& f);
// "" when the fault had an effect, else "no effect: why".
std::string fault_effect(const FaultRecord& f);
// The operator's steps and runbooks, from the run's timeline: (time, text).
std::vector<std::pair<Time, std::string>> operator_steps(const RunResult& run);

}  // namespace fl::reports

namespace fl::reports {

// Report folder names for the scenario files of one command (SCENARIOS.md:
// "the path below the common root, with the seed"): each file's path below the
// deepest folder common to all of them, ".toml" dropped, '/' as "__"; the
// caller appends "-<seed>". One file: its stem. Two files with the same name in
// different folders never share a name (a/x.toml, b/x.toml -> a__x, b__x).
// Paths are made absolute and normal first, so "./a/x.toml" and "a/x.toml" are
// the same file.
std::vector<std::string> report_folder_stems(const std::vector<std::string>& paths);

}  // namespace fl::reports
