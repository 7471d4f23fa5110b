// message_delivery (MODEL.md): every acknowledged post reaches every client that
// is a member of its channel and connected at the end of the run, exactly once
// and in channel order, within `bound` after the later of the acknowledgement
// and that client's last reconnect.
//
// Truth used: membership from the client's last ClientChannels, plus the
// channels the primary committed it to (MembershipChanged, issue 14): a client
// added to a channel is owed that channel's posts from then on, i.e. those the
// primary committed after the membership (later in the primary's commit order,
// which is the history's order of its PostCommitted and MembershipChanged
// events), by the same deadline as any post; "connected at
// the end": running, with a ClientConnected not followed by a disconnect, crash
// or stop; channel order: the order of the primary's PostCommitted events for the
// channel (lsn order; after a failover the surviving primary's order); a post
// committed twice keeps its first position (documented approximation).
//
// Online: a second delivery of a post to the same client process (duplicate)
// and a delivery of a post placed before one the client already received in the
// same channel from the same author (out of order) are violations at the
// instant of delivery. Order is judged per author, not across authors: posts
// accepted by different servers are broadcast by different servers, so two
// concurrent posts can reach a third server in either order, and the real
// webapp files each post by its create time whatever its arrival order. What a
// client must never see is one author's posts out of their commit order (a
// replay or resume gone wrong). docs/decisions.md has the reasoning. A
// restarted client is a new process: duplicates count within one process.
// Offline (completed runs only): missing deliveries whose deadline has passed;
// one violation per client, naming its first missing post and counting the rest.
//
// Memory: a long run has ~10^5 posts and ~10^7 deliveries, so deliveries are kept
// per (client, channel) as sets of intervals of channel positions, which stay a
// handful of intervals when delivery is in order. The per-author order check
// keeps nothing per (client, author): each channel links every post to the
// same author's next post in the channel, and a delivery walks that chain
// (empty for the newest post of its author, the common case) asking the
// client's interval set. So memory grows with posts and with (client, channel)
// pairs, never with clients x authors (10,000 clients: issue 12).
#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <unordered_map>

#include "base/assert.h"
#include "invariants/checkers.h"

namespace fl::inv {
namespace {

constexpr std::uint32_t kNoIndex = UINT32_MAX;

// Disjoint half-open intervals [start, end) of channel positions, sorted, none
// touching. The greatest span is kept inline and the others in a vector: in-order
// delivery (the common case, for every delivered post) reads and extends only the
// inline one, with no second memory access.
class IntervalSet {
 public:
  bool contains(std::uint32_t x) const {
    if (x >= last_.end) return false;  // the common case: a new post
    if (x >= last_.start) return true;
    // The last earlier span starting at or before x.
    auto it = std::upper_bound(earlier_.begin(), earlier_.end(), x, [](std::uint32_t v, const Span& s) { return v < s.start; });
    if (it == earlier_.begin()) return false;
    --it;
    return x < it->end;
  }
  void insert(std::uint32_t x) {
    FL_ASSERT(!contains(x));
    if (last_.end == 0) {  // empty
      last_ = Span{x, x + 1};
    } else if (x == last_.end) {  // in order: extend the greatest span
      ++last_.end;
    } else if (x > last_.end) {  // a gap: the greatest span becomes an earlier one
      earlier_.push_back(last_);
      last_ = Span{x, x + 1};
    } else if (x + 1 == last_.start) {  // just before the greatest span
      last_.start = x;
      if (!earlier_.empty() && earlier_.back().end == x) {
        last_.start = earlier_.back().start;
        earlier_.pop_back();
      }
    } else {  // among the earlier spans (x + 1 < last_.start: it cannot touch last_)
      auto next = std::upper_bound(earlier_.begin(), earlier_.end(), x, [](std::uint32_t v, const Span& s) { return v < s.start; });
      const bool joins_next = next != earlier_.end() && next->start == x + 1;
      const bool joins_prev = next != earlier_.begin() && std::prev(next)->end == x;
      if (joins_prev && joins_next) {
        std::prev(next)->end = next->end;
        earlier_.erase(next);
      } else if (joins_prev) {
        std::prev(next)->end = x + 1;
      } else if (joins_next) {
        next->start = x;
      } else {
        earlier_.insert(next, Span{x, x + 1});
      }
    }
    FL_ASSERT(contains(x));
  }
  void clear() {
    earlier_.clear();
    last_ = Span{};
  }

