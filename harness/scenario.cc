#include "harness/scenario.h"

#include "base/assert.h"
#include "harness/catalog.h"

namespace fl::harness {

std::string_view to_string(FaultKind kind) {
  FL_ASSERT(std::size_t(kind) < fault_catalog().size());
  return fault_catalog()[std::size_t(kind)].name;
}
std::string_view to_string(Runbook runbook) {
  FL_ASSERT(std::size_t(runbook) < runbook_catalog().size());
  return runbook_catalog()[std::size_t(runbook)].name;
}
std::string_view to_string(StepKind step) {
  FL_ASSERT(std::size_t(step) < step_catalog().size());
  return step_catalog()[std::size_t(step)].name;
}
std::string_view to_string(LeaderElection v) { return v == LeaderElection::bully ? "bully" : "db_lease"; }
std::string_view to_string(MigrationLock v) { return v == MigrationLock::morph ? "morph" : "db_clock"; }
std::string_view to_string(Replication v) { return v == Replication::async ? "async" : "sync"; }
std::string_view to_string(Failover v) { return v == Failover::automatic ? "automatic" : "manual"; }
std::string_view to_string(HealthCheck v) { return v == HealthCheck::ping ? "ping" : "ping_with_status"; }

std::string app_name(std::uint32_t index1) {
  FL_ASSERT(index1 >= 1);
  return "app" + std::to_string(index1);
}
std::string replica_name(std::uint32_t index1) {
  FL_ASSERT(index1 >= 1);
  return "db-replica" + std::to_string(index1);
}
std::string client_name(std::uint32_t index1) {
  FL_ASSERT(index1 >= 1);
  return "client" + std::to_string(index1);
}

}  // namespace fl::harness
