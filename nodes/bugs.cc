#include "nodes/bugs.h"

#include "base/assert.h"

namespace fl {

const std::array<BugInfo, kBugCount>& bug_catalogue() {
  static const std::array<BugInfo, kBugCount> kCatalogue = {{
      {Bug::migration_without_lock, "migration_without_lock",
       "servers apply schema migrations without taking the migration lock"},
      {Bug::leader_highest_id, "leader_highest_id",
       "the bully election picks the highest id instead of the lowest"},
      {Bug::down_after_one_failure, "down_after_one_failure",
       "a peer is marked down at its first failed send (no 15-s retry)"},
      {Bug::job_claim_without_cas, "job_claim_without_cas",
       "workers claim jobs with a plain read-then-write instead of a compare-and-set"},
      {Bug::create_job_without_once, "create_job_without_once",
       "the scheduler creates a job row even when one of its type is pending"},
      {Bug::join_across_two_minors, "join_across_two_minors",
       "a server checks its version against the schema only before the migration lock, not again under it"},
      {Bug::no_missed_message_replay, "no_missed_message_replay",
       "after a reconnect the client gets only new events, not the missed ones"},
      {Bug::ack_before_commit, "ack_before_commit",
       "a post is acknowledged before the database commit"},
      {Bug::proxy_ignores_health, "proxy_ignores_health",
       "the proxy keeps routing to a server that fails its health check"},
      {Bug::sequence_reset_without_hello, "sequence_reset_without_hello",
       "the server restarts sequence numbers without a new connection id"},
      {Bug::mm_10502, "mm_10502",
       "MM-10502 (before mattermost/mattermost#9174): every app server runs the job schedulers, not only the "
       "cluster leader, so each recurring job is scheduled once per server"},
      {Bug::mm_17508, "mm_17508",
       "MM-17508 (before mattermost/mattermost#13053): a configuration change sets the schedulers' next run "
       "times on every server, leader or not, and the tick does not ask who leads: jobs run twice"},
  }};
  return kCatalogue;
}

std::string_view bug_name(Bug bug) {
  const auto index = static_cast<std::size_t>(bug);
  FL_ASSERT(index < kBugCount);
  FL_ASSERT(bug_catalogue()[index].bug == bug);
  return bug_catalogue()[index].name;
}

std::optional<Bug> parse_bug(std::string_view name) {
  for (const auto& info : bug_catalogue()) {
    if (info.name == name) return info.bug;
  }
  return std::nullopt;
}

std::string BugSet::str() const {
  std::string out;
  for (const auto& info : bug_catalogue()) {
    if (!on(info.bug)) continue;
    if (!out.empty()) out += ",";
    out += info.name;
  }
  return out;
}

}  // namespace fl
