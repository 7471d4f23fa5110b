// health_routing (MODEL.md; the seed's NGINX health checks): the proxy sends no
// new connection to a server whose last health check failed, and no client's
// requests fail for longer than `bound` while a healthy server exists.
//
// Routing, online: a ProxyRouted to a server whose last HealthChecked at the
// proxy said unhealthy. Reported once per server until it is healthy again.
//
// Failing requests, online: a client's failure streak starts at its first
// ClientRequestFailed after its last success (ClientConnected, PostAckReceived)
// and is a violation at the first failure more than `bound` after its start if a
// server was truly healthy during the whole streak. "Truly healthy" is derived
// from simulator truth (truth.h), never from the proxy's checks, since the
// hazard is precisely a check that passes while the database is gone: serving,
// not paused, reachable from the proxy, reaching a running primary, and no
// storage outage. The client's own link to the proxy and the proxy itself must
// have been fine for the whole streak too (not the routing's fault otherwise).
// The primary is the first db_primary of ClusterInfo until a Promoted event.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "base/assert.h"
#include "invariants/checkers.h"
#include "invariants/truth.h"

namespace fl::inv {
namespace {

class HealthRouting final : public Invariant {
 public:
  HealthRouting(const ClusterInfo& c, Duration bound)
      : Invariant("health_routing", c),
        bound_(bound),
        faults_(cluster()),
        life_(cluster()),
        servers_(c.with_role(Role::app_server)) {
    FL_ASSERT(bound_ >= Duration{0});
    read_only(FaultBook::reads() | LifeBook::reads() |
              event_mask<Promoted, DbCrashed, ProcessStarted, HealthChecked, ProxyRouted, ClientConnected,
                         PostAckReceived, ClientRequestFailed>());
    const auto primaries = c.with_role(Role::db_primary);
    primary_ = primaries.empty() ? kNoNode : primaries.front();
    const auto proxies = c.with_role(Role::proxy);
    proxy_ = proxies.empty() ? kNoNode : proxies.front();
    healthy_since_.assign(servers_.size(), kTimeMax);
  }

 private:
  struct Streak {
    bool on = false;
    HistoryEvent first;
    bool reported = false;
    Time link_ok_since{};  // the client's link to the proxy has been up since
  };

  bool truly_healthy(NodeId s) const {
    const NodeLife& l = life_.at(s);
    if (!l.serving || l.paused || faults_.storage_out()) return false;
    if (proxy_ == kNoNode || !life_.running(proxy_) || faults_.link(proxy_, s) != Link::up) return false;
    if (primary_ == kNoNode || !life_.running(primary_) || primary_down_ || faults_.link(s, primary_) != Link::up)
      return false;
    return true;
  }

  void refresh(Time t) {
    for (std::size_t i = 0; i < servers_.size(); ++i) {
      const bool h = truly_healthy(servers_[i]);
      if (!h) healthy_since_[i] = kTimeMax;
      else if (healthy_since_[i] == kTimeMax) healthy_since_[i] = t;
    }
    for (auto& [client, streak] : streaks_) {
      const bool ok = proxy_ != kNoNode && faults_.link(client, proxy_) == Link::up &&
                      faults_.link(proxy_, client) == Link::up && life_.running(proxy_);
      if (!ok) streak.link_ok_since = kTimeMax;
      else if (streak.link_ok_since == kTimeMax) streak.link_ok_since = t;
    }
  }

  void handle(const HistoryEvent& e) override {
    bool changed = faults_.observe(e);
    changed = life_.observe(e) || changed;
    if (e.is<Promoted>()) {
      primary_ = e.node;
      primary_down_ = false;
      changed = true;
    } else if (e.is<DbCrashed>() && e.node == primary_) {
      primary_down_ = true;
      changed = true;
    } else if (e.is<ProcessStarted>() && e.node == primary_) {
      primary_down_ = false;
    }
    if (changed) refresh(e.at);

    if (const auto* h = e.get<HealthChecked>()) {
      last_check_[h->server] = e;
      if (h->healthy) routed_reported_.erase(h->server);
    } else if (const auto* r = e.get<ProxyRouted>()) {
      routed(e, *r);
    } else if (e.is<ClientConnected>() || e.is<PostAckReceived>() || e.is<ProcessStarted>()) {
      if (auto it = streaks_.find(e.node); it != streaks_.end()) it->second.on = false;
    } else if (e.is<ClientRequestFailed>()) {
      failed(e);
    }
  }

