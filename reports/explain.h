// Causes, not just symptoms: the run's violations grouped by invariant and
// cause, each group with one sentence naming the cause when the history shows
// it, the events that show it, and the faults and clock offsets in force.
//
// CauseFinder reads the history (the whole of it, from the run's folder, or the
// run's timeline of notable events when there is no history file) after the
// run: it never runs inside the simulation, so the run's determinism is
// untouched. Causes it knows (each from events only, never from node state):
//  - message_delivery, a post never received after a (re)connect: the client's
//    resync read went to a replica that had not applied the post's lsn yet
//    (ReplicaApplied against the post's PostCommitted) -> "replica_behind"; or
//    the post was acknowledged and never committed -> "never_committed".
//  - status_accuracy: a peer marked down (or shown red/green wrongly) while it
//    was paused ("peer_paused"), down ("peer_crashed"), or cut off by a fault.
//  - any invariant: a violation while a fault was in force names that fault
//    ("under_fault"), which is what the history shows, not a guess beyond it.
// Otherwise the group's cause is "" ("unexplained"): the report says so.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/history.h"
#include "reports/run_result.h"

namespace fl::reports {

class CauseFinder {
 public:
  explicit CauseFinder(const RunResult& run);
  // True for the events on_event wants (a reader may skip parsing the others).
  bool wants(std::string_view event_name) const;
  // Every event of the history in order, or the run's timeline.
  void on_event(const HistoryEvent& e);
  // The groups, in the time order of their first violation.
  std::vector<CauseGroup> groups() const;

 private:
  struct Explained {
    std::string kind, key, cause;
    std::vector<HistoryEvent> evidence;
    Time at = kTimeMax;  // when the cause acted (the faults and clocks in force then); kTimeMax: the violation's time
  };
  Explained explain(std::size_t i) const;
  Explained delivery(const inv::Violation& v) const;
  Explained status(const inv::Violation& v) const;
  Explained under_fault(const inv::Violation& v) const;
  std::uint64_t applied_at(NodeId replica, Time t, const HistoryEvent** last) const;
  const HistoryEvent* paused_at(NodeId n, Time t) const;
  const HistoryEvent* down_at(NodeId n, Time t) const;

  const RunResult& run_;
  std::set<std::uint64_t> posts_;  // posts named by message_delivery witnesses
  std::set<std::uint32_t> clients_;
  std::map<std::uint64_t, HistoryEvent> committed_;  // post -> its first PostCommitted
  std::map<std::uint32_t, std::vector<HistoryEvent>> applied_;  // replica -> ReplicaApplied, in order
  std::map<std::uint32_t, std::vector<HistoryEvent>> resyncs_;  // client -> ClientResync
  std::map<std::uint32_t, std::vector<Time>> resync_deliveries_;  // client -> PostDelivered via resync
  std::map<std::uint32_t, std::vector<HistoryEvent>> pauses_;    // node -> ProcessPaused
  std::map<std::uint32_t, std::vector<std::pair<HistoryEvent, Time>>> downs_;  // node -> crash/stop, until start
  std::map<std::uint32_t, std::vector<HistoryEvent>> send_failed_;  // observer -> SendFailed
  std::map<std::uint32_t, std::vector<HistoryEvent>> clocks_;    // node -> ClockChanged
};

// The faults in force at `t` (applied, not yet ended; an instant fault only at its instant).
std::vector<std::uint32_t> faults_in_force(const RunResult& run, Time t);
// The clocks that were off at `t` (the last ClockChanged of each node with a
// non-zero offset or drift), from the run's timeline.
std::vector<CauseGroup::Clock> clocks_at(const RunResult& run, Time t);
// Groups from the run's timeline alone (no history file): what the writers use
// when write_run_folder found nothing better.
std::vector<CauseGroup> group_violations(const RunResult& run);

// Invariants judged in the run: every invariant of the catalogue not skipped.
std::vector<std::string> judged_invariants(const RunResult& run);
// The expected violations the run did not find.
std::vector<std::string> expected_not_found(const RunResult& run);
// Why an expected violation may not have been found, in one paragraph: the
// faults that fired and what they did (messages cut, nodes affected, no
// effect), the operator's steps, and the invariants judged.
std::string not_found_explanation(const RunResult& run, const std::string& invariant);

// Virtual times in sentences, to the millisecond: "2m03.128s".
std::string short_time(Time t);

}  // namespace fl::reports
