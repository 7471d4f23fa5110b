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
#include <string>
#include <vector>

#include "base/history.h"
#include "harness/scenario.h"

namespace fl::harness {

struct LiveOptions {
  bool keep = false;             // leave PostgreSQL and the nodes running until Ctrl-C
  double time_scale = 1.0;       // multiplies the scenario's times (not the cluster's own timers)
  std::uint16_t base_port = 0;   // app i gossips on base_port + i - 1; 0: 8074 (k::kGossipPort)
  std::string node_binary;       // the faultline binary ("" : this process's own)
  std::string work_dir;          // run folder ("" : a new one under the temp dir, removed unless kept)
};

struct LiveResult {
  int exit_code = 3;
  std::string line;                        // the one line, as `run` prints it
  std::vector<std::string> skipped;        // what live mode could not do, with why
  std::vector<HistoryEvent> history;       // merged, renumbered
  std::vector<std::string> node_names;     // indexed by NodeId
  std::vector<std::string> violations;     // "invariant at T: message"
  std::string work_dir;
};

LiveResult run_live(const Scenario& scenario, const LiveOptions& options, std::ostream& err);

// The hidden `live-node` subcommand: one app server process.
struct LiveNodeFlags {
  std::string file, name, secret, history, db_conninfo;
  std::uint16_t base_port = 0;
  std::int64_t epoch_ns = 0, offset_ns = 0;
  std::uint64_t seed = 0;
};
int command_live_node(const LiveNodeFlags& flags, std::ostream& err);

}  // namespace fl::harness
