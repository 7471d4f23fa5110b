// Scenario -> TOML text (SCENARIOS.md, "Scenario file"): the inverse of the
// loader. The fuzzer and the shrinker build scenarios in code; a person reads,
// commits and re-runs them as files (repro.toml), so the text must load back to
// the same scenario.
//
// Invariants kept:
//  - parse_scenario(write_scenario(s)) loads without error for every scenario
//    that validate_scenario() accepts, and writing the result again gives the
//    same text byte for byte (a fixed point after one round trip).
//  - Every value is written explicitly, defaults included, so a repro does not
//    change meaning when a default changes later.
//  - Durations are written with format_duration (lossless); probabilities with
//    the shortest text that reads back to the same double; strings through
//    toml++'s own formatter (escapes are toml++'s, not ours).
//  - Source positions, the path and the file hash are not part of the text.
#pragma once

#include <string>
#include <vector>

#include "harness/scenario.h"

namespace fl::harness {

struct WriteOptions {
  // Comment lines written first ("# " is added to each); say where the file
  // came from: the original seed, the command that made it.
  std::vector<std::string> header;
};

std::string write_scenario(const Scenario& scenario, const WriteOptions& options = {});

}  // namespace fl::harness
