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

#include "counting_new.h"
#include "mlmon/response_distribution.h"

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
  const std::string id = "prediction-0123456789-abcdefghij";
  // The first call on this thread leases the metric cells' slot (set-up).
  b.ObserveScore(0.5);

  const long before = mlmon_test::Allocations();
  for (int i = 0; i < 10000; ++i) {
    const double s = (i % 101) / 100.0;
    b.ObserveScore(s);
    b.ObserveScore(s, id);       // an exemplar of the score's bucket
    b.ObserveScore(s, unknown);  // id too long: dropped and counted
    r.ObserveScore(-s, id);
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
  EXPECT_EQ(mlmon_test::Allocations(), before);

  // Tick may allocate (off the hot path); afterwards recording still does not.
  b.Tick();
  r.Tick();
  const long after_tick = mlmon_test::Allocations();
  b.ObserveScore(0.25);
  r.ObserveScore(-3.0);
  m.ObserveClass("class-3");
  EXPECT_EQ(mlmon_test::Allocations(), after_tick);
}

// Segments: the look-up of a value, the first sighting of a new one (the
// table claims a slot in place), folds into __other__ and values too long
// all record without allocating; a Tick publishes the series (allocating)
// and recording stays allocation-free after.
TEST(ResponseDistributionAllocationTest, SegmentedCallsAllocateNothing) {
  Registry registry;
  FakeClock clock;
  ResponseSpec spec;
  spec.segments = {"country", 20};
  ResponseDistribution d(registry, "s", "1", spec, nullptr, &clock);
  std::vector<std::string> values;
  for (int i = 0; i < 1000; ++i)
    values.push_back("country-" + std::to_string(i));
  const std::string too_long(SegmentSpec::kMaxValueBytes + 1, 'x');
  const std::string id = "prediction-0123456789-abcdefghij";
  d.ObserveScore(0.5);

  const long before = mlmon_test::Allocations();
  for (int i = 0; i < 10000; ++i) {
    const double s = (i % 101) / 100.0;
    const std::string& v = values[static_cast<std::size_t>(i) % values.size()];
    d.ObserveScore(s, {}, v);
    d.ObserveScore(s, id, v);
    d.ObserveScore(s, {}, too_long);
    d.ObserveClass("1", v);
    d.ObserveEmpty(v);
    d.ObserveItems(0, v);
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
  d.Tick();
  const long after_tick = mlmon_test::Allocations();
  d.ObserveScore(0.25, {}, values[3]);
  d.ObserveScore(0.25, {}, "a-new-value");
  EXPECT_EQ(mlmon_test::Allocations(), after_tick);
}

}  // namespace
}  // namespace mlmon
