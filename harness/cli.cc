#include "harness/cli.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "base/assert.h"
#include "harness/catalog.h"
#include "reports/junit.h"
#include "harness/run_watch.h"
#include "harness/runner.h"
#include "harness/scenario_loader.h"

namespace fl::harness {
namespace {

// Upper bounds on what one command may ask for (limits on everything).
constexpr std::uint64_t kMaxSeedsPerCommand = 10'000'000;
constexpr unsigned kMaxJobs = 256;

void print_errors(const std::vector<LoadError>& errors, std::ostream& err) {
  for (const auto& e : errors) err << e.str() << "\n";
}

// Loads every file; prints every error. True when all loaded.
bool load_all(const std::vector<std::string>& files, std::vector<Scenario>& out, std::ostream& err) {
  bool ok = true;
  for (const auto& f : files) {
    LoadResult r = load_scenario(f);
    if (!r.ok()) {
      print_errors(r.errors, err);
      ok = false;
      continue;
    }
    out.push_back(std::move(*r.scenario));
  }
  return ok;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + std::uint64_t(c - '0');
  }
  return v;
}

struct SeedRange {
  std::uint64_t first = 0, last = 0;
};
std::optional<SeedRange> parse_seed_range(std::string_view s) {
  const auto dots = s.find("..");
  if (dots == std::string_view::npos) {
    auto v = parse_u64(s);
    if (!v) return std::nullopt;
    return SeedRange{*v, *v};
  }
  auto a = parse_u64(s.substr(0, dots)), b = parse_u64(s.substr(dots + 2));
  if (!a || !b || *a > *b) return std::nullopt;
  return SeedRange{*a, *b};
}

struct Shard {
  std::uint64_t index = 0, count = 1;
};
std::optional<Shard> parse_shard(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto i = parse_u64(s.substr(0, slash)), n = parse_u64(s.substr(slash + 1));
  if (!i || !n || *n == 0 || *i >= *n) return std::nullopt;
  return Shard{*i, *n};
}

struct RunFlags {
  std::vector<std::string> files;
  std::optional<std::uint64_t> seed;
  std::string seeds;
  unsigned jobs = 1;
  std::string out_dir;
  std::string junit;
  bool check_determinism = false;
  std::string shard;
  bool quiet = false;
  bool verbose = false;
  bool keep_passing = false;
  bool stop_at_first = false;
  std::string max_memory;  // --max-memory SIZE ("" : default_max_memory())
};

struct Job {
  const Scenario* scenario = nullptr;
  std::uint64_t seed = 0;
};

int command_run(const RunFlags& flags, std::ostream& out, std::ostream& err) {
  std::vector<Scenario> scenarios;
  if (!load_all(flags.files, scenarios, err)) return kExitUsage;
  std::optional<SeedRange> range;
  if (!flags.seeds.empty()) {
    range = parse_seed_range(flags.seeds);
    if (!range) {
      err << "faultline run: --seeds " << flags.seeds << " is not a range; expected A..B with A <= B, such as 1..100\n";
      return kExitUsage;
    }
    if (range->last - range->first >= kMaxSeedsPerCommand) {
      err << "faultline run: --seeds " << flags.seeds << " asks for more than " << kMaxSeedsPerCommand
          << " seeds; expected a smaller range (or --shard)\n";
      return kExitUsage;
    }
  }
  Shard shard;
  if (!flags.shard.empty()) {
    auto s = parse_shard(flags.shard);
    if (!s) {
      err << "faultline run: --shard " << flags.shard << " is not I/N with 0 <= I < N; expected such as 0/4\n";
      return kExitUsage;
    }
    shard = *s;
  }

  // The (scenario, seed) pairs in a fixed order; a shard keeps every N-th.
  std::vector<Job> jobs;
  std::uint64_t index = 0;
  for (const auto& s : scenarios) {
    const std::uint64_t first = range ? range->first : flags.seed.value_or(s.seed);
    const std::uint64_t last = range ? range->last : first;
    for (std::uint64_t seed = first;; ++seed) {
      if (index++ % shard.count == shard.index) jobs.push_back(Job{&s, seed});
      if (seed == last) break;
    }
  }

  std::uint64_t max_memory = default_max_memory();
  if (!flags.max_memory.empty()) {
    const auto size = parse_size(flags.max_memory);
    if (!size || *size == 0) {
      err << "faultline run: --max-memory " << flags.max_memory
          << " is not a size; expected bytes or a number with K, M, G or T, such as 2G or 512M\n";
      return kExitUsage;
    }
    max_memory = *size;
  }
  const bool progress = !flags.quiet && isatty(STDERR_FILENO) && jobs.size() > 1;
  // A single run shows its own progress line (virtual time, events/s, time left).
  const bool run_progress = !flags.quiet && isatty(STDERR_FILENO) && jobs.size() == 1;
  std::vector<std::optional<RunResult>> results(jobs.size());
  std::vector<std::string> determinism_errors(jobs.size());
  std::mutex mu;
  std::size_t next_job = 0, next_print = 0, done = 0, failures = 0;
  const auto started = std::chrono::steady_clock::now();

  auto print_ready = [&] {  // holds mu; prints results in job order
    while (next_print < jobs.size() && results[next_print]) {
      const RunResult& r = *results[next_print];
      if (progress) err << "\r\033[K";
      if (!flags.quiet || r.outcome != Outcome::pass) out << result_line(r) << "\n";
      for (const auto& note : r.notes)
        if (flags.verbose) err << "  note: " << note << "\n";
      if (!determinism_errors[next_print].empty()) err << determinism_errors[next_print] << "\n";
      ++next_print;
    }
    out.flush();
    if (progress) {
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const double rate = wall > 0 ? double(done) / wall : 0;
      const double left = rate > 0 ? double(jobs.size() - done) / rate : 0;
      err << "\r\033[K" << done << "/" << jobs.size() << " seeds, " << failures << " failed, " << std::fixed
          << std::setprecision(1) << rate << " seeds/s, " << std::setprecision(0) << left << "s left" << std::flush;
    }
  };

  auto worker = [&] {
    for (;;) {
      std::size_t i;
      {
        std::lock_guard lock(mu);
        if (next_job == jobs.size()) return;
        i = next_job++;
      }
      RunOptions options;
      options.seed = jobs[i].seed;
      options.out_dir = flags.out_dir;
      options.always_write = flags.keep_passing;
      options.stop_at_first = flags.stop_at_first;
      std::ostringstream verbose_log;
      options.verbose = flags.verbose;
      options.log = flags.verbose ? &verbose_log : nullptr;
      RunWatch watch(err, jobs[i].scenario->path, max_memory, run_progress);
      options.watch = [&watch](Time now, Time end, std::uint64_t events) { return watch(now, end, events); };
      RunResult r = run_scenario(*jobs[i].scenario, options);
      watch.done();
      std::string determinism;
      if (!r.aborted.empty()) {
        std::lock_guard lock(mu);
        err << "faultline run: " << r.path << " seed=" << r.seed << ": " << r.aborted << "\n";
      }
      if (flags.check_determinism && r.outcome != Outcome::internal_error) {
        RunOptions again = options;
        again.out_dir.clear();
        again.log = nullptr;
        again.verbose = false;
        const RunResult second = run_scenario(*jobs[i].scenario, again);
        if (second.trace_hash != r.trace_hash || second.events != r.events) {
          std::ostringstream m;
          m << "faultline run: nondeterminism in " << r.path << " seed=" << r.seed << ": trace hash " << std::hex
            << r.trace_hash << " then " << second.trace_hash << std::dec << " (" << r.events << " then "
            << second.events << " events)";
          determinism = m.str();
          r.outcome = Outcome::internal_error;
          r.problems.insert(r.problems.begin(), "nondeterminism: the same seed gave two different traces");
        }
      }
      std::lock_guard lock(mu);
      if (flags.verbose) err << verbose_log.str();
      determinism_errors[i] = std::move(determinism);
      failures += r.outcome != Outcome::pass ? 1 : 0;
      ++done;
      results[i] = std::move(r);
      print_ready();
    }
  };

  const unsigned threads = std::max(1u, std::min<unsigned>(flags.jobs, unsigned(jobs.size())));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  if (progress) err << "\r\033[K" << std::flush;
  FL_ASSERT(next_print == jobs.size());

  int code = kExitOk;
  std::vector<reports::RunResult> all;
  bool aborted = false;
  for (auto& r : results) {
    if (!r->aborted.empty()) aborted = true;
    else if (r->outcome == Outcome::internal_error) code = kExitInternal;
    else if (r->outcome == Outcome::fail && code == kExitOk) code = kExitFailed;
    all.push_back(std::move(r->report));
  }
  if (!flags.junit.empty()) {
    const std::string error = reports::write_junit(flags.junit, all);
    if (!error.empty()) {
      err << "faultline run: " << error << "\n";
      return kExitInternal;
    }
  }
  // A closing count, on standard error so standard output stays one line per
  // run; CI log readers recognise "N passed, N failed".
  if (jobs.size() > 1) err << "faultline: " << (jobs.size() - failures) << " passed, " << failures << " failed\n";
  // A run stopped by the memory budget is a scenario too big for the machine: 2.
  if (aborted && code != kExitInternal) return kExitUsage;
  return code;
}

int command_validate(const std::vector<std::string>& files, bool quiet, std::ostream& out, std::ostream& err) {
  int code = kExitOk;
  for (const auto& f : files) {
    LoadResult r = load_scenario(f);
    if (!r.ok()) {
      print_errors(r.errors, err);
      code = kExitUsage;
    } else if (!quiet) {
      out << "OK " << f << "\n";
      const Estimate e = estimate(*r.scenario);
      if (worth_estimating(e)) out << "  " << estimate_text(e) << " (docs/limits.md)\n";
    }
  }
  return code;
}

int command_list(const std::string& what, std::ostream& out) {
  std::span<const CatalogEntry> entries;
  if (what == "invariants") entries = invariant_catalog();
  else if (what == "faults") entries = fault_catalog();
  else if (what == "runbooks") entries = runbook_catalog();
  else if (what == "steps") entries = step_catalog();
  else if (what == "bugs") entries = bug_catalog();
  else FL_UNREACHABLE();  // CLI11 checked the choice
  std::size_t width = 0;
  for (const auto& e : entries) width = std::max(width, e.name.size() + (e.keys.empty() ? 0 : e.keys.size() + 1));
  for (const auto& e : entries) {
    std::string head(e.name);
    if (!e.keys.empty()) head += " " + std::string(e.keys);
    out << head << std::string(width + 2 - head.size(), ' ') << e.summary << "\n";
  }
  return kExitOk;
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"faultline: a deterministic simulator and fault-injection harness for a high-availability "
               "chat-server cluster"};
  app.name("faultline");
  app.require_subcommand(1);

