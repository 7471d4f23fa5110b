// leader_liveness (MODEL.md): after the cluster has been fault-free for `bound`
// (default 60 s), exactly one server leads, and under `bully` it is the lowest-id
// live server (the seed's rule). Judged at the end of the run (liveness).
//
// "Fault-free since T": no fault active (truth.h's FaultBook) and no process
// event (start, crash, stop, pause, resume) of a server or database member after
// T. "Live": running, not paused, and serving since its last start (a server
// blocked in start-up does not take part: it has no listener).
// The violation's time is the earliest instant from which the wrong state held
// without change to the end: max(fault-free since + bound, last leadership change).
#include <map>

#include "base/assert.h"
#include "invariants/checkers.h"
#include "invariants/truth.h"

namespace fl::inv {
namespace {

class LeaderLiveness final : public Invariant {
 public:
  LeaderLiveness(const ClusterInfo& c, Duration bound)
      : Invariant("leader_liveness", c), bound_(bound), faults_(cluster()), life_(cluster()) {
    FL_ASSERT(bound_ >= Duration{0});
    read_only(FaultBook::reads() | LifeBook::reads() | event_mask<LeaderBegin, LeaderEnd>());
  }

 private:
  void handle(const HistoryEvent& e) override {
    if (faults_.observe(e)) disturbed(e);
    const Role role = cluster().role(e.node);
    const bool process = e.is<ProcessStarted>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>() ||
                         e.is<ProcessPaused>() || e.is<ProcessResumed>();
    life_.observe(e);
    if (process && (role == Role::app_server || role == Role::db_primary || role == Role::db_replica))
      disturbed(e);
    if (e.is<LeaderBegin>()) {
      if (!leaders_.count(e.node)) leaders_.emplace(e.node, e);
      leadership_changed_ = e.at;
    } else if (e.is<LeaderEnd>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>() || e.is<ProcessStarted>()) {
      if (leaders_.erase(e.node)) leadership_changed_ = e.at;
    }
  }

  void disturbed(const HistoryEvent& e) {
    quiet_since_ = e.at;
    disturbance_ = e;
    has_disturbance_ = true;
  }

  void judge_at_end(const RunEnd& end) override {
    if (!end.completed || faults_.any_active()) return;
    if (end.end - quiet_since_ < bound_) return;
    std::vector<NodeId> live;
    for (NodeId id : cluster().with_role(Role::app_server)) {
      const NodeLife& l = life_.at(id);
      if (l.running && l.serving && !l.paused) live.push_back(id);
    }
    if (live.empty()) return;  // nobody can lead: nothing to judge
    NodeId lowest = live.front();
    for (NodeId id : live)
      if (cluster().node(id)->server_id < cluster().node(lowest)->server_id) lowest = id;

    Violation v;
    v.at = std::max(quiet_since_ + bound_, leadership_changed_);
    if (has_disturbance_) v.witnesses.push_back(disturbance_);
    const std::string calm = has_disturbance_ ? "fault-free since " + at_text(quiet_since_)
                                              : "fault-free from the start";
    std::vector<std::string> names;
    for (const auto& [id, begin] : leaders_) {
      v.nodes.push_back(id);
      v.witnesses.push_back(begin);
      names.push_back(name_of(id));
    }
    if (leaders_.empty()) {
      v.message = "No server leads at the end of the run (" + at_text(end.end) + ") although the cluster has been " +
                  calm + ".";
      for (NodeId id : live) v.nodes.push_back(id);
    } else if (leaders_.size() > 1) {
      v.message = join_names(names) + " all lead at the end of the run although the cluster has been " + calm + ".";
    } else if (cluster().leader_election == "bully" && leaders_.begin()->first != lowest) {
      v.nodes.push_back(lowest);
      v.message = names.front() + " leads at the end of the run, but " + name_of(lowest) +
                  " is the lowest-id live server (bully) and the cluster has been " + calm + ".";
    } else if (!life_.serving(leaders_.begin()->first)) {
      v.message = names.front() + " holds leadership at the end of the run but is not a live server (" + calm + ").";
    } else {
      return;
    }
    report(std::move(v));
  }

  Duration bound_;
  FaultBook faults_;
  LifeBook life_;
  std::map<NodeId, HistoryEvent> leaders_;
  Time quiet_since_{};
  HistoryEvent disturbance_;
  bool has_disturbance_ = false;
  Time leadership_changed_{};
};

}  // namespace

std::unique_ptr<Invariant> make_leader_liveness(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<LeaderLiveness>(c, option(o, "bound"));
}

}  // namespace fl::inv
