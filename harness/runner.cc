#include "harness/runner.h"

#include <cstdio>

#include "base/assert.h"

namespace fl::harness {

std::string line_time(Duration d) {
  if (d < Duration::zero()) return "-" + line_time(-d);
  const std::int64_t total = ns(d);
  constexpr std::int64_t kSec = 1'000'000'000, kMin = 60 * kSec, kHour = 60 * kMin;
  if (total < kMin) return format_duration(d);
  const std::int64_t h = total / kHour, m = (total % kHour) / kMin, rest = total % kMin;
  std::string out;
  if (h) out += std::to_string(h) + "h";
  out += std::to_string(m) + "m";
  if (rest) {
    // Seconds under a minute, zero-padded to two digits ("2m03.412s").
    std::string s = format_duration(Duration{rest});
    // format_duration of a sub-minute duration ends in "s" unless it is in ms/us/ns.
    const std::int64_t whole = rest / kSec, frac = rest % kSec;
    char buf[48];
    if (frac == 0) {
      std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(whole));
    } else {
      std::snprintf(buf, sizeof buf, "%02lld.%09lld", static_cast<long long>(whole), static_cast<long long>(frac));
      std::string t = buf;
      while (t.back() == '0') t.pop_back();
      std::snprintf(buf, sizeof buf, "%s", t.c_str());
    }
    (void)s;
    out += std::string(buf) + "s";
  }
  FL_ASSERT(!out.empty());
  return out;
}

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
