// The engine behind simulation.h. Hot path: pop an Event from the queue (FIFO runs per instant),
// switch on its kind, check it is still valid (timer not cancelled, receiver
// still the same incarnation), call the node. Payloads live in slabs indexed by
// the event; nothing on the hot path allocates once the slabs have warmed up.
#include "sim/simulation.h"

#include <algorithm>
#include <map>
#include <utility>

#include "base/assert.h"
#include "sim/event_queue.h"
#include "sim/node_clock.h"
#include "sim/slab.h"
#include "sim/trace_hash.h"

namespace fl::sim {
namespace {

enum Kind : std::uint8_t {
  kTimer,       // node = owner, index = timer slot
  kDeliver,     // node = receiver, index = message slot
  kSendFailed,  // node = sender, index = message slot
  kDbRequest,   // node = member, index = db request slot
  kDbReply,     // node = requester, index = db reply slot
  kControl,     // node = target, index = control slot (on_control)
  kAction,      // index = action slot
  kResume,      // node, index = pause generation
  kStart,       // node, index = start generation
  kRequestTimeout,  // node = sender, index = request timeout slot
};

// A reordering link gives a message extra delay of up to this many times the
// link's highest latency (simulation.h, LinkConfig::reorder).
constexpr std::int64_t kReorderDelayFactor = 10;

enum class TimerState : std::uint8_t { pending, held };

struct TimerSlot {
  std::int64_t deadline = 0;    // on the node's monotonic clock
  std::int64_t at = 0;          // virtual time of its current event
  std::int64_t late = 0;        // Timing::timer_late: how late it fires, ns (0 when kind)
  std::uint64_t event_key = 0;  // key of its current event; 0 when free
  TimerTag tag{};
  std::uint32_t node = 0;
  std::uint32_t gen = 0;        // bumped on free: stale TimerIds never match
  TimerState state = TimerState::pending;
};

struct MessageSlot {
  Message message;
  NodeId from{};
  NodeId to{};
  std::uint32_t from_incarnation = 0;
  std::uint32_t to_incarnation = 0;
  std::int64_t sent_at = 0;
  std::uint64_t links_version = 0;  // the network's version when sent
  std::uint64_t id = 0;             // unique per send (slots are reused); 0 for a duplicate's copy
  bool timeout_armed = false;       // a request timeout is pending for it (or it may have none)
  bool sender_told = false;         // the sender already had on_send_failed for it
};

// The request timeout of one message: when it fires, the message is looked up
// by (slot, id); still unhandled means the sender is told.
struct RequestTimeoutSlot {
  std::uint32_t message = 0;
  std::uint64_t id = 0;
};

struct DbRequestSlot {
  DbRequest request;
  RequestId id{};
  NodeId from{};
  NodeId member{};
  std::uint32_t member_incarnation = 0;
};

struct DbReplySlot {
  DbReply reply;
  RequestId id{};
  NodeId to{};
  std::uint32_t to_incarnation = 0;
};

struct ControlSlot {
  ControlOp op;
  std::uint32_t incarnation = 0;
};

// A request a database member holds (sent to it, not yet answered): if the
// member dies, the requester's session dies with it.
struct InFlightDb {
  NodeId requester{};
  std::uint32_t requester_incarnation = 0;
};

// One ordered pair's network state as a send sees it, computed from the
// network's (sparse) fault state: nothing is stored per pair but the FIFO floor
// (FloorTable), so memory grows with the links that carry traffic, never with
// nodes squared.
struct LinkState {
  // Set when no fault or unkindness applies: not cut, FIFO, lossless, no
  // set_link override (so the default link's config), the simulator kind.
  // send() then skips every per-fault test (all of which would pass) and only
  // draws the latency.
  bool plain = false;
  // Set (>= 0) when the link is plain and its latency needs no draw (lo == hi).
  std::int64_t fixed_latency = -1;
  bool cut = false;
  bool fifo = true;            // neither reordering nor duplicating
  bool overridden = false;     // a set_link applies
  std::uint16_t config = 0;    // index into Impl::configs_
};

// The FIFO floor of each ordered pair's connection: the latest delivery time
// given to a message from -> to. A message never overtakes an earlier one on
// its connection. Only pairs with a floor in the future are kept: a floor at or
// before now cannot raise any later delivery (every delivery is at >= now), so
// dropping it changes nothing, and the table holds only the connections with
// messages in flight. Open addressing over (from, to) keys; lookups only, never
// iterated in an order that reaches behaviour (compaction keeps a set).
class FloorTable {
 public:
  // The floor of (from, to), inserted at 0 (no floor) when absent. The
  // reference stays valid until the next call.
  std::int64_t& at(std::uint32_t from, std::uint32_t to, std::int64_t now) {
    const std::uint64_t key = (static_cast<std::uint64_t>(from) << 32 | to) + 1;  // 0 marks empty
    if ((used_ + 1) * 4 > slots_.size() * 3) [[unlikely]] compact(now);
    std::size_t i = hash(key) & mask_;
    while (true) {
      Entry& e = slots_[i];
      if (e.key == key) return e.floor;
      if (e.key == 0) {
        e.key = key;
        e.floor = 0;
        ++used_;
        return e.floor;
      }
      i = (i + 1) & mask_;
    }
  }
  std::size_t size() const { return used_; }

 private:
  struct Entry {
    std::uint64_t key = 0;
    std::int64_t floor = 0;
  };
  static std::uint64_t hash(std::uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  // Drops the floors at or before now, then resizes to eight times what is
  // left (at least 256 slots): a connection's floor is dropped only here, so
  // a table just big enough filled again after a few dozen sends, and the
  // compaction (a pass over every slot) ran every few dozen sends.
  void compact(std::int64_t now) {
    std::vector<Entry> old = std::move(slots_);
    std::size_t live = 0;
    for (const Entry& e : old) live += (e.key != 0 && e.floor > now);
    std::size_t size = 256;
    while (size < (live + 1) * 8) size *= 2;
    slots_.assign(size, Entry{});
    mask_ = size - 1;
    used_ = 0;
    for (const Entry& e : old) {
      if (e.key == 0 || e.floor <= now) continue;
      std::size_t i = hash(e.key) & mask_;
      while (slots_[i].key != 0) i = (i + 1) & mask_;
      slots_[i] = e;
      ++used_;
    }
  }
  std::vector<Entry> slots_;
  std::size_t mask_ = 0;
  std::size_t used_ = 0;
};

TimerId make_timer_id(std::uint32_t slot, std::uint32_t gen) {
  return TimerId{(static_cast<std::uint64_t>(gen) << 32) | slot};
}

}  // namespace

struct Simulation::Impl {
  explicit Impl(Simulation* owner, std::uint64_t seed)
      : self(owner), root(seed), sim_rng(root.split("sim")), net_rng(root.split("network")),
        timing_rng(root.split("timing")) {
    configs.push_back(LinkConfig{});
  }

