// DbRouter (see pg_async.h).
#include "live/pg_async.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "base/assert.h"
#include "live/pg_session.h"

namespace fl::live {

namespace asio = boost::asio;

DbRouter::DbRouter(asio::io_context& io, std::map<NodeId, std::string> members, NodeId endpoint, std::int64_t epoch_ns,
                   std::function<void(const std::string&)> log)
    : io_(io), endpoint_(endpoint), epoch_ns_(epoch_ns), log_(std::move(log)) {
  for (auto& [member, conninfo] : members) pools_[member].conninfo = std::move(conninfo);
}

DbRouter::~DbRouter() = default;

void DbRouter::set_endpoint(NodeId member) {
  if (member == endpoint_) return;
  log_("database endpoint -> member " + std::to_string(member.value));
  endpoint_ = member;
}

void DbRouter::when_idle(std::function<void()> f) {
  if (in_flight_ == 0) {
    asio::post(io_, std::move(f));
    return;
  }
  on_idle_ = std::move(f);
}

void DbRouter::submit(RequestId id, DbRequest request, Answer answer) {
  ++in_flight_;
  const NodeId member = request.target.endpoint ? endpoint_ : request.target.node;
  auto it = pools_.find(member);
  if (it == pools_.end()) {
    // No such server live: as a host nobody listens on.
    asio::post(io_, [this, id, request = std::move(request), answer = std::move(answer)] {
      DbReply reply;
      reply.status = DbStatus::connection_refused;
      answer(id, request, reply);
      finished();
    });
    return;
  }
  Pool& pool = it->second;
  Job job{id, std::move(request), std::move(answer)};
  if (!pool.idle.empty()) {
    PgSession* s = pool.idle.back();
    pool.idle.pop_back();
    start(member, s, std::move(job));
  } else if (pool.sessions.size() < kLiveDbPoolSize) {
    pool.sessions.push_back(std::make_unique<PgSession>(io_.get_executor(), pool.conninfo, epoch_ns_));
    start(member, pool.sessions.back().get(), std::move(job));
  } else {
    pool.waiting.push_back(std::move(job));
  }
}

void DbRouter::start(NodeId member, PgSession* session, Job job) {
  // The coroutine holds only raw pointers: the sessions belong to the pool,
  // so a frame dropped at shutdown frees nothing twice.
  asio::co_spawn(
      io_,
      [this, member, session, job = std::move(job)]() mutable -> asio::awaitable<void> {
        for (;;) {
          const DbReply reply = co_await session->execute(job.request.op);
          if (!reply.ok() && reply.status != DbStatus::conflict)
            log_("database (member " + std::to_string(member.value) + "): " + session->last_error());
          job.answer(job.id, job.request, reply);
          finished();
          Pool& pool = pools_.at(member);
          if (pool.waiting.empty()) {
            pool.idle.push_back(session);
            co_return;
          }
          job = std::move(pool.waiting.front());
          pool.waiting.pop_front();
        }
      },
      asio::detached);
}

void DbRouter::finished() {
  FL_ASSERT(in_flight_ > 0);
  if (--in_flight_ == 0 && on_idle_) {
    auto f = std::move(on_idle_);
    on_idle_ = nullptr;
    f();
  }
}

}  // namespace fl::live
