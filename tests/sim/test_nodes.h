// Small nodes for the simulator's tests: they record every input they get, so a
// test can assert what reached a node and when (on both clocks).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/env.h"
#include "sim/simulation.h"

namespace fl::sim::testing {

struct Input {
  enum class Kind { start, message, send_failed, timer, db_reply, db_request, stop, control };
  Kind kind;
  Time virtual_at{};  // filled by the recorder from the simulation
  Time local_at{};
  NodeId peer{kNoNode};
  std::uint64_t value = 0;  // heartbeat seq, timer tag arg, request id
  DbStatus status = DbStatus::ok;
  std::string text;
};

// What every incarnation of a node saw, kept outside the node objects (they die).
struct Log {
  std::vector<Input> inputs;
  int objects_built = 0;
  std::vector<Input> of(Input::Kind k) const {
    std::vector<Input> out;
    for (const auto& i : inputs) if (i.kind == k) out.push_back(i);
    return out;
  }
};

// A scriptable node: each hook is optional; every input is logged.
class Recorder : public Node {
 public:
  struct Hooks {
    std::function<void(Env&)> on_start;
    std::function<void(Env&, NodeId, const Message&)> on_message;
    std::function<void(Env&, TimerId, TimerTag)> on_timer;
    std::function<void(Env&, NodeId, RequestId, const DbRequest&)> on_db_request;
  };
  Recorder(Simulation* sim, Log* log, Hooks hooks) : sim_(sim), log_(log), hooks_(std::move(hooks)) {
    ++log_->objects_built;
  }
  // Arms a zero-length timer, so the node acts (in on_timer) inside the run.
  void arm(TimerTag tag) {
    FL_ASSERT(env_ != nullptr);
    env_->after(Duration{0}, tag);
  }
  Env* env() { return env_; }

  void on_start(Env& env) override {
    env_ = &env;
    record(env, Input::Kind::start, kNoNode, 0);
    if (hooks_.on_start) hooks_.on_start(env);
  }
  void on_message(Env& env, NodeId from, const Message& m) override {
    record(env, Input::Kind::message, from, m.is<Heartbeat>() ? m.get<Heartbeat>()->seq : 0);
    if (hooks_.on_message) hooks_.on_message(env, from, m);
  }
  void on_send_failed(Env& env, NodeId to, const Message& m) override {
    record(env, Input::Kind::send_failed, to, m.is<Heartbeat>() ? m.get<Heartbeat>()->seq : 0);
  }
  void on_timer(Env& env, TimerId id, TimerTag tag) override {
    record(env, Input::Kind::timer, kNoNode, tag.arg);
    if (hooks_.on_timer) hooks_.on_timer(env, id, tag);
  }
  void on_db_reply(Env& env, RequestId id, const DbReply& reply) override {
    Input& i = record(env, Input::Kind::db_reply, kNoNode, id.value);
    i.status = reply.status;
  }
  void on_db_request(Env& env, NodeId from, RequestId id, const DbRequest& req) override {
    record(env, Input::Kind::db_request, from, id.value);
    if (hooks_.on_db_request) hooks_.on_db_request(env, from, id, req);
  }
  void on_stop(Env& env) override { record(env, Input::Kind::stop, kNoNode, 0); }
  void on_control(Env& env, const ControlOp& op) override {
    record(env, Input::Kind::control, kNoNode, 0).text = op.key + "=" + op.value;
  }

 private:
  Input& record(Env& env, Input::Kind k, NodeId peer, std::uint64_t value) {
    Input i{k};
    i.virtual_at = sim_->now();
    i.local_at = env.now();
    i.peer = peer;
    i.value = value;
    log_->inputs.push_back(i);
    return log_->inputs.back();
  }
  Simulation* sim_;
  Env* env_ = nullptr;
  Log* log_;
  Hooks hooks_;
};

inline NodeFactory recorder(Simulation& sim, Log& log, Recorder::Hooks hooks = {}) {
  return [&sim, &log, hooks] { return std::make_unique<Recorder>(&sim, &log, hooks); };
}

inline Message heartbeat(std::uint64_t seq) { return Message{Heartbeat{seq}}; }

}  // namespace fl::sim::testing
