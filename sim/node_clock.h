// A node's local clock as a function of virtual time, in integer nanoseconds.
//
//   local(v) = v + offset + steps + drift_ns(v)
//   drift_ns(v) = drift_at_anchor + floor((v - anchor) * drift_ppm / 1e6)
//   monotonic(v) = v + drift_ns(v) = local(v) - offset - steps
//
// monotonic() is the node's steady clock (CLOCK_MONOTONIC, Go's monotonic
// reading, std::chrono::steady_clock): it runs at the node's drifting rate but
// is never stepped or offset. Timers run on it, as every real runtime's do.
//
// `offset` is what set_clock last set (the skew a scenario writes, "+90s");
// `steps` is the sum of step_clock jumps; drift accumulates from the moment it
// is set, so changing the drift never makes the clock jump. With the clock set
// once at time 0 this is the plain local = v * (1 + ppm/1e6) + offset + steps.
//
// Invariants kept:
//  - No floating point: the same virtual time gives the same local time on every
//    machine. Products are taken in 128 bits, so hours of virtual time at any
//    drift allowed (|ppm| < 1e6) cannot overflow.
//  - local() is non-decreasing in v between clock changes (drift_ppm > -1e6),
//    which is what makes virtual_for() (the inverse used to arm timers) exact:
//    it returns the first virtual instant at which the local clock has reached
//    the deadline, never one nanosecond early.
#pragma once

#include <cstdint>

namespace fl::sim {

inline constexpr std::int64_t kPpmPerUnit = 1'000'000;  // parts per million

class NodeClock {
 public:
  std::int64_t local(std::int64_t v) const {
    if (drift_ppm_ == 0) return v + base_;
    return v + base_ + drift_ns(v - anchor_);
  }

  std::int64_t monotonic(std::int64_t v) const { return local(v) - offset_ - steps_; }
  // The first virtual instant v >= not_before with monotonic(v) >= deadline.
  std::int64_t virtual_for_monotonic(std::int64_t deadline, std::int64_t not_before) const {
    return virtual_for(deadline + offset_ + steps_, not_before);
  }

  // The first virtual instant v >= not_before with local(v) >= local_deadline.
  std::int64_t virtual_for(std::int64_t local_deadline, std::int64_t not_before) const {
    if (drift_ppm_ == 0) {  // the common case, exact: local(v) = v + base
      const std::int64_t v = local_deadline - base_;
      return v > not_before ? v : not_before;
    }
    return virtual_for_drifting(local_deadline, not_before);
  }

  // Sets offset and drift from virtual time `now` on (see the formula above).
  void set(std::int64_t now, std::int64_t offset, std::int64_t drift_ppm);
  void step(std::int64_t by);

  std::int64_t offset() const { return offset_; }
  std::int64_t steps() const { return steps_; }
  std::int64_t drift_ppm() const { return drift_ppm_; }

 private:
  std::int64_t virtual_for_drifting(std::int64_t local_deadline, std::int64_t not_before) const;
  // floor(x * drift_ppm / 1e6), exact.
  std::int64_t drift_ns(std::int64_t x) const;
  void rebase() { base_ = offset_ + steps_ + drift_at_anchor_; }

  std::int64_t anchor_ = 0;           // virtual time the drift was last set
  std::int64_t drift_at_anchor_ = 0;  // accumulated drift at the anchor, ns
  std::int64_t drift_ppm_ = 0;
  std::int64_t offset_ = 0;
  std::int64_t steps_ = 0;
  std::int64_t base_ = 0;             // offset + steps + drift_at_anchor (cached)
};

}  // namespace fl::sim
