// Merge (issue 9): sharded runs merged equal the unsharded run (the same set of
// (scenario, seed, trace hash, result) and the same JUnit testcases), for
// `faultline run --shard` and `faultline fuzz --shard`; the same run twice is
// one run, two different hashes for one (scenario, seed) are an error (exit 3);
// bad input exits 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "tests/harness/cli_helpers.h"

namespace fl::harness {
namespace {

using test::source_dir;
using test::data;
using test::read_text;
std::filesystem::path temp_dir(const std::string& name) { return test::fresh_dir("merge", name); }

namespace fs = std::filesystem;
using test::cli;

// Each <testcase ...>...</testcase> (or self-closing) of a JUnit file, its
// wall time removed (the one thing that differs between two runs), sorted.
std::vector<std::string> testcases(const std::string& xml) {
  std::vector<std::string> out;
  const std::regex time_attr(" time=\"[0-9.]+\"");
  std::size_t at = 0;
  while ((at = xml.find("<testcase ", at)) != std::string::npos) {
    const std::size_t open = xml.find('>', at);
    const std::size_t end = xml[open - 1] == '/' ? open + 1
                                                 : xml.find("</testcase>", at) + std::string("</testcase>").size();
    out.push_back(std::regex_replace(xml.substr(at, end - at), time_attr, ""));
    at = end;
  }
  std::sort(out.begin(), out.end());
  return out;
}

// `text` with every `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) text.replace(at, from.size(), to);
  return text;
}

using RunKey = std::tuple<std::string, std::uint64_t, std::string, std::string>;
// runs.json of a merged folder; paths inside `merged` written relative to it
// (a fuzz repro is named by the merged folder's own copy).
std::set<RunKey> runs_of(const fs::path& merged) {
  std::set<RunKey> out;
  for (const auto& r : nlohmann::json::parse(read_text(merged / "runs.json")))
    out.emplace(replaced(r["scenario"], merged.string() + "/", "MERGED/"), r["seed"], r["trace_hash"], r["result"]);
  return out;
}

// Two scenarios, one that fails and one that holds, seeds 1..5.
std::vector<std::string> files() {
  return {data("replay_split_brain.toml"), (source_dir() / "scenarios/jobs_steady.toml").string()};
}

TEST(Merge, ShardedRunsMergedEqualTheUnshardedRun) {
  const auto dir = temp_dir("run");
  auto args = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = {"run"};
    for (const auto& f : files()) a.push_back(f);
    a.insert(a.end(), {"--seeds", "1..5", "--keep-passing", "-q"});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const auto whole = cli(args({"--out", (dir / "whole").string(), "--junit", (dir / "whole.xml").string()}));
  ASSERT_EQ(whole.code, 1) << whole.err;
  std::vector<std::string> shards;
  for (int i = 0; i < 3; ++i) {
    const auto out = dir / ("shard" + std::to_string(i));
    const auto o = cli(args({"--shard", std::to_string(i) + "/3", "--out", out.string(), "--junit",
                             (dir / ("shard" + std::to_string(i) + ".xml")).string()}));
    ASSERT_NE(o.code, 2) << o.err;
    shards.push_back(out.string());
  }
  std::vector<std::string> merge = {"merge"};
  merge.insert(merge.end(), shards.begin(), shards.end());
  merge.insert(merge.end(), {"--out", (dir / "merged").string()});
  const auto m = cli(merge);
  EXPECT_EQ(m.code, 1) << m.out << m.err;  // a failing run among them
  EXPECT_NE(m.out.find("merge: 10 runs from 3 folders (5 passed, 5 failed, 0 errors)"), std::string::npos) << m.out;
  const auto w = cli({"merge", (dir / "whole").string(), "--out", (dir / "merged-whole").string()});
  EXPECT_EQ(w.code, 1) << w.err;

  const auto sharded = runs_of(dir / "merged"), unsharded = runs_of(dir / "merged-whole");
  EXPECT_EQ(sharded.size(), 10u);
  EXPECT_EQ(sharded, unsharded);
  // The merged JUnit has the unsharded run's own testcases (its --junit file).
  const auto merged_cases = testcases(read_text(dir / "merged" / "junit.xml"));
  EXPECT_EQ(merged_cases.size(), 10u);
  EXPECT_EQ(merged_cases, testcases(read_text(dir / "whole.xml")));
  EXPECT_EQ(merged_cases, testcases(read_text(dir / "merged-whole" / "junit.xml")));
  // Byte for byte, up to wall times: the order does not depend on the sharding.
  const std::regex times(" time=\"[0-9.]+\"");
  EXPECT_EQ(std::regex_replace(read_text(dir / "merged" / "junit.xml"), times, ""),
            std::regex_replace(read_text(dir / "merged-whole" / "junit.xml"), times, ""));
  // Every run's folder is there, and each still replays.
  for (const auto& r : nlohmann::json::parse(read_text(dir / "merged" / "runs.json"))) {
    const auto folder = dir / "merged" / r["folder"].get<std::string>();
    EXPECT_TRUE(fs::exists(folder / "report.json")) << folder;
  }
  const auto rp = cli({"replay", (dir / "merged" / "tests__harness__data__replay_split_brain-3" / "report.json").string()});
  EXPECT_EQ(rp.code, 0) << rp.err;
}

TEST(Merge, ShardedFuzzMergedEqualsUnshardedFuzz) {
  const auto dir = temp_dir("fuzz");
  const std::string file = data("fuzz_down_after_one_failure.toml");
  const auto whole = cli({"fuzz", file, "--seeds", "8", "--keep-going", "--out", (dir / "whole").string(), "-q"});
  ASSERT_EQ(whole.code, 1) << whole.err;
  for (int i = 0; i < 2; ++i) {
    const auto o = cli({"fuzz", file, "--seeds", "8", "--keep-going", "--shard", std::to_string(i) + "/2", "--out",
                        (dir / ("shard" + std::to_string(i))).string(), "-q"});
    ASSERT_NE(o.code, 2) << o.err;
  }
  ASSERT_EQ(cli({"merge", (dir / "shard0").string(), (dir / "shard1").string(), "--out", (dir / "merged").string()}).code, 1);
  ASSERT_EQ(cli({"merge", (dir / "whole").string(), "--out", (dir / "merged-whole").string()}).code, 1);
  const auto a = runs_of(dir / "merged"), b = runs_of(dir / "merged-whole");
  EXPECT_GE(a.size(), 2u) << "the planted bug fails more than one of 8 seeds";
  EXPECT_EQ(a, b);
  EXPECT_EQ(testcases(replaced(read_text(dir / "merged" / "junit.xml"), (dir / "merged").string() + "/", "MERGED/")),
            testcases(replaced(read_text(dir / "merged-whole" / "junit.xml"), (dir / "merged-whole").string() + "/", "MERGED/")));
  // The shards' summaries joined equal the unsharded campaign's summary.
  const auto campaign = [&](const fs::path& merged) {
    const auto j = nlohmann::json::parse(read_text(merged / "fuzz-summary.json"));
    EXPECT_EQ(j["schema"], "faultline.fuzz-summary/1");
    EXPECT_EQ(j["campaigns"].size(), 1u);
    return j["campaigns"][0];
  };
  const auto sharded = campaign(dir / "merged"), unsharded = campaign(dir / "merged-whole");
  EXPECT_EQ(sharded["shard_count"], 2);
  EXPECT_EQ(sharded["shards"].size(), 2u);
  EXPECT_TRUE(sharded["shards_missing"].empty());
  for (const char* key : {"scenario", "scenario_hash", "guided", "seeds_run", "failures", "failing_seeds"})
    EXPECT_EQ(sharded[key], unsharded[key]) << key;
  EXPECT_EQ(sharded["seeds_run"], 8);
  EXPECT_EQ(sharded["failures"].get<std::size_t>(), a.size()) << "every failing seed has its folder";
  EXPECT_GT(sharded["seeds_per_s"].get<double>(), 0.0);
  // Merging the merged folder again (a shard seen twice) changes no figure.
  ASSERT_EQ(cli({"merge", (dir / "merged").string(), (dir / "shard0").string(), "--out", (dir / "again").string()}).code, 1);
  const auto again = campaign(dir / "again");
  for (const char* key : {"seeds_run", "failures", "failing_seeds", "shards_missing"}) EXPECT_EQ(again[key], sharded[key]) << key;
  // The merged repro folders name their own repro.toml, and each replays.
  for (const auto& [scenario, seed, hash, result] : a) {
    ASSERT_EQ(scenario.rfind("MERGED/", 0), 0u) << scenario;
    const auto folder = dir / "merged" / fs::path(scenario.substr(7)).parent_path();
    EXPECT_TRUE(fs::exists(folder / "repro.toml")) << folder;
    EXPECT_EQ(cli({"replay", (folder / "report.json").string()}).code, 0) << folder;
  }
}

TEST(Merge, FuzzSummariesNameMissingShardsAndRefuseConflicts) {
  const auto dir = temp_dir("summary");
  const std::string file = data("fuzz_small.toml");  // a safe cluster: its seeds hold
  for (int i : {0, 2}) {
    const auto o = cli({"fuzz", file, "--seeds", "6", "--shard", std::to_string(i) + "/3", "--no-shrink", "--out",
                        (dir / ("s" + std::to_string(i))).string(), "-q"});
    ASSERT_EQ(o.code, 0) << o.err;
    EXPECT_TRUE(fs::exists(dir / ("s" + std::to_string(i)) / "fuzz-summary.json")) << "a passing shard writes its summary";
  }
  const auto m = cli({"merge", (dir / "s0").string(), (dir / "s2").string(), "--out", (dir / "m").string()});
  EXPECT_EQ(m.code, 0) << m.err;
  EXPECT_NE(m.out.find("shards 2/3, 4 seeds, 0 failed"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("missing shards 1"), std::string::npos) << m.out;
  const auto j = nlohmann::json::parse(read_text(dir / "m" / "fuzz-summary.json"))["campaigns"][0];
  EXPECT_EQ(j["shards_missing"], nlohmann::json::array({1}));
  EXPECT_EQ(j["seeds_run"], 4);

  // The same shard from another machine with another result: a conflict, exit 3.
  fs::copy(dir / "s0", dir / "s0b", fs::copy_options::recursive);
  auto other = nlohmann::ordered_json::parse(read_text(dir / "s0b" / "fuzz-summary.json"));
  other["campaigns"][0]["shards"][0]["failing_seeds"] = {3};
  std::ofstream(dir / "s0b" / "fuzz-summary.json") << other.dump(2);
  const auto conflict = cli({"merge", (dir / "s0").string(), (dir / "s0b").string(), "--out", (dir / "c").string()});
  EXPECT_EQ(conflict.code, 3) << conflict.out;
  EXPECT_NE(conflict.err.find("two different results"), std::string::npos) << conflict.err;
  EXPECT_FALSE(fs::exists(dir / "c")) << "nothing written on a conflict";
  // A shard of another sharding of the same scenario: bad input, exit 2.
  ASSERT_EQ(cli({"fuzz", file, "--seeds", "4", "--shard", "0/2", "--no-shrink", "--out", (dir / "t0").string(), "-q"}).code, 0);
  const auto mixed = cli({"merge", (dir / "s0").string(), (dir / "t0").string(), "--out", (dir / "x").string()});
  EXPECT_EQ(mixed.code, 2) << mixed.err;
  EXPECT_NE(mixed.err.find("fuzzed differently"), std::string::npos) << mixed.err;
  // Not a summary.
  test::write_file(dir / "junk", "fuzz-summary.json", "{\"schema\": \"x\"}");
  EXPECT_EQ(cli({"merge", (dir / "junk").string(), "--out", (dir / "y").string()}).code, 2);
}

TEST(Merge, TheSameRunTwiceIsOneAndTwoHashesForOneSeedAreAnError) {
  const auto dir = temp_dir("dup");
  ASSERT_EQ(cli({"run", data("replay_split_brain.toml"), "--seeds", "1..2", "--out", (dir / "a").string(), "-q"}).code, 1);
  auto twice = cli({"merge", (dir / "a").string(), (dir / "a").string(), "--out", (dir / "m").string()});
  EXPECT_EQ(twice.code, 1) << twice.err;
  EXPECT_NE(twice.out.find("merge: 2 runs"), std::string::npos) << twice.out;
  EXPECT_NE(twice.out.find("2 duplicates"), std::string::npos) << twice.out;
  // Merging the merged folder again changes nothing.
  const auto before = read_text(dir / "m" / "runs.json");
  EXPECT_EQ(cli({"merge", (dir / "m").string(), "--out", (dir / "m").string()}).code, 1);
  EXPECT_EQ(read_text(dir / "m" / "runs.json"), before);

  // Another machine's folder with another hash for the same seed.
  fs::copy(dir / "a", dir / "b", fs::copy_options::recursive);
  const auto report = dir / "b" / "replay_split_brain-1" / "report.json";
  auto j = nlohmann::ordered_json::parse(read_text(report));
  j["trace_hash"] = j["trace_hash"] == "0123456789abcdef" ? "fedcba9876543210" : "0123456789abcdef";
  std::ofstream(report) << j.dump(2);
  const auto conflict = cli({"merge", (dir / "a").string(), (dir / "b").string(), "--out", (dir / "c").string()});
  EXPECT_EQ(conflict.code, 3) << conflict.out;
  EXPECT_NE(conflict.err.find("two different trace hashes"), std::string::npos) << conflict.err;
  EXPECT_FALSE(fs::exists(dir / "c")) << "nothing written on a conflict";
}

TEST(Merge, BadInputExitsTwo) {
  const auto dir = temp_dir("bad");
  auto o = cli({"merge", (dir / "missing").string(), "--out", (dir / "out").string()});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("not a folder"), std::string::npos) << o.err;
  test::write_file(dir / "broken" / "x-1", "report.json", "{ not json");
  o = cli({"merge", (dir / "broken").string(), "--out", (dir / "out").string()});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("report.json"), std::string::npos) << o.err;
  EXPECT_EQ(cli({"merge", (dir / "broken").string()}).code, 2) << "--out is required";
  // An empty shard (nothing failed, no --keep-passing) merges to nothing.
  fs::create_directories(dir / "empty");
  o = cli({"merge", (dir / "empty").string(), "--out", (dir / "out").string()});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(read_text(dir / "out" / "junit.xml").find("tests=\"0\""), std::string::npos);
}

}  // namespace
}  // namespace fl::harness
