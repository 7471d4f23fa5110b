// Fuzzing (issue 9; SCENARIOS.md, the [fuzz] table and `faultline fuzz`):
// draw a fault schedule per seed within the scenario's [fuzz] table, run it,
// and on a failure shrink it to a repro.
//
// Schedule generation is written once against DrawSource, a source of integer
// draws, so one generator serves two masters:
//  - the command line draws from the project's Rng (xoshiro256**, split by
//    name): seed N draws the same schedule on every machine, compiler and
//    RapidCheck version (DESIGN.md, Determinism rules);
//  - the tests draw from RapidCheck (harness/fuzz_gen.h), so properties range
//    over the same schedules and RapidCheck shrinks them draw by draw.
//
// Valid by construction: every drawn schedule passes the loader's checks
// (times within the duration, node names of this cluster and of the right
// class, non-empty partition groups, a pause with its `for`, ...) and holds no
// meaningless fault: no heal without a network fault before it, no restart of
// a node that is not down, no crash or pause of a node that is down, at most
// one db_crash.
//
// The fuzzed scenario is the file's scenario with its [[faults]] REPLACED by
// the drawn schedule (the file is the workload: cluster, clients, operations;
// the schedule is exactly what the seed drew, so a repro shows only that),
// [expect] cleared (a fuzzed run must hold every judged invariant), [fuzz]
// dropped and `seed` pinned to the fuzz seed (which also seeds the run).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/rng.h"
#include "harness/runner.h"
#include "harness/scenario.h"
#include "harness/shrink.h"

namespace fl::harness {

// Integer draws, both bounds inclusive, lo <= hi.
class DrawSource {
 public:
  virtual ~DrawSource() = default;
  virtual std::int64_t between(std::int64_t lo, std::int64_t hi) = 0;
};

class RngSource final : public DrawSource {
 public:
  explicit RngSource(Rng rng) : rng_(rng) {}
  std::int64_t between(std::int64_t lo, std::int64_t hi) override { return rng_.between(lo, hi); }

 private:
  Rng rng_;
};

struct Schedule {
  std::vector<FaultKind> enabled;  // this seed's swarm subset (all applicable kinds without swarm)
  std::vector<Fault> faults;       // in time order
  TimingConfig timing;             // the seed's timing profile ([fuzz] timing), else the file's [timing]
};

// A timing profile (issue 9: the simulator stops being kind): each knob of
// [timing] is on with probability 1/2, with a drawn strength. Bounds, each an
// assumption within what production systems show (docs/fuzzing.md):
// latency tails 0.1-5 % of messages at up to 2-100x; jitter up to 1-50 ms;
// clock drift up to 1-500 ppm; 1-20 % of timers late by up to 10 ms-2 s;
// commits flushed in 0-5 ms .. up to +500 ms.
TimingConfig draw_timing(DrawSource& draw);

// The [fuzz] kinds that can apply to this cluster (a partition needs two app
// servers, db_failover and replica_lag a replica, ...), in the table's order.
std::vector<FaultKind> applicable_kinds(const Scenario& s);

// "" when `s` can be fuzzed; else what is missing, as a sentence naming the
// file and what to add.
std::string fuzz_config_error(const Scenario& s);

// Faults from `draw`, then (with [fuzz] timing) the timing profile from the same source.
Schedule draw_schedule(const Scenario& s, DrawSource& draw);
// The command line's draw: the faults from Rng(seed).split("fuzz.schedule"),
// the timing profile from Rng(seed).split("fuzz.timing") (a stream of its own:
// a seed draws the same faults with timing on or off).
Schedule draw_schedule(const Scenario& s, std::uint64_t seed);

// `base` with the drawn schedule in place of its faults (see the header note).
Scenario fuzzed_scenario(const Scenario& base, const Schedule& schedule, std::uint64_t seed);
Scenario fuzzed_scenario(const Scenario& base, std::uint64_t seed);

// ---- guided search (fuzz --guided) -------------------------------------------
//
// A run's fingerprint: the set of abstract states it reached, each a small
// tuple computed from the history events alone (harness side: no node is asked
// anything): how many servers act as leader and how many different leaders the
// running servers believe in; how many hold the migration lock; how many
// (observer, peer) pairs are down and how many red; each replica's position
// behind the primary (bucketed); jobs claimed and not finished, and whether a
// job was claimed twice; app servers down and paused; whether the primary is
// down. Each state is hashed to 64 bits; the fingerprint is the sorted set.
using Fingerprint = std::vector<std::uint64_t>;

// Records the fingerprint of one run from its history (RunOptions::listen).
class FingerprintRecorder {
 public:
  explicit FingerprintRecorder(const Scenario& fuzzed);
  ~FingerprintRecorder();
  FingerprintRecorder(const FingerprintRecorder&) = delete;
  FingerprintRecorder& operator=(const FingerprintRecorder&) = delete;
  void on_event(const HistoryEvent& e);
  Fingerprint fingerprint() const;

