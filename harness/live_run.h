// `faultline live FILE`: the scenario's cluster for real on this machine
// (docs/live.md). PostgreSQL 15 is started in a temporary folder, each app
// server runs as its own process (`faultline live-node`, hidden) on the live
// runtime (live/), the faults that can be done for real are injected, the
// per-process histories are merged by time and the same invariants judge them.
//
// Kept true: everything started is stopped at the end, also on failure and on
// SIGINT/SIGTERM (unless --keep); a fault or part of the scenario that live
// mode cannot do is listed as skipped, never silently dropped.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/history.h"
#include "harness/scenario.h"

namespace fl::harness {

struct LiveOptions {
  bool keep = false;             // leave PostgreSQL and the nodes running until Ctrl-C
  double time_scale = 1.0;       // multiplies the scenario's times (not the cluster's own timers)
  std::uint16_t base_port = 0;   // app i gossips on base_port + i - 1; 0: 8074 (k::kGossipPort)
  std::uint16_t http_port = 0;   // app i serves HTTP on http_port + i - 1; 0: 8065 (Mattermost's)
  std::string node_binary;       // the faultline binary ("" : this process's own)
  std::string work_dir;          // run folder ("" : a new one under the temp dir, removed unless kept)
  // --out: a failing run's report folder (report.json/md/html, summary.txt,
  // the merged history) goes to out_dir/<scenario stem>-live, as `run --out`
  // writes its folders; the run folder keeps the node logs and raw histories.
  // "": the report is written into the run folder.
  std::string out_dir;
};

struct LiveResult {
  int exit_code = 3;
  std::string line;                        // the one line, as `run` prints it
  std::vector<std::string> skipped;        // what live mode could not do, with why
  std::vector<HistoryEvent> history;       // merged, renumbered
  std::vector<std::string> node_names;     // indexed by NodeId
  std::vector<std::string> violations;     // "invariant at T: message"
  std::vector<std::pair<std::string, Time>> violated;  // (invariant, at), as violations
  std::string work_dir;
  // A failing run's folder also holds report.json / report.md / report.html /
  // summary.txt and history.jsonl (merged): harness/live_report.h. "" : none.
  std::string report_dir;
  // Start-up (faultline-bench live): wall seconds from the call until
  // PostgreSQL took the schema (the run's epoch), and until every launched
  // app server had served (its first ServerServing); -1 when one never did.
  double pg_ready_s = -1;
  double serving_s = -1;
};

LiveResult run_live(const Scenario& scenario, const LiveOptions& options, std::ostream& err);

// ---- `faultline live FILE --compare` (sim against live) ----------------------------
//
// The scenario runs in the simulator (its seed) and live, with the same times
// (--time-scale scales both), and the outcomes are set side by side: the
// sequence of leaders, who migrated what, posts acknowledged and delivered,
// servers marked down (by whom, when), invariant verdicts.
//
// Timing noise: two times of the same outcome differ by noise when they are
// within kCompareNoise. Why 6 s: a peer is probed every 5 s
// (k::kGossipPingInterval) and where a crash falls in that cycle is the
// simulator's draw on one side and the wall clock's on the other, so the 15-s
// rule fires up to one ping interval apart; plus a second for what live has and
// the simulator does not (process starts, PostgreSQL connections, scheduling).
// Anything else that differs is flagged: a different leader or order, a
// migration by another server or of another version, a count, a down-marking
// on one side only, a verdict.
inline constexpr std::uint16_t kHttpPort = 8065;  // Mattermost's ServiceSettings.ListenAddress default

inline constexpr Duration kCompareNoise = seconds(6);

struct Outcomes {
  struct Term { std::string leader; Time begin{}; };
  struct Migration { std::string by; std::uint32_t schema = 0; Time at{}; };
  struct Down { std::string observer, peer; Time at{}; };
  std::vector<Term> leaders;          // LeaderBegin, in order
  std::vector<Migration> migrations;  // MigrationApplied, in order
  struct Promotion { std::string member; Time at{}; };
  std::vector<Promotion> promotions;  // Promoted (database failovers), in order
  std::uint64_t posts_acked = 0, posts_delivered = 0;
  // Clients seen (their ClientChannels): the counts' noise. Each client draws
  // its own post times (the simulator's stream on one side, a fresh seed live),
  // so where each client's last post falls against the end of posting is a
  // draw: posts acknowledged may differ by up to one per client. And a client
  // posts from its first websocket open, which waits for the proxy's first
  // passed health check: where the servers' start falls in the proxy's 5-s
  // check cycle is a draw too (the wall clock's live), so posting begins up to
  // the timing noise apart, and each client may make noise / post_interval
  // posts more or fewer (post_interval: the scenario's, set by the caller;
  // zero leaves only the one post per client). Posts delivered: that times
  // the members a post reaches (at most the clients).
  std::uint32_t clients = 0;
  Duration post_interval{};
  std::optional<Time> first_post;     // the first PostSent: when posting began
  std::vector<Down> downs;            // PeerDown, in order
  // invariant -> first violation time (nullopt: holds); only those judged.
  std::map<std::string, std::optional<Time>> verdicts;
};

// Outcomes of one history (names indexed by NodeId); verdicts left empty.
Outcomes outcomes_of(const std::vector<HistoryEvent>& history, const std::vector<std::string>& names);

struct CompareRow {
  std::string what, sim, live;
  enum class Mark : std::uint8_t { same, noise, differs } mark = Mark::same;
  std::string why;  // for noise and differs: the time gap, or what differs
};
std::vector<CompareRow> compare_outcomes(const Outcomes& sim, const Outcomes& live, Duration noise = kCompareNoise);

// The scenario with its own times multiplied by x (at, for, restart_after,
// duration, settle; operations' at): what --time-scale makes of it.
Scenario time_scaled(const Scenario& s, double x);

struct CompareResult {
  int exit_code = 3;       // 0 nothing differs beyond noise, 1 something does, 2/3 as `live`
  std::string sim_line;    // the simulator's result line
  LiveResult live;
  std::vector<CompareRow> rows;
  std::string table;       // what --compare prints
};
// Runs both (the simulator first, on time_scaled(scenario, time_scale)).
CompareResult compare_live(const Scenario& scenario, const LiveOptions& options, std::ostream& err);
// compare_live, printed.
int command_live_compare(const Scenario& scenario, const LiveOptions& options, std::ostream& out, std::ostream& err);

// The hidden `live-node` subcommand: one app server process.
struct LiveNodeFlags {
  std::string file, name, secret, history, db_conninfo;
  std::uint16_t base_port = 0;
  std::uint16_t http_port = 0;  // this node's own HTTP port (0: none)
  std::int64_t epoch_ns = 0, offset_ns = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> spec;  // the machine's files as edited: "KEY=VALUE" (--spec, repeated)
  // Every database member ("ID=conninfo", repeated) and the member the
  // endpoint leads to at start (-1: the primary, --db).
  std::vector<std::string> db_members;
  std::int64_t db_endpoint = -1;
  double time_scale = 1.0;  // --time-scale: the clients post until the scaled duration
};
int command_live_node(const LiveNodeFlags& flags, std::ostream& err);

}  // namespace fl::harness
