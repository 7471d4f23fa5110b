// single_leader (MODEL.md): at no instant do two servers both act as leader.
// A server leads from its LeaderBegin to its LeaderEnd, or to its crash, stop or
// restart (a new process holds nothing). A paused leader still leads: that is
// exactly the hazard of a pause. `grace` defaults to 0 (MODEL.md): an overlap is
// a violation at the instant it begins. With `grace` > 0, an overlap is a
// violation only once it has lasted longer than `grace` (a hand-over window some
// deployments accept); the violation's time is then the instant the grace ran out.
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
  }

 private:
  void handle(const HistoryEvent& e) override {
    faults_.observe(e);
    check_grace(e.at, /*at_end=*/false);
    if (e.is<LeaderBegin>()) {
      if (!leaders_.count(e.node)) leaders_.emplace(e.node, e);
      if (leaders_.size() >= 2 && !overlapping_) {
        overlapping_ = true;
        reported_ = false;
        overlap_since_ = e.at;
        if (grace_ == Duration{0}) report_overlap(e.at);
      }
    } else if (e.is<LeaderEnd>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>() || e.is<ProcessStarted>()) {
      leaders_.erase(e.node);
      if (leaders_.size() < 2) overlapping_ = false;
    }
  }

  void judge_at_end(const RunEnd& end) override { check_grace(end.end, /*at_end=*/true); }

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
  std::map<NodeId, HistoryEvent> leaders_;  // current leaders and their LeaderBegin
  bool overlapping_ = false;
  bool reported_ = false;
  Time overlap_since_{};
};

}  // namespace

std::unique_ptr<Invariant> make_single_leader(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<SingleLeader>(c, option(o, "grace"));
}

}  // namespace fl::inv
