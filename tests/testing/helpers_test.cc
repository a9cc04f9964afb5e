// Tests of the shared test helpers: the exposition sample reader
// (samples.h) and the seeded data generator (data_gen.h).

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "testing/data_gen.h"
#include "testing/samples.h"

namespace mlmon {
namespace testutil {
namespace {

constexpr char kText[] =
    "# HELP a_total A.\n"
    "# TYPE a_total counter\n"
    "a_total{model=\"m\",status=\"ok\"} 3\n"
    "a_total{model=\"m\",status=\"ok\",extra=\"x\"} 4\n"
    "a_total_more{model=\"m\",status=\"ok\"} 5\n"
    "x_a_total{model=\"m\",status=\"ok\"} 6\n"
    "plain 2.5e-3\n"
    "up +Inf\n"
    "down -Inf\n"
    "undefined NaN\n"
    "zero 0\n"
    "broken abc\n";

TEST(SampleValueTest, ReadsTheLineOfExactlyThatSeries) {
  EXPECT_EQ(SampleValue(kText, "a_total{model=\"m\",status=\"ok\"}"), 3.0);
  EXPECT_EQ(
      SampleValue(kText, "a_total{model=\"m\",status=\"ok\",extra=\"x\"}"),
      4.0);
  EXPECT_EQ(SampleValue(kText, "a_total_more{model=\"m\",status=\"ok\"}"), 5.0);
  EXPECT_EQ(SampleValue(kText, "plain"), 2.5e-3);
  EXPECT_EQ(SampleValue(kText, "zero"), 0.0);
}

TEST(SampleValueTest, MissingSeriesIsNulloptNotZero) {
  // A prefix of a series, a series in the middle of a line, a HELP line's
  // name and labels in another order are all different series.
  EXPECT_EQ(SampleValue(kText, "a_total{model=\"m\""), std::nullopt);
  EXPECT_EQ(SampleValue(kText, "a_total"), std::nullopt);
  EXPECT_EQ(SampleValue(kText, "a_total{status=\"ok\",model=\"m\"}"),
            std::nullopt);
  EXPECT_EQ(SampleValue(kText, "nothing"), std::nullopt);
  EXPECT_EQ(SampleValue("", "zero"), std::nullopt);
  // A value that is not a number.
  EXPECT_EQ(SampleValue(kText, "broken"), std::nullopt);
}

TEST(SampleValueTest, ParsesInfinitiesAndNaN) {
  EXPECT_EQ(SampleValue(kText, "up"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(SampleValue(kText, "down"),
            -std::numeric_limits<double>::infinity());
  const std::optional<double> nan = SampleValue(kText, "undefined");
  ASSERT_TRUE(nan.has_value());
  EXPECT_TRUE(std::isnan(*nan));
}

TEST(SampleValueTest, ReadsTheFirstAndTheLastLine) {
  EXPECT_EQ(SampleValue("first 1\nsecond 2", "first"), 1.0);
  EXPECT_EQ(SampleValue("first 1\nsecond 2", "second"), 2.0);
}

TEST(SampleValueTest, ReadsARegistry) {
  Registry registry;
  registry.AddCounter("jobs_total", "Jobs.", {"queue"}).Add({"a"}).Increment(7);
  EXPECT_EQ(SampleValue(registry, "jobs_total{queue=\"a\"}"), 7.0);
  EXPECT_EQ(SampleValue(registry, "jobs_total{queue=\"b\"}"), std::nullopt);
}

TEST(ExposedValueTest, IsTheValueOfAnExposedSeries) {
  EXPECT_EQ(ExposedValue(kText, "zero"), 0.0);
  EXPECT_EQ(ExposedValue(kText, "plain"), 2.5e-3);
}

TEST(ExposedValueTest, MissingSeriesFailsTheTestAndIsNaN) {
  double v = 0;
  EXPECT_NONFATAL_FAILURE(v = ExposedValue(kText, "nothing{a=\"b\"}"),
                          "not exposed: nothing{a=\"b\"}");
  EXPECT_TRUE(std::isnan(v));
}

// Sample mean and variance, compared with the distribution's.
void ExpectMoments(const std::vector<double>& xs, double mean, double variance,
                   const char* what) {
  double sum = 0;
  for (double x : xs) sum += x;
  const double m = sum / static_cast<double>(xs.size());
  double ss = 0;
  for (double x : xs) ss += (x - m) * (x - m);
  const double var = ss / static_cast<double>(xs.size() - 1);
  // 200000 draws: the sample mean is within ~5 standard errors.
  const double se = std::sqrt(variance / static_cast<double>(xs.size()));
  EXPECT_NEAR(m, mean, 5 * se) << what;
  EXPECT_NEAR(var, variance, 0.05 * variance) << what;
}

template <typename Draw>
std::vector<double> Draws(Draw draw) {
  std::vector<double> xs(200000);
  for (double& x : xs) x = draw();
  return xs;
}

TEST(DataGenTest, SameSeedSameData) {
  DataGen a(17), b(17), c(18);
  const std::vector<double> xa = a.Normals(100), xb = b.Normals(100),
                            xc = c.Normals(100);
  EXPECT_EQ(xa, xb);
  EXPECT_NE(xa, xc);
}

TEST(DataGenTest, DistributionsHaveTheirMoments) {
  DataGen gen(1);
  ExpectMoments(Draws([&] { return gen.Uniform(2, 5); }), 3.5, 9.0 / 12,
                "uniform(2, 5)");
  ExpectMoments(Draws([&] { return gen.Normal(-3, 2); }), -3, 4,
                "normal(-3, 2)");
  // LogNormal(mu, s): mean exp(mu + s^2/2), variance (exp(s^2)-1) mean^2.
  const double ln_mean = std::exp(1.0 + 0.25 / 2);
  ExpectMoments(Draws([&] { return gen.LogNormal(1.0, 0.5); }), ln_mean,
                (std::exp(0.25) - 1) * ln_mean * ln_mean, "lognormal(1, 0.5)");
  ExpectMoments(Draws([&] { return gen.Exponential(4); }), 0.25, 1.0 / 16,
                "exponential(4)");
  // Beta(a, b): mean a/(a+b), variance ab/((a+b)^2 (a+b+1)).
  ExpectMoments(Draws([&] { return gen.Beta(2, 8); }), 0.2,
                2.0 * 8 / (100 * 11), "beta(2, 8)");
  ExpectMoments(Draws([&] { return double(gen.Bernoulli(0.3)); }), 0.3,
                0.3 * 0.7, "bernoulli(0.3)");
}

TEST(DataGenTest, DrawsStayInTheirRange) {
  DataGen gen(2);
  for (int i = 0; i < 100000; ++i) {
    const double u = gen.Uniform(-1, 1);
    ASSERT_TRUE(u >= -1 && u < 1) << u;
    const double b = gen.Beta(0.5, 0.5);
    ASSERT_TRUE(b >= 0 && b <= 1) << b;
    ASSERT_GE(gen.Exponential(3), 0.0);
    ASSERT_GT(gen.LogNormal(0, 3), 0.0);
    ASSERT_LT(gen.Index(7), 7u);
    const DataGen::Labelled l = gen.Binary();
    ASSERT_TRUE(l.score > 0 && l.score < 1) << l.score;
    ASSERT_TRUE(l.label == 0 || l.label == 1);
  }
}

}  // namespace
}  // namespace testutil
}  // namespace mlmon
