// `faultline live` and `faultline live-node` (see live_run.h).
#include "harness/live_run.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "harness/cli.h"
#include "harness/cluster_builder.h"
#include "harness/live_ops.h"
#include "harness/live_report.h"
#include "harness/live_db.h"
#include "harness/runner.h"
#include "harness/scenario_writer.h"
#include "harness/scenario_loader.h"
#include "invariants/invariant_set.h"
#include "invariants/registry.h"
#include "live/edge_process.h"
#include "live/node_runtime.h"
#include "live/pg_db.h"
#include "live/postgres.h"
#include "reports/report.h"
#include "live/process.h"
#include "nodes/constants.h"
#include "nodes/spec.h"
#include "sim/history_json.h"

namespace fl::harness {

namespace {
namespace fs = std::filesystem;

std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) { g_interrupted = true; }

constexpr const char* kDbName = "db-primary";

// Live mode's cluster: app servers first (ids 0..n-1, spares included so that
// ids match the spec), then the primary and the replicas (db-replica1..N, as
// the simulator names them). The simulator's other members (the failover
// controller, the edge) do not exist live (docs/live.md).
struct LiveLayout {
  std::shared_ptr<ClusterSpec> spec;
  std::vector<std::string> names;  // by NodeId
  NodeId db{kNoNode};
  std::vector<NodeId> db_members;  // the primary, then the replicas
  std::uint32_t launched = 0;      // app1..app<launched> run; the rest are spares
  NodeId oper{kNoNode};            // the operator, when the scenario has operations
  // The edge (live/edge_process.h): the proxy and the clients, after the primary.
  NodeId proxy{kNoNode};
  std::vector<NodeId> clients;
};

LiveLayout layout_of(const Scenario& s, const std::string& conninfo_unused) {
  (void)conninfo_unused;
  LiveLayout l;
  l.spec = std::make_shared<ClusterSpec>(cluster_spec_of(s));
  for (const auto& server : l.spec->servers) l.names.push_back(server.name);
  l.db = NodeId{static_cast<std::uint32_t>(l.names.size())};
  l.names.push_back(kDbName);
  l.db_members.push_back(l.db);
  std::vector<NodeId> replicas;
  for (std::uint32_t i = 1; i <= s.database.replicas; ++i) {
    replicas.push_back(NodeId{static_cast<std::uint32_t>(l.names.size())});
    l.names.push_back("db-replica" + std::to_string(i));
    l.db_members.push_back(replicas.back());
  }
  // The DataSource as the simulator's builder sets it: the cluster endpoint
  // under automatic failover, the primary's host under manual failover.
  for (auto& server : l.spec->servers) {
    server.datasource = s.database.failover == Failover::automatic ? DbTarget::cluster_endpoint()
                                                                  : DbTarget::member(l.db);
    server.replicas = replicas;
  }
  // No shared storage runs live: each server uses its own local file store
  // (what the real server does without one), so get_server_status checks the
  // database alone.
  l.spec->storage.node = kNoNode;
  l.spec->directory.clear();
  l.launched = std::min<std::uint32_t>(s.cluster.app_servers, static_cast<std::uint32_t>(l.spec->servers.size()));
  // The operator (harness/live_ops.h) runs in the harness when the scenario
  // has operations: its events carry this id.
  if (!s.operations.empty()) {
    l.oper = NodeId{static_cast<std::uint32_t>(l.names.size())};
    l.names.emplace_back(kOperatorName);
    l.spec->directory[std::string(kOperatorName)] = l.oper;
  }
  // The edge as the simulator builds it (harness/edge_builder.cc): the proxy's
  // upstream is every server started (not the spares), the clients client1..N.
  l.proxy = NodeId{static_cast<std::uint32_t>(l.names.size())};
  l.names.push_back("proxy");
  l.spec->proxy.node = l.spec->clients.proxy = l.proxy;
  l.spec->proxy.upstream.clear();
  for (std::uint32_t i = 0; i < l.launched; ++i) l.spec->proxy.upstream.push_back(NodeId{i});
  l.spec->clients.nodes.clear();
  for (std::uint32_t i = 1; i <= l.spec->clients.count; ++i) {
    l.clients.push_back(NodeId{static_cast<std::uint32_t>(l.names.size())});
    l.names.push_back("client" + std::to_string(i));
  }
  l.spec->clients.nodes = l.clients;
  for (std::uint32_t i = 0; i < l.names.size(); ++i) l.spec->directory[l.names[i]] = NodeId{i};
  return l;
}

std::uint16_t port_of(std::uint16_t base, std::uint32_t index) {
  return static_cast<std::uint16_t>((base ? base : k::kGossipPort) + index);
}

std::string self_exe() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec).string();
}

std::uint64_t random_u64() {
  // Live mode is not deterministic: each process start draws a fresh seed,
  // as a real server draws its discovery id.
  std::random_device rd;
  return (std::uint64_t(rd()) << 32) ^ rd();
}

// One line of JSON per event, written with write(2) so that a kill -9 loses
// nothing already emitted (a FILE buffer would).
class LineSink {
 public:
  LineSink(const std::string& path, std::vector<std::string> names)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)), names_(std::move(names)) {}
  ~LineSink() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  void write(const HistoryEvent& e) {
    line_.clear();
    sim::append_history_event_json(line_, e, &names_);
    line_ += '\n';
    if (::write(fd_, line_.data(), line_.size()) < 0) failed_ = true;
  }

 private:
  int fd_;
  std::vector<std::string> names_;
  std::string line_;
  bool failed_ = false;
};

struct Action {
  Duration at{};
  std::function<void()> run;
};

class LiveRun {
 public:
  LiveRun(const Scenario& s, const LiveOptions& o, std::ostream& err) : s_(s), o_(o), err_(err) {}
  ~LiveRun() { cleanup(); }
  LiveResult run();

 private:
  Duration scaled(Duration d) const {
    return Duration{static_cast<std::int64_t>(static_cast<double>(d.count()) * o_.time_scale)};
  }
  Time now() const { return live::live_time(epoch_); }
  void emit(NodeId node, EventBody body) {
    HistoryEvent e{seq_++, now(), now(), node, std::move(body)};
    sink_->write(e);
  }
  NodeId id(const std::string& name) const {
    for (std::uint32_t i = 0; i < layout_.names.size(); ++i)
      if (layout_.names[i] == name) return NodeId{i};
    return kNoNode;
  }
  bool start_node(std::uint32_t i, std::string* error);
  LiveHands hands();
  void stop_node(std::uint32_t i);
  bool start_edge(std::string* error);
  void report_contents();
  void plan();
  void plan_fault(std::size_t index, const Fault& f);
  void cut(NodeId from, NodeId to);
  void uncut_all();
  void settle();
  void cleanup();
  bool sleep_until(Duration at);

