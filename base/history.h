// History events: what invariants read. Every decision an invariant needs is
// emitted by the node that made it (through Env::emit) or by the simulator (for
// faults and process lifecycle), stamped by the runtime with the virtual time,
// the emitting node's local time and the node's id.
//
// Each event type is a plain struct with a stable snake_case `kName` and a
// `fields(f)` visitor listing (name, value) pairs. The visitor is the one place
// that says what an event carries: the JSON Lines writer, the trace hash, the
// reports and the tests all go through it, so adding a field never needs four
// edits. Field values are integers, bools, NodeId, Duration, Time or strings.
//
// Conventions: `peer`, `leader`, `server`, `holder` are NodeIds; post ids are
// chosen by the client and double as idempotency keys (client index << 32 | n).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "base/ids.h"
#include "base/time.h"

namespace fl {

#define FL_EVENT(Type, name)                           \
  static constexpr std::string_view kName = name;     \
  friend bool operator==(const Type&, const Type&) = default

// ---- emitted by the simulator ------------------------------------------------
struct ProcessStarted { FL_EVENT(ProcessStarted, "process_started"); template <class F> void fields(F&&) const {} };
struct ProcessCrashed { FL_EVENT(ProcessCrashed, "process_crashed"); template <class F> void fields(F&&) const {} };
struct ProcessStopped { FL_EVENT(ProcessStopped, "process_stopped"); template <class F> void fields(F&&) const {} };
struct ProcessPaused { Duration length{}; FL_EVENT(ProcessPaused, "process_paused"); template <class F> void fields(F&& f) const { f("length", length); } };
struct ProcessResumed { FL_EVENT(ProcessResumed, "process_resumed"); template <class F> void fields(F&&) const {} };
struct ClockChanged {
  Duration offset{}; std::int64_t drift_ppm = 0; Duration step{};
  FL_EVENT(ClockChanged, "clock_changed");
  template <class F> void fields(F&& f) const { f("offset", offset); f("drift_ppm", drift_ppm); f("step", step); }
};
// Node sets as typed history fields (a partition's groups, a cut's sides).
using NodeGroups = std::vector<std::vector<NodeId>>;

// A fault record applied by the injector; `node` of the event is the first node
// it names, or kNoNode. `index` is its position in the scenario's schedule.
// Checkers read the typed fields, never the detail (which is for people):
//  - groups: partition: its groups; one_way and gossip_send_failure: {from, to};
//    loss/duplicate/reorder/delay: {} on every link, or {{a, b}} between two
//    nodes; node faults (crash, pause, clock, db, ...): {nodes it applied to}.
//  - effective: false when it changed nothing at injection (a crash of a node
//    already down, a heal with nothing to heal, a failover with no replica).
struct FaultInjected {
  std::uint32_t index = 0; std::string kind; std::string detail;
  NodeGroups groups;
  bool effective = true;
  FL_EVENT(FaultInjected, "fault_injected");
  template <class F> void fields(F&& f) const {
    f("index", index); f("kind", kind); f("detail", detail); f("groups", groups); f("effective", effective);
  }
};
struct FaultHealed {
  std::uint32_t index = 0; std::string kind;
  FL_EVENT(FaultHealed, "fault_healed");
  template <class F> void fields(F&& f) const { f("index", index); f("kind", kind); }
};
// The end of the safety phase: every fault healed, crashed nodes restarting.
struct SettleBegin { FL_EVENT(SettleBegin, "settle_begin"); template <class F> void fields(F&&) const {} };

// ---- app server ------------------------------------------------------------------
struct ServerStarting {
  std::string version; std::uint64_t config_hash = 0;
  FL_EVENT(ServerStarting, "server_starting");
  template <class F> void fields(F&& f) const { f("version", version); f("config_hash", config_hash); }
};
// The server's HTTP listener is up: it serves clients from here on.
struct ServerServing { std::string version; FL_EVENT(ServerServing, "server_serving"); template <class F> void fields(F&& f) const { f("version", version); } };
struct ServerRefusedStart { std::string reason; FL_EVENT(ServerRefusedStart, "server_refused_start"); template <class F> void fields(F&& f) const { f("reason", reason); } };
struct ServerStopping { FL_EVENT(ServerStopping, "server_stopping"); template <class F> void fields(F&&) const {} };
struct DbConnectFailed { std::uint32_t attempt = 0; FL_EVENT(DbConnectFailed, "db_connect_failed"); template <class F> void fields(F&& f) const { f("attempt", attempt); } };

// The migration lock (REFERENCE.md, Schema migrations). `expire_at` is in the
// clock that judges it: the server's local clock (morph) or the database's (db_clock).
struct MigrationLockAcquired {
  Time expire_at{}; bool took_over = false;
  FL_EVENT(MigrationLockAcquired, "migration_lock_acquired");
  template <class F> void fields(F&& f) const { f("expire_at", expire_at); f("took_over", took_over); }
};
struct MigrationLockLost { FL_EVENT(MigrationLockLost, "migration_lock_lost"); template <class F> void fields(F&&) const {} };
struct MigrationLockReleased { FL_EVENT(MigrationLockReleased, "migration_lock_released"); template <class F> void fields(F&&) const {} };
struct MigrationStarted { std::uint32_t schema = 0; FL_EVENT(MigrationStarted, "migration_started"); template <class F> void fields(F&& f) const { f("schema", schema); } };
struct MigrationApplied { std::uint32_t schema = 0; FL_EVENT(MigrationApplied, "migration_applied"); template <class F> void fields(F&& f) const { f("schema", schema); } };

struct DiscoveryRowWritten { FL_EVENT(DiscoveryRowWritten, "discovery_row_written"); template <class F> void fields(F&&) const {} };
struct PeerDown { NodeId peer{}; std::uint32_t failed_attempts = 0; FL_EVENT(PeerDown, "peer_down"); template <class F> void fields(F&& f) const { f("peer", peer); f("failed_attempts", failed_attempts); } };
struct PeerUp { NodeId peer{}; FL_EVENT(PeerUp, "peer_up"); template <class F> void fields(F&& f) const { f("peer", peer); } };
struct SendFailed { NodeId peer{}; std::uint32_t attempt = 0; FL_EVENT(SendFailed, "send_failed"); template <class F> void fields(F&& f) const { f("peer", peer); f("attempt", attempt); } };
// reason: "" when green, else "down" | "version" | "config".
struct PeerStatus {
  NodeId peer{}; bool green = true; std::string reason;
  FL_EVENT(PeerStatus, "peer_status");
  template <class F> void fields(F&& f) const { f("peer", peer); f("green", green); f("reason", reason); }
};

struct ElectionStarted { FL_EVENT(ElectionStarted, "election_started"); template <class F> void fields(F&&) const {} };
struct ElectionWon { FL_EVENT(ElectionWon, "election_won"); template <class F> void fields(F&&) const {} };
struct ElectionLost { NodeId leader{}; FL_EVENT(ElectionLost, "election_lost"); template <class F> void fields(F&& f) const { f("leader", leader); } };
// The node holds leadership and may schedule jobs, from LeaderBegin to LeaderEnd
// (or to its crash/stop).
struct LeaderBegin { FL_EVENT(LeaderBegin, "leader_begin"); template <class F> void fields(F&&) const {} };
struct LeaderEnd { FL_EVENT(LeaderEnd, "leader_end"); template <class F> void fields(F&&) const {} };

// At the scheduler, the instant it schedules a recurring job type (it sends the
// create; JobCreated follows when a row is made: a create-once type with a job
// pending or in progress makes none). job_schedule counts these.
struct JobScheduled { std::string type; FL_EVENT(JobScheduled, "job_scheduled"); template <class F> void fields(F&& f) const { f("type", type); } };
struct JobCreated {
  std::uint64_t job = 0; std::string type; bool create_once = true;
  FL_EVENT(JobCreated, "job_created");
  template <class F> void fields(F&& f) const { f("job", job); f("type", type); f("create_once", create_once); }
};
struct JobClaimed { std::uint64_t job = 0; std::string type; FL_EVENT(JobClaimed, "job_claimed"); template <class F> void fields(F&& f) const { f("job", job); f("type", type); } };
struct JobRunStarted { std::uint64_t job = 0; std::string type; FL_EVENT(JobRunStarted, "job_run_started"); template <class F> void fields(F&& f) const { f("job", job); f("type", type); } };
struct JobFinished { std::uint64_t job = 0; std::string type; FL_EVENT(JobFinished, "job_finished"); template <class F> void fields(F&& f) const { f("job", job); f("type", type); } };

// ---- database ----------------------------------------------------------------------
// At the primary: a post row committed (lsn = its position in the write stream).
struct PostCommitted {
  std::uint64_t post = 0; std::uint32_t channel = 0; std::uint64_t lsn = 0;
  FL_EVENT(PostCommitted, "post_committed");
  template <class F> void fields(F&& f) const { f("post", post); f("channel", channel); f("lsn", lsn); }
};
struct ReplicaApplied { std::uint64_t lsn = 0; FL_EVENT(ReplicaApplied, "replica_applied"); template <class F> void fields(F&& f) const { f("lsn", lsn); } };
struct DbCrashed { FL_EVENT(DbCrashed, "db_crashed"); template <class F> void fields(F&&) const {} };
// A replica became the primary; `lsn` is the last record it had applied.
struct Promoted { std::uint64_t lsn = 0; FL_EVENT(Promoted, "promoted"); template <class F> void fields(F&& f) const { f("lsn", lsn); } };
// Acknowledged commits the promoted replica never received, lost with the old primary.
struct CommitsLost {
  std::uint64_t first_lsn = 0; std::uint64_t last_lsn = 0; std::uint64_t count = 0;
  FL_EVENT(CommitsLost, "commits_lost");
  template <class F> void fields(F&& f) const { f("first_lsn", first_lsn); f("last_lsn", last_lsn); f("count", count); }
};
// At a sync primary: commits have waited a whole status interval for a
// synchronous standby while none is streaming. PostgreSQL holds them until one
// connects (synchronous_commit with synchronous_standby_names set): why writes
// stopped. Once per stall; `oldest_lsn` is the first commit still held.
struct SyncCommitsWaiting {
  std::uint64_t waiting = 0; std::uint64_t oldest_lsn = 0;
  FL_EVENT(SyncCommitsWaiting, "sync_commits_waiting");
  template <class F> void fields(F&& f) const { f("waiting", waiting); f("oldest_lsn", oldest_lsn); }
};
// At a sync primary with sync_fallback: the synchronous requirement dropped (no
// standby streaming: commits are acknowledged at the primary) or restored.
struct SyncRequirement {
  bool required = false; std::uint32_t standbys = 0;
  FL_EVENT(SyncRequirement, "sync_requirement");
  template <class F> void fields(F&& f) const { f("required", required); f("standbys", standbys); }
};
// Emitted by the primary at the end of the run (settle) for each post it holds,
// so that no_lost_writes judges the primary's real contents, not a belief.
struct PostPresent { std::uint64_t post = 0; FL_EVENT(PostPresent, "post_present"); template <class F> void fields(F&& f) const { f("post", post); } };

// ---- websocket hub, clients, proxy, storage, operator -------------------------------
// At the app server: a post accepted and acknowledged to its author.
struct PostAcked {
  std::uint64_t post = 0; std::uint32_t channel = 0; NodeId client{};
  FL_EVENT(PostAcked, "post_acked");
  template <class F> void fields(F&& f) const { f("post", post); f("channel", channel); f("client", client); }
};
// At a client.
struct PostSent { std::uint64_t post = 0; std::uint32_t channel = 0; std::uint32_t attempt = 0; FL_EVENT(PostSent, "post_sent"); template <class F> void fields(F&& f) const { f("post", post); f("channel", channel); f("attempt", attempt); } };
struct PostAckReceived { std::uint64_t post = 0; FL_EVENT(PostAckReceived, "post_ack_received"); template <class F> void fields(F&& f) const { f("post", post); } };
// A post reached the client: over the websocket (`via` "ws"), a resync fetch
// ("resync"), or, for its author, the answer to its own POST ("ack").
struct PostDelivered {
  std::uint64_t post = 0; std::uint32_t channel = 0; std::string via;
  FL_EVENT(PostDelivered, "post_delivered");
  template <class F> void fields(F&& f) const { f("post", post); f("channel", channel); f("via", via); }
};
struct ClientConnected { NodeId server{}; std::uint64_t conn = 0; bool resumed = false; FL_EVENT(ClientConnected, "client_connected"); template <class F> void fields(F&& f) const { f("server", server); f("conn", conn); f("resumed", resumed); } };
struct ClientDisconnected { std::string reason; FL_EVENT(ClientDisconnected, "client_disconnected"); template <class F> void fields(F&& f) const { f("reason", reason); } };
struct ClientReconnecting { std::uint32_t attempt = 0; Duration wait{}; FL_EVENT(ClientReconnecting, "client_reconnecting"); template <class F> void fields(F&& f) const { f("attempt", attempt); f("wait", wait); } };
struct ClientResync { std::uint64_t since_post = 0; FL_EVENT(ClientResync, "client_resync"); template <class F> void fields(F&& f) const { f("since_post", since_post); } };
struct ClientRequestFailed { std::string request; std::string reason; FL_EVENT(ClientRequestFailed, "client_request_failed"); template <class F> void fields(F&& f) const { f("request", request); f("reason", reason); } };
struct ClientChannels { std::uint64_t channel_mask = 0; FL_EVENT(ClientChannels, "client_channels"); template <class F> void fields(F&& f) const { f("channel_mask", channel_mask); } };
// At the proxy.
struct HealthChecked { NodeId server{}; bool healthy = false; FL_EVENT(HealthChecked, "health_checked"); template <class F> void fields(F&& f) const { f("server", server); f("healthy", healthy); } };
struct ProxyRouted { NodeId client{}; NodeId server{}; FL_EVENT(ProxyRouted, "proxy_routed"); template <class F> void fields(F&& f) const { f("client", client); f("server", server); } };
struct UpstreamChanged { std::string servers; FL_EVENT(UpstreamChanged, "upstream_changed"); template <class F> void fields(F&& f) const { f("servers", servers); } };
// At an app server.
struct PluginLoaded { std::string plugin; FL_EVENT(PluginLoaded, "plugin_loaded"); template <class F> void fields(F&& f) const { f("plugin", plugin); } };
struct ConfigChanged { std::string key; std::string value; std::uint64_t config_hash = 0; FL_EVENT(ConfigChanged, "config_changed"); template <class F> void fields(F&& f) const { f("key", key); f("value", value); f("config_hash", config_hash); } };
// At the operator: one step of a runbook.
struct OperatorStep { std::string runbook; std::string step; std::string detail; FL_EVENT(OperatorStep, "operator_step"); template <class F> void fields(F&& f) const { f("runbook", runbook); f("step", step); f("detail", detail); } };
// ---- incidents of issue 14 (docs/model.md, Incidents) -------------------------------
// At an app server: its discovery row was refused before the insert
// (ClusterDiscovery.IsValid: an empty cluster name); it serves alone.
struct DiscoveryRowRejected { std::string reason; FL_EVENT(DiscoveryRowRejected, "discovery_row_rejected"); template <class F> void fields(F&& f) const { f("reason", reason); } };
// At the app server where an admin revoked sessions: revocation number
// `revocation` (the operator numbers them from 1), of every session of `client`,
// or of every session of every user when `client` is kNoNode (System Console >
// Users > Revoke All Sessions). It covers the sessions created before it.
struct SessionRevoked {
  std::uint64_t revocation = 0; NodeId client{kNoNode};
  FL_EVENT(SessionRevoked, "session_revoked");
  template <class F> void fields(F&& f) const { f("revocation", revocation); f("client", client); }
};
// At every app server that applied revocation `revocation` (the origin, and
// each peer on the cluster message): its session cache no longer holds the
// revoked sessions; `closed`: the websocket connections it closed for them.
struct SessionRevocationApplied {
  std::uint64_t revocation = 0; NodeId client{kNoNode}; std::uint64_t closed = 0;
  FL_EVENT(SessionRevocationApplied, "session_revocation_applied");
  template <class F> void fields(F&& f) const { f("revocation", revocation); f("client", client); f("closed", closed); }
};
// At a client: a server refused its session (401, or a websocket closed as
// unauthorized by `revocation`): the web app logs out.
struct ClientLoggedOut { std::uint64_t revocation = 0; FL_EVENT(ClientLoggedOut, "client_logged_out"); template <class F> void fields(F&& f) const { f("revocation", revocation); } };
// At a client: the user logged in again; its new session was created after
// revocation `after` (session = after << 32 | the client's node id).
struct ClientLoggedIn { std::uint64_t session = 0; std::uint64_t after = 0; FL_EVENT(ClientLoggedIn, "client_logged_in"); template <class F> void fields(F&& f) const { f("session", session); f("after", after); } };
// At an app server: a websocket reconnecting here took its queue from `from`
// (MM-61904: reliable websockets across servers); `events` replayed from it.
struct WsQueueTransferred {
  NodeId client{kNoNode}; NodeId from{kNoNode}; std::uint64_t conn = 0; std::uint64_t events = 0;
  FL_EVENT(WsQueueTransferred, "ws_queue_transferred");
  template <class F> void fields(F&& f) const { f("client", client); f("from", from); f("conn", conn); f("events", events); }
};

// A test-only event for workloads that are not the chat cluster (the engine
// benchmark, sim tests): `tag` and `value` mean what the test says.
struct Probe { std::uint64_t tag = 0; std::int64_t value = 0; FL_EVENT(Probe, "probe"); template <class F> void fields(F&& f) const { f("tag", tag); f("value", value); } };

// Channel membership (issue 14). At the primary: a user (`client`) added to
// `channel`, committed at `lsn` of its write stream; message_delivery owes the
// client that channel's posts committed after it.
struct MembershipChanged {
  NodeId client{}; std::uint32_t channel = 0; std::uint64_t lsn = 0;
  FL_EVENT(MembershipChanged, "membership_changed");
  template <class F> void fields(F&& f) const { f("client", client); f("channel", channel); f("lsn", lsn); }
};
// At a client: the user_added event about itself reached it; the web app adds
// the channel and loads its posts.
struct ClientAddedToChannel {
  std::uint32_t channel = 0;
  FL_EVENT(ClientAddedToChannel, "client_added_to_channel");
  template <class F> void fields(F&& f) const { f("channel", channel); }
};

#undef FL_EVENT

using EventBody = std::variant<
    ProcessStarted, ProcessCrashed, ProcessStopped, ProcessPaused, ProcessResumed, ClockChanged,
    FaultInjected, FaultHealed, SettleBegin,
    ServerStarting, ServerServing, ServerRefusedStart, ServerStopping, DbConnectFailed,
    MigrationLockAcquired, MigrationLockLost, MigrationLockReleased, MigrationStarted, MigrationApplied,
    DiscoveryRowWritten, PeerDown, PeerUp, SendFailed, PeerStatus,
    ElectionStarted, ElectionWon, ElectionLost, LeaderBegin, LeaderEnd,
    JobScheduled, JobCreated, JobClaimed, JobRunStarted, JobFinished,
    PostCommitted, ReplicaApplied, DbCrashed, Promoted, CommitsLost, SyncCommitsWaiting, SyncRequirement, PostPresent,
    PostAcked, PostSent, PostAckReceived, PostDelivered, ClientConnected, ClientDisconnected,
    ClientReconnecting, ClientResync, ClientRequestFailed, ClientChannels,
    HealthChecked, ProxyRouted, UpstreamChanged, PluginLoaded, ConfigChanged, OperatorStep, Probe,
    MembershipChanged, ClientAddedToChannel,
    DiscoveryRowRejected, SessionRevoked, SessionRevocationApplied, ClientLoggedOut, ClientLoggedIn,
    WsQueueTransferred>;

inline constexpr std::size_t kEventTypes = std::variant_size_v<EventBody>;

namespace detail {
template <class T, class V> struct EventIndex;
template <class T, class... Ts> struct EventIndex<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    constexpr bool same[] = {std::is_same_v<T, Ts>...};
    for (std::size_t i = 0; i < sizeof...(Ts); ++i)
      if (same[i]) return i;
    return sizeof...(Ts);
  }();
};
}  // namespace detail
// The position of event type T in EventBody (HistoryEvent::body.index()):
// lets a reader route events by type without visiting them.
template <class T> inline constexpr std::size_t event_index = detail::EventIndex<T, EventBody>::value;

// One entry of the history: what happened, where, and when on both clocks.
struct HistoryEvent {
  std::uint64_t seq = 0;  // position in the run's history, from 0
  Time at{};              // virtual time
  Time local{};           // the emitting node's local clock at that instant
  NodeId node{kNoNode};
  EventBody body;

  template <class T> bool is() const { return std::holds_alternative<T>(body); }
  template <class T> const T* get() const { return std::get_if<T>(&body); }
  std::string_view name() const {
    return std::visit([](const auto& b) { return std::decay_t<decltype(b)>::kName; }, body);
  }
};

}  // namespace fl
