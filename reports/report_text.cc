// summary.txt, report.json and report.md.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/assert.h"
#include "reports/escape.h"
#include "reports/explain.h"
#include "reports/history_keep.h"
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

namespace {

// Plain text for a terminal: every string from a scenario or a node goes through this.
std::string t(std::string_view s) { return escape_controls(s); }

std::string fault_line(const FaultRecord& f) {
  const std::string effect = fault_effect(f);
  std::string s = fmt::format("#{} {} until {}: {}", f.index, format_time(f.at), fault_until(f), t(f.detail));
  if (!effect.empty()) s += " (" + t(effect) + ")";
  else if (f.effect_count > 0) s += fmt::format(" ({} messages affected)", f.effect_count);
  return s;
}

std::string group_title(const CauseGroup& g) {
  return fmt::format("{} x{}{}", g.invariant, g.members.size(), g.kind == "unexplained" ? "" : " (" + g.kind + ")");
}

std::string clock_text(const CauseGroup::Clock& c) {
  std::string s = c.node + " " + (c.offset >= Duration{0} ? "+" : "-") +
                  format_duration(c.offset >= Duration{0} ? c.offset : -c.offset);
  if (c.drift_ppm != 0) s += fmt::format(" drift {}ppm", c.drift_ppm);
  return s;
}

const char* history_kind(const RunResult& run) {
  if (run.history_file.empty()) return "none";
  return run.history_keep == HistoryKeep::full ? "full" : "window";
}

}  // namespace

std::vector<CauseGroup> groups_of(const RunResult& run) {
  if (!run.groups.empty() || run.violations.empty()) return run.groups;
  return group_violations(run);
}

const char* run_kind(const RunResult& run) { return run.live ? "live" : "simulated"; }

std::string trace_hash_text(const RunResult& run) {
  return run.live ? "none (live: not deterministic)" : hex64(run.trace_hash);
}

std::string summary_text(const RunResult& run) {
  const auto groups = groups_of(run);
  std::string s;
  s += fmt::format("{} {} seed={}\n", outcome_name(run.outcome), t(run.scenario_path), run.seed);
  if (!run.scenario_name.empty()) s += "scenario: " + t(run.scenario_name) + "\n";
  s += fmt::format("scenario hash: {}\ntrace hash: {}\n", hex64(run.scenario_hash), trace_hash_text(run));
  s += fmt::format("{}: {}{}  events: {}  wall: {:.3f}s\n", run_kind(run), format_time(run.sim_end),
                   run.settle_begin > kTimeZero ? " (settle from " + format_time(run.settle_begin) + ")"
                                                : std::string(" (stopped before settle)"),
                   run.events, run.wall_seconds);
  if (!run.expected.empty()) {
    s += "expected violations:";
    for (const auto& e : run.expected) s += " " + t(e);
    s += "\n";
  }
  for (const auto& p : run.problems) s += "problem: " + t(p) + "\n";
  for (const auto& name : expected_not_found(run)) s += "not found: " + t(not_found_explanation(run, name)) + "\n";
  if (run.stopped_early) s += "stopped at the first violation (--stop-at-first): liveness not judged\n";
  for (const auto& [name, why] : run.skipped) s += "skipped: " + t(name) + ": " + t(why) + "\n";
  s += fmt::format("\nviolations ({} in {} group{}):\n", run.violations.size(), groups.size(),
                   groups.size() == 1 ? "" : "s");
  for (const auto& g : groups) {
    const auto& first = run.violations.at(g.members.front());
    const auto& last = run.violations.at(g.members.back());
    s += fmt::format("  {} from {} to {}\n", t(group_title(g)), format_time(first.at), format_time(last.at));
    s += "    cause: " + (g.cause.empty() ? std::string("not shown by the history") : t(g.cause)) + "\n";
    s += "    first: " + t(first.message) + "\n";
    for (const auto& w : first.witnesses)
      s += fmt::format("      witness #{} {} {} {} {}\n", w.seq, format_time(w.at), t(lane_name(run, w.node)),
                       w.name(), t(event_fields_text(run, w)));
    for (const auto& w : g.evidence)
      s += fmt::format("      evidence #{} {} {} {} {}\n", w.seq, format_time(w.at), t(lane_name(run, w.node)),
                       w.name(), t(event_fields_text(run, w)));
    if (!g.faults_in_force.empty()) {
      s += "    faults in force at " + format_time(g.at) + ":";
      for (auto f : g.faults_in_force) s += fmt::format(" #{} {}", f, t(run.faults.at(f).kind));
      s += "\n";
    }
    if (!g.clocks.empty()) {
      s += "    clocks off at " + format_time(g.at) + ":";
      for (const auto& c : g.clocks) s += " " + t(clock_text(c));
      s += "\n";
    }
    for (std::size_t k = 1; k < g.members.size(); ++k) {
      const auto& v = run.violations.at(g.members[k]);
      s += fmt::format("    also at {}: {}\n", format_time(v.at), t(v.message));
    }
  }
  s += fmt::format("\nfaults ({}):\n", run.faults.size());
  for (const auto& f : run.faults) s += "  " + fault_line(f) + "\n";
  const auto steps = operator_steps(run);
  if (!steps.empty()) {
    s += fmt::format("\noperator ({} steps):\n", steps.size());
    for (const auto& [at, text] : steps) s += fmt::format("  {} {}\n", format_time(at), t(text));
  }
  s += fmt::format("\nhistory: {} ({}, {} events)\n", run.history_file.empty() ? "-" : t(run.history_file),
                   history_kind(run), run.history_kept);
  s += "reproduce: " + t(run.reproduce) + "\n";
  return s;
}

