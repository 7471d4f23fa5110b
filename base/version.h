// A server version "major.minor.patch" (the seed's 10.4.1). A new minor version
// carries a schema migration; a patch does not (REFERENCE.md, Schema migrations).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fl {

struct Version {
  std::uint16_t major = 0, minor = 0, patch = 0;
  constexpr auto operator<=>(const Version&) const = default;
  constexpr bool operator==(const Version&) const = default;
  // The schema a binary of this version expects: one step per minor version.
  constexpr std::uint32_t schema() const { return std::uint32_t(major) * 1000 + minor; }
  std::string str() const;
};

// Parses "10.4.1"; nullopt on anything else.
std::optional<Version> parse_version(std::string_view text);

// How many minor versions apart two versions are (0 for patches of one minor).
// Across majors, counts as far apart (1000 per major): such an upgrade always skips.
constexpr std::uint32_t minor_distance(const Version& a, const Version& b) {
  const auto sa = a.schema(), sb = b.schema();
  return sa > sb ? sa - sb : sb - sa;
}

}  // namespace fl
