// plugin_convergence (MODEL.md; the seed: plugins installed through shared
// storage reach every server): with shared storage, every running server runs
// the same plugins within `bound`.
//
// A plugin is installed from the first PluginLoaded of it on any server. Each
// serving server must load it by max(first load, its own serving start, the end
// of the last storage outage) + bound; a server that is down owes nothing, and a
// restarted server starts with no plugins loaded (it loads them again from
// storage). While the shared storage is out, no deadline runs: no server can
// read it. Violations are online at the first event past the deadline (or at the
// end of the run), one per (server, plugin) until it loads.
#include <map>
#include <set>

#include "base/assert.h"
#include "invariants/checkers.h"
#include "invariants/truth.h"

namespace fl::inv {
namespace {

class PluginConvergence final : public Invariant {
 public:
  PluginConvergence(const ClusterInfo& c, Duration bound)
      : Invariant("plugin_convergence", c), bound_(bound), faults_(cluster()), life_(cluster()) {
    FL_ASSERT(bound_ >= Duration{0});
    // Time alone acts in check(), past next_.
    read_timed(FaultBook::reads() | LifeBook::reads() | event_mask<PluginLoaded>());
  }

 private:
  void handle(const HistoryEvent& e) override {
    update(e);
    wake_at(next_ == kTimeMax ? kTimeMax : next_ + Duration{1});
  }

  void update(const HistoryEvent& e) {
    check(e.at);
    if (!cluster().shared_storage) return;
    bool changed = faults_.observe(e);
    if (changed && !faults_.storage_out() && storage_was_out_) storage_back_ = e.at;
    storage_was_out_ = faults_.storage_out();
    changed = life_.observe(e) || changed;
    if (e.is<ProcessStarted>() || e.is<ProcessCrashed>() || e.is<ProcessStopped>()) {
      loaded_.erase(e.node);
      std::erase_if(reported_, [&](const auto& k) { return k.first == e.node; });
    }
    if (const auto* p = e.get<PluginLoaded>()) {
      installed_.try_emplace(p->plugin, e);
      loaded_[e.node].insert(p->plugin);
      changed = true;
    }
    if (changed) recompute();
  }

  void recompute() {
    next_ = kTimeMax;
    if (faults_.storage_out()) return;
    for (const auto& [plugin, first] : installed_) {
      for (NodeId s : cluster().with_role(Role::app_server)) {
        const NodeLife& l = life_.at(s);
        if (!l.serving || has(s, plugin) || reported_.count({s, plugin})) continue;
        next_ = std::min(next_, due(s, first));
      }
    }
  }

  Time due(NodeId s, const HistoryEvent& first) const {
    return std::max({first.at, life_.at(s).serving_since, storage_back_}) + bound_;
  }
  bool has(NodeId s, const std::string& plugin) const {
    auto it = loaded_.find(s);
    return it != loaded_.end() && it->second.count(plugin);
  }

  void check(Time t) {
    if (!(t > next_)) return;
    for (const auto& [plugin, first] : installed_) {
      for (NodeId s : cluster().with_role(Role::app_server)) {
        const NodeLife& l = life_.at(s);
        if (!l.serving || has(s, plugin) || reported_.count({s, plugin})) continue;
        const Time d = due(s, first);
        if (!(t > d)) continue;
        reported_.insert({s, plugin});
        Violation v;
        v.at = d;
        v.nodes = {s, first.node};
        v.witnesses = {first};
        v.message = name_of(s) + " does not run plugin " + plugin + " at " + at_text(d) + ", " +
                    format_duration(bound_) + " after " + name_of(first.node) + " loaded it (at " +
                    at_text(first.at) + ") and " + name_of(s) + " has been serving since " +
                    at_text(l.serving_since) + ".";
        report(std::move(v));
      }
    }
    recompute();
  }

  void judge_at_end(const RunEnd& end) override { check(end.end); }

  Duration bound_;
  FaultBook faults_;
  LifeBook life_;
  std::map<std::string, HistoryEvent> installed_;  // plugin -> its first PluginLoaded
  std::map<NodeId, std::set<std::string>> loaded_;  // per server, in its current process
  std::set<std::pair<NodeId, std::string>> reported_;
  Time storage_back_{};
  bool storage_was_out_ = false;
  Time next_ = kTimeMax;
};

}  // namespace

std::unique_ptr<Invariant> make_plugin_convergence(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<PluginConvergence>(c, option(o, "bound"));
}

}  // namespace fl::inv
