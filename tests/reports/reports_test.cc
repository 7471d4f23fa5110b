#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reports/escape.h"
#include "reports/explain.h"
#include "reports/junit.h"
#include "reports/report.h"

namespace fl::reports {
namespace {

using namespace std::chrono_literals;

// A small XML well-formedness check, enough for what the writers produce: a
// prolog, balanced and properly nested tags, quoted attributes, no raw '<' or
// '&' in text or attribute values except entity references. Returns the error.
std::string xml_problem(const std::string& x, std::vector<std::string>* tags_seen = nullptr) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  auto entity_ok = [&](std::size_t at) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
      if (x.compare(at, std::strlen(e), e) == 0) return true;
    return false;
  };
  if (x.rfind("<?xml", 0) != 0) return "no prolog";
  i = x.find("?>") + 2;
  bool root_done = false;
  while (i < x.size()) {
    if (x[i] == '&' && !entity_ok(i)) return "raw & in text at " + std::to_string(i);
    if (x[i] != '<') {
      if (root_done && !std::isspace(static_cast<unsigned char>(x[i]))) return "text after root";
      ++i;
      continue;
    }
    const bool closing = x[i + 1] == '/';
    std::size_t j = i + (closing ? 2 : 1);
    std::string name;
    while (j < x.size() && (std::isalnum(static_cast<unsigned char>(x[j])) || x[j] == '_' || x[j] == '-')) name += x[j++];
    if (name.empty()) return "bad tag at " + std::to_string(i);
    bool self_closing = false;
    while (j < x.size() && x[j] != '>') {  // attributes
      if (x[j] == '"') {
        const std::size_t end = x.find('"', j + 1);
        if (end == std::string::npos) return "unterminated attribute";
        for (std::size_t k = j + 1; k < end; ++k) {
          if (x[k] == '<') return "raw < in attribute";
          if (x[k] == '&' && !entity_ok(k)) return "raw & in attribute";
        }
        j = end + 1;
        continue;
      }
      if (x[j] == '<') return "raw < in tag";
      if (x[j] == '/' && x[j + 1] == '>') self_closing = true;
      ++j;
    }
    if (j >= x.size()) return "unterminated tag";
    if (closing) {
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
      if (stack.empty()) root_done = true;
    } else {
      if (root_done) return "second root";
      if (tags_seen) tags_seen->push_back(name);
      if (!self_closing) stack.push_back(name);
    }
    i = j + 1;
  }
  return stack.empty() ? "" : "unclosed <" + stack.back() + ">";
}

RunResult failing_run() {
  RunResult r;
  r.scenario_path = "scenarios/split_brain.toml";
  r.scenario_name = "split brain <&> \"quoted\" 'single'";
  r.scenario_hash = 0xabc;
  r.seed = 3;
  r.trace_hash = 0x9f3a1c0b2d4e5f60ULL;
  r.outcome = Outcome::fail;
  r.expected = {};
  r.problems = {"unexpected violation of single_leader"};
  r.lanes = {{"app1", "app_server"}, {"app2", "app_server"}, {"<script>alert(1)</script>", "client"}};
  inv::Violation v;
  v.invariant = "single_leader";
  v.at = Time{123412ms};
  v.message = "app1 and app2 both lead at 2m03.412s | <b>&\x01 'x' \"y\"";
  v.nodes = {NodeId{0}, NodeId{1}};
  v.witnesses.push_back(HistoryEvent{4, Time{5s}, Time{5s}, NodeId{0}, LeaderBegin{}});
  v.witnesses.push_back(HistoryEvent{9, Time{123412ms}, Time{123412ms}, NodeId{1}, PeerDown{NodeId{0}, 2}});
  r.violations = {v};
  r.faults = {{0, Time{60s}, "partition", R"([["app1"], ["app2"]])", {"app1"}, true, true, "", true, Time{240s}}};
  r.sim_end = Time{600s};
  r.settle_begin = Time{480s};
  r.events = 31337;
  r.wall_seconds = 0.84;
  r.statistics = {{"messages_cut", 17}};
  r.reproduce = "faultline run scenarios/split_brain.toml --seed 3";
  r.timeline = {HistoryEvent{4, Time{5s}, Time{5s}, NodeId{0}, LeaderBegin{}},
                HistoryEvent{8, Time{100s}, Time{100s}, NodeId{1}, LeaderBegin{}},
                HistoryEvent{10, Time{300s}, Time{300s}, NodeId{1}, ProcessCrashed{}},
                HistoryEvent{11, Time{310s}, Time{310s}, NodeId{1}, ProcessStarted{}}};
  return r;
}