  RunFlags run;
  CLI::App* run_cmd = app.add_subcommand("run", "Run scenarios and check their invariants; one line per run");
  run_cmd->add_option("FILE", run.files, "Scenario files (.toml)")->required();
  auto* seed_opt = run_cmd->add_option("--seed", run.seed, "Run this seed (default: the scenario's seed)");
  auto* seeds_opt = run_cmd->add_option("--seeds", run.seeds, "Run every seed of the range A..B (inclusive)");
  seed_opt->excludes(seeds_opt);
  run_cmd->add_option("--jobs,-j", run.jobs, "Runs in parallel (threads that share nothing)")
      ->check(CLI::Range(1u, kMaxJobs));
  auto* out_opt = run_cmd->add_option("--out", run.out_dir, "Write each failing run's folder here");
  run_cmd->add_option("--junit", run.junit, "Write JUnit XML: one testcase per (scenario, seed)");
  run_cmd->add_flag("--keep-passing", run.keep_passing, "With --out: write a report folder for passing runs too")
      ->needs(out_opt);
  run_cmd->add_flag("--stop-at-first", run.stop_at_first,
                    "End each run at its first violation (faster; later violations and liveness go unseen)");
  run_cmd->add_flag("--check-determinism", run.check_determinism,
                    "Run each seed twice and compare trace hashes (mismatch: exit 3)");
  run_cmd->add_option("--shard", run.shard, "Run only slice I of N of the (scenario, seed) pairs: I/N");
  run_cmd->add_option("--max-memory", run.max_memory,
                      "Stop a run whose resident memory goes above SIZE (such as 2G; default: half of "
                      "physical memory), exit 2");
  auto* quiet_opt = run_cmd->add_flag("--quiet,-q", run.quiet, "Print only failing runs, no progress");
  auto* verbose_opt = run_cmd->add_flag("--verbose,-v", run.verbose,
                                        "Print every option derived from the seed before each run");
  quiet_opt->excludes(verbose_opt);

