// `faultline-bench live [FILE] [--faultline PATH]`: how long a live cluster
// takes to start on this machine (issue 11, Speed; target under 10 s). The
// scenario's cluster (default scenarios/live/basic.toml: 3 app servers) is
// started for real as `faultline live` does it: initdb and PostgreSQL 15, the
// schema, one `faultline live-node` process per app server. Prints
//   live start_s=<S> pg_s=<P> servers=<N>
// S: from the call until every app server served (its first ServerServing);
// P: of which PostgreSQL (initdb, start, schema). Everything is stopped after.
// The scenario's faults, operations and invariants are left out: only the
// start is measured (live_bench.cc).
#pragma once

#include <string>

namespace fl::bench {

struct LiveBenchOptions {
  std::string file = "scenarios/live/basic.toml";
  std::string faultline;  // the faultline binary ("" : the one beside faultline-bench)
};

// 0 when every server served; 1 when one did not; 2 bad scenario; 3 no
// PostgreSQL or another internal error.
int run_live_bench(const LiveBenchOptions& options);

}  // namespace fl::bench