  const Scenario& s_;
  const LiveOptions& o_;
  std::ostream& err_;
  LiveLayout layout_;
  LiveDb db_;
  std::string dir_;
  std::string scenario_file_;  // the scenario as run, written into dir_ for the node processes
  bool own_dir_ = false;
  std::int64_t epoch_ = 0;
  std::string secret_;
  std::uint16_t base_port_ = 0;
  std::unique_ptr<LineSink> sink_;
  std::uint64_t seq_ = 0;
  std::vector<live::Child> children_;
  std::vector<std::uint32_t> incarnation_;
  std::vector<Duration> offsets_;
  std::set<std::uint32_t> paused_, crashed_;
  std::set<std::uint32_t> stopped_;             // by the operator: settle leaves them stopped
  std::unique_ptr<LiveOperator> operator_;      // [[operations]] (harness/live_ops.h)
  std::set<std::pair<std::uint32_t, std::uint32_t>> cuts_;
  std::vector<Action> actions_;
  std::vector<std::string> skipped_;
};

bool LiveRun::start_node(std::uint32_t i, std::string* error) {
  const std::string& name = layout_.names[i];
  const std::string history = dir_ + "/" + name + "-" + std::to_string(incarnation_[i]) + ".jsonl";
  std::vector<std::string> argv{o_.node_binary.empty() ? self_exe() : o_.node_binary,
                                "live-node", scenario_file_,
                                "--name", name,
                                "--base-port", std::to_string(base_port_),
                                "--http-port", std::to_string((o_.http_port ? o_.http_port : kHttpPort) + i),
                                "--db", db_.endpoint_conninfo(),
                                "--db-endpoint", std::to_string(db_.endpoint().value),
                                "--secret", secret_,
                                "--epoch-ns", std::to_string(epoch_),
                                "--offset-ns", std::to_string(offsets_[i].count()),
                                "--seed", std::to_string(random_u64()),
                                "--history", history};
  // The machine's files as the operator left them (an upgraded binary, an
  // edited config.json): a new process starts with them.
  if (operator_)
    for (const auto& edit : operator_->files_of(name)) argv.insert(argv.end(), {"--spec", edit});
  for (const auto& [member, conninfo] : db_.conninfos()) {
    argv.push_back("--db-member");
    argv.push_back(std::to_string(member.value) + "=" + conninfo);
  }
  ++incarnation_[i];
  children_[i] = live::spawn_child(argv, dir_ + "/" + name + ".log", error);
  // A cut is the network's, not the process's: a new process of a node behind
  // one is behind it too (the simulator's links outlive restarts).
  for (const auto& [from, to] : cuts_)
    if (from == i) live::send_line(children_[i], "cut " + std::to_string(to));
  return children_[i].running();
}

// The proxy and the clients: one process (`live-node FILE --name edge`), its
// child slot the proxy's. It is never crashed or restarted live.
bool LiveRun::start_edge(std::string* error) {
  const std::uint32_t i = layout_.proxy.value;
  const std::string history = dir_ + "/edge-" + std::to_string(incarnation_[i]++) + ".jsonl";
  std::vector<std::string> argv{o_.node_binary.empty() ? self_exe() : o_.node_binary,
                                "live-node", scenario_file_,
                                "--name", "edge",
                                "--time-scale", std::to_string(o_.time_scale),
                                "--base-port", std::to_string(base_port_),
                                "--http-port", std::to_string(o_.http_port ? o_.http_port : kHttpPort),
                                "--db", db_.endpoint_conninfo(),
                                "--db-endpoint", std::to_string(db_.endpoint().value),
                                "--secret", secret_,
                                "--epoch-ns", std::to_string(epoch_),
                                "--seed", std::to_string(random_u64()),
                                "--history", history};
  children_[i] = live::spawn_child(argv, dir_ + "/edge.log", error);
  return children_[i].running();
}

// The primary's contents at the end (the simulator's PostPresent dump at the
// end of settle, harness/runner.cc): every post in the Posts table, read after
// every process ended so that no commit can follow the dump.
void LiveRun::report_contents() {
  // The current primary: after a failover, the promoted standby.
  live::PgDatabase db(db_.endpoint_conninfo(), epoch_);
  const DbReply reply = db.execute(DbPostsSince{~0ULL, time_from_ns(INT64_MIN / 2)});
  const auto* posts = reply.get<DbPosts>();
  if (!reply.ok() || !posts) {
    err_ << "live: cannot read the primary's posts at the end: " << db.last_error() << "\n";
    return;
  }
  for (const PostRow& row : posts->posts) emit(db_.endpoint(), PostPresent{row.post});
}

void LiveRun::cut(NodeId from, NodeId to) {
  if (from.value >= layout_.launched || to.value >= layout_.launched || from == to) return;
  cuts_.insert({from.value, to.value});
  live::send_line(children_[from.value], "cut " + std::to_string(to.value));
}

void LiveRun::uncut_all() {
  for (std::uint32_t i = 0; i < layout_.launched; ++i) live::send_line(children_[i], "heal");
  cuts_.clear();
}

