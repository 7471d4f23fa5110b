#include "harness/suggest.h"

#include <algorithm>
#include <vector>

#include "base/assert.h"

namespace fl::harness {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

template <class S>
std::optional<std::string> closest_impl(std::string_view word, std::span<const S> candidates) {
  if (word.empty() || candidates.empty()) return std::nullopt;
  const std::size_t len = std::min(word.size(), kSuggestMaxLength);
  const std::size_t limit = std::min<std::size_t>(3, std::max<std::size_t>(1, len / 3));
  std::size_t best = limit + 1;
  std::optional<std::string> answer;
  for (const auto& candidate : candidates) {
    const std::string_view c(candidate);
    const std::size_t d = edit_distance(word, c);
    if (d < best) {
      best = d;
      answer = std::string(c);
    }
  }
  if (answer) return answer;
  // A truncated name ("single" for "single_leader") is a near miss too, when it is
  // unambiguous.
  if (word.size() >= 3) {
    std::optional<std::string> only;
    for (const auto& candidate : candidates) {
      const std::string_view c(candidate);
      if (c.size() <= word.size()) continue;
      bool prefix = true;
      for (std::size_t i = 0; i < word.size(); ++i) prefix = prefix && lower(word[i]) == lower(c[i]);
      if (!prefix) continue;
      if (only) return std::nullopt;
      only = std::string(c);
    }
    return only;
  }
  return std::nullopt;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  a = a.substr(0, std::min(a.size(), kSuggestMaxLength));
  b = b.substr(0, std::min(b.size(), kSuggestMaxLength));
  const std::size_t n = a.size(), m = b.size();
  // Three rows suffice for the transposition term.
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

std::optional<std::string> closest_name(std::string_view word, std::span<const std::string> candidates) {
  return closest_impl(word, candidates);
}
std::optional<std::string> closest_name(std::string_view word,
                                        std::span<const std::string_view> candidates) {
  return closest_impl(word, candidates);
}

}  // namespace fl::harness
