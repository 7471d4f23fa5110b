// The RDS-like control plane of `failover = "automatic"`: it pings the primary,
// and when the primary has not answered for failover_detection it asks the
// replicas what they have received, promotes the most advanced one, moves the
// cluster endpoint to it, and tells every other member (the deposed primary
// too, whenever it comes back) to follow it from the fork point. It knows only
// what its requests returned.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "base/env.h"
#include "nodes/constants.h"

namespace fl {

// The control plane's own durable record (its database), owned by the harness.
struct FailoverState {
  NodeId primary{kNoNode};
  std::uint64_t fork_lsn = 0;
  std::set<NodeId> to_follow;  // members not yet told about the current primary
};

class FailoverController : public Node {
 public:
  FailoverController(FailoverState& state, std::vector<NodeId> members, Duration detection);

  void on_start(Env& env) override;
  void on_message(Env& env, NodeId from, const Message& message) override { (void)env, (void)from, (void)message; }
  void on_timer(Env& env, TimerId id, TimerTag tag) override;
  void on_db_reply(Env& env, RequestId id, const DbReply& reply) override;

 private:
  enum class Ask : std::uint8_t { ping, status, promote, follow };
  struct Pending { Ask ask; NodeId member; };
  void tick(Env& env);
  void ping_failed(Env& env, Time sent_at);
  void begin_failover(Env& env);
  void choose(Env& env);

  FailoverState& state_;
  std::vector<NodeId> members_;
  Duration detection_;
  std::optional<Time> first_failure_;  // local clock: the first failed ping since the last answer
  bool ping_outstanding_ = false;
  Time ping_sent_at_{};  // local clock
  bool failing_over_ = false;
  std::map<RequestId, Pending> pending_;
  std::map<NodeId, std::uint64_t> received_;  // status answers of this failover
  std::size_t status_outstanding_ = 0;
};

}  // namespace fl
