// The run's seeded generator: xoshiro256** (Blackman & Vigna, 2018), seeded
// through SplitMix64. Both algorithms are written down here, so seed N draws the
// same numbers with every compiler and standard library. The std:: distributions
// are banned for the same reason (their output differs between libraries): the
// few distributions the simulator needs are written below.
//
// Streams: every component draws from its own stream, split off its parent by a
// name (`root.split("network")`). A stream's state depends only on its parent's
// seed and its name, never on how many numbers anyone else drew, so adding a
// component never changes another's draws.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/assert.h"
#include "base/time.h"

namespace fl {

// SplitMix64 (Steele, Lea, Flood 2014): used to expand one 64-bit seed into
// xoshiro's 256-bit state, and to mix names into child seeds.
constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// FNV-1a, 64 bit: a stable hash of a stream name.
constexpr std::uint64_t fnv1a64(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : seed_(seed) {
    std::uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
  }

  // The seed this stream was built from (for --verbose and for reports).
  std::uint64_t seed() const { return seed_; }

  // A child stream named `name`. Depends only on this stream's seed and the name.
  Rng split(std::string_view name) const {
    std::uint64_t mix = seed_ ^ fnv1a64(name);
    return Rng(splitmix64(mix));
  }
  Rng split(std::string_view name, std::uint64_t index) const {
    std::uint64_t mix = seed_ ^ fnv1a64(name) ^ (index * 0xd1342543de82ef95ULL);
    return Rng(splitmix64(mix));
  }

  // xoshiro256** next().
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, bound), bound > 0. Lemire's multiply-shift with rejection, so
  // there is no modulo bias.
  std::uint64_t below(std::uint64_t bound) {
    FL_ASSERT(bound > 0);
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next()) * bound;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  // Uniform integer in [lo, hi] (both inclusive).
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    FL_ASSERT(lo <= hi);
    const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    if (span == UINT64_MAX) return static_cast<std::int64_t>(next());
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + below(span + 1));
  }

  // Uniform duration in [lo, hi].
  Duration duration(Duration lo, Duration hi) { return Duration{between(lo.count(), hi.count())}; }
  Duration duration(const DurationRange& r) { return duration(r.lo, r.hi); }
  // Uniform duration in [0, bound): the seed's jitters ("up to 2 s") are half-open.
  Duration jitter(Duration bound) {
    FL_ASSERT(bound.count() >= 0);
    return bound.count() == 0 ? Duration{0} : Duration{static_cast<std::int64_t>(below(static_cast<std::uint64_t>(bound.count())))};
  }

  // True with probability p, p in [0, 1]. The comparison is on integers: p is
  // turned into a 53-bit threshold by one IEEE multiplication, which every
  // conforming platform computes identically.
  bool chance(double p) {
    FL_ASSERT(p >= 0.0 && p <= 1.0);
    if (p <= 0.0) return false;
    if (p >= 1.0) return true;
    const auto threshold = static_cast<std::uint64_t>(p * 9007199254740992.0);  // 2^53
    return (next() >> 11) < threshold;
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t seed_;
  std::uint64_t s_[4];
};

}  // namespace fl
