#include <gtest/gtest.h>

#include <optional>
#include <vector>

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

namespace fl::inv::testing {

// Invariant::read_only (issue 12): a checker declares the event types it
// reads; on_event skips the others (the runner does not even feed them), but
// every checker still reads the clock and pause events for its skew note.
namespace {

class Counting final : public Invariant {
 public:
  explicit Counting(const ClusterInfo& c, bool only_posts) : Invariant("counting", c) {
    if (only_posts) read_only(event_mask<PostAcked, PostCommitted>());
  }
  int handled = 0;

 private:
  void handle(const HistoryEvent&) override { ++handled; }
};

// A deadline checker in miniature: a PostAcked sets a deadline 10 s on, judged
// at the first event of any type past it (Invariant::read_timed).
class Deadline final : public Invariant {
 public:
  explicit Deadline(const ClusterInfo& c) : Invariant("deadline", c) { read_timed(event_mask<PostAcked>()); }
  std::vector<Time> handled;
  std::vector<Time> fired;

 private:
  void handle(const HistoryEvent& e) override {
    handled.push_back(e.at);
    if (deadline_ && e.at > *deadline_) fired.push_back(e.at), deadline_.reset();
    if (e.is<PostAcked>()) deadline_ = e.at + std::chrono::seconds(10);
    wake_at(deadline_ ? *deadline_ + Duration{1} : kTimeMax);
  }
  std::optional<Time> deadline_;
};
}  // namespace

TEST(EventMask, ATimedCheckerTakesOtherTypesOnlyFromItsWake) {
  ClusterInfo info;
  info.nodes.resize(2);
  Deadline timed(info), every(info);
  every.take_every_event();
  EXPECT_TRUE(timed.timed());
  EXPECT_FALSE(every.timed());
  EXPECT_FALSE(timed.reads(event_index<PostDelivered>));
  EXPECT_EQ(timed.wake(), kTimeMax);  // nothing pending: no other type is taken
  std::uint64_t seq = 0;
  auto at = [](int s) { return Time{} + std::chrono::seconds(s); };
  auto feed = [&](int s, EventBody body) {
    const HistoryEvent e{seq++, at(s), at(s), NodeId{1}, std::move(body)};
    timed.on_event(e);
    every.on_event(e);
  };
  feed(1, PostDelivered{1, 0, "ws"});  // before any deadline: skipped
  feed(2, PostAcked{1, 0, NodeId{1}});  // deadline 12 s: wake at 12 s + 1 ns
  EXPECT_EQ(timed.wake(), at(12) + Duration{1});
  feed(5, PostDelivered{1, 0, "ws"});   // before the wake: skipped
  feed(12, PostDelivered{1, 0, "ws"});  // at the deadline, not past it: skipped
  feed(13, PostDelivered{1, 0, "ws"});  // past it: taken, and the deadline fires here
  feed(14, PostDelivered{1, 0, "ws"});  // nothing pending again: skipped
  EXPECT_EQ(timed.handled, (std::vector<Time>{at(2), at(13)}));
  EXPECT_EQ(every.handled.size(), 6u);
  // The same judgement either way: fired at the same event.
  EXPECT_EQ(timed.fired, (std::vector<Time>{at(13)}));
  EXPECT_EQ(every.fired, timed.fired);
  EXPECT_EQ(timed.wake(), kTimeMax);
}

TEST(EventMask, IndexesAreEventBodyPositions) {
  EXPECT_EQ(event_index<ProcessStarted>, 0u);
  const HistoryEvent delivered{0, {}, {}, kNoNode, PostDelivered{}};
  EXPECT_EQ(delivered.body.index(), event_index<PostDelivered>);
  EXPECT_EQ(event_index<WsQueueTransferred>, kEventTypes - 1);
  const EventMask m = event_mask<PostAcked, PostDelivered>();
  EXPECT_EQ(m.count(), 2u);
  EXPECT_TRUE(m[event_index<PostDelivered>]);
}

TEST(EventMask, ACheckerReadsOnlyWhatItDeclaresPlusClockAndPause) {
  ClusterInfo info;
  info.nodes.resize(2);
  Counting all(info, false), posts(info, true);
  EXPECT_TRUE(all.reads(event_index<PostDelivered>));
  EXPECT_FALSE(posts.reads(event_index<PostDelivered>));
  EXPECT_TRUE(posts.reads(event_index<PostAcked>));
  EXPECT_TRUE(posts.reads(event_index<ClockChanged>));   // the skew note
  EXPECT_TRUE(posts.reads(event_index<ProcessPaused>));  // the pause note
  std::uint64_t seq = 0;
  auto feed = [&](EventBody body) {
    const HistoryEvent e{seq++, Time{} + std::chrono::seconds(seq), Time{}, NodeId{1}, std::move(body)};
    all.on_event(e);
    posts.on_event(e);
  };
  feed(PostDelivered{1, 0, "ws"});
  feed(PostAcked{1, 0, NodeId{1}});
  feed(ClockChanged{});
  feed(PostCommitted{1, 0, 1});
  EXPECT_EQ(all.handled, 4);
  EXPECT_EQ(posts.handled, 2);  // the clock change is kept for the note, not handled
}

TEST(EventMask, MessageDeliveryIgnoresWhatItDoesNotRead) {
  Hist h;
  auto delivery = make_invariant("message_delivery", h.info, {});
  ASSERT_NE(delivery, nullptr);
  EXPECT_TRUE(delivery->reads(event_index<PostDelivered>));
  EXPECT_FALSE(delivery->reads(event_index<ReplicaApplied>));
  // status_accuracy judges its deadlines at the first event past them, of any
  // type: it is timed, and reads PostDelivered only from its wake on.
  auto status = make_invariant("status_accuracy", h.info, {});
  ASSERT_NE(status, nullptr);
  EXPECT_FALSE(status->reads(event_index<PostDelivered>));
  EXPECT_TRUE(status->timed());
  EXPECT_TRUE(status->reads(event_index<PeerStatus>));
  for (const char* name : {"single_leader", "job_schedule", "plugin_convergence"}) {
    auto c = make_invariant(name, h.info, {});
    ASSERT_NE(c, nullptr) << name;
    EXPECT_TRUE(c->timed()) << name;
    EXPECT_FALSE(c->reads(event_index<PostDelivered>)) << name;
  }
}

}  // namespace fl::inv::testing
