// session_revocation (docs/model.md, Incidents; issue 14, MM-68543): a revoked
// session authenticates nothing once the revocation has reached every server.
//
// Revocations: SessionRevoked{r, client} at the server where the admin acted
// (client kNoNode: every session of every user). It covers the sessions
// created before it: a client's session is the one it started with, or the one
// of its last ClientLoggedIn{after} (created after revocation `after`); a
// covered session is one with after < r whose user is `client` (or anyone).
//
// "Reached every server", from the servers' own events: each server that
// serves (ServerServing) in a process of its own must have emitted
// SessionRevocationApplied{r} in that process. A server that crashes or stops
// no longer counts (its connections and cache died with it); one that serves
// again counts again until it applies r (a new process knows only what reaches
// it). The revocation has reached every server while no serving server is
// missing it; `since` is the instant that last became true.
//
// Online violation: at or after since + `bound`, for a client covered by r,
//  - a PostDelivered to it (a websocket event, a resync's answer or its own
//    post's answer: each needs its session accepted),
//  - a ClientConnected of it (a websocket upgrade accepted), or
//  - a PostAcked of its post (a request accepted).
// The bound (default 30 s, the query timeout) covers what was admitted before
// the revocation reached its server: a request accepted then finishes within
// the 30-s query timeout, and a frame already written arrives within the
// network's delay. One violation per (revocation, client).
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "base/assert.h"
#include "invariants/checkers.h"

namespace fl::inv {
namespace {

class SessionRevocation final : public Invariant {
 public:
  SessionRevocation(const ClusterInfo& c, Duration bound) : Invariant("session_revocation", c), bound_(bound) {
    FL_ASSERT(bound_ >= Duration{0});
    read_only(event_mask<SessionRevoked, SessionRevocationApplied, ServerServing, ProcessStarted, ProcessCrashed,
                         ProcessStopped, ClientLoggedIn, PostDelivered, ClientConnected, PostAcked>());
  }

 private:
  struct Revocation {
    std::uint64_t number = 0;
    NodeId client{kNoNode};      // kNoNode: everyone
    HistoryEvent ordered;        // the SessionRevoked
    std::set<NodeId> missing;    // serving servers that have not applied it
    std::optional<Time> since;   // reached every server since (unset while one misses it)
    HistoryEvent last_applied;   // the apply that completed it
    std::set<NodeId> reported;   // clients already reported
  };

  void handle(const HistoryEvent& e) override {
    // First, and without the node's role: most of a run's history (none of the
    // branches below applies to it).
    if (const auto* d = e.get<PostDelivered>()) {
      judge(e, e.node, [&] { return "received " + post_text(d->post) + " (via " + d->via + ")"; });
      return;
    }
    const bool server = cluster().is_server(e.node);
    if (const auto* r = e.get<SessionRevoked>()) {
      Revocation rev;
      rev.number = r->revocation;
      rev.client = r->client;
      rev.ordered = e;
      rev.last_applied = e;
      for (NodeId s : serving_)
        if (!applied_[s].count(r->revocation)) rev.missing.insert(s);
      if (rev.missing.empty()) rev.since = e.at;
      revocations_.emplace(r->revocation, std::move(rev));
    } else if (const auto* a = e.get<SessionRevocationApplied>()) {
      applied_[e.node].insert(a->revocation);
      auto it = revocations_.find(a->revocation);
      if (it != revocations_.end() && it->second.missing.erase(e.node)) {
        it->second.last_applied = e;
        update(it->second, e.at);
      }
    } else if (server && e.is<ServerServing>()) {
      serving_.insert(e.node);
      for (auto& [n, rev] : revocations_) {
        if (applied_[e.node].count(n)) continue;
        rev.missing.insert(e.node);
        update(rev, e.at);
      }
    } else if (server && (e.is<ProcessStarted>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>())) {
      // A new process (or none): nothing applied, nothing served.
      serving_.erase(e.node);
      applied_[e.node].clear();
      for (auto& [n, rev] : revocations_)
        if (rev.missing.erase(e.node)) update(rev, e.at);
    } else if (const auto* in = e.get<ClientLoggedIn>()) {
      after_[e.node] = in->after;
    } else if (!server && e.is<ProcessStarted>()) {
      after_[e.node] = 0;  // a new client process starts with its first session
    } else if (const auto* c = e.get<ClientConnected>()) {
      judge(e, e.node, [&] { return "had a websocket accepted by " + name_of(c->server); });
    } else if (const auto* p = e.get<PostAcked>()) {
      judge(e, p->client, [&] { return "had " + post_text(p->post) + " accepted by " + name_of(e.node); });
    }
  }

  static void update(Revocation& rev, Time at) {
    if (rev.missing.empty()) {
      if (!rev.since) rev.since = at;
    } else {
      rev.since.reset();
    }
  }

  // `what` says what the client did, built only for a violation (this runs
  // for every delivered post).
  template <class What>
  void judge(const HistoryEvent& e, NodeId client, const What& what) {
    if (client == kNoNode || revocations_.empty()) return;
    const auto after = after_.find(client);
    const std::uint64_t created_after = after == after_.end() ? 0 : after->second;
    for (auto& [n, rev] : revocations_) {
      if (created_after >= n) continue;  // a session created after this revocation
      if (rev.client != kNoNode && rev.client != client) continue;
      if (!rev.since || e.at < *rev.since + bound_) continue;
      if (!rev.reported.insert(client).second) continue;
      Violation v;
      v.at = e.at;
      v.nodes = {client, rev.ordered.node};
      if (e.node != client && e.node != rev.ordered.node) v.nodes.push_back(e.node);
      v.witnesses = {rev.ordered, rev.last_applied, e};
      v.message = name_of(client) + " " + what() + " at " + at_text(e.at) + " on a session revoked by revocation " +
                  std::to_string(n) + " (" + (rev.client == kNoNode ? "every session" : "the sessions of " +
                  name_of(rev.client)) + ", ordered on " + name_of(rev.ordered.node) + " at " +
                  at_text(rev.ordered.at) + "), which had reached every server by " + at_text(*rev.since) +
                  ": a revoked session still authenticates.";
      report(std::move(v));
    }
  }

  Duration bound_;
  std::map<std::uint64_t, Revocation> revocations_;   // by number
  std::set<NodeId> serving_;                          // app servers serving in their current process
  std::map<NodeId, std::set<std::uint64_t>> applied_; // per server, in its current process
  std::map<NodeId, std::uint64_t> after_;             // per client: its session's `after`
};

}  // namespace

std::unique_ptr<Invariant> make_session_revocation(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<SessionRevocation>(c, option(o, "bound"));
}

}  // namespace fl::inv