 private:
  struct State;
  std::unique_ptr<State> st_;
};

// Runs `fuzzed` (stop_at_first, as the campaign does) and records its fingerprint.
RunResult run_fingerprinted(const Scenario& fuzzed, std::uint64_t seed, Fingerprint* fingerprint);

// The guided campaign's memory: which abstract states were reached, and the
// schedules that first reached one (the corpus). Seed N's candidate is a fresh
// draw (a quarter of the time, and always while the corpus is empty) or a
// corpus schedule mutated 1-3 times: shift a fault in time, stretch or shrink
// its `for`, add a fault drawn fresh, drop one, retarget one (other nodes, a
// new split), or redraw the timing profile. Every choice is drawn from
// Rng(N).split("fuzz.guided"), and the mutant passes the same meaning filter
// as a fresh draw (no heal before a network fault, no restart of a node that
// is up, ...).
//
// Deterministic whatever --jobs: the campaign goes in batches of kBatch
// positions (position k is the k-th seed of the shard); a candidate depends
// only on the fingerprints of earlier batches, fed in seed order once the
// whole batch has run. So threads change only which seed of a batch finishes
// first, never a candidate. A shard is its own campaign (its own corpus).
class GuidedSearch {
 public:
  static constexpr std::uint64_t kBatch = 8;
  explicit GuidedSearch(const Scenario& base);
  // The schedule to run at campaign position `position` (0-based), seed `seed`.
  // Feeds of every batch before position's are applied first.
  Schedule candidate(std::uint64_t position, std::uint64_t seed);
  // The fingerprint of the run at `position` (any order within a batch).
  void feed(std::uint64_t position, const Schedule& schedule, Fingerprint fingerprint);
  // Applies every feed (the end of a campaign: the figures below count them all).
  void flush() { absorb_before(UINT64_MAX); }
  std::size_t corpus_size() const { return corpus_.size(); }
  std::size_t states_seen() const { return seen_.size(); }

 private:
  void absorb_before(std::uint64_t batch);
  Schedule mutate(const Schedule& parent, std::uint64_t seed, Rng& g) const;

  const Scenario& base_;
  std::vector<Schedule> corpus_;
  std::vector<std::uint64_t> seen_;  // sorted
  std::map<std::uint64_t, std::pair<Schedule, Fingerprint>> pending_;  // by position
};

// ---- the campaign ------------------------------------------------------------

struct FuzzOptions {
  std::uint64_t seeds = 100;                // seeds 1..seeds (before sharding) ...
  std::optional<double> wall_seconds;       // ... or as many as fit in this wall time
  std::uint64_t shard_index = 0, shard_count = 1;  // keep seeds with seed % count == index
  unsigned jobs = 1;
  bool keep_going = false;                  // run every seed; otherwise stop at the first failure
  bool shrink = true;                       // shrink failures (the first, or all with keep_going)
  bool guided = false;                      // GuidedSearch instead of a fresh draw per seed
  ShrinkOptions shrink_options;             // seed is set per failure
  std::string out_dir;                      // report folders and repro.toml ("" : none)
  std::string command;                      // the command line, for repro.toml's comment
  std::ostream* progress = nullptr;         // a terminal: live progress line ("" : none)
  std::ostream* log = nullptr;              // shrink's before/after lines
};

struct FuzzFailure {
  std::uint64_t seed = 0;
  std::size_t faults = 0;                   // the drawn schedule's size
  Schedule schedule;                        // what ran (guided: not fuzzed_scenario(base, seed)'s)
  RunResult run;                            // stop_at_first run of the fuzzed scenario
  std::optional<ShrinkResult> shrunk;
  std::string repro_path;                   // with out_dir
  std::string folder;                       // with out_dir
};

struct FuzzSummary {
  std::uint64_t seeds_run = 0;              // seeds judged (deterministic for a seed count)
  std::vector<FuzzFailure> failures;        // in seed order
  double wall_seconds = 0;
  std::string error;                        // an internal error (writing the output), "" if none
  std::size_t corpus = 0;                   // guided: schedules kept for reaching a new state
  std::size_t states = 0;                   // guided: abstract states reached over the campaign
};

// `on_result` is called once per judged seed, in seed order, under a lock.
FuzzSummary run_fuzz(const Scenario& scenario, const FuzzOptions& options,
                     const std::function<void(std::uint64_t seed, const Schedule&, const RunResult&)>& on_result = {});

// ---- the campaign's summary (fuzz --out; faultline merge joins them) ---------
//
// `dir`/fuzz-summary.json: what one campaign (or one shard of it) did, so that
// merge can say what a sharded campaign did as a whole:
//   {"schema": "faultline.fuzz-summary/1",
//    "campaigns": [{"scenario": PATH, "scenario_hash": HEX, "guided": BOOL,
//                   "shard_count": N,
//                   "shards": [{"index": I, "seeds_requested": S or null (--for),
//                               "seeds_run": R, "failures": F, "failing_seeds": [...],
//                               "wall_seconds": W, "seeds_per_s": R/W}],
//                   "seeds_run": ..., "failures": ..., "failing_seeds": [...],
//                   "shards_missing": [...], "wall_seconds": (the slowest shard),
//                   "cpu_seconds": (all shards), "seeds_per_s": seeds_run / wall_seconds}]}
// One shard writes one campaign with one shard; merge writes the union.
inline constexpr std::string_view kFuzzSummaryFile = "fuzz-summary.json";
inline constexpr std::string_view kFuzzSummarySchema = "faultline.fuzz-summary/1";
std::string write_fuzz_summary(const std::string& dir, const Scenario& scenario, const FuzzOptions& options,
                               const FuzzSummary& summary);

// Writes `dir`/<stem>-<seed>/: the report folder of `shrunk`'s final run and
// repro.toml; returns "" or an error sentence. `header` is repro.toml's comment.
std::string write_repro(const std::string& dir, const ShrinkResult& shrunk, const std::vector<std::string>& header,
                        std::string* folder, std::string* repro_path);

}  // namespace fl::harness
