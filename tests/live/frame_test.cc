// The gossip frame decoder (live/frame.h): every message round-trips; a wrong
// HMAC, a wrong version, a bad length, a truncation or random bytes never yield
// a frame, and never crash (RapidCheck over arbitrary bytes and corruptions).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "live/frame.h"

namespace fl::live {
namespace {

const std::string kSecret = "cluster-secret";

std::vector<std::uint8_t> encode(const Message& m, std::uint64_t seq = 7, const std::string& secret = kSecret) {
  auto bytes = encode_frame(Frame{FrameType::message, NodeId{2}, seq, m}, secret);
  EXPECT_TRUE(bytes.has_value());
  return bytes.value_or(std::vector<std::uint8_t>{});
}

TEST(Frame, EveryGossipMessageRoundTrips) {
  const std::vector<Message> messages{
      Message{GossipPing{Version{10, 4, 1}, 10004, 0xabcdef0123456789ULL, 3, 42}},
      Message{GossipPong{Version{10, 5, 0}, 10005, 1, 2, 3}},
      Message{ElectionMsg{1, 9}},
      Message{ElectionAnswer{2, 10}},
      Message{Coordinator{1}},
      Message{SessionInvalidate{77}},
      Message{CacheInvalidate{78}},
      Message{Heartbeat{5}},
      // The edge's cluster messages (wire ids 9-13).
      Message{HubPostBroadcast{PostEvent{(3ULL << 32) | 4, 1, NodeId{9}, time_from_ns(-12345)}}},
      Message{HubUserAdded{NodeId{8}, 3, true, false}},
      Message{HubInvalidateMember{NodeId{8}}},
      Message{WsQueueRequest{11, NodeId{8}, 0x1234567890ULL, 17}},
      Message{WsQueueReply{11, false, 0, nullptr}},
      Message{WsQueueReply{12, true, 20, std::make_shared<const std::vector<WsEvent>>(std::vector<WsEvent>(
                                                 128, WsEvent{NodeId{8}, 5, 19, WsEventKind::posted,
                                                              PostEvent{7, 2, NodeId{9}, time_from_ns(99)},
                                                              Version{10, 6, 0}, 0, kNoNode}))}},
  };
  for (const auto& m : messages) {
    const auto bytes = encode(m);
    Decoded d = decode_frame(bytes, kSecret);
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.consumed, bytes.size());
    EXPECT_EQ(d.frame.from, NodeId{2});
    EXPECT_EQ(d.frame.seq, 7u);
    EXPECT_EQ(d.frame.message.body.index(), m.body.index());
    // Re-encoding the decoded frame gives the same bytes: every field survived.
    EXPECT_EQ(encode(d.frame.message), bytes);
  }
}

TEST(Frame, EdgeClusterMessagesKeepEveryField) {
  const PostEvent post{(3ULL << 32) | 4, 1, NodeId{9}, time_from_ns(-12345)};
  Decoded d = decode_frame(encode(Message{HubPostBroadcast{post}}), kSecret);
  ASSERT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.frame.message.get<HubPostBroadcast>()->post, post);
  const WsEvent e{NodeId{8}, 5, 19, WsEventKind::user_added, post, Version{10, 6, 0}, 3, NodeId{4}};
  d = decode_frame(encode(Message{WsQueueReply{12, true, 20, std::make_shared<const std::vector<WsEvent>>(1, e)}}),
                   kSecret);
  ASSERT_EQ(d.status, DecodeStatus::ok);
  const auto* r = d.frame.message.get<WsQueueReply>();
  ASSERT_TRUE(r && r->events && r->events->size() == 1);
  const WsEvent& back = r->events->front();
  EXPECT_EQ(back.client, e.client);
  EXPECT_EQ(back.seq, e.seq);
  EXPECT_EQ(back.kind, e.kind);
  EXPECT_EQ(back.post, e.post);
  EXPECT_EQ(back.server_version, e.server_version);
  EXPECT_EQ(back.user, e.user);
  // A queue too long for one frame is not sent (the peer would reject its length).
  EXPECT_FALSE(encode_frame(Frame{FrameType::message, NodeId{2}, 1,
                                  Message{WsQueueReply{1, true, 0, std::make_shared<const std::vector<WsEvent>>(1000, e)}}},
                            kSecret));
}

