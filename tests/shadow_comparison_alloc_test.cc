// ShadowComparison's per-request calls allocate nothing: operator new is
// replaced by a counting version, and the count must not move across them.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "counting_new.h"
#include "mlmon/registry.h"
#include "mlmon/shadow_comparison.h"

namespace mlmon {
namespace {

TEST(ShadowComparisonAllocationTest, RecordingCallsAllocateNothing) {
  Registry registry;
  ShadowComparisonOptions binary;
  binary.thresholds = {0.3, 0.5, 0.7};
  ShadowComparison scores(registry, "m", "1", "2", binary);
  ShadowComparisonOptions multiclass;
  multiclass.task = ShadowComparisonOptions::Task::kMulticlass;
  ShadowComparison labels(registry, "m", "1", "3", multiclass);
  // Labels longer than any small-string buffer.
  const std::string a(100, 'a'), b(100, 'b');
  scores.RecordScores(0.1, 0.2);  // first call on this thread leases a slot

  const long before = mlmon_test::Allocations();
  for (int i = 0; i < 1000; ++i) {
    scores.RecordScores(i / 1000.0, 1.0 - i / 1000.0);
    scores.RecordScores(std::numeric_limits<double>::quiet_NaN(), 0.5);
    scores.RecordScores(2.0, 0.5);  // dropped: invalid_value
    labels.RecordLabels(i % 2 == 0 ? a : b, a);
    labels.RecordLabels("", a);  // dropped: empty label
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
  // And the counting itself works (the test can fail).
  auto* p = new int(1);
  EXPECT_GT(mlmon_test::Allocations(), before);
  delete p;
}

}  // namespace
}  // namespace mlmon