TEST(Escape, XmlEscapesTheFiveAndControls) {
  EXPECT_EQ(xml_escape("a<b>&\"'c"), "a&lt;b&gt;&amp;&quot;&apos;c");
  EXPECT_EQ(xml_escape(std::string("x\x01y\tz\n", 6)), "x?y\tz\n");
  EXPECT_EQ(md_cell("a|b\nc<d>"), "a\\|b c\\<d>");
  EXPECT_EQ(md_code("a`b"), "``a`b``");
  EXPECT_EQ(hex64(0x9f3a1c0b2d4e5f60ULL), "9f3a1c0b2d4e5f60");
  EXPECT_EQ(hex64(1), "0000000000000001");
}

TEST(Escape, ControlsBecomeVisibleEscapes) {
  // C0 (ESC, tab, newline), DEL, C1 (U+009B, the 8-bit CSI), bidi overrides and isolates.
  EXPECT_EQ(escape_controls("a\x1b[31mred\tb\nc\x7f"), "a\\x1b[31mred\\x09b\\x0ac\\x7f");
  EXPECT_EQ(escape_controls("x\xc2\x9b" "2J"), "x\\u009b2J");
  EXPECT_EQ(escape_controls("evil\xe2\x80\xae" "txt.toml"), "evil\\u202etxt.toml");
  for (const char* bidi : {"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", "\xe2\x80\xae", "\xe2\x81\xa6",
                           "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9"}) {
    EXPECT_FALSE(is_printable(bidi)) << bidi;
    EXPECT_EQ(escape_controls(bidi).rfind("\\u20", 0), 0u) << escape_controls(bidi);
  }
  // Other UTF-8 is kept; bytes that are not UTF-8 are escaped one by one.
  EXPECT_EQ(escape_controls("caf\xc3\xa9 \xe2\x86\x92 ok"), "caf\xc3\xa9 \xe2\x86\x92 ok");
  EXPECT_EQ(escape_controls("bad\xff\xc3"), "bad\\xff\\xc3");
  EXPECT_EQ(escape_controls("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");  // overlong '/'
  EXPECT_EQ(escape_controls("plain -> text"), "plain -> text");
  EXPECT_TRUE(is_printable("plain -> text"));
  // HTML: entities and the same visible escapes; Markdown: no entities, '<' cannot open a tag.
  EXPECT_EQ(html_escape("<b>\xe2\x80\xae&'"), "&lt;b&gt;\\u202e&amp;&apos;");
  EXPECT_EQ(md_cell("a -> b & c"), "a -> b & c");
  EXPECT_EQ(md_cell("<script>&lt;\x1b"), "\\<script>\\&lt;\\\\x1b");
  EXPECT_EQ(md_code("x\xe2\x80\xaey"), "`x\\u202ey`");
}

TEST(Escape, HostileNameIsHarmlessInEveryTextFile) {
  RunResult r = failing_run();
  r.scenario_path = "scenarios/\x1b]0;pwned\x07\xe2\x80\xaelmth.toml";
  r.scenario_name = "name\nproblem: forged line";
  r.violations[0].message = "app1 -> app2 \x1b[2J\xc2\x9b";
  for (const std::string& text : {summary_text(r), report_markdown(r)}) {
    for (unsigned char c : text) EXPECT_TRUE(c >= 0x20 || c == '\n') << int(c);
    EXPECT_EQ(text.find("\xe2\x80\xae"), std::string::npos);
    EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos);
    EXPECT_EQ(text.find("&gt;"), std::string::npos);
    EXPECT_NE(text.find("app1 -> app2"), std::string::npos) << text;
    EXPECT_EQ(text.find("\nproblem: forged line"), std::string::npos) << text;
  }
}

