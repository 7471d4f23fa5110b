// The post-id set against std::set (blocks of 64 posts, any author below
// 2^20 and any post number, growth), and the clients' shared store of shown
// posts (nodes/shown_posts.h) against a std::set per client, with forget.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "nodes/post_id_set.h"
#include "nodes/shown_posts.h"

namespace fl {
namespace {

std::uint64_t id_of(std::uint64_t author, std::uint64_t number) { return author << 32 | number; }

TEST(PostIdSet, AgreesWithStdSet) {
  std::mt19937_64 rng(7);
  PostIdSet set;
  std::set<std::uint64_t> ref;
  for (int i = 0; i < 200000; ++i) {
    std::uint64_t author = 1 + rng() % 3000, number = 1 + rng() % 200;
    switch (rng() % 16) {
      case 0: author = 0; break;
      case 1: author = (1u << 20) - 1 - rng() % 3; break;  // the last authors
      case 2: number = 0xffffffffULL - rng() % 3; break;   // the last numbers of a block
      default: break;
    }
    const std::uint64_t id = id_of(author, number);
    ASSERT_EQ(set.contains(id), ref.count(id) == 1) << author << " " << number;
    ASSERT_EQ(set.insert(id), ref.insert(id).second) << author << " " << number;
    ASSERT_TRUE(set.contains(id));
    ASSERT_EQ(set.size(), ref.size());
  }
  // Near misses: the neighbours of a held id in the same block or the next.
  for (std::uint64_t id : ref) {
    for (std::uint64_t other : {id + 1, id - 1, id ^ 64, id ^ (std::uint64_t{1} << 32)})
      ASSERT_EQ(set.contains(other), ref.count(other) == 1) << other;
  }
}

TEST(PostIdSet, SameNumberOfAnotherAuthorIsAnotherPost) {
  PostIdSet set;
  EXPECT_TRUE(set.insert(id_of(3, 5)));
  EXPECT_FALSE(set.insert(id_of(3, 5)));
  EXPECT_FALSE(set.contains(id_of(4, 5)));
  EXPECT_FALSE(set.contains(id_of(3, 6)));
  EXPECT_FALSE(set.contains(id_of(3, 5 + 64)));
  EXPECT_TRUE(set.insert(id_of(4, 5)));
  EXPECT_EQ(set.size(), 2u);
}

TEST(ShownPosts, AgreesWithASetPerClientAndForgetClearsOneClientOnly) {
  std::mt19937_64 rng(11);
  constexpr std::uint32_t kClients = 130;  // three words per record, the last one partly used
  ShownPosts store(kClients);
  std::vector<std::set<std::uint64_t>> ref(kClients);
  auto check_all = [&](std::uint64_t id) {
    for (std::uint32_t c = 0; c < kClients; ++c) ASSERT_EQ(store.contains(c, id), ref[c].count(id) == 1) << c << " " << id;
  };
  for (int i = 0; i < 60000; ++i) {
    std::uint64_t author = 1 + rng() % 200, number = 1 + rng() % 40;
    switch (rng() % 20) {
      case 0: author = 0; break;                                // another shape: author 0
      case 1: author = (1u << 16) - 1 + rng() % 3; break;       // the last author, then beyond
      case 2: number = (1u << 16) - 2 + rng() % 4; break;       // the last numbers, then beyond
      case 3: number = 0xffffffffULL - rng() % 3; break;
      default: break;
    }
    const std::uint64_t id = id_of(author, number);
    const auto c = static_cast<std::uint32_t>(rng() % kClients);
    ASSERT_EQ(store.contains(c, id), ref[c].count(id) == 1);
    ASSERT_EQ(store.insert(c, id), ref[c].insert(id).second) << c << " " << author << " " << number;
    ASSERT_TRUE(store.contains(c, id));
    if (i % 5000 == 0) {
      check_all(id);
      // A client restarts: it holds nothing; the others keep theirs.
      const auto gone = static_cast<std::uint32_t>(rng() % kClients);
      store.forget(gone);
      ref[gone].clear();
      check_all(id);
    }
  }
  // Every id any client holds, asked of every client (more than one chunk of
  // records: 200 authors x 40 numbers).
  std::set<std::uint64_t> all;
  for (const auto& r : ref) all.insert(r.begin(), r.end());
  EXPECT_GT(all.size(), 2048u);
  for (std::uint64_t id : all) check_all(id);
}

TEST(ShownPosts, OneClientsPostIsNotAnothers) {
  ShownPosts store(70);
  EXPECT_TRUE(store.insert(69, id_of(3, 5)));
  EXPECT_FALSE(store.insert(69, id_of(3, 5)));
  EXPECT_FALSE(store.contains(5, id_of(3, 5)));   // another word of the record
  EXPECT_FALSE(store.contains(68, id_of(3, 5)));  // the same word, another bit
  EXPECT_FALSE(store.contains(69, id_of(4, 5)));
  EXPECT_FALSE(store.contains(69, id_of(3, 6)));
  EXPECT_TRUE(store.insert(68, id_of(3, 5)));
  store.forget(69);
  EXPECT_FALSE(store.contains(69, id_of(3, 5)));
  EXPECT_TRUE(store.contains(68, id_of(3, 5)));
  EXPECT_TRUE(store.insert(69, id_of(3, 5)));
}

}  // namespace
}  // namespace fl
