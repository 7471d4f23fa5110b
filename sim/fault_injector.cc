#include "sim/fault_injector.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "base/assert.h"

namespace fl::sim {
namespace {

using Kind = FaultRecord::Kind;

bool is_network(Kind k) { return k == Kind::partition || k == Kind::one_way; }
bool is_link(Kind k) { return k == Kind::loss || k == Kind::duplicate || k == Kind::reorder || k == Kind::delay; }

std::string rate_text(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", rate);
  return buf;
}

std::string signed_duration(Duration d) { return (d.count() >= 0 ? "+" : "") + format_duration(d); }

}  // namespace

std::string_view fault_kind_name(FaultRecord::Kind kind) {
  switch (kind) {
    case Kind::partition: return "partition";
    case Kind::one_way: return "one_way";
    case Kind::heal: return "heal";
    case Kind::loss: return "loss";
    case Kind::duplicate: return "duplicate";
    case Kind::reorder: return "reorder";
    case Kind::delay: return "delay";
    case Kind::crash: return "crash";
    case Kind::restart: return "restart";
    case Kind::stop: return "stop";
    case Kind::start: return "start";
    case Kind::pause: return "pause";
    case Kind::clock_skew: return "clock_skew";
    case Kind::clock_step: return "clock_step";
    case Kind::control: return "control";
    case Kind::custom: return "custom";
  }
  FL_UNREACHABLE();
}

FaultInjector::FaultInjector(Simulation& sim, std::vector<FaultRecord> schedule)
    : sim_(sim), records_(std::move(schedule)), base_link_(sim.default_link()) {
  const std::size_t n = records_.size();
  outcomes_.resize(n);
  counter_at_apply_.resize(n, 0);
  apply_order_.resize(n, 0);
  saved_clocks_.resize(n);
  crashed_here_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const FaultRecord& r = records_[i];
    // Records come from a validated scenario or the fuzzer: shape errors are ours.
    FL_ASSERT(ns(r.at) >= 0);
    FL_ASSERT(!r.duration || r.duration->count() >= 0);
    FL_ASSERT(r.rate >= 0.0 && r.rate <= 1.0);
    if (r.kind == Kind::pause) FL_ASSERT_MSG(r.duration.has_value(), "a pause needs its length (for)");
    if (r.kind == Kind::control) FL_ASSERT(!r.nodes.empty());
    if (r.kind == Kind::custom) FL_ASSERT_MSG(!r.label.empty(), "a custom fault is named by its label");
    outcomes_[i].detail = describe(r);
  }
}

void FaultInjector::set_custom_handler(CustomFaultHandler handler) { custom_ = std::move(handler); }

std::string_view FaultInjector::kind_name(const FaultRecord& r) const {
  return r.label.empty() ? fault_kind_name(r.kind) : std::string_view(r.label);
}

std::string FaultInjector::names(const std::vector<NodeId>& nodes) const {
  std::string out;
  for (NodeId n : nodes) {
    if (!out.empty()) out += ' ';
    out += sim_.name(n);
  }
  return out;
}

std::string FaultInjector::describe(const FaultRecord& r) const {
  std::string d(kind_name(r));
  const auto between = [&] {
    return r.between ? " between " + sim_.name(r.between->first) + " " + sim_.name(r.between->second)
                     : std::string(" on every link");
  };
  switch (r.kind) {
    case Kind::partition:
      for (std::size_t g = 0; g < r.groups.size(); ++g) d += (g == 0 ? " " : " | ") + names(r.groups[g]);
      break;
    case Kind::one_way: d += " " + names(r.from) + " -> " + names(r.to); break;
    case Kind::heal: break;
    case Kind::loss:
    case Kind::duplicate:
    case Kind::reorder: d += " " + rate_text(r.rate) + between(); break;
    case Kind::delay: d += " " + format_duration(r.latency.lo) + ".." + format_duration(r.latency.hi) + between(); break;
    case Kind::crash:
      d += " " + names(r.nodes);
      if (r.restart_after) d += " restart_after " + format_duration(*r.restart_after);
      break;
    case Kind::restart:
    case Kind::stop:
    case Kind::start:
    case Kind::pause:
    case Kind::custom:
      if (!r.nodes.empty()) d += " " + names(r.nodes);
      break;
    case Kind::clock_skew:
      d += " " + names(r.nodes) + " offset " + signed_duration(r.offset) + " drift " + std::to_string(r.drift_ppm) + "ppm";
      break;
    case Kind::clock_step: d += " " + names(r.nodes) + " by " + signed_duration(r.by); break;
    case Kind::control: {
      static constexpr const char* kOps[] = {"stop", "start", "restart", "crash", "set_spec"};
      d += " " + names(r.nodes) + " " + kOps[static_cast<int>(r.op.kind)];
      if (!r.op.key.empty()) d += " " + r.op.key + "=" + r.op.value;
      break;
    }
  }
  if (r.duration) d += " for " + format_duration(*r.duration);
  return d;
}

