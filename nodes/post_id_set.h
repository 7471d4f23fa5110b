// A set of post ids, compact for the way ids are made: a post id is
// (author's client index << 32 | the author's post number), and each author
// numbers its posts 1, 2, 3, ... So the set is, per author, a bitmap indexed by
// post number: one bit per post instead of a 40-byte tree node, and an insert
// is an index by author plus a bit test. A client holds
// one of these for every post it has shown (the web app dedupes by post id);
// over the reference hour that is thousands of posts for each of 500 clients.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "base/assert.h"

namespace fl {

class PostIdSet {
 public:
  // Adds `id`; false when it was already there.
  bool insert(std::uint64_t id) {
    const auto author = static_cast<std::uint32_t>(id >> 32);
    const auto n = static_cast<std::uint32_t>(id);
    // Authors are client indexes: small and dense, so they index directly.
    FL_ASSERT(author < kMaxAuthors);
    if (author >= by_author_.size()) by_author_.resize(author + 1);
    std::vector<bool>& seen = by_author_[author];
    if (n >= seen.size()) seen.resize(std::max<std::size_t>(n + 1, seen.size() * 2), false);
    if (seen[n]) return false;
    seen[n] = true;
    ++size_;
    return true;
  }
  bool contains(std::uint64_t id) const {
    const auto author = static_cast<std::uint32_t>(id >> 32);
    const auto n = static_cast<std::uint32_t>(id);
    return author < by_author_.size() && n < by_author_[author].size() && by_author_[author][n];
  }
  std::size_t size() const { return size_; }

 private:
  // A scenario has at most this many clients (the loader's limit is far lower);
  // the assertion keeps a corrupt id from allocating gigabytes.
  static constexpr std::uint32_t kMaxAuthors = 1u << 20;
  std::vector<std::vector<bool>> by_author_;
  std::size_t size_ = 0;
};

}  // namespace fl