void LiveRun::plan_fault(std::size_t index, const Fault& f) {
  const auto kind = std::string(to_string(f.kind));
  auto skip = [&](const std::string& why) {
    skipped_.push_back("fault #" + std::to_string(index) + " " + kind + " at " + format_duration(f.at.time_since_epoch()) +
                       ": " + why);
  };
  std::vector<NodeId> nodes;
  for (const auto& n : f.nodes) nodes.push_back(id(n.name));
  NodeGroups target{{nodes.begin(), nodes.end()}};
  const Duration at = scaled(f.at.time_since_epoch());
  const auto idx = static_cast<std::uint32_t>(index);
  auto injected = [this, idx, kind](NodeGroups groups, bool effective) {
    const NodeId first = groups.empty() || groups[0].empty() ? kNoNode : groups[0][0];
    emit(first, FaultInjected{idx, kind, "live", groups, effective});
  };
  auto heal_after = [&](std::function<void()> undo) {
    if (!f.for_) return;
    actions_.push_back({at + scaled(*f.for_), [this, idx, kind, undo] {
                          undo();
                          emit(kNoNode, FaultHealed{idx, kind});
                        }});
  };
  for (NodeId n : nodes) {
    const bool db_member = std::find(layout_.db_members.begin(), layout_.db_members.end(), n) != layout_.db_members.end();
    if (n.value >= layout_.launched && f.kind != FaultKind::partition && !db_member) {
      return skip("names " + layout_.names.at(n.value) + ", which live mode does not run");
    }
  }
  switch (f.kind) {
    case FaultKind::crash: {
      actions_.push_back({at, [this, nodes, target, injected] {
                            bool effective = false;
                            for (NodeId n : nodes) {
                              if (!children_[n.value].running()) continue;
                              live::kill_child(children_[n.value]);  // kill -9
                              paused_.erase(n.value);
                              crashed_.insert(n.value);
                              emit(n, ProcessCrashed{});
                              effective = true;
                            }
                            injected(target, effective);
                          }});
      if (f.restart_after) {
        actions_.push_back({at + scaled(*f.restart_after), [this, nodes] {
                              for (NodeId n : nodes) {
                                std::string error;
                                if (crashed_.erase(n.value) && !start_node(n.value, &error)) err_ << error << "\n";
                              }
                            }});
      }
      return;
    }
    case FaultKind::restart:
      actions_.push_back({at, [this, nodes, target, injected] {
                            bool effective = false;
                            for (NodeId n : nodes) {
                              std::string error;
                              if (children_[n.value].running()) continue;
                              crashed_.erase(n.value);
                              effective = start_node(n.value, &error) || effective;
                            }
                            injected(target, effective);
                          }});
      return;
    case FaultKind::pause:
      actions_.push_back({at, [this, nodes, target, injected, len = scaled(f.for_.value_or(Duration{}))] {
                            for (NodeId n : nodes) {
                              if (!children_[n.value].running()) continue;
                              ::kill(children_[n.value].pid, SIGSTOP);
                              paused_.insert(n.value);
                              emit(n, ProcessPaused{len});
                            }
                            injected(target, true);
                          }});
      heal_after([this, nodes] {
        for (NodeId n : nodes) {
          if (paused_.erase(n.value) && children_[n.value].running()) {
            ::kill(children_[n.value].pid, SIGCONT);
            emit(n, ProcessResumed{});
          }
        }
      });
      return;
    case FaultKind::partition: {
      NodeGroups groups;
      for (const auto& g : f.groups) {
        groups.emplace_back();
        for (const auto& n : g) groups.back().push_back(id(n.name));
      }
      actions_.push_back({at, [this, groups, injected] {
                            for (std::size_t a = 0; a < groups.size(); ++a)
                              for (std::size_t b = 0; b < groups.size(); ++b)
                                if (a != b)
                                  for (NodeId x : groups[a])
                                    for (NodeId y : groups[b]) cut(x, y);
                            injected(groups, true);
                          }});
      heal_after([this] { uncut_all(); });
      return;
    }
    case FaultKind::one_way:
    case FaultKind::gossip_send_failure: {
      std::vector<NodeId> from, to;
      if (f.kind == FaultKind::one_way) {
        for (const auto& n : f.from) from.push_back(id(n.name));
        for (const auto& n : f.to) to.push_back(id(n.name));
      } else {
        from = nodes;
        to.push_back(id(f.peer.name));
      }
      NodeGroups groups{from, to};
      actions_.push_back({at, [this, from, to, groups, injected] {
                            for (NodeId x : from)
                              for (NodeId y : to) cut(x, y);
                            injected(groups, true);
                          }});
      heal_after([this] { uncut_all(); });
      return;
    }
    case FaultKind::heal:
      actions_.push_back({at, [this, injected] {
                            const bool effective = !cuts_.empty();
                            uncut_all();
                            injected({}, effective);
                          }});
      return;
    case FaultKind::clock_skew:
    case FaultKind::clock_step: {
      if (f.kind == FaultKind::clock_skew && f.drift_ppm != 0)
        skip("drift_ppm " + std::to_string(f.drift_ppm) + " (live clocks get offsets, not drift); its offset is applied");
      const bool step = f.kind == FaultKind::clock_step;
      const Duration amount = step ? f.by : f.offset;
      actions_.push_back({at, [this, nodes, target, injected, step, amount] {
                            for (NodeId n : nodes) {
                              offsets_[n.value] = step ? offsets_[n.value] + amount : amount;
                              live::send_line(children_[n.value], "offset " + std::to_string(offsets_[n.value].count()));
                              emit(n, ClockChanged{offsets_[n.value], 0, step ? amount : Duration{}});
                            }
                            injected(target, true);
                          }});
      return;
    }
    // The database's faults (harness/live_db.h says how each is done).
    case FaultKind::db_crash:
      actions_.push_back({at, [this, nodes, target, injected] {
                            bool effective = false;
                            for (NodeId n : nodes) effective = db_.crash(n) || effective;
                            injected(target, effective);
                          }});
      if (s_.database.failover == Failover::automatic) {
        // When the simulator's controller would promote: it pings the
        // primary every k::kFailoverPingInterval from the run's start; the
        // first ping after the crash fails, and it promotes at the first
        // ping failing failover_detection after that one (cluster constants:
        // not time-scaled).
        const std::int64_t iv = k::kFailoverPingInterval.count();
        const Duration first_failed{(at.count() / iv + 1) * iv};
        const Duration detect{(s_.database.failover_detection.count() + iv - 1) / iv * iv};
        actions_.push_back({first_failed + detect, [this] {
                              if (!db_.primary_down()) return;
                              NodeId promoted = kNoNode;
                              const std::string why = db_.failover(&promoted);
                              if (!why.empty()) err_ << "live: automatic failover: " << why << "\n";
                            }});
      }
      return;
    case FaultKind::db_failover:
      actions_.push_back({at, [this, idx, kind] {
                            NodeId promoted = kNoNode;
                            const std::string why = db_.failover(&promoted);
                            if (!why.empty()) err_ << "live: db_failover: " << why << "\n";
                            const std::string detail =
                                why.empty() ? "live: promote " + layout_.names.at(promoted.value) : "live: " + why;
                            emit(promoted, FaultInjected{idx, kind, detail, {{promoted}}, why.empty()});
                          }});
      return;
    case FaultKind::replica_lag:
      actions_.push_back({at, [this, nodes, target, injected, lag = f.lag] {
                            bool effective = false;
                            for (NodeId n : nodes) {
                              std::string error;
                              if (db_.set_lag(n, lag, &error)) effective = true;
                              else err_ << "live: replica_lag on " << layout_.names.at(n.value) << ": " << error << "\n";
                            }
                            injected(target, effective);
                          }});
      heal_after([this, nodes] {
        for (NodeId n : nodes) {
          std::string error;
          db_.set_lag(n, Duration{0}, &error);
        }
      });
      return;
    default:
      return skip("not injectable live yet (docs/live.md)");
  }
}

