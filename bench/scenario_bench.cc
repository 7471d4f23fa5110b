// `faultline-bench scenario FILE`: one scenario through the real runner (the
// same run_scenario() as `faultline run`), with its history streamed to a
// JSON Lines file as it is recorded, so nothing grows with the run but what the
// nodes and the online checkers keep (issue 5, "Speed"; DESIGN.md, Performance
// targets: speed-up >= 1000 and peak RSS < 256 MiB on the reference scenario).
//
// Prints exactly one line:
//   scenario sim_s=<S> wall_s=<W> speedup=<S/W> events=<E> events_per_s=<E/W> peak_rss_mib=<R>
// Wall clock and getrusage are allowed here (bench/), never in sim/ or nodes/.
#include "bench/scenario_bench.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "base/assert.h"
#include "bench/engine.h"
#include "harness/runner.h"
#include "harness/scenario_loader.h"

namespace fl::bench {

int run_scenario_bench(const ScenarioBenchOptions& options) {
  harness::LoadResult loaded = harness::load_scenario(options.file);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return 2;
  }
  harness::RunOptions run;
  run.seed = options.seed.value_or(loaded.scenario->seed);
  std::string history = options.history;
  if (history.empty()) {
    // One file per process: two benches at once must not share (or delete) it.
    history = (std::filesystem::temp_directory_path() /
               ("faultline-bench-history-" + std::to_string(::getpid()) + ".jsonl")).string();
  }
  run.history_path = history;

  const auto start = std::chrono::steady_clock::now();
  const harness::RunResult result = harness::run_scenario(*loaded.scenario, run);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  FL_ASSERT(wall >= 0);

  if (options.history.empty()) {
    std::error_code ec;
    std::filesystem::remove(history, ec);  // a temporary: only its writing was measured
  }
  // A run that did not pass is still measured, but says so on stderr (stdout
  // keeps its one line).
  if (result.outcome != harness::Outcome::pass)
    std::fprintf(stderr, "%s\n", harness::result_line(result).c_str());

  const double sim_s = std::chrono::duration<double>(result.sim_time).count();
  const double w = wall > 0 ? wall : 1e-9;
  std::printf("scenario sim_s=%.1f wall_s=%.2f speedup=%.0f events=%llu events_per_s=%.0f peak_rss_mib=%.1f\n", sim_s,
              wall, sim_s / w, static_cast<unsigned long long>(result.events), double(result.events) / w,
              peak_rss_mib());
  return result.outcome == harness::Outcome::internal_error ? 3 : 0;
}

}  // namespace fl::bench