 private:
  struct Span {
    std::uint32_t start = 0, end = 0;  // end == 0: none (a span is never empty)
  };
  Span last_;
  std::vector<Span> earlier_;
};

class MessageDelivery final : public Invariant {
 public:
  MessageDelivery(const ClusterInfo& c, Duration bound) : Invariant("message_delivery", c), bound_(bound) {
    FL_ASSERT(bound_ >= Duration{0});
    read_only(event_mask<PostAcked, PostCommitted, PostDelivered, ClientChannels, MembershipChanged, ClientConnected,
                         ClientDisconnected, ProcessCrashed, ProcessStopped, ProcessStarted>());
  }

 private:
  struct Post {
    std::uint64_t id = 0;
    std::uint32_t channel = 0;
    std::uint32_t index = kNoIndex;  // position in the channel's commit order
    bool acked = false;
    PostAcked ack;                   // the first acknowledgement
    std::uint64_t ack_seq = 0;
    Time ack_at{}, ack_local{};
    NodeId ack_node{kNoNode};
    HistoryEvent ack_event() const { return HistoryEvent{ack_seq, ack_at, ack_local, ack_node, ack}; }
  };
  struct Channel {
    IntervalSet ever;          // delivered to any process of this client
    IntervalSet this_process;  // delivered to the current process
  };
  // A channel's commit order: posts_ indexes by channel position, and for each
  // position the position of the same author's next post (kNoIndex: none yet).
  struct Order {
    std::vector<std::size_t> posts;
    std::vector<std::uint32_t> next_same_author;
  };
  struct Client {
    // By channel: a client is in a few, so the first kInline are kept in place
    // (read with the client: one memory access per delivery) and any others in
    // a vector searched in order.
    static constexpr std::uint32_t kInline = 4;
    std::uint32_t inline_count = 0;
    std::array<std::uint32_t, kInline> inline_ids{};
    std::array<Channel, kInline> inline_state;
    std::vector<std::pair<std::uint32_t, Channel>> more;
    Channel& channel(std::uint32_t ch) {
      for (std::uint32_t i = 0; i < inline_count; ++i)
        if (inline_ids[i] == ch) return inline_state[i];
      if (inline_count < kInline) {
        inline_ids[inline_count] = ch;
        return inline_state[inline_count++];
      }
      for (auto& [id, state] : more)
        if (id == ch) return state;
      return more.emplace_back(ch, Channel{}).second;
    }
    const Channel* find_channel(std::uint32_t ch) const {
      for (std::uint32_t i = 0; i < inline_count; ++i)
        if (inline_ids[i] == ch) return &inline_state[i];
      for (const auto& [id, state] : more)
        if (id == ch) return &state;
      return nullptr;
    }
    template <class F> void each_channel(F&& f) {
      for (std::uint32_t i = 0; i < inline_count; ++i) f(inline_state[i]);
      for (auto& [id, state] : more) f(state);
    }
    bool known = false;
    std::uint64_t mask = 0;
    bool running = true;
    bool connected = false;
    Time last_connect{};
    HistoryEvent connect_event;  // the last ClientConnected
    // Channels it was added to (MembershipChanged): the channel position from
    // which it is owed their posts.
    struct Added {
      std::uint32_t from = 0;
      HistoryEvent event;  // the MembershipChanged
    };
    std::map<std::uint32_t, Added> added;
    std::set<std::uint64_t> uncommitted;  // posts delivered before their commit was seen
    bool dup_reported = false, order_reported = false;
  };

  Post& post(std::uint64_t id) {
    const std::uint64_t author = id >> 32, n = id & 0xffffffffULL;
    std::uint32_t* slot;
    if (author < kDenseLimit && n < kDenseLimit) {
      if (author >= by_author_.size()) by_author_.resize(author + 1);
      std::vector<std::uint32_t>& of = by_author_[author];
      if (n >= of.size()) of.resize(std::max<std::size_t>(n + 1, of.size() * 2), kNoIndex);
      slot = &of[n];
    } else {
      slot = &sparse_.try_emplace(id, kNoIndex).first->second;
    }
    if (*slot == kNoIndex) {
      FL_ASSERT(posts_.size() < kNoIndex);
      *slot = std::uint32_t(posts_.size());
      posts_.push_back(Post{id});
    }
    return posts_[*slot];
  }
  // Node ids are dense from 0 (sim/simulation.h), so clients index a vector.
  Client& client(NodeId id) {
    if (id.value >= clients_.size()) clients_.resize(id.value + 1);
    Client& c = clients_[id.value];
    c.known = true;
    return c;
  }
  Client* find_client(NodeId id) {
    return id.value < clients_.size() && clients_[id.value].known ? &clients_[id.value] : nullptr;
  }