  class NodeEnv;
  struct NodeState {
    std::string name;
    NodeFactory factory;
    std::unique_ptr<Node> object;
    std::unique_ptr<NodeEnv> env;
    ProcessState state = ProcessState::never_started;
    std::uint32_t incarnation = 0;  // bumped at every start and every death
    std::uint32_t start_gen = 0;    // invalidates scheduled restarts
    std::uint32_t pause_gen = 0;    // invalidates scheduled resumes
    bool paused = false;
    bool dispatching = false;       // one of its inputs is on the stack
    std::vector<Event> held;        // inputs that arrived while paused, in order
    NodeClock clock;
    Rng rng;
    std::map<std::uint64_t, InFlightDb> db_in_flight;  // by RequestId value
  };

  Simulation* self;
  Rng root;
  Rng sim_rng;
  Rng net_rng;
  Rng timing_rng;   // Timing's draws (latency tails, jitter, late timers)
  Timing timing;
  DurationRange tail_base{};  // the default link's latency when set_timing was called
  bool unkind = false;  // timing.any(): every send takes the drawing path

  std::vector<NodeState> nodes;
  std::map<std::string, std::uint32_t, std::less<>> by_name;  // name -> NodeId value
  std::size_t node_count = 0;  // nodes.size(), kept apart: NodeState's size is no power of two
  EventQueue queue;
  std::uint64_t next_seq = 1;
  std::int64_t now = 0;
  bool stopped = false;
  bool running_loop = false;
  std::uint64_t events = 0;
  std::uint64_t progress_every = 0;             // 0: no progress callback
  std::uint64_t progress_next = 0;              // event count of its next call
  std::function<void()> progress;

  Slab<TimerSlot> timers;
  Slab<MessageSlot> messages;
  Slab<DbRequestSlot> db_requests;
  Slab<DbReplySlot> db_replies;
  Slab<ControlSlot> controls;
  Slab<std::function<void(Simulation&)>> actions;
  Slab<RequestTimeoutSlot> request_timeouts;

  // Network.
  std::vector<LinkConfig> configs;  // [0] is the default link
  std::vector<std::vector<std::uint32_t>> partition_groups;  // by NodeId value
  std::vector<std::pair<std::uint32_t, std::uint32_t>> one_way_cuts;  // sorted
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint16_t> overrides;  // (min, max) -> config
  // Derived from the above by rebuild_links(): O(nodes), never nodes squared.
  std::vector<std::int32_t> group_of;         // partition group by NodeId value; -1: none
  bool any_link_fault = false;                // a partition, a cut or an override exists
  LinkState default_state;                    // a link with no fault
  FloorTable floors;                          // FIFO floor per connection in flight
  bool links_dirty = true;
  std::uint64_t links_version = 0;            // bumped by every network change
  NodeId db_endpoint{kNoNode};
  std::uint64_t next_request = 1;
  std::uint64_t next_message = 1;  // MessageSlot::id
  // (from, to) -> request timeout in ns; absent means none. Read only off the
  // hot path (a paused receiver, a lost or long-delayed message).
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::int64_t> timeout_of;
  std::vector<std::uint32_t> timeouts_from;  // by NodeId value: how many pairs from it have one

  std::uint64_t cut = 0, sent = 0, lost = 0, duplicated = 0, reordered = 0, delayed = 0, failed = 0, timed_out = 0;

  // History.
  bool keep = false;
  std::vector<HistoryEvent> history;
  std::vector<HistoryListener> listeners;
  std::uint64_t history_seq = 0;
  TraceHasher hasher;
  std::function<void(NodeId, const ControlOp&)> spec_hook;

  // ---- helpers ----
  NodeState& node(NodeId id) {
    FL_ASSERT(id.value < nodes.size());
    return nodes[id.value];
  }
  const NodeState& node(NodeId id) const {
    FL_ASSERT(id.value < nodes.size());
    return nodes[id.value];
  }
  [[gnu::always_inline]] std::uint64_t push(std::int64_t at, Kind kind, std::uint32_t node_value, std::uint32_t index) {
    FL_ASSERT(at >= now);
    const std::uint64_t key = (next_seq++ << 8) | kind;
    queue.push(Event{at, key, node_value, index});
    return key;
  }
  void mark_links_dirty() {
    links_dirty = true;
    ++links_version;
  }

  LinkState link_state(std::uint32_t from, std::uint32_t to) {
    if (links_dirty) rebuild_links();
    if (!any_link_fault) [[likely]] return default_state;
    return faulty_link_state(from, to);
  }
  LinkState faulty_link_state(std::uint32_t from, std::uint32_t to) const;
  // The connection's FIFO floor: the delivery time of the last message on it.
  std::int64_t& floor(std::uint32_t from, std::uint32_t to) { return floors.at(from, to, now); }
  void rebuild_links();
  std::int64_t draw_latency(const LinkConfig& cfg) {
    const DurationRange& r = cfg.latency;
    return r.lo == r.hi ? r.lo.count() : net_rng.duration(r).count();
  }
  // What an unkind simulator adds to a delivery (Timing): a long tail and the
  // jitter. Zero, with no draw, when kind. The tail stretches a latency of the
  // default link as set_timing found it ([network] latency), never a fault's
  // injected delay (a delay fault replaces the default link): a
  // `delay` fault of seconds times a tail factor of 100 would hold a TCP
  // connection for minutes (every later message queues behind it, FIFO),
  // which no real connection survives; a congested path's tail is a multiple
  // of its ordinary latency.
  std::int64_t unkind_delay() {
    if (!unkind) [[likely]] return 0;
    std::int64_t extra = 0;
    if (timing.tail > 0.0 && timing.tail_factor > 1 && timing_rng.chance(timing.tail))
      extra += timing_rng.duration(tail_base).count() * (timing_rng.between(1, timing.tail_factor) - 1);
    if (timing.jitter.count() > 0) extra += timing_rng.jitter(timing.jitter).count();
    return extra;
  }
  std::int64_t timer_lateness() {
    if (!unkind || timing.timer_late <= 0.0 || timing.timer_late_max.count() <= 0) [[likely]] return 0;
    return timing_rng.chance(timing.timer_late) ? timing_rng.jitter(timing.timer_late_max).count() : 0;
  }

