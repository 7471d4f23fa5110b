// A pool of payload slots referenced by 32-bit index, with a free list.
//
// Invariants kept:
//  - Slots live in fixed-size chunks that never move, so a reference to a slot
//    stays valid while more slots are allocated (a node handling a message may
//    send others while the simulator still holds the delivered one).
//  - Freed slots are reused last-in first-out, so which index a payload gets is
//    a function of the run's event order alone (deterministic, never an address).
//  - Using a freed slot, or freeing one twice, fails an assertion.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/assert.h"

namespace fl::sim {

template <class T>
class Slab {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  // Returns a free slot's index; its value keeps whatever a previous user left
  // (callers assign every field they read).
  std::uint32_t alloc() {
    std::uint32_t index;
    alloc_slot(index);
    return index;
  }
  // The same, also handing back the slot's value (one lookup instead of two).
  [[gnu::always_inline]] T& alloc_slot(std::uint32_t& index) {
    if (free_ == kNone) [[unlikely]] grow();
    index = free_;
    Slot& s = slot(index);
    free_ = s.next_free;
    FL_ASSERT(!s.used);
    s.used = true;
    ++live_;
    return s.value;
  }

  [[gnu::always_inline]] void free(std::uint32_t index) {
    Slot& s = slot(index);
    FL_ASSERT(s.used);
    s.used = false;
    s.next_free = free_;
    free_ = index;
    --live_;
  }

  [[gnu::always_inline]] T& operator[](std::uint32_t index) {
    Slot& s = slot(index);
    FL_ASSERT(s.used);
    return s.value;
  }
  bool used(std::uint32_t index) const { return index < size_ && slot(index).used; }
  std::size_t live() const { return live_; }
  std::uint32_t capacity_used() const { return size_; }

 private:
  static constexpr std::uint32_t kChunkBits = 10;
  static constexpr std::uint32_t kChunk = 1u << kChunkBits;
  struct Slot {
    T value{};
    std::uint32_t next_free = kNone;
    bool used = false;
  };
  Slot& slot(std::uint32_t index) {
    FL_ASSERT(index < size_);
    return chunks_[index >> kChunkBits][index & (kChunk - 1)];
  }
  const Slot& slot(std::uint32_t index) const {
    FL_ASSERT(index < size_);
    return chunks_[index >> kChunkBits][index & (kChunk - 1)];
  }
  // The free list is empty: add one slot (a new chunk when the last is full)
  // and put it on the list, so alloc_slot has a single path.
  [[gnu::noinline]] void grow() {
    FL_ASSERT(free_ == kNone && size_ < kNone);
    if (size_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<Slot[]>(kChunk));
    const std::uint32_t index = size_++;
    slot(index).next_free = kNone;
    free_ = index;
  }

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::uint32_t size_ = 0;
  std::uint32_t free_ = kNone;
  std::size_t live_ = 0;
};

}  // namespace fl::sim
