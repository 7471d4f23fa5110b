// The SQL of live/pg_db.cc on a real PostgreSQL 15 (started for the test in a
// temporary folder, removed at the end): each answer is the one the simulated
// database (nodes/database.cc) gives for the same sequence of operations.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <libpq-fe.h>

#include "live/pg_async.h"
#include "live/pg_db.h"
#include "live/postgres.h"
#include "nodes/constants.h"

namespace fl::live {
namespace {

namespace fs = std::filesystem;

class PgDbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(std::string(kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
    dir_ = new std::string(fs::temp_directory_path() / ("fl-pgtest-" + std::to_string(::getpid())));
    server_ = new PostgresServer();
    std::string error;
    ASSERT_TRUE(server_->start(*dir_ + "/pg", 0, &error)) << error;
    ASSERT_TRUE(prepare_schema(server_->conninfo(), 10004, &error)) << error;
  }
  static void TearDownTestSuite() {
    delete server_;  // stops the server, removes its data folder
    server_ = nullptr;
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  static PostgresServer* server_;
  static std::string* dir_;
};
PostgresServer* PgDbTest::server_ = nullptr;
std::string* PgDbTest::dir_ = nullptr;

template <class T> const T& as(const DbReply& r) {
  EXPECT_TRUE(r.ok()) << db_status_name(r.status);
  const T* t = r.get<T>();
  EXPECT_NE(t, nullptr);
  static T empty{};
  return t ? *t : empty;
}

TEST_F(PgDbTest, MorphLockJudgedByTheClientsClock) {
  PgDatabase db(server_->conninfo(), 0);
  const std::string key(k::kMigrationLockKey);
  const Time t0 = time_from_ns(1'000'000'000'000);
  auto a = as<DbLockResult>(db.execute(DbLockAcquire{key, NodeId{0}, t0, k::kLockTtl, LockClock::client}));
  EXPECT_TRUE(a.acquired);
  EXPECT_FALSE(a.took_over);
  EXPECT_EQ(a.expire_at, t0 + k::kLockTtl);
  // Another server before expiry (by its own clock): refused, told the expiry.
  auto b = as<DbLockResult>(db.execute(DbLockAcquire{key, NodeId{1}, t0 + seconds(14), k::kLockTtl, LockClock::client}));
  EXPECT_FALSE(b.acquired);
  EXPECT_EQ(b.expire_at, t0 + k::kLockTtl);
  // A clock 15 s ahead reaches expireat: takes the lock over (the hazard).
  auto c = as<DbLockResult>(db.execute(DbLockAcquire{key, NodeId{1}, t0 + seconds(15), k::kLockTtl, LockClock::client}));
  EXPECT_TRUE(c.acquired);
  EXPECT_TRUE(c.took_over);
  // morph's refresh and release touch the row by key only.
  EXPECT_TRUE(db.execute(DbLockRefresh{key, NodeId{0}, t0, k::kLockTtl, LockClock::client}).ok());
  EXPECT_TRUE(db.execute(DbLockRelease{key, NodeId{0}, LockClock::client}).ok());
  EXPECT_EQ(db.execute(DbLockRefresh{key, NodeId{1}, t0, k::kLockTtl, LockClock::client}).status, DbStatus::conflict);
}

TEST_F(PgDbTest, MigrationsOnceWithTheirVersionRow) {
  PgDatabase db(server_->conninfo(), 0);
  EXPECT_EQ(as<DbSchema>(db.execute(DbSchemaRead{})).schema, 10004u);
  EXPECT_FALSE(as<DbMigrationResult>(db.execute(DbMigrationApply{10005, NodeId{0}})).already_applied);
  EXPECT_TRUE(as<DbMigrationResult>(db.execute(DbMigrationApply{10005, NodeId{1}})).already_applied);
  EXPECT_EQ(as<DbSchema>(db.execute(DbSchemaRead{})).schema, 10005u);
  // db_clock fencing: without the lock the migration is refused.
  EXPECT_EQ(db.execute(DbMigrationApply{10006, NodeId{1}, LockClock::database, true}).status, DbStatus::conflict);
}

TEST_F(PgDbTest, DiscoveryRegisterReplacesTheHostsOldRow) {
  PgDatabase db(server_->conninfo(), 0);
  DiscoveryRow row{0xfedcba9876543210ULL, "mattermost_app", "c", "app1", NodeId{0}, 1, 8074, {}, {}};
  ASSERT_TRUE(db.execute(DbDiscoveryRegister{row}).ok());
  row.id = 5;  // a restart: a new random id, the same host
  ASSERT_TRUE(db.execute(DbDiscoveryRegister{row}).ok());
  auto rows = as<DbDiscoveryRows>(db.execute(DbDiscoveryList{"mattermost_app", "c", k::kDiscoveryStaleAfter})).rows;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, 5u);
  EXPECT_EQ(rows[0].create_at, rows[0].last_ping_at);
  EXPECT_TRUE(db.execute(DbDiscoveryRefresh{5}).ok());
  EXPECT_EQ(db.execute(DbDiscoveryRefresh{0xfedcba9876543210ULL}).status, DbStatus::conflict);
}

TEST_F(PgDbTest, JobsCreateOnceAndClaimByCompareAndSet) {
  PgDatabase db(server_->conninfo(), 0);
  auto first = as<DbJobCreated>(db.execute(DbJobCreate{"ldap_sync", true}));
  EXPECT_TRUE(first.created);
  EXPECT_FALSE(as<DbJobCreated>(db.execute(DbJobCreate{"ldap_sync", true})).created);
  EXPECT_EQ(as<DbJobs>(db.execute(DbJobListPending{})).jobs.size(), 1u);
  EXPECT_TRUE(db.execute(DbJobClaim{first.job, NodeId{1}}).ok());
  EXPECT_EQ(db.execute(DbJobClaim{first.job, NodeId{2}}).status, DbStatus::conflict);
  EXPECT_TRUE(db.execute(DbJobSetStatus{first.job, JobStatus::success, NodeId{1}}).ok());
  EXPECT_TRUE(as<DbJobCreated>(db.execute(DbJobCreate{"ldap_sync", true})).created);
}

TEST_F(PgDbTest, LeaseByTheDatabasesClockAndPostsIdempotent) {
  PgDatabase db(server_->conninfo(), 0);
  EXPECT_TRUE(as<DbLeaseResult>(db.execute(DbLeaseAcquire{"l", NodeId{0}, seconds(30)})).held);
  auto other = as<DbLeaseResult>(db.execute(DbLeaseAcquire{"l", NodeId{1}, seconds(30)}));
  EXPECT_FALSE(other.held);
  EXPECT_EQ(other.holder, NodeId{0});
  EXPECT_TRUE(as<DbLeaseResult>(db.execute(DbLeaseAcquire{"l", NodeId{0}, seconds(30)})).held);  // renewal
  auto p1 = as<DbPostResult>(db.execute(DbPostInsert{PostRow{11, 2, 3, time_from_ns(5), 0}}));
  auto p2 = as<DbPostResult>(db.execute(DbPostInsert{PostRow{11, 2, 3, time_from_ns(5), 0}}));
  EXPECT_FALSE(p1.duplicate);
  EXPECT_TRUE(p2.duplicate);
  EXPECT_EQ(p1.lsn, p2.lsn);
  EXPECT_EQ(as<DbPosts>(db.execute(DbPostsSince{1ULL << 2, time_from_ns(0)})).posts.size(), 1u);
  EXPECT_TRUE(as<DbPosts>(db.execute(DbPostsSince{1ULL << 3, time_from_ns(0)})).posts.empty());
}

// ChannelMembers (issue 14), as nodes/database.cc: an insert is idempotent by
// (user, channel); the channels of a user come back as a mask (channel c =
// bit c), another user's not included.
TEST_F(PgDbTest, ChannelMembersIdempotentAndReadAsAMask) {
  PgDatabase db(server_->conninfo(), 0);
  const std::uint64_t user = 0xfedcba9876543210ULL;  // bit pattern kept through bigint
  EXPECT_EQ(as<DbChannelMask>(db.execute(DbChannelMembersOf{user})).mask, 0u);
  as<DbOk>(db.execute(DbChannelMemberInsert{ChannelMemberRow{user, 3, 0}}));
  ASSERT_TRUE(db.execute(DbChannelMemberInsert{ChannelMemberRow{user, 3, 0}}).ok());  // a retry
  ASSERT_TRUE(db.execute(DbChannelMemberInsert{ChannelMemberRow{user, 63, 0}}).ok());
  ASSERT_TRUE(db.execute(DbChannelMemberInsert{ChannelMemberRow{7, 5, 0}}).ok());
  EXPECT_EQ(as<DbChannelMask>(db.execute(DbChannelMembersOf{user})).mask, (1ULL << 3) | (1ULL << 63));
  EXPECT_EQ(as<DbChannelMask>(db.execute(DbChannelMembersOf{7})).mask, 1ULL << 5);
  // The retry took no new position in the write stream: the next post's lsn
  // follows the three memberships' (a shared sequence, as the model's log).
  PgDatabase fresh(server_->conninfo(), 0);
  const auto before = as<DbPostResult>(fresh.execute(DbPostInsert{PostRow{901, 0, 1, time_from_ns(1), 0}})).lsn;
  ASSERT_TRUE(db.execute(DbChannelMemberInsert{ChannelMemberRow{user, 3, 0}}).ok());
  const auto after = as<DbPostResult>(fresh.execute(DbPostInsert{PostRow{902, 0, 1, time_from_ns(1), 0}})).lsn;
  EXPECT_EQ(after, before + 1);
}

// The node runtime's database (live/pg_async.h) on one thread: a query held
// by a lock another client keeps does not hold the node's next request (it
// takes another session of the pool), nor the io_context (a timer fires
// meanwhile); once the lock goes, the held one is answered too. Requests to
// a member nobody runs answer connection_refused, never inside submit().
TEST_F(PgDbTest, RouterAnswersOthersWhileOneQueryWaits) {
  PGconn* holder = PQconnectdb(server_->conninfo().c_str());
  ASSERT_EQ(PQstatus(holder), CONNECTION_OK);
  PQclear(PQexec(holder, "BEGIN"));
  PGresult* locked = PQexec(holder, "LOCK TABLE Jobs IN ACCESS EXCLUSIVE MODE");
  ASSERT_EQ(PQresultStatus(locked), PGRES_COMMAND_OK);
  PQclear(locked);

  boost::asio::io_context io;
  const NodeId member{5};
  DbRouter router(io, {{member, server_->conninfo()}}, member, 0, [](const std::string&) {});
  std::vector<std::string> order;
  bool inside_submit = true;
  router.submit(RequestId{1}, DbRequest{DbTarget::cluster_endpoint(), DbJobListPending{}},
                [&](RequestId, const DbRequest&, const DbReply& r) {
                  EXPECT_TRUE(r.ok()) << db_status_name(r.status);
                  order.push_back("held");
                });
  router.submit(RequestId{2}, DbRequest{DbTarget::member(member), DbPing{}},
                [&](RequestId, const DbRequest&, const DbReply& r) {
                  EXPECT_TRUE(r.ok()) << db_status_name(r.status);
                  order.push_back("ping");
                });
  router.submit(RequestId{3}, DbRequest{DbTarget::member(NodeId{9}), DbPing{}},
                [&](RequestId, const DbRequest&, const DbReply& r) {
                  EXPECT_FALSE(inside_submit);
                  EXPECT_EQ(r.status, DbStatus::connection_refused);
                  order.push_back("nobody");
                });
  inside_submit = false;
  EXPECT_EQ(router.in_flight(), 3u);
  boost::asio::steady_timer timer(io, std::chrono::milliseconds(700));
  timer.async_wait([&](const boost::system::error_code&) {
    order.push_back("timer");
    PQclear(PQexec(holder, "COMMIT"));  // the lock goes: the held query runs
  });
  io.run();
  PQfinish(holder);
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order.back(), "held") << "the held query answered before the lock went";
  EXPECT_EQ(router.in_flight(), 0u);
}

// Replicas live: a pg_basebackup standby streams the primary's commits, answers
// reads and refuses writes (read_only, as the model's replica); after the
// primary's crash, pg_ctl promote makes it a primary that keeps what it had.
TEST(PgStandby, StreamsRefusesWritesAndIsPromoted) {
  if (!fs::exists(std::string(kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
  const std::string dir = fs::temp_directory_path() / ("fl-pgstandby-" + std::to_string(::getpid()));
  std::string error;
  {
    PostgresServer primary, standby;
    ASSERT_TRUE(primary.start(dir + "/primary", 0, &error)) << error;
    ASSERT_TRUE(prepare_schema(primary.conninfo(), 10004, &error)) << error;
    ASSERT_TRUE(standby.start_standby(primary, dir + "/standby", 0, &error)) << error;
    PgDatabase p(primary.conninfo(), 0), r(standby.conninfo(), 0);
    EXPECT_EQ(as<DbMemberState>(r.execute(DbMemberStatus{})).role, DbRole::replica);
    EXPECT_EQ(as<DbMemberState>(p.execute(DbMemberStatus{})).role, DbRole::primary);
    ASSERT_TRUE(p.execute(DbPostInsert{PostRow{7, 0, 1, time_from_ns(1), 0}}).ok());
    // Streamed within moments (loopback).
    std::size_t seen = 0;
    for (int i = 0; i < 100 && seen == 0; ++i) {
      seen = as<DbPosts>(r.execute(DbPostsSince{})).posts.size();
      if (seen == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(seen, 1u);
    EXPECT_EQ(r.execute(DbPostInsert{PostRow{8, 0, 1, time_from_ns(1), 0}}).status, DbStatus::read_only);
    EXPECT_EQ(r.execute(DbJobCreate{"t", true}).status, DbStatus::read_only);
    // The primary crashes; the standby is promoted and takes writes.
    EXPECT_TRUE(primary.crash());
    ASSERT_TRUE(standby.promote(&error)) << error;
    EXPECT_EQ(as<DbMemberState>(r.execute(DbMemberStatus{})).role, DbRole::primary);
    EXPECT_TRUE(r.execute(DbPostInsert{PostRow{8, 0, 1, time_from_ns(1), 0}}).ok());
    EXPECT_EQ(as<DbPosts>(r.execute(DbPostsSince{})).posts.size(), 2u);
  }  // both stopped, folders removed
  fs::remove_all(dir);
}

// Everything started is stopped, also when its owner dies without cleaning
// up (an assertion, SIGKILL): the server's reaper stops it. The owner here is
// a forked child that starts a server and _exits.
TEST(PgReaper, ServerStopsWhenItsOwnerDies) {
  if (!fs::exists(std::string(kPgBin) + "/initdb")) GTEST_SKIP() << "postgresql-15 not installed (scripts/setup)";
  const std::string dir = fs::temp_directory_path() / ("fl-pgreaper-" + std::to_string(::getpid()));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::uint16_t port = 0;
    {
      auto* pg = new PostgresServer();  // never destroyed: the owner "dies"
      std::string e;
      if (pg->start(dir + "/pg", 0, &e)) port = pg->port();
    }
    (void)!::write(fds[1], &port, sizeof port);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::uint16_t port = 0;
  ASSERT_EQ(::read(fds[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  ASSERT_NE(port, 0);
  PgDatabase db("host=127.0.0.1 port=" + std::to_string(port) + " user=postgres dbname=postgres connect_timeout=2", 0);
  DbStatus status = DbStatus::ok;
  for (int i = 0; i < 100 && status != DbStatus::connection_refused; ++i) {
    status = db.execute(DbPing{}).status;
    if (status != DbStatus::connection_refused) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, DbStatus::connection_refused);
  // Stopped to the end: the postmaster removed its pid file.
  for (int i = 0; i < 100 && fs::exists(dir + "/pg/postmaster.pid"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(fs::exists(dir + "/pg/postmaster.pid"));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(PgDbDown, RefusedConnectionIsConnectionRefused) {
  PgDatabase db("host=127.0.0.1 port=" + std::to_string(free_port()) + " user=postgres connect_timeout=2", 0);
  EXPECT_EQ(db.execute(DbPing{}).status, DbStatus::connection_refused);
}

}  // namespace
}  // namespace fl::live
