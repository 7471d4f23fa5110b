// The edge's JSON (live/edge_codec.h): every message of the proxy <-> server
// hop round-trips with every field; anything else (not JSON, an unknown type
// or field, a missing or mistyped field, a number out of range, an unknown
// enum name) is an error with a reason, never a message and never a crash.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "live/edge_codec.h"

namespace fl::live {
namespace {

std::vector<Message> samples() {
  const PostEvent post{(3ULL << 32) | 4, 1, NodeId{9}, time_from_ns(-5)};
  auto posts = std::make_shared<const std::vector<PostEvent>>(std::vector<PostEvent>{post, PostEvent{1, 0, NodeId{2}, {}}});
  return {
      Message{WsConnect{NodeId{7}, 0xffffffffffffffffULL, 12, 5, (3ULL << 32) | 7}},
      Message{WsOpened{NodeId{7}, NodeId{1}, 99, Version{10, 4, 1}}},
      Message{WsEvent{NodeId{7}, 99, 3, WsEventKind::posted, post, Version{10, 5, 0}, 0, kNoNode}},
      Message{WsEvent{NodeId{7}, 99, 0, WsEventKind::hello, {}, Version{10, 5, 0}, 0, kNoNode}},
      Message{WsEvent{NodeId{7}, 99, 4, WsEventKind::user_added, {}, Version{}, 2, NodeId{7}}},
      Message{WsPing{NodeId{7}}},
      Message{WsClose{NodeId{7}, WsCloseReason::unauthorized, 4}},
      Message{ApiRequest{NodeId{7}, 3, ApiKind::create_post, post, 0, {}, Version{10, 4, 1}, 1}},
      Message{ApiRequest{NodeId{7}, 4, ApiKind::posts_since, {}, 3, time_from_ns(123456789), Version{}, 1}},
      Message{ApiResponse{NodeId{7}, 3, ApiStatus::ok, NodeId{0}, nullptr, 0}},
      Message{ApiResponse{NodeId{7}, 4, ApiStatus::ok, NodeId{2}, posts, 0}},
      Message{ApiResponse{NodeId{7}, 5, ApiStatus::unauthorized, kNoNode, nullptr, 9}},
  };
}

TEST(EdgeCodec, EveryEdgeMessageRoundTrips) {
  for (const Message& m : samples()) {
    ASSERT_TRUE(edge_encodable(m));
    const std::string text = encode_edge(m);
    std::string why;
    const auto back = decode_edge(text, &why);
    ASSERT_TRUE(back) << text << ": " << why;
    EXPECT_EQ(back->body.index(), m.body.index());
    EXPECT_EQ(encode_edge(*back), text);  // every field survived
  }
  EXPECT_FALSE(edge_encodable(Message{HealthPing{1, true}}));
  EXPECT_EQ(encode_edge(Message{HubPostBroadcast{}}), "");
}

TEST(EdgeCodec, MalformedInputIsAnErrorWithAReason) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {"", "not JSON"},
      {"{", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"client":1})", "missing field \"type\""},
      {R"({"type":"ws_hug","client":1})", "unknown type"},
      {R"({"type":"ws_ping","client":1,"x":2})", "unknown field \"x\""},
      {R"({"type":"ws_ping"})", "missing field \"client\""},
      {R"({"type":"ws_ping","client":"7"})", "not an unsigned integer"},
      {R"({"type":"ws_ping","client":-7})", "not an unsigned integer"},
      {R"({"type":"ws_ping","client":4294967296})", "out of range"},
      {R"({"type":"ws_ping","client":1.5})", "not an unsigned integer"},
      {R"({"type":"ws_close","client":1,"reason":"bored","revocation":0})", "unknown value \"bored\""},
      {R"({"type":"ws_opened","client":1,"server":0,"conn_id":1,"server_version":"10.x"})", "not a version"},
      {R"({"type":"api_response","client":1,"req":1,"status":"ok","server":0,"posts":7,"revocation":0})",
       "not an array"},
  };
  for (const auto& [text, reason] : bad) {
    std::string why;
    EXPECT_FALSE(decode_edge(text, &why)) << text;
    EXPECT_NE(why.find(reason), std::string::npos) << text << " -> " << why;
  }
}

RC_GTEST_PROP(EdgeCodecProperty, ArbitraryTextNeverCrashes, (const std::string& text)) {
  std::string why;
  const auto m = decode_edge(text, &why);
  RC_ASSERT(m.has_value() || !why.empty());
}

RC_GTEST_PROP(EdgeCodecProperty, ATruncatedFrameIsNeverAMessage, (std::uint8_t which, std::uint16_t cut)) {
  const auto all = samples();
  const std::string text = encode_edge(all[which % all.size()]);
  const std::string part = text.substr(0, cut % text.size());  // strictly shorter
  RC_ASSERT(!decode_edge(part, nullptr).has_value());
}

}  // namespace
}  // namespace fl::live
