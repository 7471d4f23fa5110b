// The operator of `faultline live` ([[operations]]; docs/live.md, Operations):
// the simulator's Operator node (nodes/operator.*), unchanged, run by the
// harness on an Env of its own. Its runbooks and steps are the same programs;
// what differs is the hand that carries out each command:
//  - stop / start / restart / crash of an app server: the harness's process
//    control (a graceful "stop" on the node's control pipe and the process's
//    exit; a new `faultline live-node` process; kill -9);
//  - set_spec on an app server (the machine's files): "version", "config.<Key>"
//    and "plugin" are recorded as that machine's files (a new process of it
//    starts with them: live-node --spec KEY=VALUE) and sent to a running one on
//    its control pipe ("spec KEY VALUE"); "reload_config" and
//    "recycle_connections" are sent to a running one only;
//  - waiting for a server (wait_serving): the operator's HealthPing is a real
//    GET /api/v4/system/ping on the server's HTTP port (the seed: the operator
//    hits each server directly); 200 or 500 is its HealthPong, a refused or
//    failed connection its on_send_failed.
// A command live mode cannot carry out (the proxy, database replicas, clients'
// sessions and channels: not run live) is reported as skipped, by its step's
// name, never silently dropped.
//
// What it keeps true:
//  - The Operator's inputs run on the caller's thread only (poll()), never
//    concurrently: the HTTP requests run on a worker thread whose answers
//    poll() hands over.
//  - The operator's own timers (the pause between commands, the poll of a
//    server it waits for) are real time and not scaled by --time-scale; the
//    actions' `at` are (as the faults' are).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/history.h"
#include "base/ids.h"
#include "base/time.h"
#include "nodes/spec.h"

namespace fl::harness {

// What the operator's hand does on this machine: the harness carries it out.
struct LiveHands {
  std::function<Time()> now;                                     // the run's clock
  std::function<void(NodeId, EventBody)> emit;                   // into the harness's history
  std::function<bool(NodeId)> running;                           // the server's process runs
  std::function<void(NodeId)> stop;                              // systemctl stop (graceful)
  std::function<void(NodeId)> start;                             // systemctl start (its files as they are)
  std::function<void(NodeId)> crash;                             // kill -9
  std::function<void(NodeId, const std::string&)> send_line;     // a control line to a running server
  std::function<std::uint16_t(NodeId)> http_port;                // the server's HTTP port
  std::function<void(const std::string&)> skip;                  // a command live mode cannot do, named
};

// The HTTP answer of GET http://127.0.0.1:PORT/api/v4/system/ping: its status
// (200, 500, ...), or 0 when the connection was refused or failed and -1 when
// no answer came within `timeout_ms`.
int http_ping_status(std::uint16_t port, bool with_status, int timeout_ms);

class LiveOperator {
 public:
  // `spec`: the cluster as live runs it (harness/live_run.cc's layout: app
  // servers, the primary, the operator at `self`); `names` by NodeId. The
  // operator's actions' `at` are multiplied by `time_scale`.
  LiveOperator(const ClusterSpec& spec, std::vector<std::string> names, NodeId self, double time_scale,
               LiveHands hands, std::uint64_t seed);
  ~LiveOperator();
  LiveOperator(const LiveOperator&) = delete;
  LiveOperator& operator=(const LiveOperator&) = delete;

  // The operator's start (its ProcessStarted and on_start): with the run.
  void start();
  // Runs the timers that are due and hands over the HTTP answers that came.
  // Call it often (the harness: every 20 ms).
  void poll();
  // Programs still running (runbooks or steps begun and not finished).
  std::size_t running() const;
  // The edits of `server`'s machine files so far, "KEY=VALUE", in order: what
  // a new process of it starts with (live-node --spec).
  std::vector<std::string> files_of(const std::string& server) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::harness
