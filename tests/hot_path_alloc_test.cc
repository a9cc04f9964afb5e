// Proves the hot path allocates nothing: operator new is replaced by a
// counting version, and the count must not move across recording calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

#include "counting_new.h"
#include "mlmon/golden_signals.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace {

TEST(HotPathAllocationTest, RecordingCallsAllocateNothing) {
  Registry registry;
  GoldenSignals signals(registry, "m", "1");
  Endpoint& ep = signals.AddEndpoint("predict");
  ErrorReason reason = ep.BindErrorReason("timeout");
  Counter& counter = registry.AddCounter("c_total", "C.", {"model", "version"})
                         .Add({"m", "1"});
  Histogram& hist =
      registry.AddHistogram("h", "H.", {"model", "version"}, {1, 2})
          .Add({"m", "1"});
  Gauge& gauge = signals.queue_depth();
  counter.Increment();  // first call on this thread leases a slot (set-up)
  // Ids built before counting starts; longer than the small-string buffer.
  const std::string id = "prediction-0123456789-abcdefghij";
  const std::string too_long(100, 'x');

  const long before = mlmon_test::Allocations();
  for (int i = 0; i < 1000; ++i) {
    {
      RequestGuard guard(ep);
      if (i % 3 == 0) guard.Fail(reason);
      if (i % 2 == 0) guard.SetId(id);        // an exemplar of the latency
      if (i % 5 == 0) guard.SetId(too_long);  // dropped and counted
    }
    counter.Increment();
    counter.Increment(-1);  // dropped and counted: still no allocation
    hist.Observe(i * 0.01);
    hist.Observe(std::numeric_limits<double>::quiet_NaN());
    gauge.Set(i);
  }
  try {
    RequestGuard guard(ep);
    const long mid = mlmon_test::Allocations();
    EXPECT_EQ(mid, before);
  } catch (...) {
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
  // And the counting itself works (the test can fail).
  auto* p = new int(1);
  EXPECT_GT(mlmon_test::Allocations(), before);
  delete p;
  EXPECT_EQ(counter.Value(), 1001);
}

}  // namespace
}  // namespace mlmon
