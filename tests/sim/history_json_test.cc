// History as JSON Lines: every event type survives a round trip, and bad lines
// are errors with a message.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "sim/history_json.h"
#include "sim/simulation.h"
#include "sim/trace_hash.h"

namespace fl::sim {
namespace {

// A value for each alternative of EventBody, with every field set to something
// other than its default (so a field the parser drops would show).
struct FillFields {
  int* counter;
  template <class V>
  void operator()(std::string_view, const V& value) const {
    using T = std::decay_t<V>;
    T& target = const_cast<T&>(value);
    const int k = ++*counter;
    if constexpr (std::is_same_v<T, NodeId>) target = NodeId{static_cast<std::uint32_t>(k)};
    else if constexpr (std::is_same_v<T, Duration>) target = milliseconds(k) + nanoseconds(7);
    else if constexpr (std::is_same_v<T, Time>) target = kTimeZero + seconds(k);
    else if constexpr (std::is_same_v<T, bool>) target = !target;
    else if constexpr (std::is_same_v<T, std::string>) target = "v\"al\n" + std::to_string(k);
    else if constexpr (std::is_enum_v<T>) target = static_cast<T>(1);
    else target = static_cast<T>(k * 1000 + 3);
  }
};

template <std::size_t... I>
std::vector<HistoryEvent> one_of_each(std::index_sequence<I...>) {
  std::vector<HistoryEvent> out;
  int counter = 0;
  const auto add = [&](auto tag) {
    using T = std::variant_alternative_t<decltype(tag)::value, EventBody>;
    T body{};
    body.fields(FillFields{&counter});
    HistoryEvent e;
    e.seq = out.size();
    e.at = kTimeZero + milliseconds(out.size() * 3 + 1);
    e.local = e.at + seconds(90);
    e.node = out.size() % 3 == 0 ? kNoNode : NodeId{static_cast<std::uint32_t>(out.size() % 3)};
    e.body = std::move(body);
    out.push_back(std::move(e));
  };
  (add(std::integral_constant<std::size_t, I>{}), ...);
  return out;
}

bool same(const HistoryEvent& a, const HistoryEvent& b) {
  return a.seq == b.seq && a.at == b.at && a.local == b.local && a.node == b.node && a.body == b.body;
}

TEST(HistoryJson, EveryEventTypeRoundTrips) {
  const auto events = one_of_each(std::make_index_sequence<std::variant_size_v<EventBody>>{});
  ASSERT_EQ(events.size(), std::variant_size_v<EventBody>);
  for (const auto& e : events) {
    const std::string line = history_event_to_json(e);
    EXPECT_EQ(line.find('\n'), std::string::npos) << "one event, one line";
    std::string error;
    const auto back = history_event_from_json(line, &error);
    ASSERT_TRUE(back.has_value()) << error << " in " << line;
    EXPECT_TRUE(same(e, *back)) << line;
  }
}

TEST(HistoryJson, LineCarriesNameTimesAndNodeName) {
  HistoryEvent e;
  e.seq = 4;
  e.at = kTimeZero + seconds(90);
  e.local = kTimeZero + seconds(91);
  e.node = NodeId{1};
  e.body = PeerDown{NodeId{0}, 2};
  const std::vector<std::string> names{"app1", "app2"};
  const std::string line = history_event_to_json(e, &names);
  EXPECT_NE(line.find("\"event\":\"peer_down\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"node_name\":\"app2\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"at\":\"1m30s\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"at_ns\":90000000000"), std::string::npos) << line;
}

TEST(HistoryJson, BadLinesAreErrorsWithAMessage) {
  std::string error;
  EXPECT_FALSE(history_event_from_json("not json", &error));
  EXPECT_FALSE(error.empty());
  error.clear();
  EXPECT_FALSE(history_event_from_json(
      R"({"seq":0,"at_ns":0,"local_ns":0,"node":null,"event":"no_such_event","fields":{}})", &error));
  EXPECT_NE(error.find("no_such_event"), std::string::npos);
  error.clear();
  EXPECT_FALSE(history_event_from_json(
      R"({"seq":0,"at_ns":0,"local_ns":0,"node":null,"event":"peer_down","fields":{"peer":1}})", &error));
  EXPECT_NE(error.find("failed_attempts"), std::string::npos);
  error.clear();
  EXPECT_FALSE(history_event_from_json(
      R"({"seq":0,"at_ns":0,"local_ns":0,"node":null,"event":"peer_down","fields":{"peer":1,"failed_attempts":"x"}})",
      &error));
  EXPECT_FALSE(error.empty());
}

TEST(HistoryJson, WriterStreamsARunAndTheFileReadsBackToTheSameTraceHash) {
  const std::string path = ::testing::TempDir() + "/fl_history_test.jsonl";
  std::string error;
  auto writer = HistoryWriter::open(path, {"a", "b"}, &error);
  ASSERT_NE(writer, nullptr) << error;
  Simulation sim(9);
  sim.add_history_listener(writer->listener());
  sim.add_node("a", [] { return std::unique_ptr<Node>(); });
  sim.add_node("b", [] { return std::unique_ptr<Node>(); });
  sim.set_clock(NodeId{1}, seconds(5), 20);
  sim.emit(kNoNode, FaultInjected{3, "partition", "a | b", {{NodeId{0}}, {NodeId{1}}}});
  sim.at(kTimeZero + seconds(2), [](Simulation& s) { s.emit(NodeId{0}, Probe{1, -5}); });
  sim.run_until(kTimeZero + seconds(3));
  ASSERT_TRUE(writer->close(&error)) << error;
  EXPECT_EQ(writer->events_written(), 3u);
  const auto events = read_history_file(path, &error);
  ASSERT_TRUE(events.has_value()) << error;
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ(trace_hash_of(*events), sim.trace_hash());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace fl::sim
