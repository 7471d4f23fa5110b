#include "harness/replay.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness/scenario_loader.h"
#include "reports/report.h"
#include "sim/simulation.h"

namespace fl::harness {
namespace {

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Collects one node's describe() output.
class FieldWriter final : public StateWriter {
 public:
  explicit FieldWriter(const sim::Simulation& sim) : sim_(sim) {}
  void field(std::string_view key, std::string value) override { fields.emplace_back(std::string(key), std::move(value)); }
  std::string name(NodeId node) const override {
    if (node == kNoNode) return "none";
    if (node.value >= sim_.node_count()) return "node#" + std::to_string(node.value);
    return sim_.name(node);
  }
  std::vector<std::pair<std::string, std::string>> fields;

 private:
  const sim::Simulation& sim_;
};

std::vector<NodeState> dump(sim::Simulation& sim) {
  std::vector<NodeState> out;
  for (std::uint32_t i = 0; i < sim.node_count(); ++i) {
    const NodeId id{i};
    NodeState n;
    n.name = sim.name(id);
    switch (sim.process_state(id)) {
      case sim::ProcessState::never_started: n.process = "never_started"; break;
      case sim::ProcessState::running: n.process = sim.paused(id) ? "paused" : "running"; break;
      case sim::ProcessState::crashed: n.process = "crashed"; break;
      case sim::ProcessState::stopped: n.process = "stopped"; break;
    }
    n.local_time = sim.local_time(id);
    n.clock_offset = sim.clock_offset(id);
    if (const Node* node = sim.node(id)) {
      FieldWriter w(sim);
      node->describe(w);
      n.fields = std::move(w.fields);
    }
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace

std::optional<std::uint64_t> parse_hex64(const std::string& text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    v = v * 16 + std::uint64_t(d);
  }
  return v;
}

std::optional<ReportRecord> read_report(const std::string& path, std::string* error) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    *error = path + ": no such report file (expected the report.json of a run folder, such as out/split_brain-3/report.json)";
    return std::nullopt;
  }
  std::ifstream f(path, std::ios::binary);
  std::stringstream text;
  text << f.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    *error = path + ": not JSON (expected a report.json written by faultline run --out, fuzz or shrink)";
    return std::nullopt;
  }
  if (!j.contains("schema") || !j["schema"].is_string() || j["schema"].get<std::string>() != reports::kReportSchema) {
    *error = path + ": not a faultline report (expected \"schema\": \"" + reports::kReportSchema + "\")";
    return std::nullopt;
  }
  ReportRecord r;
  r.report_path = path;
  r.folder = std::filesystem::path(path).parent_path().string();
  auto missing = [&](const std::string& key, const char* what) {
    *error = path + ": " + key + " is missing or not " + what;
    return std::nullopt;
  };
  if (!j.contains("scenario") || !j["scenario"].is_object() || !j["scenario"].contains("path") ||
      !j["scenario"]["path"].is_string())
    return missing("scenario.path", "a string");
  r.scenario_path = j["scenario"]["path"].get<std::string>();
  if (j["scenario"].contains("name") && j["scenario"]["name"].is_string())
    r.scenario_name = j["scenario"]["name"].get<std::string>();
  if (!j.contains("seed") || !j["seed"].is_number_unsigned()) return missing("seed", "a non-negative integer");
  r.seed = j["seed"].get<std::uint64_t>();
  if (!j.contains("trace_hash") || !j["trace_hash"].is_string()) return missing("trace_hash", "a string");
  const auto hash = parse_hex64(j["trace_hash"].get<std::string>());
  if (!hash) return missing("trace_hash", "16 hex digits");
  r.trace_hash = *hash;
  if (j.contains("result") && j["result"].is_string()) r.result = j["result"].get<std::string>();
  if (j.contains("stopped_early") && j["stopped_early"].is_boolean()) r.stopped_early = j["stopped_early"].get<bool>();
  if (j.contains("reproduce") && j["reproduce"].is_string()) r.reproduce = j["reproduce"].get<std::string>();
  if (j.contains("statistics") && j["statistics"].is_object() && j["statistics"].contains("simulated_ns") &&
      j["statistics"]["simulated_ns"].is_number_integer())
    r.simulated_ns = j["statistics"]["simulated_ns"].get<std::int64_t>();
  return r;
}

