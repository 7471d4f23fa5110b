#include "base/suggest.h"

#include <algorithm>

#include "base/assert.h"

namespace fl {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Two rows of the classic dynamic programme: O(|a|*|b|) time, O(|b|) memory.
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  FL_ASSERT(prev[b.size()] <= std::max(a.size(), b.size()));
  return prev[b.size()];
}

std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates) {
  if (name.empty()) return std::nullopt;
  const std::size_t limit = std::max<std::size_t>(1, name.size() / 3);
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    if (candidate == name) return std::nullopt;
    const std::size_t d = edit_distance(name, candidate);
    if (d < best_distance && d < name.size()) {  // strict: earlier candidate wins ties
      best_distance = d;
      best = candidate;
    }
  }
  FL_ASSERT(!best || best_distance <= limit);
  return best;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
  auto best = closest_name(name, candidates);
  if (!best) return {};
  return " (did you mean \"" + *best + "\"?)";
}

}  // namespace fl
