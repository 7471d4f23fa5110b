// single_leader (MODEL.md): at no instant do two servers both act as leader.
// A server leads from its LeaderBegin to its LeaderEnd, or to its crash, stop or
// restart (a new process holds nothing). A paused leader holds leadership but
// cannot act (MODEL.md: "act as leader" is "hold leadership and may
// schedule"): it does not count while paused. When it resumes still believing
// it leads, it counts again from the resume, unless what it handles at that
// very instant ends its leadership before it acts (a lease checked on a
// monotonic clock: the db_lease leader that thaws past its lease steps down
// at once). A thawed leader that acts (creates a job) or still leads once
// virtual time moves on overlaps its successor: the hazard of a pause, caught. `grace` defaults to 0 (MODEL.md): an overlap is
// a violation at the instant it begins. With `grace` > 0, an overlap is a
// violation only once it has lasted longer than `grace` (a hand-over window some
// deployments accept); the violation's time is then the instant the grace ran out.
#include <algorithm>
#include <map>

#include "base/assert.h"
#include "invariants/checkers.h"
#include "invariants/truth.h"

namespace fl::inv {
namespace {

class SingleLeader final : public Invariant {
 public:
  SingleLeader(const ClusterInfo& c, Duration grace) : Invariant("single_leader", c), grace_(grace), faults_(cluster()) {
    FL_ASSERT(grace_ >= Duration{0});
    // Time alone acts in rejoin_thawed and check_grace: see first_due().
    read_timed(FaultBook::reads() | event_mask<LeaderBegin, LeaderEnd, ProcessCrashed, ProcessStopped, ProcessStarted,
                                               ProcessPaused, ProcessResumed, JobCreated>());
  }

 private:
  void handle(const HistoryEvent& e) override {
    update(e);
    wake_at(first_due());
  }

  // The first time at which an event of any type would act: a thawed leader
  // rejoins once time moves past its resume; an overlap is reported once it
  // outlives the grace (both strictly after: one nanosecond on).
  Time first_due() const {
    Time t = kTimeMax;
    for (const auto& [node, thawed] : thawed_) t = std::min(t, thawed.resumed.at + Duration{1});
    if (overlapping_ && !reported_ && grace_ > Duration{0}) t = std::min(t, overlap_since_ + grace_ + Duration{1});
    return t;
  }

  void update(const HistoryEvent& e) {
    faults_.observe(e);
    rejoin_thawed(e.at, e.is<JobCreated>() ? e.node : kNoNode);
    check_grace(e.at, /*at_end=*/false);
    if (e.is<LeaderBegin>()) {
      if (!leaders_.count(e.node) && !paused_.count(e.node)) join(e.node, e, e.at);
    } else if (e.is<LeaderEnd>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>() || e.is<ProcessStarted>()) {
      leaders_.erase(e.node);
      paused_.erase(e.node);
      thawed_.erase(e.node);
      rejoined_.erase(e.node);
      if (leaders_.size() < 2) overlapping_ = false;
    } else if (e.is<ProcessPaused>()) {
      if (auto it = leaders_.find(e.node); it != leaders_.end()) {
        paused_.emplace(e.node, it->second);
        leaders_.erase(it);
        if (leaders_.size() < 2) overlapping_ = false;
      }
    } else if (e.is<ProcessResumed>()) {
      if (auto it = paused_.find(e.node); it != paused_.end()) {
        thawed_[e.node] = Thawed{it->second, e};
        paused_.erase(it);
      }
    }
  }

  void judge_at_end(const RunEnd& end) override {
    rejoin_thawed(end.end, kNoNode);
    check_grace(end.end, /*at_end=*/true);
  }

  // A leader that resumed at `t` counts again once time has moved past t, or
  // at once when it acts as leader (`actor` created a job) at t.
  void rejoin_thawed(Time now, NodeId actor) {
    for (auto it = thawed_.begin(); it != thawed_.end();) {
      if (it->second.resumed.at < now || it->first == actor) {
        rejoined_[it->first] = it->second.resumed;
        join(it->first, it->second.begin, it->second.resumed.at);
        it = thawed_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void join(NodeId node, const HistoryEvent& begin, Time at) {
    leaders_.emplace(node, begin);
    if (leaders_.size() >= 2 && !overlapping_) {
      overlapping_ = true;
      reported_ = false;
      overlap_since_ = at;
      if (grace_ == Duration{0}) report_overlap(at);
    }
  }

  // An overlap that is still on at `t` has outlived its grace if t > since + grace.
  void check_grace(Time t, bool) {
    if (!overlapping_ || reported_ || grace_ == Duration{0}) return;
    if (t > overlap_since_ + grace_) report_overlap(overlap_since_ + grace_);
  }

  void report_overlap(Time at) {
    FL_ASSERT(leaders_.size() >= 2);
    reported_ = true;
    Violation v;
    v.at = at;
    std::vector<std::string> names;
    std::string since;
    for (const auto& [id, begin] : leaders_) {
      v.nodes.push_back(id);
      v.witnesses.push_back(begin);
      names.push_back(name_of(id));
      since += (since.empty() ? "" : ", ") + name_of(id) + " since " + at_text(begin.at);
      if (auto r = rejoined_.find(id); r != rejoined_.end()) {
        v.witnesses.push_back(r->second);
        since += ", acting again after its pause from " + at_text(r->second.at);
      }
    }
    for (const auto& [index, fault] : faults_.active())
      if (FaultBook::is_network_kind(fault.kind)) v.witnesses.push_back(fault.injected);
     v.message = join_names(names) + (names.size() == 2 ? " both" : " all") + " lead at " + at_text(at) + " (" + since + ")";
    if (grace_ > Duration{0}) v.message += ", longer than the grace of " + format_duration(grace_);
    v.message += ".";
    report(std::move(v));
  }

  Duration grace_;
  FaultBook faults_;
  std::map<NodeId, HistoryEvent> leaders_;  // current leaders that can act, and their LeaderBegin
  std::map<NodeId, HistoryEvent> paused_;   // leaders paused now (hold leadership, cannot act)
  struct Thawed {
    HistoryEvent begin;    // its LeaderBegin
    HistoryEvent resumed;  // its ProcessResumed
  };
  std::map<NodeId, Thawed> thawed_;  // resumed at this instant, not yet counted again
  std::map<NodeId, HistoryEvent> rejoined_;  // leaders counted again after a pause: their ProcessResumed
  bool overlapping_ = false;
  bool reported_ = false;
  Time overlap_since_{};
};

}  // namespace

std::unique_ptr<Invariant> make_single_leader(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<SingleLeader>(c, option(o, "grace"));
}

}  // namespace fl::inv
