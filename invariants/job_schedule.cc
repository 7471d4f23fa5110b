// job_schedule (docs/model.md, issue 14): each recurring job type is scheduled
// at most once per period cluster-wide, and at least once per period plus
// `bound` while one serving leader can schedule. It reads JobScheduled (the
// scheduler's own act: it sends the create), the leadership events, pauses,
// crashes, clock changes and configuration changes; the job types and their
// periods come from ClusterInfo (the cluster's configuration, known before the run).
//
// At most once per period, online. The scheduler measures the period on its own
// wall clock (schedulers.go: time.Now()), so the judgement does too:
//  - two schedulings of a type by one server closer than `period` on that
//    server's clock (the history's `local` stamps) are a violation: no clock
//    step excuses it, since the scheduler compares its own readings;
//  - a scheduling by another server than the type's previous one, closer than
//    `period` less kCrossNodeTolerance in virtual time, is a violation, unless
//    the later server's clock changed in between (a stepped clock moves its
//    schedule; the scheduler is right by its own clock).
// The fixed scheduler keeps both: a leader's first schedule is a whole period
// after its LeaderBegin, which follows its predecessor's last. Two servers
// scheduling at once (a bug, or two leaders in a split brain) break them.
// Reported once per (type, server).
//
// At least once per period plus `bound`, online with a deadline: judged only
// while exactly one server acts as leader (LeaderBegin, no LeaderEnd, crash or
// stop since) and it is not paused. Its obligation for a type runs from the
// latest of: the instant it became the sole unpaused leader, its last scheduling
// of the type, its last configuration change (the fixed scheduler computes its
// next runs afresh then); the deadline is that instant + period + bound. Not
// judged: with no leader or two (a split brain is the first half's business);
// while the leader is paused; after a change of the leader's clock until its
// next scheduling of the type or configuration change (a clock stepped back
// delays its schedule by the step). The database's state does not enter: the
// scheduler decides on its clock and sends the create; a create that fails is
// job_progress's and job_exactly_once's concern, and under db_lease a leader cut
// from the database loses its lease (no leader: not judged). A leader that is
// configured not to schedule (JobSettings.RunScheduler false) is no excuse: that
// is the hazard of mattermost/docs#3845.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "base/assert.h"
#include "invariants/checkers.h"

namespace fl::inv {
namespace {

// Two servers' schedulings are compared in virtual time; the later one's clock
// may run fast against it. The fuzzer draws drifts up to 500 ppm
// (harness/fuzz.cc): 0.3 s over a 10-minute period. One second covers it.
constexpr Duration kCrossNodeTolerance = seconds(1);

class JobSchedule final : public Invariant {
 public:
  JobSchedule(const ClusterInfo& c, Duration bound) : Invariant("job_schedule", c), bound_(bound) {
    FL_ASSERT(bound_ >= Duration{0});
    for (const auto& [type, period] : c.job_periods) {
      FL_ASSERT_MSG(period > Duration{0}, "a recurring job type has a positive period");
      types_[type].period = period;
    }
    // Time alone acts in check_deadlines(): see first_due().
    read_timed(event_mask<JobScheduled, LeaderBegin, LeaderEnd, ProcessCrashed, ProcessStopped, ProcessStarted,
                          ProcessPaused, ProcessResumed, ClockChanged, ConfigChanged>());
  }

 private:
  struct TypeState {
    Duration period{};
    std::optional<HistoryEvent> last;               // the latest scheduling, any server
    std::map<NodeId, HistoryEvent> last_by;         // the latest by each server
    std::set<NodeId> reported;                      // at-most reported for these schedulers
    // At least: the obligation of the sole leader (unset: not judged now).
    std::optional<Time> anchor;
    HistoryEvent anchor_event;
    bool suspended = false;                         // the leader's clock changed since
  };

  void handle(const HistoryEvent& e) override {
    update(e);
    wake_at(first_due());
  }

  // The first time at which check_deadlines would report: one nanosecond past
  // the earliest deadline it judges now.
  Time first_due() const {
    Time t = kTimeMax;
    if (sole_ == kNoNode) return t;
    for (const auto& [name, s] : types_)
      if (s.anchor && !s.suspended) t = std::min(t, *s.anchor + s.period + bound_ + Duration{1});
    return t;
  }

