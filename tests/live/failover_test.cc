// Replicas and failover live.
//  - LiveDbFailover: harness/live_db's primary and two streaming standbys:
//    replica_lag holds a standby's applies back (recovery_min_apply_delay)
//    while it still receives; db_failover fences the primary, promotes the
//    standby that received the most WAL, and the other standby follows the new
//    primary's timeline; settle rebuilds the deposed primary as a standby.
//  - LiveFailover: scenarios/live/failover.toml through `faultline live`
//    (about 45 s): it passes, the failover happened, the running servers were
//    told the endpoint moved, and a server restarted after it served (its
//    start-up needs the database).
#include <gtest/gtest.h>

#include <algorithm>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/live_db.h"
#include "harness/live_run.h"
#include "harness/scenario_loader.h"
#include "live/pg_db.h"
#include "live/postgres.h"
#include "tests/live/live_helpers.h"

namespace fl::harness {
namespace {

using live_test::source_dir;
using live_test::read_all;

namespace fs = std::filesystem;

// Polls `member` until `post` is there or `limit` passed; true when seen.
bool sees_post(const std::string& conninfo, std::uint64_t post, std::chrono::milliseconds limit) {
  live::PgDatabase db(conninfo, 0);
  const auto end = std::chrono::steady_clock::now() + limit;
  do {
    const DbReply r = db.execute(DbPostsSince{});
    if (const auto* posts = r.get<DbPosts>())
      for (const auto& p : posts->posts)
        if (p.post == post) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < end);
  return false;
}

// The member's role as it says, or the error.
std::string role_of(live::PgDatabase& db) {
  const DbReply r = db.execute(DbMemberStatus{});
  const auto* s = r.get<DbMemberState>();
  if (!r.ok() || s == nullptr) return std::string("error: ") + db_status_name(r.status) + " " + db.last_error();
  return s->role == DbRole::primary ? "primary" : "replica";
}

TEST(LiveDbFailover, LagThenPromoteTheMostAdvancedAndTheOtherFollows) {
  if (!fs::exists(std::string(live::kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
  const std::string dir = (fs::temp_directory_path() / ("fl-livedb-" + std::to_string(::getpid()))).string();
  const NodeId primary{10}, r1{11}, r2{12};
  std::vector<HistoryEvent> events;
  std::vector<NodeId> moved;
  {
    LiveDb db;
    std::string error;
    ASSERT_TRUE(db.start(dir, {primary, r1, r2}, 10004, &error)) << error;
    db.set_hooks({[&](NodeId n, EventBody e) { events.push_back(HistoryEvent{0, {}, {}, n, std::move(e)}); },
                  [&](NodeId m) { moved.push_back(m); }, [](const std::string& line) { std::cerr << line << "\n"; }});
    auto info = db.conninfos();
    EXPECT_EQ(db.endpoint(), primary);
    live::PgDatabase p(info[primary], 0);
    ASSERT_TRUE(p.execute(DbPostInsert{PostRow{1, 0, 1, time_from_ns(1), 0}}).ok());
    EXPECT_TRUE(sees_post(info[r2], 1, std::chrono::seconds(5)));

    // replica_lag: r2 receives at once but applies 3 s late; r1 does not lag.
    ASSERT_TRUE(db.set_lag(r2, seconds(3), &error)) << error;
    ASSERT_TRUE(p.execute(DbPostInsert{PostRow{2, 0, 1, time_from_ns(1), 0}}).ok());
    EXPECT_TRUE(sees_post(info[r1], 2, std::chrono::seconds(2)));
    EXPECT_FALSE(sees_post(info[r2], 2, std::chrono::milliseconds(1500))) << "a lagging standby applied at once";
    EXPECT_TRUE(sees_post(info[r2], 2, std::chrono::seconds(5))) << "applied after the delay";
    // The lag off: the next commit is applied at once again.
    ASSERT_TRUE(db.set_lag(r2, Duration{0}, &error)) << error;
    ASSERT_TRUE(p.execute(DbPostInsert{PostRow{3, 0, 1, time_from_ns(1), 0}}).ok());
    EXPECT_TRUE(sees_post(info[r2], 3, std::chrono::seconds(2)));

    // db_failover: both standbys received everything; the tie goes to r1.
    NodeId promoted = kNoNode;
    ASSERT_EQ(db.failover(&promoted), "");
    EXPECT_EQ(promoted, r1);
    EXPECT_EQ(db.endpoint(), r1);
    ASSERT_EQ(moved.size(), 1u);
    EXPECT_EQ(moved[0], r1);
    EXPECT_TRUE(db.primary_down() == false);
    EXPECT_EQ(p.execute(DbPing{}).status, DbStatus::connection_refused) << "the old primary is fenced";
    live::PgDatabase np(info[r1], 0);
    EXPECT_EQ(role_of(np), "primary");
    ASSERT_TRUE(np.execute(DbPostInsert{PostRow{4, 0, 1, time_from_ns(1), 0}}).ok());
    // r2 was re-pointed: it streams the new primary's timeline.
    EXPECT_TRUE(sees_post(info[r2], 4, std::chrono::seconds(10))) << "r2 did not follow the new primary";
    live::PgDatabase s2(info[r2], 0);
    EXPECT_EQ(s2.execute(DbPostInsert{PostRow{5, 0, 1, time_from_ns(1), 0}}).status, DbStatus::read_only);

    // settle: the deposed primary comes back as a standby of r1.
    db.settle();
    EXPECT_EQ(role_of(p), "replica");
    EXPECT_TRUE(sees_post(info[primary], 4, std::chrono::seconds(5)));
    EXPECT_EQ(p.execute(DbPostInsert{PostRow{6, 0, 1, time_from_ns(1), 0}}).status, DbStatus::read_only);
  }  // every member stopped, folders removed
  bool crashed = false, promoted_event = false;
  for (const auto& e : events) {
    if (e.is<DbCrashed>() && e.node == primary) crashed = true;
    if (const auto* pr = e.get<Promoted>(); pr && e.node == r1 && pr->lsn > 0) promoted_event = true;
  }
  EXPECT_TRUE(crashed);
  EXPECT_TRUE(promoted_event);
  fs::remove_all(dir);
}

TEST(LiveFailover, FailoverScenarioPassesAndTheServersFollowTheEndpoint) {
  if (!fs::exists(std::string(live::kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
  LoadResult loaded = load_scenario(source_dir() + "/scenarios/live/failover.toml");
  ASSERT_TRUE(loaded.ok());
  LiveOptions o;
  o.node_binary = FL_FAULTLINE_BINARY;
  o.base_port = live::free_port_range(3);
  o.http_port = live::free_port_range(3);
  ASSERT_NE(o.base_port, 0);
  ASSERT_NE(o.http_port, 0);
  const std::string dir = (fs::temp_directory_path() / ("fl-livefailover-" + std::to_string(::getpid()))).string();
  o.work_dir = dir;
  std::stringstream err;
  const LiveResult r = run_live(*loaded.scenario, o, err);
  const std::string app1_log = read_all(dir + "/app1.log"), app2_log = read_all(dir + "/app2.log");
  fs::remove_all(dir);
  ASSERT_EQ(r.exit_code, 0) << r.line << "\n" << err.str();
  EXPECT_TRUE(r.skipped.empty()) << r.skipped.front();

  auto name = [&](NodeId n) { return n.value < r.node_names.size() ? r.node_names[n.value] : "-"; };
  std::optional<Time> promoted_at;
  bool primary_crashed = false, replica2_crashed = false, app3_served_after = false, failover_effective = false;
  std::string trace;
  for (const auto& e : r.history) {
    if (e.is<DbCrashed>() || e.is<Promoted>() || e.is<FaultInjected>() || e.is<ServerServing>() || e.is<SettleBegin>())
      trace += format_duration(e.at.time_since_epoch()) + " " + name(e.node) + " " + std::string(e.name()) + "\n";
    if (e.is<DbCrashed>() && name(e.node) == "db-primary") primary_crashed = true;
    if (e.is<DbCrashed>() && name(e.node) == "db-replica2") replica2_crashed = true;
    if (e.is<Promoted>() && name(e.node) == "db-replica1") promoted_at = e.at;
    if (const auto* f = e.get<FaultInjected>(); f && f->kind == "db_failover") failover_effective = f->effective;
    if (e.is<ServerServing>() && name(e.node) == "app3" && promoted_at) app3_served_after = true;
  }
  EXPECT_TRUE(primary_crashed) << trace;
  EXPECT_TRUE(promoted_at.has_value()) << trace;
  EXPECT_TRUE(failover_effective) << trace;
  EXPECT_TRUE(replica2_crashed) << trace;
  EXPECT_TRUE(app3_served_after) << trace;
  // The servers running through the failover were told (`endpoint ID`).
  const auto replica1 = std::find(r.node_names.begin(), r.node_names.end(), "db-replica1");
  ASSERT_NE(replica1, r.node_names.end());
  const std::string moved = "database endpoint -> member " + std::to_string(replica1 - r.node_names.begin());
  EXPECT_NE(app1_log.find(moved), std::string::npos) << app1_log;
  EXPECT_NE(app2_log.find(moved), std::string::npos) << app2_log;
}

}  // namespace
}  // namespace fl::harness
