// Merge (issue 9; SCENARIOS.md, `faultline merge DIR... --out DIR`): the
// results of sharded runs (`faultline run --shard I/N --out DIRi`, `faultline
// fuzz --shard I/N --out DIRi`, on as many machines as there are shards)
// joined into one report folder and one JUnit file.
//
// What it reads: every report.json below each DIR (a run folder, written by
// the runner, fuzz or shrink: reports/report_text.cc). A run without a folder
// is not seen: `faultline run` writes folders for failing runs only, so give
// the shards --keep-passing for their passing runs to reach the JUnit file;
// `faultline fuzz` writes a folder per shrunk failure (with --keep-going, every
// failing seed of the shard).
//
// What it writes in --out: every run folder, copied under its own name (a
// second folder of the same name gets "-2", "-3"); junit.xml (reports/junit.h:
// one testcase per (scenario, seed), ordered by scenario path then seed, so
// that the order does not depend on how the seeds were sharded); runs.json
// (the (scenario, seed, trace hash, result, folder) of every run, same order).
//
// Invariants kept:
//  - The merge of shards equals the unsharded run's results: the same set of
//    (scenario, seed, trace hash, result) and the same JUnit testcases (up to
//    each testcase's wall time).
//  - The same (scenario, seed) twice with one trace hash is one run (a shard
//    merged twice, or a merged folder merged again); with two different trace
//    hashes it is nondeterminism across machines: an error (exit 3), never a
//    silent pick.
//  - Output order and content depend only on the inputs, not on directory
//    listing order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reports/run_result.h"

namespace fl::harness {

struct MergedRun {
  reports::RunResult report;  // as read back from report.json (what JUnit needs)
  std::string source;         // the folder it came from
  std::string folder;         // its folder in the output ("" before writing)
};

// One fuzz campaign as the shards' fuzz-summary.json files tell it (harness/
// fuzz.h, write_fuzz_summary), joined: the union of its shards.
struct MergedCampaign {
  std::string scenario;
  std::string scenario_hash;
  bool guided = false;
  std::uint64_t shard_count = 1;
  std::vector<std::uint64_t> shards;          // present, sorted
  std::vector<std::uint64_t> shards_missing;  // of 0..shard_count-1
  std::uint64_t seeds_run = 0;
  std::uint64_t failures = 0;
  std::vector<std::uint64_t> failing_seeds;   // sorted
  double wall_seconds = 0;                    // the slowest shard (they run side by side)
  double cpu_seconds = 0;                     // every shard's
  double seeds_per_s = 0;                     // seeds_run / wall_seconds
};

struct MergeResult {
  int exit_code = 2;          // 0 merged (every run passed), 1 merged with a failing run, 2 bad input, 3 conflict/IO
  std::string error;
  std::vector<MergedRun> runs;  // by (scenario path, seed)
  std::size_t duplicates = 0;   // identical runs seen twice and kept once
  std::string junit_path;
  // The fuzz campaigns of every fuzz-summary.json below the inputs, joined and
  // written to out_dir/fuzz-summary.json (none: no file). Sharded-then-merged
  // equals unsharded in seeds_run, failures and failing_seeds; a shard seen
  // twice is one shard when it says the same, a conflict (exit 3) otherwise.
  std::vector<MergedCampaign> campaigns;
};

// Reads one report.json into the record the report writers take; "" or an
// error sentence. Fills: scenario path/name/hash, seed, trace hash, outcome,
// expected, problems, skipped, stopped_early, violations (invariant, time,
// message), wall_seconds, events, reproduce.
std::string read_run_report(const std::string& path, reports::RunResult& out);

// Merges `inputs` into `out_dir` (created); `junit` is the JUnit file's path
// ("" : out_dir/junit.xml).
MergeResult merge_results(const std::vector<std::string>& inputs, const std::string& out_dir, const std::string& junit);

}  // namespace fl::harness
