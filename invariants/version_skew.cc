// version_skew (MODEL.md; the seed: rolling upgrades only across one minor
// version): at no instant do two running servers differ by more than one minor
// version (base/version.h minor_distance).
//
// A server runs from its ServerStarting to its crash or stop. A binary too old
// for the database refuses to start (ServerRefusedStart), which is the safe
// behaviour and not a join: so a server counts only once it has shown any sign of
// life after ServerStarting other than DbConnectFailed or a refusal. The
// violation's time is the later ServerStarting of the pair (from that instant
// both were running); it is reported when the confirmation arrives.
#include <map>
#include <set>

#include "base/assert.h"
#include "base/version.h"
#include "invariants/checkers.h"

namespace fl::inv {
namespace {

class VersionSkew final : public Invariant {
 public:
  explicit VersionSkew(const ClusterInfo& c) : Invariant("version_skew", c) {}

 private:
  struct Running {
    Version version;
    HistoryEvent starting;
    bool confirmed = false;
  };

  void handle(const HistoryEvent& e) override {
    if (e.node == kNoNode) return;
    if (const auto* s = e.get<ServerStarting>()) {
      running_.erase(e.node);
      if (const auto v = parse_version(s->version)) running_[e.node] = Running{*v, e, false};
      return;
    }
    if (e.is<ProcessCrashed>() || e.is<ProcessStopped>() || e.is<ProcessStarted>() || e.is<ServerRefusedStart>()) {
      running_.erase(e.node);
      return;
    }
    // Not signs of the server's own life: its failing database connects, and
    // what the simulator records about it.
    if (e.is<DbConnectFailed>() || e.is<ClockChanged>() || e.is<FaultInjected>() || e.is<FaultHealed>() ||
        e.is<ProcessPaused>() || e.is<ProcessResumed>() || e.is<SettleBegin>())
      return;
    auto it = running_.find(e.node);
    if (it == running_.end() || it->second.confirmed) return;
    it->second.confirmed = true;
    for (const auto& [other, r] : running_) {
      if (other == e.node || !r.confirmed) continue;
      if (minor_distance(r.version, it->second.version) <= 1) continue;
      const auto key = std::minmax(other, e.node);
      if (!reported_.insert({key.first, key.second}).second) continue;
      const bool mine_later = it->second.starting.seq > r.starting.seq;
      const HistoryEvent& later = mine_later ? it->second.starting : r.starting;
      Violation v;
      v.at = later.at;
      v.nodes = {other, e.node};
      v.witnesses = {r.starting, it->second.starting, e};
      v.message = name_of(other) + " (" + r.version.str() + ") and " + name_of(e.node) + " (" +
                  it->second.version.str() + ") run together from " + at_text(later.at) + ", " +
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
