// summary.txt, report.json and report.md.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/assert.h"
#include "reports/escape.h"
#include "reports/report.h"

namespace fl::reports {

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::pass: return "PASS";
    case Outcome::fail: return "FAIL";
    case Outcome::error: return "ERROR";
  }
  FL_UNREACHABLE();
}

std::string lane_name(const RunResult& run, NodeId id) {
  if (id == kNoNode) return "-";
  if (id.value < run.lanes.size()) return run.lanes[id.value].name;
  return "node#" + std::to_string(id.value);
}

namespace {

// Field values as text and as JSON, through history.h's fields() visitor.
struct TextFields {
  const RunResult& run;
  std::string out;
  template <class V>
  void operator()(std::string_view name, const V& v) {
    if (!out.empty()) out += ' ';
    out += std::string(name) + "=" + text(v);
  }
  std::string text(NodeId id) const { return lane_name(run, id); }
  std::string text(Duration d) const { return format_duration(d); }
  std::string text(Time t) const { return format_time(t); }
  std::string text(const std::string& s) const { return s; }
  std::string text(bool b) const { return b ? "true" : "false"; }
  std::string text(const NodeGroups& groups) const {
    std::string t;
    for (const auto& g : groups) {
      t += '[';
      for (std::size_t i = 0; i < g.size(); ++i) t += (i ? " " : "") + lane_name(run, g[i]);
      t += ']';
    }
    return t;
  }
  template <class I>
  std::string text(I i) const requires std::is_integral_v<I> { return std::to_string(i); }
};

struct JsonFields {
  const RunResult& run;
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  void operator()(std::string_view name, NodeId id) { out[std::string(name)] = lane_name(run, id); }
  void operator()(std::string_view name, Duration d) { out[std::string(name)] = format_duration(d); }
  void operator()(std::string_view name, Time t) { out[std::string(name)] = format_time(t); }
  void operator()(std::string_view name, const std::string& s) { out[std::string(name)] = s; }
  void operator()(std::string_view name, bool b) { out[std::string(name)] = b; }
  void operator()(std::string_view name, const NodeGroups& groups) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& g : groups) {
      auto names = nlohmann::ordered_json::array();
      for (NodeId n : g) names.push_back(lane_name(run, n));
      list.push_back(std::move(names));
    }
    out[std::string(name)] = std::move(list);
  }
  template <class I>
  void operator()(std::string_view name, I i) requires std::is_integral_v<I> { out[std::string(name)] = i; }
};

nlohmann::ordered_json event_json(const RunResult& run, const HistoryEvent& e) {
  JsonFields f{run};
  std::visit([&](const auto& b) { b.fields(f); }, e.body);
  nlohmann::ordered_json j;
  j["seq"] = e.seq;
  j["time"] = format_time(e.at);
  j["time_ns"] = ns(e.at);
  j["local_ns"] = ns(e.local);
  j["node"] = lane_name(run, e.node);
  j["event"] = std::string(e.name());
  j["fields"] = std::move(f.out);
  return j;
}

}  // namespace

std::string event_fields_text(const RunResult& run, const HistoryEvent& e) {
  TextFields f{run, {}};
  std::visit([&](const auto& b) { b.fields(f); }, e.body);
  return f.out;
}

std::string fault_until(const FaultRecord& f) {
  if (!f.applied) return "never applied (the run ended first)";
  if (!f.healed) return "end of run";
  if (f.healed_at == f.at) return "at once";
  return format_time(f.healed_at);
}

std::string fault_effect(const FaultRecord& f) {
  if (!f.applied || f.effective) return "";
  return "no effect: " + (f.no_effect.empty() ? std::string("it changed nothing") : f.no_effect);
}

std::vector<std::pair<Time, std::string>> operator_steps(const RunResult& run) {
  std::vector<std::pair<Time, std::string>> out;
  for (const auto& e : run.timeline) {
    const auto* step = e.get<OperatorStep>();
    if (step == nullptr) continue;
    std::string text = step->runbook.empty() ? step->step : step->runbook + ": " + step->step;
    if (!step->detail.empty()) text += " " + step->detail;
    out.emplace_back(e.at, std::move(text));
  }
  return out;
}

