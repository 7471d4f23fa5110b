// The event queue against the plainest model of its contract: a sorted list of
// (at, key). Runs, the time cache and the run heap are the queue's own business;
// whatever mix of pushes and pops, it must pop exactly what the model pops.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <vector>

#include "sim/event_queue.h"

namespace fl::sim {
namespace {

bool model_before(const Event& a, const Event& b) { return a.at < b.at || (a.at == b.at && a.key < b.key); }

// Checks one interleaving. `spread` bounds how far ahead of now a push lands:
// small spreads make long runs at few instants, large ones make more distinct
// instants than the time cache has slots (so runs of one time get split).
void check_against_model(const std::vector<std::pair<bool, std::int64_t>>& ops) {
  EventQueue queue;
  std::vector<Event> model;
  std::int64_t now = 0;
  std::uint64_t seq = 1;
  for (const auto& [is_push, delta] : ops) {
    if (is_push || model.empty()) {
      const Event e{now + delta, (seq << 8) | static_cast<std::uint64_t>(seq % 9), static_cast<std::uint32_t>(seq),
                    static_cast<std::uint32_t>(seq * 7)};
      ++seq;
      queue.push(e);
      model.push_back(e);
    } else {
      const auto it = std::min_element(model.begin(), model.end(), model_before);
      RC_ASSERT(!queue.empty());
      const Event got = queue.top();
      RC_ASSERT(got.at == it->at);
      RC_ASSERT(got.key == it->key);
      RC_ASSERT(got.node == it->node);
      RC_ASSERT(got.index == it->index);
      queue.pop();
      now = got.at;  // pushes never go into the past, as in the engine
      model.erase(it);
    }
    RC_ASSERT(queue.size() == model.size());
    RC_ASSERT(queue.empty() == model.empty());
  }
  while (!model.empty()) {
    const auto it = std::min_element(model.begin(), model.end(), model_before);
    RC_ASSERT(queue.top().key == it->key);
    queue.pop();
    model.erase(it);
  }
  RC_ASSERT(queue.empty());
}

RC_GTEST_PROP(EventQueueProp, PopsInTimeThenInsertionOrderFewInstants, ()) {
  const auto ops = *rc::gen::container<std::vector<std::pair<bool, std::int64_t>>>(
      rc::gen::pair(rc::gen::arbitrary<bool>(), rc::gen::inRange<std::int64_t>(0, 4)));
  check_against_model(ops);
}

RC_GTEST_PROP(EventQueueProp, PopsInTimeThenInsertionOrderManyInstants, ()) {
  const auto ops = *rc::gen::container<std::vector<std::pair<bool, std::int64_t>>>(
      rc::gen::pair(rc::gen::weightedOneOf<bool>({{3, rc::gen::just(true)}, {1, rc::gen::just(false)}}),
                    rc::gen::inRange<std::int64_t>(0, 400)));
  check_against_model(ops);
}

// Pushes on both sides of the near heap's span (and at its edge), with ties:
// runs in the near and the far heap must interleave in exactly the model's
// order, whichever heap each landed in.
RC_GTEST_PROP(EventQueueProp, PopsInTimeThenInsertionOrderAcrossNearAndFar, ()) {
  constexpr std::int64_t kSpan = EventQueue::kNearSpan;
  const auto ops = *rc::gen::container<std::vector<std::pair<bool, std::int64_t>>>(
      rc::gen::pair(rc::gen::arbitrary<bool>(),
                    rc::gen::oneOf(rc::gen::inRange<std::int64_t>(0, 3),
                                   rc::gen::inRange<std::int64_t>(kSpan - 2, kSpan + 2),
                                   rc::gen::element<std::int64_t>(kSpan / 2, kSpan, 2 * kSpan, 3 * kSpan),
                                   rc::gen::inRange<std::int64_t>(0, 4 * kSpan))));
  check_against_model(ops);
}

// Many instants pending at once (more than the time cache holds), each
// revisited later: pushes to an evicted instant open a second run of that
// time, which must still pop after the first run's events.
TEST(EventQueue, RunsOfOneTimeSplitByCacheEvictionKeepInsertionOrder) {
  EventQueue queue;
  std::uint64_t seq = 1;
  constexpr std::int64_t kInstants = 1000;
  for (int round = 0; round < 3; ++round) {
    for (std::int64_t t = 0; t < kInstants; ++t) queue.push(Event{t * 1'000'000, seq++ << 8, 0, 0});
  }
  EXPECT_EQ(queue.size(), static_cast<std::size_t>(3 * kInstants));
  std::int64_t last_at = -1;
  std::uint64_t last_key = 0;
  std::size_t popped = 0;
  while (!queue.empty()) {
    const Event e = queue.top();
    queue.pop();
    ++popped;
    ASSERT_TRUE(e.at > last_at || (e.at == last_at && e.key > last_key));
    last_at = e.at;
    last_key = e.key;
  }
  EXPECT_EQ(popped, static_cast<std::size_t>(3 * kInstants));
}

}  // namespace
}  // namespace fl::sim
