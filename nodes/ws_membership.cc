// The websocket hub's channel-membership cache (issue 14; docs/model.md,
// Incidents: channel membership). As in server/channels/app/platform
// (web_conn.go, ShouldSendEvent): each connection caches the channels its user
// belongs to and a channel event goes to a connection only when the cache has
// the channel; an invalidation clears the cache and the next channel event
// reloads it from the database (GetAllChannelMembersForUser). The real hub
// blocks on that read; here the reload is an asynchronous read and the
// connection's channel events wait for it in order (held), so a connection
// sees its events in the order the hub had them.
//
// Model choices: channel_mask is the cache; a new connection starts from the
// client's own channel list (the web app's, which includes the channels it
// learned from user_added), a resume keeps what reloads added; memberships are
// only ever added, so a reload's answer is OR-ed into the cache. No 30-minute
// expiry (webConnMemberCacheTime): runs are shorter.
#include <vector>

#include "base/assert.h"
#include "nodes/ws_hub.h"

namespace fl {

void WsHub::invalidate_member(NodeId user) {
  Conn* const found = current(user);
  if (found == nullptr) return;
  Conn& conn = *found;
  if (conn.refreshing) conn.invalidated_again = true;
  conn.cache_valid = false;
  unsure_[conn.id] = &conn;
}

void WsHub::send_user_added(Env& env, NodeId user, std::uint32_t channel) {
  Conn* const conn = current(user);
  if (conn == nullptr) return;  // the user's websocket is elsewhere (or nowhere)
  WsEvent event;
  event.kind = WsEventKind::user_added;
  event.channel = channel;
  event.user = user;
  push(env, *conn, event);
}

void WsHub::publish_user_added(Env& env, NodeId user, std::uint32_t channel) {
  FL_ASSERT(channel < kChannels);
  WsEvent event;
  event.kind = WsEventKind::user_added;
  event.channel = channel;
  event.user = user;
  // As deliver(): the members by their valid caches, then the unsure ones.
  for_members(channel, [&](Conn& conn) {
    if (!conn.cache_valid) return;
    push(env, conn, event);
  });
  if (!unsure_.empty()) route_to_unsure(env, channel, event);
}

void WsHub::route_to_unsure(Env& env, std::uint32_t channel, const WsEvent& event) {
  (void)channel;
  std::vector<std::uint64_t> ids;
  ids.reserve(unsure_.size());
  for (const auto& [id, conn] : unsure_) ids.push_back(id);
  for (const std::uint64_t id : ids) {
    const auto found = unsure_.find(id);
    if (found == unsure_.end()) continue;
    Conn& conn = *found->second;
    FL_ASSERT(!conn.cache_valid);
    conn.held.push_back(event);
    if (conn.refreshing) continue;
    conn.refreshing = true;
    conn.invalidated_again = false;
    const std::uint64_t token = ++next_member_token_;
    member_reads_[token] = conn.id;
    // After mattermost#27204 the reload reads the master; before it (mm_55485)
    // the store's GetAllChannelMembersForUser read a replica.
    host_.read_memberships(env, token, conn.client, !bugs_.on(Bug::mm_55485));
  }
}

void WsHub::memberships_read(Env& env, std::uint64_t token, bool ok, std::uint64_t mask) {
  const auto it = member_reads_.find(token);
  FL_ASSERT(it != member_reads_.end());
  const std::uint64_t id = it->second;
  member_reads_.erase(it);
  const auto found = conns_.find(id);
  if (found == conns_.end()) return;  // closed meanwhile
  Conn& conn = found->second;
  FL_ASSERT(conn.refreshing);
  conn.refreshing = false;
  std::deque<WsEvent> held;
  held.swap(conn.held);
  if (!ok) {
    // ShouldSendEvent: a failed read sends nothing; the cache stays empty and
    // the next channel event tries again.
    return;
  }
  conn.added_mask |= mask;
  set_mask(conn, conn.channel_mask | mask);
  if (!conn.invalidated_again) {
    conn.cache_valid = true;
    unsure_.erase(id);
  }
  conn.invalidated_again = false;
  for (const WsEvent& event : held) {
    const std::uint32_t channel = event.kind == WsEventKind::posted ? event.post.channel : event.channel;
    if ((conn.channel_mask >> channel & 1) == 0) continue;  // not a member, as far as the cache knows
    push(env, conn, event);
    if (conns_.count(id) == 0) return;  // a full queue closed it
  }
}

}  // namespace fl
