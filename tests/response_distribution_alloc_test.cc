// Proves ResponseDistribution's per-request calls allocate nothing:
// operator new is replaced by a counting version, and the count must not
// move across recording calls. (Its own executable: it replaces the global
// operator new.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/response_distribution.h"

namespace {
std::atomic<long> g_allocations{0};
}

// GCC 12 at -O2 inlines these into callers and then mistakes the malloc/free
// pairing for a new/free mismatch.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

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
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace mlmon {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ResponseDistributionAllocationTest, RecordingCallsAllocateNothing) {
  Registry registry;
  FakeClock clock;
  ResponseSpec binary;
  ResponseDistribution b(registry, "b", "1", binary, nullptr, &clock);
  ResponseSpec multiclass;
  for (int i = 0; i < 40; ++i) {
    multiclass.classes.push_back("class-" + std::to_string(i));
  }
  ResponseDistribution m(registry, "m", "1", multiclass, nullptr, &clock);
  ResponseSpec regression;
  regression.value_range = ResponseSpec::ValueRange::kUnbounded;
  ResponseDistribution r(registry, "r", "1", regression, nullptr, &clock);
  const ResponseDistribution::ClassHandle c7 = m.Class("class-7");
  // Names built before counting starts; longer than the small-string buffer.
  const std::string known = "class-12";
  const std::string unknown(100, 'u');
  // The first call on this thread leases the metric cells' slot (set-up).
  b.ObserveScore(0.5);

  const long before = g_allocations.load();
  for (int i = 0; i < 10000; ++i) {
    const double s = (i % 101) / 100.0;
    b.ObserveScore(s);
    b.ObserveClass("1");
    b.ObserveItems(static_cast<std::size_t>(i % 12));
    b.ObserveEmpty();
    m.ObserveScore(s);
    m.ObserveClass(c7);
    m.ObserveClass(ResponseDistribution::ClassHandle());
    m.ObserveClass(std::string_view(known));
    m.ObserveClass(std::string_view(unknown));
    r.ObserveScore((i % 2 == 0 ? 1 : -1) * s * 1e6);
    r.ObserveScore(0.0);
    r.ObserveScore(1e20);
  }
  // Dropped values take the counting path.
  for (double bad : {kNaN, kInf, -kInf, 1.5, -0.5}) b.ObserveScore(bad);
  for (double bad : {kNaN, kInf}) r.ObserveScore(bad);
  EXPECT_EQ(g_allocations.load(), before);

  // Tick may allocate (off the hot path); afterwards recording still does not.
  b.Tick();
  r.Tick();
  const long after_tick = g_allocations.load();
  b.ObserveScore(0.25);
  r.ObserveScore(-3.0);
  m.ObserveClass("class-3");
  EXPECT_EQ(g_allocations.load(), after_tick);
}

}  // namespace
}  // namespace mlmon
