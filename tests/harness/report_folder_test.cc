// The report folder as faultline run writes it (SCENARIOS.md, Command line and
// Reports): unique names below the common root, --out and --junit checked
// before anything runs, the history kept as a window unless --history full,
// control characters escaped in the line, and report.json valid as written.
#include <gtest/gtest.h>

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/cli.h"
#include "harness/runner.h"
#include "harness/scenario_loader.h"
#include "reports/history_keep.h"
#include "reports/report.h"
#include "tests/harness/cli_helpers.h"

namespace fl::harness {
namespace {

using test::read_text;
std::filesystem::path fresh(const std::string& name) { return test::fresh_dir("report-folder", name); }

using test::cli;
using test::CliOutcome;
using test::write_file;

constexpr const char* kSplitBrain = R"(duration = "40s"
settle = "10s"
[cluster]
app_servers = 3
leader_election = "bully"
[clients]
count = 4
channels = 2
[[faults]]
at = "5s"
kind = "partition"
groups = [["app1"], ["app2", "app3"]]
[[faults]]
at = "30s"
kind = "heal"
)";

std::string gunzip(const std::filesystem::path& p) {
  gzFile gz = gzopen(p.c_str(), "rb");
  if (!gz) return "";
  std::string out;
  char buf[1 << 14];
  int n;
  while ((n = gzread(gz, buf, sizeof buf)) > 0) out.append(buf, std::size_t(n));
  gzclose(gz);
  return out;
}

TEST(ReportFolder, NamesAreThePathBelowTheCommonRoot) {
  EXPECT_EQ(reports::report_folder_stems({"scenarios/hazards/split.toml"}), std::vector<std::string>{"split"});
  EXPECT_EQ(reports::report_folder_stems({"s/a/x.toml", "s/b/x.toml", "./s/b/c/y.toml"}),
            (std::vector<std::string>{"a__x", "b__x", "b__c__y"}));
  EXPECT_EQ(reports::report_folder_stems({"s/x.toml", "s/sub/x.toml"}), (std::vector<std::string>{"x", "sub__x"}));
}

TEST(ReportFolder, TwoScenariosWithOneFileNameNeverShareAFolder) {
  const auto dir = fresh("same_name");
  const std::string a = write_file(dir / "a", "split.toml", kSplitBrain);
  const std::string b = write_file(dir / "b", "split.toml", std::string(kSplitBrain) + "\n# b\n");
  const auto out = dir / "out";
  const CliOutcome o = cli({"run", a, b, "--seed", "4", "--out", out.string()});
  EXPECT_EQ(o.code, kExitFailed) << o.out << o.err;
  for (const char* folder : {"a__split-4", "b__split-4"}) {
    EXPECT_TRUE(std::filesystem::exists(out / folder / "report.json")) << folder << "\n" << o.out;
    EXPECT_NE(o.out.find(" -> " + (out / folder).string() + "/"), std::string::npos) << o.out;
  }
  const auto ja = nlohmann::json::parse(read_text(out / "a__split-4" / "report.json"));
  const auto jb = nlohmann::json::parse(read_text(out / "b__split-4" / "report.json"));
  EXPECT_EQ(ja.at("scenario").at("path"), a);
  EXPECT_EQ(jb.at("scenario").at("path"), b);
}

TEST(ReportFolder, UnwritableOutOrJunitStopsBeforeAnythingRuns) {
  const auto dir = fresh("unwritable");
  const std::string file = write_file(dir, "split.toml", kSplitBrain);
  const std::string blocker = write_file(dir, "a_file", "x");  // a file where a folder must go
  CliOutcome o = cli({"run", file, "--out", blocker + "/out"});
  EXPECT_EQ(o.code, kExitUsage) << o.out << o.err;
  EXPECT_EQ(o.out, "") << "nothing ran";
  EXPECT_NE(o.err.find("--out " + blocker + "/out"), std::string::npos) << o.err;
  o = cli({"run", file, "--junit", (dir / "no" / "such" / "dir" / "j.xml").string()});
  EXPECT_EQ(o.code, kExitUsage) << o.out << o.err;
  EXPECT_EQ(o.out, "");
  EXPECT_NE(o.err.find("--junit"), std::string::npos) << o.err;
  o = cli({"run", file, "--junit", dir.string()});  // a folder
  EXPECT_EQ(o.code, kExitUsage) << o.err;
  // A writable --junit that exists is not truncated by the check, and is written.
  const std::string junit = write_file(dir, "j.xml", "old");
  o = cli({"run", file, "--seed", "4", "--junit", junit});
  EXPECT_EQ(o.code, kExitFailed) << o.err;
  EXPECT_NE(read_text(junit).find("<testcase"), std::string::npos);
}

TEST(ReportFolder, HistoryIsAWindowByDefaultAndWholeWithHistoryFull) {
  const auto dir = fresh("history");
  const std::string file = write_file(dir, "split.toml", kSplitBrain);
  CliOutcome o = cli({"run", file, "--seed", "4", "--out", (dir / "w").string()});
  EXPECT_EQ(o.code, kExitFailed) << o.err;
  const auto w = dir / "w" / "split-4";
  EXPECT_FALSE(std::filesystem::exists(w / "history.jsonl"));
  ASSERT_TRUE(std::filesystem::exists(w / "history.jsonl.gz"));
  const std::string kept = gunzip(w / "history.jsonl.gz");
  const auto jw = nlohmann::json::parse(read_text(w / "report.json"));
  EXPECT_EQ(jw.at("history").at("file"), "history.jsonl.gz");
  EXPECT_EQ(jw.at("history").at("kept"), "window");

  o = cli({"run", file, "--seed", "4", "--out", (dir / "f").string(), "--history", "full"});
  EXPECT_EQ(o.code, kExitFailed) << o.err;
  const auto f = dir / "f" / "split-4";
  const std::string whole = read_text(f / "history.jsonl");
  const auto jf = nlohmann::json::parse(read_text(f / "report.json"));
  EXPECT_EQ(jf.at("history").at("file"), "history.jsonl");
  EXPECT_EQ(jf.at("history").at("kept"), "full");
  const auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  EXPECT_EQ(jf.at("history").at("events"), lines(whole));
  EXPECT_EQ(jw.at("history").at("events"), lines(kept));
  // The window is a subset, smaller, and still has every fault and leader term.
  EXPECT_LT(lines(kept), lines(whole));
  for (const char* must : {"\"fault_injected\"", "\"fault_healed\"", "\"leader_begin\""}) {
    ASSERT_NE(whole.find(must), std::string::npos) << must;
    EXPECT_NE(kept.find(must), std::string::npos) << must;
  }
  // Every kept line is a line of the whole history.
  std::size_t start = 0;
  int checked = 0;
  while (start < kept.size() && checked < 200) {
    const auto end = kept.find('\n', start);
    EXPECT_NE(whole.find(kept.substr(start, end - start + 1)), std::string::npos);
    start = end + 1;
    ++checked;
  }
}

// By default the whole history is never written: the run runs again with its
// violations known and keeps only the windows (harness/runner.cc, cut_history).
// What it keeps is exactly what cutting the whole history file keeps.
TEST(ReportFolder, TheWindowIsCutWithoutWritingTheWholeHistory) {
  const auto dir = fresh("cut");
  const std::string file = write_file(dir, "split.toml", kSplitBrain);
  ASSERT_EQ(cli({"run", file, "--seed", "4", "--out", (dir / "f").string(), "--history", "full"}).code, kExitFailed);
  ASSERT_EQ(cli({"run", file, "--seed", "4", "--out", (dir / "w").string()}).code, kExitFailed);
  const auto f = dir / "f" / "split-4", w = dir / "w" / "split-4";
  EXPECT_FALSE(std::filesystem::exists(w / "history.jsonl"));
  // The whole file, cut afterwards as keep_history does.
  const auto cut = dir / "cut";
  std::filesystem::create_directories(cut);
  std::filesystem::copy_file(f / "history.jsonl", cut / "history.jsonl");
  LoadResult loaded = load_scenario(file);
  ASSERT_TRUE(loaded.ok());
  RunOptions options;
  options.seed = 4;
  reports::RunResult report = run_scenario(*loaded.scenario, options).report;
  report.history_file = "history.jsonl";
  report.history_keep = reports::HistoryKeep::window;
  ASSERT_EQ(reports::keep_history(cut.string(), report), "");
  const std::string streamed = gunzip(w / "history.jsonl.gz");
  EXPECT_GT(streamed.size(), 0u);
  EXPECT_EQ(streamed, gunzip(cut / "history.jsonl.gz"));
  // The same causes, the same diagram (messages included).
  const auto jf = nlohmann::json::parse(read_text(f / "report.json")), jw = nlohmann::json::parse(read_text(w / "report.json"));
  EXPECT_EQ(jw.at("groups"), jf.at("groups"));
  EXPECT_EQ(jw.at("violations"), jf.at("violations"));
  EXPECT_EQ(read_text(w / "report.html"), read_text(f / "report.html"));
  EXPECT_NE(read_text(w / "report.html").find("\"kind\":\"request\""), std::string::npos);  // arrows were drawn
}

TEST(ReportFolder, ControlCharactersInAPathAreEscapedInTheLine) {
  const auto dir = fresh("controls");
  const std::string file = write_file(dir, "evil\x1b[2J\xe2\x80\xae.toml", kSplitBrain);
  const CliOutcome o = cli({"run", file, "--seed", "4", "--out", (dir / "out").string()});
  EXPECT_EQ(o.code, kExitFailed) << o.err;
  EXPECT_EQ(o.out.find('\x1b'), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("\xe2\x80\xae"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("evil\\x1b[2J\\u202e.toml"), std::string::npos) << o.out;
  EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 1) << o.out;
  const auto folder = dir / "out" / "evil\x1b[2J\xe2\x80\xae-4";
  EXPECT_EQ(read_text(folder / "summary.txt").find('\x1b'), std::string::npos);
  EXPECT_EQ(read_text(folder / "report.md").find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace fl::harness
