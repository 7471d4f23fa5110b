// The planted-bug catalogue, the spec's config hash, determinism, and the
// purity of nodes/ (no wall clock, no <random>, no threads, no I/O).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/cluster_dsl.h"

namespace fl::test {
namespace {

TEST(Bugs, CatalogueHasTheTenNamesOfModelMdEachParsingBack) {
  const char* expected[] = {"migration_without_lock", "leader_highest_id", "down_after_one_failure",
                            "job_claim_without_cas", "create_job_without_once", "join_across_two_minors",
                            "no_missed_message_replay", "ack_before_commit", "proxy_ignores_health",
                            "sequence_reset_without_hello",
                            // issue 14: real incidents, appended
                            "mm_55485", "mm_58355", "mm_59911", "mm_17762", "mm_61904", "mm_68543",
                            "mm_10502", "mm_17508"};
  ASSERT_EQ(bug_catalogue().size(), std::size(expected));
  for (std::size_t i = 0; i < std::size(expected); ++i) {
    const auto bug = parse_bug(expected[i]);
    ASSERT_TRUE(bug.has_value()) << expected[i];
    EXPECT_EQ(bug_name(*bug), expected[i]);
    EXPECT_FALSE(bug_catalogue()[i].description.empty());
  }
  EXPECT_FALSE(parse_bug("leader_lowest_id").has_value());
  EXPECT_FALSE(parse_bug("").has_value());
}

// Issue 14: the pre-fix behaviour of each channel-membership incident, named
// for its ticket, appended after the ten.
TEST(Bugs, ChannelMembershipIncidentsParseBack) {
  for (const char* name : {"mm_55485", "mm_58355", "mm_59911"}) {
    const auto bug = parse_bug(name);
    ASSERT_TRUE(bug.has_value()) << name;
    EXPECT_EQ(bug_name(*bug), name);
    EXPECT_GE(static_cast<std::size_t>(*bug), 10u);
    const std::string ticket = "MM-" + std::string(name).substr(3);
    EXPECT_NE(bug_catalogue()[static_cast<std::size_t>(*bug)].description.find(ticket), std::string::npos) << name;
  }
}

TEST(Bugs, OffByDefaultOnByName) {
  BugSet none;
  EXPECT_TRUE(none.empty());
  for (const auto& info : bug_catalogue()) EXPECT_FALSE(none.on(info.bug));
  EXPECT_TRUE(ClusterSpec{}.bugs.empty());
  BugSet some;
  some.set(Bug::job_claim_without_cas);
  some.set(Bug::leader_highest_id);
  EXPECT_TRUE(some.on(Bug::leader_highest_id));
  EXPECT_FALSE(some.on(Bug::migration_without_lock));
  EXPECT_EQ(some.str(), "leader_highest_id,job_claim_without_cas");
}

TEST(Spec, ConfigHashDependsOnContentOnly) {
  ServerSpec a, b;
  a.config["A.x"] = "1";
  a.config["B.y"] = "2";
  b.config["B.y"] = "2";
  b.config["A.x"] = "1";
  EXPECT_EQ(a.config_hash(), b.config_hash());
  b.config["A.x"] = "3";
  EXPECT_NE(a.config_hash(), b.config_hash());
  // "k=v" boundaries matter: {"a": "b=c"} is not {"a=b": "c"}.
  ServerSpec c, d;
  c.config["a"] = "b=c";
  d.config["a=b"] = "c";
  EXPECT_NE(c.config_hash(), d.config_hash());
}

TEST(Spec, InitialSchemaIsTheLowestServerVersionUnlessSet) {
  ClusterSpec s = default_cluster_spec(3, Version{10, 5, 0});
  s.servers[1].version = Version{10, 4, 3};
  EXPECT_EQ(s.initial_schema(), (Version{10, 4, 0}.schema()));
  s.database.initial_schema = 7;
  EXPECT_EQ(s.initial_schema(), 7u);
}

std::uint64_t run_hash(std::uint64_t seed) {
  TestCluster c({.app_servers = 3, .seed = seed, .tweak = [](ClusterSpec& s) {
                   s.jobs = {{"report", minutes(1), seconds(10)}};
                 }});
  c.run_for(minutes(2));
  c.partition({"app1"}, {"app2", "app3"});
  c.run_for(minutes(2));
  c.heal();
  c.crash("db-primary");
  c.run_for(minutes(3));
  return c.sim().trace_hash();
}

TEST(Determinism, SameSeedSameHistory) {
  EXPECT_EQ(run_hash(7), run_hash(7));
  EXPECT_NE(run_hash(7), run_hash(8));
}

TEST(Purity, NodesNameNoWallClockRandomThreadOrIo) {
  const char* root = std::getenv("FL_SOURCE_DIR");
  const std::filesystem::path dir = std::filesystem::path(root ? root : ".") / "nodes";
  ASSERT_TRUE(std::filesystem::exists(dir)) << "run with FL_SOURCE_DIR set (ctest does)";
  const char* banned[] = {"system_clock", "steady_clock", "high_resolution_clock", "<random>", "<thread>",
                          "std::thread", "getenv", "rand(", "srand(", "time(nullptr)", "boost/asio",
                          "libpq", "<fstream>", "sleep_for", "unordered_map", "unordered_set"};
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto ext = entry.path().extension();
    if (ext != ".h" && ext != ".cc") continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    for (const char* word : banned) {
      EXPECT_EQ(text.str().find(word), std::string::npos) << entry.path() << " names " << word;
    }
  }
  EXPECT_GT(files, 10u);
}

}  // namespace
}  // namespace fl::test
