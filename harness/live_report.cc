// The report folder of a failing live run (see live_report.h).
#include "harness/live_report.h"

#include <cstdio>
#include <fstream>
#include <map>

#include "invariants/registry.h"
#include "reports/report.h"
#include "sim/history_json.h"

namespace fl::harness {

namespace {

// The diagram's events: as runner.cc keeps them (the posts and probes are too
// many to draw; leader terms, crashes, faults, migrations and steps are not).
bool notable(const HistoryEvent& e) {
  return !(e.is<PostSent>() || e.is<PostAcked>() || e.is<PostAckReceived>() || e.is<PostDelivered>() ||
           e.is<PostCommitted>() || e.is<ReplicaApplied>() || e.is<PostPresent>() || e.is<HealthChecked>() ||
           e.is<ProxyRouted>() || e.is<ClientChannels>() || e.is<DiscoveryRowWritten>() || e.is<Probe>());
}

}  // namespace

reports::RunResult live_report_record(const LiveReportInput& in) {
  const Scenario& s = *in.scenario;
  const inv::ClusterInfo& info = *in.info;
  reports::RunResult rep;
  rep.scenario_path = s.path;
  rep.scenario_name = s.name;
  rep.scenario_hash = s.source_hash;
  rep.seed = s.seed;
  rep.trace_hash = 0;  // live is not deterministic: no hash to compare
  rep.live = true;
  rep.outcome = in.problems.empty() ? reports::Outcome::pass : reports::Outcome::fail;
  for (const auto& v : s.expect.violations) rep.expected.push_back(v.name);
  rep.problems = in.problems;
  for (const auto& sk : in.skipped) rep.problems.push_back("note: skipped live: " + sk);
  rep.violations = in.violations;
  for (const auto& spec : inv::invariant_specs())
    if (!s.invariants.checks(spec.name)) rep.skipped.emplace_back(spec.name, s.invariants.skip_reason(spec.name));

  // The faults as the harness applied them (its FaultInjected / FaultHealed);
  // one it skipped is listed as never applied, with why.
  std::map<std::uint32_t, reports::FaultRecord> faults;
  for (std::uint32_t i = 0; i < s.faults.size(); ++i) {
    reports::FaultRecord f;
    f.index = i;
    f.at = kTimeZero + Duration{static_cast<std::int64_t>(
                           static_cast<double>(s.faults[i].at.time_since_epoch().count()) * in.time_scale)};
    f.kind = std::string(to_string(s.faults[i].kind));
    f.applied = false;
    f.effective = false;
    f.no_effect = "its time did not come within the run";
    for (const auto& sk : in.skipped)
      if (sk.rfind("fault #" + std::to_string(i) + " ", 0) == 0) f.no_effect = "skipped live: " + sk;
    faults[i] = f;
  }
  for (const auto& e : *in.history) {
    if (const auto* fi = e.get<FaultInjected>()) {
      auto& f = faults[fi->index];
      f.index = fi->index;
      f.at = e.at;
      f.kind = fi->kind;
      f.detail = fi->detail;
      f.applied = true;
      f.effective = fi->effective;
      f.no_effect = fi->effective ? "" : "nothing to act on (the node was down)";
      f.nodes.clear();
      for (const auto& g : fi->groups)
        for (NodeId n : g) f.nodes.push_back(info.name(n));
    } else if (const auto* fh = e.get<FaultHealed>()) {
      auto& f = faults[fh->index];
      f.healed = true;
      f.healed_at = e.at;
    } else if (e.is<SettleBegin>()) {
      rep.settle_begin = e.at;
    }
  }
  for (auto& [i, f] : faults) rep.faults.push_back(std::move(f));

  rep.sim_end = in.end;
  rep.wall_seconds = in.wall_seconds;
  rep.events = in.history->size();
  rep.statistics["events"] = static_cast<std::int64_t>(in.history->size());
  rep.statistics["live"] = 1;
  char scale[32];
  std::snprintf(scale, sizeof scale, "%g", in.time_scale);
  rep.reproduce = "faultline live " + s.path + (in.time_scale != 1.0 ? std::string(" --time-scale ") + scale : "");
  for (const auto& n : info.nodes) rep.lanes.push_back(reports::Lane{n.name, std::string(inv::role_name(n.role))});
  for (const auto& e : *in.history)
    if (notable(e)) rep.timeline.push_back(e);
  // The merged history stays whole beside the raw ones (reports/history_keep.h).
  rep.history_file = "history.jsonl";
  rep.history_keep = reports::HistoryKeep::full;
  return rep;
}

std::string write_live_report(const std::string& dir, const LiveReportInput& in) {
  std::vector<std::string> names;
  for (const auto& n : in.info->nodes) names.push_back(n.name);
  {
    const std::string path = dir + "/history.jsonl";
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    std::string line;
    for (const auto& e : *in.history) {
      line.clear();
      sim::append_history_event_json(line, e, &names);
      line += '\n';
      f << line;
    }
    f.close();
    if (!f) return "cannot write " + path;
  }
  return reports::write_run_folder(dir + "/", live_report_record(in));
}

}  // namespace fl::harness
