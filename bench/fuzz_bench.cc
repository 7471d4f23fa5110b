// `faultline-bench fuzz FILE`: the same campaign as `faultline fuzz` (draw a
// schedule per seed, run it with stop_at_first), every seed run (keep going),
// no shrinking: what is measured is seeds per second, the fuzzer's throughput.
// Failing seeds are counted, not shrunk; the figure is printed, never judged.
#include "bench/fuzz_bench.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "harness/fuzz.h"
#include "harness/scenario_loader.h"

namespace fl::bench {

int run_fuzz_bench(const FuzzBenchOptions& options) {
  harness::LoadResult loaded = harness::load_scenario(options.file);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return 2;
  }
  if (const std::string e = harness::fuzz_config_error(*loaded.scenario); !e.empty()) {
    std::fprintf(stderr, "faultline-bench fuzz: %s\n", e.c_str());
    return 2;
  }
  harness::FuzzOptions o;
  o.seeds = options.seeds;
  o.jobs = options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  o.keep_going = true;
  o.shrink = false;
  const harness::FuzzSummary s = harness::run_fuzz(*loaded.scenario, o);
  const double w = s.wall_seconds > 0 ? s.wall_seconds : 1e-9;
  std::printf("fuzz seeds=%llu wall_s=%.2f seeds_per_s=%.1f failed=%zu jobs=%u\n",
              static_cast<unsigned long long>(s.seeds_run), s.wall_seconds, double(s.seeds_run) / w,
              s.failures.size(), o.jobs);
  return 0;
}

}  // namespace fl::bench
