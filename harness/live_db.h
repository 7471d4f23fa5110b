// The database of `faultline live` (docs/live.md): a PostgreSQL 15 primary and
// `database.replicas` streaming standbys (pg_basebackup -R -X stream), and the
// database faults done for real on them:
//  - db_crash: pg_ctl stop -m immediate, the data kept (DbCrashed). Restarted
//    in settle, as the simulator's; a deposed primary comes back as a standby
//    of the current primary (a fresh base backup: live mode has no pg_rewind,
//    which needs wal_log_hints). Under failover = "automatic", a crashed
//    primary is failed over when the simulator's controller would promote:
//    its pings every 5 s from the start, the first failing one after the
//    crash, then failover_detection rounded up to pings (live_run.cc).
//  - db_failover: the primary is crashed (a failover live must fence the old
//    primary: nothing rewinds it), the standby that received the most WAL is
//    promoted (pg_promote, through live/pg_db's DbPromote; Promoted with its
//    WAL position), the endpoint moves (every node's `endpoint ID` line), the
//    other standbys are re-pointed (ALTER SYSTEM primary_conninfo + reload;
//    they follow the new timeline, recovery_target_timeline = latest).
//  - replica_lag: recovery_min_apply_delay = lag on the standby + reload (its
//    WAL is received at once and applied `lag` late, what the simulator's
//    replica_lag models); reset at `for`'s end and in settle.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/history.h"
#include "base/ids.h"
#include "base/time.h"
#include "live/postgres.h"

namespace fl::harness {

class LiveDb {
 public:
  struct Hooks {
    std::function<void(NodeId, EventBody)> emit;   // into the harness's history
    std::function<void(NodeId)> endpoint_moved;     // tell every running node
    std::function<void(const std::string&)> log;    // standard error
  };

  // Members in order: the primary, then the replicas; ids as the layout's.
  bool start(const std::string& dir, const std::vector<NodeId>& members, std::uint32_t initial_schema,
             std::string* error);
  void set_hooks(Hooks h) { hooks_ = std::move(h); }

  std::map<NodeId, std::string> conninfos() const;
  NodeId endpoint() const { return members_.empty() ? kNoNode : members_[primary_].id; }
  std::string endpoint_conninfo() const;
  bool is_member(NodeId n) const { return index_of(n) >= 0; }

  // false when the member was already down.
  bool crash(NodeId member);
  // "" when done; else why nothing happened. `*promoted` names the new primary.
  std::string failover(NodeId* promoted);
  // The current primary is down (a crash not yet failed over).
  bool primary_down() const { return !members_.empty() && !members_[primary_].server->running(); }
  bool set_lag(NodeId member, Duration lag, std::string* error);
  // Crashed members restarted (a deposed primary as a standby), lags reset.
  void settle();
  void keep();
  void stop();

 private:
  struct Member {
    NodeId id{kNoNode};
    std::unique_ptr<live::PostgresServer> server;
    std::string dir;
    std::uint16_t port = 0;
    bool deposed = false;  // a primary a failover replaced: rebuilt before it runs again
    bool lagged = false;
  };
  int index_of(NodeId n) const;
  void follow(Member& m);  // re-points a running standby at the current primary
  void log(const std::string& line) const {
    if (hooks_.log) hooks_.log(line);
  }

  std::vector<Member> members_;
  std::size_t primary_ = 0;
  Hooks hooks_;
};

}  // namespace fl::harness