std::string summary_text(const RunResult& run) {
  std::string s;
  s += fmt::format("{} {} seed={}\n", outcome_name(run.outcome), run.scenario_path, run.seed);
  if (!run.scenario_name.empty()) s += "scenario: " + run.scenario_name + "\n";
  s += fmt::format("scenario hash: {}\ntrace hash: {}\n", hex64(run.scenario_hash), hex64(run.trace_hash));
  s += fmt::format("simulated: {} (settle from {})  events: {}  wall: {:.3f}s\n", format_time(run.sim_end),
                   format_time(run.settle_begin), run.events, run.wall_seconds);
  if (!run.expected.empty()) {
    s += "expected violations:";
    for (const auto& e : run.expected) s += " " + e;
    s += "\n";
  }
  for (const auto& p : run.problems) s += "problem: " + p + "\n";
  if (run.stopped_early) s += "stopped at the first violation (--stop-at-first): liveness not judged\n";
  for (const auto& [name, why] : run.skipped) s += "skipped: " + name + ": " + why + "\n";
  s += fmt::format("\nviolations ({}):\n", run.violations.size());
  for (const auto& v : run.violations) {
    s += fmt::format("  {} at {}: {}\n", v.invariant, format_time(v.at), v.message);
    for (const auto& w : v.witnesses)
      s += fmt::format("    #{} {} {} {} {}\n", w.seq, format_time(w.at), lane_name(run, w.node), w.name(),
                       event_fields_text(run, w));
  }
  s += fmt::format("\nfaults ({}):\n", run.faults.size());
  for (const auto& f : run.faults) {
    const std::string effect = fault_effect(f);
    s += fmt::format("  #{} {} until {}: {}{}\n", f.index, format_time(f.at), fault_until(f), f.detail,
                     effect.empty() ? "" : " (" + effect + ")");
  }
  const auto steps = operator_steps(run);
  if (!steps.empty()) {
    s += fmt::format("\noperator ({} steps):\n", steps.size());
    for (const auto& [at, text] : steps) s += fmt::format("  {} {}\n", format_time(at), text);
  }
  s += "\nhistory: " + run.history_file + "\n";
  s += "reproduce: " + run.reproduce + "\n";
  return s;
}

std::string report_json(const RunResult& run) {
  using J = nlohmann::ordered_json;
  J j;
  j["schema"] = kReportSchema;
  j["scenario"] = {{"path", run.scenario_path}, {"name", run.scenario_name}, {"hash", hex64(run.scenario_hash)}};
  j["seed"] = run.seed;
  j["trace_hash"] = hex64(run.trace_hash);
  j["result"] = std::string(outcome_name(run.outcome));
  j["expected"] = run.expected;
  j["problems"] = run.problems;
  J skipped = J::array();
  for (const auto& [name, why] : run.skipped) skipped.push_back({{"invariant", name}, {"reason", why}});
  j["skipped"] = skipped;
  j["stopped_early"] = run.stopped_early;
  J vs = J::array();
  for (const auto& v : run.violations) {
    J nodes = J::array();
    for (NodeId n : v.nodes) nodes.push_back(lane_name(run, n));
    J ws = J::array();
    for (const auto& w : v.witnesses) ws.push_back(event_json(run, w));
    vs.push_back({{"invariant", v.invariant}, {"time", format_time(v.at)}, {"time_ns", ns(v.at)},
                  {"message", v.message}, {"nodes", nodes}, {"witnesses", ws}});
  }
  j["violations"] = vs;
  J fs = J::array();
  for (const auto& f : run.faults) {
    J x = {{"index", f.index}, {"time", format_time(f.at)}, {"time_ns", ns(f.at)}, {"kind", f.kind},
           {"detail", f.detail}, {"nodes", f.nodes}};
    x["applied"] = f.applied;
    x["effective"] = f.effective;
    x["no_effect"] = f.no_effect.empty() ? J(nullptr) : J(f.no_effect);
    x["healed"] = f.healed ? J(format_time(f.healed_at)) : J(nullptr);
    fs.push_back(std::move(x));
  }
  j["faults"] = fs;
  J stats = J::object();
  stats["events"] = run.events;
  stats["simulated_ns"] = ns(run.sim_end);
  stats["settle_begin_ns"] = ns(run.settle_begin);
  stats["wall_seconds"] = run.wall_seconds;
  for (const auto& [k, v] : run.statistics) stats[k] = v;
  j["statistics"] = stats;
  j["history"] = run.history_file;
  j["reproduce"] = run.reproduce;
  return j.dump(2) + "\n";
}

