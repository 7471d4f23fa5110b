// Messages for the space-time diagram (report.html): arrows between nodes
// around each violation, inferred from the history's events. The simulator
// does not record its network messages in the history (the trace hash covers
// the history, and the history is what invariants read), so each arrow pairs
// the two events that a message joins, both of which the history holds:
//  - request:  PostSent at a client -> PostAcked at the server that took it
//              (through the proxy), the same post and client;
//  - response: PostAcked at the server -> PostAckReceived at its author;
//  - commit:   PostCommitted at the primary -> PostAcked of that post at the
//              server that wrote it (the database's answer);
//  - wal:      PostCommitted at the primary (lsn L) -> ReplicaApplied at a
//              replica (lsn L);
//  - realtime: PostAcked at the server -> PostDelivered over the websocket at
//              a client; the arrow ends at the client (the server it is
//              connected to relays it, which the hover names);
//  - resync:   ClientResync at a client -> PostDelivered via resync there, from
//              the server it is connected to;
//  - failed:   SendFailed: a send from a server to a peer that did not arrive
//              (drawn as a short arrow ending in a cross);
//  - health:   HealthChecked at the proxy: the server's answer (or its absence);
//  - connect:  ClientConnected: the server accepted the client's websocket.
// An event with no partner in the window draws no arrow (its partner may lie
// outside the window), never a guessed one.
//
// Invariants kept: pure functions of their inputs, deterministic order (by the
// arrow's start, then its end, then the seqs), bounded by kMaxMessages (when
// cut, the realtime deliveries go first).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/history.h"
#include "base/time.h"

namespace fl::reports {

struct RunResult;

// How much of the history around each violation becomes arrows: the busiest
// library scenario sends a few hundred messages a second, so a few seconds
// before the violation show what led to it without burying the page.
inline constexpr Duration kMessagesBefore = seconds(3);
inline constexpr Duration kMessagesAfter = seconds(1);
inline constexpr Duration kMessagesAroundWitness = milliseconds(500);
// Events read into arrows, at most, shared evenly by the windows (each gets at
// least kMinMessageEventsPerWindow), and arrows kept, at most (realtime
// deliveries dropped first): a page of about 500 KB at worst.
inline constexpr std::size_t kMaxMessageEvents = 6'000;
inline constexpr std::size_t kMinMessageEventsPerWindow = 300;
inline constexpr std::size_t kMaxMessages = 2'000;

struct Message {
  std::string kind;  // request, response, commit, wal, realtime, resync, failed, health, connect
  NodeId from{kNoNode};
  NodeId to{kNoNode};
  Time sent{};
  Time received{};
  bool lost = false;          // it did not arrive (failed sends, failed health checks)
  std::string what;           // "post 4294967307", "lsn 2520", ...
  NodeId relay{kNoNode};      // realtime: the server the client was connected to
  std::uint64_t from_seq = 0;  // the history events it pairs
  std::uint64_t to_seq = 0;
  friend bool operator==(const Message&, const Message&) = default;
};

// True for the events infer_messages reads (a reader may skip the others).
bool message_event(std::string_view event_name);

// One line of the history (sim/history_json.h) back into an event, for the
// events message_event names only; nullopt for the others or a bad line.
std::optional<HistoryEvent> parse_message_event(std::string_view line);

// The arrows among `events` (in history order). `connections` tells, per
// client, the server it was connected to at each time (a realtime or resync
// delivery is relayed by it): the caller passes the run's timeline (its
// ClientConnected events are read, in any order, with those of `events`).
std::vector<Message> infer_messages(const std::vector<HistoryEvent>& events,
                                    const std::vector<HistoryEvent>& connections);

// The windows (virtual time, inclusive) around the run's violations and their
// witnesses whose events become arrows, merged and sorted.
std::vector<std::pair<Time, Time>> message_windows(const RunResult& run);

}  // namespace fl::reports
