// session_revocation (issue 14, MM-68543) on hand-written histories: broken
// ones (a revoked session still served after the revocation reached every
// server) and correct ones (served only before, or on a new session).
#include <gtest/gtest.h>

#include "tests/invariants/history_builder.h"

namespace fl::inv::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t post(std::uint64_t client, std::uint64_t n) { return client << 32 | n; }

// Three servers serving, both clients connected to app2; at 100 s revocation 1
// of every session, ordered on app1 and applied by app1..app3 by 100.2 s.
struct Revoked {
  Hist h;
  std::uint64_t ordered = 0, last_apply = 0;
  explicit Revoked(NodeId who = kNoNode) {
    h.start_servers(0s);
    for (NodeId c : {h.client1, h.client2}) h.at(0s, c, ProcessStarted{});
    for (NodeId c : {h.client1, h.client2}) h.at(1s, c, ClientConnected{h.app2, 1, false});
    // Before the revocation: served.
    h.at(50s, h.client1, PostDelivered{post(2, 1), 0, "ws"});
    ordered = h.at(100s, h.app1, SessionRevoked{1, who});
    h.at(100s, h.app1, SessionRevocationApplied{1, who, 0});
    h.at(100100ms, h.app2, SessionRevocationApplied{1, who, 2});
    last_apply = h.at(100200ms, h.app3, SessionRevocationApplied{1, who, 0});
  }
};

TEST(SessionRevocation, NothingServedOnARevokedSessionHolds) {
  Revoked r;
  Hist& h = r.h;
  // Within the bound after it reached every server (in flight).
  h.at(101s, h.client1, ClientLoggedOut{1});
  h.at(110s, h.client2, PostDelivered{post(1, 2), 0, "ws"});
  // client1 logs in again: a session created after revocation 1 is served.
  h.at(111s, h.client1, ClientLoggedIn{1ULL << 32 | h.client1.value, 1});
  h.at(112s, h.client1, ClientConnected{h.app3, 7, false});
  h.at(150s, h.app3, PostAcked{post(1, 3), 0, h.client1});
  h.at(151s, h.client1, PostDelivered{post(1, 3), 0, "ack"});
  EXPECT_TRUE(h.check("session_revocation", 300s).empty());
}

TEST(SessionRevocation, EventOnARevokedSessionAfterTheBoundIsCaught) {
  Revoked r;
  Hist& h = r.h;
  h.at(110s, h.client2, PostDelivered{post(1, 2), 0, "ws"});      // within 30 s: in flight
  const auto late = h.at(140s, h.client2, PostDelivered{post(1, 3), 0, "ws"});
  h.at(145s, h.client2, PostDelivered{post(1, 4), 0, "ws"});      // same client: reported once
  const auto v = h.check("session_revocation", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at, T(140s));
  EXPECT_TRUE(names_node(v[0], h.client2));
  EXPECT_TRUE(names_node(v[0], h.app1));
  EXPECT_TRUE(has_witness(v[0], r.ordered));
  EXPECT_TRUE(has_witness(v[0], r.last_apply));
  EXPECT_TRUE(has_witness(v[0], late));
  EXPECT_NE(v[0].message.find("client2 received post 1:3 (via ws) at 2m20"), std::string::npos) << v[0].message;
  // Online: known at the delivery itself.
  EXPECT_EQ(h.check_online("session_revocation", late).size(), 1u);
  EXPECT_TRUE(h.check_online("session_revocation", late - 1).empty());
  // A larger bound forgives it.
  EXPECT_TRUE(h.check("session_revocation", 300s, {{"bound", seconds(60)}}).empty());
}

TEST(SessionRevocation, RequestAndUpgradeOnARevokedSessionAreCaught) {
  Revoked r;
  Hist& h = r.h;
  h.at(140s, h.app3, PostAcked{post(1, 5), 0, h.client1});
  h.at(150s, h.client2, ClientConnected{h.app1, 9, false});
  const auto v = h.check("session_revocation", 300s);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(names_node(v[0], h.client1));
  EXPECT_TRUE(names_node(v[0], h.app3));
  EXPECT_NE(v[0].message.find("accepted by app3"), std::string::npos) << v[0].message;
  EXPECT_TRUE(names_node(v[1], h.client2));
  EXPECT_NE(v[1].message.find("websocket accepted by app1"), std::string::npos) << v[1].message;
}

TEST(SessionRevocation, NotJudgedUntilEveryServingServerApplied) {
  Hist h;
  h.start_servers(0s);
  h.at(0s, h.client1, ProcessStarted{});
  h.at(100s, h.app1, SessionRevoked{1, kNoNode});
  h.at(100s, h.app1, SessionRevocationApplied{1, kNoNode, 0});
  h.at(100s, h.app2, SessionRevocationApplied{1, kNoNode, 0});
  // app3 never applies it (cut off): the revocation has not reached every server.
  h.at(200s, h.client1, PostDelivered{post(2, 1), 0, "ws"});
  EXPECT_TRUE(h.check("session_revocation", 300s).empty());
  // app3 crashes at 210 s: every server still serving has it from then on.
  h.at(210s, h.app3, ProcessCrashed{});
  h.at(230s, h.client1, PostDelivered{post(2, 2), 0, "ws"});  // within the bound
  const auto judged = h.at(241s, h.client1, PostDelivered{post(2, 3), 0, "ws"});
  auto v = h.check("session_revocation", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(has_witness(v[0], judged));
  // A restarted app3 serves again without it: not reached any more.
  Hist g = h;
  g.events.pop_back();
  g.at(232s, g.app3, ProcessStarted{});
  g.at(233s, g.app3, ServerServing{"10.4.1"});
  g.at(241s, g.client1, PostDelivered{post(2, 3), 0, "ws"});
  EXPECT_TRUE(g.check("session_revocation", 300s).empty());
  g.at(250s, g.app3, SessionRevocationApplied{1, kNoNode, 0});
  g.at(281s, g.client1, PostDelivered{post(2, 4), 0, "ws"});
  EXPECT_EQ(g.check("session_revocation", 300s).size(), 1u);
}

TEST(SessionRevocation, AUserRevocationCoversThatUserOnly) {
  Hist h;
  h.start_servers(0s);
  for (NodeId c : {h.client1, h.client2}) h.at(0s, c, ProcessStarted{});
  h.at(100s, h.app2, SessionRevoked{1, h.client1});
  for (NodeId s : {h.app1, h.app2, h.app3}) h.at(100s, s, SessionRevocationApplied{1, h.client1, 0});
  h.at(200s, h.client2, PostDelivered{post(1, 1), 0, "ws"});
  EXPECT_TRUE(h.check("session_revocation", 300s).empty());
  h.at(201s, h.client1, PostDelivered{post(2, 1), 0, "ws"});
  const auto v = h.check("session_revocation", 300s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(names_node(v[0], h.client1));
  EXPECT_NE(v[0].message.find("the sessions of client1"), std::string::npos) << v[0].message;
  // A restarted client1 starts with its first session again: still revoked
  // (one violation per client and revocation).
  h.at(210s, h.client1, ProcessStarted{});
  h.at(211s, h.client1, ClientConnected{h.app1, 3, false});
  EXPECT_EQ(h.check("session_revocation", 300s).size(), 1u);
}

}  // namespace
}  // namespace fl::inv::testing
