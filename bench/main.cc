// faultline-bench: benchmarks of the engine and (later) whole scenarios.
// Each subcommand is a function in its own file; main only parses and dispatches.
#include <CLI/CLI.hpp>

#include "bench/engine.h"

int main(int argc, char** argv) {
  CLI::App app{"faultline-bench: engine and scenario throughput"};
  app.require_subcommand(1);

  fl::bench::EngineOptions engine;
  CLI::App* engine_cmd = app.add_subcommand("engine", "heartbeat workload: engine vs a bare priority-queue loop");
  engine_cmd->add_option("--simulated-seconds", engine.simulated_seconds,
                         "simulated time to run (25 events per simulated second)");
  engine_cmd->add_option("--seed", engine.seed, "the run's seed");
  engine_cmd->add_option("--repetitions", engine.repetitions, "runs of each side; the best counts");
  engine_cmd->add_flag("--engine-only", engine.engine_only, "skip the bare loop (for profiling)");

  CLI11_PARSE(app, argc, argv);
  if (engine_cmd->parsed()) return fl::bench::run_engine(engine);
  return 2;
}
