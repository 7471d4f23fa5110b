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

#include <cstdint>
#include <string_view>

#include "base/history.h"

namespace fl::sim {

class TraceHasher {
 public:
  void add(const HistoryEvent& event);
  std::uint64_t value() const;

  // The primitives (exposed for tests that check the encoding's properties).
  void add_word(std::uint64_t word);
  void add_string(std::string_view text);

 private:
  std::uint64_t state_ = 0x6a09e667f3bcc908ULL;  // first 64 bits of frac(sqrt(2)), as in SHA-512
  std::uint64_t words_ = 0;
};

// The hash of one whole history (convenience for tests and replay).
template <class Range>
std::uint64_t trace_hash_of(const Range& events) {
  TraceHasher h;
  for (const auto& e : events) h.add(e);
  return h.value();
}

}  // namespace fl::sim
