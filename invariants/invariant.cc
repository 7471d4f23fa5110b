#include "invariants/invariant.h"

#include <algorithm>

#include "base/assert.h"

namespace fl::inv {

// A pause is named in a violation's sentence when it ended at most this long
// before the violation: its after-effects (a lock or lease that expired during
// it, TTL 15 s in REFERENCE.md) show up within seconds, not hours later.
constexpr Duration kPauseNoteWindow = minutes(2);

std::string_view role_name(Role role) {
  switch (role) {
    case Role::app_server: return "app_server";
    case Role::db_primary: return "db_primary";
    case Role::db_replica: return "db_replica";
    case Role::proxy: return "proxy";
    case Role::client: return "client";
    case Role::oper: return "operator";
    case Role::storage: return "storage";
    case Role::other: return "other";
  }
  FL_UNREACHABLE();
}

std::string ClusterInfo::name(NodeId id) const {
  if (id == kNoNode) return "-";
  if (const NodeInfo* n = node(id)) return n->name;
  return "node#" + std::to_string(id.value);
}

std::vector<NodeId> ClusterInfo::with_role(Role r) const {
  std::vector<NodeId> out;
  for (std::uint32_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].role == r) out.push_back(NodeId{i});
  return out;
}

NodeId ClusterInfo::find(std::string_view n) const {
  for (std::uint32_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == n) return NodeId{i};
  return kNoNode;
}

std::vector<std::uint64_t> Violation::witness_seqs() const {
  std::vector<std::uint64_t> out;
  out.reserve(witnesses.size());
  for (const auto& w : witnesses) out.push_back(w.seq);
  return out;
}

std::string at_text(Time t) { return format_time(t); }

std::string post_text(std::uint64_t post) {
  return "post " + std::to_string(post >> 32) + ":" + std::to_string(post & 0xffffffffULL);
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += (i + 1 == names.size()) ? " and " : ", ";
    out += names[i];
  }
  return out;
}

Invariant::Invariant(std::string name, const ClusterInfo& cluster)
    : name_(std::move(name)), cluster_(cluster) {
  FL_ASSERT(!name_.empty());
}

void Invariant::on_event(const HistoryEvent& e) {
  FL_ASSERT_MSG(!finished_, "event after finish");
  FL_ASSERT_MSG(e.seq >= next_seq_, "history events out of order");
  FL_ASSERT_MSG(e.at >= now_, "history time went back");
  next_seq_ = e.seq + 1;
  now_ = e.at;
  if (const auto* c = e.get<ClockChanged>()) {
    auto& facts = clocks_[e.node];
    facts.skewed = c->offset != Duration{0} || c->drift_ppm != 0;
    if (facts.skewed) facts.clock = e;
  } else if (e.is<ProcessPaused>()) {
    auto& facts = clocks_[e.node];
    facts.paused = true;
    facts.pause = e;
  }
  if (wants_[e.body.index()] || e.at >= wake_) handle(e);
}

void Invariant::finish(const RunEnd& end) {
  FL_ASSERT_MSG(!finished_, "finish called twice");
  FL_ASSERT(end.end >= now_);
  finished_ = true;
  now_ = end.end;
  judge_at_end(end);
}

std::string Invariant::clock_note(Violation& v) const {
  std::string skew, pause;
  for (NodeId id : v.nodes) {
    auto it = clocks_.find(id);
    if (it == clocks_.end()) continue;
    const ClockFacts& f = it->second;
    if (f.skewed) {
      const auto* c = f.clock.get<ClockChanged>();
      std::string part = name_of(id) + "'s clock " +
                         (c->offset >= Duration{0} ? "+" : "") + format_duration(c->offset);
      if (c->drift_ppm != 0) part += " drifting " + std::to_string(c->drift_ppm) + " ppm";
      skew += (skew.empty() ? "" : ", ") + part;
      v.witnesses.push_back(f.clock);
    }
    if (f.paused) {
      const auto* p = f.pause.get<ProcessPaused>();
      if (f.pause.at <= v.at && f.pause.at + p->length + kPauseNoteWindow >= v.at) {
        pause += (pause.empty() ? "" : ", ") + name_of(id) + " paused for " +
                 format_duration(p->length) + " at " + at_text(f.pause.at);
        v.witnesses.push_back(f.pause);
      }
    }
  }
  std::string note;
  if (!skew.empty()) note = "under clock skew: " + skew;
  if (!pause.empty()) note += (note.empty() ? "" : "; ") + std::string("after a pause: ") + pause;
  return note;
}

void Invariant::report(Violation v) {
  if (violations_.size() >= kMaxViolations) {
    ++dropped_;
    return;
  }
  v.invariant = name_;
  const std::string note = clock_note(v);
  if (!note.empty()) {
    if (!v.message.empty() && v.message.back() == '.') v.message.pop_back();
    v.message += " (" + note + ").";
  }
  std::sort(v.witnesses.begin(), v.witnesses.end(),
            [](const HistoryEvent& a, const HistoryEvent& b) { return a.seq < b.seq; });
  v.witnesses.erase(std::unique(v.witnesses.begin(), v.witnesses.end(),
                                [](const HistoryEvent& a, const HistoryEvent& b) { return a.seq == b.seq; }),
                    v.witnesses.end());
  FL_ASSERT(!v.message.empty());
  violations_.push_back(std::move(v));
}

}  // namespace fl::inv
