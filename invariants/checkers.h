// Internal: the factory of each checker (one per .cc file), wired up by
// registry.cc. Options arrive complete (defaults filled in by the registry).
#pragma once

#include <memory>

#include "invariants/invariant.h"

namespace fl::inv {

std::unique_ptr<Invariant> make_single_leader(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_leader_liveness(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_message_delivery(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_session_revocation(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_no_lost_writes(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_migration_by_first_starter(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_job_exactly_once(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_job_progress(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_version_skew(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_status_accuracy(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_health_routing(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_plugin_convergence(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_service_available(const ClusterInfo&, const OptionValues&);
std::unique_ptr<Invariant> make_job_schedule(const ClusterInfo&, const OptionValues&);

// The option's value; the registry guarantees every declared key is present.
Duration option(const OptionValues& options, std::string_view key);

}  // namespace fl::inv
