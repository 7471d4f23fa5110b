// migration_by_first_starter (MODEL.md; the seed: "The database is upgraded by
// the first server that starts"): each schema migration is applied exactly once,
// by the first server of the new version to start, and no server of that
// version serves before it has finished.
//
// Checked online, each at the instant it becomes certain:
//  - MigrationStarted of schema S while another server's MigrationStarted of S
//    has neither applied nor died (crash/stop/restart rolls its transaction back):
//    two servers migrating at once (the morph lock judged by skewed clocks).
//  - MigrationApplied of S when S was applied before: applied twice.
//  - MigrationStarted of S by a server other than the first server to start with
//    a version of schema >= S that is still running. Servers whose start-up began
//    within kStartTieWindow of each other race for the lock fairly: any of them
//    may migrate (a tie the seed's sentence does not resolve).
//  - ServerServing of a version whose schema S is above the initial schema before
//    any MigrationApplied of S.
// The initial schema is ClusterInfo::initial_schema, or when 0 the schema of the
// version in the history's first ServerStarting (the database was created by the
// servers that start first).
#include <map>

#include "base/assert.h"
#include "base/version.h"
#include "invariants/checkers.h"
#include "invariants/truth.h"

namespace fl::inv {
namespace {

// Two start-ups closer than this race for the migration lock on equal terms:
// far above a database round trip (milliseconds), far below a restart (~5 s, the seed).
constexpr Duration kStartTieWindow = seconds(1);

class MigrationByFirstStarter final : public Invariant {
 public:
  explicit MigrationByFirstStarter(const ClusterInfo& c)
      : Invariant("migration_by_first_starter", c), life_(cluster()), initial_schema_(c.initial_schema) {}

 private:
  struct Start {
    HistoryEvent event;
    std::uint32_t schema = 0;
    std::uint64_t incarnation = 0;
  };

  void handle(const HistoryEvent& e) override {
    life_.observe(e);
    if (const auto* s = e.get<ServerStarting>()) {
      const auto v = parse_version(s->version);
      if (!v) return;  // not ours to judge: the node logs its own bad version
      if (initial_schema_ == 0) initial_schema_ = v->schema();
      starts_.push_back({e, v->schema(), life_.at(e.node).incarnation});
    } else if (e.is<MigrationLockAcquired>()) {
      locks_[e.node] = e;
    } else if (const auto* m = e.get<MigrationStarted>()) {
      started(e, m->schema);
    } else if (const auto* a = e.get<MigrationApplied>()) {
      applied(e, a->schema);
    } else if (e.is<ProcessCrashed>() || e.is<ProcessStopped>() || e.is<ProcessStarted>()) {
      for (auto& [schema, open] : open_) open.erase(e.node);
    } else if (const auto* sv = e.get<ServerServing>()) {
      serving(e, *sv);
    }
  }

  void add_lock(Violation& v, NodeId n) const {
    if (auto it = locks_.find(n); it != locks_.end()) v.witnesses.push_back(it->second);
  }

  std::string schema_text(std::uint32_t s) const {
    return "schema " + std::to_string(s / 1000) + "." + std::to_string(s % 1000);
  }

  void started(const HistoryEvent& e, std::uint32_t schema) {
    auto& open = open_[schema];
    for (const auto& [other, ev] : open) {
      if (other == e.node) continue;
      Violation v;
      v.at = e.at;
      v.nodes = {other, e.node};
      v.witnesses = {ev, e};
      add_lock(v, other);
      add_lock(v, e.node);
      v.message = name_of(other) + " and " + name_of(e.node) + " both migrate " + schema_text(schema) +
                  " at " + at_text(e.at) + " (" + name_of(other) + " since " + at_text(ev.at) +
                  "): the migration lock did not exclude the second.";
      report(std::move(v));
      break;
    }
    open[e.node] = e;
    // The first starter of a version that needs this schema, still running.
    const Start* first = nullptr;
    for (const auto& s : starts_) {
      if (s.schema < schema) continue;
      const NodeLife& l = life_.at(s.event.node);
      if (!l.running || l.incarnation != s.incarnation) continue;  // gone since: not in the race
      first = &s;
      break;
    }
    if (!first || first->event.node == e.node) return;
    for (const auto& s : starts_) {  // a start within the tie window of the first is fair too
      if (s.event.node == e.node && s.schema >= schema && s.event.at <= first->event.at + kStartTieWindow &&
          life_.at(e.node).incarnation == s.incarnation)
        return;
    }
    Violation v;
    v.at = e.at;
    v.nodes = {e.node, first->event.node};
    v.witnesses = {first->event, e};
    add_lock(v, e.node);
    add_lock(v, first->event.node);
    v.message = name_of(e.node) + " migrates " + schema_text(schema) + " at " + at_text(e.at) + ", but " +
                name_of(first->event.node) + " started version " + first->event.get<ServerStarting>()->version +
                " first (at " + at_text(first->event.at) + ") and is still running.";
    report(std::move(v));
  }

  void applied(const HistoryEvent& e, std::uint32_t schema) {
    if (auto it = open_.find(schema); it != open_.end()) it->second.erase(e.node);
    auto [it, fresh] = applied_.try_emplace(schema, e);
    if (fresh) return;
    Violation v;
    v.at = e.at;
    v.nodes = {it->second.node, e.node};
    v.witnesses = {it->second, e};
    add_lock(v, it->second.node);
    add_lock(v, e.node);
    v.message = schema_text(schema) + " was applied twice: by " + name_of(it->second.node) + " at " +
                at_text(it->second.at) + " and by " + name_of(e.node) + " at " + at_text(e.at) + ".";
    report(std::move(v));
  }

  void serving(const HistoryEvent& e, const ServerServing& s) {
    const auto v = parse_version(s.version);
    if (!v || v->schema() <= initial_schema_ || applied_.count(v->schema())) return;
    Violation out;
    out.at = e.at;
    out.nodes = {e.node};
    out.witnesses = {e};
    std::string running;
    if (auto it = open_.find(v->schema()); it != open_.end() && !it->second.empty()) {
      const auto& [who, ev] = *it->second.begin();
      out.witnesses.push_back(ev);
      out.nodes.push_back(who);
      running = " (" + name_of(who) + " has been migrating it since " + at_text(ev.at) + ")";
    }
    out.message = name_of(e.node) + " serves version " + s.version + " at " + at_text(e.at) + " before " +
                  schema_text(v->schema()) + " was applied" + running + ".";
    report(std::move(out));
  }

  LifeBook life_;
  std::uint32_t initial_schema_;
  std::vector<Start> starts_;                                        // every ServerStarting, in order
  std::map<NodeId, HistoryEvent> locks_;                             // last MigrationLockAcquired per node
  std::map<std::uint32_t, std::map<NodeId, HistoryEvent>> open_;     // schema -> migrations in progress
  std::map<std::uint32_t, HistoryEvent> applied_;                    // schema -> first MigrationApplied
};

}  // namespace

std::unique_ptr<Invariant> make_migration_by_first_starter(const ClusterInfo& c, const OptionValues&) {
  return std::make_unique<MigrationByFirstStarter>(c);
}

}  // namespace fl::inv
