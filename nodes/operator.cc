#include "nodes/operator.h"

#include <algorithm>

#include "base/assert.h"

namespace fl {

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

std::string name_of(const ClusterSpec& file, NodeId id) {
  for (const auto& [name, node] : file.directory)
    if (node == id) return name;
  return "";
}

}  // namespace

// Writes a program: each command is an OperatorStep, the control itself and the
// pause of an operator's hand between two commands.
struct Operator::Script {
  Operator& op;
  Program& program;

  void step(std::string step, std::string detail) {
    Instr i;
    i.op = Instr::Op::step;
    i.step = std::move(step);
    i.detail = std::move(detail);
    program.instrs.push_back(std::move(i));
  }
  void control(const std::string& target, ControlOp c) {
    Instr i;
    i.op = Instr::Op::control;
    i.target = target;
    i.control = std::move(c);
    program.instrs.push_back(std::move(i));
  }
  void pause(Duration d) {
    Instr i;
    i.op = Instr::Op::pause;
    i.pause = d;
    program.instrs.push_back(std::move(i));
  }
  void abort(std::string step, std::string why) {
    Instr i;
    i.op = Instr::Op::abort;
    i.step = std::move(step);
    i.detail = std::move(why);
    program.instrs.push_back(std::move(i));
  }
  void wait_serving(const std::string& server) {
    step("wait_serving", server);
    Instr i;
    i.op = Instr::Op::wait_serving;
    i.target = server;
    program.instrs.push_back(std::move(i));
  }
  // One command on one machine, and the operator's pause after it.
  void command(const std::string& label, const std::string& target, ControlOp c, const std::string& detail) {
    step(label, detail.empty() ? target : target + " " + detail);
    control(target, std::move(c));
    pause(k::kOperatorStepPause);
  }

  void stop(const std::string& s) { command("stop", s, ControlOp{ControlOp::Kind::stop, "", ""}, ""); }
  void start(const std::string& s) { command("start", s, ControlOp{ControlOp::Kind::start, "", ""}, ""); }
  void restart(const std::string& s) { command("restart", s, ControlOp{ControlOp::Kind::restart, "", ""}, ""); }
  void set(const std::string& label, const std::string& s, std::string key, std::string value) {
    const std::string detail = value.empty() ? "" : value;
    command(label, s, ControlOp{ControlOp::Kind::set_spec, std::move(key), std::move(value)}, detail);
  }
  void proxy_route(const std::vector<std::string>& to) {
    set("proxy_route", op.proxy_, "upstream", join(to));
  }
  // Returns false (and ends the program with "refused") when the upgrade
  // skips a minor version and that is not allowed.
  bool upgrade(const std::string& s, const Version& to) {
    const auto it = op.versions_.find(s);
    const Version from = it == op.versions_.end() ? to : it->second;
    if (!op.allow_unsupported_ && minor_distance(from, to) > k::kMaxMinorSkew) {
      abort("refused", "upgrade of " + s + " from " + from.str() + " to " + to.str() +
                           " skips a minor version (the seed supports one minor version difference)");
      return false;
    }
    op.versions_[s] = to;
    set("upgrade", s, "version", to.str());
    return true;
  }
};

Operator::Operator(std::shared_ptr<const ClusterSpec> file) : file_(std::move(file)) {
  FL_ASSERT(file_ != nullptr);
}

void Operator::on_start(Env& env) {
  const ClusterSpec& f = *file_;
  actions_ = f.operator_.actions;
  spares_ = f.operator_.spares;
  for (const ServerSpec& s : f.servers) {
    versions_[s.name] = s.version;
    if (std::find(spares_.begin(), spares_.end(), s.name) == spares_.end()) servers_.push_back(s.name);
  }
  proxy_ = name_of(f, f.proxy.node);
  for (const auto& [name, node] : f.directory)
    if (name.rfind("db-replica", 0) == 0) replicas_.push_back(name);
  allow_unsupported_ = f.allow_unsupported_upgrades;
  // The operator starts with the run: an action's `at` is from now.
  for (std::size_t i = 0; i < actions_.size(); ++i)
    env.after(actions_[i].at, TimerTag{kActionStart, i});
}

