#include "sim/trace_hash.h"

#include <string>
#include <type_traits>

#include "base/assert.h"

namespace fl::sim {
namespace {

// Type tags, so that a field changing type (or an int and a string that happen
// to encode alike) changes the hash.
enum Tag : std::uint64_t {
  kTagEvent = 0xE1, kTagInt = 0x11, kTagUint = 0x12, kTagBool = 0x13, kTagNode = 0x14,
  kTagDuration = 0x15, kTagTime = 0x16, kTagString = 0x17,
};

struct FieldHasher {
  TraceHasher* h;
  // Field names are string literals in every fields() visitor (base/history.h).
  template <std::size_t N, class V>
  [[gnu::always_inline]] void operator()(const char (&name)[N], const V& value) const {
    h->add_literal(name);
    using T = std::decay_t<V>;
    if constexpr (std::is_same_v<T, bool>) {
      h->add_word(kTagBool);
      h->add_word(value ? 1 : 0);
    } else if constexpr (std::is_same_v<T, NodeId>) {
      h->add_word(kTagNode);
      h->add_word(value.value);
    } else if constexpr (std::is_same_v<T, Duration>) {
      h->add_word(kTagDuration);
      h->add_word(static_cast<std::uint64_t>(value.count()));
    } else if constexpr (std::is_same_v<T, Time>) {
      h->add_word(kTagTime);
      h->add_word(static_cast<std::uint64_t>(ns(value)));
    } else if constexpr (std::is_same_v<T, std::string>) {
      h->add_word(kTagString);
      h->add_string(value);
    } else if constexpr (std::is_same_v<T, NodeGroups>) {
      // Each group's size then its ids: [[a],[b,c]] and [[a,b],[c]] differ.
      h->add_word(kTagNode);
      h->add_word(value.size());
      for (const auto& group : value) {
        h->add_word(group.size());
        for (NodeId n : group) h->add_word(n.value);
      }
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      h->add_word(kTagInt);
      h->add_word(static_cast<std::uint64_t>(static_cast<std::int64_t>(value)));
    } else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
      h->add_word(kTagUint);
      h->add_word(static_cast<std::uint64_t>(value));
    } else {
      static_assert(sizeof(T) == 0, "a history field of a type the trace hash cannot encode");
    }
  }
};

}  // namespace

void TraceHasher::add_string(std::string_view text) {
  add_word(text.size());
  // Byte i of each 8-byte group at bits 8 i (a little-endian load), the last
  // group zero-padded: whole groups are read as one word each.
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word = 0;
    for (int b = 0; b < 8; ++b) word |= static_cast<std::uint64_t>(static_cast<unsigned char>(text[i + b])) << (8 * b);
    add_word(word);
  }
  if (i < text.size()) {
    std::uint64_t word = 0;
    for (int b = 0; i + b < text.size(); ++b)
      word |= static_cast<std::uint64_t>(static_cast<unsigned char>(text[i + b])) << (8 * b);
    add_word(word);
  }
}

void TraceHasher::add(const HistoryEvent& event) {
  add_word(kTagEvent);
  add_word(event.seq);
  add_word(static_cast<std::uint64_t>(ns(event.at)));
  add_word(static_cast<std::uint64_t>(ns(event.local)));
  add_word(event.node.value);
  std::visit(
      [this](const auto& body) {
        add_words(kNameWords<std::decay_t<decltype(body)>>);  // add_string(event.name())
        body.fields(FieldHasher{this});
      },
      event.body);
}

std::uint64_t TraceHasher::value() const {
  // xxHash64's avalanche, over the state and the length.
  std::uint64_t h = state_ ^ (words_ * 0x27D4EB2F165667C5ULL);
  h ^= h >> 33;
  h *= 0xC2B2AE3D27D4EB4FULL;
  h ^= h >> 29;
  h *= 0x165667B19E3779F9ULL;
  h ^= h >> 32;
  return h;
}

}  // namespace fl::sim