// systemctl stop of app server i (the operator's): a graceful stop on the
// control pipe, and the process's exit awaited. A paused process cannot run its
// shutdown handler: it is killed, as the simulator's service manager does. A
// crashed one stays down, and a restart pending for its crash is no longer
// wanted (the simulator's stop of a crashed node, issue 13).
void LiveRun::stop_node(std::uint32_t i) {
  if (!children_[i].running()) {
    if (crashed_.erase(i)) stopped_.insert(i);
    return;
  }
  if (paused_.erase(i)) {
    live::kill_child(children_[i]);
    emit(NodeId{i}, ProcessStopped{});
  } else {
    live::send_line(children_[i], "stop");
    // The node runs on_stop, emits ProcessStopped, finishes the database
    // requests on_stop made and exits: milliseconds; 10 s before a kill.
    live::end_child(children_[i], 10'000);
  }
  stopped_.insert(i);
}

LiveHands LiveRun::hands() {
  LiveHands h;
  h.now = [this] { return now(); };
  h.emit = [this](NodeId n, EventBody b) { emit(n, std::move(b)); };
  h.running = [this](NodeId n) { return children_.at(n.value).running(); };
  h.stop = [this](NodeId n) { stop_node(n.value); };
  h.start = [this](NodeId n) {
    if (children_.at(n.value).running()) return;  // already running
    crashed_.erase(n.value);
    stopped_.erase(n.value);
    std::string error;
    if (!start_node(n.value, &error)) err_ << error << "\n";
  };
  h.crash = [this](NodeId n) {
    if (!children_.at(n.value).running()) return;
    live::kill_child(children_[n.value]);
    paused_.erase(n.value);
    crashed_.insert(n.value);
    emit(n, ProcessCrashed{});
  };
  h.send_line = [this](NodeId n, const std::string& line) { live::send_line(children_.at(n.value), line); };
  h.http_port = [this](NodeId n) { return static_cast<std::uint16_t>((o_.http_port ? o_.http_port : kHttpPort) + n.value); };
  h.skip = [this](const std::string& what) { skipped_.push_back(what); };
  return h;
}

void LiveRun::plan() {
  for (std::size_t i = 0; i < s_.faults.size(); ++i) plan_fault(i, s_.faults[i]);
  if (!s_.operations.empty())
    operator_ = std::make_unique<LiveOperator>(*layout_.spec, layout_.names, layout_.oper, o_.time_scale, hands(),
                                               random_u64());
  if (s_.database.replicas > 0 && s_.database.replication == Replication::sync)
    skipped_.push_back("database.replication = sync: live standbys stream asynchronously (no synchronous_standby_names yet)");
  if (s_.network.loss > 0 || s_.network.duplicate > 0 || s_.network.reorder > 0)
    skipped_.push_back("[network] loss/duplicate/reorder: loopback TCP has none");
  std::stable_sort(actions_.begin(), actions_.end(), [](const Action& a, const Action& b) { return a.at < b.at; });
}

bool LiveRun::sleep_until(Duration at) {
  while (!g_interrupted) {
    // The operator's commands and waits run meanwhile (also in settle, as the
    // simulator's operator node does).
    if (operator_) operator_->poll();
    const Duration left = at - now().time_since_epoch();
    if (left <= Duration{0}) return true;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(std::chrono::nanoseconds(left.count()),
                                                                   std::chrono::milliseconds(20)));
  }
  return false;
}

void LiveRun::settle() {
  // DESIGN.md, Phases of a run: every fault healed, paused nodes resumed,
  // crashed nodes restarted; clocks keep their offsets.
  uncut_all();
  for (std::uint32_t n : paused_) {
    if (children_[n].running()) ::kill(children_[n].pid, SIGCONT);
    emit(NodeId{n}, ProcessResumed{});
  }
  paused_.clear();
  emit(kNoNode, SettleBegin{});
  db_.settle();
  for (std::uint32_t n : crashed_) {
    std::string error;
    if (!start_node(n, &error)) err_ << error << "\n";
  }
  crashed_.clear();
}

