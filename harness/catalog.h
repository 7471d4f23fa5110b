// The names a scenario file may use, with one line each for `faultline list`:
// invariants (MODEL.md, "Invariants"), planted bugs (MODEL.md, "Planted bugs"),
// fault kinds, runbooks and operator steps (SCENARIOS.md).
//
// One source of truth: invariants and their options come from the invariants
// registry (invariants/registry.h), bugs from the bug catalogue (nodes/bugs.h);
// fault kinds, runbooks and steps are defined here (the scenario format's own).
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "harness/scenario.h"

namespace fl::harness {

struct CatalogEntry {
  std::string_view name;
  std::string_view keys;     // the keys it takes, as `list` shows them ("" for none)
  std::string_view summary;
};

std::span<const CatalogEntry> invariant_catalog();
std::span<const CatalogEntry> bug_catalog();
std::span<const CatalogEntry> fault_catalog();    // indexed by FaultKind
std::span<const CatalogEntry> runbook_catalog();  // indexed by Runbook
std::span<const CatalogEntry> step_catalog();     // indexed by StepKind

std::vector<std::string_view> names_of(std::span<const CatalogEntry> entries);

}  // namespace fl::harness
