// status_accuracy (MODEL.md; the seed's 15-second rule and red/green status):
// each server's red/green view of each peer matches the truth within 30 s + ε
// (two 15-s attempts, plus `epsilon` for the ping period and connect timeouts),
// and no server marks a peer down before its second failed attempt.
//
// The view of observer O about peer P: the colour of O's last PeerStatus about P;
// PeerDown makes it red; PeerUp makes a red-for-down view green again (a
// PeerStatus that follows corrects it for version or configuration). O has no
// view of a peer it never reported on (it may not have discovered it yet): not judged.
//
// The truth (truth.h): P is red for O when P is not running, or the link O -> P
// is cut (O's sends fail), or P's version or configuration hash differs from
// O's; green otherwise. Not judged while uncertain: O not serving, P paused or
// in start-up (running, not yet serving), or the link O -> P uncertain.
//
// A mismatch that lasts longer than 30 s + ε is a violation at its start + 30 s + ε
// (online, at the first event past that instant, or at the end of the run).
//
// "Second failed attempt", online at PeerDown: its failed_attempts must be >= 2
// and O must have recorded at least two SendFailed to P since it last saw P up
// (PeerUp, a green PeerStatus, or its own start).
#include <map>
#include <optional>

#include "base/assert.h"
#include "invariants/checkers.h"
#include "invariants/truth.h"

namespace fl::inv {
namespace {

// The seed's rule: a failed send is retried 15 s later, and the second failure marks the peer down.
constexpr Duration kRetryInterval = seconds(15);
constexpr std::uint32_t kAttemptsBeforeDown = 2;

class StatusAccuracy final : public Invariant {
 public:
  StatusAccuracy(const ClusterInfo& c, Duration epsilon)
      : Invariant("status_accuracy", c),
        window_(kAttemptsBeforeDown * kRetryInterval + epsilon),
        faults_(cluster()),
        life_(cluster()),
        servers_(c.with_role(Role::app_server)) {
    FL_ASSERT(epsilon >= Duration{0});
  }

 private:
  enum class Colour : std::uint8_t { none, green, red };
  struct Pair {
    Colour view = Colour::none;
    std::string view_reason;       // "down" | "version" | "config" when red
    std::optional<HistoryEvent> view_event;
    std::uint32_t send_failures = 0;
    std::vector<HistoryEvent> failures;  // the SendFailed since P was last seen up (first two kept)
    bool mismatched = false;
    Time since{};
    std::string truth_reason;      // "" green, else why red
    bool reported = false;
  };

  Pair& pair(NodeId o, NodeId p) { return pairs_[{o, p}]; }

  // The truth for O about P now: nullopt when uncertain, else (red?, reason).
  std::optional<std::string> truth(NodeId o, NodeId p) const {
    const NodeLife& lo = life_.at(o);
    const NodeLife& lp = life_.at(p);
    if (!lo.serving || lo.paused) return std::nullopt;
    if (!lp.running) return std::string("down");
    if (lp.paused || !lp.serving) return std::nullopt;
    const Link link = faults_.link(o, p);
    if (link == Link::uncertain) return std::nullopt;
    if (link == Link::cut) return std::string("down");
    if (lo.version != lp.version) return std::string("version");
    if (lo.config_hash != lp.config_hash) return std::string("config");
    return std::string();
  }

  void refresh(NodeId o, NodeId p, Time t) {
    Pair& x = pair(o, p);
    const auto truth_now = truth(o, p);
    bool mismatch = false;
    if (truth_now && x.view != Colour::none) mismatch = (x.view == Colour::red) != !truth_now->empty();
    if (mismatch && !x.mismatched) {
      x.since = t;
      x.reported = false;
    }
    x.mismatched = mismatch;
    if (truth_now) x.truth_reason = *truth_now;
  }

  void refresh_all(Time t) {
    for (NodeId o : servers_)
      for (NodeId p : servers_)
        if (o != p) refresh(o, p, t);
  }

  void recompute_deadline() {
    next_deadline_ = kTimeMax;
    for (const auto& [key, x] : pairs_)
      if (x.mismatched && !x.reported) next_deadline_ = std::min(next_deadline_, x.since + window_);
  }

