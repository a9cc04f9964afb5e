// Proves the hot path allocates nothing: operator new is replaced by a
// counting version, and the count must not move across recording calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>

#include "mlmon/golden_signals.h"
#include "mlmon/registry.h"

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

TEST(HotPathAllocationTest, RecordingCallsAllocateNothing) {
  Registry registry;
  GoldenSignals signals(registry, "m", "1");
  Endpoint& ep = signals.AddEndpoint("predict");
  ErrorReason reason = ep.BindErrorReason("timeout");
  Counter& counter = registry.AddCounter("c_total", "C.", {"model", "version"}).Add({"m", "1"});
  Histogram& hist = registry.AddHistogram("h", "H.", {"model", "version"}, {1, 2}).Add({"m", "1"});
  Gauge& gauge = signals.queue_depth();
  counter.Increment();  // first call on this thread leases a slot (set-up)

  const long before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    {
      RequestGuard guard(ep);
      if (i % 3 == 0) guard.Fail(reason);
    }
    counter.Increment();
    counter.Increment(-1);  // dropped and counted: still no allocation
    hist.Observe(i * 0.01);
    hist.Observe(std::numeric_limits<double>::quiet_NaN());
    gauge.Set(i);
  }
  try {
    RequestGuard guard(ep);
    const long mid = g_allocations.load();
    EXPECT_EQ(mid, before);
  } catch (...) {
  }
  EXPECT_EQ(g_allocations.load(), before);
  // And the counting itself works (the test can fail).
  auto* p = new int(1);
  EXPECT_GT(g_allocations.load(), before);
  delete p;
  EXPECT_EQ(counter.Value(), 1001);
}

}  // namespace
}  // namespace mlmon