  void handle(const HistoryEvent& e) override {
    if (const auto* a = e.get<PostAcked>()) {
      Post& p = post(a->post);
      if (!p.acked) {
        p.acked = true;
        p.ack = *a;
        p.channel = a->channel;
        p.ack_seq = e.seq;
        p.ack_at = e.at;
        p.ack_local = e.local;
        p.ack_node = e.node;
      }
    } else if (const auto* c = e.get<PostCommitted>()) {
      Post& p = post(c->post);
      if (p.index == kNoIndex) {
        if (c->channel >= order_.size()) order_.resize(c->channel + 1);
        Order& order = order_[c->channel];
        p.channel = c->channel;
        p.index = std::uint32_t(order.posts.size());
        order.posts.push_back(std::size_t(&p - posts_.data()));
        order.next_same_author.push_back(kNoIndex);
        const std::uint64_t author_key = std::uint64_t(c->channel) << 32 | (c->post >> 32);
        auto [last, fresh] = last_by_author_.try_emplace(author_key, p.index);
        if (!fresh) {
          order.next_same_author[last->second] = p.index;
          last->second = p.index;
        }
      }
    } else if (const auto* d = e.get<PostDelivered>()) {
      delivered(e, *d);
    } else if (const auto* m = e.get<ClientChannels>()) {
      client(e.node).mask = m->channel_mask;
    } else if (const auto* m = e.get<MembershipChanged>()) {
      // Posts committed from here on in the channel are owed (the first
      // commit of a membership counts: the database commits it once).
      const std::uint32_t from = m->channel < order_.size() ? std::uint32_t(order_[m->channel].posts.size()) : 0;
      client(m->client).added.try_emplace(m->channel, Client::Added{from, e});
    } else if (e.is<ClientConnected>()) {
      Client& c = client(e.node);
      c.connected = true;
      c.last_connect = e.at;
      c.connect_event = e;
    } else if (e.is<ClientDisconnected>()) {
      if (Client* c = find_client(e.node)) c->connected = false;
    } else if (e.is<ProcessCrashed>() || e.is<ProcessStopped>()) {
      if (Client* c = find_client(e.node)) c->connected = c->running = false;
    } else if (e.is<ProcessStarted>()) {
      if (Client* found = find_client(e.node)) {
        Client& c = *found;
        c.running = true;
        c.connected = false;
        c.uncommitted.clear();
        c.each_channel([](Channel& state) { state.this_process.clear(); });
      }
    }
  }

  void delivered(const HistoryEvent& e, const PostDelivered& d) {
    Client& c = client(e.node);
    Post& p = post(d.post);
    if (p.index == kNoIndex) {  // its commit is not in the history (yet): judged at the end
      if (!c.uncommitted.insert(d.post).second) duplicate(e, d, p, c);
      return;
    }
    Channel& ch = c.channel(p.channel);
    if (ch.this_process.contains(p.index)) {
      duplicate(e, d, p, c);
      return;
    }
    // The latest post of the same author in this channel that this process has
    // received, if it comes after p: the chain of the author's later posts.
    FL_ASSERT(p.channel < order_.size());  // p.index is set: its commit made the channel's order
    const Order& order = order_[p.channel];
    std::uint32_t seen = kNoIndex;
    if (!c.order_reported) {
      for (std::uint32_t q = order.next_same_author[p.index]; q != kNoIndex; q = order.next_same_author[q])
        if (ch.this_process.contains(q)) seen = q;
    }
    if (seen != kNoIndex) {
      c.order_reported = true;
      const Post& later = posts_[order.posts[seen]];
      Violation v;
      v.at = e.at;
      v.nodes = {e.node};
      v.witnesses.push_back(e);
      if (later.acked) v.witnesses.push_back(later.ack_event());
      v.message = name_of(e.node) + " received " + post_text(p.id) + " of channel " + std::to_string(p.channel) +
                  " at " + at_text(e.at) + " after " + post_text(later.id) +
                  ", which the primary committed after it: out of channel order.";
      report(std::move(v));
    }
    ch.this_process.insert(p.index);
    if (!ch.ever.contains(p.index)) ch.ever.insert(p.index);
  }

