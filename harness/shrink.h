// Shrinking (issue 9): a failing (scenario, seed) reduced to a smaller one that
// still breaks the same invariant, by greedy delta debugging over the scenario
// itself (not over a generator's choices, so a hand-written scenario shrinks as
// well as a fuzzed one). Each candidate is re-run with the same seed and
// stop_at_first; it is kept iff its first violation is of the same invariant as
// the original's first violation.
//
// Steps, repeated until a whole round keeps nothing (or the budget runs out):
//  1. remove faults: halves first, then quarters, ... then one at a time;
//  1b. make [timing] kind: all of it, else one knob at a time;
//  2. remove operations one at a time;
//  3. shorten each fault's `for` and `restart_after` (halving);
//  4. move each fault and operation earlier (halving its `at`);
//  5. cut the duration to just after the last fault or operation and the
//     violation's time (the shortest of a few candidates that still fails);
//  6. fewer clients (0, 1, a quarter, a half) and fewer posts (post_interval
//     x4, x2);
//  7. fewer app servers and replicas, when nothing names the removed ones.
//
// Invariants kept:
//  - Deterministic: the result depends only on (scenario, seed, candidate cap);
//    the wall budget can only stop it earlier (it is reported when it did).
//  - The result has [expect] cleared and its seed pinned, so that
//    `faultline run repro.toml` fails with the same first invariant.
//  - Every candidate passes validate_scenario() before it is run.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "harness/runner.h"
#include "harness/scenario.h"

namespace fl::harness {

struct ShrinkOptions {
  std::uint64_t seed = 1;
  double budget_seconds = 30;          // wall time; stops the search, never decides a verdict
  std::size_t max_candidates = 400;    // runs, the deterministic cap
  std::ostream* log = nullptr;         // one line per kept candidate ("" : none)
};

struct ShrinkResult {
  bool ok = false;                     // false: the original run broke no invariant
  std::string error;                   // why not ok
  std::string invariant;               // the first violation's invariant, kept throughout
  Scenario original;                   // the input, [expect] cleared and seed pinned
  Scenario scenario;                   // the smallest failing scenario found
  RunResult final_run;                 // `scenario` run to the end (no stop_at_first)
  bool same_failure = false;           // final_run failed and its first violation is `invariant`
  std::size_t candidates = 0;          // runs tried (the original's not counted)
  std::size_t kept = 0;                // candidates that still failed the same way
  bool budget_exhausted = false;       // stopped by wall time or the candidate cap
  double wall_seconds = 0;
};

ShrinkResult shrink_scenario(const Scenario& failing, const ShrinkOptions& options);

// "faults=5 operations=1 duration=5m clients=50 post_interval=10s app_servers=3 replicas=2"
std::string scenario_size(const Scenario& s);

}  // namespace fl::harness
