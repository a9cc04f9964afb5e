// Proves the feature hot path allocates nothing: operator new is replaced by
// a counting version, and the count must not move across recording calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>
#include <stdexcept>

#include "mlmon/feature_monitor.h"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
// GCC 12 under -fsanitize=thread wrongly reports these as mismatched.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

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

  const long before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    v.Clear();
    v.Set(n3, i * 0.5);
    v.Set("n4", i % 3 == 0 ? std::numeric_limits<double>::quiet_NaN() : 7.0);
    v.Set("n5", 1e6);  // out of range
    v.Set("no-such-feature", 1.0);                 // dropped, counted
    v.Set("c2", 1.0);                              // wrong type, counted
    v.SetCategory(n3, "DE");                       // wrong type, counted
    v.SetCategory(c1, i % 2 ? "US" : "never-seen-before-category-xxxxxxxx");
    v.SetCategory("c2", "a-rather-long-category-name");
    v.SetCategory("no-such-feature", "US");        // dropped, counted
    mon.Observe(v);
  }
  EXPECT_EQ(g_allocations.load(), before);
  // And the counting itself works (the test can fail).
  auto* p = new int(1);
  EXPECT_GT(g_allocations.load(), before);
  delete p;
}

}  // namespace
}  // namespace mlmon
