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
// "Second failed attempt", online at PeerDown: the attempts are the observer's
// own SendFailed events about that peer, with the attempt number the node gives
// them. An attempt 1 opens a chain, a later attempt >= 2 closes it; the chain is
// cleared when O sees P up again (PeerUp: the node's count restarts), when O
// marks P down, and when O starts a new incarnation (ProcessStarted,
// ProcessCrashed, ProcessStopped, ServerStarting: a new process remembers no
// attempt). A green PeerStatus does not clear it: a suspect peer (one failed
// attempt, retry pending) is still green, and the retry still counts (issue 13,
// finding 3). At PeerDown, failed_attempts must be >= 2, the chain must hold both
// attempts, and they must be 15 s apart (the retry interval); see kRetrySlack.
#include <algorithm>
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
// The retry timer runs on the sender's local clock (MODEL.md, Clocks): with a
// drift of up to +1000 ppm its 15 s are 14.985 s of virtual time. 100 ms covers
// that with room, and is far below any spacing a wrong retry would show (none,
// or a probe period of seconds). The spacing is judged on virtual time with this
// slack; a clock step of the sender during the wait moves its timer too (the
// simulator re-arms timers on a step), so a spacing that is 15 s on the sender's
// own clock (HistoryEvent::local) is accepted as well.
constexpr Duration kRetrySlack = milliseconds(100);

class StatusAccuracy final : public Invariant {
 public:
  StatusAccuracy(const ClusterInfo& c, Duration epsilon)
      : Invariant("status_accuracy", c),
        window_(kAttemptsBeforeDown * kRetryInterval + epsilon),
        faults_(cluster()),
        life_(cluster()),
        servers_(c.with_role(Role::app_server)) {
    FL_ASSERT(epsilon >= Duration{0});
    // Time alone acts in check_deadlines(), past next_deadline_.
    read_timed(FaultBook::reads() | LifeBook::reads() |
               event_mask<PeerStatus, PeerDown, PeerUp, SendFailed, ServerStarting, ConfigChanged>());
  }

 private:
  enum class Colour : std::uint8_t { none, green, red };
  struct Pair {
    Colour view = Colour::none;
    std::string view_reason;       // "down" | "version" | "config" when red
    std::optional<HistoryEvent> view_event;
    // The observer's current chain of failed attempts (see the header).
    std::optional<HistoryEvent> first_attempt;   // SendFailed with attempt 1
    std::optional<HistoryEvent> second_attempt;  // a later SendFailed with attempt >= 2
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
    // O's sends to P failing make P down for O. A cut of P's answers alone
    // (P -> O) is judged neither way: O's sends still succeed, so an up peer
    // stays up; but a down peer is marked up again only by an answer to O's
    // probe, which cannot come, so it stays down. Both are right.
    const Link there = faults_.link(o, p), back = faults_.link(p, o);
    if (there == Link::cut) return std::string("down");
    if (there == Link::uncertain || back != Link::up) return std::nullopt;
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
    update(e);
    wake_at(next_deadline_ == kTimeMax ? kTimeMax : next_deadline_ + Duration{1});
  }

  void update(const HistoryEvent& e) {
    check_deadlines(e.at);
    bool all = faults_.observe(e);
    if (const auto* s = e.get<PeerStatus>()) {
      Pair& x = pair(e.node, s->peer);
      x.view = s->green ? Colour::green : Colour::red;
      x.view_reason = s->green ? "" : s->reason;
      x.view_event = e;
      refresh(e.node, s->peer, e.at);
    } else if (const auto* d = e.get<PeerDown>()) {
      Pair& x = pair(e.node, d->peer);
      check_second_attempt(e, *d, x);
      clear_attempts(x);
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
      clear_attempts(x);
      refresh(e.node, u->peer, e.at);
    } else if (const auto* f = e.get<SendFailed>()) {
      Pair& x = pair(e.node, f->peer);
      if (f->attempt <= 1) {
        x.first_attempt = e;
        x.second_attempt.reset();
      } else if (!x.second_attempt) {
        x.second_attempt = e;
      }
    } else {
      const bool life = life_.observe(e);
      const bool new_process = e.is<ProcessStarted>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>();
      // Only app servers have views (pairs_ stays servers x servers: a
      // client's start must not add a pair per server, issue 12).
      const bool server = std::find(servers_.begin(), servers_.end(), e.node) != servers_.end();
      if (server && (new_process || e.is<ServerStarting>())) {
        for (NodeId p : servers_) {  // a new incarnation remembers no failed attempt
          if (p == e.node) continue;
          Pair& x = pair(e.node, p);
          clear_attempts(x);
          if (!new_process) continue;
          x.view = Colour::none;  // and a new process has no view
          x.view_event.reset();
        }
      }
      all = all || life || e.is<ServerStarting>() || e.is<ConfigChanged>();
    }
    if (all) refresh_all(e.at);
    if (e.is<PeerStatus>() || e.is<PeerDown>() || e.is<PeerUp>() || all) recompute_deadline();
  }

  static void clear_attempts(Pair& x) {
    x.first_attempt.reset();
    x.second_attempt.reset();
  }

  void check_second_attempt(const HistoryEvent& e, const PeerDown& d, const Pair& x) {
    std::uint32_t seen = 0;
    Violation v;
    v.at = e.at;
    v.nodes = {e.node, d.peer};
    if (x.first_attempt) {
      ++seen;
      v.witnesses.push_back(*x.first_attempt);
    }
    if (x.second_attempt) {
      ++seen;
      v.witnesses.push_back(*x.second_attempt);
    }
    v.witnesses.push_back(e);
    const bool complete = x.first_attempt && x.second_attempt;
    if (d.failed_attempts >= kAttemptsBeforeDown && complete) {
      const HistoryEvent& a = *x.first_attempt;
      const HistoryEvent& b = *x.second_attempt;
      const Duration on_virtual = b.at - a.at;
      const Duration on_local = b.local - a.local;
      if (on_virtual >= kRetryInterval - kRetrySlack || on_local >= kRetryInterval) return;
      v.message = name_of(e.node) + " marked " + name_of(d.peer) + " down at " + at_text(e.at) +
                  " after two failed attempts only " + format_duration(on_virtual) + " apart (at " + at_text(a.at) +
                  " and " + at_text(b.at) + "); the seed's rule retries 15 s after the first failure.";
      report(std::move(v));
      return;
    }
    // A second attempt with no first in this chain is one attempt, not two.
    const std::uint32_t counted = std::min<std::uint32_t>(d.failed_attempts, complete ? seen : std::min(seen, 1u));
    v.message = name_of(e.node) + " marked " + name_of(d.peer) + " down at " + at_text(e.at) + " after " +
                std::to_string(counted) +
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
