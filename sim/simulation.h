// The deterministic runtime. One Simulation is one run: one thread, one event
// loop, virtual time, one root generator seeded from the scenario seed. It runs
// anything written against base/'s Env and knows nothing of chat servers: it
// carries Messages, DbRequests and history events as opaque cargo.
//
// Invariants kept:
//  - Events are ordered by (virtual time, insertion sequence); no tie is ever
//    broken by an address, so the same seed gives the same history everywhere.
//  - A node's timers run on its monotonic clock (Env::monotonic: its drift,
//    never its offset or steps, as steady timers do in a real runtime) and are
//    converted to virtual time, so a node whose clock drifts +1000 ppm sees its
//    15 s timer fire after 15 of its own seconds (14.985 s of virtual time),
//    and a clock step or skew moves now() but no pending timer.
//  - A crashed node loses all in-memory state: its object is destroyed, its
//    timers never fire, messages to it fail; a restart builds a new object.
//  - A paused node receives nothing while paused; its inputs wait and are
//    delivered in their original order when it resumes.
//  - Where a request timeout is set for (from, to) (set_request_timeout), a
//    message that the receiver has not handled within it fails at the sender
//    (on_send_failed at send time + timeout): a paused receiver (its kernel
//    accepts, the process never answers), a lossy link that dropped it (a black
//    hole), or a delay longer than the timeout. The message itself is not taken
//    back: it is still delivered when the receiver resumes, as TCP would.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/history.h"
#include "base/ids.h"
#include "base/time.h"

namespace fl::sim {

using NodeFactory = std::function<std::unique_ptr<Node>()>;

// Per-link behaviour. Latency is drawn uniformly per message from the range.
struct LinkConfig {
  DurationRange latency{microseconds(200), milliseconds(2)};
  // Probability a message is dropped. The sender learns of it only where a
  // request timeout is set for the pair (set_request_timeout); elsewhere a lost
  // message is silently gone.
  double loss = 0.0;
  double duplicate = 0.0;  // probability a message is delivered twice
  double reorder = 0.0;    // probability a message gets extra delay (up to 10x latency.hi)
};

// The simulator's unkindness (issue 9): timing that real networks, disks and
// schedulers produce and a kind simulator never does. Everything zero (the
// default) is the kind simulator every library scenario runs on: nothing is
// drawn for it, so a run without it is event for event the run it always was.
// All draws come from the run's "timing" streams (never the network's), so
// turning one knob on does not move the draws of another part of the run.
struct Timing {
  // Long-tailed latency: with probability `tail` a message (or one leg of a
  // database round trip) waits an extra (k - 1) times a latency of the
  // default link, k drawn in [1, tail_factor] (a retransmission, a congested
  // switch, a slow NIC queue). The default link's, never a `delay` fault's:
  // a tail is a multiple of the path's ordinary latency (simulation.cc).
  double tail = 0.0;
  std::int64_t tail_factor = 1;
  // Reordering across connections: every message waits an extra delay drawn
  // in [0, jitter) on top of its latency. A connection stays FIFO (TCP), so
  // only messages on different connections overtake one another.
  Duration jitter{0};
  // Each node's clock runs at a rate drawn in [-drift_ppm, +drift_ppm] from
  // the start (set_timing), as unsynchronised crystals do.
  std::int64_t drift_ppm = 0;
  // With probability `timer_late` a timer fires late by a delay drawn in
  // [0, timer_late_max) (a busy scheduler, a GC pause): never early.
  double timer_late = 0.0;
  Duration timer_late_max{0};
  bool any() const {
    return (tail > 0.0 && tail_factor > 1) || jitter.count() > 0 || drift_ppm != 0 ||
           (timer_late > 0.0 && timer_late_max.count() > 0);
  }
};

// How long a send over a cut link takes to fail: a TCP connect timing out.
// A crashed (not partitioned) peer refuses at once: one round trip.
inline constexpr Duration kConnectTimeout = seconds(3);

class Simulation;

// Receives every history event as it is recorded (in order). Used by online
// invariant checkers and by the JSON Lines streamer.
using HistoryListener = std::function<void(const HistoryEvent&)>;

// Where a process is in its life (added for the fault injector and settle).
enum class ProcessState : std::uint8_t { never_started, running, crashed, stopped };

class Simulation {
 public:
  explicit Simulation(std::uint64_t seed);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // ---- set-up ----
  // Declares a node; ids are dense from 0 in declaration order. The node is
  // not running until start() (or a scheduled start).
  NodeId add_node(std::string name, NodeFactory factory);
  NodeId id(std::string_view name) const;  // asserts the name exists
  const std::string& name(NodeId id) const;
  std::size_t node_count() const;
  void set_default_link(const LinkConfig& link);
  // Keep every event in memory (history()), and/or hand each to listeners.
  void keep_history(bool keep);
  void add_history_listener(HistoryListener listener);
  // Called for ControlOp::Kind::set_spec (the harness edits the node's
  // specification, which the node's factory reads at the next start).
  void set_spec_hook(std::function<void(NodeId, const ControlOp&)> hook);

