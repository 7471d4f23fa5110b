// base/suggest: the distance (case-insensitive, adjacent swaps count one edit,
// long inputs capped) and the choice of a suggestion (threshold, unique prefix,
// ties to the earlier candidate, nothing for an exact name).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/suggest.h"

namespace fl {
namespace {

TEST(Suggest, DistanceIgnoresCaseAndCountsASwapAsOneEdit) {
  EXPECT_EQ(edit_distance("Crash", "crash"), 0u);
  EXPECT_EQ(edit_distance("crahs", "crash"), 1u);  // plain Levenshtein says 2
  EXPECT_EQ(edit_distance("leader_hihgest_id", "leader_highest_id"), 1u);
  EXPECT_EQ(edit_distance("abc", "cba"), 2u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Suggest, DistanceOfHugeInputsIsCappedAtTheirPrefix) {
  const std::string huge(1'000'000, 'a');
  EXPECT_EQ(edit_distance(huge, std::string(kSuggestMaxLength, 'a')), 0u);
  EXPECT_EQ(edit_distance(huge, ""), kSuggestMaxLength);
}

TEST(Suggest, ClosestNameThresholdsAndTies) {
  const std::vector<std::string> kinds = {"partition", "one_way", "crash", "restart", "heal"};
  EXPECT_EQ(closest_name("CRASH", kinds), "crash");      // case only
  EXPECT_EQ(closest_name("crahs", kinds), "crash");      // a swap
  EXPECT_FALSE(closest_name("crash", kinds));            // exact: nothing to suggest
  EXPECT_FALSE(closest_name("x", kinds));                // one letter suggests nothing
  // Long names stop at three edits however long they are.
  const std::vector<std::string> long_names = {"migration_by_first_starter"};
  EXPECT_EQ(closest_name("migration_by_frist_startr", long_names), "migration_by_first_starter");
  EXPECT_FALSE(closest_name("migration_at_last_starter", long_names));
  // Equal distances: the earlier candidate.
  const std::vector<std::string> tie = {"abcd", "abce"};
  EXPECT_EQ(closest_name("abcx", tie), "abcd");
  const std::vector<std::string> tie_reversed = {"abce", "abcd"};
  EXPECT_EQ(closest_name("abcx", tie_reversed), "abce");
}

TEST(Suggest, AnUnambiguousPrefixIsANearMiss) {
  const std::vector<std::string_view> names = {"single_leader", "leader_liveness", "job_exactly_once", "job_progress"};
  EXPECT_EQ(closest_name("single", names), "single_leader");
  EXPECT_EQ(closest_name("Leader_Live", names), "leader_liveness");
  EXPECT_FALSE(closest_name("job_", names));  // two candidates: ambiguous
  EXPECT_FALSE(closest_name("si", names));    // too short to mean anything
  EXPECT_EQ(did_you_mean("single", names), " (did you mean \"single_leader\"?)");
  EXPECT_EQ(did_you_mean("zzzzzz", names), "");
}

}  // namespace
}  // namespace fl
