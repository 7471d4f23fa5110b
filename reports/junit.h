// JUnit XML (SCENARIOS.md, --junit FILE): one <testcase> per (scenario, seed),
// classname = scenario path, name = "seed=N", time = wall seconds; a <failure>
// listing the violations and problems of a failing run, an <error> for an
// internal error. The classic Ant schema, read by GitHub, GitLab and Jenkins.
#pragma once

#include <string>
#include <vector>

#include "reports/run_result.h"

namespace fl::reports {

std::string junit_xml(const std::vector<RunResult>& runs, const std::string& suite = "faultline");
// Writes junit_xml to `path`; returns "" or an error sentence.
std::string write_junit(const std::string& path, const std::vector<RunResult>& runs);

}  // namespace fl::reports
