// The fuzzer's schedule generator as a RapidCheck generator (issue 9: "the
// same generators serve the test suite"). Header-only and included only by
// tests, so the harness library does not link RapidCheck.
//
// Every draw of draw_schedule() becomes a RapidCheck draw (gen::inRange), so
// a failing property shrinks draw by draw toward the low end of each range:
// fewer faults, earlier times, the first kinds and nodes, shorter `for`s, and
// every shrunk schedule is still valid by construction.
#pragma once

#include <rapidcheck.h>

#include "harness/fuzz.h"

namespace fl::harness {

class RapidCheckSource final : public DrawSource {
 public:
  std::int64_t between(std::int64_t lo, std::int64_t hi) override {
    FL_ASSERT(lo <= hi && hi < INT64_MAX);
    return *rc::gen::inRange<std::int64_t>(lo, hi + 1);  // inRange is half-open
  }
};

inline rc::Gen<Schedule> gen_schedule(const Scenario& scenario) {
  return rc::gen::exec([scenario] {
    RapidCheckSource source;
    return draw_schedule(scenario, source);
  });
}

inline rc::Gen<std::vector<Fault>> gen_faults(const Scenario& scenario) {
  return rc::gen::map(gen_schedule(scenario), [](Schedule s) { return std::move(s.faults); });
}

}  // namespace fl::harness
