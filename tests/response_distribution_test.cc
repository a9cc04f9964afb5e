#include "mlmon/response_distribution.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "internal/text_format.h"
#include "mlmon/drift.h"
#include "mlmon/outcome_tracker.h"
#include "testing/data_gen.h"
#include "testing/exposition_checker.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ValueRange = ResponseSpec::ValueRange;
using Handle = ResponseDistribution::ClassHandle;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
// Half a fine bin of the default kUnitInterval scheme, plus rounding.
constexpr double kHalfBin = 0.5 / 2000 + 1e-12;
// Relative error bound of one order statistic in kUnbounded.
constexpr double kAlpha =
    (ResponseSpec::kLogGamma - 1) / (ResponseSpec::kLogGamma + 1);

static_assert(
    noexcept(std::declval<ResponseDistribution&>().ObserveScore(0.5)));
static_assert(noexcept(std::declval<ResponseDistribution&>().ObserveClass(
    std::declval<Handle>())));
static_assert(noexcept(
    std::declval<ResponseDistribution&>().ObserveClass(std::string_view())));
static_assert(noexcept(std::declval<ResponseDistribution&>().ObserveItems(1)));
static_assert(noexcept(std::declval<ResponseDistribution&>().ObserveEmpty()));

// numpy.quantile(x, q) (method="linear") of sorted values.
double ExactQuantile(const std::vector<double>& sorted, double q) {
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const std::size_t k = static_cast<std::size_t>(std::floor(h));
  const std::size_t k1 = std::min(k + 1, sorted.size() - 1);
  return sorted[k] + (h - static_cast<double>(k)) * (sorted[k1] - sorted[k]);
}

// The two order statistics numpy interpolates between for q.
std::pair<double, double> Neighbours(const std::vector<double>& sorted,
                                     double q) {
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const std::size_t k = static_cast<std::size_t>(std::floor(h));
  return {sorted[k], sorted[std::min(k + 1, sorted.size() - 1)]};
}

// The series of model "m" version "1" with these extra labels.
std::string Series(const std::string& name, const std::string& labels = "") {
  return name + testutil::ModelLabels(name, "m", "1") +
         (labels.empty() ? "" : "," + labels) + "}";
}

std::string WindowStat(const std::string& stat, const std::string& window) {
  return Series("mlmon_prediction_score_window",
                "stat=\"" + stat + "\",window=\"" + window + "\"");
}

class ResponseDistributionTest : public ::testing::Test {
 protected:
  std::unique_ptr<ResponseDistribution> Make(
      ResponseSpec spec = {}, const ReferenceProfile* reference = nullptr) {
    return std::make_unique<ResponseDistribution>(
        registry_, "m", "1", std::move(spec), reference, &clock_);
  }
  // Gauges the test expects to be exposed (NaN while undefined).
  double Stat(const std::string& stat, const std::string& window) {
    return testutil::ExposedValue(registry_, WindowStat(stat, window));
  }
  double Drift(const std::string& method, const std::string& window) {
    return testutil::ExposedValue(
        registry_,
        Series("mlmon_drift_score", "signal=\"score\",method=\"" + method +
                                        "\",window=\"" + window + "\""));
  }
  // Counters; nullopt if the series is not exposed.
  std::optional<double> Predictions(const std::string& cls) {
    return testutil::SampleValue(
        registry_, Series("mlmon_predictions_total", "class=\"" + cls + "\""));
  }
  std::optional<double> Dropped(const std::string& reason) {
    return testutil::SampleValue(
        registry_, Series("mlmon_dropped_total", "reason=\"" + reason + "\""));
  }
  std::optional<double> Empty() {
    return testutil::SampleValue(registry_,
                                 Series("mlmon_empty_responses_total"));
  }
  Histogram::Snapshot Hist(const std::string& name,
                           const std::vector<double>& bounds) {
    if (testutil::HasSegmentLabel(name)) {
      return registry_.AddHistogram(name, "", {"model", "version", "segment"})
          .Add({"m", "1", ""}, bounds)
          .Collect();
    }
    return registry_.AddHistogram(name, "", {"model", "version"})
        .Add({"m", "1"}, bounds)
        .Collect();
  }
  // Advances the clock by `d` in steps of `step`, ticking after each step
  // (as a window thread would).
  void TickFor(ResponseDistribution& rd, seconds d, seconds step = seconds(5)) {
    for (seconds t(0); t < d; t += step) {
      clock_.Advance(step);
      rd.Tick();
    }
  }

  Registry registry_;
  FakeClock clock_;
};

// ---------------------------------------------------------------------------
// Set-up.

TEST_F(ResponseDistributionTest, DefaultScoreBucketsAreTheDecimalBounds) {
  const std::vector<double>& b = DefaultPredictionScoreBuckets();
  ASSERT_EQ(b.size(), 20u);
  EXPECT_EQ(b[2], 0.15);
  EXPECT_EQ(b[19], 1.0);
  EXPECT_EQ(b, DefaultOutcomeScoreBuckets());
  EXPECT_EQ(DefaultResponseItemsBuckets(),
            (std::vector<double>{0, 1, 2, 3, 5, 10, 20, 50, 100}));
}