  // ---- Env requests ----
  TimerId after(NodeId self_id, Duration d, TimerTag tag);
  void cancel(NodeId self_id, TimerId id);
  void send(NodeId from, NodeId to, const Message& message);
  std::int64_t request_timeout(NodeId from, NodeId to) const {
    // Most senders have none (only the app servers' gossip does): skip the map.
    if (from.value >= timeouts_from.size() || timeouts_from[from.value] == 0) return 0;
    const auto it = timeout_of.find({from.value, to.value});
    return it == timeout_of.end() ? 0 : it->second;
  }
  // Arms the request timeout of the message in `slot`, once, if its pair has one.
  void arm_request_timeout(std::uint32_t slot);
  // A message delivered at `at`, later than its pair's request timeout (a slow
  // link): the sender gives up first. Only on a drawn latency, as before the
  // fast path took drawn links: a fixed latency never checked it (a fixed
  // latency above a request timeout is a scenario nobody runs; changing it
  // would change such a run's history).
  void arm_if_slow(NodeId from, NodeId to, const LinkState& link, std::int64_t at, std::uint32_t slot) {
    if (link.fixed_latency >= 0) return;
    if (const std::int64_t timeout = request_timeout(from, to); timeout > 0 && at - now > timeout) arm_request_timeout(slot);
  }
  void request_timed_out(const Event& e);
  // Sends over a link with a fault or a drawn latency, or to a dead node.
  [[gnu::noinline]] void send_faulty(NodeId from, NodeId to, const Message& message, const LinkState& link);
  RequestId db(NodeId from, const DbRequest& request);
  void db_reply(NodeId member, NodeId to, RequestId id, const DbReply& reply);
  void schedule_db_reply(std::int64_t at, NodeId to, std::uint32_t to_incarnation, RequestId id,
                         DbStatus status);
  void control(NodeId target, const ControlOp& op);
  void emit(NodeId node_id, EventBody&& body);

  // ---- lifecycle ----
  void start(NodeId id);
  void kill(NodeId id, ProcessState why);  // crash or stop: destroy and clean up
  void crash(NodeId id);
  void stop(NodeId id);
  void restart(NodeId id, Duration delay);
  void pause(NodeId id, Duration length);
  void resume(NodeId id);
  // The common end of handing an input to a node: an input made for an
  // incarnation that has since died is dropped, a paused node holds it (in
  // order) until it resumes, otherwise the handler runs and the slot is freed.
  template <class Slab, class Handler>
  void deliver_input(const Event& e, NodeState& n, std::uint32_t incarnation, Slab& slab, Handler&& handler) {
    if (!n.object || n.incarnation != incarnation) {
      slab.free(e.index);
      return;
    }
    if (n.paused) {
      n.held.push_back(e);
      return;
    }
    n.dispatching = true;
    handler(*n.object, *n.env);
    n.dispatching = false;
    slab.free(e.index);
  }
  void release(const Event& e);  // frees the payload of an event that will not be delivered
  void reevaluate_timers(NodeId id);
  void defer(std::function<void(Simulation&)> action) { schedule_action(now, std::move(action)); }
  void schedule_action(std::int64_t at, std::function<void(Simulation&)> action) {
    const std::uint32_t slot = actions.alloc();
    actions[slot] = std::move(action);
    push(at, kAction, 0, slot);
  }

  // ---- the loop ----
  void dispatch(const Event& e);
  void run_until(std::int64_t until);
};

// The Env each node sees. `final`, so that the engine's own calls devirtualise;
// the node's calls through Env& are the one virtual hop per request.
class Simulation::Impl::NodeEnv final : public Env {
 public:
  NodeEnv(Simulation::Impl* impl, NodeId id) : impl_(impl), id_(id) {}
  NodeId self() const override { return id_; }
  Time now() override { return time_from_ns(impl_->nodes[id_.value].clock.local(impl_->now)); }
  Time monotonic() override { return time_from_ns(impl_->nodes[id_.value].clock.monotonic(impl_->now)); }
  TimerId after(Duration after, TimerTag tag) override { return impl_->after(id_, after, tag); }
  void cancel(TimerId id) override { impl_->cancel(id_, id); }
  void send(NodeId to, const Message& message) override { impl_->send(id_, to, message); }
  RequestId db(const DbRequest& request) override { return impl_->db(id_, request); }
  void db_reply(NodeId to, RequestId id, const DbReply& reply) override { impl_->db_reply(id_, to, id, reply); }
  void set_db_endpoint(NodeId primary) override {
    FL_ASSERT(primary == kNoNode || primary.value < impl_->nodes.size());
    impl_->db_endpoint = primary;
  }
  void control(NodeId target, const ControlOp& op) override { impl_->control(target, op); }
  Rng& rng() override { return impl_->nodes[id_.value].rng; }
  void emit(EventBody event) override { impl_->emit(id_, std::move(event)); }