std::uint64_t FaultInjector::counter_for(Kind kind) const {
  switch (kind) {
    case Kind::partition:
    case Kind::one_way: return sim_.messages_cut();
    case Kind::loss: return sim_.messages_lost();
    case Kind::duplicate: return sim_.messages_duplicated();
    case Kind::reorder: return sim_.messages_reordered();
    case Kind::delay: return sim_.messages_delayed();
    default: return 0;
  }
}

void FaultInjector::schedule() {
  FL_ASSERT_MSG(!scheduled_, "a fault schedule is scheduled once");
  scheduled_ = true;
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const FaultRecord& r = records_[i];
    sim_.at(r.at, [this, i](Simulation&) { apply(i); });
    std::optional<Duration> length = r.duration;
    if (r.kind == Kind::crash && r.restart_after) length = r.restart_after;
    if (length && r.kind != Kind::heal) sim_.at(r.at + *length, [this, i](Simulation&) { end(i, false); });
  }
}

// The network as the active faults make it, from scratch: ending one fault
// leaves every other in force (two overlapping cuts of one link, a loss on
// every link under a delay between two nodes).
void FaultInjector::rebuild_network() {
  sim_.heal();
  std::vector<std::size_t> active;
  for (std::size_t i = 0; i < records_.size(); ++i)
    if (outcomes_[i].active && (is_network(records_[i].kind) || is_link(records_[i].kind))) active.push_back(i);
  std::sort(active.begin(), active.end(), [&](std::size_t a, std::size_t b) { return apply_order_[a] < apply_order_[b]; });
  LinkConfig all = base_link_;
  std::map<std::pair<NodeId, NodeId>, LinkConfig> pairs;
  for (std::size_t i : active) {
    const FaultRecord& r = records_[i];
    if (r.kind == Kind::partition) {
      sim_.partition(r.groups);  // at most one is active: a later one ends the earlier
      continue;
    }
    if (r.kind == Kind::one_way) {
      for (NodeId f : r.from)
        for (NodeId t : r.to) sim_.cut_one_way(f, t);
      continue;
    }
    auto modify = [&](LinkConfig& l) {
      switch (r.kind) {
        case Kind::loss: l.loss = r.rate; break;
        case Kind::duplicate: l.duplicate = r.rate; break;
        case Kind::reorder: l.reorder = r.rate; break;
        case Kind::delay: l.latency = r.latency; break;
        default: FL_UNREACHABLE();
      }
    };
    if (!r.between) {
      modify(all);
      for (auto& [pair, link] : pairs) modify(link);  // "on every link" includes the overridden ones
    } else {
      auto key = std::minmax(r.between->first, r.between->second, [](NodeId a, NodeId b) { return a.value < b.value; });
      auto [it, fresh] = pairs.emplace(std::pair<NodeId, NodeId>(key.first, key.second), all);
      modify(it->second);
    }
  }
  sim_.set_default_link(all);
  for (const auto& [pair, link] : pairs) sim_.set_link(pair.first, pair.second, link);
}