void Operator::begin(Env& env, std::size_t index) {
  FL_ASSERT(index < actions_.size());
  const OperatorAction& a = actions_[index];
  const std::uint64_t id = ++next_program_;
  Program& program = programs_[id];
  Script s{*this, program};

  if (a.runbook == OperatorRunbook::none) {
    // One step, on each of its nodes at the same instant (no pause between).
    program.runbook = "";
    const char* label = operator_step_name(a.step);
    for (const std::string& n : a.nodes) {
      switch (a.step) {
        case OperatorStepKind::stop: s.step(label, n); s.control(n, {ControlOp::Kind::stop, "", ""}); break;
        case OperatorStepKind::start: s.step(label, n); s.control(n, {ControlOp::Kind::start, "", ""}); break;
        case OperatorStepKind::restart: s.step(label, n); s.control(n, {ControlOp::Kind::restart, "", ""}); break;
        case OperatorStepKind::upgrade: {
          FL_ASSERT(a.version.has_value());
          const Version from = versions_.count(n) ? versions_[n] : *a.version;
          if (!allow_unsupported_ && minor_distance(from, *a.version) > k::kMaxMinorSkew) {
            s.abort("refused", "upgrade of " + n + " from " + from.str() + " to " + a.version->str() +
                                   " skips a minor version");
            break;
          }
          versions_[n] = *a.version;
          s.step(label, n + " " + a.version->str());
          s.control(n, {ControlOp::Kind::set_spec, "version", a.version->str()});
          break;
        }
        case OperatorStepKind::config_change:
          // A System Console edit on that server only: written to its
          // config.json and applied at once (the mismatch the seed warns about).
          s.step(label, n + " " + a.key + "=" + a.value);
          s.control(n, {ControlOp::Kind::set_spec, "config." + a.key, a.value});
          s.control(n, {ControlOp::Kind::set_spec, "reload_config", ""});
          break;
        case OperatorStepKind::set_datasource:
          FL_ASSERT(!a.to.empty());
          s.step(label, n + " " + a.to.front());
          s.control(n, {ControlOp::Kind::set_spec, "datasource", a.to.front()});
          break;
        case OperatorStepKind::reload_config:
          s.step(label, n);
          s.control(n, {ControlOp::Kind::set_spec, "reload_config", ""});
          break;
        case OperatorStepKind::recycle_connections:
          s.step(label, n);
          s.control(n, {ControlOp::Kind::set_spec, "recycle_connections", ""});
          break;
        case OperatorStepKind::install_plugin:
          s.step(label, n + " " + a.plugin);
          s.control(n, {ControlOp::Kind::set_spec, "plugin", a.plugin});
          break;
        case OperatorStepKind::add_to_channel:
          // An admin's "add members" request, answered by that server (issue
          // 14): it writes the ChannelMembers row and tells the cluster.
          s.step(label, n + " " + a.client + " " + std::to_string(a.channel));
          s.control(n, {ControlOp::Kind::set_spec, "channel.add", a.client + ":" + std::to_string(a.channel)});
          break;
        case OperatorStepKind::revoke_sessions: {
          // System Console > Users > Revoke Sessions (one user), or Revoke All
          // Sessions: the admin's request lands on server n. The operator
          // numbers its revocations; a session created after revocation r
          // carries r (docs/model.md, Sessions).
          const std::uint64_t r = ++revocations_;
          const NodeId client = a.client == "all" ? kNoNode : file_->node_id(a.client);
          FL_ASSERT_MSG(a.client == "all" || client != kNoNode, "the loader validates client names");
          s.step(label, n + " " + a.client);
          s.control(n, {ControlOp::Kind::set_spec, "session.revoke_sessions",
                        std::to_string(r) + " " + (client == kNoNode ? std::string("all") : std::to_string(client.value))});
          break;
        }
        case OperatorStepKind::proxy_route:
        case OperatorStepKind::none:
          break;
      }
    }
    if (a.step == OperatorStepKind::proxy_route) {
      s.step("proxy_route", join(a.to));
      s.control(proxy_, {ControlOp::Kind::set_spec, "upstream", join(a.to)});
    }
    run(env, id);
    return;
  }

  program.runbook = operator_runbook_name(a.runbook);
  switch (a.runbook) {
    case OperatorRunbook::rolling_upgrade: {
      // The seed, "Update the Server version while operating continuously".
      FL_ASSERT(a.version.has_value() && !servers_.empty());
      const std::vector<std::string> all = servers_;
      const std::string first = all.front();  // left running, updated last
      std::vector<std::string> rest(all.begin() + 1, all.end());
      s.step("backup_config", "config.json");
      // 3. Move all new requests to a single server.
      s.proxy_route({first});
      // 4. Shut down each server except that one; 5. update them.
      for (const auto& n : rest) s.stop(n);
      bool ok = true;
      for (const auto& n : rest) ok = ok && s.upgrade(n, *a.version);
      if (!ok) break;
      // 6. (config.json restored: unchanged in the model) 7. start them.
      for (const auto& n : rest) s.start(n);
      for (const auto& n : rest) s.wait_serving(n);
      // 8. Repeat for the server left running: traffic to the updated ones first.
      if (!rest.empty()) s.proxy_route(rest);
      s.stop(first);
      if (!s.upgrade(first, *a.version)) break;
      s.start(first);
      s.wait_serving(first);
      s.proxy_route(all);
      s.step("done", a.version->str());
      break;
    }
    case OperatorRunbook::upgrade_with_schema_change: {
      // The seed, "Server upgrades requiring service interruption".
      FL_ASSERT(a.version.has_value() && !servers_.empty());
      s.step("backup_config", "config.json");
      s.command("stop_proxy", proxy_, {ControlOp::Kind::stop, "", ""}, "");
      for (const auto& n : servers_) s.stop(n);
      bool ok = true;
      for (const auto& n : servers_) ok = ok && s.upgrade(n, *a.version);
      if (!ok) break;
      // "Start one of the Mattermost servers. When the server is running, start
      // the other servers": the first one started upgrades the database.
      s.start(servers_.front());
      s.wait_serving(servers_.front());
      for (std::size_t i = 1; i < servers_.size(); ++i) s.start(servers_[i]);
      for (std::size_t i = 1; i < servers_.size(); ++i) s.wait_serving(servers_[i]);
      s.command("start_proxy", proxy_, {ControlOp::Kind::start, "", ""}, "");
      s.step("done", a.version->str());
      break;
    }
    case OperatorRunbook::config_change_continuous: {
      // The seed, "Update configuration changes while operating continuously".
      FL_ASSERT(!servers_.empty());
      const std::string first = servers_.front();
      s.step("backup_config", "config.json");
      // 2. Edit config.json on one server (not reloaded yet); 3. copy it to the others.
      for (const auto& n : servers_) s.set("edit_config", n, "config." + a.key, a.value);
      // 4. Shut down all but one; 5. reload the config on the one running; 6. start the others.
      for (std::size_t i = 1; i < servers_.size(); ++i) s.stop(servers_[i]);
      s.set("reload_config", first, "reload_config", "");
      for (std::size_t i = 1; i < servers_.size(); ++i) s.start(servers_[i]);
      for (std::size_t i = 1; i < servers_.size(); ++i) s.wait_serving(servers_[i]);
      s.step("done", a.key + "=" + a.value);
      break;
    }
    case OperatorRunbook::console_config_change: {
      // What the seed warns against: a System Console edit on one server only.
      FL_ASSERT(!a.nodes.empty());
      for (const auto& n : a.nodes) {
        s.step("console_edit", n + " " + a.key + "=" + a.value);
        s.control(n, {ControlOp::Kind::set_spec, "config." + a.key, a.value});
        s.control(n, {ControlOp::Kind::set_spec, "reload_config", ""});
      }
      break;
    }
    case OperatorRunbook::manual_failover: {
      // The seed, "Manage failovers": promote a replica, then on each server
      // update DataSource, reload the configuration, recycle the connections.
      const std::string target = !a.to.empty() ? a.to.front() : (replicas_.empty() ? "" : replicas_.front());
      if (target.empty()) {
        s.abort("refused", "no replica to fail over to");
        break;
      }
      s.set("promote", target, "promote", "");
      // The database side of a manual failover: the other standbys are
      // re-pointed at the new primary (PostgreSQL, "Failover": after a
      // promotion the remaining standbys must follow the new primary). Without
      // it a sync primary has no standby and stalls every commit.
      for (const auto& r : replicas_)
        if (r != target) s.set("follow", r, "follow", target);
      for (const auto& n : servers_) {
        s.set("set_datasource", n, "datasource", target);
        s.set("reload_config", n, "reload_config", "");
        s.set("recycle_connections", n, "recycle_connections", "");
        // REFERENCE.md: recycling sets the connection lifetime to 10 s and waits 12 s.
        s.pause(k::kRecycleWait);
      }
      s.step("done", target);
      break;
    }
    case OperatorRunbook::add_server: {
      // The seed, "Add a server to the cluster".
      if (spares_.empty()) {
        s.abort("refused", "no spare server declared to add");
        break;
      }
      const std::string n = spares_.front();
      spares_.erase(spares_.begin());
      s.step("backup", "database and file storage");
      const Version v = a.version ? *a.version : (servers_.empty() ? versions_[n] : versions_[servers_.front()]);
      if (versions_[n] != v) {
        versions_[n] = v;
        s.set("install", n, "version", v.str());
      }
      s.start(n);
      s.wait_serving(n);
      servers_.push_back(n);
      s.proxy_route(servers_);
      s.step("done", n);
      break;
    }
    case OperatorRunbook::remove_server: {
      // The seed, "Remove a server from the cluster": out of NGINX, then stopped.
      FL_ASSERT(!a.nodes.empty());
      const std::string n = a.nodes.front();
      s.step("backup", "database and file storage");
      servers_.erase(std::remove(servers_.begin(), servers_.end(), n), servers_.end());
      s.proxy_route(servers_);
      s.stop(n);
      s.step("done", n);
      break;
    }
    case OperatorRunbook::install_plugin: {
      FL_ASSERT(!a.nodes.empty() && !a.plugin.empty());
      s.set("install_plugin", a.nodes.front(), "plugin", a.plugin);
      s.step("done", a.plugin);
      break;
    }
    case OperatorRunbook::none:
      FL_UNREACHABLE();
  }
  run(env, id);
}

