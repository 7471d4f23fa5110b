// service_available (MODEL.md): at the end of the settle phase the cluster
// serves: some app server is serving, the proxy routes to one that is, and every
// connected client's requests in the last `bound` succeeded. A cluster left
// stopped, or a proxy routing nowhere, fails it. A liveness property: judged
// once, at the end of a completed run (DESIGN.md, Phases of a run), from the
// history only.
//
// Read from the history:
//  - Serving: an app server's ServerServing, until its crash, stop, next start,
//    ServerStopping or ServerRefusedStart (truth.h LifeBook); a paused server
//    answers nothing and does not count.
//  - The proxy's routing set, as the proxy itself decides it (nodes/proxy.cc):
//    the servers of its last UpstreamChanged whose last HealthChecked since they
//    (re)joined the list, in the proxy's current process, passed. HealthChecked is
//    emitted on a change only, so the last one is the proxy's current view. The
//    proxy must be running and not paused. A routable server must also be truly
//    serving: a health check passed just before a crash routes to nothing.
//  - A client is connected at the end when its last ClientConnected is later than
//    its last ClientDisconnected and its process runs. Its requests failed when it
//    has a ClientRequestFailed within the last `bound` before the end: MODEL.md
//    asks that they all succeeded, and a cluster that has served for `bound`
//    fails none.
// One violation per finding (no server serving; the proxy routing to none that
// serves; clients whose requests failed), each dated at the end of the run. The
// proxy's is reported only when some server serves: otherwise the first finding
// already says why nothing can be routed.
#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string_view>

#include "base/assert.h"
#include "invariants/checkers.h"
#include "invariants/truth.h"

namespace fl::inv {
namespace {

// A violation's sentence details this many failing clients and names the rest.
constexpr std::size_t kClientsDetailed = 3;

class ServiceAvailable final : public Invariant {
 public:
  ServiceAvailable(const ClusterInfo& c, Duration bound)
      : Invariant("service_available", c),
        bound_(bound),
        life_(cluster()),
        servers_(c.with_role(Role::app_server)),
        proxies_(c.with_role(Role::proxy)),
        clients_(c.with_role(Role::client)),
        clients_view_(c.nodes.size()) {
    FL_ASSERT(bound_ >= Duration{0});
    // Everything but the busiest types that none of its views reads: a client's
    // post traffic (client_event only trims recent_fails by the event's time,
    // which judge_clients filters again) and the database's.
    read_only(~event_mask<PostDelivered, PostSent, PostAckReceived, PostAcked, PostCommitted, ReplicaApplied,
                          PostPresent>());
  }

 private:
  struct ProxyView {
    std::optional<HistoryEvent> upstream_event;  // the last UpstreamChanged
    std::vector<NodeId> upstream;                // known servers of that list, in its order
    std::vector<std::string> unknown;            // names in it that are no app server
    std::map<NodeId, HistoryEvent> health;       // server -> last HealthChecked (this process, since it joined)
    std::optional<HistoryEvent> life;            // the proxy's last process event
  };
  struct ClientView {
    bool connected = false;
    std::optional<HistoryEvent> connect;     // the last ClientConnected
    std::deque<HistoryEvent> recent_fails;   // ClientRequestFailed younger than `bound`
  };

  void handle(const HistoryEvent& e) override {
    life_.observe(e);
    if (e.node == kNoNode) return;
    const bool process = e.is<ProcessStarted>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>() ||
                         e.is<ProcessPaused>() || e.is<ProcessResumed>();
    const Role role = cluster().role(e.node);
    if (role == Role::app_server) {
      if (process || e.is<ServerStarting>() || e.is<ServerServing>() || e.is<ServerStopping>() ||
          e.is<ServerRefusedStart>())
        server_life_[e.node] = e;
    } else if (role == Role::proxy) {
      proxy_event(e, process);
    } else if (role == Role::client) {
      client_event(e);
    }
  }

