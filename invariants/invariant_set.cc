#include "invariants/invariant_set.h"

#include <algorithm>

#include "base/assert.h"

namespace fl::inv {

void InvariantSet::add(std::unique_ptr<Invariant> checker) {
  FL_ASSERT(checker != nullptr);
  checkers_.push_back(std::move(checker));
}

bool InvariantSet::on_event(const HistoryEvent& e) {
  for (auto& c : checkers_) c->on_event(e);
  if (failed_) return false;
  failed_ = failed();
  return failed_;
}

void InvariantSet::finish(const RunEnd& end) {
  for (auto& c : checkers_) c->finish(end);
  failed_ = failed();
}

bool InvariantSet::failed() const {
  return std::any_of(checkers_.begin(), checkers_.end(), [](const auto& c) { return c->failed(); });
}

std::vector<Violation> InvariantSet::violations() const {
  std::vector<Violation> out;
  for (const auto& c : checkers_) out.insert(out.end(), c->violations().begin(), c->violations().end());
  std::stable_sort(out.begin(), out.end(), [](const Violation& a, const Violation& b) { return a.at < b.at; });
  return out;
}

}  // namespace fl::inv
