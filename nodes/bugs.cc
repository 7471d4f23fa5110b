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
      {Bug::mm_55485, "mm_55485",
       "MM-55485 (mattermost#27013): user_added goes to the channel's members, whose websocket membership "
       "caches are reloaded from a read replica: a lagging one leaves out the user just added"},
      {Bug::mm_58355, "mm_58355",
       "MM-58355 (mattermost#27204): the websocket membership-cache invalidation is not sent across the "
       "cluster: a user added on another node misses the channel's posts until it reconnects"},
      {Bug::mm_59911, "mm_59911",
       "MM-59911 (mattermost#27846): the cache invalidation and the channel-scoped user_added event travel "
       "as separate cluster messages: the event can reach a node first and be filtered out"},
      {Bug::mm_17762, "mm_17762",
       "mattermost/mattermost#17762: an empty cluster name gets no default; the discovery row is rejected and the "
       "servers never find each other"},
      {Bug::mm_61904, "mm_61904",
       "MM-61904: a websocket reconnecting to another server is looked up there only, not on the other servers"},
      {Bug::mm_68543, "mm_68543",
       "MM-68543: revoking every session clears the session caches but leaves websocket connections authenticated"},
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
