#include "sim/fault_injector.h"

#include <cstdio>

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

std::string signed_duration(Duration d) {
  return (d.count() >= 0 ? "+" : "") + format_duration(d);
}

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
  }
  FL_UNREACHABLE();
}

FaultInjector::FaultInjector(Simulation& sim, std::vector<FaultRecord> schedule)
    : sim_(sim), records_(std::move(schedule)) {
  outcomes_.resize(records_.size());
  counter_at_apply_.resize(records_.size(), 0);
  saved_links_.resize(records_.size());
  saved_clocks_.resize(records_.size());
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const FaultRecord& r = records_[i];
    // Records come from a validated scenario or the fuzzer: shape errors are ours.
    FL_ASSERT(ns(r.at) >= 0);
    FL_ASSERT(!r.duration || r.duration->count() >= 0);
    FL_ASSERT(r.rate >= 0.0 && r.rate <= 1.0);
    if (r.kind == Kind::pause) FL_ASSERT_MSG(r.duration.has_value(), "a pause needs its length (for)");
    if (r.kind == Kind::control) FL_ASSERT(!r.nodes.empty());
    outcomes_[i].detail = describe(r);
  }
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
  std::string d = r.label.empty() ? std::string(fault_kind_name(r.kind)) : r.label;
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
    case Kind::delay:
      d += " " + format_duration(r.latency.lo) + ".." + format_duration(r.latency.hi) + between();
      break;
    case Kind::crash:
      d += " " + names(r.nodes);
      if (r.restart_after) d += " restart_after " + format_duration(*r.restart_after);
      break;
    case Kind::restart:
    case Kind::stop:
    case Kind::start:
    case Kind::pause: d += " " + names(r.nodes); break;
    case Kind::clock_skew:
      d += " " + names(r.nodes) + " offset " + signed_duration(r.offset) + " drift " +
           std::to_string(r.drift_ppm) + "ppm";
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
    // A pause ends by itself; a crash's restart_after is its own undo.
    if (r.duration && r.kind != Kind::pause && r.kind != Kind::heal) {
      sim_.at(r.at + *r.duration, [this, i](Simulation&) { undo(i); });
    }
  }
}

void FaultInjector::set_link_field(const FaultRecord& r, std::size_t index) {
  SavedLink& saved = saved_links_[index];
  LinkConfig cfg;
  if (r.between) {
    saved.is_default = false;
    saved.a = r.between->first;
    saved.b = r.between->second;
    saved.config = sim_.link(saved.a, saved.b);
    cfg = saved.config;
  } else {
    saved.is_default = true;
    saved.config = sim_.default_link();
    cfg = saved.config;
  }
  switch (r.kind) {
    case Kind::loss: cfg.loss = r.rate; break;
    case Kind::duplicate: cfg.duplicate = r.rate; break;
    case Kind::reorder: cfg.reorder = r.rate; break;
    case Kind::delay: cfg.latency = r.latency; break;
    default: FL_UNREACHABLE();
  }
  if (r.between) {
    sim_.set_link(saved.a, saved.b, cfg);
  } else {
    // A link fault on every link: the default, and every existing override, so
    // that no pair escapes it. Overrides are not enumerable through the API, so
    // the default carries it; pairs with their own set_link keep theirs.
    sim_.set_default_link(cfg);
  }
}

void FaultInjector::apply(std::size_t index) {
  const FaultRecord& r = records_[index];
  FaultOutcome& out = outcomes_[index];
  FL_ASSERT(!out.applied);
  out.applied = true;
  out.active = true;
  counter_at_apply_[index] = counter_for(r.kind);
  switch (r.kind) {
    case Kind::partition:
      sim_.partition(r.groups);
      current_partition_ = index;
      break;
    case Kind::one_way:
      for (NodeId f : r.from)
        for (NodeId t : r.to) sim_.cut_one_way(f, t);
      break;
    case Kind::heal: {
      bool any = false;
      for (std::size_t i = 0; i < records_.size(); ++i) {
        if (i != index && outcomes_[i].active && (is_network(records_[i].kind) || is_link(records_[i].kind))) any = true;
      }
      heal_network_faults();
      out.effective = any;
      out.active = false;
      break;
    }
    case Kind::loss:
    case Kind::duplicate:
    case Kind::reorder:
    case Kind::delay: set_link_field(r, index); break;
    case Kind::crash:
      for (NodeId n : r.nodes) {
        if (sim_.running(n)) out.effective = true;
        if (r.restart_after) sim_.restart(n, *r.restart_after);
        else sim_.crash(n);
      }
      if (r.restart_after) out.active = false;  // undone by the restart itself
      break;
    case Kind::restart:
      for (NodeId n : r.nodes) {
        out.effective = out.effective || sim_.process_state(n) != ProcessState::never_started;
        if (sim_.running(n)) sim_.restart(n, Duration{0});
        else sim_.start(n);
      }
      out.active = false;
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
        out.effective = out.effective || sim_.running(n);
        sim_.pause(n, *r.duration);
      }
      out.active = false;
      break;
    case Kind::clock_skew: {
      auto& saved = saved_clocks_[index];
      saved.clear();
      for (NodeId n : r.nodes) {
        saved.push_back({sim_.clock_offset(n), sim_.clock_drift_ppm(n)});
        out.effective = out.effective || saved.back().offset != r.offset || saved.back().drift_ppm != r.drift_ppm;
        sim_.set_clock(n, r.offset, r.drift_ppm);
      }
      break;
    }
    case Kind::clock_step:
      for (NodeId n : r.nodes) sim_.step_clock(n, r.by);
      out.effective = r.by.count() != 0 && !r.nodes.empty();
      break;
    case Kind::control:
      sim_.control(r.nodes.front(), r.op);
      out.effective = true;  // what it did is the harness's to judge
      break;
  }
  if (!r.duration && r.kind != Kind::crash && !is_network(r.kind) && !is_link(r.kind) &&
      r.kind != Kind::stop) {
    out.active = false;  // nothing to undo later
  }
  const NodeId first = !r.nodes.empty() ? r.nodes.front()
                       : !r.groups.empty() && !r.groups.front().empty() ? r.groups.front().front()
                       : !r.from.empty() ? r.from.front()
                       : r.between ? r.between->first
                                   : kNoNode;
  sim_.emit(first, FaultInjected{static_cast<std::uint32_t>(index), std::string(fault_kind_name(r.kind)), out.detail});
}

