// Cluster messages: a session revocation is sent reliably (resent with the
// 15-s retry after a broken connection), and nothing is queued for a peer that
// is down (REFERENCE.md, Inter-node messages; the seed's "Server is down").
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/cluster_dsl.h"

namespace fl::test {
namespace {

bool has(const std::vector<std::uint64_t>& v, std::uint64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

void login_everywhere(TestCluster& c, std::uint64_t session) {
  for (const char* app : {"app1", "app2", "app3"}) {
    c.control(app, ControlOp{ControlOp::Kind::set_spec, "session.cache", std::to_string(session)});
  }
}

TEST(Sessions, RevocationReachesEveryPeer) {
  TestCluster c({.app_servers = 3});
  c.run_for(minutes(1));
  login_everywhere(c, 42);
  c.run_for(seconds(1));
  ASSERT_TRUE(has(c.app("app3")->cached_sessions(), 42));
  c.control("app1", ControlOp{ControlOp::Kind::set_spec, "session.revoke", "42"});
  c.run_for(seconds(1));
  for (const char* app : {"app1", "app2", "app3"}) EXPECT_FALSE(has(c.app(app)->cached_sessions(), 42)) << app;
}

TEST(Sessions, RevocationLostWithABrokenConnectionIsResentWithTheRetry) {
  TestCluster c({.app_servers = 3});
  c.run_for(minutes(1));
  login_everywhere(c, 42);
  c.run_for(seconds(1));
  // app1 -> app3 breaks just as the revocation goes out; it heals before the
  // 15-s retry, so app3 is never marked down and gets the resend.
  c.cut("app1", "app3");
  c.control("app1", ControlOp{ControlOp::Kind::set_spec, "session.revoke", "42"});
  c.run_for(seconds(5));
  EXPECT_TRUE(has(c.app("app3")->cached_sessions(), 42));  // not yet
  EXPECT_FALSE(has(c.app("app2")->cached_sessions(), 42));
  c.heal();
  c.run_for(seconds(20));
  EXPECT_FALSE(has(c.app("app3")->cached_sessions(), 42));
  EXPECT_TRUE(c.events<PeerDown>("app1").empty());
}

TEST(Sessions, NothingIsQueuedForADownPeer) {
  TestCluster c({.app_servers = 3});
  c.run_for(minutes(1));
  login_everywhere(c, 42);
  c.run_for(seconds(1));
  c.partition({"app1", "app2"}, {"app3"});
  c.run_for(seconds(40));
  ASSERT_FALSE(c.events<PeerDown>("app1").empty());
  c.control("app1", ControlOp{ControlOp::Kind::set_spec, "session.revoke", "42"});
  c.run_for(seconds(5));
  c.heal();
  c.run_for(minutes(1));
  ASSERT_FALSE(c.events<PeerUp>("app1").empty());
  // app3 still trusts the revoked session (until its cache time runs out).
  EXPECT_TRUE(has(c.app("app3")->cached_sessions(), 42));
  EXPECT_FALSE(has(c.app("app2")->cached_sessions(), 42));
}

}  // namespace
}  // namespace fl::test
