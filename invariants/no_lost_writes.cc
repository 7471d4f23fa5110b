// no_lost_writes (MODEL.md): every acknowledged post is in the primary at the
// end of the run. The primary's contents are its own PostPresent events, emitted
// at the end of settle (history.h), so this judges the real contents, not a
// belief; a run that did not complete is not judged (no dump was taken).
// Lost posts are grouped by the CommitsLost event that covers their commit (the
// promotion that lost them): one violation per group, naming the first post and
// counting the others; posts missing with no such event form one last group.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "base/assert.h"
#include "invariants/checkers.h"

namespace fl::inv {
namespace {

class NoLostWrites final : public Invariant {
 public:
  explicit NoLostWrites(const ClusterInfo& c) : Invariant("no_lost_writes", c) {
    read_only(event_mask<PostAcked, PostCommitted, CommitsLost, Promoted, PostPresent>());
  }

 private:
  // Compact records (a long run acknowledges hundreds of thousands of posts);
  // the witness events are rebuilt from them.
  struct Stamp {
    std::uint64_t seq = 0;
    Time at{}, local{};
    NodeId node{kNoNode};
    HistoryEvent event(EventBody body) const { return HistoryEvent{seq, at, local, node, std::move(body)}; }
  };
  struct Ack {
    Stamp stamp;  // the first PostAcked
    PostAcked body;
    HistoryEvent event() const { return stamp.event(body); }
  };
  struct Commit {
    Stamp stamp;  // the latest PostCommitted
    std::uint64_t lsn = 0;
    std::uint32_t channel = 0;
    HistoryEvent event(std::uint64_t post) const { return stamp.event(PostCommitted{post, channel, lsn}); }
  };
  static Stamp stamp(const HistoryEvent& e) { return {e.seq, e.at, e.local, e.node}; }

  void handle(const HistoryEvent& e) override {
    if (const auto* a = e.get<PostAcked>()) {
      if (!ack_index_.count(a->post)) {
        ack_index_.emplace(a->post, acks_.size());
        acks_.push_back({stamp(e), *a});
      }
    } else if (const auto* c = e.get<PostCommitted>()) {
      commits_[c->post] = {stamp(e), c->lsn, c->channel};
    } else if (e.is<CommitsLost>()) {
      losses_.push_back(e);
    } else if (e.is<Promoted>()) {
      promotions_.push_back(e);
    } else if (const auto* p = e.get<PostPresent>()) {
      present_.insert(p->post);
    }
  }

  // The CommitsLost event that lost this commit: covers its lsn and came after it.
  const HistoryEvent* loss_of(const Commit& c) const {
    for (const auto& l : losses_) {
      const auto* cl = l.get<CommitsLost>();
      if (l.seq > c.stamp.seq && cl->first_lsn <= c.lsn && c.lsn <= cl->last_lsn) return &l;
    }
    return nullptr;
  }

  void judge_at_end(const RunEnd& end) override {
    if (!end.completed) return;
    struct Group {
      const HistoryEvent* loss = nullptr;
      std::vector<const Ack*> posts;
    };
    std::vector<Group> groups;  // in order of first lost post's acknowledgement
    for (const auto& ack : acks_) {
      const PostAcked* pa = &ack.body;
      if (present_.count(pa->post)) continue;
      const HistoryEvent* loss = nullptr;
      if (auto it = commits_.find(pa->post); it != commits_.end()) loss = loss_of(it->second);
      auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& x) { return x.loss == loss; });
      if (g == groups.end()) g = groups.insert(groups.end(), Group{loss, {}});
      g->posts.push_back(&ack);
    }
    for (const auto& g : groups) {
      FL_ASSERT(!g.posts.empty());
      const HistoryEvent first = g.posts.front()->event();
      const PostAcked* pa = &g.posts.front()->body;
      Violation v;
      v.at = g.loss ? g.loss->at : end.end;
      v.nodes = {first.node, pa->client};
      v.witnesses.push_back(first);
      if (auto it = commits_.find(pa->post); it != commits_.end()) v.witnesses.push_back(it->second.event(pa->post));
      v.message = post_text(pa->post) + " (channel " + std::to_string(pa->channel) + "), acknowledged by " +
                  name_of(first.node) + " to " + name_of(pa->client) + " at " + at_text(first.at) +
                  ", is not in the primary at the end of the run";
      if (g.posts.size() > 1) v.message += ", nor are " + std::to_string(g.posts.size() - 1) + " other acknowledged posts";
      if (g.loss) {
        const auto* cl = g.loss->get<CommitsLost>();
        v.witnesses.push_back(*g.loss);
        const HistoryEvent* promoted = nullptr;
        for (const auto& p : promotions_)
          if (p.at <= g.loss->at) promoted = &p;  // the promotion that lost them
        v.message += "; " + std::to_string(cl->count) + " acknowledged commits (lsn " + std::to_string(cl->first_lsn) +
                     ".." + std::to_string(cl->last_lsn) + ") were lost at " + at_text(g.loss->at);
        if (promoted) {
          v.witnesses.push_back(*promoted);
          v.nodes.push_back(promoted->node);
          v.message += " when " + name_of(promoted->node) + " was promoted";
        }
      } else if (!commits_.count(pa->post)) {
        v.message += "; the primary never recorded its commit";
      }
      v.message += ".";
      report(std::move(v));
    }
  }

  std::vector<Ack> acks_;  // in acknowledgement order
  std::unordered_map<std::uint64_t, std::size_t> ack_index_;  // lookups only: order never leaks
  std::unordered_map<std::uint64_t, Commit> commits_;  // lookups only: order never leaks
  std::unordered_set<std::uint64_t> present_;          // lookups only: order never leaks
  std::vector<HistoryEvent> losses_;
  std::vector<HistoryEvent> promotions_;
};

}  // namespace

std::unique_ptr<Invariant> make_no_lost_writes(const ClusterInfo& c, const OptionValues&) {
  return std::make_unique<NoLostWrites>(c);
}

}  // namespace fl::inv
