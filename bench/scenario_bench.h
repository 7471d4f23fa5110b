// `faultline-bench scenario FILE [--seed N] [--history PATH]`: a whole scenario
// through the real runner with its history streamed to a file (scenario_bench.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fl::bench {

struct ScenarioBenchOptions {
  std::string file;
  std::optional<std::uint64_t> seed;  // default: the scenario's seed
  std::string history;                // where the history streams ("" : a temporary, removed after)
};

// Prints the one result line; returns the process exit code (2: bad scenario).
int run_scenario_bench(const ScenarioBenchOptions& options);

}  // namespace fl::bench