// 13 clients miss one post because the resync read a replica behind the
// primary: one group of 13 with the sentence naming the replica and the lsns.
TEST(Causes, ThirteenMissedPostsFromALaggingReplicaAreOneGroup) {
  RunResult r;
  r.scenario_path = "lag.toml";
  r.outcome = Outcome::pass;
  r.lanes = {{"app1", "app_server"}, {"db-primary", "db_primary"}, {"db-replica1", "db_replica"}};
  for (int i = 0; i < 13; ++i) r.lanes.push_back({"client" + std::to_string(i + 1), "client"});
  const std::uint64_t post = (std::uint64_t{7} << 32) | 3;
  std::vector<HistoryEvent> history;
  std::uint64_t seq = 0;
  auto at = [](int ms) { return Time{milliseconds(ms)}; };
  auto add = [&](Time t, std::uint32_t node, EventBody b) {
    history.push_back(HistoryEvent{seq++, t, t, NodeId{node}, std::move(b)});
    return history.back();
  };
  add(at(900), 2, ReplicaApplied{2519});
  const HistoryEvent commit = add(at(1000), 1, PostCommitted{post, 0, 2520});
  const HistoryEvent ack = add(at(1001), 0, PostAcked{post, 0, NodeId{3}});
  for (std::uint32_t c = 3; c < 16; ++c) {
    const HistoryEvent conn = add(at(1100 + int(c)), c, ClientConnected{NodeId{0}, c, false});
    add(at(1101 + int(c)), c, ClientResync{post - 1});
    inv::Violation v;
    v.invariant = "message_delivery";
    v.at = at(61100 + int(c));
    v.message = r.lanes[c].name + " never received post 7:3";
    v.nodes = {NodeId{c}, NodeId{0}};
    v.witnesses = {ack, conn};
    r.violations.push_back(v);
  }
  add(at(20000), 2, ReplicaApplied{2520});  // caught up long after the reads
  CauseFinder finder(r);
  for (const auto& e : history)
    if (finder.wants(e.name())) finder.on_event(e);
  const auto groups = finder.groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].members.size(), 13u);
  EXPECT_EQ(groups[0].kind, "replica_behind");
  EXPECT_NE(groups[0].cause.find("db-replica1 at lsn 2519"), std::string::npos) << groups[0].cause;
  EXPECT_NE(groups[0].cause.find("the post was at lsn 2520"), std::string::npos) << groups[0].cause;
  EXPECT_EQ(groups[0].evidence.front().seq, 0u);  // the replica's last apply before the read
  EXPECT_EQ(groups[0].evidence[1].seq, commit.seq);
  // Had the replica applied the post before the reads, the history would not show that cause.
  history.insert(history.begin() + 2, HistoryEvent{99, at(1050), at(1050), NodeId{2}, ReplicaApplied{2520}});
  CauseFinder caught_up(r);
  for (const auto& e : history) caught_up.on_event(e);
  ASSERT_EQ(caught_up.groups().size(), 1u);
  EXPECT_EQ(caught_up.groups()[0].kind, "unexplained");
  EXPECT_EQ(caught_up.groups()[0].cause, "");
}