TEST_F(ResponseDistributionTest, BadSpecThrowsNamingTheField) {
  struct Case {
    const char* message;
    void (*mutate)(ResponseSpec*);
  };
  const Case cases[] = {
      {"mlmon: ResponseSpec.score_buckets: empty; at least one bound is "
       "needed (+Inf is implicit)",
       [](ResponseSpec* s) { s->score_buckets = {}; }},
      {"mlmon: ResponseSpec.score_buckets[1]: not greater than the bound "
       "before it, 0.5 (0.2)",
       [](ResponseSpec* s) {
         s->score_buckets = {0.5, 0.2};
       }},
      {"mlmon: ResponseSpec.items_buckets[1]: not finite (+Inf is implicit) "
       "(inf)",
       [](ResponseSpec* s) {
         s->items_buckets = {1, kInf};
       }},
      {"mlmon: ResponseSpec.classes[1]: repeated (a)",
       [](ResponseSpec* s) {
         s->classes = {"a", "a"};
       }},
      {"mlmon: ResponseSpec.classes[0]: empty",
       [](ResponseSpec* s) { s->classes = {""}; }},
      {"mlmon: ResponseSpec.classes[1]: reserved (__other__)",
       [](ResponseSpec* s) {
         s->classes = {"a", "__other__"};
       }},
      {"mlmon: ResponseSpec.classes: more than 100 values (101)",
       [](ResponseSpec* s) {
         for (int i = 0; i < 101; ++i) s->classes.push_back(std::to_string(i));
       }},
      {"mlmon: ResponseSpec.decision_threshold: not in (0, 1) (1.5)",
       [](ResponseSpec* s) { s->decision_threshold = 1.5; }},
      {"mlmon: ResponseSpec.decision_threshold: not in (0, 1) (nan)",
       [](ResponseSpec* s) { s->decision_threshold = kNaN; }},
      {"mlmon: ResponseSpec.windows[0]: not in [1s, 3650d] (0s)",
       [](ResponseSpec* s) { s->windows = {seconds(0)}; }},
      {"mlmon: ResponseSpec.windows[1]: repeated (60s)",
       [](ResponseSpec* s) {
         s->windows = {minutes(1), seconds(60)};
       }},
      {"mlmon: ResponseSpec.windows: more than 8 values (9)",
       [](ResponseSpec* s) {
         s->windows.clear();
         for (int i = 1; i <= 9; ++i) s->windows.push_back(seconds(i));
       }},
      {"mlmon: ResponseSpec.slices_per_window: not in [1, 3600] (0)",
       [](ResponseSpec* s) { s->slices_per_window = 0; }},
      {"mlmon: ResponseSpec.slices_per_window: not in [1, 3600] (3601)",
       [](ResponseSpec* s) { s->slices_per_window = 3601; }},
      {"mlmon: ResponseSpec.drift_min_samples: not >= 1 (0)",
       [](ResponseSpec* s) { s->drift_min_samples = 0; }},
      {"mlmon: ResponseSpec.fine_bins: not in [10, 4095] (5)",
       [](ResponseSpec* s) { s->fine_bins = 5; }},
      {"mlmon: ResponseSpec.fine_bins: not in [10, 4095] (4096)",
       [](ResponseSpec* s) { s->fine_bins = 4096; }},
      {"mlmon: ResponseSpec.value_range: not a known range (7)",
       [](ResponseSpec* s) { s->value_range = static_cast<ValueRange>(7); }},
  };
  for (const Case& c : cases) {
    ResponseSpec spec;
    c.mutate(&spec);
    try {
      Make(spec);
      ADD_FAILURE() << "no ConfigError for " << c.message;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
  EXPECT_THROW(ResponseDistribution(registry_, "", "1"), ConfigError);
}

TEST_F(ResponseDistributionTest, FineBinsAreIgnoredForUnboundedValues) {
  ResponseSpec spec;
  spec.value_range = ValueRange::kUnbounded;
  spec.fine_bins = 0;
  auto rd = Make(spec);
  EXPECT_EQ(rd->num_fine_bins(), 2u * 2442u + 1u);
}

TEST_F(ResponseDistributionTest, ClassCapFollowsTheRegistry) {
  Registry small(Registry::Options{3});
  ResponseSpec spec;
  spec.classes = {"a", "b", "c"};  // + __other__ = 4 series > 3
  try {
    ResponseDistribution rd(small, "m", "1", spec);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("max_series_per_family"),
              std::string::npos)
        << e.what();
  }
}

// A reference profile whose score signal is binned on `bounds`.
ReferenceProfile Reference(const std::vector<double>& bounds,
                           const std::vector<double>& counts) {
  ReferenceProfile ref;
  ref.model = "m";
  SignalProfile s;
  s.type = SignalProfile::Type::kNumeric;
  s.numeric.bounds = bounds;
  s.numeric.counts = counts;
  ref.signals["score"] = s;
  return ref;
}

TEST_F(ResponseDistributionTest, ReferenceMismatchThrowsNamingScore) {
  ReferenceProfile other_bounds =
      Reference({0.25, 0.5, 0.75, 1.0}, {1, 1, 1, 1, 0});
  try {
    Make({}, &other_bounds);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: ReferenceProfile.signals.score.bounds: not the "
              "configured bounds [0.05, 0.1, 0.15, 0.2, ..., 0.95, 1] (20 "
              "values); rebuild the profile with `mlmon profile` ([0.25, 0.5, "
              "0.75, 1])");
  }
  ReferenceProfile missing;
  missing.model = "m";
  try {
    Make({}, &missing);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: ReferenceProfile.signals.score: missing (it has none)");
  }
  ReferenceProfile categorical;
  SignalProfile c;
  c.type = SignalProfile::Type::kCategorical;
  c.categories = {{"a", 1.0}};
  categorical.signals["score"] = c;
  try {
    Make({}, &categorical);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: ReferenceProfile.signals.score.type: not numeric "
              "(categorical)");
  }
}

