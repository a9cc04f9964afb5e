// Proves the feature hot path allocates nothing: operator new is replaced by
// a counting version, and the count must not move across recording calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>
#include <stdexcept>

#include "counting_new.h"
#include "mlmon/feature_monitor.h"

namespace mlmon {
namespace {

TEST(FeatureMonitorAllocationTest, SetAndObserveAllocateNothing) {
  Registry registry;
  FeatureSpec spec;
  for (int i = 0; i < 20; ++i) {
    spec.numeric.push_back({"n" + std::to_string(i), 0, 100, {1, 10, 100}});
  }
  for (int i = 0; i < 5; ++i) {
    spec.categorical.push_back({"c" + std::to_string(i)});
  }
  ReferenceProfile profile;
  for (const auto& f : spec.numeric) {
    SignalProfile p;
    p.numeric = {{1, 10, 100}, {1, 2, 3, 4}};
    p.log10 = {DefaultLog10Bounds(),
               std::vector<double>(DefaultLog10Bounds().size() + 1, 1.0)};
    profile.signals[f.name] = p;
  }
  for (const auto& f : spec.categorical) {
    SignalProfile p;
    p.type = SignalProfile::Type::kCategorical;
    p.categories = {{"DE", 3}, {"US", 10}, {"a-rather-long-category-name", 1}};
    profile.signals[f.name] = p;
  }
  FakeClock clock;
  FeatureMonitor mon(registry, "m", "1", spec, &profile, &clock);
  FeatureVector v = mon.NewVector();
  const FeatureHandle n3 = mon.Find("n3"), c1 = mon.Find("c1");
  mon.Observe(v);  // first call on this thread leases a slot (set-up)
  mon.Tick();

  const long before = mlmon_test::Allocations();
  for (int i = 0; i < 1000; ++i) {
    v.Clear();
    v.Set(n3, i * 0.5);
    v.Set("n4", i % 3 == 0 ? std::numeric_limits<double>::quiet_NaN() : 7.0);
    v.Set("n5", 1e6);               // out of range
    v.Set("no-such-feature", 1.0);  // dropped, counted
    v.Set("c2", 1.0);               // wrong type, counted
    v.SetCategory(n3, "DE");        // wrong type, counted
    v.SetCategory(c1, i % 2 ? "US" : "never-seen-before-category-xxxxxxxx");
    v.SetCategory("c2", "a-rather-long-category-name");
    v.SetCategory("no-such-feature", "US");  // dropped, counted
    mon.Observe(v);
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
  // And the counting itself works (the test can fail).
  auto* p = new int(1);
  EXPECT_GT(mlmon_test::Allocations(), before);
  delete p;
}

}  // namespace
}  // namespace mlmon
