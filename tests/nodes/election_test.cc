// The seed's bully election, in the simulator: lowest id wins, a partition
// elects a leader on each side, a heal brings back one leader.
#include <gtest/gtest.h>

#include <iostream>

#include "tests/support/cluster_dsl.h"

namespace fl::test {
namespace {

TEST(Election, ThreeServersElectApp1AndKeepIt) {
  TestCluster c({.app_servers = 3});
  c.run_for(minutes(5));
  EXPECT_EQ(c.serving(), names({"app1", "app2", "app3"}));
  EXPECT_EQ(c.leaders(), names({"app1"}));
  // Kept: app1 began leading once and never stopped.
  EXPECT_EQ(c.count<LeaderBegin>("app1"), 1u);
  EXPECT_EQ(c.count<LeaderEnd>("app1"), 0u);
  // After the start-up settles, never two leaders.
  EXPECT_EQ(c.max_simultaneous_leaders(time_from_ns(ns(minutes(2))), kTimeMax), 1u);
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
TEST(Debug, Dump) {
  TestCluster c({.app_servers = 3});
  c.run_for(minutes(2));
  std::cout << c.dump();
}
}  // namespace fl::test
