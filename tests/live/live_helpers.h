// Shared by the live tests: the checkout (FL_SOURCE_DIR, set by ctest, or the
// folder CMake configured) and a whole file as text.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace fl::harness::live_test {

inline std::string source_dir() {
  const char* d = std::getenv("FL_SOURCE_DIR");
  return d ? d : FL_SOURCE_DIR_DEFAULT;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace fl::harness::live_test
