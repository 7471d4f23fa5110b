#include "base/time.h"

#include <string>

#include "base/assert.h"

namespace fl {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t ns;
};
// Longest names first so that "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {{"ms", 1'000'000}, {"us", 1'000}, {"ns", 1},
                           {"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string* error,
                                       bool allow_negative) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  const std::string expected =
      "expected a duration such as \"250ms\", \"15s\" or \"1h30m\" (units h, m, s, ms, us, ns)";
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  if (negative && !allow_negative) {
    fail(error, "negative duration " + quoted + " is not allowed here; " + expected);
    return std::nullopt;
  }
  if (rest.empty()) {
    fail(error, "empty duration " + quoted + "; " + expected);
    return std::nullopt;
  }
  // Total in nanoseconds; 2^63 ns is about 292 years, checked below.
  __int128 total = 0;
  while (!rest.empty()) {
    std::int64_t whole = 0;
    std::size_t i = 0;
    while (i < rest.size() && is_digit(rest[i])) {
      whole = whole * 10 + (rest[i] - '0');
      if (whole > 1'000'000'000'000) {
        fail(error, "duration " + quoted + " is too large");
        return std::nullopt;
      }
      ++i;
    }
    std::int64_t frac = 0, frac_scale = 1;
    bool has_digits = i > 0;
    if (i < rest.size() && rest[i] == '.') {
      if (i == 0) {  // ".5s"; also what "1s...2s" leaves after the range's ".."
        fail(error, "malformed duration " + quoted + ": a digit must come before the decimal point");
        return std::nullopt;
      }
      ++i;
      std::size_t start = i;
      while (i < rest.size() && is_digit(rest[i])) {
        if (frac_scale < 1'000'000'000'000) {
          frac = frac * 10 + (rest[i] - '0');
          frac_scale *= 10;
        }
        ++i;
      }
      has_digits = has_digits || i > start;
      if (i == start) {
        fail(error, "malformed duration " + quoted + ": a digit must follow the decimal point");
        return std::nullopt;
      }
    }
    if (!has_digits) {
      fail(error, "malformed duration " + quoted + ": expected a number at \"" +
                      std::string(rest) + "\"; " + expected);
      return std::nullopt;
    }
    rest.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (rest.substr(0, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (!unit) {
      fail(error, "malformed duration " + quoted + ": " +
                      (rest.empty() ? std::string("missing unit") : "unknown unit at \"" + std::string(rest) + "\"") +
                      "; " + expected);
      return std::nullopt;
    }
    rest.remove_prefix(unit->name.size());
    __int128 term = static_cast<__int128>(whole) * unit->ns;
    __int128 frac_ns = static_cast<__int128>(frac) * unit->ns;
    if (frac_ns % frac_scale != 0) {
      fail(error, "duration " + quoted + " is finer than one nanosecond");
      return std::nullopt;
    }
    term += frac_ns / frac_scale;
    total += term;
    if (total > INT64_MAX) {
      fail(error, "duration " + quoted + " is too large");
      return std::nullopt;
    }
  }
  const auto value = static_cast<std::int64_t>(total);
  return Duration{negative ? -value : value};
}

std::optional<DurationRange> parse_duration_range(std::string_view text, std::string* error) {
  const auto dots = text.find("..");
  if (dots == std::string_view::npos) {
    auto d = parse_duration(text, error);
    if (!d) return std::nullopt;
    return DurationRange{*d, *d};
  }
  auto lo = parse_duration(text.substr(0, dots), error);
  if (!lo) return std::nullopt;
  auto hi = parse_duration(text.substr(dots + 2), error);
  if (!hi) return std::nullopt;
  if (*lo > *hi) {
    fail(error, "range \"" + std::string(text) + "\" has its lower bound above its upper bound");
    return std::nullopt;
  }
  return DurationRange{*lo, *hi};
}

namespace {
// "412" for 0.412 of a unit whose full scale is `scale`: trailing zeros trimmed.
std::string fraction(std::int64_t value, std::int64_t scale) {
  std::string digits;
  for (std::int64_t s = scale / 10; s >= 1; s /= 10) digits.push_back(char('0' + (value / s) % 10));
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  return digits;
}
std::string with_fraction(std::int64_t v, std::int64_t unit_ns, const char* unit, bool pad2) {
  std::string s = std::to_string(v / unit_ns);
  if (pad2 && s.size() < 2) s = "0" + s;
  const std::string f = fraction(v % unit_ns, unit_ns);
  if (!f.empty()) s += "." + f;
  return s + unit;
}
}  // namespace

std::string format_duration(Duration d) {
  std::int64_t v = d.count();
  if (v == 0) return "0s";
  if (v < 0) {
    FL_ASSERT(v != INT64_MIN);
    return "-" + format_duration(Duration{-v});
  }
  constexpr std::int64_t kS = 1'000'000'000, kM = 60 * kS, kH = 60 * kM;
  if (v < 1'000) return std::to_string(v) + "ns";
  if (v < 1'000'000) return with_fraction(v, 1'000, "us", false);
  if (v < kS) return with_fraction(v, 1'000'000, "ms", false);
  std::string out;
  const std::int64_t h = v / kH, m = (v % kH) / kM, rest = v % kM;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  if (rest != 0 || out.empty()) out += with_fraction(rest, kS, "s", !out.empty());
  return out;
}

}  // namespace fl
