#include <gtest/gtest.h>

#include <algorithm>

#include "base/suggest.h"
#include "invariants/registry.h"
#include "invariants/truth.h"
#include "tests/invariants/history_builder.h"

namespace fl::inv::testing {
namespace {

using namespace std::chrono_literals;

TEST(Suggest, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("partiton", "partition"), 1u);
}

TEST(Suggest, ClosestName) {
  const std::vector<std::string> kinds = {"partition", "one_way", "heal", "crash"};
  EXPECT_EQ(closest_name("partiton", kinds), "partition");
  EXPECT_EQ(closest_name("crsh", kinds), "crash");
  EXPECT_FALSE(closest_name("zzzzzzzz", kinds));
  EXPECT_FALSE(closest_name("heal", kinds));  // exact: nothing to suggest
  EXPECT_FALSE(closest_name("", kinds));
  EXPECT_EQ(did_you_mean("partiton", kinds), " (did you mean \"partition\"?)");
  EXPECT_EQ(did_you_mean("qqqqqqqq", kinds), "");
}

TEST(Registry, EveryModelInvariantIsThereOnceWithASummary) {
  const std::vector<std::string> expected = {
      "single_leader", "leader_liveness", "message_delivery", "no_lost_writes", "migration_by_first_starter",
      "job_exactly_once", "job_progress", "version_skew", "status_accuracy", "health_routing", "plugin_convergence",
      "service_available", "session_revocation", "job_schedule"};
  EXPECT_EQ(invariant_names(), expected);
  Hist h;
  for (const auto& spec : invariant_specs()) {
    EXPECT_FALSE(spec.summary.empty()) << spec.name;
    auto c = make_invariant(spec.name, h.info);
    ASSERT_TRUE(c) << spec.name;
    EXPECT_EQ(c->name(), spec.name);
  }
  EXPECT_EQ(make_all(h.info).size(), expected.size());
}

TEST(Registry, UserErrorsAreMessagesWithSuggestions) {
  Hist h;
  auto a = make_invariant("single_leadr", {}, h.info);
  EXPECT_FALSE(a.invariant);
  EXPECT_NE(a.error.find("did you mean \"single_leader\""), std::string::npos) << a.error;
  auto b = make_invariant("single_leader", {{"grac", "2s"}}, h.info);
  EXPECT_FALSE(b.invariant);
  EXPECT_NE(b.error.find("did you mean \"grace\""), std::string::npos) << b.error;
  auto c = make_invariant("single_leader", {{"grace", "2 parsecs"}}, h.info);
  EXPECT_FALSE(c.invariant);
  EXPECT_NE(c.error.find("grace"), std::string::npos) << c.error;
  auto d = make_invariant("no_lost_writes", {{"bound", "1s"}}, h.info);
  EXPECT_NE(d.error.find("takes no options"), std::string::npos) << d.error;
  auto ok = make_invariant("single_leader", {{"grace", "2s"}}, h.info);
  ASSERT_TRUE(ok.invariant) << ok.error;
}

TEST(FaultBook, ReadsPartitionGroupsFromTheTypedFieldsNeverTheDetail) {
  Hist h;
  // The detail is for people: whatever it says, the groups decide.
  for (std::string detail : {"partition app1 | app2 app3", "something unreadable", ""}) {
    HistoryEvent e;
    e.node = h.app1;
    e.body = FaultInjected{0, "partition", detail, {{h.app1}, {h.app2, h.app3}}};
    FaultBook book(h.info);
    book.observe(e);
    EXPECT_EQ(book.link(h.app1, h.app2), Link::cut) << detail;
    EXPECT_EQ(book.link(h.app3, h.app1), Link::cut) << detail;
    EXPECT_EQ(book.link(h.app2, h.app3), Link::up) << detail;
    EXPECT_EQ(book.link(h.app1, h.primary), Link::up) << detail;  // not named: keeps its links
  }
}

TEST(FaultBook, OneWayHealPartitionAndGossipSendFailure) {
  Hist h;
  FaultBook book(h.info);
  HistoryEvent e;
  e.body = FaultInjected{1, "one_way", "app1->app2", {{h.app1}, {h.app2}}};
  book.observe(e);
  EXPECT_EQ(book.link(h.app1, h.app2), Link::cut);
  EXPECT_EQ(book.link(h.app2, h.app1), Link::up);
  e.body = FaultInjected{2, "loss", "rate=0.5", {}};
  book.observe(e);
  EXPECT_EQ(book.link(h.app2, h.app3), Link::uncertain);
  e.body = FaultInjected{3, "heal", "", {}};
  book.observe(e);
  EXPECT_EQ(book.link(h.app1, h.app2), Link::up);
  EXPECT_FALSE(book.any_active());
  e.body = FaultInjected{4, "partition", "app1 app3 | app2", {{h.app1, h.app3}, {h.app2}}};
  book.observe(e);
  EXPECT_EQ(book.link(h.app1, h.app2), Link::cut);
  EXPECT_EQ(book.link(h.app1, h.app3), Link::up);
  e.body = FaultHealed{4, "partition"};
  book.observe(e);
  EXPECT_EQ(book.link(h.app1, h.app2), Link::up);
  e.node = h.app1;
  e.body = FaultInjected{5, "gossip_send_failure", "app1 -> app3", {{h.app1}, {h.app3}}};
  book.observe(e);
  EXPECT_EQ(book.link(h.app1, h.app3), Link::cut);
  EXPECT_EQ(book.link(h.app3, h.app1), Link::up);
  e.body = SettleBegin{};
  book.observe(e);
  EXPECT_EQ(book.link(h.app1, h.app3), Link::up);
}

}  // namespace
}  // namespace fl::inv::testing
