// The `faultline` command line (SCENARIOS.md, "Command line"): subcommands
// run, validate and list, each with --help. Kept out of main.cc so tests can
// drive it in-process as well as through the built binary.
//
// Exit codes (SCENARIOS.md): 0 every expectation met; 1 an invariant broke
// unexpectedly or an expected violation was not found; 2 usage or scenario
// error; 3 internal error, including nondeterminism (--check-determinism).
#pragma once

#include <iosfwd>

namespace fl::harness {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 3;

// Runs the command; `out` gets the result lines, `err` errors and progress.
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace fl::harness