 private:
  Simulation::Impl* impl_;
  NodeId id_;
};

// ---------------------------------------------------------------------------
// Network

void Simulation::Impl::rebuild_links() {
  const std::size_t n = nodes.size();
  group_of.assign(n, -1);
  for (std::size_t g = 0; g < partition_groups.size(); ++g) {
    for (std::uint32_t member : partition_groups[g]) {
      FL_ASSERT(member < n);
      FL_ASSERT_MSG(group_of[member] == -1, "a node is in two partition groups");
      group_of[member] = static_cast<std::int32_t>(g);
    }
  }
  any_link_fault = !partition_groups.empty() || !one_way_cuts.empty() || !overrides.empty();
  const LinkConfig& cfg = configs[0];
  default_state = LinkState{};
  default_state.fifo = cfg.reorder <= 0.0 && cfg.duplicate <= 0.0;
  default_state.plain = default_state.fifo && cfg.loss <= 0.0 && !unkind;
  default_state.fixed_latency = default_state.plain && cfg.latency.lo == cfg.latency.hi ? cfg.latency.lo.count() : -1;
  links_dirty = false;
}

LinkState Simulation::Impl::faulty_link_state(std::uint32_t from, std::uint32_t to) const {
  LinkState l;
  l.cut = from != to && group_of[from] >= 0 && group_of[to] >= 0 && group_of[from] != group_of[to];
  if (!l.cut && !one_way_cuts.empty())
    l.cut = std::binary_search(one_way_cuts.begin(), one_way_cuts.end(), std::make_pair(from, to));
  if (!overrides.empty()) {
    const auto it = overrides.find(std::make_pair(std::min(from, to), std::max(from, to)));
    if (it != overrides.end()) {
      l.config = it->second;
      l.overridden = true;
    }
  }
  const LinkConfig& cfg = configs[l.config];
  l.fifo = cfg.reorder <= 0.0 && cfg.duplicate <= 0.0;
  l.plain = !l.cut && l.fifo && !l.overridden && cfg.loss <= 0.0 && !unkind;
  l.fixed_latency = l.plain && cfg.latency.lo == cfg.latency.hi ? cfg.latency.lo.count() : -1;
  return l;
}

void Simulation::Impl::send(NodeId from, NodeId to, const Message& message) {
  FL_ASSERT(to.value < node_count && from.value < node_count);
  ++sent;
  const LinkState link = link_state(from.value, to.value);
  NodeState& dst = nodes[to.value];
  if (!link.plain || !dst.object) [[unlikely]] {
    send_faulty(from, to, message, link);
    return;
  }
  // The plain link: exactly what send_faulty does when no fault applies (the
  // same draws in the same order: the latency, when lo != hi, and nothing else).
  std::uint32_t slot;
  MessageSlot& m = messages.alloc_slot(slot);
  m.message = message;
  m.from = from;
  m.to = to;
  m.from_incarnation = nodes[from.value].incarnation;
  m.to_incarnation = dst.incarnation;
  m.sent_at = now;
  m.links_version = links_version;
  m.id = next_message++;
  m.timeout_armed = false;
  m.sender_told = false;
  FL_ASSERT(link.config == 0);
  std::int64_t at = now + (link.fixed_latency >= 0 ? link.fixed_latency : net_rng.duration(configs[0].latency).count());
  std::int64_t& last = floor(from.value, to.value);
  if (at < last) at = last;  // FIFO per connection
  last = at;
  push(at, kDeliver, to.value, slot);
  arm_if_slow(from, to, link, at, slot);
}

void Simulation::Impl::send_faulty(NodeId from, NodeId to, const Message& message, const LinkState& link) {
  NodeState& dst = nodes[to.value];
  const std::uint32_t slot = messages.alloc();
  MessageSlot& m = messages[slot];
  m.message = message;
  m.from = from;
  m.to = to;
  m.from_incarnation = nodes[from.value].incarnation;
  m.to_incarnation = dst.incarnation;
  m.sent_at = now;
  m.links_version = links_version;
  m.id = next_message++;
  m.timeout_armed = false;
  m.sender_told = false;
  if (link.cut) {  // a TCP connect into a partition times out
    ++cut;
    ++failed;
    push(now + kConnectTimeout.count(), kSendFailed, from.value, slot);
    return;
  }
  const LinkConfig& cfg = configs[link.config];
  if (link.overridden) ++delayed;
  if (!dst.object) {  // the host answers, the port is closed: refused after one round trip
    ++failed;
    push(now + 2 * draw_latency(cfg), kSendFailed, from.value, slot);
    return;
  }
  if (cfg.loss > 0.0 && net_rng.chance(cfg.loss)) {
    ++lost;
    if (const std::int64_t timeout = request_timeout(from, to); timeout > 0) {
      // No answer comes: the request times out at the sender (a black hole).
      ++failed;
      ++timed_out;
      m.timeout_armed = true;
      m.sender_told = true;
      push(now + timeout, kSendFailed, from.value, slot);
      return;
    }
    messages.free(slot);
    return;
  }
  std::int64_t at = now + draw_latency(cfg);
  at += unkind_delay();
  if (!link.fifo) {
    if (cfg.reorder > 0.0 && net_rng.chance(cfg.reorder)) {
      ++reordered;
      at += net_rng.jitter(Duration{kReorderDelayFactor * cfg.latency.hi.count()}).count();
    }
    if (cfg.duplicate > 0.0 && net_rng.chance(cfg.duplicate)) {
      ++duplicated;
      const std::uint32_t copy = messages.alloc();
      messages[copy] = messages[slot];
      // One send, one request: only the original can time out.
      messages[copy].id = 0;
      messages[copy].timeout_armed = true;
      push(now + draw_latency(cfg), kDeliver, to.value, copy);
    }
  } else {
    // FIFO per connection: a message never overtakes an earlier one on the same
    // (from, to) connection; equal times keep insertion order.
    std::int64_t& last = floor(from.value, to.value);
    if (at < last) at = last;
    last = at;
  }
  push(at, kDeliver, to.value, slot);
  arm_if_slow(from, to, link, at, slot);
}

void Simulation::Impl::arm_request_timeout(std::uint32_t slot) {
  MessageSlot& m = messages[slot];
  if (m.timeout_armed) return;
  const std::int64_t timeout = request_timeout(m.from, m.to);
  if (timeout <= 0) return;
  m.timeout_armed = true;
  const std::uint32_t t = request_timeouts.alloc();
  request_timeouts[t] = RequestTimeoutSlot{slot, m.id};
  push(std::max(now, m.sent_at + timeout), kRequestTimeout, m.from.value, t);
}

void Simulation::Impl::request_timed_out(const Event& e) {
  const RequestTimeoutSlot r = request_timeouts[e.index];
  request_timeouts.free(e.index);
  // Handled (its slot freed, maybe reused by a later send) or dropped with a
  // dead receiver: nothing to tell.
  if (!messages.used(r.message) || messages[r.message].id != r.id) return;
  MessageSlot& m = messages[r.message];
  if (m.sender_told) return;
  m.sender_told = true;
  ++failed;
  ++timed_out;
  // The sender gets its own copy; the original still waits for the receiver.
  const std::uint32_t copy = messages.alloc();
  messages[copy] = messages[r.message];
  messages[copy].id = 0;
  push(now, kSendFailed, m.from.value, copy);
}

RequestId Simulation::Impl::db(NodeId from, const DbRequest& request) {
  const RequestId id{next_request++};
  const NodeId member = request.target.endpoint ? db_endpoint : request.target.node;
  const std::uint32_t from_incarnation = nodes[from.value].incarnation;
  if (member == kNoNode) {
    // No endpoint (the DNS record names nobody): the connection is refused at once.
    ++failed;
    schedule_db_reply(now + 2 * draw_latency(configs[0]), from, from_incarnation, id,
                      DbStatus::connection_refused);
    return id;
  }
  FL_ASSERT(member.value < nodes.size());
  const LinkState link = link_state(from.value, member.value);
  const LinkConfig& cfg = configs[link.config];
  NodeState& m = nodes[member.value];
  if (link.cut) {
    ++cut;
    ++failed;
    schedule_db_reply(now + kConnectTimeout.count(), from, from_incarnation, id, DbStatus::timeout);
    return id;
  }
  if (!m.object) {
    ++failed;
    schedule_db_reply(now + 2 * draw_latency(cfg), from, from_incarnation, id, DbStatus::connection_refused);
    return id;
  }
  const std::uint32_t slot = db_requests.alloc();
  DbRequestSlot& s = db_requests[slot];
  s.request = request;
  s.id = id;
  s.from = from;
  s.member = member;
  s.member_incarnation = m.incarnation;
  m.db_in_flight[id.value] = InFlightDb{from, from_incarnation};
  // A database session is one TCP connection: FIFO, no loss (TCP retransmits).
  std::int64_t at = now + draw_latency(cfg);
  at += unkind_delay();
  std::int64_t& last = floor(from.value, member.value);
  if (at < last) at = last;
  last = at;
  push(at, kDbRequest, member.value, slot);
  return id;
}

void Simulation::Impl::schedule_db_reply(std::int64_t at, NodeId to, std::uint32_t to_incarnation,
                                         RequestId id, DbStatus status) {
  const std::uint32_t slot = db_replies.alloc();
  DbReplySlot& r = db_replies[slot];
  r.reply = DbReply{};
  r.reply.status = status;
  r.id = id;
  r.to = to;
  r.to_incarnation = to_incarnation;
  push(at, kDbReply, to.value, slot);
}

void Simulation::Impl::db_reply(NodeId member, NodeId to, RequestId id, const DbReply& reply) {
  NodeState& m = node(member);
  const auto it = m.db_in_flight.find(id.value);
  FL_ASSERT_MSG(it != m.db_in_flight.end(), "db_reply to a request this member does not hold");
  FL_ASSERT_MSG(it->second.requester == to, "db_reply addressed to another node than the requester");
  const InFlightDb entry = it->second;
  m.db_in_flight.erase(it);
  const LinkState link = link_state(member.value, to.value);
  const std::uint32_t slot = db_replies.alloc();
  DbReplySlot& r = db_replies[slot];
  r.reply = reply;
  r.id = id;
  r.to = to;
  r.to_incarnation = entry.requester_incarnation;
  if (link.cut) {
    // The answer cannot get back: the requester's query times out.
    ++cut;
    r.reply = DbReply{};
    r.reply.status = DbStatus::timeout;
    push(now + kConnectTimeout.count(), kDbReply, to.value, slot);
    return;
  }
  std::int64_t at = now + draw_latency(configs[link.config]);
  at += unkind_delay();
  std::int64_t& last = floor(member.value, to.value);
  if (at < last) at = last;
  last = at;
  push(at, kDbReply, to.value, slot);
}

// ---------------------------------------------------------------------------
// Timers and clocks

TimerId Simulation::Impl::after(NodeId self_id, Duration d, TimerTag tag) {
  FL_ASSERT(d.count() >= 0);
  NodeState& n = nodes[self_id.value];
  FL_ASSERT(n.object != nullptr);
  const std::uint32_t slot = timers.alloc();
  TimerSlot& t = timers[slot];
  t.deadline = n.clock.monotonic(now) + d.count();
  t.late = timer_lateness();
  t.at = n.clock.virtual_for_monotonic(t.deadline, now) + t.late;
  t.tag = tag;
  t.node = self_id.value;
  t.state = TimerState::pending;
  t.event_key = push(t.at, kTimer, self_id.value, slot);
  return make_timer_id(slot, t.gen);
}

void Simulation::Impl::cancel(NodeId self_id, TimerId id) {
  const auto slot = static_cast<std::uint32_t>(id.value & 0xffffffffu);
  const auto gen = static_cast<std::uint32_t>(id.value >> 32);
  if (!timers.used(slot)) return;
  TimerSlot& t = timers[slot];
  if (t.gen != gen || t.node != self_id.value) return;  // fired, or another node's
  t.event_key = 0;
  ++t.gen;
  timers.free(slot);
}

void Simulation::Impl::reevaluate_timers(NodeId id) {
  // The clock's rate may have changed (a new drift): each pending timer must
  // fire when the MONOTONIC clock reaches its deadline, so recompute its virtual
  // time (a step or offset leaves it where it was). Re-pushed in their current
  // (time, seq) order so that ties keep their relative order.
  struct Pending { std::int64_t at; std::uint64_t key; std::uint32_t slot; };
  std::vector<Pending> pending;
  for (std::uint32_t s = 0; s < timers.capacity_used(); ++s) {
    if (!timers.used(s)) continue;
    const TimerSlot& t = timers[s];
    if (t.node == id.value && t.state == TimerState::pending) pending.push_back({t.at, t.event_key, s});
  }
  std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) {
    return a.at < b.at || (a.at == b.at && a.key < b.key);
  });
  const NodeClock& clock = nodes[id.value].clock;
  for (const Pending& p : pending) {
    TimerSlot& t = timers[p.slot];
    const std::int64_t at = clock.virtual_for_monotonic(t.deadline, now) + t.late;
    if (at == t.at) continue;  // unchanged: keep its event (and its place among ties)
    t.at = at;
    t.event_key = push(at, kTimer, id.value, p.slot);  // the old event goes stale
  }
}

