// The node runtime's database (live/node_runtime.cc): a pool of non-blocking
// sessions (live/pg_session.h) per database member, on the node's io_context,
// and the routing of each DbRequest by its DbTarget: a named member, or the
// cluster endpoint, which the harness moves at a failover (the control line
// `endpoint ID`), as a managed database's DNS name moves.
//
// What it keeps true:
//  - An answer never comes back inside submit(): it is posted (Env's rule: no
//    call back into the node re-entrantly).
//  - A slow query holds only its own session: the next request to the member
//    takes another (up to kLiveDbPoolSize, then it waits for one), so the
//    node's other requests go on, as with the real server's pool
//    (database/sql) and as the simulated database answers.
//  - A request to a member live mode does not run answers connection_refused,
//    as a host nobody listens on.
#pragma once

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without it under C++20.
#include <utility>

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/db.h"
#include "base/ids.h"

namespace fl::live {

class PgSession;

// Sessions per member per node. Mattermost's pool (SqlSettings.MaxOpenConns)
// is far larger; 4 keeps three nodes' pools to three members inside the
// servers' max_connections (live/postgres.cc) with room for the harness.
inline constexpr std::size_t kLiveDbPoolSize = 4;

class DbRouter {
 public:
  using Answer = std::function<void(RequestId, const DbRequest&, const DbReply&)>;
  DbRouter(boost::asio::io_context& io, std::map<NodeId, std::string> members, NodeId endpoint, std::int64_t epoch_ns,
           std::function<void(const std::string&)> log);
  ~DbRouter();
  DbRouter(const DbRouter&) = delete;
  DbRouter& operator=(const DbRouter&) = delete;

  void submit(RequestId id, DbRequest request, Answer answer);
  // The cluster endpoint now leads to `member` (requests already sent finish
  // where they went).
  void set_endpoint(NodeId member);
  NodeId endpoint() const { return endpoint_; }
  // Requests submitted and not yet answered.
  std::size_t in_flight() const { return in_flight_; }
  // Called once when nothing is in flight (at once if nothing is).
  void when_idle(std::function<void()> f);

 private:
  struct Job {
    RequestId id;
    DbRequest request;
    Answer answer;
  };
  struct Pool {
    std::string conninfo;
    std::vector<std::unique_ptr<PgSession>> sessions;  // every one opened
    std::vector<PgSession*> idle;
    std::deque<Job> waiting;
  };
  void start(NodeId member, PgSession* session, Job job);
  void finished();

  boost::asio::io_context& io_;
  std::map<NodeId, Pool> pools_;
  NodeId endpoint_;
  std::int64_t epoch_ns_;
  std::function<void(const std::string&)> log_;
  std::size_t in_flight_ = 0;
  std::function<void()> on_idle_;
};

}  // namespace fl::live
