// Near-miss suggestions for names a user typed ("partiton" -> "partition"):
// the scenario loader, the invariant registry and the command line all say
// "did you mean ...?" the same way.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl {

// Inputs longer than this are compared by their prefix only, so a hostile
// 1 MB key in a scenario file cannot cost a quadratic amount of time.
inline constexpr std::size_t kSuggestMaxLength = 64;
// The largest distance ever taken for a typo, however long the name: beyond
// three edits the "suggestion" is a different word.
inline constexpr std::size_t kSuggestMaxDistance = 3;

// Optimal-string-alignment distance (Levenshtein plus adjacent transposition,
// each edit costing 1), case-insensitive: "partiton" -> "partition" is 1,
// "crahs" -> "crash" is 1, "Crash" -> "crash" is 0.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `name` when it is near enough to be a plausible typo:
// distance at most max(1, |name| / 3) (and at most kSuggestMaxDistance), and
// strictly less than |name| (so "x" does not suggest "y"); failing that, the one
// candidate that `name` (at least 3 long) is a strict prefix of ("single" ->
// "single_leader"; nothing when several are). Ties go to the earlier candidate.
// nullopt when nothing is near, or when `name` itself is a candidate (exactly,
// case included: nothing to suggest).
std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates);
std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string_view>& candidates);

// " (did you mean \"X\"?)" or "" : ready to append to an error message.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);
std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& candidates);

}  // namespace fl
