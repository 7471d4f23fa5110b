// A scripted database client for tests of the simulated PostgreSQL: a Node that
// sends the typed operations it is given (at once, or one every `interval`) to
// a target, and records every answer as a Probe event (tag = the request's
// index, value = the status) plus, for posts, which were acknowledged.
#pragma once

#include <map>
#include <vector>

#include "base/env.h"

namespace fl::test {

class DbClient : public Node {
 public:
  // Probe tags: kAnswered + index for each answer (value = DbStatus), and
  // kPostAcked (value = post id) for an acknowledged DbPostInsert.
  static constexpr std::uint64_t kAnswered = 1000;
  static constexpr std::uint64_t kPostAcked = 1;

  DbClient(DbTarget target, std::vector<DbOp> ops, Duration interval)
      : target_(target), ops_(std::move(ops)), interval_(interval) {}

  void on_start(Env& env) override {
    if (interval_.count() == 0) {
      while (next_ < ops_.size()) send(env);
    } else {
      env.after(interval_, TimerTag{1, 0});
    }
  }
  void on_message(Env&, NodeId, const Message&) override {}
  void on_timer(Env& env, TimerId, TimerTag) override {
    if (next_ >= ops_.size()) return;
    send(env);
    env.after(interval_, TimerTag{1, 0});
  }
  void on_db_reply(Env& env, RequestId id, const DbReply& reply) override {
    auto it = sent_.find(id);
    if (it == sent_.end()) return;
    const std::size_t index = it->second;
    env.emit(Probe{kAnswered + index, static_cast<std::int64_t>(reply.status)});
    if (const auto* post = std::get_if<DbPostInsert>(&ops_[index]); post != nullptr && reply.ok()) {
      env.emit(Probe{kPostAcked, static_cast<std::int64_t>(post->row.post)});
    }
    replies_[index] = reply;
  }

  const std::map<std::size_t, DbReply>& replies() const { return replies_; }

 private:
  void send(Env& env) {
    sent_[env.db(DbRequest{target_, ops_[next_]})] = next_;
    ++next_;
  }
  DbTarget target_;
  std::vector<DbOp> ops_;
  Duration interval_;
  std::size_t next_ = 0;
  std::map<RequestId, std::size_t> sent_;
  std::map<std::size_t, DbReply> replies_;
};

}  // namespace fl::test
