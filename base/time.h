// Virtual time and durations, in integer nanoseconds. Never floating point:
// a simulated instant must compare equal on every machine and in every build.
//
// Time is an instant on some clock: the simulator's virtual clock, or a node's
// local clock (virtual time plus offset, drift and steps). Both use this type;
// which clock a value belongs to is said by the name of the variable holding it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fl {

using Duration = std::chrono::duration<std::int64_t, std::nano>;

struct FlClock {  // not a readable clock: it only names the epoch of Time
  using rep = std::int64_t;
  using period = std::nano;
  using duration = Duration;
  using time_point = std::chrono::time_point<FlClock, Duration>;
  static constexpr bool is_steady = true;
};
using Time = FlClock::time_point;

constexpr Time kTimeZero{};
constexpr Time kTimeMax{Duration{INT64_MAX}};

constexpr std::int64_t ns(Duration d) { return d.count(); }
constexpr std::int64_t ns(Time t) { return t.time_since_epoch().count(); }
constexpr Time time_from_ns(std::int64_t v) { return Time{Duration{v}}; }

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// A closed range of durations, as scenario files write it: "5ms..50ms".
// A single duration "5ms" is the range [5ms, 5ms].
struct DurationRange {
  Duration lo{0};
  Duration hi{0};
  friend bool operator==(const DurationRange&, const DurationRange&) = default;
};

// Parses a duration as scenario files write it: an optional sign, then one or
// more <number><unit> terms with units h, m, s, ms, us, ns ("250ms", "15s",
// "1h30m", "0.2ms", "+90s", "-2s"). Decimals are exact: "0.2ms" is 200000 ns.
// On failure returns nullopt and sets *error to a sentence a user can act on.
// Negative values parse only when allow_negative is true.
std::optional<Duration> parse_duration(std::string_view text, std::string* error,
                                       bool allow_negative = false);

// Parses "A..B" (or a single duration) into a range; lo <= hi is required.
std::optional<DurationRange> parse_duration_range(std::string_view text, std::string* error);

// Prints a duration the way scenario files and reports write it, losslessly:
// "0s", "250ms", "15s", "1h30m", "2m3.412s", "1.5ms", "-2s".
std::string format_duration(Duration d);

// Prints an instant of virtual time as a duration since the start of the run.
inline std::string format_time(Time t) { return format_duration(t.time_since_epoch()); }

}  // namespace fl
