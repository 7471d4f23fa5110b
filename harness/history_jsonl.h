// Streams the history to a JSON Lines file as it is recorded (one event per
// line), so a long run keeps no history in memory (DESIGN.md: peak memory with
// history streamed). The line format follows HistoryEvent's fields() visitor:
//   {"seq":12,"at_ns":120000000,"local_ns":120000000,"node":"app1","event":"leader_begin"}
//   {"seq":13,...,"event":"peer_down","peer":"app2","failed_attempts":2}
// Times are integer nanoseconds (exact); NodeIds are written by name.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "base/history.h"

namespace fl::harness {

class HistoryJsonl {
 public:
  // Names indexed by NodeId::value.
  explicit HistoryJsonl(std::vector<std::string> names) : names_(std::move(names)) {}
  ~HistoryJsonl();
  HistoryJsonl(const HistoryJsonl&) = delete;
  HistoryJsonl& operator=(const HistoryJsonl&) = delete;

  // Opens (truncates) the file; false with *error on failure.
  bool open(const std::string& path, std::string* error);
  void write(const HistoryEvent& e);
  // Flushes and closes; false when a write failed.
  bool close();
  bool is_open() const { return file_ != nullptr; }

  // One event as a JSON object (no newline); exposed for tests.
  std::string line(const HistoryEvent& e) const;

 private:
  std::string node_name(NodeId id) const;
  std::vector<std::string> names_;
  std::FILE* file_ = nullptr;
  bool failed_ = false;
};

}  // namespace fl::harness