void LiveRun::cleanup() {
  if (o_.keep) return;
  for (auto& c : children_) live::end_child(c, 500);
  db_.stop();
  if (own_dir_ && !dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

LiveResult LiveRun::run() {
  LiveResult r;
  const auto wall0 = std::chrono::steady_clock::now();
  g_interrupted = false;
  struct sigaction sa{};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (o_.work_dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "faultline-live-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return r.line = "faultline live: cannot create a temporary folder", r;
    dir_ = tmpl;
    own_dir_ = true;
  } else {
    dir_ = fs::absolute(o_.work_dir).string();
    fs::create_directories(dir_);
  }
  r.work_dir = dir_;
  // The node processes load the scenario the harness runs, not its source
  // file: one changed in code (a test's control with a bug turned off) reaches
  // them whole.
  scenario_file_ = dir_ + "/scenario.toml";
  {
    std::ofstream f(scenario_file_, std::ios::binary | std::ios::trunc);
    f << write_scenario(s_, WriteOptions{{"the scenario of a live run of " + s_.path + " (faultline live)"}});
    if (!f) return r.line = "faultline live: cannot write " + scenario_file_, r;
  }
  layout_ = layout_of(s_, "");
  r.node_names = layout_.names;
  children_.resize(layout_.names.size());
  incarnation_.assign(layout_.names.size(), 0);
  offsets_.assign(layout_.names.size(), Duration{});
  secret_ = std::to_string(random_u64()) + std::to_string(random_u64());
  base_port_ = o_.base_port ? o_.base_port : static_cast<std::uint16_t>(k::kGossipPort);

  std::string error;
  if (!db_.start(dir_, layout_.db_members, layout_.spec->initial_schema(), &error))
    return r.line = "faultline live: PostgreSQL: " + error, r;
  db_.set_hooks({[this](NodeId n, EventBody e) { emit(n, std::move(e)); },
                 [this](NodeId member) {
                   for (std::uint32_t i = 0; i < layout_.launched; ++i)
                     if (children_[i].running()) live::send_line(children_[i], "endpoint " + std::to_string(member.value));
                 },
                 [this](const std::string& line) { err_ << line << "\n"; }});

  epoch_ = live::system_now_ns();
  r.pg_ready_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  sink_ = std::make_unique<LineSink>(dir_ + "/harness.jsonl", layout_.names);
  plan();
  // The edge first, then the servers, all at the run's start as in the
  // simulator: the proxy's health checks run every 5 s from its start, so an
  // edge started after the servers found them serving at its first check and
  // its clients posted up to a check interval earlier than the simulator's,
  // whose first check finds no server serving (CI saw 77 posts against 56).
  if (!start_edge(&error)) return r.line = "faultline live: the edge: " + error, r;
  for (std::uint32_t i = 0; i < layout_.launched; ++i) {
    if (!start_node(i, &error)) return r.line = "faultline live: " + error, r;
  }
  if (operator_) operator_->start();
  const Duration duration = scaled(s_.duration);
  for (auto& a : actions_) {
    if (a.at > duration) break;
    if (!sleep_until(a.at)) break;
    a.run();
  }
  if (sleep_until(duration)) {
    settle();
    sleep_until(duration + scaled(s_.settle));
  }
  const Time run_end = now();
  if (g_interrupted) {
    r.exit_code = 130;
    r.line = "INTERRUPTED " + s_.path + " live: everything started was stopped";
    return r;
  }
  if (o_.keep) {
    err_ << "live: --keep: PostgreSQL (" << db_.endpoint_conninfo() << ") and the nodes run on; folder " << dir_
         << "; Ctrl-C ends them\n";
    while (!g_interrupted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const_cast<LiveOptions&>(o_).keep = false;
  }
  // The edge first (its index is after every server's): the proxy must not
  // watch the servers end, or its last health checks fail and the end of the
  // run looks like an outage to service_available.
  for (auto c = children_.rbegin(); c != children_.rend(); ++c) live::end_child(*c, 500);
  report_contents();

  // Merge the per-process histories by time; seq renumbered in that order.
  std::vector<HistoryEvent> all;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().extension() != ".jsonl") continue;
    auto events = sim::read_history_file(entry.path().string(), &error);
    if (!events) return r.line = "faultline live: " + error, r;
    all.insert(all.end(), events->begin(), events->end());
  }
  std::stable_sort(all.begin(), all.end(), [](const HistoryEvent& a, const HistoryEvent& b) {
    return a.at != b.at ? a.at < b.at : a.node < b.node;
  });
  for (std::size_t i = 0; i < all.size(); ++i) all[i].seq = i;
  // A node may emit between the harness's reading of the end and its end
  // (the invariants need every event at or before the run's end).
  const Time end = all.empty() ? run_end : std::max(run_end, all.back().at);
  {
    std::set<std::uint32_t> served;
    for (const auto& e : all) {
      if (!e.is<ServerServing>() || e.node.value >= layout_.launched || served.count(e.node.value)) continue;
      served.insert(e.node.value);
      if (served.size() == layout_.launched) {
        r.serving_s = r.pg_ready_s + std::chrono::duration<double>(std::chrono::nanoseconds(ns(e.at))).count();
      }
    }
  }

  inv::ClusterInfo info;
  for (std::uint32_t i = 0; i < layout_.names.size(); ++i) {
    inv::NodeInfo n;
    n.name = layout_.names[i];
    if (const ServerSpec* server = layout_.spec->server(n.name)) {
      n.role = inv::Role::app_server;
      n.server_id = server->id;
    } else if (NodeId{i} == layout_.proxy) {
      n.role = inv::Role::proxy;
    } else if (std::find(layout_.clients.begin(), layout_.clients.end(), NodeId{i}) != layout_.clients.end()) {
      n.role = inv::Role::client;
    } else {
      n.role = n.name == kOperatorName ? inv::Role::oper
               : NodeId{i} == layout_.db ? inv::Role::db_primary
                                         : inv::Role::db_replica;
    }
    info.nodes.push_back(n);
  }
  info.leader_election = std::string(to_string(s_.cluster.leader_election));
  info.initial_schema = layout_.spec->initial_schema();
  for (const JobTypeSpec& j : layout_.spec->jobs) info.job_periods.emplace_back(j.type, j.period);
  inv::InvariantSet checks;
  for (const auto& spec : inv::invariant_specs()) {
    if (!s_.invariants.checks(spec.name)) continue;
    std::map<std::string, std::string> options;
    if (auto it = s_.invariants.options.find(spec.name); it != s_.invariants.options.end())
      for (const auto& [k, v] : it->second.values) options[k] = format_duration(v);
    auto made = inv::make_invariant(spec.name, options, info);
    if (made.invariant) checks.add(std::move(made.invariant));
  }
  for (const auto& e : all) checks.on_event(e);
  checks.finish(inv::RunEnd{end, true});

  std::set<std::string> expected, found;
  for (const auto& v : s_.expect.violations) expected.insert(v.name);
  std::vector<std::string> unexpected;
  std::vector<std::string> problems;  // in the report's words (harness/runner.cc's)
  for (const auto& v : checks.violations()) {
    r.violations.push_back(v.invariant + " at " + line_time(v.at.time_since_epoch()) + ": " + v.message);
    r.violated.emplace_back(v.invariant, v.at);
    found.insert(v.invariant);
    if (!expected.count(v.invariant)) {
      unexpected.push_back(r.violations.back());
      problems.push_back("unexpected violation of " + r.violations.back());
    }
  }
  std::vector<std::string> missing;
  for (const auto& e : expected)
    if (!found.count(e)) {
      missing.push_back(e);
      problems.push_back("expected violation " + e + " not found");
    }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  char wall_text[32];
  std::snprintf(wall_text, sizeof wall_text, "%.1fs", wall);
  const std::string stats = s_.path + " live sim=" + line_time(end.time_since_epoch()) + " wall=" + wall_text +
                            " events=" + line_count(all.size()) +
                            (o_.time_scale != 1.0 ? " time-scale=" + std::to_string(o_.time_scale) : "") +
                            (skipped_.empty() ? "" : " skipped=" + std::to_string(skipped_.size()));
  if (unexpected.empty() && missing.empty()) {
    r.exit_code = kExitOk;
    r.line = "PASS " + stats;
  } else {
    r.exit_code = kExitFailed;
    std::string first = !unexpected.empty() ? unexpected.front() : "expected " + missing.front() + " not found";
    const std::size_t more = unexpected.size() + missing.size() - 1;
    const std::string report_dir =
        o_.out_dir.empty()
            ? dir_
            : (fs::absolute(o_.out_dir) / (reports::report_folder_stems({s_.path}).front() + "-live")).string();
    r.line = "FAIL " + stats + " " + first + (more ? " (+" + std::to_string(more) + " more)" : "") + " -> " + report_dir;
    // The report folder, as `run --out` writes it (harness/live_report.h),
    // beside the raw histories and the node logs.
    LiveReportInput in;
    in.scenario = &s_;
    in.history = &all;
    in.info = &info;
    in.violations = checks.violations();
    in.problems = problems;
    in.skipped = skipped_;
    in.end = end;
    in.wall_seconds = wall;
    in.time_scale = o_.time_scale;
    std::error_code ec;
    fs::create_directories(report_dir, ec);
    if (ec)
      err_ << "faultline live: cannot create " << report_dir << ": " << ec.message() << "\n";
    else if (const std::string error = write_live_report(report_dir, in); !error.empty())
      err_ << "faultline live: the report folder: " << error << "\n";
    else
      r.report_dir = report_dir;
    if (report_dir != dir_) err_ << "live: the run's folder (node logs, raw histories): " << dir_ << "\n";
    const_cast<LiveOptions&>(o_).keep = true;  // a failing run's folder stays for inspection (PostgreSQL stops)
    db_.stop();
  }
  r.skipped = skipped_;
  r.history = std::move(all);
  return r;
}

}  // namespace

