// Messages between nodes. A Message is a value (copied into the runtime's pool
// on send), so every alternative must be cheap to copy; the simulator moves
// millions per second. The alternatives are declared by area, each area in its
// own header with a FL_*_MESSAGES list, so that areas can grow independently.
#pragma once

#include <cstdint>
#include <variant>

#include "base/ids.h"
#include "base/msg_cluster.h"
#include "base/msg_edge.h"

namespace fl {

// The engine benchmark's and the simulator tests' message: carries a counter.
struct Heartbeat {
  std::uint64_t seq = 0;
};

struct Message {
  std::variant<Heartbeat, FL_CLUSTER_MESSAGES, FL_EDGE_MESSAGES> body;

  template <class T> bool is() const { return std::holds_alternative<T>(body); }
  template <class T> const T* get() const { return std::get_if<T>(&body); }
};

}  // namespace fl
