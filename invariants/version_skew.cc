// version_skew (MODEL.md; the seed: rolling upgrades only across one minor
// version): at no instant do two running servers differ by more than one minor
// version (base/version.h minor_distance).
//
// A server is judged from its ServerServing (its listener is up: it has joined
// the cluster and serves clients, MODEL.md start-up step 6) to its crash, stop or
// next start, within one incarnation (one ServerStarting). Serving is the sign of
// life, not any event after ServerStarting: a server that takes the migration
// lock and then refuses to start (binary too old, ServerRefusedStart) never joined,
// and neither did one blocked in start-up (issue 8). The violation's time is the
// later ServerServing of the pair (from that instant both served); the witnesses
// are both starts and both ServerServing events.
#include <map>
#include <optional>
#include <set>

#include "base/assert.h"
#include "base/version.h"
#include "invariants/checkers.h"

namespace fl::inv {
namespace {

class VersionSkew final : public Invariant {
 public:
  explicit VersionSkew(const ClusterInfo& c) : Invariant("version_skew", c) {
    read_only(event_mask<ServerStarting, ProcessCrashed, ProcessStopped, ProcessStarted, ServerRefusedStart,
                         ServerServing>());
  }

 private:
  struct Running {
    Version version;
    HistoryEvent starting;
    std::optional<HistoryEvent> serving;  // set once this incarnation serves
  };

  void handle(const HistoryEvent& e) override {
    if (e.node == kNoNode) return;
    if (const auto* s = e.get<ServerStarting>()) {
      running_.erase(e.node);
      if (const auto v = parse_version(s->version)) running_[e.node] = Running{*v, e, std::nullopt};
      return;
    }
    if (e.is<ProcessCrashed>() || e.is<ProcessStopped>() || e.is<ProcessStarted>() || e.is<ServerRefusedStart>()) {
      running_.erase(e.node);
      return;
    }
    if (!e.is<ServerServing>()) return;
    auto it = running_.find(e.node);
    // ServerServing without ServerStarting: a history that does not say which
    // binary runs; nothing to compare.
    if (it == running_.end() || it->second.serving) return;
    it->second.serving = e;
    for (const auto& [other, r] : running_) {
      if (other == e.node || !r.serving) continue;
      if (minor_distance(r.version, it->second.version) <= 1) continue;
      const auto key = std::minmax(other, e.node);
      if (!reported_.insert({key.first, key.second}).second) continue;
      Violation v;
      v.at = e.at;
      v.nodes = {other, e.node};
      v.witnesses = {r.starting, *r.serving, it->second.starting, e};
      v.message = name_of(other) + " (" + r.version.str() + ", serving since " + at_text(r.serving->at) + ") and " +
                  name_of(e.node) + " (" + it->second.version.str() + ") both serve from " + at_text(e.at) + ", " +
                  std::to_string(minor_distance(r.version, it->second.version)) +
                  " minor versions apart (at most one is supported).";
      report(std::move(v));
    }
  }

  std::map<NodeId, Running> running_;
  std::set<std::pair<NodeId, NodeId>> reported_;
};

}  // namespace

std::unique_ptr<Invariant> make_version_skew(const ClusterInfo& c, const OptionValues&) {
  return std::make_unique<VersionSkew>(c);
}

}  // namespace fl::inv
