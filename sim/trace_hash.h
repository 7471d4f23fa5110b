// The trace hash: a 64-bit digest of the ordered history, the proof that two
// runs of one scenario and seed were the same run event for event.
//
// The encoding is canonical: each event contributes its seq, virtual time, local
// time, node id, name and then every field its fields() visitor lists, in
// order, each as a type tag and a value (integers as 64-bit words, strings as a
// length and their bytes packed little-endian by arithmetic). Nothing depends on
// addresses, padding bytes, the host's byte order, or iteration over unordered
// containers, so a release and a sanitizer build, on any machine, agree.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/history.h"

namespace fl::sim {

class TraceHasher {
 public:
  void add(const HistoryEvent& event);
  std::uint64_t value() const;

  // The primitives (exposed for tests that check the encoding's properties).
  // Inline: a history event is some twenty words, and a call per word cost
  // more than the mixing.
  [[gnu::always_inline]] void add_word(std::uint64_t word) {
    // One round of a multiply-rotate mix per 64-bit word (the structure of
    // xxHash64's round, with its primes): order-sensitive and cheap.
    state_ ^= rotl(word * 0xC2B2AE3D27D4EB4FULL, 31) * 0x9E3779B185EBCA87ULL;
    state_ = rotl(state_, 27) * 0x9E3779B185EBCA87ULL + 0x85EBCA77C2B2AE63ULL;
    ++words_;
  }
  void add_string(std::string_view text);
  // The same encoding as add_string, for text known when compiling (event and
  // field names): the words are packed by the compiler, not byte by byte.
  template <std::size_t N>
  [[gnu::always_inline]] void add_literal(const char (&text)[N]) {
    constexpr std::size_t len = N - 1;
    add_word(len);
    for (std::size_t i = 0; i < len; i += 8) {
      std::uint64_t word = 0;
      for (std::size_t b = 0; b < 8 && i + b < len; ++b)
        word |= static_cast<std::uint64_t>(static_cast<unsigned char>(text[i + b])) << (8 * b);
      add_word(word);
    }
  }
  template <std::size_t W>
  [[gnu::always_inline]] void add_words(const std::array<std::uint64_t, W>& words) {
    for (std::uint64_t w : words) add_word(w);
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t state_ = 0x6a09e667f3bcc908ULL;  // first 64 bits of frac(sqrt(2)), as in SHA-512
  std::uint64_t words_ = 0;
};

// add_string's encoding of a string known when compiling: its length, then
// its bytes packed little-endian into words, the last zero-padded.
template <std::size_t L>
constexpr std::array<std::uint64_t, 1 + (L + 7) / 8> packed_words(std::string_view text) {
  std::array<std::uint64_t, 1 + (L + 7) / 8> words{};
  words[0] = L;
  for (std::size_t i = 0; i < L; ++i)
    words[1 + i / 8] |= static_cast<std::uint64_t>(static_cast<unsigned char>(text[i])) << (8 * (i % 8));
  return words;
}
// An event type's name, packed.
template <class T>
inline constexpr auto kNameWords = packed_words<T::kName.size()>(T::kName);

// The hash of one whole history (convenience for tests and replay).
template <class Range>
std::uint64_t trace_hash_of(const Range& events) {
  TraceHasher h;
  for (const auto& e : events) h.add(e);
  return h.value();
}

}  // namespace fl::sim
