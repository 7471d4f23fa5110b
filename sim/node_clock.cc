#include "sim/node_clock.h"

#include "base/assert.h"

namespace fl::sim {
namespace {

using i128 = __int128;

i128 floor_div(i128 a, i128 b) {
  FL_ASSERT(b > 0);
  i128 q = a / b;
  if ((a % b) != 0 && a < 0) --q;
  return q;
}

i128 ceil_div(i128 a, i128 b) { return -floor_div(-a, b); }

}  // namespace

std::int64_t NodeClock::drift_ns(std::int64_t x) const {
  const i128 d = floor_div(static_cast<i128>(x) * drift_ppm_, kPpmPerUnit);
  FL_ASSERT(d >= INT64_MIN && d <= INT64_MAX);
  return static_cast<std::int64_t>(d);
}

std::int64_t NodeClock::virtual_for_drifting(std::int64_t local_deadline, std::int64_t not_before) const {
  FL_ASSERT(drift_ppm_ != 0);
  if (local(not_before) >= local_deadline) return not_before;
  // Solve x + floor(x * ppm / 1e6) >= r for the least x (x = v - anchor): the
  // real solution is r * 1e6 / (1e6 + ppm); floors move it by at most a couple
  // of ns, so step from the estimate to the exact least solution.
  const i128 r = static_cast<i128>(local_deadline) - base_ - anchor_;
  const auto f = [this](i128 x) { return x + drift_ns(static_cast<std::int64_t>(x)); };
  i128 x = ceil_div(r * kPpmPerUnit, kPpmPerUnit + drift_ppm_);
  int steps = 0;
  while (f(x) < r) { ++x; FL_ASSERT(++steps < 8); }
  while (f(x - 1) >= r) { --x; FL_ASSERT(++steps < 8); }
  i128 v = x + anchor_;
  if (v < not_before) v = not_before;
  FL_ASSERT(v <= INT64_MAX);
  const auto result = static_cast<std::int64_t>(v);
  FL_ASSERT(local(result) >= local_deadline && (result == not_before || local(result - 1) < local_deadline));
  return result;
}

void NodeClock::set(std::int64_t now, std::int64_t offset, std::int64_t drift_ppm) {
  // A drift of -1e6 ppm would stop the clock, and below that run it backwards:
  // timers could never fire. Scenario validation rejects those values first.
  FL_ASSERT(drift_ppm > -kPpmPerUnit && drift_ppm < kPpmPerUnit);
  drift_at_anchor_ += drift_ppm_ == 0 ? 0 : drift_ns(now - anchor_);
  anchor_ = now;
  drift_ppm_ = drift_ppm;
  offset_ = offset;
  rebase();
}

void NodeClock::step(std::int64_t by) {
  steps_ += by;
  rebase();
}

}  // namespace fl::sim