TEST(Causes, PeerMarkedDownWhilePaused) {
  RunResult r;
  r.lanes = {{"app1", "app_server"}, {"app2", "app_server"}};
  const HistoryEvent pause{1, Time{10s}, Time{10s}, NodeId{0}, ProcessPaused{40s}};
  const HistoryEvent down{5, Time{41s}, Time{41s}, NodeId{1}, PeerDown{NodeId{0}, 2}};
  inv::Violation v;
  v.invariant = "status_accuracy";
  v.at = Time{41s};
  v.message = "app2 marked app1 down";
  v.nodes = {NodeId{1}, NodeId{0}};
  v.witnesses = {down};
  r.violations = {v};
  CauseFinder finder(r);
  finder.on_event(HistoryEvent{0, Time{0s}, Time{0s}, NodeId{0}, ProcessStarted{}});
  finder.on_event(pause);
  finder.on_event(HistoryEvent{3, Time{26s}, Time{26s}, NodeId{1}, SendFailed{NodeId{0}, 1}});
  finder.on_event(HistoryEvent{4, Time{41s}, Time{41s}, NodeId{1}, SendFailed{NodeId{0}, 2}});
  finder.on_event(down);
  const auto groups = finder.groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].kind, "peer_paused");
  EXPECT_EQ(groups[0].cause, "app2 marked app1 down at 41s after two failed sends while app1 was paused (10s for 40s).");
}

TEST(Causes, ExpectedViolationNotFoundSaysWhatFiredAndWhatWasJudged) {
  RunResult r = failing_run();
  r.violations.clear();
  r.expected = {"no_lost_writes"};
  r.faults[0].effect_count = 42;
  r.faults.push_back({1, Time{700s}, "crash", "crash app2", {"app2"}, false, true, "", false, {}});
  r.skipped = {{"no_lost_writes", "not in check"}};
  ASSERT_EQ(expected_not_found(r), std::vector<std::string>{"no_lost_writes"});
  const std::string s = not_found_explanation(r, "no_lost_writes");
  EXPECT_NE(s.find("1 of 2 faults fired"), std::string::npos) << s;
  EXPECT_NE(s.find("#0 partition fired at 1m until 4m, on app1, 42 messages affected"), std::string::npos) << s;
  EXPECT_NE(s.find("#1 crash never fired"), std::string::npos) << s;
  EXPECT_NE(s.find("no_lost_writes itself was not judged"), std::string::npos) << s;
  EXPECT_NE(s.find("Judged: single_leader"), std::string::npos) << s;
  EXPECT_NE(report_markdown(r).find("## Expected `no_lost_writes` not found"), std::string::npos);
}

TEST(XmlChecker, CatchesBrokenDocuments) {  // the checker itself must be able to fail
  EXPECT_EQ(xml_problem("<?xml version=\"1.0\"?><a><b/></a>"), "");
  EXPECT_NE(xml_problem("<?xml version=\"1.0\"?><a><b></a>"), "");
  EXPECT_NE(xml_problem("<?xml version=\"1.0\"?><a x=\"<\"/>"), "");
  EXPECT_NE(xml_problem("<?xml version=\"1.0\"?><a>&</a>"), "");
}

TEST(JUnit, OneTestcasePerRunWellFormedAndEscaped) {
  RunResult pass;
  pass.scenario_path = "scenarios/steady&state.toml";
  pass.seed = 7;
  pass.outcome = Outcome::pass;
  RunResult err = failing_run();
  err.outcome = Outcome::error;
  err.seed = 4;
  const std::string x = junit_xml({pass, failing_run(), err});
  std::vector<std::string> tags;
  EXPECT_EQ(xml_problem(x, &tags), "") << x;
  EXPECT_EQ(std::count(tags.begin(), tags.end(), "testcase"), 3);
  EXPECT_EQ(std::count(tags.begin(), tags.end(), "failure"), 1);
  EXPECT_EQ(std::count(tags.begin(), tags.end(), "error"), 1);
  EXPECT_NE(x.find("classname=\"scenarios/steady&amp;state.toml\" name=\"seed=7\""), std::string::npos) << x;
  EXPECT_NE(x.find("tests=\"3\" failures=\"1\" errors=\"1\""), std::string::npos);
  EXPECT_NE(x.find("&lt;b&gt;&amp;? &apos;x&apos; &quot;y&quot;"), std::string::npos) << x;
  EXPECT_EQ(x.find('\x01'), std::string::npos);
}