void Operator::run(Env& env, std::uint64_t id) {
  while (true) {
    auto it = programs_.find(id);
    FL_ASSERT(it != programs_.end());
    Program& p = it->second;
    if (p.pc >= p.instrs.size()) {
      programs_.erase(it);
      return;
    }
    const Instr& i = p.instrs[p.pc];
    switch (i.op) {
      case Instr::Op::step:
        env.emit(OperatorStep{p.runbook, i.step, i.detail});
        ++p.pc;
        break;
      case Instr::Op::control: {
        const NodeId target = file_->node_id(i.target);
        FL_ASSERT_MSG(target != kNoNode, "operator acts on an unknown node");
        ++p.pc;
        env.control(target, i.control);
        break;
      }
      case Instr::Op::pause:
        ++p.pc;
        env.after(i.pause, TimerTag{kResume, id});
        return;
      case Instr::Op::wait_serving:
        p.wait_deadline = env.now() + k::kOperatorWaitMax;
        ping(env, id);
        return;
      case Instr::Op::abort:
        env.emit(OperatorStep{p.runbook, i.step, i.detail});
        programs_.erase(it);
        return;
    }
  }
}

void Operator::ping(Env& env, std::uint64_t id) {
  Program& p = programs_.at(id);
  const Instr& i = p.instrs.at(p.pc);
  FL_ASSERT(i.op == Instr::Op::wait_serving);
  // The ping's sequence number names the program waiting on it. Whatever the
  // answer (or none), the next poll pings again unless a 200 came first.
  p.ping_seq = (id << 32) | (++next_ping_ & 0xffffffffULL);
  env.send(file_->node_id(i.target), Message{HealthPing{p.ping_seq, false}});
  env.after(k::kOperatorPollInterval, TimerTag{kPoll, p.ping_seq});
}

