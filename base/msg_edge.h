// Messages of the cluster's edge: clients, the proxy, websocket frames, shared
// storage and the operator. Owned by nodes/ (client, proxy, hub).
#pragma once

#include <cstdint>

#include "base/ids.h"

namespace fl {

// Placeholder until the edge lands: a websocket frame carrying a sequence number.
struct WsFrame {
  std::uint64_t conn = 0;
  std::uint64_t seq = 0;
};

#define FL_EDGE_MESSAGES ::fl::WsFrame

}  // namespace fl
