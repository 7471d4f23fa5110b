// A set of post ids, compact for the way ids are made: a post id is
// (author's client index << 32 | the author's post number), and each author
// numbers its posts 1, 2, 3, ... So the set is a hash table of 64-post blocks:
// the key is (author, post number / 64), the value a 64-bit mask, one bit per
// post. It holds a client's shown posts whose ids the run's store by post
// cannot index (nodes/shown_posts.h: author 0 or of 65,536 or more, a post
// number of 65,536 or more); a client's store used to be one of these.
//
// Memory grows with the ids held (about 16-21 bytes per block, one block per
// author and 64 of its posts). Only insert and contains: no iteration, so the
// table's layout never reaches behaviour.
#pragma once

#include <cstdint>
#include <vector>

#include "base/assert.h"

namespace fl {

class PostIdSet {
 public:
  // Adds `id`; false when it was already there.
  bool insert(std::uint64_t id) {
    FL_ASSERT((id >> 32) < kMaxAuthors);
    if ((used_ + 1) * 4 > slots_.size() * 3) grow();
    Block& b = find(block_key(id));
    if (b.key == 0) {
      b.key = block_key(id);
      ++used_;
    }
    const std::uint64_t bit = 1ULL << (id & 63);
    if (b.bits & bit) return false;
    b.bits |= bit;
    ++size_;
    return true;
  }
  bool contains(std::uint64_t id) const {
    if (slots_.empty()) return false;
    const Block& b = const_cast<PostIdSet*>(this)->find(block_key(id));
    return b.key != 0 && (b.bits >> (id & 63) & 1);
  }
  std::size_t size() const { return size_; }

 private:
  // A scenario has at most this many clients (the loader's limit is far lower);
  // the assertion keeps a corrupt id from passing unnoticed.
  static constexpr std::uint64_t kMaxAuthors = 1u << 20;
  struct Block {
    std::uint64_t key = 0;  // 0: empty; else (author << 32 | post number / 64) + 1
    std::uint64_t bits = 0;
  };
  static std::uint64_t block_key(std::uint64_t id) {
    return ((id >> 32) << 32 | (id & 0xffffffffULL) >> 6) + 1;
  }
  static std::size_t hash(std::uint64_t k) {
    k ^= k >> 31;
    k *= 0x9E3779B97F4A7C15ULL;
    k ^= k >> 29;
    return static_cast<std::size_t>(k);
  }
  // The block of `key`, or the empty slot where it would go.
  Block& find(std::uint64_t key) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash(key) & mask;
    while (slots_[i].key != 0 && slots_[i].key != key) i = (i + 1) & mask;
    return slots_[i];
  }
  void grow() {
    std::vector<Block> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Block{});
    for (const Block& b : old)
      if (b.key != 0) find(b.key) = b;
  }
  std::vector<Block> slots_;
  std::size_t used_ = 0;  // blocks
  std::size_t size_ = 0;  // ids
};

}  // namespace fl