std::string report_markdown(const RunResult& run) {
  std::string m;
  m += fmt::format("# {} {} (seed {})\n\n", outcome_name(run.outcome), md_cell(run.scenario_path), run.seed);
  if (!run.scenario_name.empty()) m += "*" + md_cell(run.scenario_name) + "*\n\n";
  m += fmt::format("- trace hash: `{}`\n- scenario hash: `{}`\n- simulated: {} (settle from {}), {} events\n",
                   hex64(run.trace_hash), hex64(run.scenario_hash), format_time(run.sim_end),
                   format_time(run.settle_begin), run.events);
  if (!run.expected.empty()) {
    m += "- expected violations:";
    for (const auto& e : run.expected) m += " " + md_code(e);
    m += "\n";
  }
  m += "\nReproduce:\n\n```sh\n" + run.reproduce + "\n```\n\n";
  if (!run.problems.empty()) {
    m += "## Why the run failed\n\n";
    for (const auto& p : run.problems) m += "- " + md_cell(p) + "\n";
    m += "\n";
  }
  if (run.stopped_early) m += "The run stopped at its first violation (`--stop-at-first`): liveness was not judged.\n\n";
  if (!run.skipped.empty()) {
    m += "## Not judged\n\n";
    for (const auto& [name, why] : run.skipped) m += "- " + md_code(name) + ": " + md_cell(why) + "\n";
    m += "\n";
  }
  m += fmt::format("## What broke ({} violation{})\n\n", run.violations.size(), run.violations.size() == 1 ? "" : "s");
  for (const auto& v : run.violations) {
    m += fmt::format("### `{}` at {}\n\n{}\n\n", v.invariant, format_time(v.at), md_cell(v.message));
    if (!v.nodes.empty()) {
      m += "Nodes:";
      for (NodeId n : v.nodes) m += " " + md_code(lane_name(run, n));
      m += "\n\n";
    }
    if (!v.witnesses.empty()) {
      m += "| seq | time | node | event | fields |\n|---:|---:|---|---|---|\n";
      for (const auto& w : v.witnesses)
        m += fmt::format("| {} | {} | {} | {} | {} |\n", w.seq, format_time(w.at), md_cell(lane_name(run, w.node)),
                         md_cell(std::string(w.name())), md_cell(event_fields_text(run, w)));
      m += "\n";
    }
  }
  m += "## Faults timeline\n\n";
  if (run.faults.empty()) {
    m += "No faults were injected.\n";
  } else {
    m += "| # | from | until | kind | detail | effect |\n|---:|---:|---:|---|---|---|\n";
    for (const auto& f : run.faults)
      m += fmt::format("| {} | {} | {} | {} | {} | {} |\n", f.index, format_time(f.at), fault_until(f), md_cell(f.kind),
                       md_cell(f.detail), md_cell(fault_effect(f)));
  }
  const auto steps = operator_steps(run);
  if (!steps.empty()) {
    m += "\n## Operator\n\n| time | step |\n|---:|---|\n";
    for (const auto& [at, text] : steps) m += fmt::format("| {} | {} |\n", format_time(at), md_cell(text));
  }
  m += "\nFull history: `" + run.history_file + "` (JSON Lines).\n";
  return m;
}

std::string write_run_folder(const std::string& dir, const RunResult& run) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create report folder " + dir + ": " + ec.message();
  const std::pair<const char*, std::string> files[] = {
      {"summary.txt", summary_text(run)},
      {"report.json", report_json(run)},
      {"report.md", report_markdown(run)},
      {"report.html", report_html(run)},
  };
  for (const auto& [name, text] : files) {
    const auto path = std::filesystem::path(dir) / name;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) return "cannot write " + path.string();
  }
  return {};
}

}  // namespace fl::reports
