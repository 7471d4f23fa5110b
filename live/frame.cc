// Gossip frames: encoding, decoding, authentication (see frame.h).
#include "live/frame.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <memory>
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
  // The edge's cluster messages (docs/live.md, The edge): a post for the other
  // servers' websockets, channel membership, reliable websockets' queues.
  kWireHubPostBroadcast = 9,
  kWireHubUserAdded = 10,
  kWireHubInvalidateMember = 11,
  kWireWsQueueRequest = 12,
  kWireWsQueueReply = 13,
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
  else if constexpr (std::is_same_v<T, HubPostBroadcast>) return kWireHubPostBroadcast;
  else if constexpr (std::is_same_v<T, HubUserAdded>) return kWireHubUserAdded;
  else if constexpr (std::is_same_v<T, HubInvalidateMember>) return kWireHubInvalidateMember;
  else if constexpr (std::is_same_v<T, WsQueueRequest>) return kWireWsQueueRequest;
  else if constexpr (std::is_same_v<T, WsQueueReply>) return kWireWsQueueReply;
  else return 0;
}

void write_post(Writer& w, const PostEvent& p) {
  w.u64(p.id), w.u32(p.channel), w.u32(p.author.value), w.u64(static_cast<std::uint64_t>(ns(p.create_at)));
}
PostEvent read_post(Reader& r) {
  PostEvent p;
  p.id = r.u64(), p.channel = r.u32(), p.author = NodeId{r.u32()};
  p.create_at = time_from_ns(static_cast<std::int64_t>(r.u64()));
  return p;
}
void write_event(Writer& w, const WsEvent& e) {
  w.u32(e.client.value), w.u64(e.conn_id), w.u64(e.seq), w.u8(static_cast<std::uint8_t>(e.kind));
  write_post(w, e.post), w.version(e.server_version), w.u32(e.channel), w.u32(e.user.value);
}
std::optional<WsEvent> read_event(Reader& r) {
  WsEvent e;
  e.client = NodeId{r.u32()}, e.conn_id = r.u64(), e.seq = r.u64();
  const std::uint8_t kind = r.u8();
  if (kind > static_cast<std::uint8_t>(WsEventKind::user_added)) return std::nullopt;
  e.kind = static_cast<WsEventKind>(kind);
  e.post = read_post(r), e.server_version = r.version(), e.channel = r.u32(), e.user = NodeId{r.u32()};
  return e;
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
          } else if constexpr (std::is_same_v<T, HubPostBroadcast>) {
            write_post(w, m.post);
          } else if constexpr (std::is_same_v<T, HubUserAdded>) {
            w.u32(m.user.value), w.u32(m.channel), w.u8(m.direct ? 1 : 0), w.u8(m.invalidate ? 1 : 0);
          } else if constexpr (std::is_same_v<T, HubInvalidateMember>) {
            w.u32(m.user.value);
          } else if constexpr (std::is_same_v<T, WsQueueRequest>) {
            w.u64(m.token), w.u32(m.client.value), w.u64(m.conn_id), w.u64(m.next_seq);
          } else if constexpr (std::is_same_v<T, WsQueueReply>) {
            w.u64(m.token), w.u8(m.found ? 1 : 0), w.u64(m.next_seq);
            const std::size_t n = m.events ? m.events->size() : 0;
            if (n > 0xFFFF) return false;
            w.u8(m.events ? 1 : 0), w.u16(static_cast<std::uint16_t>(n));
            if (m.events)
              for (const WsEvent& e : *m.events) write_event(w, e);
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
    case kWireHubPostBroadcast: out.body = HubPostBroadcast{read_post(r)}; break;
    case kWireHubUserAdded: {
      HubUserAdded m;
      m.user = NodeId{r.u32()}, m.channel = r.u32();
      const std::uint8_t direct = r.u8(), invalidate = r.u8();
      if (direct > 1 || invalidate > 1) return std::nullopt;
      m.direct = direct == 1, m.invalidate = invalidate == 1;
      out.body = m;
      break;
    }
    case kWireHubInvalidateMember: out.body = HubInvalidateMember{NodeId{r.u32()}}; break;
    case kWireWsQueueRequest: {
      WsQueueRequest m;
      m.token = r.u64(), m.client = NodeId{r.u32()}, m.conn_id = r.u64(), m.next_seq = r.u64();
      out.body = m;
      break;
    }
    case kWireWsQueueReply: {
      WsQueueReply m;
      m.token = r.u64();
      const std::uint8_t found = r.u8();
      m.next_seq = r.u64();
      const std::uint8_t has = r.u8();
      const std::uint16_t n = r.u16();
      if (found > 1 || has > 1 || (!has && n != 0) || !r.ok()) return std::nullopt;
      m.found = found == 1;
      if (has) {
        auto events = std::make_shared<std::vector<WsEvent>>();
        for (std::uint16_t i = 0; i < n && r.ok(); ++i) {
          auto e = read_event(r);
          if (!e) return std::nullopt;
          events->push_back(*e);
        }
        m.events = std::move(events);
      }
      out.body = m;
      break;
    }
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
  if (out.size() - 4 + kFrameTagSize > kMaxFrameBody) return std::nullopt;  // the peer would reject it
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
