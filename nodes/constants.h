// Every constant of the cluster core, named once, with where it comes from.
// "REFERENCE.md" values were read from the open-source server's code; "seed"
// values are the seed document's words; "model" values are choices of this model
// where neither says (each overridable through the spec where a user would vary it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/time.h"
#include "base/version.h"

namespace fl::k {

// ---- start-up (REFERENCE.md, Schema migrations) ----
inline constexpr std::uint32_t kDbConnectAttempts = 5;        // pings before the server exits
inline constexpr Duration kDbConnectTimeout = seconds(10);    // per ping
inline constexpr Duration kDbConnectRetryInterval = seconds(10);
inline constexpr Duration kRestartDelay = seconds(5);         // seed: "a restart takes about five seconds"
inline constexpr Duration kMigrationTimeDefault = seconds(20);  // MODEL.md default; seed: "up to 30 seconds"
inline constexpr std::uint32_t kMaxMinorSkew = 1;             // seed: one minor version difference supported

// ---- the migration lock (REFERENCE.md: morph's db_lock) ----
inline constexpr std::string_view kMigrationLockKey = "mm-lock-key";
inline constexpr Duration kLockTtl = seconds(15);
inline constexpr Duration kLockRefreshInterval = milliseconds(7500);
inline constexpr Duration kLockBackoffInitial = seconds(2);
inline constexpr Duration kLockBackoffMax = minutes(5);
inline constexpr Duration kLockBackoffJitter = milliseconds(250);  // subtracted, up to

// ---- cluster discovery (REFERENCE.md, Cluster discovery) ----
inline constexpr std::string_view kDiscoveryType = "mattermost_app";
inline constexpr std::uint16_t kGossipPort = 8074;            // seed
inline constexpr Duration kDiscoveryRefreshInterval = seconds(60);
inline constexpr Duration kDiscoveryStaleAfter = minutes(30);
// The name an empty ClusterSettings.ClusterName gets (mattermost/mattermost#17762
// gave the local HA cluster "a generic name"; the name itself is an assumption:
// any non-empty name shared by the servers works).
inline constexpr std::string_view kDefaultClusterName = "mattermost_cluster";

// ---- gossip and the 15-second rule (seed: "Server is down") ----
inline constexpr Duration kGossipRetryInterval = seconds(15);  // the second attempt
inline constexpr std::uint32_t kGossipFailuresForDown = 2;
inline constexpr Duration kGossipProbeInterval = seconds(15);  // pings to a down peer
// model: the closed transport's heartbeat period is not published; 5 s keeps
// peer information fresh well inside the 15-s rule.
inline constexpr Duration kGossipPingInterval = seconds(5);
// model: a TCP connection breaks all messages in flight on it: reliable
// messages sent within this window before a failure are resent with the retry.
inline constexpr Duration kReliableInflightWindow = seconds(5);
inline constexpr std::size_t kReliableOutboxMax = 256;
// assumption: the gossip transport's request timeout. A send (or probe) that no
// answer follows within it has failed, like a refused one (MODEL.md, App server:
// a frozen peer or a black-holed link is marked down by the 15-s rule). The
// real transport is closed (REFERENCE.md, Inter-node messages); 10 s is
// hashicorp/memberlist's default TCPTimeout (DefaultLANConfig), the library such
// gossip transports are commonly built on. docs/model.md lists it.
inline constexpr Duration kGossipRequestTimeout = seconds(10);

// ---- bully election (seed: Leader election; timeouts are model choices) ----
inline constexpr Duration kElectionAnswerTimeout = seconds(5);   // > one connect timeout (3 s)
inline constexpr Duration kCoordinatorTimeout = seconds(10);     // after an ANSWER
// model: how long a freshly serving server listens to gossip before electing.
inline constexpr Duration kElectionStartDelay = seconds(1);
// model: a winner starts acting as leader this long after announcing
// COORDINATOR, so that a clean handover (the old leader hears the announcement
// within a round trip) has no overlap; a partitioned old leader never hears it,
// so split brain stays real.
inline constexpr Duration kLeaderTakeoverDelay = seconds(2);

// ---- db_lease election (model: the safe variant's parameters) ----
inline constexpr std::string_view kLeaderLeaseName = "cluster-leader";
inline constexpr Duration kLeaseTtl = seconds(30);
inline constexpr Duration kLeaseRenewInterval = seconds(10);
// model: the leader stops acting this long before its lease could have expired
// at the database, judged on its monotonic clock from the send of the renewal
// that was confirmed (MODEL.md, Leader election). It absorbs the leader's clock
// running slow against the database's (a drift down to -1/6, far beyond real
// oscillators' +-100 ppm) and leaves the database's own clock untouched.
inline constexpr Duration kLeaseSafetyMargin = seconds(5);

// ---- jobs (REFERENCE.md, Leader and jobs) ----
inline constexpr Duration kSchedulerTick = seconds(60);
inline constexpr Duration kScheduleJitter = seconds(2);         // [0, 2 s)
inline constexpr Duration kWatcherInterval = seconds(15);       // first poll in [0, 15 s)
inline constexpr std::uint32_t kStoreRetries = 3;               // serialization failure / deadlock
// config.json JobSettings.RunScheduler (default true): read once at process
// start (app/server.go: `if *cfg.JobSettings.RunScheduler { Jobs.StartSchedulers() }`);
// a server with it false runs no scheduler even as cluster leader (mattermost/docs#3845).
inline constexpr std::string_view kRunSchedulerKey = "JobSettings.RunScheduler";

// ---- database routing (REFERENCE.md, Database routing) ----
inline constexpr Duration kReplicaReprobeInterval = seconds(5);
inline constexpr Duration kQueryTimeout = seconds(30);
inline constexpr Duration kRecycleWait = seconds(12);           // manual failover's recycle

// ---- sessions (REFERENCE.md, Sessions and caches) ----
inline constexpr Duration kSessionCacheTtl = minutes(10);

// ---- simulated PostgreSQL (model) ----
// How long a SERIALIZABLE create-once transaction stays open between its read
// and its commit: two that overlap for the same job type conflict.
inline constexpr Duration kSerializableTxnTime = milliseconds(5);
// PostgreSQL's wal_receiver_status_interval default.
inline constexpr Duration kWalStatusInterval = seconds(10);
// model: how often the failover controller pings the primary (RDS-like).
inline constexpr Duration kFailoverPingInterval = seconds(5);
inline constexpr Duration kFailoverDetectionDefault = seconds(30);  // SCENARIOS.md example

// ---- the edge: websockets (REFERENCE.md, Websockets) ----
inline constexpr Duration kWsReconnectMin = seconds(3);        // MIN_WEBSOCKET_RETRY_TIME
inline constexpr Duration kWsReconnectJitter = seconds(2);     // JITTER_RANGE, [0, 2 s)
inline constexpr std::uint32_t kWsFailuresBeforeBackoff = 7;   // MAX_WEBSOCKET_FAILS
inline constexpr Duration kWsReconnectMax = minutes(5);        // MAX_WEBSOCKET_RETRY_TIME
inline constexpr std::size_t kWsSendQueueSize = 256;           // per connection
inline constexpr std::size_t kWsReplayBufferSize = 128;        // the "dead queue"
inline constexpr Duration kWsInactiveReap = minutes(5);        // from the last activity
// MM-61904 (mattermost/mattermost#29489, merged January 2025): from this version
// on, a server asks the others for the queues of a connection it does not hold.
// An assumption: 10.6 is the first minor released wholly after the merge (it
// may have shipped in 10.5). The request waits kGossipRequestTimeout.
inline constexpr Version kWsQueueFetchSince{10, 6, 0};
// The keep-alive period. REFERENCE.md gives the server's ping as 60 s; the model
// sends it from the client through the proxy, which is how a client whose proxy
// forgot it (a proxy restart) learns that its websocket is gone.
inline constexpr Duration kWsPingInterval = seconds(60);
// REFERENCE.md (web_conn.go): a connection that has not answered for this long
// is dead. The model's keep-alive runs client -> server, so the server closes a
// connection it has heard nothing from (open, resume or ping) for this long,
// judged on its monotonic clock: a frozen or cut-off client no longer holds a
// live connection for ever (issue 8).
inline constexpr Duration kWsPongTimeout = seconds(100);

// ---- the edge: clients (model choices where the web app has no number) ----
// model: how long the client waits for an answer to a REST call. The browser
// sets no deadline; the server's own query timeout (30 s) bounds its answer.
inline constexpr Duration kClientRequestTimeout = seconds(30);
// model: a failed post is retried (the web app's "retry" on a failed post) after this.
inline constexpr Duration kPostRetryWait = seconds(5);
// A user logged out by a revoked session logs in again after this long (an
// assumption: a person typing a password; issue 14, MM-68543).
inline constexpr Duration kClientReloginDelay = seconds(10);
// model: after this many requests failing in a row as "unsupported", the user
// reloads the page (the seed: "Messages do not post until after reloading").
inline constexpr std::uint32_t kReloadAfterFailures = 3;

// ---- the edge: proxy (NGINX) ----
inline constexpr Duration kHealthCheckIntervalDefault = seconds(5);  // SCENARIOS.md; NGINX health_check interval=5
// NGINX proxy_read_timeout default: a request the upstream has not answered is
// given up after this (the proxy forgets it).
inline constexpr Duration kProxyReadTimeout = seconds(60);

// ---- the edge: operator (model: an operator's hand) ----
inline constexpr Duration kOperatorStepPause = seconds(2);      // between two commands
inline constexpr Duration kOperatorPollInterval = seconds(1);   // pinging a server it waits for
inline constexpr Duration kOperatorWaitMax = minutes(10);       // gives up a runbook after this

}  // namespace fl::k
