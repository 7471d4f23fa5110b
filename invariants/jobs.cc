// job_exactly_once and job_progress (MODEL.md), over the job events of
// history.h (JobCreated, JobClaimed, JobRunStarted, JobFinished).
//
// job_exactly_once, online: a second JobRunStarted of one job id (by anyone, in
// any process) is a violation at that instant; so is a JobCreated of a
// create-once type while another create-once job of that type is pending or in
// progress (created and not finished). The second kind is reported once per type.
//
// job_progress, at the end of a completed run: every job claimed more than
// `bound` before the end has finished. Nothing reclaims a job whose worker
// crashed (REFERENCE.md, Leader and jobs), so such a job shows here; the
// violation's time is claim + bound, and the claimer's crash is a witness.
#include <map>
#include <set>

#include "base/assert.h"
#include "invariants/checkers.h"

namespace fl::inv {
namespace {

std::string job_text(std::uint64_t job, const std::string& type) {
  return "job " + std::to_string(job) + " (" + type + ")";
}

class JobExactlyOnce final : public Invariant {
 public:
  explicit JobExactlyOnce(const ClusterInfo& c) : Invariant("job_exactly_once", c) {
    read_only(event_mask<JobRunStarted, JobClaimed, JobCreated, JobFinished>());
  }

 private:
  void handle(const HistoryEvent& e) override {
    if (const auto* r = e.get<JobRunStarted>()) {
      auto [it, fresh] = runs_.try_emplace(r->job, e);
      if (fresh) return;
      Violation v;
      v.at = e.at;
      v.nodes = {it->second.node};
      if (e.node != it->second.node) v.nodes.push_back(e.node);
      v.witnesses = {it->second, e};
      if (auto c = claims_.find(r->job); c != claims_.end()) v.witnesses.insert(v.witnesses.end(), c->second.begin(), c->second.end());
      v.message = job_text(r->job, r->type) + " runs twice: on " + name_of(it->second.node) + " at " +
                  at_text(it->second.at) + " and on " + name_of(e.node) + " at " + at_text(e.at) + ".";
      report(std::move(v));
    } else if (e.is<JobClaimed>()) {
      claims_[e.get<JobClaimed>()->job].push_back(e);
    } else if (const auto* c = e.get<JobCreated>()) {
      if (!c->create_once) return;
      auto& open = open_[c->type];
      if (!open.empty() && !reported_types_.count(c->type)) {
        reported_types_.insert(c->type);
        const HistoryEvent& other = open.begin()->second;
        Violation v;
        v.at = e.at;
        v.nodes = {other.node};
        if (e.node != other.node) v.nodes.push_back(e.node);
        v.witnesses = {other, e};
        v.message = "Two create-once jobs of type " + c->type + " are pending or running at " + at_text(e.at) +
                    ": job " + std::to_string(other.get<JobCreated>()->job) + " created by " + name_of(other.node) +
                    " at " + at_text(other.at) + " and job " + std::to_string(c->job) + " created by " +
                    name_of(e.node) + ".";
        report(std::move(v));
      }
      open.emplace(c->job, e);
      type_of_[c->job] = c->type;
    } else if (const auto* f = e.get<JobFinished>()) {
      if (auto t = type_of_.find(f->job); t != type_of_.end()) open_[t->second].erase(f->job);
    }
  }

  std::map<std::uint64_t, HistoryEvent> runs_;                        // job -> first JobRunStarted
  std::map<std::uint64_t, std::vector<HistoryEvent>> claims_;         // job -> its claims
  std::map<std::string, std::map<std::uint64_t, HistoryEvent>> open_;  // type -> create-once jobs not finished
  std::map<std::uint64_t, std::string> type_of_;
  std::set<std::string> reported_types_;
};

class JobProgress final : public Invariant {
 public:
  JobProgress(const ClusterInfo& c, Duration bound) : Invariant("job_progress", c), bound_(bound) {
    FL_ASSERT(bound_ >= Duration{0});
    read_only(event_mask<JobClaimed, JobFinished, ProcessCrashed, ProcessStopped>());
  }

 private:
  void handle(const HistoryEvent& e) override {
    if (e.is<JobClaimed>()) {
      claims_[e.get<JobClaimed>()->job] = e;  // the latest claim
    } else if (const auto* f = e.get<JobFinished>()) {
      claims_.erase(f->job);
    } else if (e.is<ProcessCrashed>() || e.is<ProcessStopped>()) {
      ends_[e.node].push_back(e);
    }
  }

  void judge_at_end(const RunEnd& end) override {
    if (!end.completed) return;
    for (const auto& [job, claim] : claims_) {
      if (end.end - claim.at <= bound_) continue;
      const auto* c = claim.get<JobClaimed>();
      Violation v;
      v.at = claim.at + bound_;
      v.nodes = {claim.node};
      v.witnesses = {claim};
      v.message = job_text(job, c->type) + ", claimed by " + name_of(claim.node) + " at " + at_text(claim.at) +
                  ", has not finished by the end of the run (" + at_text(end.end) + "; bound " +
                  format_duration(bound_) + ")";
      if (auto it = ends_.find(claim.node); it != ends_.end()) {
        for (const auto& death : it->second) {
          if (death.seq < claim.seq) continue;
          v.witnesses.push_back(death);
          v.message += std::string("; ") + name_of(claim.node) + (death.is<ProcessCrashed>() ? " crashed" : " stopped") +
                       " at " + at_text(death.at) + " and nothing reclaims the job";
          break;
        }
      }
      v.message += ".";
      report(std::move(v));
    }
  }

  Duration bound_;
  std::map<std::uint64_t, HistoryEvent> claims_;  // claimed, not finished
  std::map<NodeId, std::vector<HistoryEvent>> ends_;
};

}  // namespace

std::unique_ptr<Invariant> make_job_exactly_once(const ClusterInfo& c, const OptionValues&) {
  return std::make_unique<JobExactlyOnce>(c);
}
std::unique_ptr<Invariant> make_job_progress(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<JobProgress>(c, option(o, "bound"));
}

}  // namespace fl::inv
