// Reliable websockets across servers (issue 14; MM-61904,
// mattermost/mattermost#29489; server/channels/app/platform/web_hub.go
// CheckWebConn, websocket_reliable.go GetWSQueues).
//
// A client reconnects with its connection id and the next sequence number it
// expects. A server that does not hold that connection asks every peer it
// believes up for its queues. A peer that holds it inactive gives it up (the
// hub's CheckConn removes an inactive connection) and, when the client's
// sequence is still in its buffer, answers with the events from there on
// (buffer, then queue) and the connection's next sequence number. The asking
// server takes the queues of one peer that found it (the lowest node id: the
// real server takes the first of a Go map), opens the connection under the
// same id, sends what the client missed, then the posts it delivered to the
// client's channels while it waited, and carries on numbering. If nobody found
// it, or the request timed out (kGossipRequestTimeout; the real one falls back
// on an error too), it starts afresh: a new connection id and a hello, and the
// client resynchronises over REST.
//
// Before the fix (the planted bug mm_61904, and servers older than
// kWsQueueFetchSince) nobody is asked: a reconnect to another server always
// starts afresh. The maintainers left one case open: a client that
// reconnected through several servers can leave queues on more than one of
// them; the server takes one and the others' events are lost (the hazard
// scenarios/hazards/mm_61904_reconnect_across_servers.toml).
//
// What it keeps true:
//  - A connection is handed over at most once: the holder forgets it when it
//    answers found (FL_ASSERT in finish_transfer: the id is new here).
//  - The adopted connection's sequence continues the holder's: the first event
//    sent is the client's next_seq, and every later one is numbered after.
#include <set>

#include "base/assert.h"
#include "nodes/constants.h"
#include "nodes/ws_hub.h"

namespace fl {

bool WsHub::fetch_queue(Env& env, NodeId from, const WsConnect& connect) {
  // A first connect (sequence 0) has nothing to recover (CheckWebConn asks the
  // cluster only for seqNum != 0).
  if (connect.next_seq == 0) return false;
  const std::vector<NodeId> peers = host_.queue_peers();
  if (peers.empty()) return false;
  const std::uint64_t token = ++next_transfer_;
  Transfer& t = transfers_[token];
  t.via = from;
  t.connect = connect;
  t.waiting.insert(peers.begin(), peers.end());
  for (const NodeId peer : peers)
    host_.send_peer(env, peer, Message{WsQueueRequest{token, connect.client, connect.conn_id, connect.next_seq}});
  t.timer = env.after(k::kGossipRequestTimeout, TimerTag{reaper_kind_, kTransferTimerBase + token});
  return true;
}

void WsHub::drop_transfers(Env& env, NodeId client) {
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    if (it->second.connect.client != client) {
      ++it;
      continue;
    }
    env.cancel(it->second.timer);
    it = transfers_.erase(it);
  }
}

void WsHub::on_queue_request(Env& env, NodeId from, const WsQueueRequest& request) {
  WsQueueReply reply;
  reply.token = request.token;
  const auto it = conns_.find(request.conn_id);
  if (it != conns_.end() && it->second.client == request.client && !it->second.connected) {
    Conn& conn = it->second;
    // The events still available run from the buffer's first to next_seq.
    std::uint64_t first = conn.next_seq;
    if (!conn.buffer.empty()) first = conn.buffer.front().seq;
    else if (!conn.queue.empty()) first = conn.queue.front().seq;
    const bool written = !conn.buffer.empty() || !conn.queue.empty();  // "nothing was written": no answer
    if (written && request.next_seq >= first && request.next_seq <= conn.next_seq) {
      auto events = std::make_shared<std::vector<WsEvent>>();
      for (const WsEvent& e : conn.buffer)
        if (e.seq >= request.next_seq) events->push_back(e);
      for (const WsEvent& e : conn.queue) events->push_back(e);
      reply.found = true;
      reply.next_seq = conn.next_seq;
      reply.events = std::move(events);
    }
    erase(conn.id);  // CheckConn removed it, found or not
  }
  host_.send_peer(env, from, Message{reply});
}

void WsHub::on_queue_reply(Env& env, NodeId from, const WsQueueReply& reply) {
  const auto it = transfers_.find(reply.token);
  if (it == transfers_.end()) return;  // timed out or superseded: its events are lost
  Transfer& t = it->second;
  if (!t.waiting.erase(from)) return;
  if (reply.found && (t.from == kNoNode || from < t.from)) {
    t.from = from;
    t.found = reply;
  }
  if (t.waiting.empty()) finish_transfer(env, reply.token, /*answered=*/true);
}

void WsHub::hold_for_transfers(const PostEvent& post) {
  for (auto& [token, t] : transfers_)
    if (post.channel < 64 && (t.connect.channel_mask >> post.channel & 1)) t.held.push_back(post);
}

void WsHub::finish_transfer(Env& env, std::uint64_t token, bool answered) {
  const auto it = transfers_.find(token);
  if (it == transfers_.end()) return;
  Transfer t = std::move(it->second);
  transfers_.erase(it);
  env.cancel(t.timer);
  const WsConnect& connect = t.connect;
  if (const Conn* old = current(connect.client); old != nullptr) erase(old->id);
  if (!answered || t.from == kNoNode || conns_.count(connect.conn_id)) {
    // Nobody had it (or the request failed): the unreliable case.
    open_new(env, t.via, connect, new_conn_id(env), /*hello=*/true);
    return;
  }
  Conn& conn = conns_[connect.conn_id];
  conn.id = connect.conn_id;
  conn.client = connect.client;
  conn.via = t.via;
  conn.session = connect.session;
  set_mask(conn, connect.channel_mask);
  conn.connected = true;
  conn.last_activity = env.now();
  conn.last_heard = env.monotonic();
  conn.next_seq = t.found.next_seq;
  set_current(connect.client, &conn);
  env.send(t.via, Message{WsOpened{conn.client, env.self(), conn.id, host_.version()}});
  std::set<std::uint64_t> sent;
  std::uint64_t expect = connect.next_seq;
  const std::size_t replayed = t.found.events ? t.found.events->size() : 0;
  if (t.found.events) {
    // drainDeadQueue writes them straight to the socket (writeMessage), not
    // into this server's dead queue: a client that loses them and reconnects
    // again finds them nowhere (the case the maintainers left open).
    for (const WsEvent& e : *t.found.events) {
      FL_ASSERT(e.seq == expect);
      ++expect;
      env.send(conn.via, Message{e});
      if (e.kind == WsEventKind::posted) sent.insert(e.post.id);
    }
  }
  FL_ASSERT(expect == conn.next_seq);
  env.emit(WsQueueTransferred{conn.client, t.from, conn.id, replayed});
  for (const PostEvent& post : t.held) {
    if (sent.count(post.id)) continue;
    WsEvent event;
    event.kind = WsEventKind::posted;
    event.post = post;
    push(env, conn, event);
    sent.insert(post.id);
  }
}

}  // namespace fl