TEST_F(ResponseDistributionTest, FamiliesHaveTheContractLabels) {
  std::vector<double> counts(21, 1.0);
  ReferenceProfile ref = Reference(DefaultPredictionScoreBuckets(), counts);
  auto rd = Make({}, &ref);
  rd->ObserveScore(0.3);
  rd->Tick();
  const std::string text = registry_.TextExposition();
  for (const char* series : {
           "mlmon_prediction_score_window{model=\"m\",version=\"1\","
           "stat=\"p50\",window=\"5m\"}",
           "mlmon_prediction_score_window{model=\"m\",version=\"1\","
           "stat=\"mean\",window=\"1h\"}",
           "mlmon_drift_score{model=\"m\",version=\"1\",signal=\"score\","
           "method=\"psi\",window=\"5m\"}",
           "mlmon_drift_score{model=\"m\",version=\"1\",signal=\"score\","
           "method=\"ks\",window=\"1h\"}",
           "mlmon_predictions_total{model=\"m\",version=\"1\",segment=\"\","
           "class=\"0\"}",
           "mlmon_predictions_total{model=\"m\",version=\"1\",segment=\"\","
           "class=\"__other__\"}",
           "mlmon_empty_responses_total{model=\"m\",version=\"1\",segment="
           "\"\"}",
           "mlmon_prediction_score_bucket{model=\"m\",version=\"1\",segment="
           "\"\","
           "le=\"0.15\"}",
           "mlmon_response_items_bucket{model=\"m\",version=\"1\",le=\"0\"}",
       }) {
    EXPECT_NE(testutil::SampleValue(text, series), std::nullopt) << series;
  }
  // Without a reference there is no drift family at all.
  Registry plain;
  ResponseDistribution no_ref(plain, "m", "1");
  EXPECT_EQ(plain.TextExposition().find("mlmon_drift_score"),
            std::string::npos);
}

TEST_F(ResponseDistributionTest, TwoModelsShareTheFamilies) {
  ResponseDistribution a(registry_, "a", "1", {}, nullptr, &clock_);
  ResponseDistribution b(registry_, "b", "2", {}, nullptr, &clock_);
  a.ObserveScore(0.1);
  b.ObserveScore(0.9);
  b.ObserveScore(0.9);
  EXPECT_EQ(registry_
                .AddHistogram("mlmon_prediction_score", "",
                              {"model", "version", "segment"})
                .Add({"b", "2", ""}, DefaultPredictionScoreBuckets())
                .Collect()
                .count,
            2u);
  // Each model brings its own score buckets; one distribution per model
  // version.
  ResponseSpec other;
  other.score_buckets = {0.5, 1.0};
  ResponseDistribution c(registry_, "c", "1", other);
  c.ObserveScore(0.7);
  EXPECT_EQ(testutil::SampleValue(registry_,
                                  "mlmon_prediction_score_bucket{model=\"c\","
                                  "version=\"1\",segment=\"\",le=\"1\"}"),
            1.0);
  EXPECT_EQ(testutil::CheckExposition(registry_.TextExposition()),
            std::nullopt);
  EXPECT_THROW(ResponseDistribution(registry_, "c", "1"), ConfigError);
}

// ---------------------------------------------------------------------------
// Histograms, classes, items.

TEST_F(ResponseDistributionTest, HistogramBucketsAreExact) {
  auto rd = Make();
  // Bounds are inclusive upper bounds: 0.05 lands in le="0.05".
  for (double v : {0.0, 0.05, 0.05000001, 0.15, 0.5, 0.99, 1.0}) {
    rd->ObserveScore(v);
  }
  const Histogram::Snapshot h =
      Hist("mlmon_prediction_score", DefaultPredictionScoreBuckets());
  ASSERT_EQ(h.cumulative.size(), 21u);
  EXPECT_EQ(h.cumulative[0], 2u);   // 0, 0.05
  EXPECT_EQ(h.cumulative[1], 3u);   // 0.05000001
  EXPECT_EQ(h.cumulative[2], 4u);   // 0.15
  EXPECT_EQ(h.cumulative[9], 5u);   // 0.5
  EXPECT_EQ(h.cumulative[18], 5u);  // nothing in (0.9, 0.95]
  EXPECT_EQ(h.cumulative[19], 7u);  // 0.99, 1
  EXPECT_EQ(h.count, 7u);
  EXPECT_DOUBLE_EQ(h.sum, 0.0 + 0.05 + 0.05000001 + 0.15 + 0.5 + 0.99 + 1.0);
}

