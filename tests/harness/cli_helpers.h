// Shared by the harness tests: `faultline ARGS...` in-process through run_cli,
// with what it printed; the checkout's files; scenario files and run folders in
// a temporary folder of each test's own.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
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

// The checkout, found from this header's own path (tests/harness/), so that a
// test reads the shipped scenarios wherever the build folder is.
inline std::filesystem::path source_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

// A file of tests/harness/data/.
inline std::string data(const char* name) { return (source_dir() / "tests/harness/data" / name).string(); }

// An empty folder `faultline-<group>-test/<name>` under the temporary folder,
// emptied first, so that a test never reads what an earlier run left there.
inline std::filesystem::path fresh_dir(const std::string& group, const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("faultline-" + group + "-test") / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A whole file as bytes ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace fl::harness::test
