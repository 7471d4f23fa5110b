// Loads a scenario file (SCENARIOS.md) into a Scenario, or explains every
// mistake in it. Bad input is a value, never a crash or a hang: whatever bytes
// the file holds, the result is either a Scenario or a non-empty list of
// errors, each with the file, line and column, what was found and what was
// expected, and a "did you mean" for a near-miss name.
//
// Two passes: parse (TOML syntax, unknown keys at every level, types, formats
// of durations, ranges and versions, enum names) and validate (the meaning:
// node names against this cluster, times within the duration, probabilities in
// [0, 1], partition groups, invariant and bug names, upgrades that skip a minor
// version). validate_scenario() is public so that scenarios built in code (the
// fuzzer, a shrinker) go through the same checks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/scenario.h"

namespace fl::harness {

struct LoadError {
  std::string file;
  std::uint32_t line = 0;    // 1-based; 0 only when there is no position (unreadable file)
  std::uint32_t column = 0;
  std::string message;       // "what was found; what was expected"
  // "FILE:LINE:COLUMN: message" (or "FILE: message" without a position).
  std::string str() const;
};

struct LoadResult {
  std::optional<Scenario> scenario;  // set iff errors is empty
  std::vector<LoadError> errors;     // in file order (by line, then column)
  bool ok() const { return scenario.has_value(); }
};

// Limits on what a scenario may ask for (TigerStyle: limits on everything).
inline constexpr std::size_t kMaxScenarioBytes = 4 * 1024 * 1024;
inline constexpr std::uint32_t kMaxAppServers = 32;
inline constexpr std::uint32_t kMaxReplicas = 8;
inline constexpr std::uint32_t kMaxClients = 10'000;
// ClientChannels carries a 64-bit channel mask (base/history.h).
inline constexpr std::uint32_t kMaxChannels = 64;
inline constexpr std::size_t kMaxFaults = 10'000;
inline constexpr std::size_t kMaxOperations = 1'000;
inline constexpr std::uint32_t kMaxFuzzFaults = 1'000;
inline constexpr Duration kMaxScenarioDuration = hours(24 * 7);
inline constexpr Duration kMaxSettle = hours(24);
// Beyond this many errors the rest are noise from the first ones.
inline constexpr std::size_t kMaxErrors = 50;

// Reads and loads the file at `path` (errors name it as given).
LoadResult load_scenario(const std::string& path);
// Loads scenario text; `path` is only used to name the file in errors.
LoadResult parse_scenario(std::string_view text, const std::string& path);
// The meaning checks of the second pass, on a Scenario from anywhere.
std::vector<LoadError> validate_scenario(const Scenario& scenario);

// Every node name of the scenario's cluster, in declaration order.
std::vector<std::string> node_names(const Scenario& scenario);

}  // namespace fl::harness
