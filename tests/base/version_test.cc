#include "base/version.h"

#include <gtest/gtest.h>

namespace fl {
namespace {

TEST(Version, ParsesAndPrints) {
  auto v = parse_version("10.4.1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 10);
  EXPECT_EQ(v->minor, 4);
  EXPECT_EQ(v->patch, 1);
  EXPECT_EQ(v->str(), "10.4.1");
  EXPECT_FALSE(parse_version("10.4"));
  EXPECT_FALSE(parse_version("10.4.1.2"));
  EXPECT_FALSE(parse_version("v10.4.1"));
  EXPECT_FALSE(parse_version(""));
}

TEST(Version, MinorDistanceCountsSchemaSteps) {
  EXPECT_EQ(minor_distance(*parse_version("10.4.1"), *parse_version("10.4.2")), 0u);
  EXPECT_EQ(minor_distance(*parse_version("10.4.1"), *parse_version("10.5.0")), 1u);
  EXPECT_EQ(minor_distance(*parse_version("10.6.0"), *parse_version("10.4.9")), 2u);
  EXPECT_GT(minor_distance(*parse_version("9.11.0"), *parse_version("10.0.0")), 1u);
  EXPECT_LT(*parse_version("10.4.1"), *parse_version("10.10.0"));
}

}  // namespace
}  // namespace fl
