// The simulator's pending events: FIFO runs of events that share a virtual
// time, ordered by two small 4-ary min-heaps with one entry per run.
//
// Why runs: a simulated cluster is bursty in time. A node's tick sends to all
// its peers over links of one latency, so many events land at the same instant
// (the engine benchmark: 20 deliveries at t + 1 ms, 5 timers at t + 1 s), and a
// burst over one connection with drawn latencies is clamped to the
// connection's FIFO floor, so it lands at a few instants (the reference hour:
// a third of its events join a run). Such events need no heap work among
// themselves: they are already in insertion order when appended to one FIFO,
// so the heaps hold runs instead of events, and a push or pop at a known
// instant is a list operation.
//
// Why two heaps: most pending runs are timers seconds away (a few thousand in
// the reference hour: every client's and server's periodic work), while most
// events are deliveries a millisecond away (96% of pushes). In one heap every
// pop of a delivery sifts a far timer down through all those levels. A run is
// put in the NEAR heap when it starts less than kNearSpan after the last
// popped event, in the FAR heap otherwise; the top is the smaller of the two
// heaps' fronts. Which heap a run is in changes how fast it is found, never
// where it is in the order: both heaps order by the same (at, first key) and
// the top is always the minimum over both.
//
// Invariants kept:
//  - pop() returns events in (at, key) order. `key` is the insertion sequence
//    shifted left by 8 with the event kind in the low byte; keys are pushed in
//    increasing order (asserted), so ties in virtual time are broken by
//    insertion order and never by an address or by the layout of the heaps.
//  - A run holds events of one time in key order. Events are appended only to
//    the NEWEST run of their time (the one the time's cache slot names; making
//    a run always claims the slot, and a run leaves the slot only when it is
//    freed). So if runs A and B share a time and A was made first, every key in
//    A is below every key in B, and ordering runs by (time, first key) orders
//    their events: the top run stays on top until it is empty.
//  - top_ names the run with the least (at, first key) over both heaps; it is
//    recomputed whenever a run is made or ended (the only times a heap front
//    can change).
//  - An Event owns nothing: payloads (messages, requests, actions) live in slabs
//    and are referenced by index, and cells and runs are pooled with free lists,
//    so a push or pop never allocates once the pools have grown to the run's
//    peak.
#pragma once

#include <array>
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
static_assert(sizeof(Event) == 24, "events stay small");

class EventQueue {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  // A run starting less than this after the last popped event goes in the
  // near heap (16.8 ms: beyond every default link's latency, short of every
  // periodic timer).
  static constexpr std::int64_t kNearSpan = std::int64_t{1} << 24;

  EventQueue() { cache_.fill(kNone); }

  bool empty() const { return top_ == kNone; }
  std::size_t size() const { return size_; }
  const Event& top() const {
    FL_ASSERT(top_ != kNone);
    return cells_[runs_[top_].head].event;
  }

  // The fast paths (append to a known instant's run, pop within a run) are
  // small and inlined; making or ending a run and growing a pool are not.
  [[gnu::always_inline]] void push(const Event& e) {
    FL_ASSERT(e.at >= 0);
    FL_ASSERT_MSG(e.key > last_key_, "keys are pushed in increasing order");
    last_key_ = e.key;
    const std::uint32_t r = cache_[cache_index(e.at)];
    const std::uint32_t cell = free_cell_;
    if (r != kNone && cell != kNone && runs_[r].at == e.at) [[likely]] {  // the newest run of this time
      Cell& c = cells_[cell];
      free_cell_ = c.next;
      c.event = e;
      c.next = kNone;
      Run& run = runs_[r];
      cells_[run.tail].next = cell;
      run.tail = cell;
      ++size_;
      return;
    }
    push_slow(e);
  }

  [[gnu::always_inline]] void pop() {
    FL_ASSERT(top_ != kNone);
    const std::uint32_t r = top_;
    Run& run = runs_[r];
    const std::uint32_t cell = run.head;
    Cell& c = cells_[cell];
    last_at_ = run.at;
    run.head = c.next;
    c.next = free_cell_;
    free_cell_ = cell;
    --size_;
    if (run.head != kNone) [[likely]] return;
    end_run(r);
  }

  void clear() {
    near_.clear();
    far_.clear();
    top_ = kNone;
    last_at_ = 0;
    cells_.clear();
    runs_.clear();
    cache_.fill(kNone);
    free_cell_ = free_run_ = kNone;
    size_ = 0;
  }

