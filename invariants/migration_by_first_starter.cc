// migration_by_first_starter (MODEL.md; the seed: "The database is upgraded by
// the first server that starts"): each schema migration is applied exactly once,
// by the first server of the new version to start, and no server of that
// version serves before it has finished.
//
// What that means under crashes and restarts (docs/model.md, "Invariants:
// definitions under crashes and faults"). For a schema S above the initial one:
//  (a) S is applied (MigrationApplied) once. A migration cut short by a crash,
//      stop or restart of its server is rolled back with its transaction and may
//      be run again; two servers migrating S at once is the hazard itself (the
//      morph lock judged by skewed clocks), whether or not both finish.
//  (b) The server migrating S runs a version whose schema is >= S.
//  (c) No server of a version with schema >= S serves before S was applied.
//  (d) The migrating server X must not have started on the new version later
//      than a server Y that is waiting for it at that instant (running, its
//      current incarnation on a version of schema >= S, not serving, not
//      refused, not migrating S itself). A server's start on the new version is its FIRST start on it:
//      the earliest of its consecutive incarnations on a version of schema >= S
//      (a crash does not send it to the back of the queue; issue 13, finding 1).
//      One exception: when Y's current incarnation began after X's, Y left and
//      came back while X was already waiting, so X asked for the lock first in
//      the race that is being decided now. Starts within kStartTieWindow of each
//      other race fairly (a tie the seed's sentence does not resolve).
//
// Checked online, each at the instant it becomes certain: (a) at the second
// MigrationStarted of S while another is open, and at a second MigrationApplied
// of S; (b) and (d) at MigrationStarted; (c) at ServerServing.
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
      : Invariant("migration_by_first_starter", c), life_(cluster()), initial_schema_(c.initial_schema) {
    read_only(LifeBook::reads() | event_mask<ServerStarting, MigrationLockAcquired, MigrationStarted, MigrationApplied,
                                             ProcessCrashed, ProcessStopped, ProcessStarted, ServerServing>());
  }

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

  // The start of `node`'s current incarnation, if it runs.
  const Start* current_start(NodeId node) const {
    const NodeLife& l = life_.at(node);
    if (!l.running) return nullptr;
    for (auto it = starts_.rbegin(); it != starts_.rend(); ++it)
      if (it->event.node == node) return it->incarnation == l.incarnation ? &*it : nullptr;
    return nullptr;
  }

  // `node`'s first start on a version of schema >= S: the earliest of the
  // consecutive starts on such versions that lead to its current incarnation.
  const Start* first_start(NodeId node, std::uint32_t schema) const {
    const Start* first = nullptr;
    for (const auto& s : starts_) {
      if (s.event.node != node) continue;
      if (s.schema < schema) first = nullptr;
      else if (!first) first = &s;
    }
    return first;
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

    const Start* mine = current_start(e.node);
    if (!mine) return;  // no ServerStarting in this history: not judged
    if (mine->schema < schema) {  // (b)
      Violation v;
      v.at = e.at;
      v.nodes = {e.node};
      v.witnesses = {mine->event, e};
      add_lock(v, e.node);
      v.message = name_of(e.node) + " migrates " + schema_text(schema) + " at " + at_text(e.at) +
                  " but runs version " + mine->event.get<ServerStarting>()->version + ", which predates it.";
      report(std::move(v));
      return;
    }
    const Start* my_first = first_start(e.node, schema);
    FL_ASSERT(my_first != nullptr);
    // (d): the earliest first start among the servers waiting now.
    const Start* earlier = nullptr;
    const Start* earlier_current = nullptr;
    for (NodeId y : waiting_for(schema)) {
      if (y == e.node) continue;
      const Start* y_first = first_start(y, schema);
      const Start* y_current = current_start(y);
      FL_ASSERT(y_first && y_current);
      if (!(y_first->event.at + kStartTieWindow < my_first->event.at)) continue;  // not earlier, or a tie
      if (y_current->event.at > mine->event.at) continue;  // y came back after this server: a new race
      if (!earlier || y_first->event.seq < earlier->event.seq) {
        earlier = y_first;
        earlier_current = y_current;
      }
    }
    if (!earlier) return;
    const NodeId y = earlier->event.node;
    Violation v;
    v.at = e.at;
    v.nodes = {e.node, y};
    v.witnesses = {earlier->event, earlier_current->event, my_first->event, e};
    add_lock(v, e.node);
    add_lock(v, y);
    v.message = name_of(e.node) + " migrates " + schema_text(schema) + " at " + at_text(e.at) + ", but " +
                name_of(y) + " started version " + earlier->event.get<ServerStarting>()->version + " first (at " +
                at_text(earlier->event.at) + ", " + name_of(e.node) + " at " + at_text(my_first->event.at) +
                ") and is still waiting.";
    report(std::move(v));
  }

  // Servers waiting for schema S now: running, current incarnation on a version
  // of schema >= S, neither serving nor refused, nor migrating S themselves (two
  // at once is reported as such). In NodeId order.
  std::vector<NodeId> waiting_for(std::uint32_t schema) const {
    std::vector<NodeId> out;
    const auto open = open_.find(schema);
    for (NodeId n : cluster().with_role(Role::app_server)) {
      const NodeLife& l = life_.at(n);
      if (l.serving || l.refused) continue;
      if (open != open_.end() && open->second.count(n)) continue;
      const Start* c = current_start(n);
      if (c && c->schema >= schema) out.push_back(n);
    }
    return out;
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
