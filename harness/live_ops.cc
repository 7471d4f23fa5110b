// The live operator (see live_ops.h).
#include "harness/live_ops.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "base/assert.h"
#include "base/env.h"
#include "nodes/operator.h"

namespace fl::harness {

namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The proxy and the database replicas are not run live; the operator's file
// still names the proxy (its runbooks route it), at an id no process has.
constexpr const char* kProxy = "proxy";

}  // namespace

int http_ping_status(std::uint16_t port, bool with_status, int timeout_ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  const std::int64_t deadline = steady_ns() + std::int64_t(timeout_ms) * 1'000'000;
  auto left_ms = [&] { return static_cast<int>(std::max<std::int64_t>(0, (deadline - steady_ns()) / 1'000'000)); };
  auto wait = [&](short events) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, left_ms());
    return n > 0 ? p.revents : 0;
  };
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  int status = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return 0;  // refused at once: no listener
    }
    const short r = wait(POLLOUT);
    int error = 0;
    socklen_t len = sizeof error;
    if (r == 0) {
      ::close(fd);
      return -1;
    }
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
      ::close(fd);
      return 0;
    }
  }
  const std::string request = std::string("GET /api/v4/system/ping") + (with_status ? "?get_server_status=true" : "") +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!(wait(POLLOUT) & POLLOUT)) break;
    } else {
      break;
    }
  }
  std::string answer;
  if (sent == request.size()) {
    status = -1;
    // The status line is all that is read: "HTTP/1.1 200 OK".
    while (answer.find("\r\n") == std::string::npos) {
      char buf[256];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        answer.append(buf, static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!(wait(POLLIN) & (POLLIN | POLLHUP | POLLERR))) break;  // no answer in time
      } else {
        status = 0;  // closed or reset without an answer
        break;
      }
    }
    if (answer.rfind("HTTP/1.", 0) == 0 && answer.size() >= 12) status = std::atoi(answer.c_str() + 9);
  }
  ::close(fd);
  return status;
}

struct LiveOperator::Impl final : Env {
  Impl(const ClusterSpec& spec, std::vector<std::string> names_, NodeId self_, double time_scale, LiveHands hands_,
       std::uint64_t seed)
      : names(std::move(names_)), me(self_), hands(std::move(hands_)), rng_(seed) {
    auto file = std::make_shared<ClusterSpec>(spec);
    app_servers = static_cast<std::uint32_t>(file->servers.size());
    for (auto& a : file->operator_.actions)
      a.at = Duration{static_cast<std::int64_t>(static_cast<double>(a.at.count()) * time_scale)};
    // The proxy is named in the operator's file (its runbooks route it) at an
    // id past every node's: its commands are skipped.
    proxy = NodeId{static_cast<std::uint32_t>(names.size())};
    file->directory[kProxy] = proxy;
    file->proxy.node = proxy;
    file->operator_.node = me;
    op = std::make_unique<Operator>(file);
    worker = std::thread([this] { work(); });
  }
  ~Impl() override {
    {
      std::lock_guard lock(mutex);
      quit = true;
    }
    cv.notify_one();
    worker.join();
  }

  // ---- Env (the operator's) ----
  NodeId self() const override { return me; }
  Time now() override { return hands.now(); }
  Time monotonic() override { return time_from_ns(steady_ns()); }
  TimerId after(Duration d, TimerTag tag) override {
    const TimerId id{++next_timer};
    timers[id.value] = Timer{steady_ns() + d.count(), tag};
    return id;
  }
  void cancel(TimerId id) override { timers.erase(id.value); }
  void send(NodeId to, const Message& message) override {
    const auto* ping = message.get<HealthPing>();
    if (ping == nullptr || !is_server(to)) {
      // The operator sends nothing else; a ping to a node not run live fails.
      failed.push_back({to, message});
      return;
    }
    {
      std::lock_guard lock(mutex);
      requests.push_back(Request{to, *ping, hands.http_port(to)});
    }
    cv.notify_one();
  }
  RequestId db(const DbRequest&) override {
    FL_ASSERT_MSG(false, "the operator makes no database requests");
    FL_UNREACHABLE();
  }
  void db_reply(NodeId, RequestId, const DbReply&) override { FL_ASSERT_MSG(false, "the operator is no database"); }
  void set_db_endpoint(NodeId) override { FL_ASSERT_MSG(false, "the operator moves no endpoint"); }
  void control(NodeId target, const ControlOp& c) override;
  Rng& rng() override { return rng_; }
  void emit(EventBody event) override {
    if (const auto* s = std::get_if<OperatorStep>(&event)) last_step = *s;
    hands.emit(me, std::move(event));
  }

  bool is_server(NodeId n) const { return n.value < app_servers; }
  // The command being carried out, by its step's name (the OperatorStep the
  // operator emitted just before it): "rolling_upgrade: proxy_route app2,app3".
  std::string step_text() const {
    return (last_step.runbook.empty() ? std::string("step") : last_step.runbook) + ": " + last_step.step +
           (last_step.detail.empty() ? "" : " " + last_step.detail);
  }
  void skip(NodeId target, const std::string& why) {
    const std::string who = target.value < names.size() ? names[target.value] : target == proxy ? kProxy : "node";
    hands.skip("operation " + step_text() + " (on " + who + "): " + why);
  }
  void poll();
  void work();

