#include "reports/explain.h"

#include <algorithm>
#include <chrono>

#include "base/assert.h"
#include "invariants/registry.h"
#include "reports/report.h"

namespace fl::reports {
namespace {

// How long after a resync its answer may take to arrive when no delivery shows
// it: the read happened within this window (the client's request timeout).
constexpr Duration kResyncWindow = seconds(5);

std::string post_name(std::uint64_t post) {
  return "post " + std::to_string(post >> 32) + ":" + std::to_string(post & 0xffffffffULL);
}

bool is_replica(const RunResult& run, NodeId id) {
  return id.value < run.lanes.size() && run.lanes[id.value].role == inv::role_name(inv::Role::db_replica);
}

}  // namespace

std::string short_time(Time t) {
  return format_duration(std::chrono::round<milliseconds>(t.time_since_epoch()));
}

CauseFinder::CauseFinder(const RunResult& run) : run_(run) {
  for (const auto& v : run.violations) {
    if (v.invariant != "message_delivery") continue;
    for (const auto& w : v.witnesses)
      if (const auto* a = w.get<PostAcked>()) posts_.insert(a->post);
    if (!v.nodes.empty()) clients_.insert(v.nodes.front().value);
  }
}

bool CauseFinder::wants(std::string_view n) const {
  if (!posts_.empty() && (n == PostCommitted::kName || n == ReplicaApplied::kName || n == ClientResync::kName ||
                          n == PostDelivered::kName))
    return true;
  return n == ProcessPaused::kName || n == ProcessCrashed::kName || n == ProcessStopped::kName ||
         n == ProcessStarted::kName || n == SendFailed::kName || n == ClockChanged::kName;
}

void CauseFinder::on_event(const HistoryEvent& e) {
  const std::uint32_t node = e.node.value;
  if (const auto* c = e.get<PostCommitted>()) {
    if (posts_.count(c->post)) committed_.try_emplace(c->post, e);
  } else if (e.is<ReplicaApplied>()) {
    if (!posts_.empty() && is_replica(run_, e.node)) applied_[node].push_back(e);
  } else if (e.is<ClientResync>()) {
    if (clients_.count(node)) resyncs_[node].push_back(e);
  } else if (const auto* d = e.get<PostDelivered>()) {
    if (clients_.count(node) && d->via == "resync") {
      auto& times = resync_deliveries_[node];
      if (times.empty() || times.back() != e.at) times.push_back(e.at);
    }
  } else if (e.is<ProcessPaused>()) {
    pauses_[node].push_back(e);
  } else if (e.is<ProcessCrashed>() || e.is<ProcessStopped>()) {
    auto& list = downs_[node];
    if (list.empty() || list.back().second != kTimeMax) list.emplace_back(e, kTimeMax);
  } else if (e.is<ProcessStarted>()) {
    auto& list = downs_[node];
    if (!list.empty() && list.back().second == kTimeMax) list.back().second = e.at;
  } else if (e.is<SendFailed>()) {
    auto& list = send_failed_[node];
    list.push_back(e);
    if (list.size() > 64) list.erase(list.begin(), list.begin() + 32);  // the latest matter
  } else if (e.is<ClockChanged>()) {
    clocks_[node].push_back(e);
  }
}

std::uint64_t CauseFinder::applied_at(NodeId replica, Time t, const HistoryEvent** last) const {
  *last = nullptr;
  auto it = applied_.find(replica.value);
  if (it == applied_.end()) return 0;
  const auto& list = it->second;
  auto pos = std::upper_bound(list.begin(), list.end(), t, [](Time x, const HistoryEvent& e) { return x < e.at; });
  if (pos == list.begin()) return 0;
  *last = &*std::prev(pos);
  return (*last)->get<ReplicaApplied>()->lsn;
}

const HistoryEvent* CauseFinder::paused_at(NodeId n, Time t) const {
  auto it = pauses_.find(n.value);
  if (it == pauses_.end()) return nullptr;
  for (const auto& p : it->second)
    if (p.at <= t && t <= p.at + p.get<ProcessPaused>()->length) return &p;
  return nullptr;
}

const HistoryEvent* CauseFinder::down_at(NodeId n, Time t) const {
  auto it = downs_.find(n.value);
  if (it == downs_.end()) return nullptr;
  for (const auto& [e, until] : it->second)
    if (e.at <= t && t < until) return &e;
  return nullptr;
}

CauseFinder::Explained CauseFinder::delivery(const inv::Violation& v) const {
  const HistoryEvent* ack = nullptr;
  const HistoryEvent* connect = nullptr;
  for (const auto& w : v.witnesses) {
    if (w.is<PostAcked>() && !ack) ack = &w;
    if (w.is<ClientConnected>()) connect = &w;
  }
  if (!ack || v.nodes.empty()) return {};
  const std::uint64_t post = ack->get<PostAcked>()->post;
  const NodeId client = v.nodes.front();
  auto c = committed_.find(post);
  if (c == committed_.end()) {
    // Only meaningful when the history was read (posts_ filled and commits seen at all).
    if (committed_.empty() && applied_.empty()) return {};
    return {"never_committed", "",
            post_name(post) + " was acknowledged by " + lane_name(run_, ack->node) + " at " + short_time(ack->at) +
                " but the primary never committed it: an acknowledgement before the commit.",
            {*ack}};
  }
  const std::uint64_t lsn = c->second.get<PostCommitted>()->lsn;
  // The client's first resync after its last connect, and when its answer came.
  const Time since = connect ? connect->at : kTimeZero;
  const HistoryEvent* resync = nullptr;
  if (auto it = resyncs_.find(client.value); it != resyncs_.end())
    for (const auto& r : it->second)
      if (r.at >= since) {
        resync = &r;
        break;
      }
  // The post must have been committed before the resync read it: a post
  // committed later was the websocket's to deliver, not the resync's.
  if (!resync || c->second.at > resync->at + kResyncWindow) return {};
  Time read_by = resync->at + kResyncWindow;
  if (auto it = resync_deliveries_.find(client.value); it != resync_deliveries_.end()) {
    auto pos = std::lower_bound(it->second.begin(), it->second.end(), resync->at);
    if (pos != it->second.end() && *pos < read_by) read_by = *pos;
  }
  std::vector<std::string> behind, ahead;
  std::vector<HistoryEvent> evidence{c->second, *resync};
  std::string first_detail;
  for (const auto& [replica, list] : applied_) {
    const HistoryEvent* last = nullptr;
    const std::uint64_t had = applied_at(NodeId{replica}, read_by, &last);
    if (had < lsn) {
      behind.push_back(lane_name(run_, NodeId{replica}));
      if (last) evidence.push_back(*last);
      if (first_detail.empty())
        first_detail = lane_name(run_, NodeId{replica}) + " at lsn " + std::to_string(had);
    } else {
      ahead.push_back(lane_name(run_, NodeId{replica}));
    }
  }
  if (behind.empty() || c->second.at > read_by) return {};
  std::sort(evidence.begin(), evidence.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  std::string cause = lane_name(run_, client) + " connected" +
                      (connect ? " to " + lane_name(run_, connect->get<ClientConnected>()->server) + " at " +
                                     short_time(connect->at)
                               : std::string()) +
                      ", after " + post_name(post) + " was broadcast, and its resync at " + short_time(resync->at) +
                      " read from a replica behind the primary: " + first_detail + " (by " + short_time(read_by) +
                      ") while the post was at lsn " + std::to_string(lsn) + " (committed at " +
                      short_time(c->second.at) + ")";
  if (behind.size() > 1) cause += "; every replica lacked it (" + inv::join_names(behind) + ")";
  if (!ahead.empty()) cause += "; " + inv::join_names(ahead) + " had it: the read went round-robin";
  cause += ".";
  std::string key;
  for (const auto& b : behind) key += b + ",";
  return {"replica_behind", key, cause, evidence, resync->at};
}

CauseFinder::Explained CauseFinder::status(const inv::Violation& v) const {
  // The observer and the peer: a PeerDown witness names both; otherwise the
  // violation's first two nodes (observer, peer).
  NodeId observer = kNoNode, peer = kNoNode;
  const HistoryEvent* down_event = nullptr;
  for (const auto& w : v.witnesses)
    if (const auto* d = w.get<PeerDown>()) {
      observer = w.node;
      peer = d->peer;
      down_event = &w;
    }
  if (peer == kNoNode && v.nodes.size() >= 2) {
    observer = v.nodes[0];
    peer = v.nodes[1];
  }
  if (peer == kNoNode) return {};
  const Time t = down_event ? down_event->at : v.at;
  std::string how = down_event ? lane_name(run_, observer) + " marked " + lane_name(run_, peer) + " down at " +
                                     short_time(t)
                               : lane_name(run_, observer) + "'s view of " + lane_name(run_, peer) + " was wrong at " +
                                     short_time(t);
  std::vector<HistoryEvent> evidence;
  if (down_event) {
    evidence.push_back(*down_event);
    std::size_t failed = 0;
    if (auto it = send_failed_.find(observer.value); it != send_failed_.end())
      for (const auto& s : it->second)
        if (s.get<SendFailed>()->peer == peer && s.at <= t && s.at + seconds(60) >= t) {
          ++failed;
          evidence.push_back(s);
        }
    const std::uint32_t attempts = down_event->get<PeerDown>()->failed_attempts;
    how += " after " + (attempts == 1 ? std::string("one failed send") :
                        attempts == 2 ? std::string("two failed sends") : std::to_string(attempts) + " failed sends");
    (void)failed;
  }
  std::string kind, why;
  if (const HistoryEvent* p = paused_at(peer, t)) {
    kind = "peer_paused";
    why = " while " + lane_name(run_, peer) + " was paused (" + short_time(p->at) + " for " +
          format_duration(p->get<ProcessPaused>()->length) + ")";
    evidence.push_back(*p);
  } else if (const HistoryEvent* d = down_at(peer, t)) {
    kind = "peer_crashed";
    why = " while " + lane_name(run_, peer) + " was down (" + std::string(d->name()) + " at " + short_time(d->at) + ")";
    evidence.push_back(*d);
  } else {
    for (std::uint32_t f : faults_in_force(run_, t)) {
      const FaultRecord& fr = run_.faults[f];
      const bool touches = std::find(fr.nodes.begin(), fr.nodes.end(), lane_name(run_, peer)) != fr.nodes.end() ||
                           std::find(fr.nodes.begin(), fr.nodes.end(), lane_name(run_, observer)) != fr.nodes.end() ||
                           fr.nodes.empty();
      if (!touches) continue;
      kind = "peer_cut";
      why = " while fault #" + std::to_string(fr.index) + " (" + fr.kind + " " + fr.detail + ") was in force";
      break;
    }
  }
  if (kind.empty()) return {};
  std::sort(evidence.begin(), evidence.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  evidence.erase(std::unique(evidence.begin(), evidence.end(), [](const auto& a, const auto& b) { return a.seq == b.seq; }),
                 evidence.end());
  return {kind, lane_name(run_, peer), how + why + ".", evidence, t};
}

CauseFinder::Explained CauseFinder::under_fault(const inv::Violation& v) const {
  const auto in_force = faults_in_force(run_, v.at);
  if (in_force.empty()) return {};
  std::string list;
  for (std::size_t i = 0; i < in_force.size(); ++i) {
    const FaultRecord& f = run_.faults[in_force[i]];
    list += (i ? "; " : "") + std::string("#") + std::to_string(f.index) + " " + f.kind + " " + f.detail + " (from " +
            short_time(f.at) + ")";
  }
  std::string key;
  for (auto f : in_force) key += std::to_string(f) + ",";
  return {"under_fault", key,
          "It broke while " + std::string(in_force.size() == 1 ? "this fault was" : "these faults were") +
              " in force: " + list + "; the history shows no narrower cause.",
          {}};
}

CauseFinder::Explained CauseFinder::explain(std::size_t i) const {
  const inv::Violation& v = run_.violations[i];
  Explained x;
  if (v.invariant == "message_delivery") x = delivery(v);
  else if (v.invariant == "status_accuracy") x = status(v);
  if (x.kind.empty())
    for (const auto& w : v.witnesses)
      if (const auto* lost = w.get<CommitsLost>()) {
        // A promotion that dropped acknowledged commits (asynchronous replication).
        const HistoryEvent* promoted = nullptr;
        for (const auto& p : v.witnesses)
          if (p.is<Promoted>()) promoted = &p;
        const std::string who = promoted ? lane_name(run_, promoted->node) : std::string("the new primary");
        std::vector<HistoryEvent> evidence{w};
        if (promoted) evidence.insert(evidence.begin(), *promoted);
        x = {"lost_at_promotion", who,
             std::to_string(lost->count) + " acknowledged commits (lsn " + std::to_string(lost->first_lsn) + ".." +
                 std::to_string(lost->last_lsn) + ") were lost at the promotion of " + who + " (" + short_time(promoted ? promoted->at : w.at) +
                 "): asynchronous replication had not shipped them to it before the old primary went away.",
             evidence, promoted ? promoted->at : w.at};
        break;
      }
  if (x.kind.empty()) x = under_fault(v);
  if (x.kind.empty()) x.kind = "unexplained";
  return x;
}

std::vector<CauseGroup> CauseFinder::groups() const {
  std::vector<CauseGroup> out;
  std::map<std::string, std::size_t> by_key;
  for (std::size_t i = 0; i < run_.violations.size(); ++i) {
    const auto& v = run_.violations[i];
    Explained x = explain(i);
    // Unexplained violations group by the shape of their sentence's start
    // (e.g. "never received" vs "a second time"), so unlike ones stay apart.
    std::string key = v.invariant + "|" + x.kind + "|" + x.key;
    if (x.kind == "unexplained") {
      std::string shape;
      for (char ch : v.message.substr(0, 60)) shape += std::isdigit(static_cast<unsigned char>(ch)) ? '#' : ch;
      key += shape.substr(shape.find(' ') == std::string::npos ? 0 : shape.find(' '));
    }
    auto [it, fresh] = by_key.try_emplace(key, out.size());
    if (fresh) {
      CauseGroup g;
      g.invariant = v.invariant;
      g.kind = x.kind;
      g.cause = std::move(x.cause);
      g.evidence = std::move(x.evidence);
      const Time at = x.at == kTimeMax ? v.at : x.at;
      g.at = at;
      g.faults_in_force = faults_in_force(run_, at);
      for (const auto& [node, list] : clocks_) {
        const HistoryEvent* last = nullptr;
        for (const auto& e : list)
          if (e.at <= at) last = &e;
        if (!last) continue;
        const auto* cc = last->get<ClockChanged>();
        if (cc->offset != Duration{0} || cc->drift_ppm != 0)
          g.clocks.push_back({lane_name(run_, NodeId{node}), cc->offset, cc->drift_ppm});
      }
      out.push_back(std::move(g));
    }
    out[it->second].members.push_back(i);
  }
  return out;
}

std::vector<std::uint32_t> faults_in_force(const RunResult& run, Time t) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < run.faults.size(); ++i) {
    const FaultRecord& f = run.faults[i];
    if (!f.applied || f.at > t) continue;
    const bool instant = f.healed && f.healed_at == f.at;
    if (instant ? t == f.at : (!f.healed || f.healed_at > t)) out.push_back(i);
  }
  return out;
}

std::vector<CauseGroup::Clock> clocks_at(const RunResult& run, Time t) {
  std::map<std::uint32_t, const HistoryEvent*> last;
  for (const auto& e : run.timeline)
    if (e.is<ClockChanged>() && e.at <= t) last[e.node.value] = &e;
  std::vector<CauseGroup::Clock> out;
  for (const auto& [node, e] : last) {
    const auto* cc = e->get<ClockChanged>();
    if (cc->offset != Duration{0} || cc->drift_ppm != 0) out.push_back({lane_name(run, NodeId{node}), cc->offset, cc->drift_ppm});
  }
  return out;
}

std::vector<CauseGroup> group_violations(const RunResult& run) {
  CauseFinder finder(run);
  for (const auto& e : run.timeline) finder.on_event(e);
  return finder.groups();
}

std::vector<std::string> judged_invariants(const RunResult& run) {
  std::vector<std::string> out;
  for (const auto& name : inv::invariant_names()) {
    bool skipped = false;
    for (const auto& [s, why] : run.skipped) skipped = skipped || s == name;
    if (!skipped) out.push_back(name);
  }
  return out;
}

std::vector<std::string> expected_not_found(const RunResult& run) {
  std::vector<std::string> out;
  for (const auto& name : run.expected) {
    bool found = false;
    for (const auto& v : run.violations) found = found || v.invariant == name;
    if (!found) out.push_back(name);
  }
  return out;
}

std::string not_found_explanation(const RunResult& run, const std::string& invariant) {
  std::string s = "Expected " + invariant + " was not found. ";
  std::size_t fired = 0;
  std::string faults;
  for (const auto& f : run.faults) {
    if (!f.applied) {
      faults += " Fault #" + std::to_string(f.index) + " " + f.kind + " never fired (the run ended before " +
                short_time(f.at) + ").";
      continue;
    }
    ++fired;
    faults += " Fault #" + std::to_string(f.index) + " " + f.kind + " fired at " + short_time(f.at);
    if (f.healed && f.healed_at != f.at) faults += " until " + short_time(f.healed_at);
    if (!f.nodes.empty()) faults += ", on " + inv::join_names(f.nodes);
    if (!f.effective) faults += ", with no effect (" + (f.no_effect.empty() ? std::string("it changed nothing") : f.no_effect) + ")";
    else if (f.effect_count > 0) faults += ", " + std::to_string(f.effect_count) + " messages affected";
    faults += ".";
  }
  s += run.faults.empty() ? "No faults were scheduled." : std::to_string(fired) + " of " + std::to_string(run.faults.size()) + " faults fired:" + faults;
  const auto steps = operator_steps(run);
  if (!steps.empty()) s += " The operator took " + std::to_string(steps.size()) + " steps.";
  const auto judged = judged_invariants(run);
  s += " Judged: " + (judged.empty() ? std::string("none") : inv::join_names(judged)) + ".";
  if (std::find(judged.begin(), judged.end(), invariant) == judged.end())
    s += " " + invariant + " itself was not judged (skipped or not in check).";
  if (run.stopped_early) s += " The run stopped early: liveness was not judged.";
  return s;
}

}  // namespace fl::reports
