// The operator: the seed's procedures as code (MODEL.md, Operator). Each
// scheduled action (a runbook, or one step on some nodes) becomes a program of
// instructions run one after another: emit an OperatorStep, act on a machine
// (Env::control), pause, or wait for a server to answer its ping.
//
// What it keeps true:
//  - It acts only through Env::control and learns only from messages: it waits
//    for a server by pinging it directly (the seed: "hitting each independent
//    server through its private IP address"), never by reading its state.
//  - Its inventory (which servers are in the cluster, the version it installed
//    on each) is its own record, started from the spec and kept as it acts.
//  - An upgrade that skips a minor version is refused (OperatorStep "refused")
//    unless allow_unsupported_upgrades (the seed: "one minor version difference").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "nodes/spec.h"

namespace fl {

class Operator : public Node {
 public:
  explicit Operator(std::shared_ptr<const ClusterSpec> file);

  void on_start(Env& env) override;
  void on_message(Env& env, NodeId from, const Message& message) override;
  void on_send_failed(Env& env, NodeId to, const Message& message) override;
  void on_timer(Env& env, TimerId id, TimerTag tag) override;

  // ---- for tests ----
  // Programs still running (actions begun and not finished).
  std::size_t running() const { return programs_.size(); }
  const std::vector<std::string>& servers() const { return servers_; }

 private:
  enum TimerKind : std::uint32_t { kActionStart = 1, kResume, kPoll };
  struct Instr {
    enum class Op : std::uint8_t { step, control, pause, wait_serving, abort };
    Op op = Op::step;
    std::string step, detail;  // step / abort
    std::string target;        // control / wait_serving (a node name)
    ControlOp control{};
    Duration pause{};
  };
  struct Program {
    std::string runbook;
    std::vector<Instr> instrs;
    std::size_t pc = 0;
    std::uint64_t ping_seq = 0;  // the wait's outstanding ping
    Time wait_deadline{};
  };
  // Builder of a program (the runbooks, in operator.cc).
  struct Script;

  void begin(Env& env, std::size_t action);
  void run(Env& env, std::uint64_t program);
  void ping(Env& env, std::uint64_t program);
  void on_poll(Env& env, std::uint64_t seq);

  std::shared_ptr<const ClusterSpec> file_;
  std::vector<OperatorAction> actions_;
  // The inventory.
  std::vector<std::string> servers_;            // in the cluster, in order
  std::vector<std::string> spares_;             // declared, not yet added
  std::map<std::string, Version> versions_;     // what it installed
  std::string proxy_;
  std::vector<std::string> replicas_;
  bool allow_unsupported_ = false;

  std::map<std::uint64_t, Program> programs_;
  std::uint64_t next_program_ = 0;
  std::uint64_t next_ping_ = 0;
  std::uint64_t revocations_ = 0;  // session revocations ordered so far (revoke_sessions)
};

}  // namespace fl