  void update(const HistoryEvent& e) {
    check_deadlines(e.at);
    if (const auto* s = e.get<JobScheduled>()) {
      auto it = types_.find(s->type);
      if (it == types_.end()) return;  // a type the configuration does not list: no period to judge
      at_most(it->first, it->second, e);
      TypeState& t = it->second;
      t.last = e;
      t.last_by[e.node] = e;
      if (sole_ == e.node) start_obligation(t, e);
      return;
    }
    if (e.is<LeaderBegin>()) {
      acting_[e.node] = e;
    } else if (e.is<LeaderEnd>()) {
      acting_.erase(e.node);
    } else if (e.is<ProcessCrashed>() || e.is<ProcessStopped>() || e.is<ProcessStarted>()) {
      acting_.erase(e.node);
      paused_.erase(e.node);
    } else if (e.is<ProcessPaused>()) {
      paused_.insert(e.node);
    } else if (e.is<ProcessResumed>()) {
      paused_.erase(e.node);
    } else if (e.is<ClockChanged>()) {
      clock_changed_[e.node] = e;
      if (sole_ == e.node)
        for (auto& [name, t] : types_) t.suspended = true;
    } else if (e.is<ConfigChanged>()) {
      if (sole_ == e.node)
        for (auto& [name, t] : types_) start_obligation(t, e);
      return;
    } else {
      return;
    }
    update_sole(e);
  }

  void judge_at_end(const RunEnd& end) override {
    if (end.completed) check_deadlines(end.end);
  }

  void update_sole(const HistoryEvent& e) {
    NodeId now_sole = kNoNode;
    if (acting_.size() == 1 && !paused_.count(acting_.begin()->first)) now_sole = acting_.begin()->first;
    if (now_sole == sole_) return;
    sole_ = now_sole;
    for (auto& [name, t] : types_) {
      t.anchor.reset();
      if (sole_ != kNoNode) start_obligation(t, e);
    }
  }

  void start_obligation(TypeState& t, const HistoryEvent& e) {
    t.anchor = e.at;
    t.anchor_event = e;
    t.suspended = false;
  }

  void check_deadlines(Time now) {
    for (auto& [name, t] : types_) {
      if (!t.anchor || t.suspended || sole_ == kNoNode) continue;
      const Time deadline = *t.anchor + t.period + bound_;
      if (now <= deadline) continue;
      Violation v;
      v.at = deadline;
      v.nodes = {sole_};
      v.witnesses = {acting_.at(sole_), t.anchor_event};
      v.message = "No " + name + " job was scheduled from " + at_text(*t.anchor) + " to " + at_text(deadline) +
                  " while " + name_of(sole_) + " alone acted as leader (leader since " +
                  at_text(acting_.at(sole_).at) + "; period " + format_duration(t.period) + ", bound " +
                  format_duration(bound_) + "): nothing schedules it.";
      report(std::move(v));
      t.anchor.reset();  // once per obligation: the next scheduling or leader starts another
    }
  }

  void at_most(const std::string& type, TypeState& t, const HistoryEvent& e) {
    if (t.reported.count(e.node)) return;
    if (auto own = t.last_by.find(e.node); own != t.last_by.end()) {
      const Duration gap = e.local - own->second.local;
      if (gap < t.period) {
        Violation v;
        v.at = e.at;
        v.nodes = {e.node};
        v.witnesses = {own->second, e};
        v.message = type + " was scheduled twice within its period (" + format_duration(t.period) + ") by " +
                    name_of(e.node) + ": at " + at_text(own->second.at) + " and at " + at_text(e.at) + ", " +
                    format_duration(gap) + " apart on its clock.";
        t.reported.insert(e.node);
        report(std::move(v));
        return;
      }
    }
    if (!t.last || t.last->node == e.node) return;
    const HistoryEvent& other = *t.last;
    const Duration gap = e.at - other.at;
    if (gap >= t.period - kCrossNodeTolerance) return;
    if (auto c = clock_changed_.find(e.node); c != clock_changed_.end() && c->second.seq > other.seq) return;
    Violation v;
    v.at = e.at;
    v.nodes = {other.node, e.node};
    v.witnesses = {other, e};
    v.message = type + " was scheduled twice within its period (" + format_duration(t.period) + "): by " +
                name_of(other.node) + " at " + at_text(other.at) + " and by " + name_of(e.node) + " at " +
                at_text(e.at) + ", " + format_duration(gap) + " apart.";
    t.reported.insert(e.node);
    report(std::move(v));
  }

  Duration bound_;
  std::map<std::string, TypeState> types_;
  std::map<NodeId, HistoryEvent> acting_;         // LeaderBegin of each server acting as leader
  std::set<NodeId> paused_;
  std::map<NodeId, HistoryEvent> clock_changed_;  // the latest ClockChanged of each node
  NodeId sole_{kNoNode};                          // the one unpaused acting leader, if exactly one
};

}  // namespace

std::unique_ptr<Invariant> make_job_schedule(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<JobSchedule>(c, option(o, "bound"));
}

}  // namespace fl::inv
