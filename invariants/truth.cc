#include "invariants/truth.h"

#include <algorithm>

#include "base/assert.h"

namespace fl::inv {
namespace {

// Faults that happen at an instant and have no "healed" end of their own.
bool is_instant_kind(std::string_view kind) {
  return kind == "clock_step" || kind == "db_failover" || kind == "restart";
}

}  // namespace

bool FaultBook::is_network_kind(std::string_view kind) {
  return kind == "partition" || kind == "one_way" || kind == "loss" || kind == "duplicate" ||
         kind == "reorder" || kind == "delay" || kind == "gossip_send_failure";
}

ActiveFault FaultBook::parse(const HistoryEvent& injected, const ClusterInfo&) {
  const auto* f = injected.get<FaultInjected>();
  FL_ASSERT(f != nullptr);
  ActiveFault a;
  a.injected = injected;
  a.kind = f->kind;
  // The typed record (history.h, FaultInjected::groups): nothing to parse.
  a.groups = f->groups;
  if (a.kind == "partition") {
    a.parsed = a.groups.size() >= 2;
  } else if (a.kind == "one_way" || a.kind == "gossip_send_failure") {
    a.parsed = a.groups.size() == 2 && !a.groups[0].empty() && !a.groups[1].empty();
  } else if (is_network_kind(a.kind)) {  // loss, duplicate, reorder, delay: every link, or one pair
    a.parsed = a.groups.empty() || (a.groups.size() == 1 && a.groups[0].size() == 2);
  } else {
    a.parsed = true;
  }
  // A malformed record is the injector's bug, not something to judge around.
  FL_ASSERT_MSG(a.parsed, "FaultInjected carries the groups its kind needs");
  return a;
}

bool FaultBook::observe(const HistoryEvent& e) {
  auto touch = [&] {
    last_change_ = e.at;
    last_event_ = e;
    has_last_ = true;
  };
  if (const auto* f = e.get<FaultInjected>()) {
    touch();
    if (f->kind == "heal") {
      std::erase_if(active_, [](const auto& kv) { return is_network_kind(kv.second.kind); });
    } else if (!is_instant_kind(f->kind)) {
      if (f->kind == "partition")
        std::erase_if(active_, [](const auto& kv) { return kv.second.kind == "partition"; });
      active_[f->index] = parse(e, *cluster_);
    }
    return true;
  }
  if (const auto* h = e.get<FaultHealed>()) {
    touch();
    active_.erase(h->index);
    return true;
  }
  if (e.is<SettleBegin>()) {
    touch();
    settling_ = true;
    active_.clear();
    return true;
  }
  return false;
}

Link FaultBook::link(NodeId from, NodeId to) const {
  Link result = Link::up;
  auto in = [](const std::vector<NodeId>& g, NodeId n) { return std::find(g.begin(), g.end(), n) != g.end(); };
  for (const auto& [index, a] : active_) {
    if (!is_network_kind(a.kind)) continue;
    if (!a.parsed) {
      result = Link::uncertain;
      continue;
    }
    if (a.kind == "partition") {
      int gf = -1, gt = -1;
      for (std::size_t i = 0; i < a.groups.size(); ++i) {
        if (in(a.groups[i], from)) gf = int(i);
        if (in(a.groups[i], to)) gt = int(i);
      }
      if (gf >= 0 && gt >= 0 && gf != gt) return Link::cut;
    } else if (a.kind == "one_way" || a.kind == "gossip_send_failure") {
      FL_ASSERT(a.groups.size() == 2);
      if (in(a.groups[0], from) && in(a.groups[1], to)) return Link::cut;
    } else if (a.groups.empty() || (in(a.groups[0], from) && in(a.groups[0], to))) {
      result = Link::uncertain;
    }
  }
  return result;
}

bool FaultBook::storage_out() const {
  return std::any_of(active_.begin(), active_.end(),
                     [](const auto& kv) { return kv.second.kind == "storage_outage"; });
}

std::vector<const ActiveFault*> FaultBook::touching(NodeId node) const {
  std::vector<const ActiveFault*> out;
  for (const auto& [index, a] : active_) {
    bool hit = !a.parsed || a.groups.empty() || a.injected.node == node;
    for (const auto& g : a.groups)
      if (std::find(g.begin(), g.end(), node) != g.end()) hit = true;
    if (hit) out.push_back(&a);
  }
  return out;
}

NodeLife& LifeBook::mut(NodeId id) {
  if (id.value >= nodes_.size()) nodes_.resize(id.value + 1);
  return nodes_[id.value];
}

const NodeLife& LifeBook::at(NodeId id) const {
  return id.value < nodes_.size() ? nodes_[id.value] : none_;
}

bool LifeBook::observe(const HistoryEvent& e) {
  if (e.node == kNoNode) return false;
  auto start = [&](NodeLife& n) {
    n.running = true;
    n.paused = false;
    n.serving = false;
    n.refused = false;
    n.since = e.at;
    ++n.incarnation;
  };
  if (e.is<ProcessStarted>()) {
    start(mut(e.node));
    return true;
  }
  if (e.is<ProcessCrashed>() || e.is<ProcessStopped>()) {
    NodeLife& n = mut(e.node);
    n.running = n.paused = n.serving = false;
    n.since = e.at;
    return true;
  }
  if (e.is<ProcessPaused>()) return (mut(e.node).paused = true);
  if (e.is<ProcessResumed>()) {
    mut(e.node).paused = false;
    return true;
  }
  if (const auto* s = e.get<ServerStarting>()) {
    NodeLife& n = mut(e.node);
    if (!n.running) start(n);  // histories without process events (hand-written tests)
    n.version = s->version;
    n.config_hash = s->config_hash;
    return false;
  }
  if (e.is<ServerServing>()) {
    NodeLife& n = mut(e.node);
    if (!n.running) start(n);
    n.serving = true;
    n.serving_since = e.at;
    return true;
  }
  if (e.is<ServerStopping>() || e.is<ServerRefusedStart>()) {
    NodeLife& n = mut(e.node);
    n.serving = false;
    if (e.is<ServerRefusedStart>()) n.refused = true;
    return true;
  }
  if (const auto* c = e.get<ConfigChanged>()) {
    mut(e.node).config_hash = c->config_hash;
    return false;
  }
  return false;
}

}  // namespace fl::inv