LiveResult run_live(const Scenario& scenario, const LiveOptions& options, std::ostream& err) {
  LiveRun run(scenario, options, err);
  return run.run();
}

int command_live_node(const LiveNodeFlags& f, std::ostream& err) {
  LoadResult loaded = load_scenario(f.file);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) err << e.str() << "\n";
    return kExitUsage;
  }
  // The scenario's own times as the harness runs them (--time-scale): the
  // clients stop posting at the scaled duration, as in the simulator's run.
  if (f.time_scale != 1.0) *loaded.scenario = time_scaled(*loaded.scenario, f.time_scale);
  LiveLayout layout = layout_of(*loaded.scenario, f.db_conninfo);
  if (f.name == "edge") {  // the proxy and the clients (live/edge_process.h)
    live::EdgeRunOptions e;
    e.spec = layout.spec;
    for (std::uint32_t i = 0; i < layout.spec->servers.size(); ++i)
      e.http_ports[NodeId{i}] = static_cast<std::uint16_t>(f.http_port + i);
    e.epoch_ns = f.epoch_ns;
    e.seed = f.seed;
    LineSink sink(f.history, layout.names);
    if (!sink.ok()) {
      err << "live-node: cannot write " << f.history << "\n";
      return kExitInternal;
    }
    e.sink = [&sink](const HistoryEvent& ev) { sink.write(ev); };
    e.control_fd = 0;
    signal(SIGPIPE, SIG_IGN);
    return live::run_edge(e);
  }
  live::NodeRunOptions o;
  o.spec = layout.spec;
  o.name = f.name;
  for (std::uint32_t i = 0; i < layout.spec->servers.size(); ++i) {
    o.gossip_ports[NodeId{i}] = port_of(f.base_port, i);
    if (layout.names[i] == f.name) o.self = NodeId{i};
  }
  if (o.self == kNoNode) {
    err << "live-node: no app server named " << f.name << "\n";
    return kExitUsage;
  }
  o.secret = f.secret;
  o.db_conninfo = f.db_conninfo;
  o.db_node = layout.db;
  for (const auto& m : f.db_members) {
    const auto eq = m.find('=');
    if (eq == 0 || eq == std::string::npos || m.find_first_not_of("0123456789") != eq) {
      err << "live-node: --db-member wants ID=conninfo, got " << m << "\n";
      return kExitUsage;
    }
    o.db_members[NodeId{static_cast<std::uint32_t>(std::stoul(m.substr(0, eq)))}] = m.substr(eq + 1);
  }
  if (f.db_endpoint >= 0) o.db_endpoint = NodeId{static_cast<std::uint32_t>(f.db_endpoint)};
  o.epoch_ns = f.epoch_ns;
  o.clock_offset = Duration{f.offset_ns};
  o.seed = f.seed;
  LineSink sink(f.history, layout.names);
  if (!sink.ok()) {
    err << "live-node: cannot write " << f.history << "\n";
    return kExitInternal;
  }
  o.sink = [&sink](const HistoryEvent& e) { sink.write(e); };
  // The machine's files as the operator edited them (harness/live_ops.h):
  // at start (--spec KEY=VALUE) and while running ("spec KEY VALUE" lines).
  const std::map<std::string, NodeId, std::less<>> names(layout.spec->directory.begin(), layout.spec->directory.end());
  auto edit = [spec = layout.spec, names, name = f.name](const ControlOp& op) {
    if (op.key == "reload_config" || op.key == "recycle_connections") return;  // inputs, not files
    apply_spec_op(*spec, names, name, op);
  };
  for (const auto& kv : f.spec) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) {
      err << "live-node: --spec wants KEY=VALUE, got " << kv << "\n";
      return kExitUsage;
    }
    edit(ControlOp{ControlOp::Kind::set_spec, kv.substr(0, eq), kv.substr(eq + 1)});
  }
  o.on_spec = edit;
  o.control_fd = 0;
  o.http_port = f.http_port;
  signal(SIGPIPE, SIG_IGN);
  return live::run_node(o);
}

}  // namespace fl::harness

// ---- --compare ------------------------------------------------------------------------------

