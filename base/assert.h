// Always-on assertions. They are for our own mistakes, never for user input
// (user errors are values with a message: see base/result.h).
// FL_ASSERT stays on in release builds: a broken invariant inside the simulator
// must stop the run loudly, not produce a plausible but wrong history.
#pragma once

namespace fl {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line, const char* message);
}  // namespace fl

#define FL_ASSERT(cond) \
  ((cond) ? void(0) : ::fl::assert_failed(#cond, __FILE__, __LINE__, nullptr))
#define FL_ASSERT_MSG(cond, msg) \
  ((cond) ? void(0) : ::fl::assert_failed(#cond, __FILE__, __LINE__, (msg)))
#define FL_UNREACHABLE() ::fl::assert_failed("unreachable", __FILE__, __LINE__, nullptr)