// ---------------------------------------------------------------------------
// History

void Simulation::Impl::emit(NodeId node_id, EventBody&& body) {
  const Time at = time_from_ns(now);
  // Built in place (not default-built, then assigned): one variant move.
  HistoryEvent e{history_seq++, at, node_id == kNoNode ? at : time_from_ns(node(node_id).clock.local(now)), node_id,
                 std::move(body)};
  hasher.add(e);
  for (const auto& listener : listeners) listener(e);
  if (keep) history.push_back(std::move(e));
}

// ---------------------------------------------------------------------------
// Lifecycle

void Simulation::Impl::start(NodeId id) {
  NodeState& n = node(id);
  if (n.object) return;  // already running
  if (n.dispatching) {
    defer([id](Simulation& s) { s.start(id); });
    return;
  }
  ++n.incarnation;
  ++n.start_gen;
  n.state = ProcessState::running;
  n.paused = false;
  n.object = n.factory();
  FL_ASSERT_MSG(n.object != nullptr, "a node factory returned no node");
  emit(id, ProcessStarted{});
  n.dispatching = true;
  n.object->on_start(*n.env);
  n.dispatching = false;
}

void Simulation::Impl::release(const Event& e) {
  switch (e.kind()) {
    case kTimer:
      if (timers.used(e.index) && timers[e.index].event_key == e.key) {
        TimerSlot& t = timers[e.index];
        t.event_key = 0;
        ++t.gen;
        timers.free(e.index);
      }
      break;
    case kDeliver:
    case kSendFailed: messages.free(e.index); break;
    case kDbRequest: db_requests.free(e.index); break;
    case kDbReply: db_replies.free(e.index); break;
    case kControl: controls.free(e.index); break;
    default: FL_UNREACHABLE();
  }
}

