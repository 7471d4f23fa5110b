#include "nodes/storage.h"

#include <vector>

#include "base/assert.h"

namespace fl {

Storage::Storage(std::shared_ptr<const ClusterSpec> file) : file_(std::move(file)) {
  FL_ASSERT(file_ != nullptr);
  disk_ = file_->storage.disk;
  FL_ASSERT(disk_ != nullptr);
}

void Storage::on_start(Env& env) { (void)env; }

void Storage::on_message(Env& env, NodeId from, const Message& message) {
  const auto* req = message.get<StorageRequest>();
  if (req == nullptr) return;  // nothing else is addressed to the store
  StorageReply reply;
  reply.req = req->req;
  reply.ok = !outage_;
  if (reply.ok) {
    switch (req->op) {
      case StorageOp::put:
        FL_ASSERT(!req->key.empty());
        disk_->objects.insert(req->key);
        reply.found = true;
        break;
      case StorageOp::get:
        reply.found = disk_->objects.count(req->key) != 0;
        break;
      case StorageOp::list: {
        auto keys = std::make_shared<std::vector<std::string>>();
        // The set is ordered, so the listing is too (deterministic).
        for (auto it = disk_->objects.lower_bound(req->key);
             it != disk_->objects.end() && it->compare(0, req->key.size(), req->key) == 0; ++it)
          keys->push_back(*it);
        reply.keys = std::move(keys);
        reply.found = !reply.keys->empty();
        break;
      }
      case StorageOp::check:
        reply.found = true;
        break;
    }
  }
  env.send(from, Message{reply});
}

void Storage::on_timer(Env& env, TimerId id, TimerTag tag) { (void)env, (void)id, (void)tag; }

void Storage::on_control(Env& env, const ControlOp& op) {
  (void)env;
  if (op.kind != ControlOp::Kind::set_spec || op.key != "outage") return;
  FL_ASSERT(op.value == "on" || op.value == "off");
  outage_ = op.value == "on";
}

}  // namespace fl