std::string report_json(const RunResult& run) {
  using J = nlohmann::ordered_json;
  const auto groups = groups_of(run);
  auto time_or_null = [](bool has, Time at) { return has ? J(format_time(at)) : J(nullptr); };
  J j;
  j["schema"] = kReportSchema;
  j["scenario"] = {{"path", run.scenario_path}, {"name", run.scenario_name}, {"hash", hex64(run.scenario_hash)}};
  j["seed"] = run.seed;
  j["trace_hash"] = hex64(run.trace_hash);
  j["mode"] = run.live ? "live" : "simulated";
  j["result"] = std::string(outcome_name(run.outcome));
  j["expected"] = run.expected;
  j["problems"] = run.problems;
  J skipped = J::array();
  for (const auto& [name, why] : run.skipped) skipped.push_back({{"invariant", name}, {"reason", why}});
  j["skipped"] = skipped;
  j["judged"] = judged_invariants(run);
  j["stopped_early"] = run.stopped_early;
  std::vector<std::size_t> group_of(run.violations.size(), 0);
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (auto m : groups[g].members) group_of.at(m) = g;
  J vs = J::array();
  for (std::size_t i = 0; i < run.violations.size(); ++i) {
    const auto& v = run.violations[i];
    J nodes = J::array();
    for (NodeId n : v.nodes) nodes.push_back(lane_name(run, n));
    J ws = J::array();
    for (const auto& w : v.witnesses) ws.push_back(event_json(run, w));
    vs.push_back({{"invariant", v.invariant}, {"time", format_time(v.at)}, {"time_ns", ns(v.at)},
                  {"message", v.message}, {"nodes", nodes}, {"witnesses", ws}, {"group", group_of[i]}});
  }
  j["violations"] = vs;
  J gs = J::array();
  for (const auto& g : groups) {
    J ev = J::array();
    for (const auto& e : g.evidence) ev.push_back(event_json(run, e));
    J clocks = J::array();
    for (const auto& c : g.clocks)
      clocks.push_back({{"node", c.node}, {"offset", format_duration(c.offset)}, {"offset_ns", c.offset.count()},
                        {"drift_ppm", c.drift_ppm}});
    const auto& first = run.violations.at(g.members.front());
    gs.push_back({{"invariant", g.invariant}, {"kind", g.kind}, {"cause", g.cause.empty() ? J(nullptr) : J(g.cause)},
                  {"count", g.members.size()}, {"violations", g.members}, {"first_time", format_time(first.at)},
                  {"first_time_ns", ns(first.at)}, {"cause_time", format_time(g.at)}, {"cause_time_ns", ns(g.at)}, {"evidence", ev}, {"faults_in_force", g.faults_in_force},
                  {"clocks", clocks}});
  }
  j["groups"] = gs;
  J nf = J::array();
  for (const auto& name : expected_not_found(run))
    nf.push_back({{"invariant", name}, {"explanation", not_found_explanation(run, name)}});
  j["not_found"] = nf;
  J fs = J::array();
  for (const auto& f : run.faults) {
    J x = {{"index", f.index}, {"time", format_time(f.at)}, {"time_ns", ns(f.at)}, {"kind", f.kind},
           {"detail", f.detail}, {"nodes", f.nodes}};
    x["applied"] = f.applied;
    x["effective"] = f.effective;
    x["no_effect"] = f.no_effect.empty() ? J(nullptr) : J(f.no_effect);
    x["healed"] = time_or_null(f.healed, f.healed_at);
    x["healed_ns"] = f.healed ? J(ns(f.healed_at)) : J(nullptr);
    x["effect_count"] = f.effect_count;
    fs.push_back(std::move(x));
  }
  j["faults"] = fs;
  J ops = J::array();
  for (const auto& [at, text] : operator_steps(run))
    ops.push_back({{"time", format_time(at)}, {"time_ns", ns(at)}, {"step", text}});
  j["operator"] = ops;
  J stats = J::object();
  stats["events"] = run.events;
  stats["simulated_ns"] = ns(run.sim_end);
  stats["settle_begin_ns"] = run.settle_begin > kTimeZero ? J(ns(run.settle_begin)) : J(nullptr);
  stats["wall_seconds"] = run.wall_seconds;
  for (const auto& [k, v] : run.statistics) stats[k] = v;
  j["statistics"] = stats;
  j["history"] = {{"file", run.history_file.empty() ? J(nullptr) : J(run.history_file)},
                  {"kept", history_kind(run)},
                  {"events", run.history_kept}};
  j["reproduce"] = run.reproduce;
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string report_markdown(const RunResult& run) {
  const auto groups = groups_of(run);
  std::string m;
  m += fmt::format("# {} {} (seed {})\n\n", outcome_name(run.outcome), md_cell(run.scenario_path), run.seed);
  if (!run.scenario_name.empty()) m += "*" + md_cell(run.scenario_name) + "*\n\n";
  m += fmt::format("- trace hash: `{}`\n- scenario hash: `{}`\n- {}: {}{}, {} events\n",
                   trace_hash_text(run), hex64(run.scenario_hash), run_kind(run), format_time(run.sim_end),
                   run.settle_begin > kTimeZero ? " (settle from " + format_time(run.settle_begin) + ")"
                                                : std::string(" (stopped before settle)"),
                   run.events);
  if (!run.expected.empty()) {
    m += "- expected violations:";
    for (const auto& e : run.expected) m += " " + md_code(e);
    m += "\n";
  }
  m += "\nReproduce:\n\n" + md_code(run.reproduce) + "\n\n";
  if (!run.problems.empty()) {
    m += "## Why the run failed\n\n";
    for (const auto& p : run.problems) m += "- " + md_cell(p) + "\n";
    m += "\n";
  }
  for (const auto& name : expected_not_found(run))
    m += "## Expected " + md_code(name) + " not found\n\n" + md_cell(not_found_explanation(run, name)) + "\n\n";
  if (run.stopped_early) m += "The run stopped at its first violation (`--stop-at-first`): liveness was not judged.\n\n";
  if (!run.skipped.empty()) {
    m += "## Not judged\n\n";
    for (const auto& [name, why] : run.skipped) m += "- " + md_code(name) + ": " + md_cell(why) + "\n";
    m += "\n";
  }
  m += fmt::format("## What broke ({} violation{} in {} group{})\n\n", run.violations.size(),
                   run.violations.size() == 1 ? "" : "s", groups.size(), groups.size() == 1 ? "" : "s");
  auto event_row = [&](const HistoryEvent& w, const char* role) {
    return fmt::format("| {} | {} | {} | {} | {} | {} |\n", role, w.seq, format_time(w.at), md_cell(lane_name(run, w.node)),
                       md_cell(std::string(w.name())), md_cell(event_fields_text(run, w)));
  };
  for (const auto& g : groups) {
    const auto& first = run.violations.at(g.members.front());
    m += fmt::format("### {} × {}{}\n\n", md_code(g.invariant), g.members.size(),
                     g.kind == "unexplained" ? "" : " — " + md_cell(g.kind));
    m += "**Cause:** " + (g.cause.empty() ? std::string("not shown by the history (see the witnesses).") : md_cell(g.cause)) +
         "\n\n";
    m += "First at " + format_time(first.at) + ": " + md_cell(first.message) + "\n\n";
    if (!first.nodes.empty()) {
      m += "Nodes:";
      for (NodeId n : first.nodes) m += " " + md_code(lane_name(run, n));
      m += "\n\n";
    }
    if (!g.faults_in_force.empty()) {
      m += "Faults in force at " + format_time(g.at) + ":";
      for (auto f : g.faults_in_force)
        m += " #" + std::to_string(f) + " " + md_code(run.faults.at(f).kind + " " + run.faults.at(f).detail);
      m += "\n\n";
    }
    if (!g.clocks.empty()) {
      m += "Clocks off at " + format_time(g.at) + ":";
      for (const auto& c : g.clocks) m += " " + md_code(clock_text(c));
      m += "\n\n";
    }
    if (!first.witnesses.empty() || !g.evidence.empty()) {
      m += "| | seq | time | node | event | fields |\n|---|---:|---:|---|---|---|\n";
      for (const auto& w : first.witnesses) m += event_row(w, "witness");
      for (const auto& w : g.evidence) m += event_row(w, "evidence");
      m += "\n";
    }
    if (g.members.size() > 1) {
      constexpr std::size_t kShown = 20;
      m += fmt::format("The other {}:\n\n| time | nodes | message |\n|---:|---|---|\n", g.members.size() - 1);
      for (std::size_t k = 1; k < g.members.size() && k <= kShown; ++k) {
        const auto& v = run.violations.at(g.members[k]);
        std::string nodes;
        for (NodeId n : v.nodes) nodes += (nodes.empty() ? "" : " ") + lane_name(run, n);
        m += fmt::format("| {} | {} | {} |\n", format_time(v.at), md_cell(nodes), md_cell(v.message));
      }
      if (g.members.size() - 1 > kShown)
        m += fmt::format("\n… and {} more (report.json lists every one).\n", g.members.size() - 1 - kShown);
      m += "\n";
    }
  }
  m += "## Faults timeline\n\n";
  if (run.faults.empty()) {
    m += "No faults were injected.\n";
  } else {
    m += "| # | from | until | kind | detail | nodes | effect |\n|---:|---:|---:|---|---|---|---|\n";
    for (const auto& f : run.faults) {
      std::string effect = fault_effect(f);
      if (effect.empty() && f.effect_count > 0) effect = std::to_string(f.effect_count) + " messages affected";
      std::string nodes;
      for (const auto& n : f.nodes) nodes += (nodes.empty() ? "" : " ") + n;
      m += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", f.index, format_time(f.at), md_cell(fault_until(f)),
                       md_cell(f.kind), md_cell(f.detail), md_cell(nodes), md_cell(effect));
    }
  }
  const auto steps = operator_steps(run);
  if (!steps.empty()) {
    m += "\n## Operator\n\n| time | step |\n|---:|---|\n";
    for (const auto& [at, text] : steps) m += fmt::format("| {} | {} |\n", format_time(at), md_cell(text));
  }
  if (run.history_file.empty())
    m += "\nNo history file in this folder.\n";
  else
    m += fmt::format("\nHistory: {} ({} events, {}; JSON Lines).\n", md_code(run.history_file), run.history_kept,
                     run.history_keep == HistoryKeep::full ? "every event"
                                                           : "the events that matter: `--history full` keeps all");
  return m;
}

