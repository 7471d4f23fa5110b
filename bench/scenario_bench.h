// `faultline-bench scenario FILE [--seed N] [--history PATH]`: a whole scenario
// through the real runner as `faultline run FILE` runs it, or with its whole
// history streamed to PATH as JSON Lines (scenario_bench.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fl::bench {

struct ScenarioBenchOptions {
  std::string file;
  std::optional<std::uint64_t> seed;  // default: the scenario's seed
  std::string history;                // where the whole history streams ("": nowhere, as `faultline run`)
};

// Prints the one result line; returns the process exit code (2: bad scenario).
int run_scenario_bench(const ScenarioBenchOptions& options);

}  // namespace fl::bench
