// `faultline live --compare`'s judgement, on outcomes made by hand: the same
// story with times within the noise is not flagged; another leader, a leader
// or a down-marking on one side only, a time beyond the noise, another count
// and another verdict are. (The end-to-end run: cluster_test.cc.)
#include <gtest/gtest.h>

#include "harness/live_run.h"

namespace fl::harness {
namespace {

Time at(double s) { return kTimeZero + Duration{static_cast<std::int64_t>(s * 1e9)}; }

Outcomes story() {
  Outcomes o;
  o.leaders = {{"app1", at(3.8)}, {"app2", at(28.8)}};
  o.migrations = {{"app1", 10005, at(0.1)}};
  o.downs = {{"app3", "app1", at(25.0)}, {"app2", "app1", at(26.8)}};
  o.verdicts = {{"single_leader", std::nullopt}, {"leader_liveness", std::nullopt}};
  return o;
}

std::size_t count(const std::vector<CompareRow>& rows, CompareRow::Mark m) {
  std::size_t n = 0;
  for (const auto& r : rows) n += r.mark == m;
  return n;
}

CompareRow row(const std::vector<CompareRow>& rows, const std::string& what) {
  for (const auto& r : rows)
    if (r.what == what) return r;
  CompareRow none{"(missing)", "", ""};
  ADD_FAILURE() << "no row " << what;
  return none;
}

TEST(LiveCompare, SameStoryWithinNoiseIsNotFlagged) {
  Outcomes live = story();
  live.leaders[0].begin = at(4.1);
  live.leaders[1].begin = at(24.0);      // 4.8 s earlier: the ping phase
  live.downs = {{"app2", "app1", at(22.0)}, {"app3", "app1", at(25.2)}};  // other order: matched by who
  const auto rows = compare_outcomes(story(), live);
  EXPECT_EQ(count(rows, CompareRow::Mark::differs), 0u);
  EXPECT_EQ(row(rows, "leader #1").mark, CompareRow::Mark::noise);
  EXPECT_EQ(row(rows, "app2 marks app1 down").mark, CompareRow::Mark::noise);
  EXPECT_EQ(row(rows, "single_leader").mark, CompareRow::Mark::same);
  // Identical outcomes: all "=".
  EXPECT_EQ(count(compare_outcomes(story(), story()), CompareRow::Mark::same), compare_outcomes(story(), story()).size());
}

TEST(LiveCompare, EachKindOfDifferenceIsFlagged) {
  {
    Outcomes live = story();
    live.leaders[1].leader = "app3";
    EXPECT_EQ(row(compare_outcomes(story(), live), "leader #2").mark, CompareRow::Mark::differs);
  }
  {
    Outcomes live = story();
    live.leaders.pop_back();
    const auto r = row(compare_outcomes(story(), live), "leader #2");
    EXPECT_EQ(r.mark, CompareRow::Mark::differs);
    EXPECT_EQ(r.why, "only in the simulator");
  }
  {
    Outcomes live = story();
    live.leaders[1].begin = at(28.8 + 6.5);  // beyond the 6 s of noise
    EXPECT_EQ(row(compare_outcomes(story(), live), "leader #2").mark, CompareRow::Mark::differs);
  }
  {
    Outcomes live = story();
    live.migrations[0].by = "app2";
    EXPECT_EQ(row(compare_outcomes(story(), live), "migration #1").why, "another server");
  }
  {
    // A database failover: the same member within noise is not flagged;
    // another member, or a promotion on one side only, is.
    Outcomes sim = story(), live = story();
    sim.promotions = {{"db-replica1", at(12.0)}};
    live.promotions = {{"db-replica1", at(12.9)}};
    EXPECT_EQ(row(compare_outcomes(sim, live), "promotion #1").mark, CompareRow::Mark::noise);
    live.promotions[0].member = "db-replica2";
    EXPECT_EQ(row(compare_outcomes(sim, live), "promotion #1").why, "another member");
    live.promotions.clear();
    EXPECT_EQ(row(compare_outcomes(sim, live), "promotion #1").why, "only in the simulator");
  }
  {
    Outcomes live = story();
    live.downs.push_back({"app1", "app3", at(30)});
    const auto rows = compare_outcomes(story(), live);
    EXPECT_EQ(row(rows, "app1 marks app3 down").why, "only live");
    EXPECT_EQ(count(rows, CompareRow::Mark::differs), 1u);
  }
  {
    Outcomes live = story();
    live.posts_acked = 3;
    EXPECT_EQ(row(compare_outcomes(story(), live), "posts acknowledged").mark, CompareRow::Mark::differs);
  }
  {
    // With clients, each side draws its own post times: counts within one
    // post per client (deliveries: times the clients) are noise, beyond differ.
    Outcomes sim = story(), live = story();
    sim.clients = live.clients = 6;
    sim.posts_acked = 63, live.posts_acked = 62;
    sim.posts_delivered = 378, live.posts_delivered = 372;
    auto rows = compare_outcomes(sim, live);
    EXPECT_EQ(row(rows, "posts acknowledged").mark, CompareRow::Mark::noise);
    EXPECT_EQ(row(rows, "posts delivered").mark, CompareRow::Mark::noise);
    live.posts_acked = 56, live.posts_delivered = 341;
    rows = compare_outcomes(sim, live);
    EXPECT_EQ(row(rows, "posts acknowledged").mark, CompareRow::Mark::differs);
    EXPECT_EQ(row(rows, "posts delivered").mark, CompareRow::Mark::differs);
  }
  {
    // Posting begins at the first websocket open, which waits for the proxy's
    // first passed health check: up to the timing noise apart. With a post
    // every 2 s, 6 s of noise is 3 posts more per client (plus the one of the
    // draw): 24 acknowledged, 24 x 6 delivered. CI saw 56 against 77 when the
    // live servers came up just before the proxy's first check.
    Outcomes sim = story(), live = story();
    sim.clients = live.clients = 6;
    sim.post_interval = live.post_interval = seconds(2);
    sim.first_post = at(7.5), live.first_post = at(2.4);
    sim.posts_acked = 56, live.posts_acked = 77;
    sim.posts_delivered = 336, live.posts_delivered = 462;
    auto rows = compare_outcomes(sim, live);
    EXPECT_EQ(row(rows, "clients begin posting").mark, CompareRow::Mark::noise);
    EXPECT_EQ(row(rows, "posts acknowledged").mark, CompareRow::Mark::noise);
    EXPECT_EQ(row(rows, "posts delivered").mark, CompareRow::Mark::noise);
    live.posts_acked = 56 + 25, live.posts_delivered = 336 + 145;
    rows = compare_outcomes(sim, live);
    EXPECT_EQ(row(rows, "posts acknowledged").mark, CompareRow::Mark::differs);
    EXPECT_EQ(row(rows, "posts delivered").mark, CompareRow::Mark::differs);
    live.first_post = at(7.5 + 6.5);  // beyond the noise: flagged on its own row
    EXPECT_EQ(row(compare_outcomes(sim, live), "clients begin posting").mark, CompareRow::Mark::differs);
    live.first_post.reset();
    EXPECT_EQ(row(compare_outcomes(sim, live), "clients begin posting").why, "only in the simulator");
  }
  {
    Outcomes live = story();
    live.verdicts["single_leader"] = at(12);
    const auto r = row(compare_outcomes(story(), live), "single_leader");
    EXPECT_EQ(r.mark, CompareRow::Mark::differs);
    EXPECT_EQ(r.live, "violated at 12s");
  }
}

TEST(LiveCompare, TimeScaledScalesTheScenariosOwnTimesOnly) {
  Scenario s;
  s.duration = seconds(32);
  s.settle = seconds(8);
  Fault f;
  f.kind = FaultKind::crash;
  f.at = kTimeZero + seconds(7);
  f.restart_after = seconds(10);
  s.faults.push_back(f);
  const Scenario h = time_scaled(s, 0.5);
  EXPECT_EQ(h.duration, seconds(16));
  EXPECT_EQ(h.settle, seconds(4));
  EXPECT_EQ(h.faults[0].at, kTimeZero + milliseconds(3500));
  EXPECT_EQ(h.faults[0].restart_after, seconds(5));
  EXPECT_EQ(time_scaled(s, 1.0).duration, seconds(32));
}

}  // namespace
}  // namespace fl::harness
