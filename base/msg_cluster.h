// Messages between app servers (gossip on port 8074 in the seed): pings, the
// bully election, and cluster messages. Owned by nodes/app_server.
#pragma once

#include <cstdint>

#include "base/ids.h"
#include "base/version.h"

namespace fl {

// Gossip ping: peer information exchanged (REFERENCE.md, Inter-node messages).
struct GossipPing {
  Version version{};
  std::uint32_t schema = 0;
  std::uint64_t config_hash = 0;
};

#define FL_CLUSTER_MESSAGES ::fl::GossipPing

}  // namespace fl
