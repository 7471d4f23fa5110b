// Messages between app servers (gossip on port 8074 in the seed): pings, the
// bully election, and cluster messages; and between database members (the
// write-ahead-log stream). Owned by nodes/ (app_server, database).
// Every alternative is cheap to copy (the simulator copies millions).
#pragma once

#include <cstdint>
#include <memory>

#include "base/ids.h"
#include "base/version.h"

namespace fl {

// Gossip ping: peer information exchanged (REFERENCE.md, Inter-node messages:
// id, version, schema version, config hash). `seq` lets the sender tell which
// of its pings a failure or an answer belongs to (the 15-second rule's retry).
struct GossipPing {
  Version version{};
  std::uint32_t schema = 0;
  std::uint64_t config_hash = 0;
  std::uint32_t server_id = 0;
  std::uint64_t seq = 0;
};
// The answer to a ping: proves the path to the peer works (a down peer is up
// again when one arrives).
struct GossipPong {
  Version version{};
  std::uint32_t schema = 0;
  std::uint64_t config_hash = 0;
  std::uint32_t server_id = 0;
  std::uint64_t seq = 0;  // the ping's
};

// The seed's bully election (MODEL.md, Leader election).
struct ElectionMsg { std::uint32_t server_id = 0; std::uint64_t round = 0; };
struct ElectionAnswer { std::uint32_t server_id = 0; std::uint64_t round = 0; };
struct Coordinator { std::uint32_t server_id = 0; };

// Cluster messages (REFERENCE.md: session cache clears are sent reliably, store
// cache invalidations best effort).
struct SessionInvalidate { std::uint64_t session = 0; };
// An admin revoked sessions (revocation number `revocation`, of `client`, or of
// everyone when kNoNode): clear them from the cache, and close the websockets
// they authenticated (docs/model.md, Sessions; MM-68543).
struct SessionsRevoked { std::uint64_t revocation = 0; NodeId client{kNoNode}; };
struct CacheInvalidate { std::uint64_t key = 0; };

// ---- database members ----
// One committed write, streamed by the primary to its replicas. The record
// itself is immutable and shared (defined in nodes/database.h), so a copy is a
// reference count, not a row image.
struct WalWrite;
struct WalRecord {
  std::uint64_t lsn = 0;
  std::shared_ptr<const WalWrite> write;
};
// A replica's standby status (wal_receiver_status_interval): what it has
// received and applied. Sync replication acknowledges commits on it; the primary
// resends what a replica is missing.
struct WalStatus {
  std::uint64_t received_lsn = 0;
  std::uint64_t applied_lsn = 0;
  bool resend = false;  // asks for everything after received_lsn (a gap, a restart)
};

#define FL_CLUSTER_MESSAGES                                                             \
  ::fl::GossipPing, ::fl::GossipPong, ::fl::ElectionMsg, ::fl::ElectionAnswer,          \
      ::fl::Coordinator, ::fl::SessionInvalidate, ::fl::CacheInvalidate, ::fl::WalRecord, \
      ::fl::WalStatus, ::fl::SessionsRevoked

}  // namespace fl
