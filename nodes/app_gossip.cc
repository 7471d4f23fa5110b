// AppServer gossip: pings carrying peer information, the seed's 15-second rule
// ("Server is down": a failed send is retried 15 s later; the second failure
// marks the peer down, red and logged; a down peer is pinged every 15 s; when it
// answers only new messages reach it), red/green status, and cluster messages.
#include <algorithm>

#include "base/assert.h"
#include "nodes/app_server.h"

namespace fl {

AppServer::Peer& AppServer::learn_peer(Env& env, NodeId node, std::uint32_t server_id) {
  FL_ASSERT(node != env.self() && node != kNoNode);
  auto [it, inserted] = peers_.try_emplace(node);
  Peer& peer = it->second;
  if (inserted) peer.node = node;
  if (server_id != 0) peer.server_id = server_id;
  FL_ASSERT(peer.node == node);
  return peer;
}

void AppServer::gossip_tick(Env& env) {
  if (phase_ != Phase::serving) return;
  // Down peers have their own 15-s probe; suspect ones wait for the retry.
  for (auto& [node, peer] : peers_) {
    if (peer.state == PeerState::up) send_ping(env, peer);
  }
  env.after(k::kGossipPingInterval, TimerTag{kGossipTick, 0});
}

std::uint64_t AppServer::send_ping(Env& env, Peer& peer) {
  GossipPing ping{spec_.version, spec_.version.schema(), config_hash_, spec_.id, ++ping_seq_};
  env.send(peer.node, Message{ping});
  return ping.seq;
}

void AppServer::send_to_peer(Env& env, Peer& peer, const Message& message, bool reliable) {
  switch (peer.state) {
    case PeerState::down:
      return;  // not queued for a down peer (seed)
    case PeerState::suspect:
      // Between the first failure and the retry: reliable messages wait for the
      // retry, best-effort ones are lost.
      if (reliable && peer.resend.size() < k::kReliableOutboxMax) peer.resend.push_back(message);
      return;
    case PeerState::up:
      env.send(peer.node, message);
      if (reliable) {
        const Time now = env.now();
        while (!peer.reliable_inflight.empty() &&
               (now - peer.reliable_inflight.front().first > k::kReliableInflightWindow ||
                peer.reliable_inflight.size() >= k::kReliableOutboxMax)) {
          peer.reliable_inflight.pop_front();
        }
        peer.reliable_inflight.emplace_back(now, message);
      }
      return;
  }
}

void AppServer::broadcast(Env& env, const Message& message, bool reliable) {
  for (auto& [node, peer] : peers_) send_to_peer(env, peer, message, reliable);
}

void AppServer::handle_ping(Env& env, NodeId from, const GossipPing& ping) {
  if (phase_ != Phase::serving) return;  // no gossip listener before serving
  const bool known = peers_.count(from) != 0;
  const bool had_id = known && peers_.at(from).server_id != 0;
  Peer& peer = learn_peer(env, from, ping.server_id);
  peer.info_known = true;
  peer.version = ping.version;
  peer.schema = ping.schema;
  peer.config_hash = ping.config_hash;
  env.send(from, Message{GossipPong{spec_.version, spec_.version.schema(), config_hash_, spec_.id, ping.seq}});
  // A down peer that pings us has come back (a restart introduces itself):
  // probe it now rather than at the next 15-s probe; its answer marks it up.
  if (peer.state == PeerState::down) {
    if (peer.probe_timer) env.cancel(*peer.probe_timer);
    on_probe(env, peer.node);  // re-arms the 15-s probe from now
  } else if (peer.state == PeerState::suspect) {
    // Same for a peer waiting for its retry: a plain ping (its failure does not
    // count; the 15-s retry still decides), whose answer clears the suspicion.
    send_ping(env, peer);
  }
  update_status(env, peer);
  if (!known) send_ping(env, peer);  // introduce ourselves to a joiner
  if ((!known || !had_id) && peer.state != PeerState::down) on_peer_back(env, peer);
}

void AppServer::handle_pong(Env& env, NodeId from, const GossipPong& pong) {
  if (phase_ != Phase::serving) return;
  const bool known = peers_.count(from) != 0;
  Peer& peer = learn_peer(env, from, pong.server_id);
  peer.info_known = true;
  peer.version = pong.version;
  peer.schema = pong.schema;
  peer.config_hash = pong.config_hash;
  switch (peer.state) {
    case PeerState::down:
      mark_up(env, peer);
      break;
    case PeerState::suspect:
      // The path works again before the retry decided anything.
      peer.state = PeerState::up;
      peer.failed_attempts = 0;
      peer.retry_seq = 0;
      if (peer.retry_timer) env.cancel(*peer.retry_timer);
      peer.retry_timer.reset();
      for (const Message& m : peer.resend) env.send(peer.node, m);
      peer.resend.clear();
      update_status(env, peer);
      on_peer_back(env, peer);  // what it may have missed meanwhile: who leads
      return;
    case PeerState::up:
      break;
  }
  update_status(env, peer);
  if (!known) on_peer_back(env, peer);
}

void AppServer::handle_send_failed(Env& env, Peer& peer, const Message& message) {
  if (phase_ != Phase::serving) return;
  switch (peer.state) {
    case PeerState::down:
      return;  // a probe failed: still down
    case PeerState::suspect: {
      const GossipPing* ping = message.get<GossipPing>();
      if (ping == nullptr || peer.retry_seq == 0 || ping->seq != peer.retry_seq) return;
      // The second attempt failed too: the peer is down (seed).
      peer.failed_attempts = k::kGossipFailuresForDown;
      env.emit(SendFailed{peer.node, peer.failed_attempts});
      mark_down(env, peer);
      return;
    }
    case PeerState::up: {
      peer.failed_attempts = 1;
      env.emit(SendFailed{peer.node, 1});
      if (bugs_.on(Bug::down_after_one_failure)) {
        mark_down(env, peer);  // the planted bug: no 15-s retry
        return;
      }
      peer.state = PeerState::suspect;
      peer.retry_seq = 0;
      // The connection broke: reliable messages that were in flight on it are
      // resent with the retry.
      const Time now = env.now();
      for (const auto& [sent_at, m] : peer.reliable_inflight) {
        if (now - sent_at <= k::kReliableInflightWindow) peer.resend.push_back(m);
      }
      peer.reliable_inflight.clear();
      peer.retry_timer = env.after(k::kGossipRetryInterval, TimerTag{kSendRetry, peer.node.value});
      return;
    }
  }
}

void AppServer::on_send_retry(Env& env, NodeId node) {
  auto it = peers_.find(node);
  if (it == peers_.end() || phase_ != Phase::serving) return;
  Peer& peer = it->second;
  peer.retry_timer.reset();
  if (peer.state != PeerState::suspect) return;
  FL_ASSERT(peer.failed_attempts == 1);
  // The second attempt: what waited, then a ping whose failure or answer decides.
  for (const Message& m : peer.resend) env.send(peer.node, m);
  peer.resend.clear();
  peer.retry_seq = send_ping(env, peer);
  // Neither failed nor answered (a lossy link)? Try again after another interval.
  peer.retry_timer = env.after(k::kGossipRetryInterval, TimerTag{kSendRetry, peer.node.value});
}

void AppServer::mark_down(Env& env, Peer& peer) {
  FL_ASSERT(peer.state != PeerState::down);
  FL_ASSERT(peer.failed_attempts >= k::kGossipFailuresForDown || bugs_.on(Bug::down_after_one_failure));
  peer.state = PeerState::down;
  env.emit(PeerDown{peer.node, peer.failed_attempts});
  if (peer.retry_timer) env.cancel(*peer.retry_timer);
  peer.retry_timer.reset();
  peer.resend.clear();
  peer.reliable_inflight.clear();
  peer.probe_timer = env.after(k::kGossipProbeInterval, TimerTag{kPeerProbe, peer.node.value});
  update_status(env, peer);
  on_peer_gone(env, peer);
}

void AppServer::on_probe(Env& env, NodeId node) {
  auto it = peers_.find(node);
  if (it == peers_.end() || phase_ != Phase::serving) return;
  Peer& peer = it->second;
  peer.probe_timer.reset();
  if (peer.state != PeerState::down) return;
  send_ping(env, peer);
  peer.probe_timer = env.after(k::kGossipProbeInterval, TimerTag{kPeerProbe, peer.node.value});
}

void AppServer::mark_up(Env& env, Peer& peer) {
  FL_ASSERT(peer.state == PeerState::down);
  peer.state = PeerState::up;
  peer.failed_attempts = 0;
  if (peer.probe_timer) env.cancel(*peer.probe_timer);
  peer.probe_timer.reset();
  env.emit(PeerUp{peer.node});
  update_status(env, peer);
  on_peer_back(env, peer);
}

void AppServer::update_status(Env& env, Peer& peer) {
  // Red when down, or its version differs, or its config hash differs (seed's
  // System Console status); green otherwise. Unknown until heard from.
  std::string reason;
  if (peer.state == PeerState::down) reason = "down";
  else if (!peer.info_known) return;
  else if (peer.version != spec_.version) reason = "version";
  else if (peer.config_hash != config_hash_) reason = "config";
  const bool green = reason.empty();
  if (peer.status_known && peer.green == green && peer.reason == reason) return;
  peer.status_known = true;
  peer.green = green;
  peer.reason = reason;
  env.emit(PeerStatus{peer.node, green, reason});
}

std::vector<NodeId> AppServer::down_peers() const {
  std::vector<NodeId> out;
  for (const auto& [node, peer] : peers_) {
    if (peer.state == PeerState::down) out.push_back(node);
  }
  return out;
}

std::vector<NodeId> AppServer::up_peers() const {
  std::vector<NodeId> out;
  for (const auto& [node, peer] : peers_)
    if (peer.state != PeerState::down) out.push_back(node);
  return out;
}

bool AppServer::peer_green(NodeId node) const {
  auto it = peers_.find(node);
  return it != peers_.end() && it->second.status_known && it->second.green;
}

}  // namespace fl
