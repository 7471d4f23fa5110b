#include "harness/runner.h"

#include <cstdio>

#include "base/assert.h"

namespace fl::harness {

// format_duration already writes "2m03.412s" and "1h0m", as the line wants.
std::string line_time(Duration d) { return format_duration(d); }

std::string line_count(std::uint64_t n) {
  char buf[32];
  if (n < 1000) return std::to_string(n);
  if (n < 1'000'000) std::snprintf(buf, sizeof buf, "%.1fk", double(n) / 1e3);
  else if (n < 1'000'000'000) std::snprintf(buf, sizeof buf, "%.1fM", double(n) / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1fG", double(n) / 1e9);
  return buf;
}

std::string result_line(const RunResult& r) {
  std::string line;
  const std::string head = r.path + " seed=" + std::to_string(r.seed);
  if (r.outcome == Outcome::pass) {
    char wall[32], hash[32];
    std::snprintf(wall, sizeof wall, "%.2fs", r.wall_seconds);
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(r.trace_hash));
    line = "PASS " + head + " sim=" + line_time(r.sim_time) + " wall=" + wall + " events=" + line_count(r.events) +
           " hash=" + hash;
  } else {
    line = (r.outcome == Outcome::fail ? "FAIL " : "ERROR ") + head + " ";
    // The first unexpected violation says it best; otherwise the first problem.
    const RunViolation* first = nullptr;
    for (const auto& v : r.violations)
      if (!v.expected) {
        first = &v;
        break;
      }
    if (first && r.outcome == Outcome::fail) {
      line += first->invariant + " at " + line_time(first->at.time_since_epoch()) + ": " + first->message;
    } else if (!r.problems.empty()) {
      line += r.problems.front();
    } else {
      line += "failed";
    }
    if (!r.report_dir.empty()) line += " -> " + r.report_dir;
  }
  return line;
}

RunResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  RunResult r;
  r.path = scenario.path;
  r.seed = options.seed;
  r.outcome = Outcome::internal_error;
  r.problems.push_back("internal error: the runner is not built yet");
  return r;
}

}  // namespace fl::harness
