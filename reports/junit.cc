#include "reports/junit.h"

#include <fmt/format.h>

#include <fstream>

#include "base/assert.h"
#include "reports/escape.h"

namespace fl::reports {
namespace {

std::string failure_text(const RunResult& r) {
  std::string text;
  for (const auto& p : r.problems) text += p + "\n";
  for (const auto& v : r.violations)
    text += v.invariant + " at " + format_time(v.at) + ": " + v.message + "\n";
  text += "trace hash " + hex64(r.trace_hash) + "\n";
  if (!r.reproduce.empty()) text += "reproduce: " + r.reproduce + "\n";
  return text;
}

std::string first_line(const RunResult& r) {
  if (!r.problems.empty()) return r.problems.front();
  if (!r.violations.empty()) {
    const auto& v = r.violations.front();
    return v.invariant + " at " + format_time(v.at) + ": " + v.message;
  }
  return std::string(outcome_name(r.outcome));
}

}  // namespace

std::string junit_xml(const std::vector<RunResult>& runs, const std::string& suite) {
  std::size_t failures = 0, errors = 0;
  double total = 0;
  for (const auto& r : runs) {
    failures += r.outcome == Outcome::fail;
    errors += r.outcome == Outcome::error;
    total += r.wall_seconds;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
                     xml_escape(suite), runs.size(), failures, errors, total);
  out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{:.3f}\">\n",
                     xml_escape(suite), runs.size(), failures, errors, total);
  for (const auto& r : runs) {
    out += fmt::format("    <testcase classname=\"{}\" name=\"seed={}\" time=\"{:.3f}\"",
                       xml_escape(r.scenario_path), r.seed, r.wall_seconds);
    if (r.outcome == Outcome::pass) {
      out += "/>\n";
      continue;
    }
    const char* tag = r.outcome == Outcome::error ? "error" : "failure";
    out += ">\n";
    out += fmt::format("      <{} message=\"{}\" type=\"{}\">{}</{}>\n", tag, xml_escape(first_line(r)),
                       r.violations.empty() ? "run" : xml_escape(r.violations.front().invariant),
                       xml_escape(failure_text(r)), tag);
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  FL_ASSERT(out.find("</testsuites>") != std::string::npos);
  return out;
}

std::string write_junit(const std::string& path, const std::vector<RunResult>& runs) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return "cannot write JUnit file " + path;
  f << junit_xml(runs);
  f.close();
  if (!f) return "error while writing JUnit file " + path;
  return {};
}

}  // namespace fl::reports
