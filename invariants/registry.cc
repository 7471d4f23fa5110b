#include "invariants/registry.h"

#include "base/assert.h"
#include "base/suggest.h"
#include "invariants/checkers.h"

namespace fl::inv {
namespace {

// Defaults, each with where it comes from.
// MODEL.md: leader_liveness's bound is 60 s by default.
constexpr Duration kLeaderLivenessBound = seconds(60);
// MODEL.md: single_leader's `grace` is optional, default 0: any overlap of two
// leaderships is a violation. The node code removes the hand-over overlap itself
// (nodes/constants.h kLeaderTakeoverDelay: a winner acts 2 s after announcing
// COORDINATOR), and a non-zero default hid a real 1-s two-leader overlap under
// db_lease after a clock step (issue 8; docs/decisions.md).
constexpr Duration kLeaderHandoverGrace = seconds(0);
// A post must reach a connected client within a minute: reconnects take 3-5 s
// (REFERENCE.md, Websockets) and a resync is one read, so a minute is generous.
constexpr Duration kDeliveryBound = seconds(60);
// DESIGN.md: settle is 2 min by default; a job claimed before settle began has
// had the whole settle phase to finish.
constexpr Duration kJobProgressBound = minutes(2);
// The ε of status_accuracy: one 15-s probe period (REFERENCE.md, inter-node
// messages) for the first failing send to happen, connect timeouts included.
constexpr Duration kStatusEpsilon = seconds(15);
// Requests may fail while the proxy notices a bad server: a few 5-s health
// checks (SCENARIOS.md health_check_interval) plus a client reconnect (3-5 s).
constexpr Duration kHealthRoutingBound = seconds(30);
// A plugin installed through shared storage reaches the others by a cluster
// message and a read of the store: a minute covers a gossip retry (15 s) twice.
constexpr Duration kPluginBound = seconds(60);
// MODEL.md: service_available's bound is 60 s by default (the last minute of the
// 2-min settle, after a minute to recover).
constexpr Duration kServiceBound = seconds(60);
// session_revocation (issue 14): what was admitted before a revocation reached
// its server may still complete: a request within the 30-s query timeout
// (REFERENCE.md, Database routing), a frame already written within the
// network's delay.
constexpr Duration kRevocationBound = seconds(30);
// job_schedule: the fixed scheduler schedules a type on the first 60-s tick at
// or after its next run (= last + period + jitter < 2 s), so a scheduling comes
// up to one tick plus the jitter (62 s) after its period; the other 58 s absorb
// timers that fire late and clock drift (up to 2 s a tick under an unkind
// simulator, over the 11 ticks of a 10-min period), never a missed scheduling.
constexpr Duration kJobScheduleBound = minutes(2);

std::vector<InvariantSpec> build() {
  return {
      {"single_leader", "at no instant do two servers both act as leader", false,
       {{"grace", kLeaderHandoverGrace, "overlap of two leaderships tolerated before it is a violation (default 0: none)"}}, &make_single_leader},
      {"leader_liveness", "after the cluster is fault-free for `bound`, exactly one server leads (bully: the lowest-id live one)",
       true, {{"bound", kLeaderLivenessBound, "fault-free time after which a leader must exist"}}, &make_leader_liveness},
      {"message_delivery",
       "every acknowledged post reaches every connected member of its channel, exactly once, in order, within `bound`",
       true, {{"bound", kDeliveryBound, "after the later of the ack and the client's last reconnect"}},
       &make_message_delivery},
      {"no_lost_writes", "every acknowledged post is in the primary at the end of the run", true, {}, &make_no_lost_writes},
      {"migration_by_first_starter",
       "each schema migration is applied once, by the first server of the new version to start, before that version serves",
       false, {}, &make_migration_by_first_starter},
      {"job_exactly_once", "no job runs twice; no two create-once jobs of one type are pending or running at once", false,
       {}, &make_job_exactly_once},
      {"job_progress", "every job claimed more than `bound` before the end of the run has finished", true,
       {{"bound", kJobProgressBound, "how long a claimed job may take"}}, &make_job_progress},
      {"version_skew", "at no instant do two running servers differ by more than one minor version", false, {},
       &make_version_skew},
      {"status_accuracy",
       "each server's red/green view of each peer matches the truth within 30s + epsilon; down only after a second failed attempt",
       false, {{"epsilon", kStatusEpsilon, "added to the two 15-s attempts"}}, &make_status_accuracy},
      {"health_routing",
       "no new connection to a server that failed its health check; no client fails for longer than `bound` while a server is healthy",
       false, {{"bound", kHealthRoutingBound, "how long a client's requests may keep failing"}}, &make_health_routing},
      {"plugin_convergence", "with shared storage, every running server runs the same plugins within `bound`", false,
       {{"bound", kPluginBound, "after the plugin first loads anywhere"}}, &make_plugin_convergence},
      {"service_available",
       "at the end of settle some app server serves, the proxy routes to one that does, and no connected client's "
       "request failed in the last `bound`",
       true, {{"bound", kServiceBound, "how far back from the end a connected client's requests must all have succeeded"}},
       &make_service_available},
      {"session_revocation",
       "a revoked session authenticates nothing (no event, no request, no websocket) from `bound` after the "
       "revocation reached every serving server",
       false, {{"bound", kRevocationBound, "after the last serving server applied the revocation"}},
       &make_session_revocation},
      {"job_schedule",
       "each recurring job type is scheduled at most once per period cluster-wide, and at least once per period "
       "plus `bound` while one serving leader acts",
       false, {{"bound", kJobScheduleBound, "how late after its period a scheduling may come (one 60-s tick, jitter, slack)"}},
       &make_job_schedule},
  };
}

OptionValues defaults_of(const InvariantSpec& spec) {
  OptionValues out;
  for (const auto& o : spec.options) out.emplace(o.key, o.default_value);
  return out;
}

}  // namespace

Duration option(const OptionValues& options, std::string_view key) {
  auto it = options.find(key);
  FL_ASSERT_MSG(it != options.end(), "invariant option missing: the registry fills defaults");
  return it->second;
}

const std::vector<InvariantSpec>& invariant_specs() {
  static const std::vector<InvariantSpec> specs = build();
  return specs;
}

std::vector<std::string> invariant_names() {
  std::vector<std::string> out;
  for (const auto& s : invariant_specs()) out.push_back(s.name);
  return out;
}

const InvariantSpec* find_invariant(std::string_view name) {
  for (const auto& s : invariant_specs())
    if (s.name == name) return &s;
  return nullptr;
}

MadeInvariant make_invariant(std::string_view name, const std::map<std::string, std::string>& options,
                             const ClusterInfo& cluster) {
  const InvariantSpec* spec = find_invariant(name);
  if (!spec) return {nullptr, "unknown invariant \"" + std::string(name) + "\"" + did_you_mean(name, invariant_names())};
  OptionValues values = defaults_of(*spec);
  std::vector<std::string> keys;
  for (const auto& o : spec->options) keys.push_back(o.key);
  for (const auto& [key, text] : options) {
    if (!values.count(key)) {
      std::string expected = keys.empty() ? "it takes no options" : "it takes: ";
      for (std::size_t i = 0; i < keys.size(); ++i) expected += (i ? ", " : "") + keys[i];
      return {nullptr, "unknown option \"" + key + "\" for invariant " + spec->name + did_you_mean(key, keys) + "; " +
                           expected};
    }
    std::string error;
    const auto d = parse_duration(text, &error);
    if (!d) return {nullptr, "invariant " + spec->name + " option " + key + ": " + error};
    values[key] = *d;
  }
  auto made = spec->make(cluster, values);
  FL_ASSERT(made && made->name() == spec->name);
  return {std::move(made), {}};
}

std::unique_ptr<Invariant> make_invariant(std::string_view name, const ClusterInfo& cluster,
                                          const OptionValues& options) {
  const InvariantSpec* spec = find_invariant(name);
  FL_ASSERT_MSG(spec != nullptr, "unknown invariant name in code");
  OptionValues values = defaults_of(*spec);
  for (const auto& [key, d] : options) {
    FL_ASSERT_MSG(values.count(key), "unknown invariant option in code");
    values[key] = d;
  }
  return spec->make(cluster, values);
}

std::vector<std::unique_ptr<Invariant>> make_all(const ClusterInfo& cluster) {
  std::vector<std::unique_ptr<Invariant>> out;
  for (const auto& s : invariant_specs()) out.push_back(make_invariant(s.name, cluster));
  return out;
}

}  // namespace fl::inv