std::string write_run_folder(const std::string& dir, const RunResult& record) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create report folder " + dir + ": " + ec.message();
  RunResult run = record;
  if (const std::string error = keep_history(dir, run); !error.empty()) return error;
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

namespace fl::reports {

std::vector<std::string> report_folder_stems(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<fs::path> abs;
  for (const auto& p : paths) {
    std::error_code ec;
    fs::path a = fs::weakly_canonical(fs::absolute(p, ec), ec);
    if (ec) a = fs::absolute(p).lexically_normal();
    abs.push_back(a);
  }
  // The deepest folder that holds every file.
  fs::path root = abs.empty() ? fs::path() : abs.front().parent_path();
  for (const auto& a : abs) {
    fs::path common;
    const fs::path parent = a.parent_path();
    auto r = root.begin();
    for (auto it = parent.begin(); it != parent.end() && r != root.end(); ++it, ++r) {
      if (*it != *r) break;
      common /= *it;
    }
    root = common;
  }
  std::vector<std::string> out;
  for (const auto& a : abs) {
    std::string rel = a.lexically_relative(root).generic_string();
    if (rel.empty() || rel.rfind("..", 0) == 0) rel = a.filename().string();
    if (rel.size() > 5 && rel.compare(rel.size() - 5, 5, ".toml") == 0) rel.resize(rel.size() - 5);
    std::string name;
    for (char c : rel) {
      if (c == '/') name += "__";
      else name += c;
    }
    out.push_back(name);
  }
  return out;
}

}  // namespace fl::reports
