// The checker interface: an invariant reads the history event by event (online:
// it may record a violation at the instant it becomes certain) and is told when
// the run ends (offline: liveness is judged at the end of settle).
//
// What every checker keeps true:
//  - It reads nothing but the history and the ClusterInfo given at construction
//    (names, roles, the options the scenario chose): no oracle, no node state.
//  - Events arrive in history order (seq strictly increasing, time never going
//    back); a checker asserts this.
//  - A violation carries its virtual time, one sentence naming nodes by name, the
//    nodes involved and the witnessing events (copies, so a report needs no
//    history kept in memory). Under clock skew or a pause of an involved node, the
//    sentence says so (MODEL.md: "a violation caused under clock skew names the skew").
//  - At most kMaxViolations per checker are kept (the first ones, in time order of
//    detection); a run with more says how many were dropped.
#pragma once

#include <bitset>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/history.h"
#include "base/ids.h"
#include "base/assert.h"
#include "base/time.h"

namespace fl::inv {

// What a node is in the deployment; checkers judge only the nodes they concern.
enum class Role : std::uint8_t { app_server, db_primary, db_replica, proxy, client, oper, storage, other };
std::string_view role_name(Role role);

struct NodeInfo {
  std::string name;
  Role role = Role::other;
  // App servers only: the numeric id of the election (lower id = higher priority).
  std::uint32_t server_id = 0;
};

// What a checker needs that is not in the history, known before the run starts.
struct ClusterInfo {
  std::vector<NodeInfo> nodes;          // indexed by NodeId::value
  std::string leader_election = "bully";  // "bully" | "db_lease" (SCENARIOS.md [cluster])
  // The schema the database holds at the start (Version::schema()). 0: the schema
  // of the version in the first ServerStarting of the history.
  std::uint32_t initial_schema = 0;
  bool shared_storage = true;           // plugin_convergence applies only with it
  // The recurring job types the schedulers run, with their periods (the
  // cluster's configuration; job_schedule judges these, none when empty).
  std::vector<std::pair<std::string, Duration>> job_periods;

  const NodeInfo* node(NodeId id) const {
    return id.value < nodes.size() ? &nodes[id.value] : nullptr;
  }
  // "app1", or "node#7" for an id outside the table, "-" for kNoNode.
  std::string name(NodeId id) const;
  Role role(NodeId id) const { return node(id) ? node(id)->role : Role::other; }
  bool is_server(NodeId id) const { return role(id) == Role::app_server; }
  std::vector<NodeId> with_role(Role role) const;
  NodeId find(std::string_view name) const;  // kNoNode when unknown
};

// The end of the run, known at finish.
struct RunEnd {
  Time end{};            // virtual time the run stopped
  bool completed = true;  // false when stopped early (online violation, error): liveness not judged
};

struct Violation {
  std::string invariant;
  Time at{};
  std::string message;                  // one sentence, nodes by name
  std::vector<NodeId> nodes;            // involved, in the order the sentence names them
  std::vector<HistoryEvent> witnesses;  // sorted by seq, no duplicates
  std::vector<std::uint64_t> witness_seqs() const;
};

inline constexpr std::size_t kMaxViolations = 100;

// Checker options from the scenario ([invariants.<name>] bound = "60s"): every
// option is a duration. Unknown keys and malformed values are user errors,
// caught by make_invariant (registry.h).
using OptionValues = std::map<std::string, Duration, std::less<>>;

// A set of history event types, by EventBody index.
using EventMask = std::bitset<kEventTypes>;
template <class... Ts> EventMask event_mask() {
  static_assert(((event_index<Ts> < kEventTypes) && ...), "not a history event type");
  EventMask m;
  (m.set(event_index<Ts>), ...);
  return m;
}

class Invariant {
 public:
  Invariant(std::string name, const ClusterInfo& cluster);
  virtual ~Invariant() = default;
  Invariant(const Invariant&) = delete;
  Invariant& operator=(const Invariant&) = delete;

