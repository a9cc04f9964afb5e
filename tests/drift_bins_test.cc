// The bin series of fleet-wide drift in the exposition:
// `mlmon_drift_bin_observations_total{signal,bin}` counts each observation
// the in-process drift counts in exactly one bin of the reference (checked
// against bins computed here from the raw values), sums to the signal's
// histogram count, advances at Tick(), and `mlmon_drift_reference_share` is
// each bin's share of the reference. The series leave with their signal.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "mlmon/clock.h"
#include "mlmon/drift.h"
#include "mlmon/feature_monitor.h"
#include "mlmon/reference_profile.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"
#include "testing/data_gen.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string Bin(const std::string& family, const std::string& signal,
                std::size_t b) {
  return fmt::format("{}{{model=\"m\",version=\"1\",signal=\"{}\",bin=\"{}\"}}",
                     family, signal, b);
}

// The exported bin counts of a signal with `n` bins.
std::vector<double> ExportedBins(const std::string& text,
                                 const std::string& signal, std::size_t n) {
  std::vector<double> out;
  for (std::size_t b = 0; b < n; ++b) {
    out.push_back(testutil::ExposedValue(
        text, Bin("mlmon_drift_bin_observations_total", signal, b)));
  }
  // No bin beyond the reference's.
  EXPECT_FALSE(testutil::SampleValue(
      text, Bin("mlmon_drift_bin_observations_total", signal, n)));
  return out;
}

// The bin of `v` on upper bounds `bounds` (a bin holds values <= its bound;
// the last bin is +Inf), computed independently of the library.
std::size_t BinOf(const std::vector<double>& bounds, double v) {
  return static_cast<std::size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
}

double Sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

TEST(DriftBinsTest, ScoreBinsCountEveryScoreOnceAndMatchTheInProcessDrift) {
  const std::vector<double>& bounds = DefaultPredictionScoreBuckets();
  std::vector<double> reference(bounds.size() + 1, 0.0);
  for (std::size_t b = 0; b + 1 < reference.size(); ++b) {
    reference[b] = 10.0 + static_cast<double>(b % 4);  // +Inf bin empty
  }
  ReferenceProfile ref;
  SignalProfile score;
  score.numeric = {bounds, reference};
  ref.signals["score"] = score;

  Registry registry;
  FakeClock clock;
  ResponseSpec spec;
  spec.windows = {minutes(5)};
  auto scores = std::make_unique<ResponseDistribution>(registry, "m", "1", spec,
                                                       &ref, &clock);

  // Edge cases: both ends of [0, 1], values exactly on a bound (in the
  // lower bin), and refused values (no bin: the in-process drift does not
  // count them either).
  std::vector<double> values = {0.0, 1.0, 0.05, 0.1, 0.95, 0.5};
  testutil::DataGen gen(7);
  for (int i = 0; i < 1200; ++i) values.push_back(gen.Beta(2, 5));
  std::vector<double> expected(reference.size(), 0.0);
  for (double v : values) {
    scores->ObserveScore(v);
    expected[BinOf(bounds, v)] += 1;
  }
  scores->ObserveScore(kNaN);
  scores->ObserveScore(1.5);
  scores->ObserveScore(-0.1);

  // Nothing before the first tick: the counters follow Tick().
  std::string text = registry.TextExposition();
  for (double c : ExportedBins(text, "score", reference.size())) {
    EXPECT_EQ(c, 0.0);
  }
  clock.Advance(seconds(10));
  scores->Tick();
  text = registry.TextExposition();
  const std::vector<double> bins =
      ExportedBins(text, "score", reference.size());
  EXPECT_EQ(bins, expected);
  EXPECT_EQ(Sum(bins), static_cast<double>(values.size()));
  EXPECT_EQ(Sum(bins),
            testutil::ExposedValue(text,
                                   "mlmon_prediction_score_count{model=\"m\","
                                   "version=\"1\",segment=\"\"}"));
  EXPECT_EQ(BinOf(bounds, 0.05), 0u);  // a value on a bound: the lower bin
  EXPECT_EQ(bins[reference.size() - 1], 0.0);

  // The shares are the reference's q; PSI of the exported bins against them
  // is the in-process gauge (the window holds every score).
  const double total = Sum(reference);
  for (std::size_t b = 0; b < reference.size(); ++b) {
    EXPECT_EQ(testutil::ExposedValue(
                  text, Bin("mlmon_drift_reference_share", "score", b)),
              reference[b] / total)
        << "bin " << b;
  }
  const double gauge = testutil::ExposedValue(
      text,
      "mlmon_drift_score{model=\"m\",version=\"1\",signal=\"score\","
      "method=\"psi\",window=\"5m\"}");
  EXPECT_NEAR(
      gauge,
      PopulationStabilityIndex(bins.data(), reference.data(), reference.size()),
      1e-12);

  // More scores: the counters move at the next tick only, by the new ones.
  scores->ObserveScore(0.99);
  EXPECT_EQ(ExportedBins(registry.TextExposition(), "score", reference.size()),
            expected);
  clock.Advance(seconds(10));
  scores->Tick();
  expected[BinOf(bounds, 0.99)] += 1;
  EXPECT_EQ(ExportedBins(registry.TextExposition(), "score", reference.size()),
            expected);

  // The series leave with the signal.
  scores.reset();
  text = registry.TextExposition();
  EXPECT_EQ(text.find("mlmon_drift_bin_observations_total{"),
            std::string::npos);
  EXPECT_EQ(text.find("mlmon_drift_reference_share{"), std::string::npos);
}

