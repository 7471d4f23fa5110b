// The planted-bug catalogue (MODEL.md, Planted bugs): realistic mistakes, each
// off by default and turned on by name from a scenario (`bugs = [...]`). The
// harness's quality figure is how many of them the invariants catch.
//
// The cluster core implements the first six; the edge (hub, clients, proxy)
// implements the next four; real incidents of the tracker (issue 14) follow,
// each named for its ticket (docs/model.md, Incidents).
#pragma once

#include <array>
#include <bitset>
#include <optional>
#include <string>
#include <string_view>

namespace fl {

enum class Bug : unsigned {
  migration_without_lock,
  leader_highest_id,
  down_after_one_failure,
  job_claim_without_cas,
  create_job_without_once,
  join_across_two_minors,
  no_missed_message_replay,
  ack_before_commit,
  proxy_ignores_health,
  sequence_reset_without_hello,
  // Real incidents of the public tracker (issue 14): the pre-fix behaviour,
  // named for its ticket (docs/model.md, Incidents).
  mm_55485,  // MM-55485: user_added to the channel's members, membership read from a replica
  mm_58355,  // MM-58355: the membership-cache invalidation of websockets is local only
  mm_59911,  // MM-59911: the invalidation and the user_added event travel separately
  mm_17762,  // mattermost/mattermost#17762: an empty cluster name, no default
  mm_61904,  // MM-61904: a reconnect to another server does not ask the others for its queue
  mm_68543,  // MM-68543: a global session revocation leaves websockets authenticated
  mm_10502,  // MM-10502: every app server runs the job schedulers (before mattermost/mattermost#9174)
  mm_17508,  // MM-17508: a config change resets the schedulers' next runs on every server (before #13053)
  count_,
};

struct BugInfo {
  Bug bug;
  std::string_view name;
  std::string_view description;
};

inline constexpr std::size_t kBugCount = static_cast<std::size_t>(Bug::count_);

// The catalogue, in enum order.
const std::array<BugInfo, kBugCount>& bug_catalogue();
std::string_view bug_name(Bug bug);
// nullopt for an unknown name (the scenario loader turns that into a user error).
std::optional<Bug> parse_bug(std::string_view name);

// The bugs turned on in one run. Empty by default: every bug off.
class BugSet {
 public:
  BugSet() = default;
  bool on(Bug bug) const { return bits_.test(static_cast<std::size_t>(bug)); }
  void set(Bug bug, bool value = true) { bits_.set(static_cast<std::size_t>(bug), value); }
  bool empty() const { return bits_.none(); }
  // Comma-separated names of the bugs on, in catalogue order ("" when none).
  std::string str() const;
  friend bool operator==(const BugSet&, const BugSet&) = default;

 private:
  std::bitset<kBugCount> bits_;
};

}  // namespace fl
