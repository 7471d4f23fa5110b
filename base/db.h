// Typed database operations (never SQL text). In simulation a model of
// PostgreSQL answers them (nodes/database); live, each maps to SQL on a real
// server through libpq. Owned by nodes/ (app server and database).
#pragma once

#include <cstdint>
#include <variant>

#include "base/ids.h"
#include "base/time.h"

namespace fl {

// Where a request goes: the cluster endpoint (moved by automatic failover), or
// one named database member (a DataSource pointing at a host, or a replica read).
struct DbTarget {
  bool endpoint = true;
  NodeId node{kNoNode};
  static DbTarget cluster_endpoint() { return {true, kNoNode}; }
  static DbTarget member(NodeId n) { return {false, n}; }
};

struct DbPing {};

struct DbRequest {
  DbTarget target{};
  std::variant<DbPing> op;
};

enum class DbStatus : std::uint8_t {
  ok,
  connection_refused,  // hard error: the member is down (a replica goes offline)
  timeout,             // no answer within the query timeout
  serialization_failure,
  conflict,            // the operation's precondition did not hold (a lost CAS)
  read_only,           // a write reached a replica
};

struct DbPong {};

struct DbReply {
  DbStatus status = DbStatus::ok;
  std::variant<DbPong> result;
};

}  // namespace fl