TEST(Frame, AckRoundTrips) {
  auto bytes = encode_frame(Frame{FrameType::ack, NodeId{1}, 99, {}}, kSecret);
  ASSERT_TRUE(bytes);
  Decoded d = decode_frame(*bytes, kSecret);
  ASSERT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.frame.type, FrameType::ack);
  EXPECT_EQ(d.frame.seq, 99u);
}

TEST(Frame, WalMessagesHaveNoGossipRoute) {
  EXPECT_FALSE(transportable(Message{WalStatus{}}));
  EXPECT_FALSE(encode_frame(Frame{FrameType::message, NodeId{0}, 1, Message{WalStatus{}}}, kSecret).has_value());
}

TEST(Frame, WrongSecretIsRejected) {
  const auto bytes = encode(Message{Coordinator{1}}, 1, "another-cluster");
  EXPECT_EQ(decode_frame(bytes, kSecret).status, DecodeStatus::bad_hmac);
}

TEST(Frame, WrongVersionIsRejected) {
  auto bytes = encode(Message{Coordinator{1}});
  bytes[9] ^= 0x02;  // version's low byte
  EXPECT_EQ(decode_frame(bytes, kSecret).status, DecodeStatus::bad_version);
}

TEST(Frame, BadLengthIsRejected) {
  auto bytes = encode(Message{Coordinator{1}});
  bytes[0] = 0x7f;  // ~2 GB
  EXPECT_EQ(decode_frame(bytes, kSecret).status, DecodeStatus::bad_length);
  bytes[0] = 0, bytes[1] = 0, bytes[2] = 0, bytes[3] = 3;  // shorter than a header
  EXPECT_EQ(decode_frame(bytes, kSecret).status, DecodeStatus::bad_length);
}

TEST(Frame, TruncatedFrameWaitsForMore) {
  const auto bytes = encode(Message{ElectionMsg{1, 2}});
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(decode_frame(std::span(bytes).first(n), kSecret).status, DecodeStatus::need_more) << n;
  }
}

TEST(Frame, TwoFramesInOneBuffer) {
  auto a = encode(Message{ElectionMsg{1, 2}}, 1);
  const auto b = encode(Message{Coordinator{3}}, 2);
  a.insert(a.end(), b.begin(), b.end());
  Decoded first = decode_frame(a, kSecret);
  ASSERT_EQ(first.status, DecodeStatus::ok);
  Decoded second = decode_frame(std::span(a).subspan(first.consumed), kSecret);
  ASSERT_EQ(second.status, DecodeStatus::ok);
  EXPECT_EQ(second.frame.seq, 2u);
}

RC_GTEST_PROP(FrameProperty, RandomBytesNeverDecode, (const std::vector<std::uint8_t>& bytes)) {
  const Decoded d = decode_frame(bytes, kSecret);
  // Forging a tag by chance is 2^-256: random input is never a frame.
  RC_ASSERT(d.status != DecodeStatus::ok);
}

RC_GTEST_PROP(FrameProperty, RandomBytesAfterAValidHeaderNeverDecode, (const std::vector<std::uint8_t>& tail)) {
  // A plausible header (length, magic, version) followed by arbitrary bytes:
  // exercises the paths behind the cheap checks.
  std::vector<std::uint8_t> bytes{0, 0, 0, 0, 0x46, 0x4C, 0x47, 0x31, 0, 1};
  bytes.insert(bytes.end(), tail.begin(), tail.end());
  const std::size_t len = std::min<std::size_t>(bytes.size() - 4, kMaxFrameBody);
  bytes[2] = static_cast<std::uint8_t>(len >> 8), bytes[3] = static_cast<std::uint8_t>(len);
  RC_ASSERT(decode_frame(bytes, kSecret).status != DecodeStatus::ok);
}

RC_GTEST_PROP(FrameProperty, AnyCorruptedByteIsRejected, (std::uint64_t session, std::uint8_t flip)) {
  const auto bytes = encode(Message{SessionInvalidate{session}});
  const auto pos = *rc::gen::inRange<std::size_t>(0, bytes.size());
  auto bad = bytes;
  bad[pos] ^= static_cast<std::uint8_t>(flip | 1);  // a real change
  const Decoded d = decode_frame(bad, kSecret);
  RC_ASSERT(d.status != DecodeStatus::ok);
}

}  // namespace
}  // namespace fl::live