  struct Timer {
    std::int64_t due_ns = 0;
    TimerTag tag;
  };
  struct Request {
    NodeId to;
    HealthPing ping;
    std::uint16_t port = 0;
  };
  struct Answer {
    NodeId to;
    HealthPing ping;
    int status = 0;
  };

  std::vector<std::string> names;
  NodeId me;
  NodeId proxy;
  std::uint32_t app_servers = 0;
  LiveHands hands;
  Rng rng_;
  std::unique_ptr<Operator> op;
  OperatorStep last_step;
  std::uint64_t next_timer = 0;
  std::map<std::uint64_t, Timer> timers;
  std::vector<std::pair<NodeId, Message>> failed;  // sends to nodes not run live
  std::map<std::string, std::vector<std::string>> files;  // server -> "KEY=VALUE" edits

  std::mutex mutex;
  std::condition_variable cv;
  bool quit = false;
  std::deque<Request> requests;
  std::vector<Answer> answers;
  std::thread worker;
};

void LiveOperator::Impl::control(NodeId target, const ControlOp& c) {
  if (!is_server(target)) {
    skip(target, target == proxy ? "the live proxy takes no operator commands yet (docs/live.md)"
                                 : "live, the operator drives the app servers only (docs/live.md)");
    return;
  }
  switch (c.kind) {
    case ControlOp::Kind::stop: hands.stop(target); return;
    case ControlOp::Kind::start: hands.start(target); return;
    case ControlOp::Kind::restart:
      // systemctl restart: a graceful stop, then a start at once.
      hands.stop(target);
      hands.start(target);
      return;
    case ControlOp::Kind::crash: hands.crash(target); return;
    case ControlOp::Kind::set_spec: break;
  }
  const bool file = c.key == "version" || c.key.rfind("config.", 0) == 0 || c.key == "plugin";
  const bool input = c.key == "reload_config" || c.key == "recycle_connections";
  if (!file && !input) {
    skip(target, c.key == "datasource" ? "live mode runs the primary only: no other DataSource (docs/live.md)"
                                       : "no clients run live: " + c.key + " has nobody to act on (docs/live.md)");
    return;
  }
  if (file) files[names[target.value]].push_back(c.key + "=" + c.value);
  // Written to the running process's files too, and heard by its node (the
  // simulator's spec hook, then on_control).
  if (hands.running(target)) hands.send_line(target, "spec " + c.key + (c.value.empty() ? "" : " " + c.value));
}

void LiveOperator::Impl::work() {
  std::unique_lock lock(mutex);
  while (true) {
    cv.wait(lock, [this] { return quit || !requests.empty(); });
    if (quit) return;
    const Request r = requests.front();
    requests.pop_front();
    lock.unlock();
    // Under the operator's poll interval (1 s): a frozen server's ping ends
    // before the next one is due.
    const int status = r.port == 0 ? 0 : http_ping_status(r.port, r.ping.with_status, 900);
    lock.lock();
    answers.push_back(Answer{r.to, r.ping, status});
  }
}

void LiveOperator::Impl::poll() {
  // Timers due, earliest first (a command may add more: loop until none is due).
  while (true) {
    const std::int64_t now_ns = steady_ns();
    auto due = timers.end();
    for (auto it = timers.begin(); it != timers.end(); ++it)
      if (it->second.due_ns <= now_ns && (due == timers.end() || it->second.due_ns < due->second.due_ns)) due = it;
    if (due == timers.end()) break;
    const TimerId id{due->first};
    const TimerTag tag = due->second.tag;
    timers.erase(due);
    op->on_timer(*this, id, tag);
  }
  std::vector<Answer> got;
  {
    std::lock_guard lock(mutex);
    got.swap(answers);
  }
  for (const Answer& a : got) {
    if (a.status > 0) {
      HealthPong pong;
      pong.seq = a.ping.seq;
      pong.status = static_cast<std::uint16_t>(a.status);
      op->on_message(*this, a.to, Message{pong});
    } else {
      op->on_send_failed(*this, a.to, Message{a.ping});
    }
  }
  auto refused = std::move(failed);
  failed.clear();
  for (const auto& [to, m] : refused) op->on_send_failed(*this, to, m);
}

LiveOperator::LiveOperator(const ClusterSpec& spec, std::vector<std::string> names, NodeId self, double time_scale,
                           LiveHands hands, std::uint64_t seed)
    : impl_(std::make_unique<Impl>(spec, std::move(names), self, time_scale, std::move(hands), seed)) {}

LiveOperator::~LiveOperator() = default;

void LiveOperator::start() {
  impl_->hands.emit(impl_->me, ProcessStarted{});
  impl_->op->on_start(*impl_);
}

void LiveOperator::poll() { impl_->poll(); }

std::size_t LiveOperator::running() const { return impl_->op->running(); }

std::vector<std::string> LiveOperator::files_of(const std::string& server) const {
  const auto it = impl_->files.find(server);
  return it == impl_->files.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace fl::harness