TEST(JUnit, WritesAFile) {
  const auto path = std::filesystem::temp_directory_path() / "fl_reports_junit_test.xml";
  EXPECT_EQ(write_junit(path.string(), {failing_run()}), "");
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, junit_xml({failing_run()}));
  std::filesystem::remove(path);
  EXPECT_NE(write_junit("/nonexistent-dir/x/y.xml", {}), "");
}

// A live run (faultline live) has wall-clock times and no trace hash: every
// writer says so instead of printing "simulated" and a hash of zeros.
TEST(Reports, ALiveRunSaysLiveAndHasNoTraceHash) {
  RunResult run = failing_run();
  EXPECT_EQ(nlohmann::json::parse(report_json(run)).at("mode"), "simulated");
  run.live = true;
  run.trace_hash = 0;
  EXPECT_EQ(nlohmann::json::parse(report_json(run)).at("mode"), "live");
  for (const std::string& text : {summary_text(run), report_markdown(run), report_html(run)}) {
    EXPECT_EQ(text.find("simulated"), std::string::npos) << text.substr(0, 400);
    EXPECT_EQ(text.find("0000000000000000"), std::string::npos) << text.substr(0, 400);
    EXPECT_NE(text.find("none (live: not deterministic)"), std::string::npos) << text.substr(0, 400);
  }
  EXPECT_NE(summary_text(run).find("\nlive: "), std::string::npos) << summary_text(run);
}

TEST(ReportJson, SchemaAndKeys) {
  const auto j = nlohmann::json::parse(report_json(failing_run()));
  EXPECT_EQ(j.at("schema"), "faultline.report/2");
  EXPECT_EQ(j.at("scenario").at("path"), "scenarios/split_brain.toml");
  EXPECT_EQ(j.at("scenario").at("hash"), "0000000000000abc");
  EXPECT_EQ(j.at("seed"), 3);
  EXPECT_EQ(j.at("trace_hash"), "9f3a1c0b2d4e5f60");
  EXPECT_EQ(j.at("result"), "FAIL");
  ASSERT_EQ(j.at("violations").size(), 1u);
  const auto& v = j.at("violations")[0];
  EXPECT_EQ(v.at("invariant"), "single_leader");
  EXPECT_EQ(v.at("time"), "2m03.412s");
  EXPECT_EQ(v.at("time_ns"), 123412000000LL);
  EXPECT_EQ(v.at("nodes"), nlohmann::json::array({"app1", "app2"}));
  ASSERT_EQ(v.at("witnesses").size(), 2u);
  EXPECT_EQ(v.at("witnesses")[1].at("event"), "peer_down");
  EXPECT_EQ(v.at("witnesses")[1].at("fields").at("peer"), "app1");
  EXPECT_EQ(v.at("witnesses")[1].at("fields").at("failed_attempts"), 2);
  EXPECT_EQ(j.at("faults")[0].at("kind"), "partition");
  EXPECT_EQ(j.at("faults")[0].at("healed"), "4m");
  EXPECT_EQ(j.at("statistics").at("messages_cut"), 17);
  EXPECT_EQ(j.at("statistics").at("events"), 31337);
  EXPECT_EQ(j.at("reproduce"), "faultline run scenarios/split_brain.toml --seed 3");
  EXPECT_EQ(j.at("history").at("file"), "history.jsonl");
  EXPECT_EQ(j.at("history").at("kept"), "window");
  ASSERT_EQ(j.at("groups").size(), 1u);
  EXPECT_EQ(j.at("groups")[0].at("count"), 1);
  EXPECT_EQ(j.at("groups")[0].at("faults_in_force"), nlohmann::json::array({0}));
  EXPECT_EQ(v.at("group"), 0);
  EXPECT_EQ(report_json(failing_run()), report_json(failing_run()));  // deterministic
}

