// `faultline-bench scenario FILE`: one scenario through the real runner (the
// same run_scenario() as `faultline run`), measured as a user runs it: every
// invariant online, no history kept (a run's report folder, when it writes
// one, runs the scenario again to cut the history around its violations:
// harness/runner.cc, cut_history). `--history PATH` streams every event to PATH
// as JSON Lines as well, as `faultline run --out DIR --history full` does:
// the cost of the whole history written out (about half the time of the
// reference hour; until 29 Nov the bench always did, docs/scaling.md).
//
// Prints exactly one line:
//   scenario sim_s=<S> wall_s=<W> speedup=<S/W> events=<E> events_per_s=<E/W> peak_rss_mib=<R> history=<none|json>
// Wall clock and getrusage are allowed here (bench/), never in sim/ or nodes/.
#include "bench/scenario_bench.h"


#include <chrono>
#include <cstdio>

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
  run.history_path = options.history;

  const auto start = std::chrono::steady_clock::now();
  const harness::RunResult result = harness::run_scenario(*loaded.scenario, run);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  FL_ASSERT(wall >= 0);

  // A run that did not pass is still measured, but says so on stderr (stdout
  // keeps its one line).
  if (result.outcome != harness::Outcome::pass)
    std::fprintf(stderr, "%s\n", harness::result_line(result).c_str());

  const double sim_s = std::chrono::duration<double>(result.sim_time).count();
  const double w = wall > 0 ? wall : 1e-9;
  std::printf("scenario sim_s=%.1f wall_s=%.2f speedup=%.0f events=%llu events_per_s=%.0f peak_rss_mib=%.1f history=%s\n",
              sim_s, wall, sim_s / w, static_cast<unsigned long long>(result.events), double(result.events) / w,
              peak_rss_mib(), options.history.empty() ? "none" : "json");
  return result.outcome == harness::Outcome::internal_error ? 3 : 0;
}

}  // namespace fl::bench