TEST_F(ResponseDistributionTest, BinaryClassesFollowTheDecisionThreshold) {
  ResponseSpec spec;
  spec.decision_threshold = 0.7;
  auto rd = Make(spec);
  for (double v : {0.1, 0.69999, 0.7, 0.71, 1.0}) rd->ObserveScore(v);
  EXPECT_EQ(Predictions("0"), 2);
  EXPECT_EQ(Predictions("1"), 3);  // score >= threshold
  EXPECT_EQ(Predictions("__other__"), 0);
  // The implicit names are bound too.
  rd->ObserveClass("1");
  rd->ObserveClass(rd->Class("0"));
  rd->ObserveClass("yes");
  EXPECT_EQ(Predictions("0"), 3);
  EXPECT_EQ(Predictions("1"), 4);
  EXPECT_EQ(Predictions("__other__"), 1);
}

TEST_F(ResponseDistributionTest, ConfiguredClassesAreCountedByObserveClass) {
  ResponseSpec spec;
  spec.classes = {"cat", "dog", "bird"};
  auto rd = Make(spec);
  const Handle dog = rd->Class("dog");
  rd->ObserveClass(dog);
  rd->ObserveClass(dog);
  rd->ObserveClass("cat");
  rd->ObserveClass("fish");  // not bound: __other__
  rd->ObserveClass("");
  rd->ObserveClass(Handle());  // default handle: __other__
  rd->ObserveClass(rd->Class("__other__"));
  rd->ObserveScore(0.9);  // scores count no class when classes are given
  EXPECT_EQ(Predictions("dog"), 2);
  EXPECT_EQ(Predictions("cat"), 1);
  EXPECT_EQ(Predictions("bird"), 0);
  EXPECT_EQ(Predictions("__other__"), 4);
  EXPECT_EQ(Dropped("unknown_name"), 0);
  try {
    rd->Class("fish");
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: ResponseDistribution::Class: not one of "
              "ResponseSpec.classes (fish)");
  }
}

TEST_F(ResponseDistributionTest, ManyClassesAreFoundByName) {
  ResponseSpec spec;
  for (int i = 0; i < 100; ++i) spec.classes.push_back("c" + std::to_string(i));
  auto rd = Make(spec);
  for (int i = 0; i < 100; ++i) {
    for (int k = 0; k <= i % 3; ++k) rd->ObserveClass("c" + std::to_string(i));
  }
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(Predictions("c" + std::to_string(i)), i % 3 + 1) << i;
  }
  EXPECT_EQ(Predictions("__other__"), 0);
}

TEST_F(ResponseDistributionTest, RegressionScoresCountUnderTheEmptyClass) {
  ResponseSpec spec;
  spec.value_range = ValueRange::kUnbounded;
  auto rd = Make(spec);
  for (double v : {-3.0, 0.0, 2.5, 1e15}) rd->ObserveScore(v);
  EXPECT_EQ(Predictions(""), 4);
}

TEST_F(ResponseDistributionTest, ItemsAndEmptyResponses) {
  auto rd = Make();
  for (std::size_t n : {0, 3, 10, 0, 150, 1}) rd->ObserveItems(n);
  rd->ObserveEmpty();
  EXPECT_EQ(Empty(), 3);  // two ObserveItems(0) and one ObserveEmpty
  const Histogram::Snapshot h =
      Hist("mlmon_response_items", DefaultResponseItemsBuckets());
  EXPECT_EQ(h.count, 6u);
  EXPECT_EQ(h.cumulative[0], 2u);  // le="0"
  EXPECT_EQ(h.cumulative[1], 3u);  // le="1"
  EXPECT_EQ(h.cumulative[3], 4u);  // le="3"
  EXPECT_EQ(h.cumulative[5], 5u);  // le="10"
  EXPECT_EQ(h.cumulative[8], 5u);  // le="100"
  EXPECT_EQ(h.cumulative[9], 6u);  // +Inf
  EXPECT_EQ(h.sum, 164.0);
}

TEST_F(ResponseDistributionTest, NonFiniteAndOutOfRangeScoresAreDropped) {
  auto rd = Make();
  for (double v : {kNaN, kInf, -kInf, 1.0000001, -0.0001, 42.0}) {
    rd->ObserveScore(v);
  }
  rd->ObserveScore(0.25);
  EXPECT_EQ(Dropped("nan"), 1);
  EXPECT_EQ(Dropped("inf"), 2);
  EXPECT_EQ(Dropped("invalid_value"), 3);
  EXPECT_EQ(
      Hist("mlmon_prediction_score", DefaultPredictionScoreBuckets()).count,
      1u);
  EXPECT_EQ(Predictions("0").value() + Predictions("1").value(), 1);
  rd->Tick();
  EXPECT_EQ(Stat("mean", "5m"), 0.25);

  // kUnbounded keeps any finite value, drops only NaN and Inf.
  Registry r2;
  ResponseSpec spec;
  spec.value_range = ValueRange::kUnbounded;
  ResponseDistribution reg(r2, "m", "1", spec, nullptr, &clock_);
  for (double v : {kNaN, -kInf, 1e300, -1e300, 42.0}) reg.ObserveScore(v);
  auto dropped = [&](const std::string& reason) {
    return testutil::SampleValue(
        r2, Series("mlmon_dropped_total", "reason=\"" + reason + "\""));
  };
  EXPECT_EQ(dropped("nan"), 1);
  EXPECT_EQ(dropped("inf"), 1);
  EXPECT_EQ(dropped("invalid_value"), 0);
  EXPECT_EQ(r2.AddHistogram("mlmon_prediction_score", "",
                            {"model", "version", "segment"})
                .Add({"m", "1", ""}, DefaultPredictionScoreBuckets())
                .Collect()
                .count,
            3u);
}