namespace fl::harness {

namespace {
std::string name_of(const std::vector<std::string>& names, NodeId n) {
  return n.value < names.size() ? names[n.value] : (n == kNoNode ? "-" : "node" + std::to_string(n.value));
}
std::string at_text(Time t) { return line_time(t.time_since_epoch()); }
std::string gap_text(Duration d) {
  return (d < Duration{0} ? "-" : "+") + line_time(d < Duration{0} ? -d : d);
}
}  // namespace

Outcomes outcomes_of(const std::vector<HistoryEvent>& history, const std::vector<std::string>& names) {
  Outcomes o;
  for (const auto& e : history) {
    if (e.is<LeaderBegin>()) o.leaders.push_back({name_of(names, e.node), e.at});
    if (const auto* m = e.get<MigrationApplied>()) o.migrations.push_back({name_of(names, e.node), m->schema, e.at});
    if (e.is<Promoted>()) o.promotions.push_back({name_of(names, e.node), e.at});
    if (e.is<PostAcked>()) ++o.posts_acked;
    if (e.is<PostDelivered>()) ++o.posts_delivered;
    if (e.is<ClientChannels>()) ++o.clients;
    if (e.is<PostSent>() && !o.first_post) o.first_post = e.at;
    if (const auto* d = e.get<PeerDown>()) o.downs.push_back({name_of(names, e.node), name_of(names, d->peer), e.at});
  }
  return o;
}

std::vector<CompareRow> compare_outcomes(const Outcomes& sim, const Outcomes& live, Duration noise) {
  std::vector<CompareRow> rows;
  using Mark = CompareRow::Mark;
  // Same thing on both sides: judge the time gap.
  auto timed = [&](CompareRow& row, Time a, Time b) {
    const Duration gap = b - a;
    const Duration abs = gap < Duration{0} ? -gap : gap;
    if (abs == Duration{0}) return;
    row.mark = abs <= noise ? Mark::noise : Mark::differs;
    row.why = "live " + gap_text(gap) + (abs <= noise ? "" : " (beyond the " + line_time(noise) + " of noise)");
  };
  const std::string none = "-";
  for (std::size_t i = 0; i < std::max(sim.leaders.size(), live.leaders.size()); ++i) {
    CompareRow row;
    row.what = "leader #" + std::to_string(i + 1);
    const auto* a = i < sim.leaders.size() ? &sim.leaders[i] : nullptr;
    const auto* b = i < live.leaders.size() ? &live.leaders[i] : nullptr;
    row.sim = a ? a->leader + " at " + at_text(a->begin) : none;
    row.live = b ? b->leader + " at " + at_text(b->begin) : none;
    if (!a || !b) {
      row.mark = Mark::differs, row.why = a ? "only in the simulator" : "only live";
    } else if (a->leader != b->leader) {
      row.mark = Mark::differs, row.why = "another leader";
    } else {
      timed(row, a->begin, b->begin);
    }
    rows.push_back(row);
  }
  for (std::size_t i = 0; i < std::max(sim.migrations.size(), live.migrations.size()); ++i) {
    CompareRow row;
    row.what = "migration #" + std::to_string(i + 1);
    const auto* a = i < sim.migrations.size() ? &sim.migrations[i] : nullptr;
    const auto* b = i < live.migrations.size() ? &live.migrations[i] : nullptr;
    auto text = [](const Outcomes::Migration& m) { return std::to_string(m.schema) + " by " + m.by + " at " + at_text(m.at); };
    row.sim = a ? text(*a) : none;
    row.live = b ? text(*b) : none;
    if (!a || !b) {
      row.mark = Mark::differs, row.why = a ? "only in the simulator" : "only live";
    } else if (a->by != b->by || a->schema != b->schema) {
      row.mark = Mark::differs, row.why = a->schema != b->schema ? "another version" : "another server";
    } else {
      timed(row, a->at, b->at);
    }
    rows.push_back(row);
  }
  for (std::size_t i = 0; i < std::max(sim.promotions.size(), live.promotions.size()); ++i) {
    CompareRow row;
    row.what = "promotion #" + std::to_string(i + 1);
    const auto* a = i < sim.promotions.size() ? &sim.promotions[i] : nullptr;
    const auto* b = i < live.promotions.size() ? &live.promotions[i] : nullptr;
    row.sim = a ? a->member + " at " + at_text(a->at) : none;
    row.live = b ? b->member + " at " + at_text(b->at) : none;
    if (!a || !b) {
      row.mark = Mark::differs, row.why = a ? "only in the simulator" : "only live";
    } else if (a->member != b->member) {
      row.mark = Mark::differs, row.why = "another member";
    } else {
      timed(row, a->at, b->at);
    }
    rows.push_back(row);
  }
  if (sim.first_post || live.first_post) {
    CompareRow row;
    row.what = "clients begin posting";
    row.sim = sim.first_post ? "at " + at_text(*sim.first_post) : none;
    row.live = live.first_post ? "at " + at_text(*live.first_post) : none;
    if (!sim.first_post || !live.first_post) row.mark = Mark::differs, row.why = sim.first_post ? "only in the simulator" : "only live";
    else timed(row, *sim.first_post, *live.first_post);
    rows.push_back(row);
  }
  for (const auto& [what, x, y] : {std::tuple{"posts acknowledged", sim.posts_acked, live.posts_acked},
                                   std::tuple{"posts delivered", sim.posts_delivered, live.posts_delivered}}) {
    CompareRow row{what, std::to_string(x), std::to_string(y)};
    // Within the counts' noise (Outcomes::clients): "~".
    const std::uint64_t n = std::max(sim.clients, live.clients);
    const Duration interval = std::max(sim.post_interval, live.post_interval);
    const std::uint64_t per_client = 1 + (interval > Duration{0} ? static_cast<std::uint64_t>(noise / interval) : 0);
    const std::uint64_t acked_noise = n * per_client;
    const std::uint64_t noise_count = std::string(what) == "posts acknowledged" ? acked_noise : acked_noise * n;
    const std::uint64_t gap = x > y ? x - y : y - x;
    if (gap != 0 && gap <= noise_count)
      row.mark = Mark::noise, row.why = "live " + std::string(y > x ? "+" : "-") + std::to_string(gap) + " (within " +
                                        std::to_string(noise_count) + ": each client draws its own post times, from its own start)";
    else if (gap != 0)
      row.mark = Mark::differs, row.why = "another count";
    rows.push_back(row);
  }
  // Down-markings matched by (observer, peer, k-th time), in the simulator's
  // order, then those only live has.
  auto keyed = [](const std::vector<Outcomes::Down>& downs) {
    std::vector<std::pair<std::tuple<std::string, std::string, int>, Time>> out;
    std::map<std::pair<std::string, std::string>, int> seen;
    for (const auto& d : downs) out.push_back({{d.observer, d.peer, ++seen[{d.observer, d.peer}]}, d.at});
    return out;
  };
  const auto ks = keyed(sim.downs), kl = keyed(live.downs);
  std::map<std::tuple<std::string, std::string, int>, Time> live_at(kl.begin(), kl.end());
  std::set<std::tuple<std::string, std::string, int>> matched;
  auto down_row = [&](const std::tuple<std::string, std::string, int>& key) {
    CompareRow row;
    row.what = std::get<0>(key) + " marks " + std::get<1>(key) + " down" +
               (std::get<2>(key) > 1 ? " (#" + std::to_string(std::get<2>(key)) + ")" : "");
    return row;
  };
  for (const auto& [key, at] : ks) {
    CompareRow row = down_row(key);
    row.sim = "at " + at_text(at);
    auto it = live_at.find(key);
    if (it == live_at.end()) {
      row.live = none, row.mark = Mark::differs, row.why = "only in the simulator";
    } else {
      matched.insert(key);
      row.live = "at " + at_text(it->second);
      timed(row, at, it->second);
    }
    rows.push_back(row);
  }
  for (const auto& [key, at] : kl) {
    if (matched.count(key)) continue;
    CompareRow row = down_row(key);
    row.sim = none, row.live = "at " + at_text(at), row.mark = Mark::differs, row.why = "only live";
    rows.push_back(row);
  }
  std::set<std::string> invariants;
  for (const auto& [name, v] : sim.verdicts) invariants.insert(name);
  for (const auto& [name, v] : live.verdicts) invariants.insert(name);
  for (const auto& name : invariants) {
    CompareRow row;
    row.what = name;
    auto verdict = [&](const Outcomes& o) -> std::string {
      auto it = o.verdicts.find(name);
      if (it == o.verdicts.end()) return "not judged";
      return it->second ? "violated at " + at_text(*it->second) : "holds";
    };
    row.sim = verdict(sim), row.live = verdict(live);
    const bool a = row.sim.rfind("violated", 0) == 0, b = row.live.rfind("violated", 0) == 0;
    if (row.sim == "not judged" || row.live == "not judged") {
      if (row.sim != row.live) row.mark = Mark::differs, row.why = "judged on one side only";
    } else if (a != b) {
      row.mark = Mark::differs, row.why = "another verdict";
    }
    rows.push_back(row);
  }
  return rows;
}

Scenario time_scaled(const Scenario& s, double x) {
  Scenario out = s;
  if (x == 1.0) return out;
  auto sc = [x](Duration d) { return Duration{static_cast<std::int64_t>(static_cast<double>(d.count()) * x)}; };
  out.duration = sc(s.duration);
  out.settle = sc(s.settle);
  for (auto& f : out.faults) {
    f.at = kTimeZero + sc(f.at.time_since_epoch());
    if (f.for_) f.for_ = sc(*f.for_);
    if (f.restart_after) f.restart_after = sc(*f.restart_after);
  }
  for (auto& op : out.operations) op.at = kTimeZero + sc(op.at.time_since_epoch());
  return out;
}

CompareResult compare_live(const Scenario& scenario, const LiveOptions& options, std::ostream& err) {
  CompareResult result;
  // The simulator first (seconds), on the same scaled times.
  const Scenario scaled = time_scaled(scenario, options.time_scale);
  char tmpl[] = "/tmp/faultline-compare-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) {
    err << "faultline live --compare: cannot create a temporary file\n";
    return result;
  }
  ::close(fd);
  const std::string history_path = tmpl;
  RunOptions ro;
  ro.seed = scenario.seed;
  ro.history_path = history_path;
  const RunResult sr = run_scenario(scaled, ro);
  std::string error;
  auto sim_history = sim::read_history_file(history_path, &error);
  std::error_code ec;
  fs::remove(history_path, ec);
  if (sr.outcome == Outcome::internal_error || !sim_history) {
    err << "faultline live --compare: the simulator's run: " << (sim_history ? result_line(sr) : error) << "\n";
    return result;
  }
  std::vector<std::string> sim_names;
  for (const auto& lane : sr.report.lanes) sim_names.push_back(lane.name);
  Outcomes sim = outcomes_of(*sim_history, sim_names);

