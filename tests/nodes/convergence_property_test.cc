// Properties over random fault schedules (RapidCheck): whatever partitions,
// crashes and clock skews hit the servers, (1) no peer is ever marked down
// before its second failed attempt, and (2) once every fault is healed and the
// crashed are restarted, the cluster converges on one leader, app1, within two
// minutes (the seed's bully rule; MODEL.md leader_liveness).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "tests/support/cluster_dsl.h"

namespace fl::test {
namespace {

struct Step {
  int kind = 0;        // 0 partition, 1 crash, 2 restart, 3 skew, 4 heal
  int a = 0, b = 0;    // servers (0-based)
  int seconds = 0;     // how long until the next step
};

std::string app(int i) { return "app" + std::to_string(i + 1); }

RC_GTEST_PROP(Convergence, RandomFaultsThenHealConvergeOnApp1, ()) {
  const auto steps = *rc::gen::container<std::vector<Step>>(
      *rc::gen::inRange<std::size_t>(1, 6), rc::gen::build<Step>(rc::gen::set(&Step::kind, rc::gen::inRange(0, 5)),
                                                                   rc::gen::set(&Step::a, rc::gen::inRange(0, 3)),
                                                                   rc::gen::set(&Step::b, rc::gen::inRange(0, 3)),
                                                                   rc::gen::set(&Step::seconds, rc::gen::inRange(1, 90))));
  const auto seed = *rc::gen::inRange<std::uint64_t>(1, 1000);
  TestCluster c({.app_servers = 3, .seed = seed});
  c.run_for(minutes(1));
  for (const Step& s : steps) {
    switch (s.kind) {
      case 0: {
        std::vector<std::string> one{app(s.a)}, rest;
        for (int i = 0; i < 3; ++i) if (i != s.a) rest.push_back(app(i));
        c.partition(one, rest);
        break;
      }
      case 1: c.crash(app(s.a)); break;
      case 2: if (!c.sim().running(c.id(app(s.a)))) c.start_node(app(s.a)); break;
      case 3: c.skew(app(s.a), seconds(s.b * 10 - 10)); break;
      case 4: c.heal(); break;
    }
    c.run_for(seconds(s.seconds));
  }
  // Settle: heal, restart the crashed, clocks back.
  c.heal();
  for (int i = 0; i < 3; ++i) {
    c.skew(app(i), Duration{0});
    if (!c.sim().running(c.id(app(i)))) c.start_node(app(i));
  }
  c.run_for(minutes(2));
  for (auto& d : c.events<PeerDown>()) RC_ASSERT(d.event.failed_attempts >= 2u);
  RC_ASSERT(c.leaders() == names({"app1"}));
}

}  // namespace
}  // namespace fl::test

namespace fl::test {
namespace {

// db_lease keeps one leader at every instant through partitions (servers and
// database alike) and crashes: the lease's expiry is judged by the database,
// and a leader stops acting before the database could hand the lease on.
RC_GTEST_PROP(Convergence, DbLeaseNeverHasTwoLeaders, ()) {
  const auto steps = *rc::gen::container<std::vector<Step>>(
      *rc::gen::inRange<std::size_t>(1, 6), rc::gen::build<Step>(rc::gen::set(&Step::kind, rc::gen::inRange(0, 5)),
                                                                   rc::gen::set(&Step::a, rc::gen::inRange(0, 4)),
                                                                   rc::gen::set(&Step::b, rc::gen::inRange(0, 3)),
                                                                   rc::gen::set(&Step::seconds, rc::gen::inRange(1, 90))));
  const auto seed = *rc::gen::inRange<std::uint64_t>(1, 1000);
  TestCluster c({.app_servers = 3, .seed = seed, .tweak = [](ClusterSpec& s) {
                   s.leader_election = LeaderElection::db_lease;
                 }});
  c.run_for(minutes(1));
  const Time faults_from = c.now();
  for (const Step& s : steps) {
    switch (s.kind) {
      case 0: {
        // a = 3 cuts the database (and its controller) off from everyone.
        std::vector<std::string> one, rest;
        if (s.a == 3) {
          one = {"db-primary", "db-replica1", "db-replica2", "db-failover"};
          rest = {"app1", "app2", "app3"};
        } else {
          one = {app(s.a)};
          for (int i = 0; i < 3; ++i) if (i != s.a) rest.push_back(app(i));
        }
        c.partition(one, rest);
        break;
      }
      case 1: if (s.a < 3) c.crash(app(s.a)); break;
      case 2: if (s.a < 3 && !c.sim().running(c.id(app(s.a)))) c.start_node(app(s.a)); break;
      case 3: if (s.a < 3) c.skew(app(s.a), seconds(s.b * 10 - 10)); break;  // offsets only: no drift
      case 4: c.heal(); break;
    }
    c.run_for(seconds(s.seconds));
  }
  c.heal();
  for (int i = 0; i < 3; ++i) if (!c.sim().running(c.id(app(i)))) c.start_node(app(i));
  c.run_for(minutes(2));
  RC_ASSERT(c.max_simultaneous_leaders(faults_from, kTimeMax) <= 1u);
  RC_ASSERT(c.leaders().size() == 1u);
}

}  // namespace
}  // namespace fl::test