void Simulation::Impl::kill(NodeId id, ProcessState why) {
  NodeState& n = node(id);
  FL_ASSERT(n.object != nullptr && !n.dispatching);
  FL_ASSERT(why == ProcessState::crashed || why == ProcessState::stopped);
  n.object.reset();
  ++n.incarnation;
  ++n.start_gen;
  ++n.pause_gen;
  n.paused = false;
  n.state = why;
  for (const Event& e : n.held) release(e);
  n.held.clear();
  for (std::uint32_t s = 0; s < timers.capacity_used(); ++s) {
    if (!timers.used(s) || timers[s].node != id.value) continue;
    TimerSlot& t = timers[s];
    t.event_key = 0;
    ++t.gen;
    timers.free(s);
  }
  // Its database sessions die with it: every request it held is refused.
  for (const auto& [request, entry] : n.db_in_flight) {
    const LinkState link = link_state(id.value, entry.requester.value);
    if (link.cut) {
      schedule_db_reply(now + kConnectTimeout.count(), entry.requester, entry.requester_incarnation,
                        RequestId{request}, DbStatus::timeout);
    } else {
      schedule_db_reply(now + draw_latency(configs[link.config]), entry.requester,
                        entry.requester_incarnation, RequestId{request}, DbStatus::connection_refused);
    }
  }
  n.db_in_flight.clear();
  if (why == ProcessState::crashed) emit(id, ProcessCrashed{});
  else emit(id, ProcessStopped{});
}

void Simulation::Impl::crash(NodeId id) {
  NodeState& n = node(id);
  if (!n.object) return;
  if (n.dispatching) {
    defer([id](Simulation& s) { s.crash(id); });
    return;
  }
  kill(id, ProcessState::crashed);
}

void Simulation::Impl::stop(NodeId id) {
  NodeState& n = node(id);
  if (!n.object) {
    // `systemctl stop` of a unit that has failed: it stays down, and a restart
    // that was pending for the crash is no longer wanted (issue 13: a crash
    // fault's restart must not undo the operator's stop).
    if (n.state == ProcessState::crashed) {
      n.state = ProcessState::stopped;
      ++n.start_gen;  // a restart scheduled by restart() is cancelled too
    }
    return;
  }
  if (n.dispatching) {
    defer([id](Simulation& s) { s.stop(id); });
    return;
  }
  // A paused process cannot run its shutdown handler: the service manager
  // kills it, so a paused node stops without on_stop.
  if (!n.paused) {
    n.dispatching = true;
    n.object->on_stop(*n.env);
    n.dispatching = false;
  }
  kill(id, ProcessState::stopped);
}

void Simulation::Impl::restart(NodeId id, Duration delay) {
  FL_ASSERT(delay.count() >= 0);
  NodeState& n = node(id);
  if (n.dispatching) {
    defer([id, delay](Simulation& s) { s.restart(id, delay); });
    return;
  }
  if (n.object) kill(id, ProcessState::crashed);
  push(now + delay.count(), kStart, id.value, n.start_gen);
}

void Simulation::Impl::pause(NodeId id, Duration length) {
  FL_ASSERT(length.count() >= 0);
  NodeState& n = node(id);
  if (!n.object) return;
  n.paused = true;
  ++n.pause_gen;
  emit(id, ProcessPaused{length});
  push(now + length.count(), kResume, id.value, n.pause_gen);
}

void Simulation::Impl::resume(NodeId id) {
  NodeState& n = node(id);
  FL_ASSERT(n.paused && n.object);
  n.paused = false;
  emit(id, ProcessResumed{});
  // Deliver what waited, in arrival order. An input may crash or re-pause the
  // node (through a deferred op, so not within this loop) — checked anyway.
  std::vector<Event> waiting = std::move(n.held);
  n.held.clear();
  for (std::size_t i = 0; i < waiting.size(); ++i) {
    if (!n.object || n.paused) {
      for (std::size_t j = i; j < waiting.size(); ++j) {
        if (n.object) n.held.push_back(waiting[j]);
        else release(waiting[j]);
      }
      break;
    }
    dispatch(waiting[i]);
  }
}

void Simulation::Impl::control(NodeId target, const ControlOp& op) {
  NodeState& n = node(target);
  switch (op.kind) {
    case ControlOp::Kind::stop: stop(target); break;
    case ControlOp::Kind::start: start(target); break;
    case ControlOp::Kind::crash: crash(target); break;
    case ControlOp::Kind::restart:
      // systemctl restart: a graceful stop, then a start at once.
      if (n.dispatching) {
        defer([target, op](Simulation& s) { s.control(target, op); });
        return;
      }
      stop(target);
      start(target);
      break;
    case ControlOp::Kind::set_spec: {
      if (spec_hook) spec_hook(target, op);
      if (n.object) {
        const std::uint32_t slot = controls.alloc();
        controls[slot].op = op;
        controls[slot].incarnation = n.incarnation;
        push(now, kControl, target.value, slot);
      }
      break;
    }
  }
}

// ---------------------------------------------------------------------------
// The loop

void Simulation::Impl::dispatch(const Event& e) {
  switch (e.kind()) {
    case kTimer: {
      if (!timers.used(e.index)) return;
      TimerSlot& t = timers[e.index];
      if (t.event_key != e.key) return;  // cancelled, or moved by a clock change
      NodeState& n = nodes[t.node];
      FL_ASSERT(n.object != nullptr);  // a dead node's timers are freed at its death
      if (n.paused) {
        t.state = TimerState::held;
        n.held.push_back(e);
        return;
      }
      const TimerId id = make_timer_id(e.index, t.gen);
      const TimerTag tag = t.tag;
      t.event_key = 0;
      ++t.gen;
      timers.free(e.index);
      n.dispatching = true;
      n.object->on_timer(*n.env, id, tag);
      n.dispatching = false;
      return;
    }
    case kDeliver: {
      MessageSlot& m = messages[e.index];
      NodeState& n = nodes[e.node];
      if (!n.object || n.incarnation != m.to_incarnation) {  // died with it in flight
        messages.free(e.index);
        return;
      }
      if (m.links_version != links_version && link_state(m.from.value, m.to.value).cut) {
        // Cut while in flight: the sender's connection times out (unless its
        // request timed out already: one failure per send).
        if (m.sender_told) {
          messages.free(e.index);
          return;
        }
        ++cut;
        ++failed;
        const std::int64_t fail_at = std::max(now, m.sent_at + kConnectTimeout.count());
        push(fail_at, kSendFailed, m.from.value, e.index);
        return;
      }
      // A paused receiver holds it: if nobody handles it in time, the sender's
      // request times out (the kernel accepted it; the process never answers).
      if (n.paused) arm_request_timeout(e.index);
      deliver_input(e, n, m.to_incarnation, messages,
                    [&](Node& node, Env& env) { node.on_message(env, m.from, m.message); });
      return;
    }
    case kSendFailed: {
      const MessageSlot& m = messages[e.index];
      deliver_input(e, nodes[e.node], m.from_incarnation, messages,
                    [&](Node& node, Env& env) { node.on_send_failed(env, m.to, m.message); });
      return;
    }
    case kDbRequest: {
      const DbRequestSlot& r = db_requests[e.index];
      deliver_input(e, nodes[e.node], r.member_incarnation, db_requests,
                    [&](Node& node, Env& env) { node.on_db_request(env, r.from, r.id, r.request); });
      return;
    }
    case kDbReply: {
      const DbReplySlot& r = db_replies[e.index];
      deliver_input(e, nodes[e.node], r.to_incarnation, db_replies,
                    [&](Node& node, Env& env) { node.on_db_reply(env, r.id, r.reply); });
      return;
    }
    case kControl: {
      const ControlSlot& c = controls[e.index];
      deliver_input(e, nodes[e.node], c.incarnation, controls,
                    [&](Node& node, Env& env) { node.on_control(env, c.op); });
      return;
    }
    case kAction: {
      std::function<void(Simulation&)> action = std::move(actions[e.index]);
      actions[e.index] = nullptr;
      actions.free(e.index);
      action(*self);
      return;
    }
    case kResume: {
      NodeState& n = nodes[e.node];
      if (n.object && n.paused && n.pause_gen == e.index) resume(NodeId{e.node});
      return;
    }
    case kStart: {
      NodeState& n = nodes[e.node];
      if (!n.object && n.start_gen == e.index) start(NodeId{e.node});
      return;
    }
    case kRequestTimeout: request_timed_out(e); return;
    default: FL_UNREACHABLE();
  }
}

