// The catalogue of invariants: names, one-line descriptions, options with their
// defaults, and the factory the harness calls. `faultline list invariants`
// prints invariant_specs(); the scenario loader validates [invariants] against it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "invariants/invariant.h"

namespace fl::inv {

struct OptionSpec {
  std::string key;        // "bound", "grace", "epsilon"
  Duration default_value{};
  std::string help;
};

using Factory = std::unique_ptr<Invariant> (*)(const ClusterInfo&, const OptionValues&);

struct InvariantSpec {
  std::string name;
  std::string summary;    // one line, for `faultline list invariants`
  bool liveness = false;  // judged at the end of settle rather than at every instant
  std::vector<OptionSpec> options;
  Factory make = nullptr;
};

// Every invariant of MODEL.md, in MODEL.md's order.
const std::vector<InvariantSpec>& invariant_specs();
std::vector<std::string> invariant_names();
const InvariantSpec* find_invariant(std::string_view name);

struct MadeInvariant {
  std::unique_ptr<Invariant> invariant;  // null on error
  std::string error;                     // a sentence a user can act on
};

// Builds a checker from the scenario's text options ({"bound": "30s"}).
// Unknown names and keys get a near-miss suggestion; malformed or negative
// durations are errors.
MadeInvariant make_invariant(std::string_view name, const std::map<std::string, std::string>& options,
                             const ClusterInfo& cluster);
// For code and tests: typed options; asserts that the name and keys exist.
std::unique_ptr<Invariant> make_invariant(std::string_view name, const ClusterInfo& cluster,
                                          const OptionValues& options = {});

// Every checker of the catalogue, or those named, with default options.
std::vector<std::unique_ptr<Invariant>> make_all(const ClusterInfo& cluster);

}  // namespace fl::inv