  void routed(const HistoryEvent& e, const ProxyRouted& r) {
    last_route_[r.client] = e;
    auto it = last_check_.find(r.server);
    if (it == last_check_.end() || it->second.get<HealthChecked>()->healthy) return;
    if (!routed_reported_.insert(r.server).second) return;
    Violation v;
    v.at = e.at;
    v.nodes = {r.server, r.client};
    v.witnesses = {it->second, e};
    v.message = "The proxy routed " + name_of(r.client) + " to " + name_of(r.server) + " at " + at_text(e.at) +
                " although " + name_of(r.server) + " failed its health check at " + at_text(it->second.at) + ".";
    report(std::move(v));
  }

  void failed(const HistoryEvent& e) {
    auto [it, fresh] = streaks_.try_emplace(e.node);
    Streak& s = it->second;
    if (fresh) {
      s.link_ok_since = kTimeMax;
      refresh(e.at);
    }
    if (!s.on) {
      s.on = true;
      s.first = e;
      s.reported = false;
      return;
    }
    if (s.reported) return;
    if (s.link_ok_since == kTimeMax) return;  // the client's own path is broken now
    // The bound runs from the latest of: the streak's first failure, the
    // client's path to the proxy coming back, and a server becoming healthy.
    // A streak that began while no server was healthy (a database crash before
    // its failover) still counts once one is: requests that keep failing
    // beside a healthy server are what the invariant is about.
    std::optional<std::size_t> healthy;
    Time from{};
    for (std::size_t i = 0; i < servers_.size(); ++i) {
      if (healthy_since_[i] == kTimeMax) continue;
      const Time start = std::max({s.first.at, healthy_since_[i], s.link_ok_since});
      if (e.at - start > bound_) {
        healthy = i;
        from = start;
        break;
      }
    }
    if (!healthy) return;
    s.reported = true;
    const NodeId good = servers_[*healthy];
    const auto* f = e.get<ClientRequestFailed>();
    Violation v;
    v.at = e.at;
    v.nodes = {e.node, good};
    v.witnesses = {s.first, e};
    std::string routed;
    if (auto r = last_route_.find(e.node); r != last_route_.end()) {
      const NodeId to = r->second.get<ProxyRouted>()->server;
      v.witnesses.push_back(r->second);
      v.nodes.push_back(to);
      routed = "; the proxy last routed it to " + name_of(to) + " at " + at_text(r->second.at);
      if (auto c = last_check_.find(to); c != last_check_.end()) {
        v.witnesses.push_back(c->second);
        routed += std::string(", whose last health check ") +
                  (c->second.get<HealthChecked>()->healthy ? "passed" : "failed") + " at " + at_text(c->second.at);
      }
    }
    v.message = name_of(e.node) + "'s requests have failed since " + at_text(s.first.at) + " (" + f->request +
                ": " + f->reason + " at " + at_text(e.at) + "), longer than " + format_duration(bound_) +
                ", while " + name_of(good) + " was healthy" +
                (from > s.first.at ? " (from " + at_text(from) + ")" : "") + routed + ".";
    report(std::move(v));
  }

  Duration bound_;
  FaultBook faults_;
  LifeBook life_;
  std::vector<NodeId> servers_;
  std::vector<Time> healthy_since_;  // per servers_ index; kTimeMax when not healthy
  NodeId primary_{kNoNode};
  bool primary_down_ = false;
  NodeId proxy_{kNoNode};
  std::map<NodeId, HistoryEvent> last_check_;  // server -> last HealthChecked
  std::map<NodeId, HistoryEvent> last_route_;  // client -> last ProxyRouted
  std::map<NodeId, Streak> streaks_;
  std::set<NodeId> routed_reported_;
};

}  // namespace

std::unique_ptr<Invariant> make_health_routing(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<HealthRouting>(c, option(o, "bound"));
}

}  // namespace fl::inv
