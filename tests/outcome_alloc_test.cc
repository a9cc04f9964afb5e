// Proves OutcomeTracker's per-request calls allocate nothing for ids up to
// kMaxIdBytes: operator new is replaced by a counting version, and the count
// must not move across recording calls. (Its own executable: it replaces
// the global operator new.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "counting_new.h"
#include "mlmon/outcome_tracker.h"

namespace mlmon {
namespace {

using Task = OutcomeSpec::Task;

// Ids built before counting starts; the longest is kMaxIdBytes.
std::vector<std::string> Ids(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    std::string id = "request-" + std::to_string(i);
    if (i % 10 == 0) id.resize(OutcomeTracker::kMaxIdBytes, 'x');
    ids.push_back(id);
  }
  return ids;
}

TEST(OutcomeAllocationTest, BinaryAndRegressionCallsAllocateNothing) {
  Registry registry;
  FakeClock clock;
  OutcomeSpec binary;
  binary.pending_capacity = 500;  // evictions on the way
  OutcomeTracker b(registry, "b", "1", binary, &clock);
  OutcomeSpec regression;
  regression.task = Task::kRegression;
  OutcomeTracker r(registry, "r", "1", regression, &clock);
  const auto ids = Ids(1000);
  const std::string too_long(OutcomeTracker::kMaxIdBytes + 1, 'z');
  // First calls on this thread lease the metric cells' slot (set-up).
  b.RecordPrediction("warm", 0.5);
  (void)b.RecordOutcome("warm", 1.0);
  r.RecordPrediction("warm", 1.0);
  (void)r.RecordOutcome("warm", 2.0);

  const long before = mlmon_test::Allocations();
  for (const std::string& id : ids) {
    b.RecordPrediction(id, 0.75);
    r.RecordPrediction(id, 10.0);
  }
  for (const std::string& id : ids) {
    (void)b.RecordOutcome(id, 1.0);
    (void)b.RecordOutcome(id, 1.0);  // duplicate or unmatched
    (void)r.RecordOutcome(id, 12.0, clock.UnixSeconds());
    (void)b.RecordLabeled(0.25, 0.0);
    (void)r.RecordLabeled(1.0, 3.0);
    // The ends of the calibration (ECE) bins, and a score outside them.
    (void)b.RecordLabeled(1.0, 1.0);
    (void)b.RecordLabeled(0.0, 0.0);
    (void)b.RecordLabeled(1.0 / 15, 1.0);
    (void)b.RecordLabeled(1.5, 1.0);
  }
  b.RecordPrediction(too_long, 0.5);
  b.RecordPrediction("nan", std::numeric_limits<double>::quiet_NaN());
  (void)b.RecordOutcome("x", 0.5);
  (void)b.RecordOutcome(too_long, 1.0);
  EXPECT_EQ(mlmon_test::Allocations(), before);
  // And the counting itself works (the test can fail).
  auto* p = new int(1);
  EXPECT_GT(mlmon_test::Allocations(), before);
  delete p;
  EXPECT_EQ(b.pending(), 0u);
}

// Segments: predictions with a value (new, known, folded, too long) and the
// joins that count them in their segment allocate nothing; a Tick publishes
// the series and recording stays allocation-free after it.
TEST(OutcomeAllocationTest, SegmentedCallsAllocateNothing) {
  Registry registry;
  FakeClock clock;
  OutcomeSpec spec;
  spec.segments = {"country", 20};
  OutcomeTracker t(registry, "s", "1", spec, &clock);
  OutcomeSpec ranking;
  ranking.task = Task::kRanking;
  ranking.segments = {"country", 5};
  OutcomeTracker rk(registry, "rk", "1", ranking, &clock);
  const auto ids = Ids(2000);
  std::vector<std::string> values;
  for (int i = 0; i < 1000; ++i)
    values.push_back("segment-" + std::to_string(i));
  const std::string too_long(SegmentSpec::kMaxValueBytes + 1, 's');
  const std::string_view items[] = {"a", "b", "c"};
  t.RecordPrediction("warm", 0.5, "x");
  (void)t.RecordOutcome("warm", 1.0);

  const long before = mlmon_test::Allocations();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string& v = i % 7 == 0 ? too_long : values[i % values.size()];
    t.RecordPrediction(ids[i], 0.25 + 0.5 * static_cast<double>(i % 2), v);
    rk.RecordRanking(ids[i], items, 3, v);
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    (void)t.RecordOutcome(ids[i], static_cast<double>(i % 2));
    (void)rk.RecordOutcome(ids[i], std::string_view("b"));
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
  t.Tick();
  rk.Tick();
  const long after_tick = mlmon_test::Allocations();
  t.RecordPrediction("late", 0.9, values[1]);
  (void)t.RecordOutcome("late", 1.0);
  EXPECT_EQ(mlmon_test::Allocations(), after_tick);
}

TEST(OutcomeAllocationTest, MulticlassAndRankingCallsAllocateNothing) {
  Registry registry;
  FakeClock clock;
  OutcomeSpec multiclass;
  multiclass.task = Task::kMulticlass;
  multiclass.classes = {"cat", "dog", "bird"};
  OutcomeTracker m(registry, "m", "1", multiclass, &clock);
  OutcomeSpec ranking;
  ranking.task = Task::kRanking;
  OutcomeTracker k(registry, "k", "1", ranking, &clock);
  const auto ids = Ids(1000);
  const std::string_view items[] = {"a", "b", "c", "d", "e", "f",
                                    "g", "h", "i", "j", "k", "l"};
  m.RecordPrediction("warm", std::string_view("cat"));
  (void)m.RecordOutcome("warm", std::string_view("cat"));
  k.RecordRanking("warm", items, 12);
  (void)k.RecordOutcome("warm", std::string_view("c"));

  const long before = mlmon_test::Allocations();
  for (const std::string& id : ids) {
    m.RecordPrediction(id, std::string_view("dog"));
    m.RecordPrediction(id, std::string_view("unknown class"));
    k.RecordRanking(id, items, 12);
  }
  for (const std::string& id : ids) {
    (void)m.RecordOutcome(id, std::string_view("bird"));
    (void)k.RecordOutcome(id, std::string_view("e"));
    (void)m.RecordLabeled(std::string_view("cat"), std::string_view("dog"));
    (void)k.RecordLabeledRanking(items, 12, "z");
    // Ranks 1 and 10 (hit and NDCG gain at every k / at k = 10 only).
    (void)k.RecordLabeledRanking(items, 12, "a");
    (void)k.RecordLabeledRanking(items, 12, "j");
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
}

// With a Redis store the prediction is a push into the store's ring, full or
// not, whatever the server does: here none listens (port 1), so the ring
// fills and the rest is dropped and counted, all without allocating on the
// recording thread. (The writer thread allocates on its own thread, which
// the per-thread count does not see.)
TEST(OutcomeAllocationTest, RedisStorePredictionsAllocateNothing) {
  if (!RedisPendingStoreAvailable()) GTEST_SKIP() << "built without Redis";
  Registry registry;
  OutcomeSpec binary;
  binary.store.backend = PendingStoreSpec::Backend::kRedis;
  binary.store.url = "redis://127.0.0.1:1/0";
  binary.store.max_buffered = 300;
  OutcomeTracker b(registry, "b", "1", binary);
  OutcomeSpec ranking;
  ranking.task = Task::kRanking;
  ranking.k = {1, 50};
  ranking.store = binary.store;
  OutcomeTracker k(registry, "k", "1", ranking);
  const std::vector<std::string> ids = Ids(1000);
  std::string_view items[60];
  for (std::string_view& item : items) item = "item";
  // Warm-up: this thread's first counter increment sets up its cells.
  EXPECT_FALSE(b.RecordPrediction("", 0.25));

  const long before = mlmon_test::Allocations();
  int accepted = 0;
  for (const std::string& id : ids) {
    accepted += b.RecordPrediction(id, 0.25) ? 1 : 0;
    k.RecordRanking(id, items, 60);
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
  EXPECT_LE(accepted, 300);  // the rest was dropped, not queued
}

}  // namespace
}  // namespace mlmon
