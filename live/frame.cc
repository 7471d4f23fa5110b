// Gossip frames: encoding, decoding, authentication (see frame.h).
#include "live/frame.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <type_traits>

namespace fl::live {

namespace {

// Wire ids of the transported alternatives. Explicit, never the variant's
// index: adding a message type to base/ must not change what old peers read.
enum WireId : std::uint16_t {
  kWireHeartbeat = 1,
  kWirePing = 2,
  kWirePong = 3,
  kWireElection = 4,
  kWireAnswer = 5,
  kWireCoordinator = 6,
  kWireSessionInvalidate = 7,
  kWireCacheInvalidate = 8,
};

class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { be(v, 2); }
  void u32(std::uint32_t v) { be(v, 4); }
  void u64(std::uint64_t v) { be(v, 8); }
  void version(const Version& v) { u16(v.major), u16(v.minor), u16(v.patch); }

 private:
  void be(std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t>& out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }
  std::uint8_t u8() { return static_cast<std::uint8_t>(be(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(be(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(be(4)); }
  std::uint64_t u64() { return be(8); }
  Version version() {
    Version v;
    v.major = u16(), v.minor = u16(), v.patch = u16();
    return v;
  }

 private:
  std::uint64_t be(std::size_t bytes) {
    if (!ok_ || in_.size() - pos_ < bytes) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v = (v << 8) | in_[pos_++];
    return v;
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

template <class T> constexpr std::uint16_t wire_id() {
  if constexpr (std::is_same_v<T, Heartbeat>) return kWireHeartbeat;
  else if constexpr (std::is_same_v<T, GossipPing>) return kWirePing;
  else if constexpr (std::is_same_v<T, GossipPong>) return kWirePong;
  else if constexpr (std::is_same_v<T, ElectionMsg>) return kWireElection;
  else if constexpr (std::is_same_v<T, ElectionAnswer>) return kWireAnswer;
  else if constexpr (std::is_same_v<T, Coordinator>) return kWireCoordinator;
  else if constexpr (std::is_same_v<T, SessionInvalidate>) return kWireSessionInvalidate;
  else if constexpr (std::is_same_v<T, CacheInvalidate>) return kWireCacheInvalidate;
  else return 0;
}

// Writes the message's wire id and fields; false when it has no wire form.
bool write_message(Writer& w, const Message& message) {
  return std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        constexpr std::uint16_t id = wire_id<T>();
        if constexpr (id == 0) {
          return false;
        } else {
          w.u16(id);
          if constexpr (std::is_same_v<T, Heartbeat>) {
            w.u64(m.seq);
          } else if constexpr (std::is_same_v<T, GossipPing> || std::is_same_v<T, GossipPong>) {
            w.version(m.version), w.u32(m.schema), w.u64(m.config_hash), w.u32(m.server_id), w.u64(m.seq);
          } else if constexpr (std::is_same_v<T, ElectionMsg> || std::is_same_v<T, ElectionAnswer>) {
            w.u32(m.server_id), w.u64(m.round);
          } else if constexpr (std::is_same_v<T, Coordinator>) {
            w.u32(m.server_id);
          } else if constexpr (std::is_same_v<T, SessionInvalidate>) {
            w.u64(m.session);
          } else if constexpr (std::is_same_v<T, CacheInvalidate>) {
            w.u64(m.key);
          }
          return true;
        }
      },
      message.body);
}

template <class T> void read_ping(Reader& r, T& m) {
  m.version = r.version(), m.schema = r.u32(), m.config_hash = r.u64(), m.server_id = r.u32(), m.seq = r.u64();
}

std::optional<Message> read_message(Reader& r) {
  Message out;
  switch (r.u16()) {
    case kWireHeartbeat: out.body = Heartbeat{r.u64()}; break;
    case kWirePing: { GossipPing m; read_ping(r, m); out.body = m; break; }
    case kWirePong: { GossipPong m; read_ping(r, m); out.body = m; break; }
    case kWireElection: { ElectionMsg m; m.server_id = r.u32(); m.round = r.u64(); out.body = m; break; }
    case kWireAnswer: { ElectionAnswer m; m.server_id = r.u32(); m.round = r.u64(); out.body = m; break; }
    case kWireCoordinator: out.body = Coordinator{r.u32()}; break;
    case kWireSessionInvalidate: out.body = SessionInvalidate{r.u64()}; break;
    case kWireCacheInvalidate: out.body = CacheInvalidate{r.u64()}; break;
    default: return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return out;
}

std::array<std::uint8_t, kFrameTagSize> tag_of(std::span<const std::uint8_t> data, std::string_view secret) {
  std::array<std::uint8_t, kFrameTagSize> tag{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), data.data(), data.size(), tag.data(), &len);
  return tag;
}

}  // namespace

bool transportable(const Message& message) {
  return std::visit([](const auto& m) { return wire_id<std::decay_t<decltype(m)>>() != 0; }, message.body);
}

std::optional<std::vector<std::uint8_t>> encode_frame(const Frame& frame, std::string_view secret) {
  std::vector<std::uint8_t> out;
  Writer w(out);
  w.u32(0);  // the length, filled below
  w.u32(kFrameMagic);
  w.u16(kProtocolVersion);
  w.u8(static_cast<std::uint8_t>(frame.type));
  w.u8(0);
  w.u32(frame.from.value);
  w.u64(frame.seq);
  if (frame.type == FrameType::message && !write_message(w, frame.message)) return std::nullopt;
  const auto tag = tag_of(std::span(out).subspan(4), secret);
  out.insert(out.end(), tag.begin(), tag.end());
  const std::uint32_t length = static_cast<std::uint32_t>(out.size() - 4);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(length >> (8 * (3 - i)));
  return out;
}

const char* decode_status_name(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::ok: return "ok";
    case DecodeStatus::need_more: return "need_more";
    case DecodeStatus::bad_length: return "bad_length";
    case DecodeStatus::bad_magic: return "bad_magic";
    case DecodeStatus::bad_version: return "bad_version";
    case DecodeStatus::bad_hmac: return "bad_hmac";
    case DecodeStatus::bad_payload: return "bad_payload";
  }
  return "?";
}

Decoded decode_frame(std::span<const std::uint8_t> input, std::string_view secret) {
  Decoded d;
  if (input.size() < 4) return d;
  Reader len_reader(input.first(4));
  const std::uint32_t length = len_reader.u32();
  if (length < kFrameHeaderSize - 4 + kFrameTagSize || length > kMaxFrameBody) {
    d.status = DecodeStatus::bad_length;
    return d;
  }
  // Reject a wrong magic or version as soon as the header is in: a stranger
  // speaking another protocol is told off without waiting for its whole length.
  if (input.size() >= 10) {
    Reader head(input.subspan(4, 6));
    if (head.u32() != kFrameMagic) return d.status = DecodeStatus::bad_magic, d;
    if (head.u16() != kProtocolVersion) return d.status = DecodeStatus::bad_version, d;
  }
  if (input.size() < 4 + static_cast<std::size_t>(length)) return d;
  const auto body = input.subspan(4, length - kFrameTagSize);
  const auto tag = input.subspan(4 + length - kFrameTagSize, kFrameTagSize);
  const auto expected = tag_of(body, secret);
  // Authenticate before interpreting anything beyond magic and version.
  if (CRYPTO_memcmp(expected.data(), tag.data(), kFrameTagSize) != 0) {
    d.status = DecodeStatus::bad_hmac;
    return d;
  }
  Reader r(body.subspan(6));
  const std::uint8_t type = r.u8();
  const std::uint8_t reserved = r.u8();
  d.frame.from = NodeId{r.u32()};
  d.frame.seq = r.u64();
  if (!r.ok() || reserved != 0) return d.status = DecodeStatus::bad_payload, d;
  if (type == static_cast<std::uint8_t>(FrameType::ack)) {
    d.frame.type = FrameType::ack;
  } else if (type == static_cast<std::uint8_t>(FrameType::message)) {
    d.frame.type = FrameType::message;
    auto m = read_message(r);
    if (!m) return d.status = DecodeStatus::bad_payload, d;
    d.frame.message = std::move(*m);
  } else {
    return d.status = DecodeStatus::bad_payload, d;
  }
  if (!r.done()) return d.status = DecodeStatus::bad_payload, d;
  d.status = DecodeStatus::ok;
  d.consumed = 4 + length;
  return d;
}

}  // namespace fl::live
