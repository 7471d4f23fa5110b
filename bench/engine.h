// faultline-bench subcommands. Each is one function, so adding a subcommand to
// main.cc is a registration and a call.
#pragma once

#include <cstdint>
#include <string>

namespace fl::bench {

struct EngineOptions {
  std::int64_t simulated_seconds = 1'000'000;  // 25 M events at 25 per simulated second
  int repetitions = 3;  // each side runs this often, interleaved; the best run counts
  std::uint64_t seed = 1;
  bool engine_only = false;  // for profiling: skip the bare loop, print the engine's rate
};

// The heartbeat workload through the real Simulation and Env, and through a bare
// std::priority_queue loop in the same process; prints the one result line.
// Returns the process exit code.
int run_engine(const EngineOptions& options);

// Peak resident set of this process so far, in MiB (getrusage).
double peak_rss_mib();

}  // namespace fl::bench
