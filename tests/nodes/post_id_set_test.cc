// The client's post-id set against std::set: the compact 8-byte words, the
// 16-byte overflow table (author 0 or >= 65,536, post number >= 2^21), and
// growth, on the same ids.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>

#include "nodes/post_id_set.h"

namespace fl {
namespace {

std::uint64_t id_of(std::uint64_t author, std::uint64_t number) { return author << 32 | number; }

TEST(PostIdSet, AgreesWithStdSetOnWordAndOverflowIds) {
  std::mt19937_64 rng(7);
  PostIdSet set;
  std::set<std::uint64_t> ref;
  for (int i = 0; i < 200000; ++i) {
    std::uint64_t author = 1 + rng() % 3000, number = 1 + rng() % 200;
    switch (rng() % 16) {
      case 0: author = 0; break;                          // overflow: author 0
      case 1: author = 65535 + rng() % 3; break;          // the word's last author, then overflow
      case 2: number = (1u << 21) - 2 + rng() % 4; break;  // the word's last numbers, then overflow
      case 3: number = 0xffffffffULL - rng() % 3; break;
      default: break;
    }
    const std::uint64_t id = id_of(author, number);
    ASSERT_EQ(set.contains(id), ref.count(id) == 1) << author << " " << number;
    ASSERT_EQ(set.insert(id), ref.insert(id).second) << author << " " << number;
    ASSERT_TRUE(set.contains(id));
    ASSERT_EQ(set.size(), ref.size());
  }
  // Near misses: the neighbours of a held id in the same word or block.
  for (std::uint64_t id : ref) {
    for (std::uint64_t other : {id + 1, id - 1, id ^ 32, id ^ (std::uint64_t{1} << 32)})
      ASSERT_EQ(set.contains(other), ref.count(other) == 1) << other;
  }
}

TEST(PostIdSet, SameNumberOfAnotherAuthorIsAnotherPost) {
  PostIdSet set;
  EXPECT_TRUE(set.insert(id_of(3, 5)));
  EXPECT_FALSE(set.insert(id_of(3, 5)));
  EXPECT_FALSE(set.contains(id_of(4, 5)));
  EXPECT_FALSE(set.contains(id_of(3, 6)));
  EXPECT_FALSE(set.contains(id_of(3, 5 + 32)));
  EXPECT_TRUE(set.insert(id_of(4, 5)));
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace fl
