// The faultline command: exit codes (SCENARIOS.md: 0 met, 1 failed, 2 usage or
// scenario error, 3 internal), help on every subcommand, list and validate
// output, JUnit validity. In-process through run_cli, plus the built binary.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness/cli.h"
#include "harness/runner.h"
#include "tests/harness/cli_helpers.h"

namespace fl::harness {
namespace {

using test::cli;
using test::CliOutcome;

std::string temp_file(const std::string& name, const std::string& text) {
  return test::write_file(std::filesystem::temp_directory_path() / "faultline_cli_test", name, text);
}

TEST(Cli, HelpOnEverySubcommandExitsZero) {
  for (const char* sub : {"run", "validate", "list"}) {
    const CliOutcome o = cli({sub, "--help"});
    EXPECT_EQ(o.code, kExitOk) << sub;
    EXPECT_NE(o.out.find("Usage"), std::string::npos) << sub;
  }
  EXPECT_NE(cli({"run", "--help"}).out.find("--check-determinism"), std::string::npos);
  EXPECT_EQ(cli({"--help"}).code, kExitOk);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(cli({}).code, kExitUsage);
  EXPECT_EQ(cli({"frobnicate"}).code, kExitUsage);
  EXPECT_EQ(cli({"list", "everything"}).code, kExitUsage);
  EXPECT_EQ(cli({"run"}).code, kExitUsage);
  const std::string ok = temp_file("ok.toml", "duration = \"1s\"\n[clients]\ncount = 0\n");
  EXPECT_EQ(cli({"run", ok, "--seed", "1", "--seeds", "1..2"}).code, kExitUsage);
  EXPECT_EQ(cli({"run", ok, "--seeds", "5..2"}).code, kExitUsage);
  EXPECT_EQ(cli({"run", ok, "--shard", "3/2"}).code, kExitUsage);
  EXPECT_EQ(cli({"run", ok, "--quiet", "--verbose"}).code, kExitUsage);
}

TEST(Cli, ListPrintsTheCatalogues) {
  const CliOutcome inv = cli({"list", "invariants"});
  EXPECT_EQ(inv.code, kExitOk);
  for (const char* name : {"single_leader", "plugin_convergence", "status_accuracy"})
    EXPECT_NE(inv.out.find(name), std::string::npos);
  EXPECT_NE(cli({"list", "faults"}).out.find("gossip_send_failure"), std::string::npos);
  EXPECT_NE(cli({"list", "runbooks"}).out.find("upgrade_with_schema_change"), std::string::npos);
  EXPECT_NE(cli({"list", "bugs"}).out.find("sequence_reset_without_hello"), std::string::npos);
}

TEST(Cli, ValidateReportsFileLineColumnAndExitsTwo) {
  const std::string bad = temp_file("bad.toml", "duration = \"10m\"\n\n[[faults]]\nat = \"1m\"\nkind = \"partiton\"\n");
  const CliOutcome o = cli({"validate", bad});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find(bad + ":5:8: unknown fault kind \"partiton\" (did you mean \"partition\"?)"), std::string::npos)
      << o.err;
  const std::string good = temp_file("good.toml", "duration = \"10m\"\n");
  const CliOutcome g = cli({"validate", good});
  EXPECT_EQ(g.code, kExitOk);
  EXPECT_EQ(g.out, "OK " + good + "\n");
  // One bad file among good ones still fails the command.
  EXPECT_EQ(cli({"validate", good, bad}).code, kExitUsage);
  EXPECT_EQ(cli({"validate", "/nonexistent.toml"}).code, kExitUsage);
  // `run` validates every file before running any.
  EXPECT_EQ(cli({"run", good, bad}).code, kExitUsage);
}

TEST(Cli, ResultLineFormats) {
  RunResult pass;
  pass.path = "scenarios/steady_state.toml";
  pass.seed = 7;
  pass.outcome = Outcome::pass;
  pass.sim_time = hours(1);
  pass.wall_seconds = 0.84;
  pass.events = 3'100'000;
  pass.trace_hash = 0x9f3a1c0b2d4e5f60ULL;
  EXPECT_EQ(result_line(pass),
            "PASS scenarios/steady_state.toml seed=7 sim=1h0m wall=0.84s events=3.1M hash=9f3a1c0b2d4e5f60");
  RunResult fail;
  fail.path = "scenarios/split_brain.toml";
  fail.seed = 3;
  fail.outcome = Outcome::fail;
  fail.violations.push_back(RunViolation{"single_leader", Time{minutes(2) + milliseconds(3412)}, "app1 and app2 both lead", {}, false});
  fail.report_dir = "out/split_brain-3/";
  fail.trace_hash = 0x08303c85d51d8c83ULL;
  EXPECT_EQ(result_line(fail),
            "FAIL scenarios/split_brain.toml seed=3 single_leader at 2m03.412s: app1 and app2 both lead "
            "hash=08303c85d51d8c83 -> out/split_brain-3/");
  RunResult missing;
  missing.path = "x.toml";
  missing.seed = 1;
  missing.outcome = Outcome::fail;
  missing.problems.push_back("expected violation single_leader not found");
  EXPECT_EQ(result_line(missing), "FAIL x.toml seed=1 expected violation single_leader not found hash=0000000000000000");
  // Times on the line are rounded to the millisecond.
  pass.sim_time = minutes(2) + microseconds(30'159'562);
  EXPECT_NE(result_line(pass).find(" sim=2m30.16s "), std::string::npos) << result_line(pass);
}

#ifdef FL_FAULTLINE_BINARY
int run_binary(const std::string& args) {
  const int status = std::system((std::string(FL_FAULTLINE_BINARY) + " " + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CliBinary, ExitCodesOfTheBuiltCommand) {
  EXPECT_EQ(run_binary("list bugs"), kExitOk);
  EXPECT_EQ(run_binary("list nothing"), kExitUsage);
  EXPECT_EQ(run_binary("validate " + temp_file("b.toml", "duration = 10\n")), kExitUsage);
  EXPECT_EQ(run_binary("validate " + temp_file("g.toml", "duration = \"1m\"\n")), kExitOk);
}
#endif

}  // namespace
}  // namespace fl::harness
