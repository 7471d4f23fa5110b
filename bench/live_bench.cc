// faultline-bench live (see live_bench.h).
#include "bench/live_bench.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "harness/live_run.h"
#include "harness/scenario_loader.h"
#include "live/postgres.h"

namespace fl::bench {

int run_live_bench(const LiveBenchOptions& options) {
  namespace fs = std::filesystem;
  harness::LoadResult loaded = harness::load_scenario(options.file);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << e.str() << "\n";
    return 2;
  }
  harness::Scenario s = *loaded.scenario;
  // Only the start: no faults or operations; a run long enough for the
  // servers to serve (they do in well under a second once PostgreSQL is up)
  // and nothing judged.
  s.faults.clear();
  s.operations.clear();
  s.duration = seconds(4);
  s.settle = Duration{0};
  s.expect.violations.clear();
  s.invariants.all = false;
  s.invariants.check.clear();
  harness::LiveOptions o;
  // Free ports, not 8074/8065: a bench must not collide with what else runs.
  o.base_port = live::free_port_range(s.cluster.app_servers);
  o.http_port = live::free_port_range(s.cluster.app_servers);
  std::error_code ec;
  o.node_binary = !options.faultline.empty()
                      ? options.faultline
                      : (fs::read_symlink("/proc/self/exe", ec).parent_path() / "faultline").string();
  if (!fs::exists(o.node_binary)) {
    std::cerr << "faultline-bench live: no faultline binary at " << o.node_binary << " (--faultline PATH)\n";
    return 3;
  }
  const harness::LiveResult r = harness::run_live(s, o, std::cerr);
  if (r.exit_code != 0) {
    std::cerr << "faultline-bench live: " << r.line << "\n";
    return r.exit_code == 1 ? 1 : 3;
  }
  if (r.serving_s < 0) {
    std::cerr << "faultline-bench live: not every server served within " << format_duration(s.duration) << "\n";
    return 1;
  }
  std::printf("live start_s=%.2f pg_s=%.2f servers=%u\n", r.serving_s, r.pg_ready_s, s.cluster.app_servers);
  return 0;
}

}  // namespace fl::bench
