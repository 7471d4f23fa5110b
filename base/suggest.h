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

// Levenshtein distance (insert, delete, substitute each cost 1), case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `name` when it is near enough to be a plausible typo:
// distance at most max(1, |name| / 3), and strictly less than |name| (so "x" does
// not suggest "y"). Ties go to the earlier candidate. nullopt when nothing is
// near, or when `name` itself is a candidate (nothing to suggest).
std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates);

// " (did you mean \"X\"?)" or "" : ready to append to an error message.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace fl