 private:
  // The cache maps a time to its newest run; a miss only costs a new run, so
  // it is small and direct-mapped. 64 slots: a run's burst rarely has more
  // than a few distinct instants pending at once.
  static constexpr std::uint32_t kCacheBits = 6;
  static constexpr std::uint32_t kCacheSize = 1u << kCacheBits;
  static std::uint32_t cache_index(std::int64_t at) {
    // Fibonacci hashing: times are round numbers of ns; the multiply spreads them.
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(at) * 0x9E3779B97F4A7C15ull) >>
                                      (64 - kCacheBits));
  }

  struct Cell {
    Event event;
    std::uint32_t next = kNone;  // the next event of the run, or the next free cell
  };
  struct Run {
    std::int64_t at = 0;
    std::uint32_t head = kNone;  // while free: the next free run
    std::uint32_t tail = kNone;
  };
  struct HeapEntry {
    std::int64_t at;
    std::uint64_t first_key;  // the key of the run's first event
    std::uint32_t run;
  };

  // One 128-bit comparison (time in the high word, key in the low): compiles to
  // cmp/sbb without a branch. Virtual time is never negative, so its bits
  // compare as unsigned.
  static bool before(const HeapEntry& a, const HeapEntry& b) {
    using u128 = unsigned __int128;
    const u128 ka = (static_cast<u128>(static_cast<std::uint64_t>(a.at)) << 64) | a.first_key;
    const u128 kb = (static_cast<u128>(static_cast<std::uint64_t>(b.at)) << 64) | b.first_key;
    return ka < kb;
  }

  [[gnu::noinline]] void push_slow(const Event& e) {
    const std::uint32_t cell = alloc_cell();
    cells_[cell].event = e;
    cells_[cell].next = kNone;
    ++size_;
    std::uint32_t& slot = cache_[cache_index(e.at)];
    if (slot != kNone && runs_[slot].at == e.at) {  // the newest run of this time
      Run& run = runs_[slot];
      cells_[run.tail].next = cell;
      run.tail = cell;
      return;
    }
    const std::uint32_t r = alloc_run();
    runs_[r] = Run{e.at, cell, cell};
    slot = r;
    // Pushes are never in the past of the last pop (the engine's now), so the
    // difference is the run's distance ahead.
    heap_push(e.at - last_at_ < kNearSpan ? near_ : far_, HeapEntry{e.at, e.key, r});
    pick_top();
  }

  [[gnu::noinline]] void end_run(std::uint32_t r) {
    FL_ASSERT(top_ == r);
    std::uint32_t& slot = cache_[cache_index(runs_[r].at)];
    if (slot == r) slot = kNone;  // an emptied run takes no more appends
    runs_[r].head = free_run_;
    free_run_ = r;
    if (!near_.empty() && near_.front().run == r) heap_pop(near_);
    else {
      FL_ASSERT(!far_.empty() && far_.front().run == r);
      heap_pop(far_);
    }
    pick_top();
  }

  // The run with the least (at, first key) over both heaps.
  void pick_top() {
    if (far_.empty()) top_ = near_.empty() ? kNone : near_.front().run;
    else if (near_.empty()) top_ = far_.front().run;
    else top_ = before(near_.front(), far_.front()) ? near_.front().run : far_.front().run;
  }

  std::uint32_t alloc_cell() {
    if (free_cell_ != kNone) {
      const std::uint32_t c = free_cell_;
      free_cell_ = cells_[c].next;
      return c;
    }
    FL_ASSERT(cells_.size() < kNone);
    cells_.emplace_back();
    return static_cast<std::uint32_t>(cells_.size() - 1);
  }
  std::uint32_t alloc_run() {
    if (free_run_ != kNone) {
      const std::uint32_t r = free_run_;
      free_run_ = runs_[r].head;
      return r;
    }
    FL_ASSERT(runs_.size() < kNone);
    runs_.emplace_back();
    return static_cast<std::uint32_t>(runs_.size() - 1);
  }

  static void heap_push(std::vector<HeapEntry>& heap, const HeapEntry& e) {
    std::size_t hole = heap.size();
    heap.push_back(e);
    HeapEntry* h = heap.data();
    while (hole > 0) {
      const std::size_t parent = (hole - 1) >> 2;
      if (!before(e, h[parent])) break;
      h[hole] = h[parent];
      hole = parent;
    }
    h[hole] = e;
  }

  static void heap_pop(std::vector<HeapEntry>& heap) {
    const HeapEntry last = heap.back();
    heap.pop_back();
    const std::size_t n = heap.size();
    if (n == 0) return;
    HeapEntry* h = heap.data();
    std::size_t hole = 0;
    for (;;) {
      const std::size_t first = (hole << 2) + 1;
      if (first >= n) break;
      std::size_t best = first;
      const std::size_t end = first + 4 < n ? first + 4 : n;
      for (std::size_t c = first + 1; c < end; ++c) {
        if (before(h[c], h[best])) best = c;
      }
      if (!before(h[best], last)) break;
      h[hole] = h[best];
      hole = best;
    }
    h[hole] = last;
  }

  std::vector<HeapEntry> near_;  // 4-ary min-heap of runs by (at, first_key): starting soon
  std::vector<HeapEntry> far_;   // the same, for runs starting kNearSpan or more ahead
  std::uint32_t top_ = kNone;    // the run popped next, or kNone when empty
  std::int64_t last_at_ = 0;     // virtual time of the last popped event
  std::vector<Cell> cells_;
  std::vector<Run> runs_;
  std::array<std::uint32_t, kCacheSize> cache_;  // cache_index(at) -> newest run of that time, or kNone
  std::uint32_t free_cell_ = kNone;
  std::uint32_t free_run_ = kNone;
  std::uint64_t last_key_ = 0;
  std::size_t size_ = 0;
};

}  // namespace fl::sim