// ---------------------------------------------------------------------------
// Windowed quantiles and mean.

struct Dataset {
  const char* name;
  std::vector<double> values;
};

std::vector<Dataset> UnitDatasets() {
  testutil::DataGen gen(7);
  std::vector<Dataset> out = {
      {"uniform", {}}, {"beta(2,8)", {}}, {"bimodal", {}}, {"few", {}}};
  for (int i = 0; i < 20000; ++i) {
    out[0].values.push_back(gen.Uniform());
    out[1].values.push_back(gen.Beta(2.0, 8.0));
    const double v =
        gen.Bernoulli(0.3) ? gen.Normal(0.85, 0.03) : gen.Normal(0.2, 0.05);
    out[2].values.push_back(std::min(1.0, std::max(0.0, v)));
  }
  out[3].values = {0.0, 1.0, 0.5, 0.123456, 0.9999};
  return out;
}

TEST_F(ResponseDistributionTest, UnitIntervalQuantilesWithinHalfAFineBin) {
  for (std::size_t fine_bins : {2000u, 100u}) {
    for (const Dataset& d : UnitDatasets()) {
      Registry registry;
      ResponseSpec spec;
      spec.fine_bins = fine_bins;
      ResponseDistribution rd(registry, "m", "1", spec, nullptr, &clock_);
      for (double v : d.values) rd.ObserveScore(v);
      rd.Tick();
      std::vector<double> sorted = d.values;
      std::sort(sorted.begin(), sorted.end());
      const double bound = 0.5 / static_cast<double>(fine_bins) + 1e-12;
      for (const auto& [stat, q] : {std::pair<const char*, double>{"p50", 0.5},
                                    {"p90", 0.9},
                                    {"p99", 0.99}}) {
        for (const char* window : {"5m", "1h"}) {
          EXPECT_NEAR(
              testutil::ExposedValue(registry, WindowStat(stat, window)),
              ExactQuantile(sorted, q), bound)
              << d.name << " " << stat << " " << window << " " << fine_bins;
        }
      }
      double sum = 0;
      for (double v : d.values) sum += v;
      EXPECT_NEAR(testutil::ExposedValue(registry, WindowStat("mean", "5m")),
                  sum / static_cast<double>(d.values.size()), 1e-12)
          << d.name;
    }
  }
}

std::vector<Dataset> UnboundedDatasets() {
  testutil::DataGen gen(11);
  std::vector<Dataset> out = {{"lognormal", {}},
                              {"normal", {}},
                              {"bimodal with signs", {}},
                              {"near zero", {}},
                              {"extremes", {}}};
  for (int i = 0; i < 20000; ++i) {
    out[0].values.push_back(gen.LogNormal(0.0, 2.0));
    out[1].values.push_back(gen.Normal(100.0, 30.0));
    out[2].values.push_back(gen.Bernoulli(0.5) ? gen.Normal(200.0, 20.0)
                                               : gen.Normal(-50.0, 10.0));
    // Values around 1e-7 of both signs, and exact zeros.
    const double t = gen.Exponential(1e7);
    out[3].values.push_back(i % 10 == 0 ? 0.0 : (gen.Bernoulli(0.5) ? t : -t));
  }
  out[4].values = {-1e11, -2.5, 0.0, 1e-10, 3.0, 7.5e9, 9.9e11};
  return out;
}

TEST_F(ResponseDistributionTest, UnboundedQuantilesWithinOnePercent) {
  for (const Dataset& d : UnboundedDatasets()) {
    Registry registry;
    ResponseSpec spec;
    spec.value_range = ValueRange::kUnbounded;
    ResponseDistribution rd(registry, "m", "1", spec, nullptr, &clock_);
    for (double v : d.values) rd.ObserveScore(v);
    rd.Tick();
    std::vector<double> sorted = d.values;
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [stat, q] : {std::pair<const char*, double>{"p50", 0.5},
                                  {"p90", 0.9},
                                  {"p99", 0.99}}) {
      const double exact = ExactQuantile(sorted, q);
      const auto [a, b] = Neighbours(sorted, q);
      // The documented bound: alpha * |exact| when both neighbours have the
      // same sign, alpha * max(|a|, |b|) in general; plus the zero bin's
      // 1e-9 and rounding at bin edges.
      const double bound =
          kAlpha * std::max(std::fabs(a), std::fabs(b)) * (1 + 1e-9) +
          ResponseSpec::kLogMin;
      const double got =
          testutil::ExposedValue(registry, WindowStat(stat, "5m"));
      EXPECT_NEAR(got, exact, bound) << d.name << " " << stat;
      const bool same_sign = (a > 0 && b > 0) || (a < 0 && b < 0);
      if (same_sign &&
          std::min(std::fabs(a), std::fabs(b)) >= ResponseSpec::kLogMin) {
        EXPECT_LE(std::fabs(got - exact), 0.01 * std::fabs(exact))
            << d.name << " " << stat;
      }
    }
    double sum = 0;
    for (double v : d.values) sum += v;
    const double mean = sum / static_cast<double>(d.values.size());
    EXPECT_NEAR(testutil::ExposedValue(registry, WindowStat("mean", "5m")),
                mean, 1e-12 * std::max(1.0, std::fabs(mean)))
        << d.name;
  }
}