void FaultInjector::apply(std::size_t index) {
  const FaultRecord& r = records_[index];
  FaultOutcome& out = outcomes_[index];
  FL_ASSERT(!out.applied);
  out.applied = true;
  out.active = true;
  out.applied_at = sim_.now();
  apply_order_[index] = ++applied_count_;
  counter_at_apply_[index] = counter_for(r.kind);
  out.nodes = r.nodes;
  bool lasting = true;  // has an end (by its `for`, a heal, or settle)
  switch (r.kind) {
    case Kind::partition:
      // A new partition replaces the one in force (Simulation::partition).
      for (std::size_t j = 0; j < records_.size(); ++j)
        if (j != index && outcomes_[j].active && records_[j].kind == Kind::partition) end(j, false);
      out.effective = true;  // judged when it ends: did it cut a message?
      break;
    case Kind::one_way:
    case Kind::loss:
    case Kind::duplicate:
    case Kind::reorder:
    case Kind::delay:
      out.effective = true;  // judged when it ends
      break;
    case Kind::heal: {
      lasting = false;
      bool any = false;
      for (std::size_t j = 0; j < records_.size(); ++j) {
        if (j == index || !outcomes_[j].active || !(is_network(records_[j].kind) || is_link(records_[j].kind))) continue;
        any = true;
        end(j, false);
      }
      out.effective = any;
      if (!any) out.no_effect = "there was no network fault to heal";
      break;
    }
    case Kind::crash:
      for (NodeId n : r.nodes) {
        if (!sim_.running(n)) {
          out.no_effect = "the crash of " + sim_.name(n) + " found it already down";
          continue;
        }
        sim_.crash(n);
        crashed_here_[index].push_back(n);
      }
      out.effective = !crashed_here_[index].empty();
      lasting = out.effective;
      break;
    case Kind::restart:
      lasting = false;
      for (NodeId n : r.nodes) {
        if (sim_.running(n)) {
          out.no_effect = "the restart of " + sim_.name(n) + " found it running";
          continue;
        }
        sim_.start(n);
        out.effective = true;
      }
      break;
    case Kind::stop:
      for (NodeId n : r.nodes) {
        out.effective = out.effective || sim_.running(n);
        sim_.stop(n);
      }
      break;
    case Kind::start:
      for (NodeId n : r.nodes) {
        out.effective = out.effective || !sim_.running(n);
        sim_.start(n);
      }
      break;
    case Kind::pause:
      for (NodeId n : r.nodes) {
        if (!sim_.running(n)) {
          out.no_effect = "the pause of " + sim_.name(n) + " found it down";
          continue;
        }
        sim_.pause(n, *r.duration);
        out.effective = true;
      }
      lasting = out.effective;
      break;
    case Kind::clock_skew: {
      auto& saved = saved_clocks_[index];
      saved.clear();
      for (NodeId n : r.nodes) {
        saved.push_back({sim_.clock_offset(n), sim_.clock_drift_ppm(n)});
        out.effective = out.effective || saved.back().offset != r.offset || saved.back().drift_ppm != r.drift_ppm;
        sim_.set_clock(n, r.offset, r.drift_ppm);
      }
      if (!out.effective) out.no_effect = "the clock already had that offset and drift";
      break;
    }
    case Kind::clock_step:
      for (NodeId n : r.nodes) sim_.step_clock(n, r.by);
      out.effective = r.by.count() != 0 && !r.nodes.empty();
      lasting = r.duration.has_value();  // stepped back after `for`
      break;
    case Kind::control:
      sim_.control(r.nodes.front(), r.op);
      out.effective = true;
      lasting = false;
      break;
    case Kind::custom: {
      FL_ASSERT_MSG(custom_.apply != nullptr, "a custom fault needs a CustomFaultHandler");
      out.no_effect = custom_.apply(index, r, out);
      out.effective = out.no_effect.empty();
      lasting = out.effective && custom_.end != nullptr;
      break;
    }
  }
  if (!lasting) {
    out.active = false;
    out.ended = true;
    out.ended_at = out.applied_at;
  }
  NodeGroups groups;
  switch (r.kind) {
    case Kind::partition: groups = r.groups; break;
    case Kind::one_way: groups = {r.from, r.to}; break;
    case Kind::loss:
    case Kind::duplicate:
    case Kind::reorder:
    case Kind::delay:
      if (r.between) groups = {{r.between->first, r.between->second}};
      break;
    case Kind::heal: break;
    default:
      if (!out.nodes.empty()) groups = {out.nodes};
      break;
  }
  const NodeId first = !out.nodes.empty()                                ? out.nodes.front()
                       : !r.groups.empty() && !r.groups.front().empty() ? r.groups.front().front()
                       : !r.from.empty()                                ? r.from.front()
                       : r.between                                      ? r.between->first
                                                                        : kNoNode;
  sim_.emit(first, FaultInjected{static_cast<std::uint32_t>(index), std::string(kind_name(r)), out.detail,
                                 std::move(groups), out.effective});
  if (is_network(r.kind) || is_link(r.kind) || r.kind == Kind::heal) rebuild_network();
}

