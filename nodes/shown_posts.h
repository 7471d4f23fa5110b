// Which posts each client has shown, stored by post for all the clients of a
// run at once: for each post, one bit per client. The web app keeps a store of
// posts keyed by id and shows a post once (Client::deliver); this is that
// store's membership, laid out as a column per client instead of a set per
// client.
//
// Why by post (issue 12): a post reaches every member of its channel within a
// few milliseconds of virtual time, one delivery after another. A set per
// client put each of those deliveries in another client's table: one cache
// miss per delivery, a sixth of the reference hour's time, and the largest
// single cost at 10,000 clients. By post, the deliveries of one post read and
// write the same few words. Memory: a word per 64 clients per post, whoever
// received it (10,000 clients: 1.25 KB per post).
//
// Each client reads and writes only its own bit: a client still knows only
// what reached it (README, Node logic is real); the layout is how the run keeps
// its clients' memories, not something a client can read across. A client's
// new incarnation holds nothing (forget). Only insert, contains and forget: no
// iteration reaches behaviour.
//
// A post id is (author's client index << 32 | the author's post number), the
// numbers 1, 2, 3, ... (Client::on_timer): records are found through a vector
// per author indexed by number. An id outside that shape (author 0, or beyond
// kMaxAuthor or kMaxNumber) goes to a PostIdSet of the client's own, so the
// store is exact for every id.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/assert.h"
#include "nodes/post_id_set.h"

namespace fl {

class ShownPosts {
 public:
  // For `clients` clients, slots 0 .. clients - 1.
  explicit ShownPosts(std::uint32_t clients) : clients_(clients), words_((clients + 63) / 64), overflow_(clients) {
    FL_ASSERT(clients >= 1);
  }
  std::uint32_t clients() const { return clients_; }

  // Adds post `id` to client `slot`'s store; false when it was there already.
  bool insert(std::uint32_t slot, std::uint64_t id) {
    FL_ASSERT(slot < clients_);
    if (!fits(id)) return overflow_[slot].insert(id);
    std::uint64_t& w = word(record(id, /*make=*/true), slot);
    const std::uint64_t bit = 1ULL << (slot & 63);
    if (w & bit) return false;
    w |= bit;
    return true;
  }
  bool contains(std::uint32_t slot, std::uint64_t id) const {
    FL_ASSERT(slot < clients_);
    if (!fits(id)) return overflow_[slot].contains(id);
    const std::uint32_t r = const_cast<ShownPosts*>(this)->record(id, /*make=*/false);
    return r != kNone && (const_cast<ShownPosts*>(this)->word(r, slot) >> (slot & 63) & 1);
  }
  // Client `slot` starts again with nothing shown (a new process: the page is
  // loaded afresh). Costs a word per post recorded; a client restarts rarely.
  void forget(std::uint32_t slot) {
    FL_ASSERT(slot < clients_);
    const std::uint64_t keep = ~(1ULL << (slot & 63));
    for (std::uint32_t r = 0; r < records_; ++r) word(r, slot) &= keep;
    overflow_[slot] = PostIdSet{};
  }

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  static constexpr std::uint64_t kMaxAuthor = 1u << 16;  // the loader allows 10,000 clients
  // Posts per author held by number: 65,536 (a post a second for 18 hours);
  // a vector per author is as long as its highest number, so a bound keeps an
  // odd id from costing megabytes. Higher numbers go to the overflow.
  static constexpr std::uint64_t kMaxNumber = 1u << 16;
  // Records are kept in chunks, so that growing never copies (or doubles) what
  // is there: at 10,000 clients a record is 1.25 KB.
  static constexpr std::uint32_t kChunkRecords = 1024;

  static bool fits(std::uint64_t id) {
    const std::uint64_t author = id >> 32, number = id & 0xffffffffULL;
    return author != 0 && author < kMaxAuthor && number < kMaxNumber;
  }
  // The record of `id`, made when `make` and absent; kNone when absent and not `make`.
  std::uint32_t record(std::uint64_t id, bool make) {
    const std::uint64_t author = id >> 32, number = id & 0xffffffffULL;
    if (author >= by_author_.size()) {
      if (!make) return kNone;
      by_author_.resize(author + 1);
    }
    std::vector<std::uint32_t>& of = by_author_[author];
    if (number >= of.size()) {
      if (!make) return kNone;
      of.resize(std::max<std::size_t>(number + 1, of.size() * 2), kNone);
    }
    std::uint32_t& r = of[number];
    if (r == kNone && make) {
      FL_ASSERT(records_ < kNone);
      if (records_ % kChunkRecords == 0)
        chunks_.push_back(std::make_unique<std::uint64_t[]>(std::size_t{kChunkRecords} * words_));  // zeroed
      r = records_++;
    }
    return r;
  }
  std::uint64_t& word(std::uint32_t r, std::uint32_t slot) {
    return chunks_[r / kChunkRecords][std::size_t{r % kChunkRecords} * words_ + slot / 64];
  }

  std::uint32_t clients_;
  std::uint32_t words_;                                 // per record
  std::vector<std::vector<std::uint32_t>> by_author_;   // author -> number -> record, or kNone
  std::vector<std::unique_ptr<std::uint64_t[]>> chunks_;
  std::uint32_t records_ = 0;
  std::vector<PostIdSet> overflow_;                     // per slot: ids of another shape
};

}  // namespace fl