TEST_F(ResponseDistributionTest, MeanIsExact) {
  auto rd = Make();
  // Multiples of 1/8: every partial sum is exact.
  double sum = 0;
  int n = 0;
  for (int i = 0; i < 1000; ++i) {
    const double v = (i % 9) / 8.0;
    rd->ObserveScore(v);
    sum += v;
    ++n;
  }
  rd->Tick();
  EXPECT_EQ(Stat("mean", "5m"), sum / n);
  EXPECT_EQ(Stat("mean", "1h"), sum / n);
}

TEST_F(ResponseDistributionTest, ShortWindowForgetsOldDataLongWindowKeepsIt) {
  auto rd = Make();
  for (int i = 0; i < 100; ++i) rd->ObserveScore(0.125);
  rd->Tick();
  EXPECT_EQ(Stat("mean", "5m"), 0.125);
  EXPECT_NEAR(Stat("p50", "5m"), 0.125, kHalfBin);

  TickFor(*rd, minutes(6));  // the 0.125s are now older than 5 minutes
  for (int i = 0; i < 300; ++i) rd->ObserveScore(0.875);
  TickFor(*rd, seconds(5));

  EXPECT_EQ(Stat("mean", "5m"), 0.875);
  EXPECT_NEAR(Stat("p50", "5m"), 0.875, kHalfBin);
  EXPECT_NEAR(Stat("p99", "5m"), 0.875, kHalfBin);
  EXPECT_EQ(Stat("mean", "1h"), (100 * 0.125 + 300 * 0.875) / 400);
  // 1h: 100 low, 300 high -> p50 is high, and p10 would be low.
  EXPECT_NEAR(Stat("p50", "1h"), 0.875, kHalfBin);

  // An hour later the 1h window forgets the first batch too.
  TickFor(*rd, minutes(58), seconds(60));
  for (int i = 0; i < 10; ++i) rd->ObserveScore(0.5);
  TickFor(*rd, seconds(60), seconds(60));
  EXPECT_EQ(Stat("mean", "1h"), (300 * 0.875 + 10 * 0.5) / 310);
}

TEST_F(ResponseDistributionTest, EmptyWindowReadsNaN) {
  auto rd = Make();
  rd->Tick();
  EXPECT_TRUE(std::isnan(Stat("p50", "5m")));  // nothing observed yet
  for (int i = 0; i < 10; ++i) rd->ObserveScore(0.375);
  rd->Tick();
  EXPECT_EQ(Stat("mean", "5m"), 0.375);
  EXPECT_NEAR(Stat("p90", "5m"), 0.375, kHalfBin);
  TickFor(*rd, minutes(10));  // the 5m window is empty now: undefined
  EXPECT_TRUE(std::isnan(Stat("mean", "5m")));
  EXPECT_TRUE(std::isnan(Stat("p90", "5m")));
  EXPECT_EQ(Stat("mean", "1h"), 0.375);  // the 1h window still has them
  EXPECT_EQ(Dropped("nan"), 0);          // undefined is not a dropped value
}

TEST_F(ResponseDistributionTest, NoWindowsMeansNoWindowGauges) {
  ResponseSpec spec;
  spec.windows = {};
  auto rd = Make(spec);
  rd->ObserveScore(0.5);
  rd->Tick();
  EXPECT_EQ(registry_.TextExposition().find("mlmon_prediction_score_window"),
            std::string::npos);
}

// ---------------------------------------------------------------------------
// Drift.

