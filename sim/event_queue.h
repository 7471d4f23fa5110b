// The simulator's pending events: a 4-ary min-heap of small POD records.
//
// Invariants kept:
//  - pop() returns events in (at, key) order. `key` is the insertion sequence
//    shifted left by 8 with the event kind in the low byte; sequences are unique,
//    so ties in virtual time are broken by insertion order and never by an
//    address or by the heap's internal layout.
//  - An Event owns nothing: payloads (messages, requests, actions) live in slabs
//    and are referenced by index, so a push or pop never allocates once the
//    heap's vector has grown to the run's peak.
// Why 4-ary: the heap is shallower than a binary one and the four children of a
// node share one or two cache lines (24-byte events), which makes sift-down cheaper.
#pragma once

#include <cstdint>
#include <vector>

#include "base/assert.h"

namespace fl::sim {

struct Event {
  std::int64_t at = 0;     // virtual time, ns
  std::uint64_t key = 0;   // seq << 8 | kind
  std::uint32_t node = 0;  // the node the event is for (meaning depends on kind)
  std::uint32_t index = 0; // slab index or generation (meaning depends on kind)

  std::uint8_t kind() const { return static_cast<std::uint8_t>(key & 0xff); }
  std::uint64_t seq() const { return key >> 8; }
};
static_assert(sizeof(Event) == 24, "events stay small: four children in ~1.5 cache lines");

// One 128-bit comparison (time in the high word, key in the low): compiles to
// cmp/sbb without a branch, which matters because many events share a time
// (a tick's sends all land together), so a two-step comparison mispredicts.
// Virtual time is never negative, so its bits compare as unsigned.
inline bool event_before(const Event& a, const Event& b) {
  using u128 = unsigned __int128;
  const u128 ka = (static_cast<u128>(static_cast<std::uint64_t>(a.at)) << 64) | a.key;
  const u128 kb = (static_cast<u128>(static_cast<std::uint64_t>(b.at)) << 64) | b.key;
  return ka < kb;
}

class EventQueue {
 public:
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  const Event& top() const {
    FL_ASSERT(!heap_.empty());
    return heap_.front();
  }

  void push(const Event& e) {
    FL_ASSERT(e.at >= 0);
    std::size_t hole = heap_.size();
    heap_.push_back(e);
    Event* h = heap_.data();
    while (hole > 0) {
      const std::size_t parent = (hole - 1) >> 2;
      if (!event_before(e, h[parent])) break;
      h[hole] = h[parent];
      hole = parent;
    }
    h[hole] = e;
  }

  void pop() {
    FL_ASSERT(!heap_.empty());
    const Event last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(last);
  }

  // Pops the top and pushes `e` in one sift: the engine's common case, where
  // handling an event schedules the next one (a timer re-arming itself).
  void replace_top(const Event& e) {
    FL_ASSERT(!heap_.empty() && e.at >= 0);
    sift_down(e);
  }

  void clear() { heap_.clear(); }

 private:
  // Fills the hole at the root with `e`, moving smaller children up.
  void sift_down(const Event& e) {
    const std::size_t n = heap_.size();
    Event* h = heap_.data();
    std::size_t hole = 0;
    for (;;) {
      const std::size_t first = (hole << 2) + 1;
      if (first >= n) break;
      std::size_t best = first;
      const std::size_t end = first + 4 < n ? first + 4 : n;
      for (std::size_t c = first + 1; c < end; ++c) {
        if (event_before(h[c], h[best])) best = c;
      }
      if (!event_before(h[best], e)) break;
      h[hole] = h[best];
      hole = best;
    }
    h[hole] = e;
  }

  std::vector<Event> heap_;
};

}  // namespace fl::sim