void Operator::on_message(Env& env, NodeId from, const Message& message) {
  (void)from;
  const auto* pong = message.get<HealthPong>();
  if (pong == nullptr || pong->status != 200) return;
  const std::uint64_t id = pong->seq >> 32;
  const auto it = programs_.find(id);
  if (it == programs_.end() || it->second.ping_seq != pong->seq) return;
  it->second.ping_seq = 0;
  ++it->second.pc;
  run(env, id);
}

void Operator::on_send_failed(Env& env, NodeId to, const Message& message) {
  // A refused ping: the next poll tries again.
  (void)env, (void)to, (void)message;
}

void Operator::on_poll(Env& env, std::uint64_t seq) {
  const std::uint64_t id = seq >> 32;
  const auto it = programs_.find(id);
  if (it == programs_.end() || it->second.ping_seq != seq) return;  // answered meanwhile
  Program& p = it->second;
  if (env.now() >= p.wait_deadline) {
    env.emit(OperatorStep{p.runbook, "abort", "gave up waiting for " + p.instrs[p.pc].target});
    programs_.erase(it);
    return;
  }
  ping(env, id);
}

void Operator::on_timer(Env& env, TimerId tid, TimerTag tag) {
  (void)tid;
  switch (tag.kind) {
    case kActionStart: begin(env, tag.arg); return;
    case kResume: run(env, tag.arg); return;
    case kPoll: on_poll(env, tag.arg); return;
    default: FL_UNREACHABLE();
  }
}

}  // namespace fl