  // ---- process lifecycle (also reachable by Env::control) ----
  void start(NodeId node);                        // on_start; ProcessStarted
  void crash(NodeId node);                        // destroys the object; ProcessCrashed
  void stop(NodeId node);                         // on_stop, then destroys; ProcessStopped
  void restart(NodeId node, Duration delay);      // crash now, start after delay
  void pause(NodeId node, Duration length);       // inputs wait until resume
  void resume(NodeId node);                       // ends a pause now (settle); no-op when not paused
  // stop() of a crashed node marks it stopped (the operator's intent): callers
  // that restart crashed nodes restart only ProcessState::crashed ones.
  bool running(NodeId node) const;                // started, not crashed/stopped
  bool paused(NodeId node) const;
  ProcessState process_state(NodeId node) const;
  // The operator's hand (what Env::control does), callable by the harness.
  // Lifecycle ops take effect at once; set_spec calls the spec hook, then
  // delivers on_control to the target (as an input, at this instant) if it runs.
  void control(NodeId target, const ControlOp& op);
  // The node's object, for tests that inspect state; nullptr when not running.
  Node* node(NodeId node);

  // ---- timing ----
  // Makes the simulator unkind (Timing). Called after set_default_link (the
  // tails scale that link's latency) and before the nodes start: the
  // clock drifts are set (and recorded, ClockChanged) at once, the rest acts
  // on every send, database leg and timer from then on.
  void set_timing(const Timing& timing);
  const Timing& timing() const;

  // ---- clocks ----
  void set_clock(NodeId node, Duration offset, std::int64_t drift_ppm);
  void step_clock(NodeId node, Duration by);
  Time local_time(NodeId node) const;
  Duration clock_offset(NodeId node) const;     // as last set by set_clock
  std::int64_t clock_drift_ppm(NodeId node) const;

  // ---- network ----
  // Nodes in different groups cannot reach each other; nodes in no group keep
  // their links. Replaces any earlier partition.
  void partition(const std::vector<std::vector<NodeId>>& groups);
  void cut_one_way(NodeId from, NodeId to);       // from -> to fails; to -> from works
  void set_link(NodeId a, NodeId b, const LinkConfig& link);  // both directions
  void heal();                                    // ends every partition, cut and link override
  bool reachable(NodeId from, NodeId to) const;
  // Finer undo for the fault injector (heal() undoes all of these at once).
  void heal_partition();                          // ends the partition only
  void heal_one_way(NodeId from, NodeId to);      // ends one cut_one_way
  void clear_link(NodeId a, NodeId b);            // back to the default link
  const LinkConfig& default_link() const;
  LinkConfig link(NodeId from, NodeId to) const;  // the config a send from -> to uses
  void set_db_endpoint(NodeId primary);
  NodeId db_endpoint() const;
  // The transport's request timeout for sends from -> to (one direction): a
  // message not handled by `to` within it (paused, lost, delayed) fails at the
  // sender after exactly `timeout`. Zero (the default) means none: the sender
  // then waits for ever, as it does for a message lost on a link without one.
  // Which transport has which timeout is the harness's business (the simulator
  // knows nothing of gossip); it survives heal().
  void set_request_timeout(NodeId from, NodeId to, Duration timeout);
  Duration request_timeout(NodeId from, NodeId to) const;

  // ---- scheduling and running ----
  // Runs `action` at virtual time `at` (faults, operations, checks). Not for
  // node logic: nodes use their Env.
  void at(Time at, std::function<void(Simulation&)> action);
  // Processes events until virtual time passes `until` or stop_run() is called.
  void run_until(Time until);
  void stop_run();                                // e.g. an online invariant failed
  // Calls `callback` after every `every` events processed (0: never), from
  // inside run_until, between two events. For watching a run from outside
  // (progress, a memory budget): the callback may read counters and call
  // stop_run(), and must not touch the simulation's state otherwise, so that
  // a run with a callback is the same run as one without.
  void set_progress(std::uint64_t every, std::function<void()> callback);
  bool stopped() const;
  Time now() const;                               // virtual time
  std::uint64_t events_processed() const;

  // Emits an event on behalf of the simulator or the harness (faults, settle).
  void emit(NodeId node, EventBody event);
  const std::vector<HistoryEvent>& history() const;  // when keep_history(true)
  // 64-bit hash of the ordered history so far (every event, kept or not).
  std::uint64_t trace_hash() const;

  // How many messages a cut or partition stopped, and how many sends failed,
  // since the start: the vacuity check asks whether a fault did anything.
  std::uint64_t messages_cut() const;
  // Further network counters since the start (statistics and vacuity checks).
  std::uint64_t messages_sent() const;
  std::uint64_t messages_lost() const;        // dropped by a lossy link
  std::uint64_t messages_duplicated() const;
  std::uint64_t messages_reordered() const;   // given extra delay by a reordering link
  std::uint64_t messages_delayed() const;     // sent over a link with a set_link override
  std::uint64_t sends_failed() const;         // on_send_failed scheduled (cut, refused or timed out)
  std::uint64_t sends_timed_out() const;      // of which: the request timeout ran out
  // Virtual time of the next pending event, or kTimeMax when none is left.
  Time next_event_time() const;

  Rng& rng();  // the root generator's "sim" stream (network draws etc. use their own)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::sim
