#include "harness/junit.h"

#include <cstdio>
#include <fstream>

#include "base/assert.h"

namespace fl::harness {
namespace {

// XML 1.0 text: escape markup, drop the control characters XML cannot carry.
std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') out += '?';
        else out += ch;
    }
  }
  return out;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s < 0 ? 0.0 : s);
  return buf;
}

}  // namespace

std::string junit_xml(const std::vector<RunResult>& results) {
  std::size_t failures = 0, errors = 0;
  double total = 0;
  for (const auto& r : results) {
    failures += r.outcome == Outcome::fail ? 1 : 0;
    errors += r.outcome == Outcome::internal_error ? 1 : 0;
    total += r.wall_seconds;
  }
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<testsuites name=\"faultline\" tests=\"" + std::to_string(results.size()) + "\" failures=\"" +
       std::to_string(failures) + "\" errors=\"" + std::to_string(errors) + "\" time=\"" + seconds_text(total) +
       "\">\n";
  x += "  <testsuite name=\"faultline run\" tests=\"" + std::to_string(results.size()) + "\" failures=\"" +
       std::to_string(failures) + "\" errors=\"" + std::to_string(errors) + "\" skipped=\"0\" time=\"" +
       seconds_text(total) + "\">\n";
  for (const auto& r : results) {
    x += "    <testcase classname=\"" + xml_escape(r.path) + "\" name=\"seed=" + std::to_string(r.seed) +
         "\" time=\"" + seconds_text(r.wall_seconds) + "\"";
    const std::string line = result_line(r);
    if (r.outcome == Outcome::pass) {
      x += ">\n      <system-out>" + xml_escape(line) + "</system-out>\n    </testcase>\n";
      continue;
    }
    const char* tag = r.outcome == Outcome::fail ? "failure" : "error";
    std::string detail;
    for (const auto& p : r.problems) detail += p + "\n";
    for (const auto& v : r.violations) detail += v.invariant + " at " + line_time(v.at.time_since_epoch()) + ": " + v.message + "\n";
    for (const auto& n : r.notes) detail += "note: " + n + "\n";
    x += ">\n      <" + std::string(tag) + " message=\"" + xml_escape(r.problems.empty() ? line : r.problems.front()) +
         "\" type=\"" + (r.outcome == Outcome::fail ? "invariant" : "internal") + "\">" + xml_escape(detail) +
         "</" + tag + ">\n      <system-out>" + xml_escape(line) + "</system-out>\n    </testcase>\n";
  }
  x += "  </testsuite>\n</testsuites>\n";
  FL_ASSERT(x.size() > 0);
  return x;
}

bool write_junit(const std::string& path, const std::vector<RunResult>& results, std::string* error) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    if (error) *error = "cannot write the JUnit file " + path;
    return false;
  }
  f << junit_xml(results);
  f.close();
  if (!f) {
    if (error) *error = "cannot write the JUnit file " + path;
    return false;
  }
  return true;
}

}  // namespace fl::harness
