// report.html's data and the messages drawn in it (reports/messages.h). The
// page itself is exercised in a real browser by tests/reports/html_browser_test.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reports/history_keep.h"
#include "reports/messages.h"
#include "reports/report.h"

namespace fl::reports {
namespace {

using namespace std::chrono_literals;

HistoryEvent ev(std::uint64_t seq, Duration at, std::uint32_t node, EventBody body) {
  return HistoryEvent{seq, Time{at}, Time{at}, NodeId{node}, std::move(body)};
}

// Nodes: 0 app1, 1 app2, 2 db-primary, 3 db-replica1, 4 client1, 5 client2.
std::vector<HistoryEvent> one_post() {
  return {
      ev(1, 100ms, 4, PostSent{7, 0, 1}),
      ev(2, 103ms, 2, PostCommitted{7, 0, 10}),
      ev(3, 105ms, 0, PostAcked{7, 0, NodeId{4}}),
      ev(4, 106ms, 3, ReplicaApplied{10}),
      ev(5, 107ms, 4, PostAckReceived{7}),
      ev(6, 109ms, 5, PostDelivered{7, 0, "ws"}),
      ev(7, 200ms, 0, SendFailed{NodeId{1}, 2}),
  };
}

TEST(Messages, PairsEachMessageWithBothOfItsEvents) {
  const std::vector<HistoryEvent> connections = {ev(0, 1ms, 5, ClientConnected{NodeId{1}, 1, false})};
  const auto m = infer_messages(one_post(), connections);
  ASSERT_EQ(m.size(), 6u);
  auto find = [&](std::string_view kind) {
    for (const auto& x : m)
      if (x.kind == kind) return x;
    ADD_FAILURE() << "no " << kind;
    return Message{};
  };
  const Message req = find("request");
  EXPECT_EQ(req.from, NodeId{4});
  EXPECT_EQ(req.to, NodeId{0});
  EXPECT_EQ(req.sent, Time{100ms});
  EXPECT_EQ(req.received, Time{105ms});
  const Message commit = find("commit");
  EXPECT_EQ(commit.from, NodeId{2});
  EXPECT_EQ(commit.to, NodeId{0});
  const Message wal = find("wal");
  EXPECT_EQ(wal.from, NodeId{2});
  EXPECT_EQ(wal.to, NodeId{3});
  EXPECT_EQ(wal.what, "lsn 10");
  const Message resp = find("response");
  EXPECT_EQ(resp.from, NodeId{0});
  EXPECT_EQ(resp.to, NodeId{4});
  const Message rt = find("realtime");
  EXPECT_EQ(rt.from, NodeId{0});
  EXPECT_EQ(rt.to, NodeId{5});
  EXPECT_EQ(rt.relay, NodeId{1});  // client2 is connected to app2
  EXPECT_EQ(rt.received, Time{109ms});
  const Message failed = find("failed");
  EXPECT_TRUE(failed.lost);
  EXPECT_EQ(failed.to, NodeId{1});
  // Sorted by start time.
  for (std::size_t i = 1; i < m.size(); ++i) EXPECT_LE(m[i - 1].sent, m[i].sent);
  EXPECT_EQ(infer_messages(one_post(), connections), m);  // deterministic
}

TEST(Messages, NoPartnerNoArrow) {
  // Events whose partner is outside the window draw nothing, never a guess.
  std::vector<HistoryEvent> e = {
      ev(5, 107ms, 4, PostAckReceived{7}),        // its PostAcked is not here
      ev(6, 109ms, 5, PostDelivered{8, 0, "ws"}),  // post 8 never acknowledged here
      ev(4, 106ms, 3, ReplicaApplied{11}),        // lsn 11 never committed here
  };
  EXPECT_TRUE(infer_messages(e, {}).empty());
  // A PostSent by another client is not the request of this ack.
  e = {ev(1, 100ms, 5, PostSent{7, 0, 1}), ev(3, 105ms, 0, PostAcked{7, 0, NodeId{4}})};
  EXPECT_TRUE(infer_messages(e, {}).empty());
}

TEST(Messages, ParsesHistoryLinesOfTheEventsItReads) {
  const auto e = parse_message_event(
      R"({"seq":1961,"at_ns":118943852954,"at":"1m58.943852954s","local_ns":118943852960,"local":"x","node":12,)"
      R"("node_name":"client4","event":"post_delivered","fields":{"post":4294967307,"channel":1,"via":"ws"}})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->seq, 1961u);
  EXPECT_EQ(ns(e->at), 118943852954);
  EXPECT_EQ(ns(e->local), 118943852960);
  EXPECT_EQ(e->node, NodeId{12});
  ASSERT_TRUE(e->is<PostDelivered>());
  EXPECT_EQ(*e->get<PostDelivered>(), (PostDelivered{4294967307ULL, 1, "ws"}));
  const auto f = parse_message_event(
      R"({"seq":2,"at_ns":5,"node":1,"event":"send_failed","fields":{"peer":0,"attempt":2}})");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f->get<SendFailed>(), (SendFailed{NodeId{0}, 2}));
  EXPECT_FALSE(parse_message_event(R"({"seq":2,"at_ns":5,"node":1,"event":"leader_begin","fields":{}})"));
  EXPECT_FALSE(parse_message_event("{not json"));
  EXPECT_TRUE(message_event("post_acked"));
  EXPECT_FALSE(message_event("leader_begin"));
}

RunResult run_with_clients() {
  RunResult r;
  r.scenario_path = "scenarios/x.toml";
  r.scenario_name = "<script>alert(1)</script>";
  r.outcome = Outcome::fail;
  r.lanes = {{"app1", "app_server"},      {"app2", "app_server"}, {"db-primary", "db_primary"},
             {"db-replica1", "db_replica"}, {"client1", "client"}, {"<script>alert(2)</script>\xe2\x80\xae", "client"},
             {"proxy", "proxy"}};
  inv::Violation v;
  v.invariant = "single_leader";
  v.at = Time{10s};
  v.message = "app1 and app2 both lead";
  v.nodes = {NodeId{0}, NodeId{1}};
  v.witnesses.push_back(ev(9, 10s, 1, PeerDown{NodeId{0}, 2}));
  r.violations = {v};
  r.faults = {{0, Time{5s}, "partition", "partition app1 | app2", {}, true, true, "", true, Time{20s}}};
  r.sim_end = Time{30s};
  r.settle_begin = Time{25s};
  r.timeline = {ev(1, 1s, 0, LeaderBegin{}),
                ev(2, 2s, 4, ClientConnected{NodeId{0}, 1, false}),
                ev(3, 2s, 5, ClientConnected{NodeId{1}, 2, false}),
                ev(4, 3s, 3, ClockChanged{Duration{1500ms}, 0, Duration{}}),
                ev(5, 5s, 0, FaultInjected{0, "partition", "partition app1 | app2", {{NodeId{0}}, {NodeId{1}}}, true}),
                ev(6, 6s, 2, ProcessPaused{Duration{2s}}),
                ev(7, 10s, 1, LeaderBegin{}),
                ev(8, 12s, 3, ProcessCrashed{})};
  r.messages = infer_messages(one_post(), r.timeline);
  return r;
}

nlohmann::json data_of(const std::string& h) {
  const std::string open = "<script type=\"application/json\" id=\"fl-data\">";
  const auto a = h.find(open);
  EXPECT_NE(a, std::string::npos);
  const auto b = h.find("</script>", a);
  return nlohmann::json::parse(h.substr(a + open.size(), b - a - open.size()));
}

TEST(Html, DataIsJsonInAScriptElementNeverHtml) {
  const std::string h = report_html(run_with_clients());
  // The hostile names are never markup: as HTML text they are escaped, inside
  // the JSON '<' is \u003c, so nothing can close the data's <script>.
  EXPECT_EQ(h.find("<script>alert"), std::string::npos);
  EXPECT_EQ(h.find("\xe2\x80\xae"), std::string::npos);  // the bidi override became visible text
  EXPECT_NE(h.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(h.find("\\u003cscript\\u003ealert(2)\\u003c/script\\u003e"), std::string::npos);
  std::size_t scripts = 0;
  for (auto p = h.find("<script"); p != std::string::npos; p = h.find("<script", p + 1)) ++scripts;
  std::size_t closes = 0;
  for (auto p = h.find("</script"); p != std::string::npos; p = h.find("</script", p + 1)) ++closes;
  EXPECT_EQ(scripts, 3u);  // window.onerror, the data, the diagram
  EXPECT_EQ(closes, 3u);
  EXPECT_EQ(h.find(" src="), std::string::npos);  // nothing loaded from anywhere
  EXPECT_EQ(h.find("<link"), std::string::npos);
  EXPECT_EQ(h.find("https://"), std::string::npos);
  EXPECT_NE(h.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(h.find("window.onerror"), std::string::npos);
  EXPECT_EQ(h.find("innerHTML"), std::string::npos);  // the script writes text only

  const auto d = data_of(h);
  EXPECT_EQ(d.at("nodes")[5].at("name"), "<script>alert(2)</script>\\u202e");
  // Servers and databases first, the proxy after; clients folded per server.
  std::vector<std::string> labels;
  for (const auto& r : d.at("rows")) labels.push_back(r.at("label"));
  EXPECT_EQ(labels, (std::vector<std::string>{"app1", "app2", "db-primary", "db-replica1", "proxy",
                                               "clients of app1 (1)", "clients of app2 (1)"}));
  EXPECT_TRUE(d.at("rows")[5].at("group").get<bool>());
  EXPECT_EQ(d.at("rows")[6].at("nodes"), nlohmann::json::array({5}));
  // Shaded: the partition over app1 and app2 only (its groups), the pause, the crash to the end, leader terms.
  std::map<std::string, std::vector<std::int64_t>> bands;  // cls -> nodes
  for (const auto& b : d.at("bands")) bands[b.at("cls")].push_back(b.at("node"));
  EXPECT_EQ(bands["cut"], (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(bands["paused"], (std::vector<std::int64_t>{2}));
  EXPECT_EQ(bands["down"], (std::vector<std::int64_t>{3}));
  EXPECT_EQ(bands["leader"].size(), 2u);
  ASSERT_EQ(d.at("clocks").size(), 1u);
  EXPECT_EQ(d.at("clocks")[0].at("node"), 3);
  EXPECT_EQ(d.at("clocks")[0].at("label"), "+1.5s");
  EXPECT_EQ(d.at("messages").size(), 6u);
  ASSERT_EQ(d.at("violations").size(), 1u);
  const auto& v = d.at("violations")[0];
  EXPECT_EQ(v.at("invariant"), "single_leader");
  EXPECT_EQ(v.at("at"), 10'000'000'000LL);
  EXPECT_EQ(v.at("nodes"), nlohmann::json::array({0, 1}));
  EXPECT_EQ(v.at("witnesses")[0].at("to"), nlohmann::json::array({0}));  // peer_down names app1
  EXPECT_EQ(v.at("from"), 7'000'000'000LL);
  EXPECT_EQ(report_html(run_with_clients()), h);  // deterministic
}

// keep_history reads the messages around the violation out of the history file
// in the same pass, and none from outside the window.
TEST(Html, MessagesComeFromTheHistoryAroundTheViolation) {
  const auto dir = std::filesystem::temp_directory_path() / "fl_html_messages_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir / "history.jsonl");
    auto line = [&](int seq, std::int64_t at_ns, int node, const char* event, const char* fields) {
      f << "{\"seq\":" << seq << ",\"at_ns\":" << at_ns << ",\"at\":\"x\",\"local_ns\":" << at_ns
        << ",\"local\":\"x\",\"node\":" << node << ",\"event\":\"" << event << "\",\"fields\":" << fields << "}\n";
    };
    // Far before the violation (10 s): outside the 3 s window.
    line(1, 1'000'000'000, 2, "post_committed", R"({"post":1,"channel":0,"lsn":1})");
    line(2, 1'001'000'000, 3, "replica_applied", R"({"lsn":1})");
    // Inside it.
    line(3, 9'000'000'000, 2, "post_committed", R"({"post":2,"channel":0,"lsn":2})");
    line(4, 9'002'000'000, 3, "replica_applied", R"({"lsn":2})");
  }
  RunResult r = run_with_clients();
  r.messages.clear();
  ASSERT_EQ(keep_history(dir.string(), r), "");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].kind, "wal");
  EXPECT_EQ(r.messages[0].what, "lsn 2");
  EXPECT_EQ(r.messages[0].sent, Time{9s});
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fl::reports