  void proxy_event(const HistoryEvent& e, bool process) {
    ProxyView& p = proxies_view_[e.node];
    if (process) {
      p.life = e;
      if (e.is<ProcessStarted>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>()) p.health.clear();
    } else if (const auto* u = e.get<UpstreamChanged>()) {
      p.upstream_event = e;
      p.upstream.clear();
      p.unknown.clear();
      std::string_view rest = u->servers;
      while (!rest.empty()) {  // "app1,app2": names joined by commas (nodes/proxy.cc names_of)
        const std::size_t comma = rest.find(',');
        const std::string_view name = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (name.empty()) continue;
        const NodeId id = cluster().find(name);
        if (id != kNoNode && cluster().is_server(id)) p.upstream.push_back(id);
        else p.unknown.emplace_back(name);
      }
      // A server that left the list loses its health; one that joins starts unchecked.
      std::erase_if(p.health, [&](const auto& kv) {
        return std::find(p.upstream.begin(), p.upstream.end(), kv.first) == p.upstream.end();
      });
    } else if (const auto* h = e.get<HealthChecked>()) {
      p.health[h->server] = e;
    }
  }

  void client_event(const HistoryEvent& e) {
    FL_ASSERT(e.node.value < clients_view_.size());
    ClientView& c = clients_view_[e.node.value];
    while (!c.recent_fails.empty() && !(e.at - c.recent_fails.front().at < bound_)) c.recent_fails.pop_front();
    if (e.is<ClientConnected>()) {
      c.connected = true;
      c.connect = e;
    } else if (e.is<ClientDisconnected>() || e.is<ProcessStarted>() || e.is<ProcessCrashed>() ||
               e.is<ProcessStopped>()) {
      c.connected = false;
    } else if (e.is<ClientRequestFailed>()) {
      c.recent_fails.push_back(e);
    }
  }

  bool serving(NodeId s) const {
    const NodeLife& l = life_.at(s);
    return l.serving && !l.paused;
  }

  // Why server `s` is not serving now, with the event that shows it.
  std::string why_not_serving(NodeId s, Violation& v) const {
    const NodeLife& l = life_.at(s);
    const auto it = server_life_.find(s);
    if (it == server_life_.end()) return name_of(s) + " never started";
    const HistoryEvent& e = it->second;
    v.witnesses.push_back(e);
    const std::string when = at_text(e.at);
    if (l.serving && l.paused) return name_of(s) + " paused since " + when;
    if (e.is<ProcessStopped>()) return name_of(s) + " stopped by the operator at " + when;
    if (e.is<ProcessCrashed>()) return name_of(s) + " crashed at " + when;
    if (const auto* r = e.get<ServerRefusedStart>()) return name_of(s) + " refused to start at " + when + " (" + r->reason + ")";
    if (e.is<ServerStopping>()) return name_of(s) + " stopping since " + when;
    if (e.is<ProcessPaused>()) return name_of(s) + " paused since " + when + " in start-up";
    return name_of(s) + " in start-up since " + at_text(l.since) + ", not serving";
  }

  void judge_at_end(const RunEnd& end) override {
    if (!end.completed || servers_.empty()) return;  // liveness: only a run that reached its end
    judge_servers(end);
    judge_proxies(end);
    judge_clients(end);
  }

  void judge_servers(const RunEnd& end) {
    for (NodeId s : servers_)
      if (serving(s)) return;
    Violation v;
    v.at = end.end;
    std::vector<std::string> why;
    for (NodeId s : servers_) {
      v.nodes.push_back(s);
      why.push_back(why_not_serving(s, v));
    }
    v.message = "No app server is serving at the end of settle (" + at_text(end.end) + "): " + join_names(why) + ".";
    report(std::move(v));
  }