TEST(DriftBinsTest, NoReferenceNoBins) {
  Registry registry;
  ResponseDistribution scores(registry, "m", "1");
  scores.ObserveScore(0.5);
  scores.Tick();
  EXPECT_EQ(registry.TextExposition().find("mlmon_drift_bin"),
            std::string::npos);
}

TEST(DriftBinsTest, FeatureValueAndMagnitudeBinsCountEveryObservedValue) {
  const std::vector<double> bounds = {10, 100, 1000};
  ReferenceProfile ref;
  SignalProfile amount;
  amount.numeric = {bounds, {5, 20, 10, 0}};
  std::vector<double> log10_counts(DefaultLog10Bounds().size() + 1, 0.0);
  log10_counts[10] = 3;
  log10_counts[11] = 7;
  amount.log10 = {DefaultLog10Bounds(), log10_counts};
  ref.signals["amount"] = amount;
  SignalProfile country;
  country.type = SignalProfile::Type::kCategorical;
  country.categories = {{"fr", 3}, {"de", 4}};
  ref.signals["country"] = country;

  Registry registry;
  FakeClock clock;
  FeatureSpec spec;
  spec.numeric = {{"amount", 0.0, 500.0, bounds}};
  spec.categorical = {{"country", 10}};
  spec.windows = {minutes(5)};
  FeatureMonitor mon(registry, "m", "1", spec, &ref, &clock);

  // Negative and out-of-range values are observed (and binned); 0 has no
  // magnitude; beyond the last bound is the +Inf bin of both signals; NaN
  // and a missing value are in no bin.
  std::vector<double> values = {-3,  0,    10,   10.5, 100,
                                999, 1000, 1001, 1e15, -1e-12};
  testutil::DataGen gen(11);
  for (int i = 0; i < 500; ++i) values.push_back(gen.LogNormal(3, 2));
  std::vector<double> expected(bounds.size() + 1, 0.0);
  std::vector<double> expected_log10(log10_counts.size(), 0.0);
  FeatureVector v = mon.NewVector();
  for (double x : values) {
    v.Clear();
    v.Set("amount", x);
    v.SetCategory("country", "fr");
    mon.Observe(v);
    expected[BinOf(bounds, x)] += 1;
    if (x != 0)
      expected_log10[BinOf(DefaultLog10Bounds(), MagnitudeDecade(x))] += 1;
  }
  v.Clear();
  v.Set("amount", kNaN);
  mon.Observe(v);
  v.Clear();
  mon.Observe(v);
  clock.Advance(seconds(10));
  mon.Tick();

  const std::string text = registry.TextExposition();
  const std::vector<double> bins =
      ExportedBins(text, "amount", expected.size());
  EXPECT_EQ(bins, expected);
  EXPECT_EQ(Sum(bins), static_cast<double>(values.size()));
  EXPECT_EQ(Sum(bins),
            testutil::ExposedValue(text,
                                   "mlmon_feature_value_count{model=\"m\","
                                   "version=\"1\",feature=\"amount\"}"));
  const std::vector<double> log10_bins =
      ExportedBins(text, "amount:log10", expected_log10.size());
  EXPECT_EQ(log10_bins, expected_log10);
  EXPECT_EQ(Sum(log10_bins), static_cast<double>(values.size() - 1));
  EXPECT_EQ(Sum(log10_bins),
            testutil::ExposedValue(text,
                                   "mlmon_feature_magnitude_count{model=\"m\","
                                   "version=\"1\",feature=\"amount\"}"));
  EXPECT_EQ(testutil::ExposedValue(
                text, Bin("mlmon_drift_reference_share", "amount:log10", 11)),
            0.7);
  EXPECT_EQ(testutil::ExposedValue(
                text, Bin("mlmon_drift_reference_share", "amount", 3)),
            0.0);
  // A categorical feature's bins: its known categories by reference count
  // (de 4, fr 3), then unseen (no reference mass beyond max_categories).
  // Every set value is in one bin; the two vectors without it in none.
  EXPECT_EQ(ExportedBins(text, "country", 3),
            (std::vector<double>{0, static_cast<double>(values.size()), 0}));
  EXPECT_FALSE(testutil::SampleValue(
      text, Bin("mlmon_drift_bin_observations_total", "country", 3)));
  EXPECT_EQ(testutil::ExposedValue(
                text, Bin("mlmon_drift_reference_share", "country", 0)),
            4.0 / 7);
  EXPECT_EQ(testutil::ExposedValue(
                text, Bin("mlmon_drift_reference_share", "country", 1)),
            3.0 / 7);
  EXPECT_EQ(testutil::ExposedValue(
                text, Bin("mlmon_drift_reference_share", "country", 2)),
            0.0);
}

}  // namespace
}  // namespace mlmon