void FaultInjector::emit_ended(std::size_t index) {
  FaultOutcome& out = outcomes_[index];
  out.active = false;
  out.ended = true;
  out.ended_at = sim_.now();
  sim_.emit(kNoNode, FaultHealed{static_cast<std::uint32_t>(index), std::string(kind_name(records_[index]))});
}

void FaultInjector::end(std::size_t index, bool settling) {
  const FaultRecord& r = records_[index];
  FaultOutcome& out = outcomes_[index];
  if (!out.active) return;  // ended already (heal, replacement, settle) or nothing to end
  if (is_network(r.kind) || is_link(r.kind)) {
    out.effect_count = counter_for(r.kind) - counter_at_apply_[index];
    out.effective = out.effect_count > 0;
    if (!out.effective) {
      out.no_effect = r.kind == Kind::loss        ? "it lost no message"
                      : r.kind == Kind::duplicate ? "it duplicated no message"
                      : r.kind == Kind::reorder   ? "it reordered no message"
                      : r.kind == Kind::delay     ? "it delayed no message"
                                                  : "it cut no message";
    }
  }
  switch (r.kind) {
    case Kind::crash:
      if (!settling) {
        for (NodeId n : crashed_here_[index]) {
          if (sim_.process_state(n) == ProcessState::crashed) sim_.start(n);
          else if (sim_.process_state(n) == ProcessState::stopped) out.restart_cancelled.push_back(n);
        }
      }
      break;
    case Kind::stop:
      for (NodeId n : r.nodes) sim_.start(n);  // a stop injected as a fault comes back like a crash
      break;
    case Kind::start:
      if (!settling) for (NodeId n : r.nodes) sim_.stop(n);
      break;
    case Kind::clock_skew:
      if (!settling) {
        const auto& saved = saved_clocks_[index];
        for (std::size_t i = 0; i < r.nodes.size(); ++i) sim_.set_clock(r.nodes[i], saved[i].offset, saved[i].drift_ppm);
      }
      break;
    case Kind::clock_step:
      if (!settling) for (NodeId n : r.nodes) sim_.step_clock(n, -r.by);
      break;
    case Kind::pause:
      // The simulator resumes it after its length; settle resumes it early.
      if (settling) for (NodeId n : r.nodes) sim_.resume(n);
      break;
    case Kind::custom:
      if (custom_.end) custom_.end(index, r);
      break;
    case Kind::partition:
    case Kind::one_way:
    case Kind::heal:
    case Kind::loss:
    case Kind::duplicate:
    case Kind::reorder:
    case Kind::delay:
    case Kind::restart:
    case Kind::control: break;
  }
  emit_ended(index);
  if ((is_network(r.kind) || is_link(r.kind)) && !settling) rebuild_network();
}

void FaultInjector::heal_everything() {
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const Kind k = records_[i].kind;
    // Clocks keep their offsets (DESIGN.md, Phases of a run); everything
    // else the schedule broke ends now.
    if (k == Kind::clock_skew || (k == Kind::clock_step && !records_[i].duration)) continue;
    end(i, true);
  }
  rebuild_network();
  // Every paused process resumes (a pause is a fault, whatever its length),
  // and crashed ones restart; a stopped one was the operator's choice.
  for (std::uint32_t n = 0; n < sim_.node_count(); ++n) sim_.resume(NodeId{n});
  for (std::uint32_t n = 0; n < sim_.node_count(); ++n)
    if (sim_.process_state(NodeId{n}) == ProcessState::crashed) sim_.start(NodeId{n});
}

std::vector<FaultOutcome> FaultInjector::outcomes() const {
  std::vector<FaultOutcome> out = outcomes_;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const Kind k = records_[i].kind;
    if (out[i].active && (is_network(k) || is_link(k))) {
      out[i].effect_count = counter_for(k) - counter_at_apply_[i];
      out[i].effective = out[i].effect_count > 0;
    }
  }
  return out;
}

}  // namespace fl::sim
