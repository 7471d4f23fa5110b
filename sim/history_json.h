// History events as JSON Lines: one event per line, and back.
//
// A line: {"seq":12,"at_ns":1500000000,"at":"1.5s","local_ns":...,"local":"...",
//          "node":2,"node_name":"app3","event":"peer_down",
//          "fields":{"peer":1,"failed_attempts":2}}
// Field values follow each event's fields() visitor: integers and bools as JSON
// numbers and bools, NodeId as its integer (null for no node), Duration and Time
// as integer nanoseconds, strings as strings. Fields sit in their own object so
// an event's field can never collide with the envelope's keys.
//
// Invariants kept: parse(write(e)) == e for every event type (tested), and a
// parse failure is a value with a message, never an assertion (files are input).
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/history.h"

namespace fl::sim {

// One event as one line of JSON (no trailing newline). `node_names`, when given,
// adds "node_name" (names indexed by NodeId value).
std::string history_event_to_json(const HistoryEvent& event,
                                  const std::vector<std::string>* node_names = nullptr);
// The same, appended to `out` (for writers that reuse one buffer).
void append_history_event_json(std::string& out, const HistoryEvent& event,
                               const std::vector<std::string>* node_names = nullptr);

// Parses one line written by history_event_to_json. On failure returns nullopt
// and sets *error to what is wrong with the line.
std::optional<HistoryEvent> history_event_from_json(std::string_view line, std::string* error);

// Reads a whole JSON Lines file (blank lines skipped); errors name the line.
std::optional<std::vector<HistoryEvent>> read_history_file(const std::string& path, std::string* error);

// Streams events to a JSON Lines file as they are recorded: hand listener() to
// Simulation::add_history_listener, so memory stays flat however long the run.
class HistoryWriter {
 public:
  // nullptr (and *error) when the file cannot be opened.
  static std::unique_ptr<HistoryWriter> open(const std::string& path, std::vector<std::string> node_names,
                                             std::string* error);
  ~HistoryWriter();
  HistoryWriter(const HistoryWriter&) = delete;
  HistoryWriter& operator=(const HistoryWriter&) = delete;

  void write(const HistoryEvent& event);
  // A listener that writes to this writer (which must outlive the simulation's use of it).
  std::function<void(const HistoryEvent&)> listener();
  // Flushes and closes; false (and *error) if anything failed to reach the file.
  bool close(std::string* error);
  std::uint64_t events_written() const { return written_; }

 private:
  HistoryWriter(std::FILE* file, std::vector<std::string> names) : file_(file), names_(std::move(names)) {}
  std::FILE* file_;
  std::vector<std::string> names_;
  std::uint64_t written_ = 0;
  bool failed_ = false;
  std::string line_;  // the line being written, reused
};

}  // namespace fl::sim
