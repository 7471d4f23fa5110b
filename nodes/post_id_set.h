// A set of post ids, compact for the way ids are made: a post id is
// (author's client index << 32 | the author's post number), and each author
// numbers its posts 1, 2, 3, ... So the set is a hash table of 32-post blocks
// packed in one 64-bit word each: the high half is the key (author << 16 |
// post number / 32), the low half a mask, one bit per post. A client holds one
// of these for every post it has shown (the web app dedupes by post id).
//
// Why 8-byte slots: a client's deliveries are random accesses into its set,
// one cache miss each (Client::deliver was 10-13% of the reference hour, 80% of
// it on the slot load), and with 10,000 clients the sets were ~300 MiB of the
// run's ~400 (16-byte slots). Over a 10-minute run an author makes a few posts,
// so one 32-post word per author holds them all: half the bytes, and twice as
// many clients' sets in the cache (issue 12). Ids that do not fit a word (an
// author index of 65,536 or more, or 0; a post number of 2^21 or more) go to a
// 16-byte-block table beside it, so the set is exact for every id.
//
// Memory grows with the posts the client has received, never with the number
// of authors in the cluster: a per-author table made 10,000 clients cost 10,000
// authors' headers each (issue 12). Only insert and contains: no iteration, so
// the table's layout never reaches behaviour.
#pragma once

#include <cstdint>
#include <vector>

#include "base/assert.h"

namespace fl {

namespace detail {

inline std::size_t post_id_hash(std::uint64_t k) {
  k ^= k >> 31;
  k *= 0x9E3779B97F4A7C15ULL;
  k ^= k >> 29;
  return static_cast<std::size_t>(k);
}

// The overflow path: 64-post blocks of 16 bytes, any author and post number.
class WidePostIdSet {
 public:
  bool insert(std::uint64_t id) {
    if ((used_ + 1) * 4 > slots_.size() * 3) grow();
    Block& b = find(block_key(id));
    if (b.key == 0) {
      b.key = block_key(id);
      ++used_;
    }
    const std::uint64_t bit = 1ULL << (id & 63);
    if (b.bits & bit) return false;
    b.bits |= bit;
    return true;
  }
  bool contains(std::uint64_t id) const {
    if (slots_.empty()) return false;
    const Block& b = const_cast<WidePostIdSet*>(this)->find(block_key(id));
    return b.key != 0 && (b.bits >> (id & 63) & 1);
  }

 private:
  struct Block {
    std::uint64_t key = 0;  // 0: empty; else (author << 32 | post number / 64) + 1
    std::uint64_t bits = 0;
  };
  static std::uint64_t block_key(std::uint64_t id) {
    return ((id >> 32) << 32 | (id & 0xffffffffULL) >> 6) + 1;
  }
  Block& find(std::uint64_t key) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = post_id_hash(key) & mask;
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
  std::size_t used_ = 0;
};

}  // namespace detail

class PostIdSet {
 public:
  // Adds `id`; false when it was already there.
  bool insert(std::uint64_t id) {
    FL_ASSERT((id >> 32) < kMaxAuthors);
    if (!fits(id)) {
      if (!wide_.insert(id)) return false;
      ++size_;
      return true;
    }
    if ((used_ + 1) * 4 > slots_.size() * 3) grow();
    std::uint64_t& w = find(word_key(id));
    if (w == 0) {
      w = word_key(id) << 32;
      ++used_;
    }
    const std::uint64_t bit = 1ULL << (id & 31);
    if (w & bit) return false;
    w |= bit;
    ++size_;
    return true;
  }
  bool contains(std::uint64_t id) const {
    if (!fits(id)) return wide_.contains(id);
    if (slots_.empty()) return false;
    const std::uint64_t w = const_cast<PostIdSet*>(this)->find(word_key(id));
    return w != 0 && (w >> (id & 31) & 1);
  }
  std::size_t size() const { return size_; }

 private:
  // A scenario has at most this many clients (the loader's limit is far lower);
  // the assertion keeps a corrupt id from passing unnoticed.
  static constexpr std::uint64_t kMaxAuthors = 1u << 20;
  // A word's key is 32 bits: 16 of author (never 0, so a used word is never 0)
  // and 16 of post number / 32.
  static bool fits(std::uint64_t id) {
    const std::uint64_t author = id >> 32, number = id & 0xffffffffULL;
    return author != 0 && author < (1u << 16) && number < (1u << 21);
  }
  static std::uint64_t word_key(std::uint64_t id) {
    return (id >> 32) << 16 | (id & 0xffffffffULL) >> 5;
  }
  // The word of `key`, or the empty slot where it would go.
  std::uint64_t& find(std::uint64_t key) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = detail::post_id_hash(key) & mask;
    while (slots_[i] != 0 && (slots_[i] >> 32) != key) i = (i + 1) & mask;
    return slots_[i];
  }
  void grow() {
    std::vector<std::uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, 0);
    for (const std::uint64_t w : old)
      if (w != 0) find(w >> 32) = w;
  }
  std::vector<std::uint64_t> slots_;  // 0: empty; else key << 32 | mask
  std::size_t used_ = 0;              // words
  std::size_t size_ = 0;              // ids, both tables
  detail::WidePostIdSet wide_;
};

}  // namespace fl
