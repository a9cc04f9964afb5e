#include "mlmon/instruments.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "mlmon/buckets.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace {

// The hot-path calls are noexcept: a compile-time proof.
static_assert(noexcept(std::declval<Counter&>().Increment()));
static_assert(noexcept(std::declval<Counter&>().Increment(1.0)));
static_assert(noexcept(std::declval<Gauge&>().Set(1.0)));
static_assert(noexcept(std::declval<Gauge&>().Increment()));
static_assert(noexcept(std::declval<UpDownGauge&>().Add(1.0)));
static_assert(noexcept(std::declval<Histogram&>().Observe(1.0)));

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(CounterTest, StartsAtZeroAndAdds) {
  Counter c;
  EXPECT_EQ(c.Value(), 0.0);
  c.Increment();
  c.Increment(2.5);
  EXPECT_DOUBLE_EQ(c.Value(), 3.5);
}

TEST(CounterTest, DropsAndCountsBadIncrements) {
  Registry registry;
  detail::DropSink* drops = registry.DropsFor("m", "v");
  Counter c(drops);
  c.Increment(-1.0);
  c.Increment(kNaN);
  c.Increment(kInf);
  c.Increment(-kInf);
  c.Increment(0.0);  // zero is a valid increment
  EXPECT_EQ(c.Value(), 0.0);
  auto reason = [&](DropReason r) {
    return drops->by_reason[static_cast<int>(r)]->Value();
  };
  EXPECT_EQ(reason(DropReason::kNegativeIncrement), 1.0);
  EXPECT_EQ(reason(DropReason::kNaN), 1.0);
  EXPECT_EQ(reason(DropReason::kInfinity), 2.0);
}

TEST(CounterTest, WithoutSinkBadIncrementsAreIgnored) {
  Counter c;
  c.Increment(-3);
  c.Increment(kNaN);
  EXPECT_EQ(c.Value(), 0.0);
}

TEST(GaugeTest, SetIncrementDecrement) {
  Gauge g;
  g.Set(10);
  g.Increment();
  g.Decrement(4);
  EXPECT_DOUBLE_EQ(g.Value(), 7.0);
  g.Set(-2.5);
  EXPECT_DOUBLE_EQ(g.Value(), -2.5);
}

TEST(GaugeTest, NonFiniteSetIsDroppedAndCounted) {
  Registry registry;
  detail::DropSink* drops = registry.DropsFor("m", "v");
  Gauge g(drops);
  g.Set(3);
  g.Set(kNaN);
  g.Increment(kInf);
  EXPECT_EQ(g.Value(), 3.0);
  EXPECT_EQ(drops->by_reason[static_cast<int>(DropReason::kNaN)]->Value(), 1);
  EXPECT_EQ(drops->by_reason[static_cast<int>(DropReason::kInfinity)]->Value(),
            1);
}

TEST(UpDownGaugeTest, MovesBothWays) {
  UpDownGauge g;
  g.Increment();
  g.Increment();
  g.Decrement();
  g.Add(0.5);
  EXPECT_DOUBLE_EQ(g.Value(), 1.5);
}

TEST(HistogramTest, ObservationLandsInHalfOpenBucket) {
  Histogram h({1.0, 2.0, 5.0});
  h.Observe(0.5);        // (-inf, 1]
  h.Observe(1.0);        // (-inf, 1]: upper bound inclusive
  h.Observe(1.0000001);  // (1, 2]
  h.Observe(5.0);        // (2, 5]
  h.Observe(7.0);        // (5, +inf)
  h.Observe(-3.0);       // (-inf, 1]
  auto s = h.Collect();
  ASSERT_EQ(s.cumulative.size(), 4u);
  EXPECT_EQ(s.cumulative[0], 3u);
  EXPECT_EQ(s.cumulative[1], 4u);
  EXPECT_EQ(s.cumulative[2], 5u);
  EXPECT_EQ(s.cumulative[3], 6u);
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 0.5 + 1.0 + 1.0000001 + 5.0 + 7.0 - 3.0);
}

TEST(HistogramTest, ManyBoundsUseBinarySearchWithSameSemantics) {
  std::vector<double> bounds = LinearBuckets(0, 1, 100);  // 0..99
  Histogram h(bounds);
  for (int v = -1; v <= 100; ++v) h.Observe(v);
  h.Observe(2.5);
  auto s = h.Collect();
  // Bucket le=0 holds -1 and 0; bucket le=k holds k; +Inf holds 100.
  EXPECT_EQ(s.cumulative[0], 2u);
  EXPECT_EQ(s.cumulative[2], 4u);
  EXPECT_EQ(s.cumulative[3], 6u);  // 2.5 and 3
  EXPECT_EQ(s.cumulative[99], 102u);
  EXPECT_EQ(s.cumulative[100], 103u);
}

TEST(HistogramTest, RejectsUnsortedBoundsAtConstruction) {
  EXPECT_THROW(Histogram({2.0, 1.0}), ConfigError);
  EXPECT_THROW(Histogram({1.0, 1.0}), ConfigError);
  EXPECT_THROW(Histogram(std::vector<double>{}), ConfigError);
  EXPECT_THROW(Histogram({1.0, kInf}), ConfigError);
  EXPECT_THROW(Histogram({kNaN}), ConfigError);
}

TEST(HistogramTest, ErrorMessageNamesTheBadBound) {
  try {
    Histogram({0.1, 0.5, 0.25});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("0.25"), std::string::npos)
        << e.what();
  }
}

TEST(HistogramTest, NonFiniteObservationsAreDroppedAndCounted) {
  Registry registry;
  detail::DropSink* drops = registry.DropsFor("m", "v");
  Histogram h({1.0}, drops);
  h.Observe(kNaN);
  h.Observe(kInf);
  h.Observe(-kInf);
  h.Observe(0.5);
  auto s = h.Collect();
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.sum, 0.5);
  EXPECT_EQ(drops->by_reason[static_cast<int>(DropReason::kNaN)]->Value(), 1);
  EXPECT_EQ(drops->by_reason[static_cast<int>(DropReason::kInfinity)]->Value(),
            2);
}

TEST(BucketsTest, LinearAndExponential) {
  EXPECT_EQ(LinearBuckets(1, 2, 3), (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(ExponentialBuckets(1, 10, 3), (std::vector<double>{1, 10, 100}));
  EXPECT_THROW(LinearBuckets(0, 0, 3), ConfigError);
  EXPECT_THROW(LinearBuckets(0, 1, 0), ConfigError);
  EXPECT_THROW(ExponentialBuckets(0, 2, 3), ConfigError);
  EXPECT_THROW(ExponentialBuckets(1, 1, 3), ConfigError);
}

TEST(BucketsTest, DefaultLatencyBucketsSpanTenthOfMillisecondToTenSeconds) {
  const auto& b = DefaultLatencyBuckets();
  EXPECT_EQ(b.size(), 16u);
  EXPECT_EQ(b.front(), 0.0001);
  EXPECT_EQ(b.back(), 10.0);
  EXPECT_NO_THROW(ValidateBucketBounds(b));
}

TEST(DropReasonTest, NamesAreDistinctLabelValues) {
  std::set<std::string> names;
  for (std::size_t r = 0; r < kNumDropReasons; ++r) {
    names.insert(DropReasonName(static_cast<DropReason>(r)));
  }
  EXPECT_EQ(names.size(), kNumDropReasons);
  EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace mlmon