ReplayResult replay(const std::string& report_json, const ReplayOptions& options) {
  ReplayResult out;
  std::string error;
  auto record = read_report(report_json, &error);
  if (!record) {
    out.error = error;
    return out;
  }
  out.report = *record;
  // The folder's repro.toml, when fuzz or shrink wrote one; else the path recorded.
  const auto repro = std::filesystem::path(record->folder.empty() ? "." : record->folder) / "repro.toml";
  std::error_code ec;
  out.scenario_used = std::filesystem::is_regular_file(repro, ec) ? repro.string() : record->scenario_path;
  if (!std::filesystem::is_regular_file(out.scenario_used, ec)) {
    out.error = report_json + ": the scenario it names, " + out.scenario_used +
                ", is not there (paths in a report are relative to where the run was started: replay from there)";
    return out;
  }
  LoadResult loaded = load_scenario(out.scenario_used);
  if (!loaded.ok()) {
    out.error = out.scenario_used + ": " + loaded.errors.front().str();
    return out;
  }
  const Scenario& s = *loaded.scenario;
  const Duration end = s.duration + s.settle;
  if (options.until && (*options.until < Duration::zero() || *options.until > end)) {
    out.error = "--until " + format_duration(*options.until) + " is outside the run: it ends at " + format_duration(end) +
                " (duration " + format_duration(s.duration) + " + settle " + format_duration(s.settle) + ")";
    return out;
  }

  const bool want_dump = options.dump_state;
  RunOptions ro;
  ro.seed = record->seed;
  ro.stop_at_first = record->stopped_early;
  if (want_dump) {
    ro.inspect_at = Time{options.until.value_or(end)};
    ro.inspect = [&](sim::Simulation& sim) {
      out.dumped_at = sim.now();
      out.nodes = dump(sim);
    };
  }
  out.run = run_scenario(s, ro);
  out.hash_matches = out.run.trace_hash == record->trace_hash;
  if (!out.hash_matches) {
    out.exit_code = 3;
    out.error = "trace hash mismatch: the report says " + hex(record->trace_hash) + ", the replay gives " +
                hex(out.run.trace_hash) + " (" + out.scenario_used + " seed " + std::to_string(record->seed) +
                "): the scenario file or faultline changed since the report, or the run is not deterministic";
    out.nodes.clear();
    out.dumped_at.reset();
    return out;
  }
  // A --stop-at-first run ended before the dump time: the same run continued
  // (identical up to its stop: the same seed, nothing stopped it) gives it.
  if (want_dump && !out.dumped_at) {
    RunOptions again = ro;
    again.stop_at_first = false;
    (void)run_scenario(s, again);
  }
  out.exit_code = 0;
  return out;
}

std::string replay_text(const ReplayResult& r, const ReplayOptions& options) {
  std::string t;
  t += "replay " + r.report.report_path + ": " + r.scenario_used + " seed=" + std::to_string(r.report.seed) + "\n";
  t += "  trace hash " + hex(r.run.trace_hash) + (r.hash_matches ? " matches the report" : " DIFFERS from the report's " + hex(r.report.trace_hash)) + "\n";
  t += "  " + result_line(r.run) + "\n";
  if (r.report.stopped_early) t += "  (the reported run stopped at its first violation; replayed the same way)\n";
  if (options.until) {
    const Time until{*options.until};
    t += "by " + line_time(*options.until) + ":\n";
    std::size_t shown = 0;
    for (const auto& f : r.run.report.faults)
      if (f.applied && f.at <= until) {
        t += "  fault #" + std::to_string(f.index + 1) + " at " + line_time(f.at.time_since_epoch()) + ": " +
             (f.detail.empty() ? f.kind : f.detail) + "\n";
        ++shown;
      }
    for (const auto& v : r.run.violations)
      if (v.at <= until) {
        t += "  violation " + v.invariant + " at " + line_time(v.at.time_since_epoch()) + ": " + v.message + "\n";
        ++shown;
      }
    if (shown == 0) t += "  no fault applied and no violation yet\n";
  }
  if (r.dumped_at) {
    t += "state at " + line_time(r.dumped_at->time_since_epoch()) + ":\n";
    for (const auto& n : r.nodes) {
      t += "  " + n.name + " (" + n.process + ", local clock " + line_time(n.local_time.time_since_epoch());
      if (n.clock_offset != Duration::zero()) t += ", offset " + format_duration(n.clock_offset);
      t += ")\n";
      for (const auto& [k, v] : n.fields) t += "    " + k + ": " + v + "\n";
    }
  }
  return t;
}

std::string replay_json(const ReplayResult& r, const ReplayOptions& options) {
  using J = nlohmann::ordered_json;
  J j;
  j["report"] = r.report.report_path;
  j["scenario"] = r.scenario_used;
  j["seed"] = r.report.seed;
  j["trace_hash"] = hex(r.run.trace_hash);
  j["report_trace_hash"] = hex(r.report.trace_hash);
  j["hash_matches"] = r.hash_matches;
  j["result"] = r.run.outcome == Outcome::pass ? "PASS" : r.run.outcome == Outcome::fail ? "FAIL" : "ERROR";
  j["events"] = r.run.events;
  j["simulated_ns"] = ns(r.run.sim_time);
  J vs = J::array();
  for (const auto& v : r.run.violations)
    if (!options.until || v.at <= Time{*options.until})
      vs.push_back({{"invariant", v.invariant}, {"time", format_time(v.at)}, {"time_ns", ns(v.at.time_since_epoch())},
                    {"message", v.message}, {"nodes", v.nodes}});
  j["until"] = options.until ? J(format_duration(*options.until)) : J(nullptr);
  j["violations"] = vs;
  if (r.dumped_at) {
    j["state_at"] = format_time(*r.dumped_at);
    j["state_at_ns"] = ns(r.dumped_at->time_since_epoch());
    J nodes = J::array();
    for (const auto& n : r.nodes) {
      J state = J::object();
      for (const auto& [k, v] : n.fields) state[k] = v;
      nodes.push_back({{"name", n.name}, {"process", n.process}, {"local_time", format_time(n.local_time)},
                       {"clock_offset", format_duration(n.clock_offset)}, {"state", state}});
    }
    j["nodes"] = nodes;
  }
  return j.dump(2) + "\n";
}

}  // namespace fl::harness
