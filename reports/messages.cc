#include "reports/messages.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "base/assert.h"
#include "reports/run_result.h"

namespace fl::reports {
namespace {

// The latest entry at or before `t` in a time-ordered list, or nullptr.
template <class T, class AtOf>
const T* latest_before(const std::vector<T>& v, Time t, AtOf at_of) {
  auto it = std::upper_bound(v.begin(), v.end(), t, [&](Time x, const T& e) { return x < at_of(e); });
  return it == v.begin() ? nullptr : &*std::prev(it);
}

std::string post_text(std::uint64_t post) { return "post " + std::to_string(post); }

}  // namespace

bool message_event(std::string_view n) {
  static constexpr std::string_view kNames[] = {
      PostSent::kName,      PostAcked::kName,     PostAckReceived::kName, PostCommitted::kName,
      ReplicaApplied::kName, PostDelivered::kName, ClientResync::kName,    SendFailed::kName,
      HealthChecked::kName, ClientConnected::kName};
  return std::find(std::begin(kNames), std::end(kNames), n) != std::end(kNames);
}

std::optional<HistoryEvent> parse_message_event(std::string_view line) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("event") || !j.at("event").is_string()) return std::nullopt;
  const std::string name = j.at("event").get<std::string>();
  if (!message_event(name)) return std::nullopt;
  HistoryEvent e;
  auto u64_of = [](const nlohmann::json& o, const char* k) {
    return o.contains(k) && o.at(k).is_number_unsigned() ? o.at(k).get<std::uint64_t>() : std::uint64_t{0};
  };
  e.seq = u64_of(j, "seq");
  e.at = time_from_ns(j.contains("at_ns") && j.at("at_ns").is_number_integer() ? j.at("at_ns").get<std::int64_t>() : 0);
  e.local = time_from_ns(j.contains("local_ns") && j.at("local_ns").is_number_integer() ? j.at("local_ns").get<std::int64_t>() : 0);
  const auto& node = j.contains("node") ? j.at("node") : nlohmann::json();
  e.node = node.is_number_unsigned() ? NodeId{node.get<std::uint32_t>()} : kNoNode;
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const auto& f = j.contains("fields") && j.at("fields").is_object() ? j.at("fields") : kEmpty;
  auto u64 = [&](const char* k) { return u64_of(f, k); };
  auto u32 = [&](const char* k) { return std::uint32_t(u64_of(f, k)); };
  auto id = [&](const char* k) {
    return f.contains(k) && f.at(k).is_number_unsigned() ? NodeId{f.at(k).get<std::uint32_t>()} : kNoNode;
  };
  auto boolean = [&](const char* k) { return f.contains(k) && f.at(k).is_boolean() && f.at(k).get<bool>(); };
  auto str = [&](const char* k) {
    return f.contains(k) && f.at(k).is_string() ? f.at(k).get<std::string>() : std::string();
  };
  if (name == PostSent::kName) e.body = PostSent{u64("post"), u32("channel"), u32("attempt")};
  else if (name == PostAcked::kName) e.body = PostAcked{u64("post"), u32("channel"), id("client")};
  else if (name == PostAckReceived::kName) e.body = PostAckReceived{u64("post")};
  else if (name == PostCommitted::kName) e.body = PostCommitted{u64("post"), u32("channel"), u64("lsn")};
  else if (name == ReplicaApplied::kName) e.body = ReplicaApplied{u64("lsn")};
  else if (name == PostDelivered::kName) e.body = PostDelivered{u64("post"), u32("channel"), str("via")};
  else if (name == ClientResync::kName) e.body = ClientResync{u64("since_post")};
  else if (name == SendFailed::kName) e.body = SendFailed{id("peer"), u32("attempt")};
  else if (name == HealthChecked::kName) e.body = HealthChecked{id("server"), boolean("healthy")};
  else if (name == ClientConnected::kName) e.body = ClientConnected{id("server"), u64("conn"), boolean("resumed")};
  else FL_UNREACHABLE();
  return e;
}