TEST_F(ResponseDistributionTest, DriftAgainstTheReference) {
  const std::vector<double>& bounds = DefaultPredictionScoreBuckets();
  // Reference counts per bucket (the +Inf bucket is empty for scores).
  std::vector<double> ref_counts(21, 0.0);
  for (std::size_t i = 0; i < 20; ++i) {
    ref_counts[i] = 10.0 + 5.0 * static_cast<double>(i % 7);
  }
  ReferenceProfile ref = Reference(bounds, ref_counts);
  ResponseSpec spec;
  spec.drift_min_samples = 1;  // the values, not the gate (tested below)
  auto rd = Make(spec, &ref);

  // Window 1: exactly the reference's shape, times 3 (proportions equal).
  std::vector<double> fed(21, 0.0);
  for (std::size_t i = 0; i < 20; ++i) {
    const double mid = (static_cast<double>(i) + 0.5) / 20.0;
    for (int k = 0; k < 3 * static_cast<int>(ref_counts[i]); ++k) {
      rd->ObserveScore(mid);
    }
    fed[i] = 3 * ref_counts[i];
  }
  rd->Tick();
  const double same =
      PopulationStabilityIndex(fed.data(), ref_counts.data(), fed.size());
  EXPECT_NEAR(same, 0.0, 1e-12);
  EXPECT_NEAR(Drift("psi", "5m"), same, 1e-12);
  EXPECT_NEAR(Drift("js", "5m"), 0.0, 1e-12);
  EXPECT_NEAR(Drift("linf", "5m"), 0.0, 1e-12);
  EXPECT_NEAR(Drift("ks", "5m"), 0.0, 1e-12);

  // Window 2, six minutes later: the mass shifted up by 6 buckets.
  TickFor(*rd, minutes(6));
  std::vector<double> shifted(21, 0.0);
  for (std::size_t i = 0; i < 20; ++i) {
    const std::size_t to = std::min<std::size_t>(19, i + 6);
    const double mid = (static_cast<double>(to) + 0.5) / 20.0;
    for (int k = 0; k < static_cast<int>(ref_counts[i]); ++k) {
      rd->ObserveScore(mid);
    }
    shifted[to] += ref_counts[i];
  }
  TickFor(*rd, seconds(5));
  const double psi =
      PopulationStabilityIndex(shifted.data(), ref_counts.data(), 21);
  EXPECT_GT(psi, 0.25);
  EXPECT_NEAR(Drift("psi", "5m"), psi, 1e-9 * psi);
  EXPECT_NEAR(Drift("js", "5m"),
              JensenShannonDivergence(shifted.data(), ref_counts.data(), 21),
              1e-12);
  EXPECT_NEAR(Drift("linf", "5m"),
              LInfinityDistance(shifted.data(), ref_counts.data(), 21), 1e-12);
  EXPECT_NEAR(Drift("ks", "5m"),
              KolmogorovSmirnovDistance(shifted.data(), ref_counts.data(), 21),
              1e-12);
  // The hour holds both windows.
  std::vector<double> both(21);
  for (std::size_t i = 0; i < 21; ++i) both[i] = fed[i] + shifted[i];
  const double psi_1h =
      PopulationStabilityIndex(both.data(), ref_counts.data(), 21);
  EXPECT_NEAR(Drift("psi", "1h"), psi_1h, 1e-9 * psi_1h);
  EXPECT_LT(psi_1h, psi);
}

TEST_F(ResponseDistributionTest, DriftOfAnEmptyWindowIsNaN) {
  ReferenceProfile ref =
      Reference(DefaultPredictionScoreBuckets(), std::vector<double>(21, 1.0));
  auto rd = Make({}, &ref);
  EXPECT_EQ(Drift("psi", "5m"), 0.0);  // before the first Tick
  rd->Tick();
  EXPECT_TRUE(std::isnan(Drift("psi", "5m")));
  EXPECT_EQ(Dropped("nan"), 0);
}

TEST_F(ResponseDistributionTest, DriftWaitsForDriftMinSamples) {
  EXPECT_EQ(ResponseSpec{}.drift_min_samples, 500u);
  ReferenceProfile ref =
      Reference(DefaultPredictionScoreBuckets(), std::vector<double>(21, 1.0));
  ResponseSpec spec;
  spec.drift_min_samples = 50;
  auto rd = Make(spec, &ref);
  // current: n scores in bucket 0 (<= 0.05) vs a flat reference.
  auto psi_of = [](double n) {
    std::vector<double> c(21, 0.0), r(21, 1.0);
    c[0] = n;
    return PopulationStabilityIndex(c.data(), r.data(), 21);
  };
  rd->Tick();
  for (int i = 0; i < 49; ++i) rd->ObserveScore(0.01);
  TickFor(*rd, seconds(5));
  EXPECT_TRUE(std::isnan(Drift("psi", "5m")));  // 49 < 50: undefined
  EXPECT_TRUE(std::isnan(Drift("ks", "1h")));
  EXPECT_NEAR(Stat("p50", "5m"), 0.01, kHalfBin);  // quantiles do not wait
  rd->ObserveScore(0.01);
  TickFor(*rd, seconds(5));
  const double psi50 = psi_of(50);
  EXPECT_GT(psi50, 1.0);
  EXPECT_NEAR(Drift("psi", "5m"), psi50, 1e-9 * psi50);
  EXPECT_NEAR(Drift("psi", "1h"), psi50, 1e-9 * psi50);
  // Ten minutes later the 5m window is empty; 20 new scores spread evenly:
  // 5m holds 20 (< 50): undefined again (an alert on it resolves), 1h holds
  // 70 and is updated.
  TickFor(*rd, minutes(10));
  for (int i = 0; i < 20; ++i) rd->ObserveScore((i + 0.5) / 20.0);
  TickFor(*rd, seconds(5));
  EXPECT_TRUE(std::isnan(Drift("psi", "5m")));
  std::vector<double> both(21, 1.0), flat(21, 1.0);
  both[0] = 51;
  both[20] = 0;
  EXPECT_NEAR(Drift("psi", "1h"),
              PopulationStabilityIndex(both.data(), flat.data(), 21), 1e-9);
}

