// `faultline-bench bugs [--dir DIR] [--bug NAME] [--max-seeds N]`: the
// harness's own quality figure (issue 9; DESIGN.md, Planted bugs). For each
// planted bug of the catalogue (nodes/bugs.h), fuzz its scenario in DIR
// (default bench/scenarios/bugs/<name>.toml: the bug on, a [fuzz] table, no
// [[faults]] and none of its trigger's fault kind) seed by seed until the
// scenario's one checked invariant breaks, shrink that seed, and print
//   bug=<name> caught=<yes|no> seeds_to_catch=<N> repro_faults=<K> shrink_s=<S> ...
// then
//   bugs caught=<C> total=<T> median_seeds=<M> max_seeds=<X>
//   bugs guided caught=<C> total=<T> median_seeds=<M> max_seeds=<X>
// (each bug line also carries guided_caught, guided_seeds_to_catch and
// guided_control_failures: the same hunt with fuzz --guided; --plain: neither)
// A seed counts as a catch only when the same schedule with the bug OFF does
// not break that invariant (the control run): a schedule that breaks the
// cluster by itself proves nothing about the bug. bugs_bench.cc.
#pragma once

#include <cstdint>
#include <string>

namespace fl::bench {

struct BugsBenchOptions {
  std::string dir = "bench/scenarios/bugs";
  std::string bug;                // only this one ("" : every bug)
  std::uint64_t max_seeds = 200;  // give up after this many seeds
  std::uint64_t first_seed = 1;   // the campaign's seeds are first_seed, first_seed + 1, ...
  double shrink_budget = 30;      // wall seconds per shrink
  std::string out;                // write each repro's folder here ("" : none)
  bool guided = true;             // also hunt with fuzz --guided: guided_seeds_to_catch, "bugs guided ..."
};

// Returns the process exit code: 0 when every bug was caught, 1 when one was
// not, 2 for a missing or bad scenario.
int run_bugs_bench(const BugsBenchOptions& options);

}  // namespace fl::bench