std::vector<Message> infer_messages(const std::vector<HistoryEvent>& events,
                                    const std::vector<HistoryEvent>& connections) {
  // Which server each client was connected to, over time.
  std::map<NodeId, std::vector<std::pair<Time, NodeId>>> connected;
  auto add_connection = [&](const HistoryEvent& e) {
    if (const auto* c = e.get<ClientConnected>()) connected[e.node].emplace_back(e.at, c->server);
  };
  for (const auto& e : connections) add_connection(e);
  for (const auto& e : events) add_connection(e);
  for (auto& [client, list] : connected) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  auto server_of = [&](NodeId client, Time t) {
    auto it = connected.find(client);
    if (it == connected.end()) return kNoNode;
    const auto* p = latest_before(it->second, t, [](const auto& x) { return x.first; });
    return p ? p->second : kNoNode;
  };

  std::vector<Message> out;
  auto arrow = [&](const char* kind, const HistoryEvent& a, NodeId to, const HistoryEvent* b, std::string what,
                   bool lost = false) {
    if (a.node == kNoNode || to == kNoNode || a.node == to) return;
    Message m;
    m.kind = kind;
    m.from = a.node;
    m.to = to;
    m.sent = a.at;
    m.received = b ? b->at : a.at;
    m.lost = lost;
    m.what = std::move(what);
    m.from_seq = a.seq;
    m.to_seq = b ? b->seq : a.seq;
    out.push_back(std::move(m));
  };

  // The events already seen, by the key their partner names (history order:
  // a partner always comes before, so one pass pairs everything).
  std::map<std::uint64_t, const HistoryEvent*> sent, acked, committed_post, committed_lsn;
  std::map<NodeId, const HistoryEvent*> resync;
  for (const auto& e : events) {
    if (const auto* s = e.get<PostSent>()) {
      sent[s->post] = &e;
    } else if (const auto* a = e.get<PostAcked>()) {
      if (auto it = sent.find(a->post); it != sent.end() && it->second->node == a->client)
        arrow("request", *it->second, e.node, &e, post_text(a->post));
      if (auto it = committed_post.find(a->post); it != committed_post.end())
        arrow("commit", *it->second, e.node, &e, post_text(a->post) + " committed");
      acked[a->post] = &e;
    } else if (const auto* r = e.get<PostAckReceived>()) {
      if (auto it = acked.find(r->post); it != acked.end())
        arrow("response", *it->second, e.node, &e, post_text(r->post) + " acknowledged");
    } else if (const auto* c = e.get<PostCommitted>()) {
      committed_post[c->post] = &e;
      committed_lsn[c->lsn] = &e;
    } else if (const auto* ra = e.get<ReplicaApplied>()) {
      if (auto it = committed_lsn.find(ra->lsn); it != committed_lsn.end())
        arrow("wal", *it->second, e.node, &e, "lsn " + std::to_string(ra->lsn));
    } else if (const auto* d = e.get<PostDelivered>()) {
      const NodeId relay = server_of(e.node, e.at);
      if (d->via == "ws") {
        if (auto it = acked.find(d->post); it != acked.end()) {
          arrow("realtime", *it->second, e.node, &e, post_text(d->post) + " over the websocket");
          if (!out.empty() && out.back().to_seq == e.seq) out.back().relay = relay;
        }
      } else if (d->via == "resync" && relay != kNoNode) {
        if (auto it = resync.find(e.node); it != resync.end()) {
          HistoryEvent from = *it->second;  // the resync, seen from the server that answers it
          from.node = relay;
          arrow("resync", from, e.node, &e, post_text(d->post) + " in a resync");
        }
      }
    } else if (e.is<ClientResync>()) {
      resync[e.node] = &e;
    } else if (const auto* f = e.get<SendFailed>()) {
      arrow("failed", e, f->peer, nullptr, "send failed (attempt " + std::to_string(f->attempt) + ")", true);
    } else if (const auto* h = e.get<HealthChecked>()) {
      HistoryEvent from = e;
      from.node = h->server;
      arrow("health", from, e.node, &e, h->healthy ? "health check: healthy" : "health check: unhealthy or no answer",
            !h->healthy);
    } else if (const auto* cc = e.get<ClientConnected>()) {
      HistoryEvent from = e;
      from.node = cc->server;
      arrow("connect", from, e.node, &e, std::string(cc->resumed ? "websocket resumed" : "websocket connected"));
    }
  }
  std::sort(out.begin(), out.end(), [](const Message& a, const Message& b) {
    return std::tie(a.sent, a.received, a.from_seq, a.to_seq, a.from, a.to) <
           std::tie(b.sent, b.received, b.from_seq, b.to_seq, b.from, b.to);
  });
  if (out.size() > kMaxMessages) {
    // Too many: realtime deliveries (one post, every client of its channel)
    // go first, so that the requests, commits, replication and failed sends
    // around the violation all stay.
    std::stable_partition(out.begin(), out.end(), [](const Message& m) { return m.kind != "realtime"; });
    out.resize(kMaxMessages);
    std::stable_sort(out.begin(), out.end(), [](const Message& a, const Message& b) {
      return std::tie(a.sent, a.received, a.from_seq, a.to_seq, a.from, a.to) <
             std::tie(b.sent, b.received, b.from_seq, b.to_seq, b.from, b.to);
    });
  }
  return out;
}

std::vector<std::pair<Time, Time>> message_windows(const RunResult& run) {
  std::vector<std::pair<Time, Time>> w;
  auto add = [&](Time t, Duration before, Duration after) {
    w.emplace_back(t - std::min(before, t.time_since_epoch()), t + after);
  };
  for (const auto& v : run.violations) {
    add(v.at, kMessagesBefore, kMessagesAfter);
    for (const auto& e : v.witnesses) add(e.at, kMessagesAroundWitness, kMessagesAroundWitness);
  }
  std::sort(w.begin(), w.end());
  std::vector<std::pair<Time, Time>> merged;
  for (const auto& s : w) {
    if (!merged.empty() && s.first <= merged.back().second) merged.back().second = std::max(merged.back().second, s.second);
    else merged.push_back(s);
  }
  return merged;
}

}  // namespace fl::reports