  // Reports every mismatch that has outlived the window strictly before `t`.
  void check_deadlines(Time t) {
    if (!(t > next_deadline_)) return;  // the common case: one comparison per event
    for (auto& [key, x] : pairs_) {
      if (!x.mismatched || x.reported || !(t > x.since + window_)) continue;
      x.reported = true;
      const auto [o, p] = key;
      Violation v;
      v.at = x.since + window_;
      v.nodes = {o, p};
      if (x.view_event) v.witnesses.push_back(*x.view_event);
      std::string truth_text = x.truth_reason == "down"          ? name_of(p) + " is down or unreachable from " + name_of(o)
                               : x.truth_reason == "version"     ? name_of(p) + "'s version differs"
                               : x.truth_reason == "config"      ? name_of(p) + "'s configuration differs"
                                                                 : name_of(p) + " is up with the same version and configuration";
      v.message = name_of(o) + " shows " + name_of(p) + " " + (x.view == Colour::red ? "red" : "green") +
                  (x.view == Colour::red && !x.view_reason.empty() ? " (" + x.view_reason + ")" : "") + " at " +
                  at_text(v.at) + " although " + truth_text + " since " + at_text(x.since) + ", longer than " +
                  format_duration(window_) + ".";
      for (const ActiveFault* f : faults_.touching(p)) v.witnesses.push_back(f->injected);
      report(std::move(v));
    }
    recompute_deadline();
  }

  void handle(const HistoryEvent& e) override {
    check_deadlines(e.at);
    bool all = faults_.observe(e);
    if (const auto* s = e.get<PeerStatus>()) {
      Pair& x = pair(e.node, s->peer);
      x.view = s->green ? Colour::green : Colour::red;
      x.view_reason = s->green ? "" : s->reason;
      x.view_event = e;
      if (s->green) seen_up(x);
      refresh(e.node, s->peer, e.at);
    } else if (const auto* d = e.get<PeerDown>()) {
      Pair& x = pair(e.node, d->peer);
      check_second_attempt(e, *d, x);
      x.view = Colour::red;
      x.view_reason = "down";
      x.view_event = e;
      refresh(e.node, d->peer, e.at);
    } else if (const auto* u = e.get<PeerUp>()) {
      Pair& x = pair(e.node, u->peer);
      if (x.view != Colour::red || x.view_reason == "down") {
        x.view = Colour::green;
        x.view_reason.clear();
        x.view_event = e;
      }
      seen_up(x);
      refresh(e.node, u->peer, e.at);
    } else if (const auto* f = e.get<SendFailed>()) {
      Pair& x = pair(e.node, f->peer);
      ++x.send_failures;
      if (x.failures.size() < kAttemptsBeforeDown) x.failures.push_back(e);
    } else {
      const bool life = life_.observe(e);
      if (e.is<ProcessStarted>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>()) {
        for (NodeId p : servers_) {  // a new process has no view and no failure count
          if (p == e.node) continue;
          Pair& x = pair(e.node, p);
          x.view = Colour::none;
          x.view_event.reset();
          seen_up(x);
        }
      }
      all = all || life || e.is<ServerStarting>() || e.is<ConfigChanged>();
    }
    if (all) refresh_all(e.at);
    if (e.is<PeerStatus>() || e.is<PeerDown>() || e.is<PeerUp>() || all) recompute_deadline();
  }

  void seen_up(Pair& x) {
    x.send_failures = 0;
    x.failures.clear();
  }

  void check_second_attempt(const HistoryEvent& e, const PeerDown& d, const Pair& x) {
    if (d.failed_attempts >= kAttemptsBeforeDown && x.send_failures >= kAttemptsBeforeDown) return;
    Violation v;
    v.at = e.at;
    v.nodes = {e.node, d.peer};
    v.witnesses = x.failures;
    v.witnesses.push_back(e);
    v.message = name_of(e.node) + " marked " + name_of(d.peer) + " down at " + at_text(e.at) + " after " +
                std::to_string(std::min<std::uint64_t>(d.failed_attempts, x.send_failures)) +
                " failed attempt(s); the seed's rule needs a second attempt 15 s after the first to fail too.";
    report(std::move(v));
  }

  void judge_at_end(const RunEnd& end) override {
    // A mismatch still on at the end counts if it outlived the window by then.
    check_deadlines(end.end);
  }

  Duration window_;
  FaultBook faults_;
  LifeBook life_;
  std::vector<NodeId> servers_;
  std::map<std::pair<NodeId, NodeId>, Pair> pairs_;
  Time next_deadline_ = kTimeMax;
};

}  // namespace

std::unique_ptr<Invariant> make_status_accuracy(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<StatusAccuracy>(c, option(o, "epsilon"));
}

}  // namespace fl::inv
