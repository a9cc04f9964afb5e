// Proves the PredictionLog hot path allocates nothing: operator new is
// replaced by a counting version, and the count must not move across the
// Log* calls (accepted, unsampled, refused and queue-full alike).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "counting_new.h"
#include "mlmon/prediction_log.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace {

TEST(PredictionLogAllocationTest, LogCallsAllocateNothing) {
  std::string dir =
      (std::filesystem::temp_directory_path() / "plog-alloc-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  Registry registry;
  FakeClock clock;
  PredictionLogOptions options;
  options.directory = dir;
  options.queue_capacity = 2048;
  options.sample_rate = 0.5;
  options.clock = &clock;
  options.start_writer = false;  // no other thread allocates meanwhile
  {
    PredictionLog log(registry, "m", "1", options);
    // Set-up: the first counter increment on a thread leases its cells.
    registry.AddCounter("warm_up_total", "Warm-up.", {}).Add({}).Increment();
    const std::string long_id(100, 'i');
    const std::string_view items[] = {"sku-1", "sku-22", "sku-333"};
    const std::string ids[] = {"p-0", "p-1", "p-2", "p-3", "p-4",
                               "p-5", "p-6", "p-7", "p-8", "p-9"};
    const double nan = std::numeric_limits<double>::quiet_NaN();

    const long before = mlmon_test::Allocations();
    int accepted = 0;
    for (int i = 0; i < 1000; ++i) {  // fills the ring: queue_full too
      const std::string& id = ids[i % 10];
      accepted += log.LogPrediction(id, 0.5);
      accepted += log.LogPredictionLabel(id, "cat", 1764150000.5);
      accepted += log.LogPredictionValue(id, 12.5);
      accepted += log.LogPredictionItems(id, items, 3);
      accepted += log.LogOutcome(id, 1.0);
      accepted += log.LogOutcomeLabel(id, "dog");
      log.LogPrediction(long_id, 0.5);  // id_too_long (if sampled)
      log.LogPrediction(id, nan);       // nan (if sampled)
    }
    const long after = mlmon_test::Allocations();
    EXPECT_EQ(after, before);
    EXPECT_GT(accepted, 0);
    EXPECT_LT(accepted, 6000);  // some ids are not sampled, the ring fills
  }
  // And the counting itself works (the test can fail).
  const long before = mlmon_test::Allocations();
  auto* p = new int(1);
  EXPECT_GT(mlmon_test::Allocations(), before);
  delete p;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mlmon