  void judge_proxies(const RunEnd& end) {
    if (proxies_.empty()) return;  // a deployment without a proxy: nothing routes
    bool any_serving = false;
    for (NodeId s : servers_) any_serving = any_serving || serving(s);
    if (!any_serving) return;  // said by judge_servers
    std::vector<std::string> why;
    Violation v;
    v.at = end.end;
    for (NodeId proxy : proxies_) {
      const auto it = proxies_view_.find(proxy);
      const NodeLife& pl = life_.at(proxy);
      std::string text;
      if (!pl.running || pl.paused) {
        if (it != proxies_view_.end() && it->second.life) v.witnesses.push_back(*it->second.life);
        const bool ever = it != proxies_view_.end() && it->second.life;
        text = name_of(proxy) + (!ever                                         ? " never started"
                                 : pl.paused                                   ? " is paused since " + at_text(it->second.life->at)
                                 : it->second.life->is<ProcessStopped>()       ? " was stopped at " + at_text(it->second.life->at)
                                                                               : " crashed at " + at_text(it->second.life->at));
      } else {
        const ProxyView empty;
        const ProxyView& p = it == proxies_view_.end() ? empty : it->second;
        if (p.upstream_event) v.witnesses.push_back(*p.upstream_event);
        std::vector<std::string> reasons;
        for (NodeId s : p.upstream) {
          const auto h = p.health.find(s);
          if (h == p.health.end()) {
            reasons.push_back(name_of(s) + " has passed no health check");
            continue;
          }
          v.witnesses.push_back(h->second);
          if (!h->second.get<HealthChecked>()->healthy) {
            reasons.push_back(name_of(s) + " failed its health check at " + at_text(h->second.at));
          } else if (serving(s)) {
            return;  // routes to a serving server: holds
          } else {
            reasons.push_back(name_of(s) + " passed its health check at " + at_text(h->second.at) +
                              " but is not serving (" + why_not_serving(s, v) + ")");
          }
        }
        for (const auto& n : p.unknown) reasons.push_back(n + " is no app server of the cluster");
        text = p.upstream.empty() && p.unknown.empty()
                   ? name_of(proxy) + "'s upstream list is empty" +
                         (p.upstream_event ? " (since " + at_text(p.upstream_event->at) + ")" : "")
                   : name_of(proxy) + " has no serving server in its upstream list: " + join_names(reasons);
      }
      v.nodes.push_back(proxy);
      why.push_back(text);
    }
    v.message = "The proxy routes to no serving app server at the end of settle (" + at_text(end.end) +
                "): " + join_names(why) + ".";
    report(std::move(v));
  }

  void judge_clients(const RunEnd& end) {
    std::vector<std::string> why;
    Violation v;
    v.at = end.end;
    for (NodeId c : clients_) {
      const ClientView& view = clients_view_[c.value];
      if (!view.connected || !life_.running(c)) continue;
      std::vector<HistoryEvent> fails;
      for (const auto& f : view.recent_fails)
        if (end.end - f.at < bound_) fails.push_back(f);
      if (fails.empty()) continue;
      const HistoryEvent& last = fails.back();
      const auto* f = last.get<ClientRequestFailed>();
      v.nodes.push_back(c);
      v.witnesses.push_back(fails.front());
      v.witnesses.push_back(last);
      if (why.size() < kClientsDetailed)
        why.push_back(name_of(c) + " (" + std::to_string(fails.size()) + " failed since " +
                      at_text(fails.front().at) + ", the last " + f->request + " at " + at_text(last.at) + ": " +
                      f->reason + ")");
      else
        why.push_back(name_of(c));
    }
    if (why.empty()) return;
    if (why.size() > kClientsDetailed + 1) {  // one sentence: the rest by name only
      std::string rest;
      for (std::size_t i = kClientsDetailed; i < why.size(); ++i) rest += (rest.empty() ? "" : ", ") + why[i];
      const std::size_t more = why.size() - kClientsDetailed;
      why.resize(kClientsDetailed);
      why.push_back(std::to_string(more) + " more (" + rest + ")");
    }
    v.message = "Requests of connected clients failed within the last " + format_duration(bound_) +
                " of settle (to " + at_text(end.end) + "): " + join_names(why) + ".";
    report(std::move(v));
  }

  Duration bound_;
  LifeBook life_;
  std::vector<NodeId> servers_, proxies_, clients_;
  std::map<NodeId, HistoryEvent> server_life_;  // server -> its last lifecycle event
  std::map<NodeId, ProxyView> proxies_view_;
  // By NodeId value (dense): a map lookup per client event cost 12% at 10,000 clients.
  std::vector<ClientView> clients_view_;
};

}  // namespace

std::unique_ptr<Invariant> make_service_available(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<ServiceAvailable>(c, option(o, "bound"));
}

}  // namespace fl::inv
