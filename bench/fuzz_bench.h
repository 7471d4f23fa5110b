// `faultline-bench fuzz FILE [--seeds N] [--jobs J]`: fuzzing throughput
// (issue 9; DESIGN.md, Performance targets: at least 50 seeds per second of a
// 5-minute, 3-server partition scenario on 2 cores). fuzz_bench.cc.
#pragma once

#include <cstdint>
#include <string>

namespace fl::bench {

struct FuzzBenchOptions {
  std::string file;               // a scenario with a [fuzz] table
  std::uint64_t seeds = 200;
  unsigned jobs = 0;              // 0: one per hardware thread
};

// Prints `fuzz seeds=<N> wall_s=<W> seeds_per_s=<N/W> failed=<F>`; returns the
// process exit code (2: bad scenario).
int run_fuzz_bench(const FuzzBenchOptions& options);

}  // namespace fl::bench