void Simulation::Impl::run_until(std::int64_t until) {
  FL_ASSERT_MSG(!running_loop, "run_until called from inside the run");
  running_loop = true;
  if (links_dirty) rebuild_links();
  while (!stopped && !queue.empty()) {
    const Event e = queue.top();
    if (e.at > until) break;
    FL_ASSERT(e.at >= now);
    queue.pop();
    now = e.at;
    ++events;
    dispatch(e);
    if (events == progress_next) [[unlikely]] {
      progress_next += progress_every;
      progress();
    }
  }
  if (!stopped && now < until) now = until;
  running_loop = false;
}

// ---------------------------------------------------------------------------
// Public API

Simulation::Simulation(std::uint64_t seed) : impl_(std::make_unique<Impl>(this, seed)) {}
Simulation::~Simulation() = default;

NodeId Simulation::add_node(std::string name, NodeFactory factory) {
  FL_ASSERT_MSG(impl_->events == 0 && impl_->queue.empty(), "nodes are declared before the run");
  FL_ASSERT(factory != nullptr);
  const NodeId id{static_cast<std::uint32_t>(impl_->nodes.size())};
  FL_ASSERT_MSG(impl_->by_name.emplace(name, id.value).second, "two nodes with one name");
  Impl::NodeState n;
  n.name = std::move(name);
  n.factory = std::move(factory);
  n.env = std::make_unique<Impl::NodeEnv>(impl_.get(), id);
  // Each node's stream is split off the root by its name: adding a node does
  // not change the draws of another.
  n.rng = impl_->root.split("node/" + n.name);
  impl_->nodes.push_back(std::move(n));
  impl_->node_count = impl_->nodes.size();
  impl_->mark_links_dirty();  // group_of is resized at its next use
  return id;
}

NodeId Simulation::id(std::string_view name) const {
  const auto it = impl_->by_name.find(name);
  FL_ASSERT_MSG(it != impl_->by_name.end(), "no node of that name");
  return NodeId{it->second};
}

const std::string& Simulation::name(NodeId id) const { return impl_->node(id).name; }
std::size_t Simulation::node_count() const { return impl_->nodes.size(); }

void Simulation::set_default_link(const LinkConfig& link) {
  FL_ASSERT(link.latency.lo.count() >= 0 && link.latency.lo <= link.latency.hi);
  impl_->configs[0] = link;
  impl_->mark_links_dirty();
}

void Simulation::keep_history(bool keep) { impl_->keep = keep; }
void Simulation::add_history_listener(HistoryListener listener) {
  impl_->listeners.push_back(std::move(listener));
}
void Simulation::set_spec_hook(std::function<void(NodeId, const ControlOp&)> hook) {
  impl_->spec_hook = std::move(hook);
}

void Simulation::start(NodeId node) { impl_->start(node); }
void Simulation::crash(NodeId node) { impl_->crash(node); }
void Simulation::stop(NodeId node) { impl_->stop(node); }
void Simulation::restart(NodeId node, Duration delay) { impl_->restart(node, delay); }
void Simulation::pause(NodeId node, Duration length) { impl_->pause(node, length); }
void Simulation::resume(NodeId node) {
  if (impl_->node(node).paused && impl_->node(node).object) impl_->resume(node);
}
bool Simulation::running(NodeId node) const { return impl_->node(node).object != nullptr; }
bool Simulation::paused(NodeId node) const { return impl_->node(node).paused; }
ProcessState Simulation::process_state(NodeId node) const { return impl_->node(node).state; }
void Simulation::control(NodeId target, const ControlOp& op) { impl_->control(target, op); }
Node* Simulation::node(NodeId node) { return impl_->node(node).object.get(); }

void Simulation::set_timing(const Timing& timing) {
  FL_ASSERT(timing.tail >= 0.0 && timing.tail <= 1.0 && timing.tail_factor >= 1);
  FL_ASSERT(timing.timer_late >= 0.0 && timing.timer_late <= 1.0);
  FL_ASSERT(timing.jitter.count() >= 0 && timing.timer_late_max.count() >= 0);
  FL_ASSERT(timing.drift_ppm >= 0 && timing.drift_ppm < kPpmPerUnit);
  impl_->timing = timing;
  impl_->tail_base = impl_->configs[0].latency;
  impl_->unkind = timing.any();
  impl_->mark_links_dirty();  // the plain link's fast path is off while unkind
  if (timing.drift_ppm == 0) return;
  // Each node's rate from its own stream, split by its name: adding a node
  // does not change another's drift.
  for (std::uint32_t i = 0; i < impl_->nodes.size(); ++i) {
    Rng r = impl_->root.split("timing/drift/" + impl_->nodes[i].name);
    const std::int64_t ppm = r.between(-timing.drift_ppm, timing.drift_ppm);
    if (ppm != 0) set_clock(NodeId{i}, clock_offset(NodeId{i}), ppm);
  }
}

const Timing& Simulation::timing() const { return impl_->timing; }

void Simulation::set_clock(NodeId node, Duration offset, std::int64_t drift_ppm) {
  impl_->node(node).clock.set(impl_->now, offset.count(), drift_ppm);
  impl_->emit(node, ClockChanged{offset, drift_ppm, Duration{0}});
  impl_->reevaluate_timers(node);
}

void Simulation::step_clock(NodeId node, Duration by) {
  NodeClock& clock = impl_->node(node).clock;
  clock.step(by.count());
  impl_->emit(node, ClockChanged{Duration{clock.offset()}, clock.drift_ppm(), by});
  impl_->reevaluate_timers(node);
}

