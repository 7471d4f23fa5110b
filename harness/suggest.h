// "Did you mean X?" for near-miss names in scenario files (keys, fault kinds,
// runbooks, steps, invariants, bugs, node names).
//
// Lives in harness/ because no shared helper existed when the loader was
// written; if base/suggest.h (closest_name) lands, the loader may switch to it.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fl::harness {

// Optimal-string-alignment distance (Levenshtein plus adjacent transposition),
// case-insensitive: "partiton" -> "partition" is 1, "Crash" -> "crash" is 0.
// Inputs longer than kSuggestMaxLength are compared by their prefix only, so a
// hostile 1 MB key cannot cost a quadratic amount of time.
std::size_t edit_distance(std::string_view a, std::string_view b);

inline constexpr std::size_t kSuggestMaxLength = 64;

// The candidate nearest to `word` if it is near enough to be a plausible typo:
// distance at most max(1, len/3) (at most 3), or `word` is a strict prefix of
// exactly one candidate at least 3 long. Ties go to the earliest candidate, so the
// answer depends only on the order of `candidates`.
std::optional<std::string> closest_name(std::string_view word,
                                        std::span<const std::string> candidates);
std::optional<std::string> closest_name(std::string_view word,
                                        std::span<const std::string_view> candidates);

}  // namespace fl::harness