// ---------------------------------------------------------------------------
// The header's example.

TEST(ResponseDistributionExampleTest, HeaderExampleRuns) {
  mlmon::Registry registry;
  mlmon::ResponseSpec spec;
  spec.windows = {std::chrono::minutes(5)};
  mlmon::ResponseDistribution scores(registry, "fraud", "v7", spec);
  scores.ObserveScore(0.91);  // inference thread
  scores.Tick();              // window thread, every few seconds
  EXPECT_NE(
      registry.TextExposition().find(
          "mlmon_predictions_total{model=\"fraud\",version=\"v7\",segment=\"\","
          "class=\"1\"} 1"),
      std::string::npos);
}

// ---------------------------------------------------------------------------
// Concurrency.

TEST(ResponseDistributionConcurrencyTest, ExactTotalsWhileTickingAndScraping) {
  Registry registry;
  FakeClock clock;
  ReferenceProfile ref =
      Reference(DefaultPredictionScoreBuckets(), std::vector<double>(21, 1.0));
  ResponseSpec spec;
  spec.classes = {"a", "b"};
  ResponseDistribution rd(registry, "m", "1", spec, &ref, &clock);
  const ResponseDistribution::ClassHandle a = rd.Class("a");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Multiples of 1/1024: every partial sum is exact in any order.
        rd.ObserveScore(static_cast<double>((i * 7 + t) % 1025) / 1024.0);
        if (i % 2 == 0) {
          rd.ObserveClass(a);
        } else {
          rd.ObserveClass("b");
        }
        rd.ObserveItems(static_cast<std::size_t>(i % 4));
      }
      running.fetch_sub(1);
    });
  }
  Histogram& score = registry
                         .AddHistogram("mlmon_prediction_score", "",
                                       {"model", "version", "segment"})
                         .Add({"m", "1", ""}, DefaultPredictionScoreBuckets());
  std::uint64_t last = 0;
  int ticks = 0;
  while (running.load() > 0) {
    if (ticks < 1000) clock.Advance(seconds(1));  // stay within the hour
    rd.Tick();
    ++ticks;
    const std::string text = registry.TextExposition();
    ASSERT_FALSE(text.empty());
    const Histogram::Snapshot s = score.Collect();
    EXPECT_EQ(s.count, s.cumulative.back());
    EXPECT_GE(s.count, last);
    last = s.count;
  }
  for (auto& w : writers) w.join();
  rd.Tick();

  constexpr std::uint64_t kTotal =
      static_cast<std::uint64_t>(kThreads) * kPerThread;
  EXPECT_EQ(score.Collect().count, kTotal);
  EXPECT_EQ(testutil::SampleValue(
                registry, Series("mlmon_predictions_total", "class=\"a\"")),
            kTotal / 2);
  EXPECT_EQ(testutil::SampleValue(
                registry, Series("mlmon_predictions_total", "class=\"b\"")),
            kTotal / 2);
  EXPECT_EQ(
      testutil::SampleValue(registry, Series("mlmon_empty_responses_total")),
      kTotal / 4);
  double sum = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      sum += static_cast<double>((i * 7 + t) % 1025) / 1024.0;
    }
  }
  EXPECT_EQ(testutil::ExposedValue(registry, WindowStat("mean", "1h")),
            sum / static_cast<double>(kTotal));
}

}  // namespace
}  // namespace mlmon

namespace mlmon {
namespace {

// The hot path finds the score bucket through the fine bins; values on and
// next to every bound must land exactly where a plain Histogram puts them.
TEST(ResponseDistributionBucketTest, FineBinShortcutMatchesHistogramOnBounds) {
  Registry registry;
  ResponseSpec spec;  // 20 buckets of 0.05, 2000 fine bins
  ResponseDistribution dist(registry, "m", "1", spec);
  Histogram plain(spec.score_buckets);
  std::vector<double> values = {0.0, 1.0, 0.5};
  for (double b : spec.score_buckets) {
    values.push_back(b);
    values.push_back(std::nextafter(b, 0.0));
    values.push_back(std::min(1.0, std::nextafter(b, 2.0)));
  }
  for (int i = 0; i <= 2000; ++i) values.push_back(i / 2000.0);
  for (double v : values) {
    dist.ObserveScore(v);
    plain.Observe(v);
  }
  const Histogram::Snapshot want = plain.Collect();
  const std::string text = registry.TextExposition();
  for (std::size_t b = 0; b < spec.score_buckets.size(); ++b) {
    std::string le;
    internal::AppendValue(&le, spec.score_buckets[b]);
    const std::string series =
        "mlmon_prediction_score_bucket{model=\"m\",version=\"1\",segment=\"\","
        "le=\"" +
        le + "\"}";
    EXPECT_EQ(testutil::SampleValue(text, series),
              static_cast<double>(want.cumulative[b]))
        << series;
  }
}

}  // namespace
}  // namespace mlmon