  std::vector<std::string> validate_files;
  bool validate_quiet = false;
  CLI::App* validate_cmd = app.add_subcommand("validate", "Check scenario files without running them");
  validate_cmd->add_option("FILE", validate_files, "Scenario files (.toml)")->required();
  validate_cmd->add_flag("--quiet,-q", validate_quiet, "Print only errors");

  std::string list_what;
  CLI::App* list_cmd = app.add_subcommand("list", "List the names a scenario may use");
  list_cmd->add_option("WHAT", list_what, "invariants | faults | runbooks | steps | bugs")
      ->required()
      ->check(CLI::IsMember({"invariants", "faults", "runbooks", "steps", "bugs"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    // The help of the subcommand asked for, not the top level's.
    const CLI::App* target = &app;
    for (const CLI::App* sub : app.get_subcommands()) target = sub;
    out << target->help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    err << "faultline: " << e.what() << "\n";
    err << "Run 'faultline --help' (or 'faultline SUBCOMMAND --help') for usage.\n";
    return kExitUsage;
  }

  try {
    if (run_cmd->parsed()) return command_run(run, out, err);
    if (validate_cmd->parsed()) return command_validate(validate_files, validate_quiet, out, err);
    if (list_cmd->parsed()) return command_list(list_what, out);
  } catch (const std::exception& e) {
    err << "faultline: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
  FL_UNREACHABLE();
}

}  // namespace fl::harness
