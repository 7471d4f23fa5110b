// LiveDb (see live_db.h).
#include "harness/live_db.h"

#include <chrono>
#include <thread>

#include "live/pg_db.h"

namespace fl::harness {

bool LiveDb::start(const std::string& dir, const std::vector<NodeId>& members, std::uint32_t initial_schema,
                   std::string* error) {
  members_.clear();
  primary_ = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    Member m;
    m.id = members[i];
    m.dir = dir + (i == 0 ? "/pg" : "/pg-replica" + std::to_string(i));
    m.server = std::make_unique<live::PostgresServer>();
    members_.push_back(std::move(m));
  }
  Member& p = members_[0];
  if (!p.server->start(p.dir, 0, error)) return false;
  p.port = p.server->port();
  // The schema before the base backups: the standbys start with it.
  if (!live::prepare_schema(p.server->conninfo(), initial_schema, error)) return *error = "schema: " + *error, false;
  for (std::size_t i = 1; i < members_.size(); ++i) {
    Member& m = members_[i];
    if (!m.server->start_standby(*p.server, m.dir, 0, error)) return *error = "standby: " + *error, false;
    m.port = m.server->port();
  }
  return true;
}

int LiveDb::index_of(NodeId n) const {
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (members_[i].id == n) return static_cast<int>(i);
  return -1;
}

std::map<NodeId, std::string> LiveDb::conninfos() const {
  std::map<NodeId, std::string> out;
  for (const auto& m : members_) out[m.id] = m.server->conninfo();
  return out;
}

std::string LiveDb::endpoint_conninfo() const {
  return members_.empty() ? "" : members_[primary_].server->conninfo();
}

bool LiveDb::crash(NodeId member) {
  const int i = index_of(member);
  if (i < 0 || !members_[i].server->running()) return false;
  members_[i].server->crash();
  // A crashed process cannot say so: the harness records the database's crash.
  hooks_.emit(member, DbCrashed{});
  return true;
}

void LiveDb::follow(Member& m) {
  if (!m.server->running()) return;
  const Member& p = members_[primary_];
  std::string error;
  const std::string to = "host=127.0.0.1 port=" + std::to_string(p.port) + " user=postgres";
  if (!live::run_sql(m.server->conninfo(), "ALTER SYSTEM SET primary_conninfo = '" + to + "'", &error) ||
      !live::run_sql(m.server->conninfo(), "SELECT pg_reload_conf()", &error))
    log("live: re-pointing a standby: " + error);
}

std::string LiveDb::failover(NodeId* promoted) {
  if (members_.size() < 2) return "no replica to promote";
  Member& old = members_[primary_];
  // Fence the old primary: nothing would rewind it after the promotion.
  crash(old.id);
  // The standby that received the most WAL (ties: the first declared).
  int best = -1;
  std::uint64_t best_lsn = 0;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (i == primary_ || members_[i].deposed || !members_[i].server->running()) continue;
    live::PgDatabase db(members_[i].server->conninfo(), 0);
    const DbReply r = db.execute(DbMemberStatus{});
    const auto* s = r.get<DbMemberState>();
    if (!r.ok() || s == nullptr || s->role != DbRole::replica) continue;
    if (best < 0 || s->received_lsn > best_lsn) {
      best = static_cast<int>(i);
      best_lsn = s->received_lsn;
    }
  }
  old.deposed = true;
  if (best < 0) return "no running replica to promote";
  live::PgDatabase db(members_[best].server->conninfo(), 0);
  const DbReply r = db.execute(DbPromote{});
  if (!r.ok() || r.get<DbPromoted>() == nullptr) return "promotion failed: " + db.last_error();
  primary_ = static_cast<std::size_t>(best);
  members_[best].lagged = false;
  hooks_.emit(members_[best].id, Promoted{r.get<DbPromoted>()->lsn});
  hooks_.endpoint_moved(members_[best].id);
  for (auto& m : members_)
    if (&m != &members_[primary_] && !m.deposed) follow(m);
  if (promoted) *promoted = members_[best].id;
  return "";
}

bool LiveDb::set_lag(NodeId member, Duration lag, std::string* error) {
  const int i = index_of(member);
  if (i < 0 || static_cast<std::size_t>(i) == primary_ || !members_[i].server->running())
    return *error = "not a running standby", false;
  Member& m = members_[i];
  const std::string value = lag.count() > 0 ? "'" + std::to_string(lag.count() / 1'000'000) + "ms'" : "0";
  if (!live::run_sql(m.server->conninfo(), "ALTER SYSTEM SET recovery_min_apply_delay = " + value, error) ||
      !live::run_sql(m.server->conninfo(), "SELECT pg_reload_conf()", error))
    return false;
  // pg_reload_conf() only signals the postmaster, which signals the startup
  // process; nothing shows when that one reread the file. Without this wait a
  // commit right after was applied at once (LiveDbFailover found it).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  m.lagged = lag.count() > 0;
  return true;
}

void LiveDb::settle() {
  std::string error;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    if (m.lagged) set_lag(m.id, Duration{0}, &error);
    if (m.server->running()) continue;
    if (m.deposed) {
      // Rebuilt as a standby of the current primary, on its own port.
      m.server = std::make_unique<live::PostgresServer>();  // the old one's folder removed
      if (!m.server->start_standby(*members_[primary_].server, m.dir, m.port, &error)) {
        log("live: rebuilding a deposed primary as a standby: " + error);
        continue;
      }
      m.deposed = false;
    } else if (!m.server->restart(&error)) {
      log("live: restarting a database member: " + error);
      continue;
    }
    if (i != primary_) follow(m);
  }
}

void LiveDb::keep() {
  for (auto& m : members_) m.server->keep();
}

void LiveDb::stop() {
  for (auto& m : members_) m.server->stop();
}

}  // namespace fl::harness
