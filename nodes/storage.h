// The shared file storage (the seed's S3 bucket or NAS mount): one store that
// every app server reads and writes; plugins propagate through it.
//
// What it keeps true:
//  - Its objects live on the disk of the spec (StorageDisk), outside the node,
//    so a crash or restart is an outage, never a loss of objects.
//  - During an outage (ControlOp set_spec "outage" = "on") every request is
//    answered with ok = false; a crashed store refuses connections instead.
#pragma once

#include <memory>

#include "base/env.h"
#include "nodes/spec.h"

namespace fl {

class Storage : public Node {
 public:
  explicit Storage(std::shared_ptr<const ClusterSpec> file);

  void on_start(Env& env) override;
  void on_message(Env& env, NodeId from, const Message& message) override;
  void on_timer(Env& env, TimerId id, TimerTag tag) override;
  void on_control(Env& env, const ControlOp& op) override;

  bool in_outage() const { return outage_; }

 private:
  std::shared_ptr<const ClusterSpec> file_;
  std::shared_ptr<StorageDisk> disk_;
  bool outage_ = false;
};

}  // namespace fl
