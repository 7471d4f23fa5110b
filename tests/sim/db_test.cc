// Database requests: routing by the cluster endpoint or a named member, endpoint
// moves, refused and timed-out connections, sessions dying with their member.
#include <gtest/gtest.h>

#include "sim/simulation.h"
#include "tests/sim/test_nodes.h"

namespace fl::sim {
namespace {
using namespace testing;

constexpr Duration kLat = milliseconds(5);
Time T(Duration d) { return kTimeZero + d; }

// An app node and two database members. Members answer after `think` (0 = at once).
struct Db {
  Simulation sim{5};
  Log app_log, m1_log, m2_log;
  NodeId app, m1, m2;
  Duration think{0};
  std::vector<RequestId> sent;
  explicit Db(Duration think_time = Duration{0}) : think(think_time) {
    sim.set_default_link(LinkConfig{{kLat, kLat}});
    app = sim.add_node("app", recorder(sim, app_log));
    m1 = sim.add_node("db1", recorder(sim, m1_log, member_hooks()));
    m2 = sim.add_node("db2", recorder(sim, m2_log, member_hooks()));
    for (NodeId n : {app, m1, m2}) sim.start(n);
  }
  Recorder::Hooks member_hooks() {
    Recorder::Hooks h;
    h.on_db_request = [this](Env& env, NodeId from, RequestId id, const DbRequest&) {
      if (think.count() == 0) {
        env.db_reply(from, id, DbReply{});
      } else {
        env.after(think, TimerTag{9, (static_cast<std::uint64_t>(from.value) << 32) | id.value});
      }
    };
    h.on_timer = [](Env& env, TimerId, TimerTag tag) {
      if (tag.kind == 9) env.db_reply(NodeId{static_cast<std::uint32_t>(tag.arg >> 32)}, RequestId{tag.arg & 0xffffffff}, DbReply{});
    };
    return h;
  }
  void request_at(Time at, DbTarget target) {
    sim.at(at, [this, target](Simulation& s) {
      DbRequest r;
      r.target = target;
      sent.push_back(static_cast<Recorder*>(s.node(app))->env()->db(r));
    });
  }
  std::vector<Input> replies() const { return app_log.of(Input::Kind::db_reply); }
};

TEST(DbRouting, EndpointRequestReachesThePrimaryAndTheAnswerComesBack) {
  Db db;
  db.sim.set_db_endpoint(db.m1);
  db.request_at(T(seconds(1)), DbTarget::cluster_endpoint());
  db.sim.run_until(T(seconds(2)));
  ASSERT_EQ(db.m1_log.of(Input::Kind::db_request).size(), 1u);
  EXPECT_TRUE(db.m2_log.of(Input::Kind::db_request).empty());
  const auto r = db.replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, DbStatus::ok);
  EXPECT_EQ(r[0].value, db.sent.at(0).value);
  EXPECT_EQ(r[0].virtual_at, T(seconds(1) + 2 * kLat));
}

TEST(DbRouting, MovingTheEndpointRedirectsLaterRequests) {
  Db db;
  db.sim.set_db_endpoint(db.m1);
  db.request_at(T(seconds(1)), DbTarget::cluster_endpoint());
  db.sim.at(T(seconds(2)), [&](Simulation&) {
    // Failover moves the DNS record, from inside a node (infrastructure).
    static_cast<Recorder*>(db.sim.node(db.m2))->env()->set_db_endpoint(db.m2);
  });
  db.request_at(T(seconds(3)), DbTarget::cluster_endpoint());
  db.request_at(T(seconds(3)), DbTarget::member(db.m1));
  db.sim.run_until(T(seconds(4)));
  EXPECT_EQ(db.sim.db_endpoint(), db.m2);
  EXPECT_EQ(db.m1_log.of(Input::Kind::db_request).size(), 2u);
  EXPECT_EQ(db.m2_log.of(Input::Kind::db_request).size(), 1u);
  EXPECT_EQ(db.replies().size(), 3u);
}

TEST(DbRouting, DeadMemberRefusesAfterOneRoundTrip) {
  Db db;
  db.sim.set_db_endpoint(db.m1);
  db.sim.crash(db.m1);
  db.request_at(T(seconds(1)), DbTarget::cluster_endpoint());
  db.sim.run_until(T(seconds(10)));
  const auto r = db.replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, DbStatus::connection_refused);
  EXPECT_EQ(r[0].virtual_at, T(seconds(1) + 2 * kLat));
}

TEST(DbRouting, UnreachableMemberTimesOutAfterConnectTimeout) {
  Db db;
  db.sim.partition({{db.app}, {db.m1, db.m2}});
  db.request_at(T(seconds(1)), DbTarget::member(db.m2));
  db.sim.run_until(T(seconds(10)));
  const auto r = db.replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, DbStatus::timeout);
  EXPECT_EQ(r[0].virtual_at, T(seconds(1) + kConnectTimeout));
  EXPECT_TRUE(db.m2_log.of(Input::Kind::db_request).empty());
}

TEST(DbRouting, MemberCrashingWithRequestsInFlightRefusesThem) {
  Db db(seconds(1));  // the member takes 1 s to answer
  db.request_at(T(seconds(1)), DbTarget::member(db.m1));
  db.request_at(T(seconds(1)), DbTarget::member(db.m1));
  db.sim.at(T(seconds(1) + milliseconds(500)), [&](Simulation& s) { s.crash(db.m1); });
  db.sim.run_until(T(seconds(10)));
  const auto r = db.replies();
  ASSERT_EQ(r.size(), 2u);
  for (const auto& reply : r) {
    EXPECT_EQ(reply.status, DbStatus::connection_refused);
    EXPECT_EQ(reply.virtual_at, T(seconds(1) + milliseconds(500) + kLat));
  }
}

TEST(DbRouting, RequestOnTheWireToAMemberThatCrashesIsRefusedOnce) {
  Db db;
  db.request_at(T(seconds(1)), DbTarget::member(db.m1));
  db.sim.at(T(seconds(1) + kLat / 2), [&](Simulation& s) { s.restart(db.m1, Duration{0}); });
  db.sim.run_until(T(seconds(10)));
  const auto r = db.replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, DbStatus::connection_refused);
  EXPECT_TRUE(db.m1_log.of(Input::Kind::db_request).empty());  // the new process never sees it
}

TEST(DbRouting, ReplyToARequesterThatCrashedIsDropped) {
  Db db(seconds(1));
  db.request_at(T(seconds(1)), DbTarget::member(db.m1));
  db.sim.at(T(seconds(1) + milliseconds(500)), [&](Simulation& s) { s.restart(db.app, Duration{0}); });
  db.sim.run_until(T(seconds(10)));
  EXPECT_TRUE(db.replies().empty());
  EXPECT_EQ(db.m1_log.of(Input::Kind::db_request).size(), 1u);
}

}  // namespace
}  // namespace fl::sim
