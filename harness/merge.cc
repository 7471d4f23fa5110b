#include "harness/merge.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "harness/fuzz.h"
#include "harness/replay.h"
#include "reports/junit.h"
#include "reports/report.h"

namespace fl::harness {
namespace fs = std::filesystem;
namespace {

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string str(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& v : j[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

// Every report.json below `root` (root itself may be a run folder), sorted.
std::vector<fs::path> find_reports(const fs::path& root) {
  std::vector<fs::path> out;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it)
    if (it->is_regular_file() && it->path().filename() == "report.json") out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> find_summaries(const fs::path& root) {
  std::vector<fs::path> out;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it)
    if (it->is_regular_file() && it->path().filename() == std::string(kFuzzSummaryFile)) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

// A campaign's identity, and its shards by index (each a JSON object as written).
struct Campaign {
  std::string scenario, hash;
  bool guided = false;
  std::uint64_t shard_count = 1;
  std::map<std::uint64_t, nlohmann::ordered_json> shards;
  std::map<std::uint64_t, std::string> from;  // shard -> the file it came from
};

// What must agree when one shard is found twice (wall times never do).
nlohmann::ordered_json deterministic(const nlohmann::ordered_json& shard) {
  nlohmann::ordered_json j = shard;
  j.erase("wall_seconds");
  j.erase("seeds_per_s");
  return j;
}

// Reads `path` into `campaigns` (keyed by scenario path); "" or an error. Sets
// *conflict for a shard found twice with different results.
std::string read_summary(const fs::path& path, std::map<std::string, Campaign>& campaigns, bool* conflict) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream text;
  text << f.rdbuf();
  const auto j = nlohmann::ordered_json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  const std::string where = path.string();
  if (j.is_discarded() || !j.is_object()) return where + ": not JSON";
  if (!j.contains("schema") || j["schema"] != std::string(kFuzzSummarySchema))
    return where + ": not a faultline fuzz summary (expected \"schema\": \"" + std::string(kFuzzSummarySchema) + "\")";
  if (!j.contains("campaigns") || !j["campaigns"].is_array()) return where + ": campaigns is missing";
  for (const auto& c : j["campaigns"]) {
    if (!c.is_object() || str(c, "scenario").empty() || !c.contains("shard_count") ||
        !c["shard_count"].is_number_unsigned() || c["shard_count"].get<std::uint64_t>() == 0 ||
        !c.contains("shards") || !c["shards"].is_array())
      return where + ": a campaign lacks scenario, shard_count or shards";
    const std::string scenario = str(c, "scenario");
    Campaign fresh;
    fresh.scenario = scenario;
    fresh.hash = str(c, "scenario_hash");
    fresh.guided = c.contains("guided") && c["guided"].is_boolean() && c["guided"].get<bool>();
    fresh.shard_count = c["shard_count"].get<std::uint64_t>();
    auto [it, inserted] = campaigns.emplace(scenario, fresh);
    Campaign& campaign = it->second;
    if (!inserted && (campaign.hash != fresh.hash || campaign.shard_count != fresh.shard_count ||
                      campaign.guided != fresh.guided))
      return where + ": " + scenario + " was fuzzed differently than in " + campaign.from.begin()->second +
             " (another scenario file, shard count or --guided); expected the shards of one campaign";
    for (const auto& shard : c["shards"]) {
      if (!shard.is_object() || !shard.contains("index") || !shard["index"].is_number_unsigned() ||
          !shard.contains("seeds_run") || !shard["seeds_run"].is_number_unsigned() ||
          !shard.contains("failing_seeds") || !shard["failing_seeds"].is_array())
        return where + ": a shard lacks index, seeds_run or failing_seeds";
      const std::uint64_t index = shard["index"].get<std::uint64_t>();
      if (index >= campaign.shard_count)
        return where + ": shard " + std::to_string(index) + " of " + std::to_string(campaign.shard_count);
      auto known = campaign.shards.find(index);
      if (known == campaign.shards.end()) {
        campaign.shards.emplace(index, shard);
        campaign.from.emplace(index, where);
      } else if (deterministic(known->second) != deterministic(shard)) {
        *conflict = true;
        return scenario + " shard " + std::to_string(index) + "/" + std::to_string(campaign.shard_count) +
               " has two different results: in " + campaign.from[index] + " and " + where +
               " (nondeterminism across machines or builds, or two different campaigns)";
      }
    }
  }
  return "";
}

MergedCampaign join(const Campaign& c) {
  MergedCampaign m;
  m.scenario = c.scenario;
  m.scenario_hash = c.hash;
  m.guided = c.guided;
  m.shard_count = c.shard_count;
  for (std::uint64_t i = 0; i < c.shard_count; ++i) {
    auto it = c.shards.find(i);
    if (it == c.shards.end()) {
      m.shards_missing.push_back(i);
      continue;
    }
    const auto& s = it->second;
    m.shards.push_back(i);
    m.seeds_run += s["seeds_run"].get<std::uint64_t>();
    for (const auto& seed : s["failing_seeds"])
      if (seed.is_number_unsigned()) m.failing_seeds.push_back(seed.get<std::uint64_t>());
    const double wall = s.contains("wall_seconds") && s["wall_seconds"].is_number() ? s["wall_seconds"].get<double>() : 0;
    m.wall_seconds = std::max(m.wall_seconds, wall);
    m.cpu_seconds += wall;
  }
  std::sort(m.failing_seeds.begin(), m.failing_seeds.end());
  m.failures = m.failing_seeds.size();
  m.seeds_per_s = m.wall_seconds > 0 ? double(m.seeds_run) / m.wall_seconds : 0;
  return m;
}

// Writes `j` to `path`, indented; false (and exit 3 with the reason in `m`)
// when it cannot: runs.json and fuzz-summary.json are written alike.
bool write_json(const fs::path& path, const nlohmann::ordered_json& j, MergeResult& m) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << j.dump(2) << "\n";
  f.close();
  if (f) return true;
  m.exit_code = 3;
  m.error = "cannot write " + path.string();
  return false;
}

}  // namespace

std::string read_run_report(const std::string& path, reports::RunResult& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return path + ": cannot read it";
  std::stringstream text;
  text << f.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return path + ": not JSON";
  if (str(j, "schema") != reports::kReportSchema)
    return path + ": not a faultline report (expected \"schema\": \"" + reports::kReportSchema + "\")";
  if (!j.contains("scenario") || !j["scenario"].is_object() || str(j["scenario"], "path").empty())
    return path + ": scenario.path is missing";
  out.scenario_path = str(j["scenario"], "path");
  out.scenario_name = str(j["scenario"], "name");
  if (auto h = parse_hex64(str(j["scenario"], "hash"))) out.scenario_hash = *h;
  if (!j.contains("seed") || !j["seed"].is_number_unsigned()) return path + ": seed is missing";
  out.seed = j["seed"].get<std::uint64_t>();
  const auto hash = parse_hex64(str(j, "trace_hash"));
  if (!hash) return path + ": trace_hash is missing or not 16 hex digits";
  out.trace_hash = *hash;
  const std::string result = str(j, "result");
  if (result == "PASS") out.outcome = reports::Outcome::pass;
  else if (result == "FAIL") out.outcome = reports::Outcome::fail;
  else if (result == "ERROR") out.outcome = reports::Outcome::error;
  else return path + ": result is \"" + result + "\"; expected PASS, FAIL or ERROR";
  out.expected = strings(j, "expected");
  out.problems = strings(j, "problems");
  if (j.contains("skipped") && j["skipped"].is_array())
    for (const auto& s : j["skipped"]) out.skipped.emplace_back(str(s, "invariant"), str(s, "reason"));
  out.stopped_early = j.contains("stopped_early") && j["stopped_early"].is_boolean() && j["stopped_early"].get<bool>();
  if (j.contains("violations") && j["violations"].is_array())
    for (const auto& v : j["violations"]) {
      inv::Violation iv;
      iv.invariant = str(v, "invariant");
      iv.message = str(v, "message");
      if (v.contains("time_ns") && v["time_ns"].is_number_integer()) iv.at = time_from_ns(v["time_ns"].get<std::int64_t>());
      out.violations.push_back(std::move(iv));
    }
  if (j.contains("statistics") && j["statistics"].is_object()) {
    const auto& st = j["statistics"];
    if (st.contains("wall_seconds") && st["wall_seconds"].is_number()) out.wall_seconds = st["wall_seconds"].get<double>();
    if (st.contains("events") && st["events"].is_number_unsigned()) out.events = st["events"].get<std::uint64_t>();
    if (st.contains("simulated_ns") && st["simulated_ns"].is_number_integer())
      out.sim_end = time_from_ns(st["simulated_ns"].get<std::int64_t>());
  }
  out.reproduce = str(j, "reproduce");
  return "";
}

MergeResult merge_results(const std::vector<std::string>& inputs, const std::string& out_dir, const std::string& junit) {
  MergeResult m;
  if (inputs.empty()) {
    m.error = "no folders to merge; expected faultline merge DIR... --out DIR";
    return m;
  }
  std::error_code ec;
  // Read everything first: bad input changes nothing on disk.
  std::map<std::pair<std::string, std::uint64_t>, MergedRun> runs;
  for (const auto& input : inputs) {
    if (!fs::is_directory(input, ec)) {
      m.error = input + ": not a folder (expected the --out folder of a faultline run or fuzz shard)";
      return m;
    }
    for (const fs::path& report : find_reports(input)) {
      const fs::path folder = report.parent_path();
      MergedRun run;
      if (const std::string e = read_run_report(report.string(), run.report); !e.empty()) {
        m.error = e;
        return m;
      }
      run.source = folder.string();
      // A fuzz or shrink folder names its own repro.toml: that run is known by
      // its folder's name (the same on every shard), not by where the shard wrote it.
      const fs::path named(run.report.scenario_path);
      const bool own_repro = named.filename() == "repro.toml" &&
                             named.parent_path().filename() == folder.filename() && fs::exists(folder / "repro.toml");
      const auto key = std::make_pair(own_repro ? "repro:" + folder.filename().string() : run.report.scenario_path,
                                      run.report.seed);
      auto it = runs.find(key);
      if (it == runs.end()) {
        runs.emplace(key, std::move(run));
      } else if (it->second.report.trace_hash == run.report.trace_hash) {
        ++m.duplicates;
      } else {
        m.exit_code = 3;
        m.error = key.first + " seed " + std::to_string(key.second) + " has two different trace hashes: " +
                  hex(it->second.report.trace_hash) + " in " + it->second.source + " and " + hex(run.report.trace_hash) +
                  " in " + run.source + " (nondeterminism across machines or builds)";
        return m;
      }
    }
    // A shard with no folder (nothing failed, no --keep-passing) is not an error.
  }
  std::map<std::string, Campaign> campaigns;
  for (const auto& input : inputs) {
    for (const fs::path& summary : find_summaries(input)) {
      bool conflict = false;
      if (const std::string e = read_summary(summary, campaigns, &conflict); !e.empty()) {
        m.exit_code = conflict ? 3 : 2;
        m.error = e;
        return m;
      }
    }
  }

  fs::create_directories(out_dir, ec);
  if (ec) {
    m.exit_code = 2;
    m.error = "--out " + out_dir + ": cannot create it (" + ec.message() + ")";
    return m;
  }
  std::set<std::string> taken;
  for (auto& [key, run] : runs) {
    const fs::path src(run.source);
    const fs::path src_canon = fs::weakly_canonical(src, ec);
    std::string name = src.filename().string();
    if (name.empty() || name == "." || name == "..") name = "run";
    std::string candidate = name;
    for (int n = 2; taken.count(candidate); ++n) candidate = name + "-" + std::to_string(n);
    taken.insert(candidate);
    const fs::path dst = fs::path(out_dir) / candidate;
    run.folder = dst.string() + "/";
    if (key.first.rfind("repro:", 0) == 0) {
      run.report.scenario_path = (dst / "repro.toml").string();
      run.report.reproduce = "faultline run " + run.report.scenario_path;
    }
    if (fs::weakly_canonical(dst, ec) == src_canon) continue;  // already in place (merging a merged folder)
    fs::remove_all(dst, ec);
    fs::copy(src, dst, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
    if (ec) {
      m.exit_code = 3;
      m.error = "cannot copy " + src.string() + " to " + dst.string() + ": " + ec.message();
      return m;
    }
  }

  std::vector<reports::RunResult> all;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  bool failed = false, errored = false;
  for (auto& [key, run] : runs) {
    all.push_back(run.report);
    failed |= run.report.outcome == reports::Outcome::fail;
    errored |= run.report.outcome == reports::Outcome::error;
    list.push_back({{"scenario", run.report.scenario_path},
                    {"seed", run.report.seed},
                    {"trace_hash", hex(run.report.trace_hash)},
                    {"result", std::string(reports::outcome_name(run.report.outcome))},
                    {"folder", fs::path(run.folder).parent_path().filename().string()}});
    m.runs.push_back(std::move(run));
  }
  m.junit_path = junit.empty() ? (fs::path(out_dir) / "junit.xml").string() : junit;
  if (const std::string e = reports::write_junit(m.junit_path, all); !e.empty()) {
    m.exit_code = 3;
    m.error = e;
    return m;
  }
  if (!write_json(fs::path(out_dir) / "runs.json", list, m)) return m;
  if (!campaigns.empty()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& [scenario, c] : campaigns) {
      MergedCampaign joined = join(c);
      nlohmann::ordered_json shards = nlohmann::ordered_json::array();
      for (const auto& [index, shard] : c.shards) shards.push_back(shard);
      list.push_back({{"scenario", joined.scenario},
                      {"scenario_hash", joined.scenario_hash},
                      {"guided", joined.guided},
                      {"shard_count", joined.shard_count},
                      {"shards", shards},
                      {"seeds_run", joined.seeds_run},
                      {"failures", joined.failures},
                      {"failing_seeds", joined.failing_seeds},
                      {"shards_missing", joined.shards_missing},
                      {"wall_seconds", joined.wall_seconds},
                      {"cpu_seconds", joined.cpu_seconds},
                      {"seeds_per_s", joined.seeds_per_s}});
      failed |= joined.failures > 0;
      m.campaigns.push_back(std::move(joined));
    }
    const nlohmann::ordered_json j = {{"schema", std::string(kFuzzSummarySchema)}, {"campaigns", list}};
    if (!write_json(fs::path(out_dir) / std::string(kFuzzSummaryFile), j, m)) return m;
  }
  m.exit_code = errored ? 3 : failed ? 1 : 0;
  return m;
}

}  // namespace fl::harness
