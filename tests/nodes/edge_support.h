// Edge words for the TestCluster DSL (tests/support/cluster_dsl.h): clients,
// posts and their deliveries, read from the history.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/cluster_dsl.h"

namespace fl::test {

// What the history says about posts: who is a member of what, which posts were
// acknowledged, and what each client received, in order.
struct PostBook {
  std::map<NodeId, std::uint64_t> members;                 // client -> channel mask
  std::map<std::uint64_t, std::uint32_t> acked;            // post -> channel
  std::map<std::uint64_t, std::uint32_t> committed;        // post -> channel (PostCommitted)
  std::map<NodeId, std::vector<std::uint64_t>> received;   // client -> posts, in order
  std::map<NodeId, std::vector<std::string>> via;          // parallel to received

  explicit PostBook(const TestCluster& c) {
    for (const HistoryEvent& e : c.history()) {
      if (const auto* m = e.get<ClientChannels>()) members[e.node] = m->channel_mask;
      if (const auto* a = e.get<PostAcked>()) acked[a->post] = a->channel;
      if (const auto* p = e.get<PostCommitted>()) committed[p->post] = p->channel;
      if (const auto* d = e.get<PostDelivered>()) {
        received[e.node].push_back(d->post);
        via[e.node].push_back(d->via);
      }
    }
  }

  // (client, post) pairs where an acknowledged post reached a member other
  // than exactly once, as text (empty when every one arrived once).
  std::vector<std::string> not_exactly_once(const TestCluster& c) const {
    std::vector<std::string> out;
    for (const auto& [client, mask] : members) {
      std::map<std::uint64_t, int> got;
      if (auto it = received.find(client); it != received.end())
        for (auto p : it->second) ++got[p];
      for (const auto& [post, channel] : acked) {
        if ((mask & (1ULL << channel)) == 0) continue;
        if (got[post] != 1)
          out.push_back(c.name(client) + " got post " + std::to_string(post >> 32) + ":" +
                        std::to_string(post & 0xffffffff) + " x" + std::to_string(got[post]));
      }
    }
    return out;
  }
  std::size_t missing(const TestCluster& c, std::string_view client) const {
    const NodeId id = c.id(client);
    std::set<std::uint64_t> got;
    if (auto it = received.find(id); it != received.end()) got.insert(it->second.begin(), it->second.end());
    std::size_t n = 0;
    for (const auto& [post, channel] : acked)
      if ((members.at(id) & (1ULL << channel)) && !got.count(post)) ++n;
    return n;
  }
  std::size_t missing_total(const TestCluster& c) const {
    std::size_t n = 0;
    for (const auto& [client, mask] : members) n += missing(c, c.name(client));
    return n;
  }
  // Clients that received some author's posts out of that author's order.
  std::vector<std::string> out_of_author_order(const TestCluster& c) const {
    std::vector<std::string> out;
    for (const auto& [client, posts] : received) {
      std::map<std::uint64_t, std::uint64_t> last;  // author index -> last n
      for (auto p : posts) {
        const std::uint64_t author = p >> 32, n = p & 0xffffffff;
        if (last.count(author) && n < last[author]) out.push_back(c.name(client));
        last[author] = std::max(last[author], n);
      }
    }
    return out;
  }
};

inline void sync_replication(ClusterSpec& spec) { spec.database.replication = Replication::sync; }

inline std::function<void(ClusterSpec&)> with_clients(std::uint32_t count, Duration post_interval,
                                                      Duration post_until,
                                                      std::function<void(ClusterSpec&)> more = {}) {
  return [=](ClusterSpec& spec) {
    spec.clients.count = count;
    spec.clients.channels = 3;
    spec.clients.post_interval = post_interval;
    spec.clients.post_until = post_until;
    if (more) more(spec);
  };
}

}  // namespace fl::test