  result.sim_line = result_line(sr);
  result.live = run_live(scenario, options, err);
  LiveResult& lr = result.live;
  for (const auto& sk : lr.skipped) err << "  skipped: " << sk << "\n";
  if (lr.exit_code != kExitOk && lr.exit_code != kExitFailed) {
    result.exit_code = lr.exit_code;
    result.table = lr.line + "\n";
    return result;
  }
  Outcomes live = outcomes_of(lr.history, lr.node_names);
  sim.post_interval = live.post_interval = scaled.clients.post_interval;
  for (const auto& spec : inv::invariant_specs()) {
    if (!scenario.invariants.checks(spec.name)) continue;
    sim.verdicts[spec.name] = std::nullopt;
    live.verdicts[spec.name] = std::nullopt;
  }
  for (const auto& v : sr.violations) {
    auto& slot = sim.verdicts[v.invariant];
    if (!slot || v.at < *slot) slot = v.at;
  }
  for (const auto& [name, at] : lr.violated) {
    auto& slot = live.verdicts[name];
    if (!slot || at < *slot) slot = at;
  }

  result.rows = compare_outcomes(sim, live);
  const auto& rows = result.rows;
  std::ostringstream out;
  out << "sim:  " << result_line(sr) << "\n";
  out << "live: " << lr.line << "\n";
  std::size_t w0 = 7, w1 = 9, w2 = 4;
  for (const auto& r : rows) {
    w0 = std::max(w0, r.what.size());
    w1 = std::max(w1, r.sim.size());
    w2 = std::max(w2, r.live.size());
  }
  auto pad = [](const std::string& t, std::size_t w) { return t + std::string(w > t.size() ? w - t.size() : 0, ' '); };
  out << pad("outcome", w0) << " | " << pad("simulator", w1) << " | " << pad("live", w2) << " |\n";
  out << std::string(w0, '-') << "-+-" << std::string(w1, '-') << "-+-" << std::string(w2, '-') << "-+-----\n";
  std::size_t noise = 0, differs = 0;
  for (const auto& r : rows) {
    const char* mark = r.mark == CompareRow::Mark::same ? "=" : r.mark == CompareRow::Mark::noise ? "~" : "DIFFERS";
    noise += r.mark == CompareRow::Mark::noise;
    differs += r.mark == CompareRow::Mark::differs;
    out << pad(r.what, w0) << " | " << pad(r.sim, w1) << " | " << pad(r.live, w2) << " | " << mark
        << (r.why.empty() ? "" : " " + r.why) << "\n";
  }
  out << "compare: " << rows.size() << " outcomes, " << noise << " within timing noise (" << line_time(kCompareNoise)
      << "), " << differs << " differ" << (options.time_scale != 1.0 ? " (time-scale " + std::to_string(options.time_scale) + " on both)" : "")
      << "\n";
  result.table = out.str();
  result.exit_code = differs == 0 ? kExitOk : kExitFailed;
  return result;
}

int command_live_compare(const Scenario& scenario, const LiveOptions& options, std::ostream& out, std::ostream& err) {
  const CompareResult r = compare_live(scenario, options, err);
  out << r.table;
  return r.exit_code;
}

}  // namespace fl::harness
