// faultline-bench: benchmarks of the engine and (later) whole scenarios.
// Each subcommand is a function in its own file; main only parses and dispatches.
#include <CLI/CLI.hpp>

#include "bench/bugs_bench.h"
#include "bench/engine.h"
#include "bench/fuzz_bench.h"
#include "bench/live_bench.h"
#include "bench/scenario_bench.h"

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

  fl::bench::ScenarioBenchOptions scenario;
  CLI::App* scenario_cmd = app.add_subcommand("scenario", "one scenario through the real runner, as `faultline run` runs it");
  scenario_cmd->add_option("FILE", scenario.file, "scenario file (.toml)")->required();
  scenario_cmd->add_option("--seed", scenario.seed, "the run's seed (default: the scenario's)");
  scenario_cmd->add_option("--history", scenario.history,
                          "also stream the whole history here as JSON Lines, as `--history full` does (default: none)");

  fl::bench::FuzzBenchOptions fuzz;
  CLI::App* fuzz_cmd = app.add_subcommand("fuzz", "fuzzing throughput: seeds per second of a [fuzz] scenario");
  fuzz_cmd->add_option("FILE", fuzz.file, "scenario file (.toml) with a [fuzz] table")->required();
  fuzz_cmd->add_option("--seeds", fuzz.seeds, "seeds to run (1..N)")->check(CLI::Range(std::uint64_t(1), std::uint64_t(10'000'000)));
  fuzz_cmd->add_option("--jobs,-j", fuzz.jobs, "threads (default: one per hardware thread)")->check(CLI::Range(0u, 256u));

  fl::bench::BugsBenchOptions bugs;
  CLI::App* bugs_cmd = app.add_subcommand(
      "bugs", "each planted bug fuzzed from a scenario without its trigger: seeds to catch, repro size, shrink time");
  bugs_cmd->add_option("--dir", bugs.dir, "the bug scenarios, one <bug>.toml each (default bench/scenarios/bugs)");
  bugs_cmd->add_option("--bug", bugs.bug, "only this planted bug");
  bugs_cmd->add_option("--max-seeds", bugs.max_seeds, "give up after this many seeds (default 200)")
      ->check(CLI::Range(std::uint64_t(1), std::uint64_t(1'000'000)));
  bugs_cmd->add_option("--shrink-budget", bugs.shrink_budget, "wall seconds per shrink (default 30)")
      ->check(CLI::Range(0.0, 86400.0));
  bugs_cmd->add_option("--out", bugs.out, "write each repro's report folder and repro.toml here");
  bugs_cmd->add_option("--first-seed", bugs.first_seed, "start the campaign at this seed (default 1)")
      ->check(CLI::Range(std::uint64_t(1), std::uint64_t(1) << 62));
  bool plain_only = false;
  bugs_cmd->add_flag("--plain", plain_only, "plain swarm only (no guided column)");

  fl::bench::LiveBenchOptions live;
  CLI::App* live_cmd = app.add_subcommand("live", "start of a live cluster (PostgreSQL 15 + its app servers): live start_s=");
  live_cmd->add_option("FILE", live.file, "scenario file (default scenarios/live/basic.toml)");
  live_cmd->add_option("--faultline", live.faultline, "the faultline binary (default: beside faultline-bench)");

  CLI11_PARSE(app, argc, argv);
  if (engine_cmd->parsed()) return fl::bench::run_engine(engine);
  if (scenario_cmd->parsed()) return fl::bench::run_scenario_bench(scenario);
  if (fuzz_cmd->parsed()) return fl::bench::run_fuzz_bench(fuzz);
  if (bugs_cmd->parsed()) {
    bugs.guided = !plain_only;
    return fl::bench::run_bugs_bench(bugs);
  }
  if (live_cmd->parsed()) return fl::bench::run_live_bench(live);
  return 2;
}
