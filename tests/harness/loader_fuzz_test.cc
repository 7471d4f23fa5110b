// The loader never crashes and never hangs: over random bytes and over valid
// scenario files mutated (characters deleted, duplicated, inserted; tokens
// swapped), it returns either a Scenario or errors that each carry a position.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "harness/scenario_loader.h"

namespace fl::harness {
namespace {

const std::string kSeedText = R"(name = "fuzz seed"
duration = "10m"
seed = 3
[cluster]
app_servers = 3
version = "10.4.1"
bugs = ["leader_highest_id"]
[[cluster.server]]
name = "app2"
version = "10.4.2"
[database]
replicas = 2
replication_lag = "5ms..50ms"
[network]
latency = "0.2ms..2ms"
loss = 0.01
[clients]
count = 10
[[faults]]
at = "2m"
kind = "partition"
groups = [["app1"], ["app2", "app3"]]
for = "1m"
[[faults]]
at = "3m"
kind = "clock_skew"
node = "app2"
offset = "-20s"
[[faults]]
at = "4m"
kind = "gossip_send_failure"
node = "app1"
peer = "app3"
for = "30s"
[[operations]]
at = "6m"
runbook = "rolling_upgrade"
to_version = "10.5.0"
[[operations]]
at = "7m"
step = "config_change"
nodes = ["app1"]
key = "ServiceSettings.SiteURL"
value = "x"
[invariants]
check = ["single_leader", "version_skew"]
[invariants.single_leader]
grace = "1s"
[expect]
violations = ["single_leader"]
[fuzz]
faults = ["partition", "crash"]
max_faults = 4
swarm = true
)";

// Vocabulary that makes mutations land on meaningful near-misses.
const std::vector<std::string> kTokens = {
    "=", "[", "]", "[[", "]]", "\"", ",", "\n", "#", "{", "}", ".", "..", "-", "+", "0", "1.5", "nan", "inf",
    "\"\"", "true", "kind", "at", "for", "node", "nodes", "groups", "app1", "app9", "db-primary", "\"10m\"",
    "\"-5s\"", "\"1h30m\"", "\"5ms..1ms\"", "partition", "heal", "crash", "[faults]", "[[faults]]", "[cluster]",
    "\"\\u0000\"", "'''", "\"\"\"", "1979-05-27T07:32:00Z", "0x10", "1e400", "9223372036854775807",
    "-9223372036854775808", "\xff\xfe", "\t", "\r\n", "\\"};

void check_result(const LoadResult& r, const std::string& text) {
  RC_ASSERT(r.ok() == r.errors.empty());
  for (const auto& e : r.errors) {
    RC_ASSERT(e.line >= 1u);
    RC_ASSERT(e.column >= 1u);
    RC_ASSERT(!e.message.empty());
    RC_ASSERT(e.file == "fuzz.toml");
  }
  RC_ASSERT(r.errors.size() <= kMaxErrors);
  if (r.ok()) {
    // A loaded scenario keeps the invariants scenario.h promises.
    RC_ASSERT(r.scenario->duration > Duration::zero());
    for (const auto& f : r.scenario->faults) RC_ASSERT(f.at.time_since_epoch() <= r.scenario->duration);
    RC_ASSERT(validate_scenario(*r.scenario).empty());
  }
  (void)text;
}

std::string mutate(std::string text, const std::vector<std::tuple<int, std::size_t, std::size_t>>& edits) {
  for (const auto& [op, a, b] : edits) {
    if (text.empty()) text = "x";
    const std::size_t i = a % text.size();
    switch (op % 5) {
      case 0: text.erase(i, 1 + b % 8); break;                                   // delete
      case 1: text.insert(i, text.substr(i, 1 + b % 16)); break;                  // duplicate
      case 2: text.insert(i, kTokens[b % kTokens.size()]); break;                 // insert a token
      case 3: text[i] = static_cast<char>(b % 256); break;                        // flip a byte
      case 4: {                                                                   // swap two lines
        const std::size_t j = b % text.size();
        const auto line_at = [&](std::size_t k) {
          const std::size_t s = text.rfind('\n', k) == std::string::npos ? 0 : text.rfind('\n', k) + 1;
          const std::size_t e = text.find('\n', k);
          return std::pair(s, e == std::string::npos ? text.size() : e);
        };
        auto [s1, e1] = line_at(std::min(i, j));
        auto [s2, e2] = line_at(std::max(i, j));
        if (s2 >= e1) {
          const std::string l1 = text.substr(s1, e1 - s1), l2 = text.substr(s2, e2 - s2);
          text.replace(s2, e2 - s2, l1);
          text.replace(s1, e1 - s1, l2);
        }
        break;
      }
    }
  }
  return text;
}

TEST(LoaderFuzz, SeedTextLoads) {
  LoadResult r = parse_scenario(kSeedText, "fuzz.toml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  EXPECT_TRUE(r.ok());
}

RC_GTEST_PROP(LoaderFuzz, RandomBytesNeverCrash, (const std::string& text)) {
  check_result(parse_scenario(text, "fuzz.toml"), text);
}

RC_GTEST_PROP(LoaderFuzz, RandomTokenSoupNeverCrashes, ()) {
  const auto picks = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, kTokens.size()));
  std::string text;
  for (auto p : picks) text += kTokens[p] + " ";
  check_result(parse_scenario(text, "fuzz.toml"), text);
}

RC_GTEST_PROP(LoaderFuzz, MutatedScenariosNeverCrash, ()) {
  const auto edits = *rc::gen::resize(
      12, rc::gen::nonEmpty(rc::gen::container<std::vector<std::tuple<int, std::size_t, std::size_t>>>(
              rc::gen::tuple(rc::gen::inRange(0, 5), rc::gen::arbitrary<std::size_t>(),
                             rc::gen::arbitrary<std::size_t>()))));
  const std::string text = mutate(kSeedText, edits);
  check_result(parse_scenario(text, "fuzz.toml"), text);
}

// Replacing one value with a token of another type is always reported, never
// silently accepted, when it breaks the type (a string where a number goes).
RC_GTEST_PROP(LoaderFuzz, WrongTypedValuesAreErrors, ()) {
  const std::vector<std::string> keys = {"app_servers = 3", "replicas = 2", "count = 10", "max_faults = 4", "seed = 3"};
  const std::string key = *rc::gen::elementOf(keys);
  const std::string bad = *rc::gen::elementOf(std::vector<std::string>{"\"3\"", "3.5", "true", "[]", "{}", "-1"});
  std::string text = kSeedText;
  const auto at = text.find(key);
  RC_ASSERT(at != std::string::npos);
  const auto eq = text.find('=', at);
  text.replace(eq + 2, key.size() - (eq - at) - 2, bad);
  LoadResult r = parse_scenario(text, "fuzz.toml");
  RC_ASSERT(!r.ok());
  check_result(r, text);
}

}  // namespace
}  // namespace fl::harness
