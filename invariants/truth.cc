#include "invariants/truth.h"

#include <algorithm>

#include "base/assert.h"

namespace fl::inv {
namespace {

// Faults that happen at an instant and have no "healed" end of their own.
bool is_instant_kind(std::string_view kind) {
  return kind == "clock_step" || kind == "db_failover" || kind == "restart";
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

struct Token {
  enum Kind { name, open, close, sep, arrow, word } kind;
  NodeId node{kNoNode};
  std::string text;
};

// Splits a detail into node names (known to the cluster), brackets, separators
// and arrows; other words are kept as `word` ("from", "to", "rate", ...).
std::vector<Token> tokenize(std::string_view text, const ClusterInfo& cluster) {
  std::vector<Token> out;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '-' && i + 1 < text.size() && text[i + 1] == '>') {
      out.push_back({Token::arrow, kNoNode, "->"});
      i += 2;
    } else if (c == '[' || c == '{' || c == '(') {
      out.push_back({Token::open, kNoNode, std::string(1, c)});
      ++i;
    } else if (c == ']' || c == '}' || c == ')') {
      out.push_back({Token::close, kNoNode, std::string(1, c)});
      ++i;
    } else if (c == '|' || c == ';' || c == '/') {
      out.push_back({Token::sep, kNoNode, std::string(1, c)});
      ++i;
    } else if (is_name_char(c)) {
      std::size_t j = i;
      // A name ends before "->" even without spaces ("app1->app2").
      while (j < text.size() && is_name_char(text[j]) &&
             !(text[j] == '-' && j + 1 < text.size() && text[j + 1] == '>'))
        ++j;
      std::string word(text.substr(i, j - i));
      const NodeId id = cluster.find(word);
      out.push_back({id == kNoNode ? Token::word : Token::name, id, std::move(word)});
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

void add_unique(std::vector<NodeId>& v, NodeId id) {
  if (std::find(v.begin(), v.end(), id) == v.end()) v.push_back(id);
}

// "A -> B", or "from=[A] to=[B]": {from, to}; empty when neither shape is there.
std::vector<std::vector<NodeId>> directed(const std::vector<Token>& tokens) {
  std::vector<NodeId> from, to;
  bool right = false, seen_split = false;
  for (const auto& t : tokens) {
    if (t.kind == Token::arrow || (t.kind == Token::word && t.text == "to")) {
      right = seen_split = true;
    } else if (t.kind == Token::name) {
      add_unique(right ? to : from, t.node);
    }
  }
  if (!seen_split || from.empty() || to.empty()) return {};
  return {from, to};
}

}  // namespace

bool FaultBook::is_network_kind(std::string_view kind) {
  return kind == "partition" || kind == "one_way" || kind == "loss" || kind == "duplicate" ||
         kind == "reorder" || kind == "delay" || kind == "gossip_send_failure";
}

ActiveFault FaultBook::parse(const HistoryEvent& injected, const ClusterInfo& cluster) {
  const auto* f = injected.get<FaultInjected>();
  FL_ASSERT(f != nullptr);
  ActiveFault a;
  a.injected = injected;
  a.kind = f->kind;
  const auto tokens = tokenize(f->detail, cluster);
  std::vector<NodeId> names;
  for (const auto& t : tokens)
    if (t.kind == Token::name) add_unique(names, t.node);

  if (a.kind == "partition") {
    const bool bracketed = std::any_of(tokens.begin(), tokens.end(),
                                       [](const Token& t) { return t.kind == Token::open; });
    std::vector<NodeId> group;
    auto flush = [&] {
      if (!group.empty()) a.groups.push_back(group);
      group.clear();
    };
    for (const auto& t : tokens) {
      if (t.kind == Token::name) add_unique(group, t.node);
      if (bracketed ? (t.kind == Token::open || t.kind == Token::close) : t.kind == Token::sep) flush();
    }
    flush();
    a.parsed = a.groups.size() >= 2;
  } else if (a.kind == "one_way") {
    a.groups = directed(tokens);
    a.parsed = !a.groups.empty();
  } else if (a.kind == "gossip_send_failure") {
    a.groups = directed(tokens);
    if (a.groups.empty()) {
      NodeId from = injected.node != kNoNode ? injected.node : (names.empty() ? kNoNode : names[0]);
      std::vector<NodeId> to;
      for (NodeId n : names)
        if (n != from) to.push_back(n);
      if (from != kNoNode && !to.empty()) a.groups = {{from}, to};
    }
    a.parsed = !a.groups.empty();
  } else if (is_network_kind(a.kind)) {  // loss, duplicate, reorder, delay
    if (names.size() == 2) a.groups = {names};
    a.parsed = names.empty() || names.size() == 2;
  } else {
    a.groups = names.empty() ? std::vector<std::vector<NodeId>>{} : std::vector<std::vector<NodeId>>{names};
    a.parsed = true;
  }
  return a;
}

bool FaultBook::observe(const HistoryEvent& e) {
  auto touch = [&] {
    last_change_ = e.at;
    last_event_ = e;
    has_last_ = true;
  };
  if (const auto* f = e.get<FaultInjected>()) {
    touch();
    if (f->kind == "heal") {
      std::erase_if(active_, [](const auto& kv) { return is_network_kind(kv.second.kind); });
    } else if (!is_instant_kind(f->kind)) {
      if (f->kind == "partition")
        std::erase_if(active_, [](const auto& kv) { return kv.second.kind == "partition"; });
      active_[f->index] = parse(e, *cluster_);
    }
    return true;
  }
  if (const auto* h = e.get<FaultHealed>()) {
    touch();
    active_.erase(h->index);
    return true;
  }
  if (e.is<SettleBegin>()) {
    touch();
    settling_ = true;
    active_.clear();
    return true;
  }
  return false;
}

Link FaultBook::link(NodeId from, NodeId to) const {
  Link result = Link::up;
  auto in = [](const std::vector<NodeId>& g, NodeId n) { return std::find(g.begin(), g.end(), n) != g.end(); };
  for (const auto& [index, a] : active_) {
    if (!is_network_kind(a.kind)) continue;
    if (!a.parsed) {
      result = Link::uncertain;
      continue;
    }
    if (a.kind == "partition") {
      int gf = -1, gt = -1;
      for (std::size_t i = 0; i < a.groups.size(); ++i) {
        if (in(a.groups[i], from)) gf = int(i);
        if (in(a.groups[i], to)) gt = int(i);
      }
      if (gf >= 0 && gt >= 0 && gf != gt) return Link::cut;
    } else if (a.kind == "one_way" || a.kind == "gossip_send_failure") {
      FL_ASSERT(a.groups.size() == 2);
      if (in(a.groups[0], from) && in(a.groups[1], to)) return Link::cut;
    } else if (a.groups.empty() || (in(a.groups[0], from) && in(a.groups[0], to))) {
      result = Link::uncertain;
    }
  }
  return result;
}

bool FaultBook::storage_out() const {
  return std::any_of(active_.begin(), active_.end(),
                     [](const auto& kv) { return kv.second.kind == "storage_outage"; });
}

std::vector<const ActiveFault*> FaultBook::touching(NodeId node) const {
  std::vector<const ActiveFault*> out;
  for (const auto& [index, a] : active_) {
    bool hit = !a.parsed || a.groups.empty() || a.injected.node == node;
    for (const auto& g : a.groups)
      if (std::find(g.begin(), g.end(), node) != g.end()) hit = true;
    if (hit) out.push_back(&a);
  }
  return out;
}

NodeLife& LifeBook::mut(NodeId id) {
  if (id.value >= nodes_.size()) nodes_.resize(id.value + 1);
  return nodes_[id.value];
}

const NodeLife& LifeBook::at(NodeId id) const {
  return id.value < nodes_.size() ? nodes_[id.value] : none_;
}

bool LifeBook::observe(const HistoryEvent& e) {
  if (e.node == kNoNode) return false;
  auto start = [&](NodeLife& n) {
    n.running = true;
    n.paused = false;
    n.serving = false;
    n.refused = false;
    n.since = e.at;
    ++n.incarnation;
  };
  if (e.is<ProcessStarted>()) {
    start(mut(e.node));
    return true;
  }
  if (e.is<ProcessCrashed>() || e.is<ProcessStopped>()) {
    NodeLife& n = mut(e.node);
    n.running = n.paused = n.serving = false;
    n.since = e.at;
    return true;
  }
  if (e.is<ProcessPaused>()) return (mut(e.node).paused = true);
  if (e.is<ProcessResumed>()) {
    mut(e.node).paused = false;
    return true;
  }
  if (const auto* s = e.get<ServerStarting>()) {
    NodeLife& n = mut(e.node);
    if (!n.running) start(n);  // histories without process events (hand-written tests)
    n.version = s->version;
    n.config_hash = s->config_hash;
    return false;
  }
  if (e.is<ServerServing>()) {
    NodeLife& n = mut(e.node);
    if (!n.running) start(n);
    n.serving = true;
    n.serving_since = e.at;
    return true;
  }
  if (e.is<ServerStopping>() || e.is<ServerRefusedStart>()) {
    NodeLife& n = mut(e.node);
    n.serving = false;
    if (e.is<ServerRefusedStart>()) n.refused = true;
    return true;
  }
  if (const auto* c = e.get<ConfigChanged>()) {
    mut(e.node).config_hash = c->config_hash;
    return false;
  }
  return false;
}

}  // namespace fl::inv