void FaultInjector::undo(std::size_t index) {
  const FaultRecord& r = records_[index];
  FaultOutcome& out = outcomes_[index];
  if (!out.active) return;  // healed already (heal, settle) or nothing to undo
  out.active = false;
  if (is_network(r.kind) || is_link(r.kind)) {
    out.effect_count = counter_for(r.kind) - counter_at_apply_[index];
    out.effective = out.effect_count > 0;
  }
  switch (r.kind) {
    case Kind::partition:
      if (current_partition_ == index) {
        sim_.heal_partition();
        current_partition_.reset();
      }
      break;
    case Kind::one_way:
      for (NodeId f : r.from)
        for (NodeId t : r.to) sim_.heal_one_way(f, t);
      break;
    case Kind::loss:
    case Kind::duplicate:
    case Kind::reorder:
    case Kind::delay: {
      const SavedLink& saved = saved_links_[index];
      if (saved.is_default) sim_.set_default_link(saved.config);
      else sim_.set_link(saved.a, saved.b, saved.config);
      break;
    }
    case Kind::crash:
    case Kind::stop:
      for (NodeId n : r.nodes) sim_.start(n);
      break;
    case Kind::start:
      for (NodeId n : r.nodes) sim_.stop(n);
      break;
    case Kind::clock_skew: {
      const auto& saved = saved_clocks_[index];
      for (std::size_t i = 0; i < r.nodes.size(); ++i) sim_.set_clock(r.nodes[i], saved[i].offset, saved[i].drift_ppm);
      break;
    }
    case Kind::clock_step:
      for (NodeId n : r.nodes) sim_.step_clock(n, -r.by);
      break;
    case Kind::heal:
    case Kind::restart:
    case Kind::pause:
    case Kind::control: break;
  }
  sim_.emit(kNoNode, FaultHealed{static_cast<std::uint32_t>(index), std::string(fault_kind_name(r.kind))});
}

void FaultInjector::heal_network_faults() {
  for (std::size_t i = 0; i < records_.size(); ++i) {
    FaultOutcome& out = outcomes_[i];
    const Kind k = records_[i].kind;
    if (!out.active || !(is_network(k) || is_link(k))) continue;
    if (is_link(k) && saved_links_[i].is_default) sim_.set_default_link(saved_links_[i].config);
    out.effect_count = counter_for(k) - counter_at_apply_[i];
    out.effective = out.effect_count > 0;
    out.active = false;
    sim_.emit(kNoNode, FaultHealed{static_cast<std::uint32_t>(i), std::string(fault_kind_name(k))});
  }
  current_partition_.reset();
  sim_.heal();
}

void FaultInjector::heal_everything() {
  heal_network_faults();
  for (std::size_t i = 0; i < records_.size(); ++i) {
    FaultOutcome& out = outcomes_[i];
    const Kind k = records_[i].kind;
    if (out.active && (k == Kind::crash || k == Kind::stop)) {
      out.active = false;
      // A stop injected as a fault is healed like a crash: the process comes back.
      if (k == Kind::stop) for (NodeId n : records_[i].nodes) sim_.start(n);
      sim_.emit(kNoNode, FaultHealed{static_cast<std::uint32_t>(i), std::string(fault_kind_name(k))});
    }
  }
  // Crashed processes come back (a stopped one was the operator's choice).
  for (std::uint32_t n = 0; n < sim_.node_count(); ++n) {
    if (sim_.process_state(NodeId{n}) == ProcessState::crashed) sim_.start(NodeId{n});
  }
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
