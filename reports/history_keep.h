// The run's history in its folder (SCENARIOS.md, Reports): the simulator
// streams every event to history.jsonl during the run; after the run,
// keep_history reads it once, finds the causes of the violations in it
// (reports/explain.h) and, unless the run asked for the whole history
// (--history full), replaces it with history.jsonl.gz: the events that matter.
//
// Kept by default: every fault, heal, process start/crash/stop/pause, clock
// change, leader term and election, migration and lock event, peer up/down,
// server start/stop, database promotion and loss, operator step and config
// change, client connect/disconnect; and every event within a window around
// each violation (kWindowBefore before, kWindowAfter after) and each of its
// witnesses (kWitnessWindow either side), at most kMaxWindowEvents of those.
#pragma once

#include <string>
#include <string_view>

#include "base/time.h"
#include "reports/run_result.h"

namespace fl::reports {

inline constexpr Duration kWindowBefore = seconds(10);
inline constexpr Duration kWindowAfter = seconds(2);
inline constexpr Duration kWitnessWindow = seconds(2);
inline constexpr std::uint64_t kMaxWindowEvents = 250'000;

// The events kept whatever their time (by history name).
bool always_kept(std::string_view event_name);

// Reads dir/run.history_file (when it exists), fills run.groups and
// run.history_kept, and (HistoryKeep::window) writes dir/history.jsonl.gz and
// removes the whole history; run.history_file names what is left. Without a
// history file the groups come from the run's timeline and history_file is "".
// Returns "" or an error sentence.
std::string keep_history(const std::string& dir, RunResult& run);

}  // namespace fl::reports
