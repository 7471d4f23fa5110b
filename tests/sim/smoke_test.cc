#include <gtest/gtest.h>

#include "sim/simulation.h"
#include "tests/sim/test_nodes.h"

namespace fl::sim {
namespace {
using namespace testing;

TEST(SimSmoke, MessageArrivesAfterLatency) {
  Simulation sim(1);
  Log la, lb;
  const NodeId a = sim.add_node("a", recorder(sim, la, {.on_start = [](Env& env) { env.send(NodeId{1}, heartbeat(7)); }}));
  const NodeId b = sim.add_node("b", recorder(sim, lb));
  sim.set_default_link(LinkConfig{{milliseconds(5), milliseconds(5)}});
  sim.start(b);
  sim.start(a);
  sim.run_until(time_from_ns(0) + seconds(1));
  const auto got = lb.of(Input::Kind::message);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, 7u);
  EXPECT_EQ(got[0].peer, a);
  EXPECT_EQ(got[0].virtual_at, time_from_ns(0) + milliseconds(5));
}

}  // namespace
}  // namespace fl::sim
