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

#include <memory>
#include <string>
#include <string_view>

#include "base/time.h"
#include "reports/run_result.h"

namespace fl::reports {

inline constexpr Duration kWindowBefore = seconds(10);
inline constexpr Duration kWindowAfter = seconds(2);
inline constexpr Duration kWitnessWindow = seconds(2);
inline constexpr std::uint64_t kMaxWindowEvents = 250'000;

// The cut, one event at a time, in history order: keep_history feeds it the
// lines of the history file; harness/runner.cc feeds it the events of a second,
// identical run of a failing scenario (the violations, hence the windows, are
// known by then), so that the whole history is never written at all.
class HistoryKeeper {
 public:
  // Writes the kept events to dir/history.jsonl.gz ("" : keeps none, for
  // --history full, whose file stays whole). `run` must outlive the keeper;
  // its violations set the windows, finish() fills it.
  HistoryKeeper(const std::string& dir, RunResult& run);
  ~HistoryKeeper();
  HistoryKeeper(const HistoryKeeper&) = delete;
  HistoryKeeper& operator=(const HistoryKeeper&) = delete;

  // An event of the run, whole: feeds the causes and the arrows.
  void on_event(const HistoryEvent& e);
  // Whether the event goes into the kept file (once per event, in order); if
  // so, pass its JSON line (sim/history_json.h, no newline) to write().
  bool keep(std::string_view name, Time at);
  void write(std::string_view line);
  // Fills run.groups, run.history_kept, run.messages and (kept file written)
  // run.history_file and run.history_done; "" or an error sentence.
  std::string finish();

  // For readers that parse only what is needed (keep_history): on_event is
  // wants_for_causes -> cause_event, and take_message (which counts the
  // window's budget, so once per event) -> message.
  bool wants_for_causes(std::string_view name) const;
  bool take_message(std::string_view name, Time at);
  void cause_event(const HistoryEvent& e);
  void message(const HistoryEvent& e);
  void count_kept();  // --history full: one more event in the whole file

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The events kept whatever their time (by history name).
bool always_kept(std::string_view event_name);

// Reads dir/run.history_file (when it exists), fills run.groups and
// run.history_kept, and (HistoryKeep::window) writes dir/history.jsonl.gz and
// removes the whole history; run.history_file names what is left. Without a
// history file the groups come from the run's timeline and history_file is "".
// Nothing to do when run.history_done (a HistoryKeeper cut it already).
// Returns "" or an error sentence.
std::string keep_history(const std::string& dir, RunResult& run);

}  // namespace fl::reports
