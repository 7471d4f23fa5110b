// The seam. A node is a state machine written against Env: it never reads a
// clock, opens a socket, sleeps, spawns a thread or draws its own random
// numbers. Everything reaches it as an input (Node's on_* calls) and everything
// it wants done leaves it as a request to its Env. Two runtimes implement Env:
// the simulator (sim/) and the live runtime (live/).
//
// Invariants the runtimes keep, and nodes may rely on:
//  - Inputs to one node are never concurrent and never re-entrant: an Env call
//    never calls back into the node before it returns.
//  - send() to a reachable, running peer is delivered in order per (from, to)
//    connection unless the scenario injects reordering or duplication; to an
//    unreachable one it ends in on_send_failed after a connect timeout (a
//    refused connection fails after one round trip).
//  - A timer fires at most once, never before its local-clock deadline, and never
//    after the node crashed (a restarted node is a new object with no timers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/db.h"
#include "base/history.h"
#include "base/ids.h"
#include "base/message.h"
#include "base/rng.h"
#include "base/time.h"

namespace fl {

// What a timer is for, handed back to the node when it fires, so that a node
// needs no table from TimerId to purpose. `kind` is the node's own enum.
struct TimerTag {
  std::uint32_t kind = 0;
  std::uint64_t arg = 0;
};

// The operator's hand on a machine (systemctl, editing config.json, swapping
// the binary). Lifecycle kinds are carried out by the runtime; the others change
// the node's specification, which survives crashes, and take effect at its next
// start (or at once for reload_config, which the node receives as an input).
struct ControlOp {
  enum class Kind : std::uint8_t { stop, start, restart, crash, set_spec };
  Kind kind = Kind::stop;
  std::string key;    // set_spec: "version", "config.<Key>", "datasource", "plugin", ...
  std::string value;
};

class Env {
 public:
  virtual ~Env() = default;

  virtual NodeId self() const = 0;
  // This node's local clock: skewed, drifting and stepped in simulation.
  virtual Time now() = 0;
  // This node's monotonic clock (steady_clock, CLOCK_MONOTONIC): it drifts with
  // the machine's oscillator but is never stepped or set, so the time elapsed
  // between two readings is trustworthy whatever happens to now(). Its origin
  // means nothing: compare two readings, never a reading with now().
  virtual Time monotonic() = 0;
  // A one-shot timer that fires when the monotonic clock has advanced by `after`
  // (a clock step or skew does not move it).
  virtual TimerId after(Duration after, TimerTag tag) = 0;
  // Cancels a pending timer; cancelling a fired or unknown timer is a no-op.
  virtual void cancel(TimerId id) = 0;
  // Sends over a connection to `to` (see the delivery guarantees above).
  virtual void send(NodeId to, const Message& message) = 0;
  // A typed database operation; the answer arrives as on_db_reply with the id.
  virtual RequestId db(const DbRequest& request) = 0;
  // For database members only: answers a request received in on_db_request.
  virtual void db_reply(NodeId to, RequestId id, const DbReply& reply) = 0;
  // Infrastructure only (the cluster endpoint's DNS record, moved by failover).
  virtual void set_db_endpoint(NodeId primary) = 0;
  // For the operator only: act on another machine.
  virtual void control(NodeId target, const ControlOp& op) = 0;
  // This node's stream of the run's seeded generator.
  virtual Rng& rng() = 0;
  // Records a history event; the runtime stamps time, local time and node.
  virtual void emit(EventBody event) = 0;
};

// Where a node writes its state for people (faultline replay --dump-state):
// (key, value) pairs in the node's own order, and the runtime's names for the
// nodes it mentions. Read-only inspection: nothing here changes a run.
class StateWriter {
 public:
  virtual ~StateWriter() = default;
  virtual void field(std::string_view key, std::string value) = 0;
  // The runtime's name of a node ("app2", "db-primary"); "none" for kNoNode.
  virtual std::string name(NodeId node) const = 0;
};

// A process of the simulated (or live) cluster. A crash destroys the object;
// a restart builds a new one from the node's specification, so nothing in
// memory survives (durable state, such as a database's data, lives outside).
class Node {
 public:
  virtual ~Node() = default;
  virtual void on_start(Env& env) = 0;
  virtual void on_message(Env& env, NodeId from, const Message& message) = 0;
  // A send found no connection: refused, or timed out connecting.
  virtual void on_send_failed(Env& env, NodeId to, const Message& message) { (void)env, (void)to, (void)message; }
  virtual void on_timer(Env& env, TimerId id, TimerTag tag) = 0;
  virtual void on_db_reply(Env& env, RequestId id, const DbReply& reply) { (void)env, (void)id, (void)reply; }
  // Database members only.
  virtual void on_db_request(Env& env, NodeId from, RequestId id, const DbRequest& request) {
    (void)env, (void)from, (void)id, (void)request;
  }
  // A graceful stop (the operator's `stop`): the node may tidy up (delete its
  // discovery row) before the runtime ends it. It gets no further inputs.
  virtual void on_stop(Env& env) { (void)env; }
  // A set_spec control op that takes effect without a restart (reload_config).
  virtual void on_control(Env& env, const ControlOp& op) { (void)env, (void)op; }
  // Its state for people (replay --dump-state): the leader it believes in, the
  // peers it sees, locks held, replica positions. Must not change anything.
  virtual void describe(StateWriter& out) const { (void)out; }
};

}  // namespace fl
