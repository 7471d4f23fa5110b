// Shared by the harness tests: `faultline ARGS...` in-process through run_cli,
// with what it printed, and scenario files written to a temporary folder.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness/cli.h"

namespace fl::harness::test {

struct CliOutcome {
  int code = -1;
  std::string out, err;
};

inline CliOutcome cli(std::vector<std::string> args) {
  args.insert(args.begin(), "faultline");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  CliOutcome o;
  o.code = run_cli(int(argv.size()), argv.data(), out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

// Writes `text` to `dir`/`name` (creating `dir`) and returns the path.
inline std::string write_file(const std::filesystem::path& dir, const std::string& name, const std::string& text) {
  std::filesystem::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

}  // namespace fl::harness::test
