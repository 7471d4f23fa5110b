// JUnit XML for CI (SCENARIOS.md, "--junit FILE"): one testcase per (scenario,
// seed), a <failure> for a failing run, an <error> for an internal error.
// Readable by GitHub, GitLab and Jenkins (the classic Ant JUnit schema).
#pragma once

#include <string>
#include <vector>

#include "harness/runner.h"

namespace fl::harness {

std::string junit_xml(const std::vector<RunResult>& results);
// Writes junit_xml to `path`; false with *error set when the file cannot be written.
bool write_junit(const std::string& path, const std::vector<RunResult>& results, std::string* error);

}  // namespace fl::harness
