// Watching big runs from outside the simulation (issue 12): a progress line on
// a terminal, a memory budget, and an estimate of what a scenario will cost.
// Everything here reads the wall clock or the process's memory, so none of it
// may decide anything inside a run: it only observes (RunOptions::watch) and,
// past the budget, stops the run with a message (exit 2).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "base/time.h"
#include "harness/scenario.h"

namespace fl::harness {

// Physical memory of the machine in bytes (sysconf), 0 when unknown.
std::uint64_t physical_memory_bytes();
// Resident set of this process in bytes (/proc/self/statm), 0 when unknown.
std::uint64_t resident_bytes();
// The default --max-memory: half of physical memory (4 GiB when unknown).
std::uint64_t default_max_memory();
// "512M", "2G", "1.5GiB", "300MB", "1048576": bytes; nullopt when not a size.
// K/M/G/T are binary (KiB, MiB, ...), with or without "i" and "B".
std::optional<std::uint64_t> parse_size(std::string_view text);
std::string format_size(std::uint64_t bytes);  // "1.5 GiB", "300 MiB"

// The watch of one run: checks resident memory against `max_memory` at each
// call and, when `show_progress`, writes a progress line to `err` at most
// every `min_interval_s` of wall time. `wall_seconds` is the clock (the wall
// clock by default; tests give their own).
class RunWatch {
 public:
  RunWatch(std::ostream& err, std::string label, std::uint64_t max_memory, bool show_progress,
           std::function<double()> wall_seconds = {}, std::function<std::uint64_t()> rss = {});
  // RunOptions::watch: "" to go on, else why the run must stop.
  std::string operator()(Time now, Time end, std::uint64_t events);
  // Clears the progress line (call after the run).
  void done();
  static constexpr double kMinInterval = 0.25;  // seconds between two progress lines

 private:
  std::ostream& err_;
  std::string label_;
  std::uint64_t max_memory_;
  bool show_;
  std::function<double()> wall_;
  std::function<std::uint64_t()> rss_;
  double start_ = 0;
  double last_print_ = -1;
  bool printed_ = false;
};

// The progress line: "label: sim 12m30s of 1h02m (20%), 412.3k events/s, 183x, 48s left, 312 MiB".
std::string progress_line(std::string_view label, Duration now, Duration end, std::uint64_t events,
                          double wall_seconds, std::uint64_t rss);

// What a scenario will cost, from a simple model calibrated on this project's
// measurements (docs/limits.md): an estimate, not a promise.
struct Estimate {
  double events = 0;
  double wall_seconds = 0;
  double memory_bytes = 0;
};
Estimate estimate(const Scenario& scenario);
// Big enough that `faultline validate` prints the estimate.
bool worth_estimating(const Estimate& e);
std::string estimate_text(const Estimate& e);

}  // namespace fl::harness
