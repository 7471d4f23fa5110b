// `faultline-bench bugs`: see bugs_bench.h. Seeds run one after another, in
// order, in this process, through the fuzz API (draw_schedule,
// fuzzed_scenario) and the runner, exactly as `faultline fuzz` runs them: the
// seed that catches a bug is the one `faultline fuzz FILE` stops at, unless a
// control run disqualified an earlier one. Figures are printed, never judged.
#include "bench/bugs_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/fuzz.h"
#include "harness/runner.h"
#include "harness/scenario_loader.h"
#include "harness/shrink.h"
#include "nodes/bugs.h"

namespace fl::bench {
namespace {

// The fault kinds that trigger each bug in its shipped scenario
// (scenarios/bugs/): the bench scenario may not draw them.
std::vector<harness::FaultKind> trigger_kinds(std::string_view bug) {
  using K = harness::FaultKind;
  if (bug == "down_after_one_failure") return {K::gossip_send_failure};
  if (bug == "create_job_without_once") return {K::partition};
  if (bug == "ack_before_commit") return {K::db_crash};
  if (bug == "sequence_reset_without_hello") return {K::crash};
  if (bug == "job_claim_without_cas") return {K::replica_lag};  // the shipped one sets replication_lag 16s..20s
  if (bug == "proxy_ignores_health") return {K::partition};     // app2 cut from the database
  if (bug == "no_missed_message_replay") return {};             // clients cut from the proxy: never drawn
  if (bug == "mm_55485") return {K::replica_lag};               // the incident's replica lagging 20 s
  if (bug == "mm_59911") return {K::reorder};                   // the incident's reordering link
  if (bug == "mm_61904") return {K::partition};                 // the proxy cut from a live server
  if (bug == "mm_17762") return {};                             // the configuration (an empty cluster name)
  if (bug == "mm_68543") return {};                             // the admin's operation (revoke every session)
  if (bug == "mm_10502") return {};  // an add_server operation; any multi-server cluster shows it
  if (bug == "mm_17508") return {};  // a config change on a follower: an operation, never drawn
  return {};  // leader_highest_id: none; migration_without_lock, join_across_two_minors, mm_58355: an operation
}

struct BugLine {
  std::string name;
  bool caught = false;
  std::uint64_t seeds = 0;        // seeds run until caught (or all tried)
  std::uint64_t controls_failed = 0;
  std::size_t repro_faults = 0;
  double shrink_s = 0;
  bool same_failure = false;
  double fuzz_s = 0;
  std::string invariant;
  std::string error;              // a bad scenario
  // The same hunt with fuzz --guided (harness::GuidedSearch): seeds to catch.
  bool guided_caught = false;
  std::uint64_t guided_seeds = 0;
  std::uint64_t guided_controls_failed = 0;
};

std::string check_scenario(const harness::Scenario& s, std::string_view bug, std::string* invariant) {
  bool on = false;
  for (const auto& b : s.cluster.bugs) on |= b.name == bug;
  if (!on) return s.path + ": the bug " + std::string(bug) + " is not on (cluster.bugs)";
  if (!s.faults.empty()) return s.path + ": has [[faults]]; the fuzzer must draw every fault";
  if (s.invariants.all || s.invariants.check.size() != 1)
    return s.path + ": [invariants] check must name exactly the one invariant the bug breaks";
  *invariant = s.invariants.check.front().name;
  if (const std::string e = harness::fuzz_config_error(s); !e.empty()) return e;
  for (harness::FaultKind k : trigger_kinds(bug))
    if (std::find(s.fuzz.faults.begin(), s.fuzz.faults.end(), k) != s.fuzz.faults.end())
      return s.path + ": [fuzz] faults holds " + std::string(harness::to_string(k)) + ", the trigger of " +
             std::string(bug);
  return "";
}

bool breaks(const harness::RunResult& r, const std::string& invariant) {
  return r.outcome == harness::Outcome::fail && !r.violations.empty() && r.violations.front().invariant == invariant;
}

// The hunt of `faultline fuzz --guided` (harness/fuzz.h, GuidedSearch): the
// candidate of seed N depends on the fingerprints of the earlier batches only,
// exactly as in the campaign. A catch needs the same control as the plain hunt.
void guided_hunt(const BugsBenchOptions& o, const harness::Scenario& base, BugLine& line) {
  harness::GuidedSearch search(base);
  for (std::uint64_t k = 0; k < o.max_seeds; ++k) {
    const std::uint64_t seed = o.first_seed + k;
    line.guided_seeds = k + 1;
    const harness::Schedule schedule = search.candidate(k, seed);
    const harness::Scenario fuzzed = harness::fuzzed_scenario(base, schedule, seed);
    harness::Fingerprint fp;
    const harness::RunResult r = harness::run_fingerprinted(fuzzed, seed, &fp);
    search.feed(k, schedule, std::move(fp));
    if (!breaks(r, line.invariant)) continue;
    harness::Scenario control = fuzzed;
    control.cluster.bugs.clear();
    if (breaks(harness::run_fingerprinted(control, seed, nullptr), line.invariant)) {
      ++line.guided_controls_failed;
      continue;
    }
    line.guided_caught = true;
    return;
  }
}

BugLine bench_one(const BugsBenchOptions& o, std::string_view bug) {
  BugLine line;
  line.name = std::string(bug);
  const std::string path = (std::filesystem::path(o.dir) / (line.name + ".toml")).string();
  harness::LoadResult loaded = harness::load_scenario(path);
  if (!loaded.ok()) {
    line.error = loaded.errors.empty() ? path + ": cannot load" : loaded.errors.front().str();
    return line;
  }
  const harness::Scenario& base = *loaded.scenario;
  if (std::string e = check_scenario(base, bug, &line.invariant); !e.empty()) {
    line.error = e;
    return line;
  }
  const auto started = std::chrono::steady_clock::now();
  for (std::uint64_t k = 0; k < o.max_seeds && !line.caught; ++k) {
    const std::uint64_t seed = o.first_seed + k;
    line.seeds = k + 1;
    const harness::Scenario fuzzed = harness::fuzzed_scenario(base, seed);
    harness::RunOptions ro;
    ro.seed = seed;
    ro.stop_at_first = true;
    const harness::RunResult r = harness::run_scenario(fuzzed, ro);
    if (r.outcome == harness::Outcome::internal_error) {
      line.error = path + " seed " + std::to_string(seed) + ": internal error: " +
                   (r.problems.empty() ? std::string("?") : r.problems.front());
      return line;
    }
    if (!breaks(r, line.invariant)) continue;
    harness::Scenario control = fuzzed;
    control.cluster.bugs.clear();
    if (breaks(harness::run_scenario(control, ro), line.invariant)) {
      ++line.controls_failed;
      continue;
    }
    line.caught = true;
    line.fuzz_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    harness::ShrinkOptions so;
    so.seed = seed;
    so.budget_seconds = o.shrink_budget;
    harness::ShrinkResult sr = harness::shrink_scenario(fuzzed, so);
    line.shrink_s = sr.wall_seconds;
    line.repro_faults = sr.scenario.faults.size();
    line.same_failure = sr.ok && sr.same_failure && sr.invariant == line.invariant;
    if (sr.ok && !o.out.empty()) {
      sr.scenario.name = base.name + " (repro of fuzz seed " + std::to_string(seed) + ")";
      const std::vector<std::string> header = {
          "repro.toml: a minimal scenario that breaks " + sr.invariant + " (planted bug " + line.name + ")",
          "from: " + path + ", fuzz seed " + std::to_string(seed), "made by: faultline-bench bugs",
          "run it: faultline run <this file> (fails with " + sr.invariant + ")"};
      std::string folder, repro;
      if (const std::string e = harness::write_repro(o.out, sr, header, &folder, &repro); !e.empty())
        std::fprintf(stderr, "faultline-bench bugs: %s\n", e.c_str());
    }
  }
  if (!line.caught)
    line.fuzz_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (o.guided) guided_hunt(o, base, line);
  return line;
}

double median_of(std::vector<std::uint64_t> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  if (n == 0) return 0;
  return n % 2 ? double(v[n / 2]) : (double(v[n / 2 - 1]) + double(v[n / 2])) / 2;
}

std::string number(double v) {
  char buf[32];
  if (v == double(std::uint64_t(v))) std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
  else std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

int run_bugs_bench(const BugsBenchOptions& o) {
  if (!std::filesystem::is_directory(o.dir)) {
    std::fprintf(stderr, "faultline-bench bugs: %s: no such folder (run from the source tree, or give --dir)\n",
                 o.dir.c_str());
    return 2;
  }
  if (!o.bug.empty() && !parse_bug(o.bug)) {
    std::fprintf(stderr, "faultline-bench bugs: --bug %s: no such planted bug (faultline list bugs)\n", o.bug.c_str());
    return 2;
  }
  std::vector<std::uint64_t> caught_seeds, guided_seeds;
  std::size_t total = 0;
  bool bad = false;
  for (const BugInfo& info : bug_catalogue()) {
    if (!o.bug.empty() && info.name != o.bug) continue;
    ++total;
    const BugLine l = bench_one(o, info.name);
    if (!l.error.empty()) {
      std::printf("bug=%s caught=no error=\"%s\"\n", l.name.c_str(), l.error.c_str());
      bad = true;
      std::fflush(stdout);
      continue;
    }
    if (l.caught) caught_seeds.push_back(l.seeds);
    if (l.guided_caught) guided_seeds.push_back(l.guided_seeds);
    std::printf("bug=%s caught=%s seeds_to_catch=%s repro_faults=%s shrink_s=%s invariant=%s fuzz_s=%.2f "
                "control_failures=%llu repro_fails_same_way=%s",
                l.name.c_str(), l.caught ? "yes" : "no", l.caught ? std::to_string(l.seeds).c_str() : "-",
                l.caught ? std::to_string(l.repro_faults).c_str() : "-",
                l.caught ? number(double(std::int64_t(l.shrink_s * 10 + 0.5)) / 10).c_str() : "-",
                l.invariant.c_str(), l.fuzz_s, static_cast<unsigned long long>(l.controls_failed),
                l.caught ? (l.same_failure ? "yes" : "no") : "-");
    if (o.guided)
      std::printf(" guided_caught=%s guided_seeds_to_catch=%s guided_control_failures=%llu", l.guided_caught ? "yes" : "no",
                  l.guided_caught ? std::to_string(l.guided_seeds).c_str() : "-",
                  static_cast<unsigned long long>(l.guided_controls_failed));
    std::printf("\n");
    std::fflush(stdout);
  }
  const auto summary = [&](const char* label, std::vector<std::uint64_t> seeds) {
    std::sort(seeds.begin(), seeds.end());
    std::printf("bugs %scaught=%zu total=%zu median_seeds=%s max_seeds=%s\n", label, seeds.size(), total,
                seeds.empty() ? "-" : number(median_of(seeds)).c_str(),
                seeds.empty() ? "-" : std::to_string(seeds.back()).c_str());
  };
  summary("", caught_seeds);  // plain swarm: the line issue 9 names
  if (o.guided) summary("guided ", guided_seeds);
  if (bad) return 2;
  return caught_seeds.size() == total ? 0 : 1;
}

}  // namespace fl::bench
