// Live mode's gossip wire format: length-prefixed binary frames, each carrying
// a magic, the protocol version, the frame type, the sender's node id, a
// sequence number, the message and an HMAC-SHA256 under the cluster secret.
//
//   u32 length   bytes after this field (header + payload + 32-byte tag), big endian
//   u32 magic    "FLG1"
//   u16 version  kProtocolVersion
//   u8  type     FrameType
//   u8  zero     reserved, must be 0
//   u32 from     sender's NodeId
//   u64 seq      per connection: a message's number, or the number an ack answers
//   ...payload   type message: u16 variant index + the alternative's fields; ack: empty
//   32  tag      HMAC-SHA256(secret, everything from magic to the end of payload)
//
// Kept true: decode(encode(f)) == f for every transportable message; any other
// input (random bytes, a truncated or oversized frame, a wrong version, a tag
// made under another secret) is an error value, never a crash, and never yields
// a frame. The header is light on purpose: no Asio, no OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"
#include "base/message.h"

namespace fl::live {

inline constexpr std::uint32_t kFrameMagic = 0x464C4731;  // "FLG1"
inline constexpr std::uint16_t kProtocolVersion = 1;
inline constexpr std::size_t kFrameHeaderSize = 4 + 4 + 2 + 1 + 1 + 4 + 8;  // with the length field
inline constexpr std::size_t kFrameTagSize = 32;
// Gossip messages are tens of bytes; the largest, a websocket queue handed
// over (WsQueueReply, up to 128 events of ~70 bytes), about 9 KiB. A larger
// length is garbage or an attack, rejected before anything is buffered for it.
inline constexpr std::size_t kMaxFrameBody = 32768;

enum class FrameType : std::uint8_t { message = 1, ack = 2 };

struct Frame {
  FrameType type = FrameType::message;
  NodeId from{kNoNode};
  std::uint64_t seq = 0;
  Message message;  // type message only
};

// Whether the live transport carries this alternative (the cluster's gossip:
// pings, election, cache invalidations, and the edge's cluster messages:
// HubPostBroadcast, HubUserAdded, HubInvalidateMember, WsQueueRequest/Reply).
// The client edge travels over HTTP and websockets (live/ws_edge.h); WAL
// messages have no live route yet (docs/live.md).
bool transportable(const Message& message);

// The wire bytes of a frame; nullopt when the message is not transportable.
std::optional<std::vector<std::uint8_t>> encode_frame(const Frame& frame, std::string_view secret);

enum class DecodeStatus : std::uint8_t {
  ok,
  need_more,    // a valid prefix: wait for more bytes
  bad_length,   // length field out of range
  bad_magic,
  bad_version,
  bad_hmac,     // not made under this cluster's secret (or altered)
  bad_payload,  // authentic but undecodable (unknown type, truncated fields, trailing bytes)
};
const char* decode_status_name(DecodeStatus status);

struct Decoded {
  DecodeStatus status = DecodeStatus::need_more;
  std::size_t consumed = 0;  // bytes of `input` the frame used (ok only)
  Frame frame;
};

// Decodes the first frame of `input`. Any status but ok and need_more means the
// stream is unusable (a byte stream cannot be resynchronised): close it.
Decoded decode_frame(std::span<const std::uint8_t> input, std::string_view secret);

}  // namespace fl::live