TEST(Markdown, SaysWhatBrokeWithWitnessTableAndFaults) {
  const std::string m = report_markdown(failing_run());
  EXPECT_NE(m.find("# FAIL scenarios/split_brain.toml (seed 3)"), std::string::npos) << m;
  EXPECT_NE(m.find("### `single_leader` × 1"), std::string::npos) << m;
  EXPECT_NE(m.find("First at 2m03.412s: app1 and app2 both lead"), std::string::npos) << m;
  EXPECT_NE(m.find("| witness | 9 | 2m03.412s | app2 | peer_down | peer=app1 failed_attempts=2 |"), std::string::npos) << m;
  // The pipe cannot break the table; '<' cannot open inline HTML; no entities.
  EXPECT_NE(m.find("\\| \\<b>&\\\\x01"), std::string::npos) << m;
  EXPECT_EQ(m.find("&lt;"), std::string::npos) << m;
  EXPECT_NE(m.find("| 0 | 1m | 4m | partition |"), std::string::npos) << m;
  EXPECT_NE(m.find("faultline run scenarios/split_brain.toml --seed 3"), std::string::npos);
}

TEST(Html, SelfContainedEscapedWithDiagram) {
  const std::string h = report_html(failing_run());
  EXPECT_EQ(h.find("<script>alert"), std::string::npos);
  // The client named <script>alert(1)</script> is data for the diagram: JSON
  // with '<' as \u003c, inside <script type="application/json">.
  EXPECT_NE(h.find("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"), std::string::npos);
  EXPECT_NE(h.find("<svg id=\"diagram\""), std::string::npos);
  EXPECT_NE(h.find("<script type=\"application/json\" id=\"fl-data\">"), std::string::npos);
  for (const char* cls : {"violation-marker", "witness", "lane-label"})  // drawn by the script
    EXPECT_NE(h.find(cls), std::string::npos) << cls;
  for (const char* cls : {"\"cls\":\"leader\"", "\"cls\":\"down\"", "\"cls\":\"cut\""})  // in the data
    EXPECT_NE(h.find(cls), std::string::npos) << cls;
  EXPECT_EQ(h.find(" src="), std::string::npos);  // nothing loaded from anywhere
  EXPECT_EQ(h.find("<link"), std::string::npos);
  EXPECT_EQ(h.find("https://"), std::string::npos);
  // The initial SVG element is well-formed XML on its own.
  const auto a = h.find("<svg"), b = h.find("</svg>") + 6;
  EXPECT_EQ(xml_problem("<?xml version=\"1.0\"?>" + h.substr(a, b - a)), "");
}

TEST(RunFolder, WritesTheFourFiles) {
  const auto dir = std::filesystem::temp_directory_path() / "fl_reports_folder_test";
  std::filesystem::remove_all(dir);
  ASSERT_EQ(write_run_folder(dir.string(), failing_run()), "");
  for (const char* f : {"summary.txt", "report.json", "report.md", "report.html"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  std::ifstream s(dir / "summary.txt");
  std::string text((std::istreambuf_iterator<char>(s)), std::istreambuf_iterator<char>());
  RunResult written = failing_run();
  written.history_file.clear();  // the folder has no history file: the report says so
  EXPECT_EQ(text, summary_text(written));
  EXPECT_NE(text.find("history: - (none, 0 events)"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL scenarios/split_brain.toml seed=3"), std::string::npos);
  EXPECT_NE(text.find("single_leader x1"), std::string::npos) << text;
  EXPECT_NE(text.find("first: app1 and app2 both lead at 2m03.412s"), std::string::npos) << text;
  EXPECT_NE(text.find("reproduce: faultline run"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fl::reports
