#include "base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace fl {
void assert_failed(const char* expr, const char* file, int line, const char* message) {
  std::fprintf(stderr, "faultline: assertion failed: %s at %s:%d%s%s\n", expr, file, line,
               message ? ": " : "", message ? message : "");
  std::fflush(stderr);
  std::abort();
}
}  // namespace fl
