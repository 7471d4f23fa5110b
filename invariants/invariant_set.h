// The checkers of one run, fed together: what the harness attaches to the
// simulator as a history listener. It knows when the first violation happened,
// so the run can stop there (online), and collects every violation at the end.
#pragma once

#include <memory>
#include <vector>

#include "invariants/invariant.h"

namespace fl::inv {

class InvariantSet {
 public:
  InvariantSet() = default;
  explicit InvariantSet(std::vector<std::unique_ptr<Invariant>> checkers) : checkers_(std::move(checkers)) {}
  void add(std::unique_ptr<Invariant> checker);

  // Feeds an event to every checker; returns true when this event produced the
  // set's first violation (the harness may stop the run).
  bool on_event(const HistoryEvent& e);
  void finish(const RunEnd& end);

  bool failed() const;
  // Every violation of every checker, by time (then by checker order).
  std::vector<Violation> violations() const;
  const std::vector<std::unique_ptr<Invariant>>& checkers() const { return checkers_; }

 private:
  std::vector<std::unique_ptr<Invariant>> checkers_;
  bool failed_ = false;
};

}  // namespace fl::inv
