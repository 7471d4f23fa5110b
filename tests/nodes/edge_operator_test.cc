// The operator's runbooks (the seed's upgrade guide) against a live cluster.
#include <gtest/gtest.h>

#include "tests/nodes/edge_support.h"

namespace fl::test {
namespace {

Time at_s(int s) { return time_from_ns(ns(seconds(s))); }

OperatorAction runbook(OperatorRunbook rb, Duration at, Version to) {
  OperatorAction a;
  a.at = at;
  a.runbook = rb;
  a.version = to;
  return a;
}

std::vector<std::string> steps(const TestCluster& c) {
  std::vector<std::string> out;
  for (const auto& s : c.events<OperatorStep>()) out.push_back(s.event.step + " " + s.event.detail);
  return out;
}

TEST(EdgeOperator, RollingUpdateOfAPatchReleaseKeepsEveryPost) {
  TestCluster c({.app_servers = 3, .replicas = 1, .tweak = with_clients(12, seconds(5), minutes(4), [](ClusterSpec& s) {
                   sync_replication(s);
                   s.operator_.actions.push_back(runbook(OperatorRunbook::rolling_upgrade, seconds(60), Version{10, 4, 2}));
                 })});
  c.run_until(at_s(420));
  const auto done = steps(c);
  ASSERT_FALSE(done.empty());
  EXPECT_EQ(done.back(), "done 10.4.2");
  // Every server came back serving the new version.
  std::set<std::string> upgraded;
  for (const auto& s : c.events<ServerServing>())
    if (s.event.version == "10.4.2") upgraded.insert(c.name(s.node));
  EXPECT_EQ(upgraded, (std::set<std::string>{"app1", "app2", "app3"}));
  // Every post a client sent was acknowledged, and reached every member once.
  std::set<std::uint64_t> sent, acked;
  for (const auto& s : c.events<PostSent>()) sent.insert(s.event.post);
  for (const auto& s : c.events<PostAckReceived>()) acked.insert(s.event.post);
  EXPECT_EQ(sent, acked);
  const PostBook book(c);
  EXPECT_TRUE(book.not_exactly_once(c).empty()) << book.not_exactly_once(c).front();
  // The servers were really stopped while clients were posting.
  EXPECT_EQ(c.count<ProcessStopped>(), 3u);
}

TEST(EdgeOperator, StopAllUpgradeWithASchemaChangeIsMigratedOnceByTheFirstServerStarted) {
  TestCluster c({.app_servers = 3, .replicas = 1, .tweak = with_clients(6, seconds(10), minutes(5), [](ClusterSpec& s) {
                   s.operator_.actions.push_back(
                       runbook(OperatorRunbook::upgrade_with_schema_change, seconds(60), Version{10, 5, 0}));
                 })});
  c.run_until(at_s(480));
  const auto done = steps(c);
  ASSERT_FALSE(done.empty());
  EXPECT_EQ(done.back(), "done 10.5.0");
  const auto applied = c.events<MigrationApplied>();
  ASSERT_EQ(applied.size(), 1u) << c.dump();
  EXPECT_EQ(applied[0].event.schema, Version(10, 5, 0).schema());
  // The first server the operator started after the upgrade.
  std::string first_started;
  for (const auto& s : c.events<OperatorStep>())
    if (s.event.step == "start" && first_started.empty()) first_started = s.event.detail;
  EXPECT_EQ(c.name(applied[0].node), first_started);
  // The proxy was down while the servers were; clients came back afterwards.
  EXPECT_EQ(c.count<ProcessStopped>("proxy"), 1u);
  std::size_t back = 0;
  for (const auto& e : c.events<ClientConnected>())
    if (e.at > applied[0].at) ++back;
  EXPECT_GE(back, 6u);
}

TEST(EdgeOperator, AnUpgradeThatSkipsAMinorVersionIsRefused) {
  auto run = [](bool allow) {
    TestCluster c({.app_servers = 2, .replicas = 1, .tweak = [allow](ClusterSpec& s) {
                     s.allow_unsupported_upgrades = allow;
                     OperatorAction a;
                     a.at = seconds(30);
                     a.step = OperatorStepKind::upgrade;
                     a.nodes = {"app2"};
                     a.version = Version{10, 6, 0};
                     s.operator_.actions.push_back(a);
                   }});
    c.run_until(at_s(60));
    return std::make_pair(steps(c), c.cluster().spec->server("app2")->version);
  };
  const auto [refused_steps, refused_version] = run(false);
  ASSERT_EQ(refused_steps.size(), 1u);
  EXPECT_EQ(refused_steps[0].rfind("refused", 0), 0u) << refused_steps[0];
  EXPECT_EQ(refused_version, (Version{10, 4, 1}));
  const auto [allowed_steps, allowed_version] = run(true);
  ASSERT_EQ(allowed_steps.size(), 1u);
  EXPECT_EQ(allowed_steps[0], "upgrade app2 10.6.0");
  EXPECT_EQ(allowed_version, (Version{10, 6, 0}));
}

TEST(EdgeOperator, APluginInstalledOnOneServerIsLoadedByEveryServer) {
  TestCluster c({.app_servers = 3, .replicas = 1, .tweak = [](ClusterSpec& s) {
                   OperatorAction a;
                   a.at = seconds(40);
                   a.runbook = OperatorRunbook::install_plugin;
                   a.nodes = {"app2"};
                   a.plugin = "com.example.poll";
                   s.operator_.actions.push_back(a);
                 }});
  c.run_until(at_s(90));
  std::set<std::string> loaded;
  for (const auto& p : c.events<PluginLoaded>())
    if (p.event.plugin == "com.example.poll") loaded.insert(c.name(p.node));
  EXPECT_EQ(loaded, (std::set<std::string>{"app1", "app2", "app3"}));
}

TEST(EdgeOperator, APluginInstalledDuringAStorageOutageIsNotPropagated) {
  TestCluster c({.app_servers = 3, .replicas = 1, .tweak = [](ClusterSpec& s) {
                   OperatorAction a;
                   a.at = seconds(40);
                   a.runbook = OperatorRunbook::install_plugin;
                   a.nodes = {"app2"};
                   a.plugin = "com.example.poll";
                   s.operator_.actions.push_back(a);
                 }});
  c.run_until(at_s(35));
  c.control("storage", ControlOp{ControlOp::Kind::set_spec, "outage", "on"});
  c.run_until(at_s(90));
  EXPECT_EQ(c.count<PluginLoaded>(), 0u);
}

}  // namespace
}  // namespace fl::test
