// The seed's 15-second rule and red/green status, in the simulator.
#include <gtest/gtest.h>

#include "tests/support/cluster_dsl.h"

namespace fl::test {
namespace {

// app1's view of app3 when app3 is cut off for `length` at minute 2.
struct CutOutcome {
  std::vector<Seen<SendFailed>> failures;
  std::vector<Seen<PeerDown>> downs;
  std::vector<Seen<PeerUp>> ups;
  Time cut{}, heal{};
};

CutOutcome cut_app3(Duration length, bool bug) {
  TestCluster c({.app_servers = 3, .tweak = [bug](ClusterSpec& s) { s.bugs.set(Bug::down_after_one_failure, bug); }});
  c.run_for(minutes(2));
  CutOutcome out;
  out.cut = c.now();
  c.partition({"app1", "app2"}, {"app3"});
  c.run_for(length);
  out.heal = c.now();
  c.heal();
  c.run_for(minutes(1));
  const NodeId app3 = c.id("app3");
  for (auto& e : c.events<SendFailed>("app1")) if (e.event.peer == app3) out.failures.push_back(e);
  for (auto& e : c.events<PeerDown>("app1")) if (e.event.peer == app3) out.downs.push_back(e);
  for (auto& e : c.events<PeerUp>("app1")) if (e.event.peer == app3) out.ups.push_back(e);
  return out;
}

TEST(Gossip, PeerCutFor40sIsDownOnlyAtItsSecondFailedAttemptAndUpWithin15sOfHeal) {
  const CutOutcome o = cut_app3(seconds(40), /*bug=*/false);
  ASSERT_EQ(o.downs.size(), 1u);
  ASSERT_GE(o.failures.size(), 2u);
  const auto& first = o.failures[0];
  EXPECT_EQ(first.event.attempt, 1u);
  EXPECT_GT(first.at, o.cut);
  EXPECT_EQ(o.failures[1].event.attempt, 2u);
  EXPECT_EQ(o.downs[0].event.failed_attempts, 2u);
  // The second attempt is sent 15 s after the first failure; it fails after a
  // connect timeout at most.
  EXPECT_GE(o.downs[0].at - first.at, k::kGossipRetryInterval);
  EXPECT_LE(o.downs[0].at - first.at, k::kGossipRetryInterval + sim::kConnectTimeout + milliseconds(10));
  // Up again within one 15-s probe interval of the heal (plus a round trip).
  ASSERT_EQ(o.ups.size(), 1u);
  EXPECT_GT(o.ups[0].at, o.heal);
  EXPECT_LE(o.ups[0].at - o.heal, k::kGossipProbeInterval + milliseconds(10));
}

TEST(Gossip, PeerCutShorterThanTheRetryIsNeverMarkedDown) {
  const CutOutcome o = cut_app3(seconds(8), /*bug=*/false);
  EXPECT_FALSE(o.failures.empty());  // the cut was seen...
  EXPECT_TRUE(o.downs.empty());      // ...but the 15-s retry went through
}

TEST(Gossip, PlantedBugDownAfterOneFailureMarksDownAtTheFirstFailure) {
  const CutOutcome o = cut_app3(seconds(8), /*bug=*/true);
  ASSERT_FALSE(o.downs.empty());
  EXPECT_EQ(o.downs[0].event.failed_attempts, 1u);
  EXPECT_EQ(o.downs[0].at, o.failures[0].at);
}

TEST(Gossip, ConfigChangeOnOneServerTurnsItRedForItsPeersWhoKeepTalkingToIt) {
  TestCluster c({.app_servers = 3});
  c.run_for(minutes(2));
  c.control("app3", ControlOp{ControlOp::Kind::set_spec, "config.ServiceSettings.SiteURL", "https://x"});
  c.run_for(seconds(30));
  EXPECT_EQ(c.count<ConfigChanged>("app3"), 0u);  // edited on disk, not yet read
  c.control("app3", ControlOp{ControlOp::Kind::set_spec, "reload_config", ""});
  c.run_for(seconds(30));
  ASSERT_EQ(c.count<ConfigChanged>("app3"), 1u);
  auto red = [&](std::string_view viewer, std::string_view peer) {
    auto seen = c.events<PeerStatus>(viewer);
    for (auto it = seen.rbegin(); it != seen.rend(); ++it) {
      if (it->event.peer == c.id(peer)) return !it->event.green ? it->event.reason : std::string("green");
    }
    return std::string("unknown");
  };
  EXPECT_EQ(red("app1", "app3"), "config");
  EXPECT_EQ(red("app3", "app1"), "config");
  EXPECT_EQ(red("app1", "app2"), "green");
  EXPECT_TRUE(c.events<PeerDown>().empty());
  EXPECT_EQ(c.leaders(), names({"app1"}));
}

TEST(Gossip, DifferentPatchVersionIsRedButStillInTheCluster) {
  TestCluster c({.app_servers = 3, .tweak = [](ClusterSpec& s) { s.servers[2].version = Version{10, 4, 2}; }});
  c.run_for(minutes(2));
  bool red_version = false;
  for (auto& e : c.events<PeerStatus>("app1")) {
    if (e.event.peer == c.id("app3") && !e.event.green && e.event.reason == "version") red_version = true;
  }
  EXPECT_TRUE(red_version);
  ASSERT_FALSE(c.events<ElectionLost>("app3").empty());
  EXPECT_EQ(c.events<ElectionLost>("app3").back().event.leader, c.id("app1"));
}


// A black-holed link (100% loss, no refusal, no reset): nothing comes back, so
// each send fails at the gossip transport's request timeout, and the 15-s rule
// marks the peer down on both sides; the link's return brings it back up.
TEST(Gossip, BlackHoledLinkMarksThePeerDownByThe15sRule) {
  TestCluster c({.app_servers = 3});
  c.run_for(minutes(2));
  const Time holed = c.now();
  sim::LinkConfig hole = c.sim().default_link();
  hole.loss = 1.0;
  c.sim().set_link(c.id("app1"), c.id("app3"), hole);
  c.run_for(minutes(1));
  for (const auto& [who, peer] : {std::pair{"app1", "app3"}, std::pair{"app3", "app1"}}) {
    std::vector<Seen<SendFailed>> failures;
    for (const auto& f : c.events<SendFailed>(who)) {
      if (f.event.peer == c.id(peer)) failures.push_back(f);
    }
    ASSERT_EQ(failures.size(), 2u) << who << "\n" << c.dump(holed);
    EXPECT_GE(failures[0].at - holed, k::kGossipRequestTimeout);
    EXPECT_EQ(failures[1].at - failures[0].at, k::kGossipRetryInterval + k::kGossipRequestTimeout);
    ASSERT_EQ(c.count<PeerDown>(who), 1u) << who;
    EXPECT_EQ(c.events<PeerDown>(who)[0].event.peer, c.id(peer));
  }
  EXPECT_GT(c.sim().sends_timed_out(), 0u);
  EXPECT_EQ(c.count<PeerDown>("app2"), 0u);  // its links are whole
  c.sim().clear_link(c.id("app1"), c.id("app3"));
  c.run_for(seconds(30));
  EXPECT_EQ(c.count<PeerUp>("app1"), 1u);
  EXPECT_EQ(c.count<PeerUp>("app3"), 1u);
}

}  // namespace
}  // namespace fl::test
