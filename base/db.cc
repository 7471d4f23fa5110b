// Names and classification of the typed database operations (base/db.h).
#include "base/db.h"

#include <iterator>
#include <type_traits>

#include "base/assert.h"

namespace fl {

bool db_op_writes(const DbOp& op) {
  return std::visit(
      [](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        // Reads and replication control are answered by any member; every other
        // operation changes a table and needs the primary.
        return !(std::is_same_v<T, DbPing> || std::is_same_v<T, DbDiscoveryList> ||
                 std::is_same_v<T, DbSchemaRead> || std::is_same_v<T, DbJobListPending> ||
                 std::is_same_v<T, DbPostsSince> || std::is_same_v<T, DbMemberStatus> ||
                 std::is_same_v<T, DbPromote> || std::is_same_v<T, DbFollow> ||
                 std::is_same_v<T, DbChannelMembersOf>);
      },
      op);
}

const char* db_op_name(const DbOp& op) {
  static constexpr const char* kNames[] = {
      "ping", "discovery_register", "discovery_refresh", "discovery_delete",
      "discovery_clean_stale", "discovery_list", "lock_acquire", "lock_refresh", "lock_release",
      "schema_read", "migration_apply", "lease_acquire", "lease_release", "job_create",
      "job_list_pending", "job_claim", "job_set_status", "post_insert", "posts_since",
      "status_probe", "member_status", "promote", "follow", "channel_member_insert",
      "channel_members_of"};
  static_assert(std::size(kNames) == std::variant_size_v<DbOp>);
  FL_ASSERT(op.index() < std::size(kNames));
  return kNames[op.index()];
}

const char* db_status_name(DbStatus status) {
  switch (status) {
    case DbStatus::ok: return "ok";
    case DbStatus::connection_refused: return "connection_refused";
    case DbStatus::timeout: return "timeout";
    case DbStatus::serialization_failure: return "serialization_failure";
    case DbStatus::conflict: return "conflict";
    case DbStatus::read_only: return "read_only";
  }
  FL_UNREACHABLE();
}

}  // namespace fl
