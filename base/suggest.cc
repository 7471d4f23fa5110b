#include "base/suggest.h"

#include <algorithm>

#include "base/assert.h"

namespace fl {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

template <class S>
std::optional<std::string> closest(std::string_view name, const std::vector<S>& candidates) {
  if (name.empty()) return std::nullopt;
  const std::size_t len = std::min(name.size(), kSuggestMaxLength);
  const std::size_t limit = std::min(kSuggestMaxDistance, std::max<std::size_t>(1, len / 3));
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    const std::string_view candidate(c);
    if (candidate == name) return std::nullopt;
    const std::size_t d = edit_distance(name, candidate);
    if (d < best_distance && d < name.size()) {  // strict: earlier candidate wins ties
      best_distance = d;
      best = std::string(candidate);
    }
  }
  FL_ASSERT(!best || best_distance <= limit);
  if (best || name.size() < 3) return best;
  // A truncated name ("single" for "single_leader") is a near miss too, when it
  // is unambiguous.
  std::optional<std::string> only;
  for (const auto& c : candidates) {
    const std::string_view candidate(c);
    if (candidate.size() <= name.size()) continue;
    bool prefix = true;
    for (std::size_t i = 0; i < name.size() && prefix; ++i) prefix = lower(name[i]) == lower(candidate[i]);
    if (!prefix) continue;
    if (only) return std::nullopt;
    only = std::string(candidate);
  }
  return only;
}

template <class S>
std::string did_you_mean_impl(std::string_view name, const std::vector<S>& candidates) {
  auto best = closest_name(name, candidates);
  if (!best) return {};
  return " (did you mean \"" + *best + "\"?)";
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  a = a.substr(0, std::min(a.size(), kSuggestMaxLength));
  b = b.substr(0, std::min(b.size(), kSuggestMaxLength));
  const std::size_t n = a.size(), m = b.size();
  // Three rows of the dynamic programme suffice for the transposition term:
  // O(n*m) time, O(m) memory.
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  FL_ASSERT(prev[m] <= std::max(n, m));
  return prev[m];
}

std::optional<std::string> closest_name(std::string_view name, const std::vector<std::string>& candidates) {
  return closest(name, candidates);
}
std::optional<std::string> closest_name(std::string_view name, const std::vector<std::string_view>& candidates) {
  return closest(name, candidates);
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
  return did_you_mean_impl(name, candidates);
}
std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& candidates) {
  return did_you_mean_impl(name, candidates);
}

}  // namespace fl