  const std::string& name() const { return name_; }
  // Feeds one event (in history order).
  void on_event(const HistoryEvent& e);
  // Whether on_event does anything with events of this EventBody index: the
  // types handle() reads, and the clock and pause events every checker keeps
  // for its violations' skew note. A feeder may skip the others (the runner
  // does: most of a run's history is PostDelivered, which two checkers read).
  bool reads(std::size_t event_type) const {
    return wants_[event_type] || event_type == event_index<ClockChanged> || event_type == event_index<ProcessPaused>;
  }
  // A timed checker (read_timed) also takes events of other types from its
  // wake on: a feeder that skips by reads() must offer it those too.
  bool timed() const { return timed_; }
  Time wake() const { return wake_; }
  // Handle every event, whatever the types declared (read_only, read_timed):
  // the control of the test that skipping changes no verdict. Before the first
  // event only.
  void take_every_event() {
    FL_ASSERT(next_seq_ == 0);
    wants_.set();
    timed_ = false;
    wake_ = kTimeMax;
  }
  // Ends the run: offline judgement. Call once, after the last on_event.
  void finish(const RunEnd& end);

  const std::vector<Violation>& violations() const { return violations_; }
  std::size_t dropped() const { return dropped_; }
  bool failed() const { return !violations_.empty(); }

 protected:
  virtual void handle(const HistoryEvent& e) = 0;
  // Declares the event types handle() reads (default: all; event_mask below).
  // Only a checker whose handle() does nothing for the other types may say so:
  // one that acts on the time of any event (a deadline checked at every event)
  // must read all, or be timed (read_timed, below), so that its violations are
  // found at the same event.
  void read_only(const EventMask& types) { wants_ = types; }
  // A checker that acts on the passing of time (a deadline judged at the first
  // event past it) need not read every event for that: it declares the types
  // it reads with read_timed(), and after each handle() says with wake_at()
  // the earliest time at which an event of any other type would make it act
  // (kTimeMax: none pending). Events of other types before that time are
  // skipped; the first one at or after it is handled, as before. So a deadline
  // is still judged at the same event (the reference hour: four deadline
  // checkers read every event, a fifth of its work, for nothing; issue 12).
  // A wake that is too early costs a call; one too late would miss a
  // violation: compute it from the same state the deadline check reads.
  void read_timed(const EventMask& types) {
    wants_ = types;
    timed_ = true;
    wake_ = kTimeMax;
  }
  void wake_at(Time t) {
    if (timed_) wake_ = t;  // else every event is handled (take_every_event)
  }
  virtual void judge_at_end(const RunEnd&) {}

  // Records a violation: fills `invariant`, sorts and dedups witnesses, adds the
  // clock note for the involved nodes.
  void report(Violation v);
  const ClusterInfo& cluster() const { return cluster_; }
  std::string name_of(NodeId id) const { return cluster_.name(id); }
  Time now() const { return now_; }  // time of the event being handled

 private:
  // The latest clock and pause facts per node, for the skew note.
  struct ClockFacts {
    bool skewed = false;
    HistoryEvent clock;        // the last ClockChanged with a non-zero offset, drift or step
    bool paused = false;
    HistoryEvent pause;        // the last ProcessPaused
  };
  std::string clock_note(Violation& v) const;

  std::string name_;
  ClusterInfo cluster_;
  std::vector<Violation> violations_;
  std::size_t dropped_ = 0;
  std::map<NodeId, ClockFacts> clocks_;
  Time now_{};
  std::uint64_t next_seq_ = 0;
  EventMask wants_ = EventMask().set();
  bool timed_ = false;
  // For a timed checker: handle() also takes events of other types from this
  // time on. kTimeMax for the others (wants_ says all they take).
  Time wake_ = kTimeMax;
  bool finished_ = false;
};

// "2m3.412s": virtual times in messages, as reports write them.
std::string at_text(Time t);
// A post id as people read it: "post 3:17" is client 3's 17th post
// (history.h: post ids are client index << 32 | n).
std::string post_text(std::uint64_t post);
// "a", "a and b", "a, b and c".
std::string join_names(const std::vector<std::string>& names);

}  // namespace fl::inv