  void duplicate(const HistoryEvent& e, const PostDelivered& d, const Post& p, Client& c) {
    if (c.dup_reported) return;
    c.dup_reported = true;
    Violation v;
    v.at = e.at;
    v.nodes = {e.node};
    v.witnesses.push_back(e);
    if (p.acked) v.witnesses.push_back(p.ack_event());
    v.message = name_of(e.node) + " received " + post_text(d.post) + " of channel " + std::to_string(d.channel) +
                " a second time at " + at_text(e.at) + " (via " + d.via + "): not exactly once.";
    report(std::move(v));
  }

  void judge_at_end(const RunEnd& end) override {
    if (!end.completed) return;
    std::vector<const Post*> never_committed;  // acknowledged, no PostCommitted in the history
    for (const auto& p : posts_)
      if (p.index == kNoIndex && p.acked) never_committed.push_back(&p);
    for (std::uint32_t i = 0; i < clients_.size(); ++i) {  // in NodeId order
      const NodeId id{i};
      Client& c = clients_[i];
      if (!c.known || !c.running || !c.connected) continue;
      const Post* first = nullptr;
      Time first_due = kTimeMax;
      std::size_t missing = 0;
      auto consider = [&](const Post& p) {
        if (!p.acked) return;
        const Time due = std::max(p.ack_at, c.last_connect) + bound_;
        if (due > end.end) return;
        ++missing;
        if (due < first_due) {
          first_due = due;
          first = &p;
        }
      };
      for (std::uint32_t ch = 0; ch < 64; ++ch) {
        // A member from the start owes every post; one added owes those
        // committed after its membership.
        std::uint32_t from = 0;
        if (!(c.mask >> ch & 1)) {
          const auto added = c.added.find(ch);
          if (added == c.added.end()) continue;
          from = added->second.from;
        }
        if (ch < order_.size()) {
          const Order& order = order_[ch];
          const Channel* state = c.find_channel(ch);
          for (std::uint32_t i = from; i < order.posts.size(); ++i)
            if (!state || !state->ever.contains(i)) consider(posts_[order.posts[i]]);
        }
      }
      // Acknowledged posts of the client's channels that the primary never committed.
      for (const Post* p : never_committed)
        if (p->channel < 64 && (c.mask >> p->channel & 1) && !c.uncommitted.count(p->id)) consider(*p);
      // (An acknowledged post never committed is owed to members from the
      // start only: without a commit it has no place after a membership.)
      if (!first) continue;
      Violation v;
      v.at = first_due;
      v.nodes = {id, first->ack_node};
      v.witnesses.push_back(first->ack_event());
      if (const auto* cc = c.connect_event.get<ClientConnected>()) {
        v.witnesses.push_back(c.connect_event);
        if (cc->server != first->ack_node) v.nodes.push_back(cc->server);
      }
      v.message = name_of(id) + " never received " + post_text(first->id) + " of channel " +
                  std::to_string(first->channel) + ", acknowledged by " + name_of(first->ack_node) + " at " +
                  at_text(first->ack_at) + ", although it was connected since " + at_text(c.last_connect) +
                  " and the post was due by " + at_text(first_due);
      if (const auto added = c.added.find(first->channel);
          added != c.added.end() && first->channel < 64 && !(c.mask >> first->channel & 1)) {
        v.witnesses.push_back(added->second.event);
        v.message += " (it was added to the channel at " + at_text(added->second.event.at) + ")";
      }
      if (missing > 1) v.message += "; " + std::to_string(missing - 1) + " other posts are missing too";
      v.message += ".";
      report(std::move(v));
    }
  }

  Duration bound_;
  std::vector<Post> posts_;
  // Post id -> posts_ index. Post ids are author << 32 | n, n counting the
  // author's posts (history.h), so a vector per author finds them without
  // hashing (this runs for every delivered post); other ids go to a map.
  static constexpr std::uint64_t kDenseLimit = 1 << 20;
  std::vector<std::vector<std::uint32_t>> by_author_;
  std::unordered_map<std::uint64_t, std::uint32_t> sparse_;  // lookups only
  std::vector<Order> order_;  // by channel (channels are small numbers: < 64 in scenarios)
  // (channel << 32 | author) -> channel position of the author's latest post there; lookups only.
  std::unordered_map<std::uint64_t, std::uint32_t> last_by_author_;
  std::vector<Client> clients_;  // by NodeId value; `known` once an event named it
};

}  // namespace

std::unique_ptr<Invariant> make_message_delivery(const ClusterInfo& c, const OptionValues& o) {
  return std::make_unique<MessageDelivery>(c, option(o, "bound"));
}

}  // namespace fl::inv