Time Simulation::local_time(NodeId node) const {
  return time_from_ns(impl_->node(node).clock.local(impl_->now));
}
Duration Simulation::clock_offset(NodeId node) const { return Duration{impl_->node(node).clock.offset()}; }
std::int64_t Simulation::clock_drift_ppm(NodeId node) const { return impl_->node(node).clock.drift_ppm(); }

void Simulation::partition(const std::vector<std::vector<NodeId>>& groups) {
  impl_->partition_groups.clear();
  for (const auto& g : groups) {
    std::vector<std::uint32_t> members;
    for (NodeId n : g) {
      FL_ASSERT(n.value < impl_->nodes.size());
      members.push_back(n.value);
    }
    impl_->partition_groups.push_back(std::move(members));
  }
  impl_->mark_links_dirty();
}

void Simulation::cut_one_way(NodeId from, NodeId to) {
  FL_ASSERT(from.value < impl_->nodes.size() && to.value < impl_->nodes.size());
  auto& cuts = impl_->one_way_cuts;
  const auto key = std::make_pair(from.value, to.value);
  const auto it = std::lower_bound(cuts.begin(), cuts.end(), key);
  if (it == cuts.end() || *it != key) cuts.insert(it, key);
  impl_->mark_links_dirty();
}

void Simulation::set_link(NodeId a, NodeId b, const LinkConfig& link) {
  FL_ASSERT(a.value < impl_->nodes.size() && b.value < impl_->nodes.size());
  FL_ASSERT(link.latency.lo.count() >= 0 && link.latency.lo <= link.latency.hi);
  FL_ASSERT_MSG(impl_->configs.size() < UINT16_MAX, "too many link overrides");
  impl_->configs.push_back(link);
  impl_->overrides[{std::min(a.value, b.value), std::max(a.value, b.value)}] =
      static_cast<std::uint16_t>(impl_->configs.size() - 1);
  impl_->mark_links_dirty();
}

void Simulation::heal() {
  impl_->partition_groups.clear();
  impl_->one_way_cuts.clear();
  impl_->overrides.clear();
  impl_->configs.resize(1);  // drop the overrides' configs
  impl_->mark_links_dirty();
}

void Simulation::heal_partition() {
  impl_->partition_groups.clear();
  impl_->mark_links_dirty();
}

void Simulation::heal_one_way(NodeId from, NodeId to) {
  auto& cuts = impl_->one_way_cuts;
  cuts.erase(std::remove(cuts.begin(), cuts.end(), std::make_pair(from.value, to.value)), cuts.end());
  impl_->mark_links_dirty();
}

void Simulation::clear_link(NodeId a, NodeId b) {
  impl_->overrides.erase({std::min(a.value, b.value), std::max(a.value, b.value)});
  impl_->mark_links_dirty();
}

const LinkConfig& Simulation::default_link() const { return impl_->configs[0]; }

LinkConfig Simulation::link(NodeId from, NodeId to) const {
  FL_ASSERT(from.value < impl_->nodes.size() && to.value < impl_->nodes.size());
  return impl_->configs[impl_->link_state(from.value, to.value).config];
}

bool Simulation::reachable(NodeId from, NodeId to) const {
  FL_ASSERT(from.value < impl_->nodes.size() && to.value < impl_->nodes.size());
  return !impl_->link_state(from.value, to.value).cut;
}

void Simulation::set_db_endpoint(NodeId primary) {
  FL_ASSERT(primary == kNoNode || primary.value < impl_->nodes.size());
  impl_->db_endpoint = primary;
}
NodeId Simulation::db_endpoint() const { return impl_->db_endpoint; }

void Simulation::set_request_timeout(NodeId from, NodeId to, Duration timeout) {
  FL_ASSERT(from.value < impl_->nodes.size() && to.value < impl_->nodes.size());
  FL_ASSERT(timeout.count() >= 0);
  auto& counts = impl_->timeouts_from;
  if (counts.size() < impl_->nodes.size()) counts.resize(impl_->nodes.size(), 0);
  if (timeout.count() == 0) counts[from.value] -= static_cast<std::uint32_t>(impl_->timeout_of.erase({from.value, to.value}));
  else if (impl_->timeout_of.insert_or_assign({from.value, to.value}, timeout.count()).second) ++counts[from.value];
}

Duration Simulation::request_timeout(NodeId from, NodeId to) const {
  FL_ASSERT(from.value < impl_->nodes.size() && to.value < impl_->nodes.size());
  return Duration{impl_->request_timeout(from, to)};
}

void Simulation::at(Time at, std::function<void(Simulation&)> action) {
  FL_ASSERT_MSG(ns(at) >= impl_->now, "an action scheduled in the past");
  FL_ASSERT(action != nullptr);
  impl_->schedule_action(ns(at), std::move(action));
}

void Simulation::run_until(Time until) { impl_->run_until(ns(until)); }
void Simulation::stop_run() { impl_->stopped = true; }
void Simulation::set_progress(std::uint64_t every, std::function<void()> callback) {
  impl_->progress_every = callback ? every : 0;
  impl_->progress = std::move(callback);
  impl_->progress_next = impl_->progress_every == 0 ? 0 : impl_->events + impl_->progress_every;
}
bool Simulation::stopped() const { return impl_->stopped; }
Time Simulation::now() const { return time_from_ns(impl_->now); }
std::uint64_t Simulation::events_processed() const { return impl_->events; }

void Simulation::emit(NodeId node, EventBody event) {
  FL_ASSERT(node == kNoNode || node.value < impl_->nodes.size());
  impl_->emit(node, std::move(event));
}
const std::vector<HistoryEvent>& Simulation::history() const { return impl_->history; }
std::uint64_t Simulation::trace_hash() const { return impl_->hasher.value(); }

std::uint64_t Simulation::messages_cut() const { return impl_->cut; }
std::uint64_t Simulation::messages_sent() const { return impl_->sent; }
std::uint64_t Simulation::messages_lost() const { return impl_->lost; }
std::uint64_t Simulation::messages_duplicated() const { return impl_->duplicated; }
std::uint64_t Simulation::messages_reordered() const { return impl_->reordered; }
std::uint64_t Simulation::messages_delayed() const { return impl_->delayed; }
std::uint64_t Simulation::sends_failed() const { return impl_->failed; }
std::uint64_t Simulation::sends_timed_out() const { return impl_->timed_out; }
Time Simulation::next_event_time() const {
  return impl_->queue.empty() ? kTimeMax : time_from_ns(impl_->queue.top().at);
}

Rng& Simulation::rng() { return impl_->sim_rng; }

}  // namespace fl::sim
