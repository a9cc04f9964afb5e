// ShadowComparison: exact counts against numpy (tests/shadow_reference.py
// writes tests/data/shadow_reference.json), the named edge cases, set-up
// errors, and concurrent recording.

#include "mlmon/shadow_comparison.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mlmon/errors.h"
#include "mlmon/registry.h"
#include "testing/reference_data.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using Task = ShadowComparisonOptions::Task;
using testutil::SampleValue;

static_assert(noexcept(std::declval<ShadowComparison&>().RecordScores(0.1,
                                                                      0.2)));
static_assert(noexcept(std::declval<ShadowComparison&>().RecordLabels("a",
                                                                      "b")));

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The labels of the comparison every test builds: model m, champion 1,
// challenger 2.
constexpr const char* kWho = R"(model="m",version="1",challenger="2")";

double Comparisons(const Registry& r) {
  return SampleValue(
             r, std::string("mlmon_shadow_comparisons_total{") + kWho + "}")
      .value_or(-1);
}

double Disagreements(const Registry& r, const std::string& threshold) {
  return SampleValue(r, std::string("mlmon_shadow_disagreements_total{") +
                            kWho + ",threshold=\"" + threshold + "\"}")
      .value_or(-1);
}

double Dropped(const Registry& r, const std::string& reason) {
  return SampleValue(r,
                     "mlmon_dropped_total{model=\"m\",version=\"1\","
                     "reason=\"" +
                         reason + "\"}")
      .value_or(-1);
}

// The `_bucket` values of the difference histogram, in the order written
// (bounds ascending, then +Inf), read line by line.
std::vector<double> Buckets(const Registry& r) {
  const std::string prefix =
      std::string("mlmon_shadow_absolute_difference_bucket{") + kWho + ",le=";
  std::vector<double> out;
  std::istringstream in(r.TextExposition());
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, prefix.size(), prefix) != 0) continue;
    out.push_back(std::stod(line.substr(line.rfind(' ') + 1)));
  }
  return out;
}

void ExpectHistogram(const Registry& r, const nlohmann::json& expected) {
  const std::vector<double> buckets = Buckets(r);
  const auto& cumulative = expected["cumulative"];
  ASSERT_EQ(buckets.size(), cumulative.size());
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    EXPECT_EQ(buckets[i], cumulative[i].get<double>()) << "bucket " << i;
  }
  testutil::ExpectRel(
      SampleValue(
          r, std::string("mlmon_shadow_absolute_difference_sum{") + kWho + "}")
          .value_or(-1),
      expected["sum"].get<double>(), "sum");
}

TEST(ShadowComparisonTest, BinaryMatchesNumpy) {
  const nlohmann::json ref = testutil::LoadReference("shadow_reference.json");
  const auto& b = ref["binary"];
  Registry registry;
  ShadowComparisonOptions o;
  o.thresholds = b["thresholds"].get<std::vector<double>>();
  o.difference_buckets = b["bounds"].get<std::vector<double>>();
  ShadowComparison shadow(registry, "m", "1", "2", o);
  const auto champion = b["champion"].get<std::vector<double>>();
  const auto challenger = b["challenger"].get<std::vector<double>>();
  ASSERT_EQ(champion.size(), challenger.size());
  for (std::size_t i = 0; i < champion.size(); ++i) {
    shadow.RecordScores(champion[i], challenger[i]);
  }
  EXPECT_EQ(Comparisons(registry), b["comparisons"].get<double>());
  const std::vector<std::string> labels = {"0.3", "0.5", "0.7"};
  for (std::size_t i = 0; i < labels.size(); ++i) {
    EXPECT_EQ(Disagreements(registry, labels[i]),
              b["disagreements"][i].get<double>())
        << labels[i];
  }
  ExpectHistogram(registry, b["difference"]);
  EXPECT_EQ(Dropped(registry, "nan"), 0);
}

TEST(ShadowComparisonTest, RegressionMatchesNumpy) {
  const nlohmann::json ref = testutil::LoadReference("shadow_reference.json");
  const auto& g = ref["regression"];
  Registry registry;
  ShadowComparisonOptions o;
  o.task = Task::kRegression;
  o.difference_buckets = g["bounds"].get<std::vector<double>>();
  ShadowComparison shadow(registry, "m", "1", "2", o);
  const auto champion = g["champion"].get<std::vector<double>>();
  const auto challenger = g["challenger"].get<std::vector<double>>();
  for (std::size_t i = 0; i < champion.size(); ++i) {
    shadow.RecordScores(champion[i], challenger[i]);
  }
  EXPECT_EQ(Comparisons(registry), g["comparisons"].get<double>());
  ExpectHistogram(registry, g["difference"]);
  // Regression has no decision, so no disagreement series.
  EXPECT_EQ(registry.TextExposition().find(
                "mlmon_shadow_disagreements_total{model=\"m\""),
            std::string::npos);
}

TEST(ShadowComparisonTest, MulticlassMatchesNumpy) {
  const nlohmann::json ref = testutil::LoadReference("shadow_reference.json");
  const auto& m = ref["multiclass"];
  Registry registry;
  ShadowComparisonOptions o;
  o.task = Task::kMulticlass;
  ShadowComparison shadow(registry, "m", "1", "2", o);
  const auto champion = m["champion"].get<std::vector<std::string>>();
  const auto challenger = m["challenger"].get<std::vector<std::string>>();
  for (std::size_t i = 0; i < champion.size(); ++i) {
    shadow.RecordLabels(champion[i], challenger[i]);
  }
  EXPECT_EQ(Comparisons(registry), m["comparisons"].get<double>());
  EXPECT_EQ(Disagreements(registry, ""), m["disagreements"].get<double>());
  // Multiclass has no score difference.
  EXPECT_EQ(registry.TextExposition().find(
                "mlmon_shadow_absolute_difference_count{model=\"m\""),
            std::string::npos);
}

TEST(ShadowComparisonTest, EverySeriesExistsAtZeroFromConstruction) {
  Registry registry;
  ShadowComparisonOptions o;
  o.thresholds = {0.25, 0.5};
  ShadowComparison shadow(registry, "m", "1", "2", o);
  EXPECT_EQ(Comparisons(registry), 0);
  EXPECT_EQ(Disagreements(registry, "0.25"), 0);
  EXPECT_EQ(Disagreements(registry, "0.5"), 0);
  EXPECT_EQ(Buckets(registry).size(),
            DefaultShadowDifferenceBuckets().size() + 1);
  EXPECT_EQ(Dropped(registry, "nan"), 0);
}

TEST(ShadowComparisonTest, BinaryEdgeCases) {
  Registry registry;
  ShadowComparisonOptions o;
  o.thresholds = {0.5};
  ShadowComparison shadow(registry, "m", "1", "2", o);
  struct Case {
    const char* edge_case;
    double champion, challenger;
    double comparisons, disagreements;  // after the call
    const char* dropped;                // reason counted, or null
  };
  const double below = std::nextafter(0.5, 0.0);
  const Case cases[] = {
      {"equal scores at the threshold agree", 0.5, 0.5, 1, 0, nullptr},
      {"just below vs at the threshold disagree", below, 0.5, 2, 1, nullptr},
      {"at vs just below the threshold disagree", 0.5, below, 3, 2, nullptr},
      {"both below agree", 0.1, below, 4, 2, nullptr},
      {"the interval ends are valid scores", 0.0, 1.0, 5, 3, nullptr},
      {"NaN champion", kNaN, 0.5, 5, 3, "nan"},
      {"NaN challenger", 0.5, kNaN, 5, 3, "nan"},
      {"NaN on both sides is one drop", kNaN, kNaN, 5, 3, "nan"},
      {"+Inf challenger", 0.5, kInf, 5, 3, "inf"},
      {"-Inf champion", -kInf, 0.5, 5, 3, "inf"},
      {"champion above 1", 1.5, 0.5, 5, 3, "invalid_value"},
      {"challenger below 0", 0.5, -0.01, 5, 3, "invalid_value"},
  };
  double nan = 0, inf = 0, invalid = 0;
  for (const Case& c : cases) {
    shadow.RecordScores(c.champion, c.challenger);
    if (c.dropped != nullptr) {
      const std::string r = c.dropped;
      (r == "nan" ? nan : r == "inf" ? inf : invalid) += 1;
    }
    EXPECT_EQ(Comparisons(registry), c.comparisons) << c.edge_case;
    EXPECT_EQ(Disagreements(registry, "0.5"), c.disagreements) << c.edge_case;
    EXPECT_EQ(Dropped(registry, "nan"), nan) << c.edge_case;
    EXPECT_EQ(Dropped(registry, "inf"), inf) << c.edge_case;
    EXPECT_EQ(Dropped(registry, "invalid_value"), invalid) << c.edge_case;
  }
  // A call that does not fit the task: labels on a binary comparison.
  shadow.RecordLabels("a", "b");
  EXPECT_EQ(Dropped(registry, "invalid_value"), invalid + 1);
  EXPECT_EQ(Comparisons(registry), 5);
}

TEST(ShadowComparisonTest, RegressionEdgeCases) {
  Registry registry;
  ShadowComparisonOptions o;
  o.task = Task::kRegression;
  o.difference_buckets = {1, 10};
  ShadowComparison shadow(registry, "m", "1", "2", o);
  shadow.RecordScores(-5.0, 5.0);  // outside [0, 1] is fine for regression
  EXPECT_EQ(Comparisons(registry), 1);
  // Two finite values whose difference overflows.
  shadow.RecordScores(1.7e308, -1.7e308);
  EXPECT_EQ(Dropped(registry, "inf"), 1);
  shadow.RecordScores(kNaN, 1.0);
  EXPECT_EQ(Dropped(registry, "nan"), 1);
  EXPECT_EQ(Comparisons(registry), 1);
  EXPECT_EQ(Buckets(registry), (std::vector<double>{0, 1, 1}));
}

TEST(ShadowComparisonTest, MulticlassEdgeCases) {
  Registry registry;
  ShadowComparisonOptions o;
  o.task = Task::kMulticlass;
  o.thresholds.clear();  // ignored by multiclass
  ShadowComparison shadow(registry, "m", "1", "2", o);
  shadow.RecordLabels("cat", "cat");
  EXPECT_EQ(Disagreements(registry, ""), 0) << "equal labels agree";
  shadow.RecordLabels("a", "ab");
  EXPECT_EQ(Disagreements(registry, ""), 1) << "a prefix is another label";
  shadow.RecordLabels("ab", "a");
  EXPECT_EQ(Disagreements(registry, ""), 2) << "labels of different lengths";
  shadow.RecordLabels(std::string_view("x\0y", 3), std::string_view("x\0z", 3));
  EXPECT_EQ(Disagreements(registry, ""), 3) << "bytes after a NUL count";
  EXPECT_EQ(Comparisons(registry), 4);
  shadow.RecordLabels("", "cat");
  shadow.RecordLabels("cat", "");
  shadow.RecordLabels("", "");
  EXPECT_EQ(Dropped(registry, "invalid_value"), 3) << "empty labels";
  shadow.RecordScores(0.1, 0.2);
  EXPECT_EQ(Dropped(registry, "invalid_value"), 4) << "scores on multiclass";
  EXPECT_EQ(Comparisons(registry), 4);
}

// Set-up errors: the exact message of each.
TEST(ShadowComparisonTest, SetUpErrorsNameTheSetting) {
  const auto err = [](ShadowComparisonOptions o, std::string model = "m",
                      std::string version = "1",
                      std::string challenger = "2") -> std::string {
    Registry registry;
    try {
      ShadowComparison s(registry, model, version, challenger, o);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  ShadowComparisonOptions ok;
  EXPECT_EQ(err(ok), "no error");
  EXPECT_EQ(err(ok, ""), "mlmon: ShadowComparison.model: must not be empty");
  EXPECT_EQ(err(ok, "m", ""),
            "mlmon: ShadowComparison.version: must not be empty");
  EXPECT_EQ(err(ok, "m", "1", ""),
            "mlmon: ShadowComparison.challenger: must not be empty");
  EXPECT_EQ(err(ok, "m", "1", "1"),
            "mlmon: ShadowComparison.challenger: is the champion version (1)");
  ShadowComparisonOptions o = ok;
  o.thresholds.clear();
  EXPECT_EQ(err(o),
            "mlmon: ShadowComparisonOptions.thresholds: empty; a binary task "
            "needs at least one");
  o.thresholds = {0.5, 1.0};
  EXPECT_EQ(err(o),
            "mlmon: ShadowComparisonOptions.thresholds[1]: not in (0, 1) (1)");
  o.thresholds = {0.0};
  EXPECT_EQ(err(o),
            "mlmon: ShadowComparisonOptions.thresholds[0]: not in (0, 1) (0)");
  o.thresholds = {kNaN};
  EXPECT_EQ(
      err(o),
      "mlmon: ShadowComparisonOptions.thresholds[0]: not in (0, 1) (nan)");
  o.thresholds = {0.2, 0.4, 0.2};
  EXPECT_EQ(err(o),
            "mlmon: ShadowComparisonOptions.thresholds[2]: repeated (0.2)");
  o.thresholds = std::vector<double>(17, 0.5);
  for (std::size_t i = 0; i < 17; ++i) o.thresholds[i] = (i + 1) / 20.0;
  EXPECT_EQ(err(o),
            "mlmon: ShadowComparisonOptions.thresholds: more than 16 values "
            "(17)");
  o = ok;
  o.difference_buckets = {};
  EXPECT_THAT(err(o), ::testing::StartsWith(
                          "mlmon: ShadowComparisonOptions.difference_buckets"));
  o.difference_buckets = {1, 0.5};
  EXPECT_THAT(err(o),
              ::testing::StartsWith(
                  "mlmon: ShadowComparisonOptions.difference_buckets[1]: "));
  o.task = Task::kMulticlass;  // no histogram: its bounds are not used
  EXPECT_EQ(err(o), "no error");
  o.task = static_cast<Task>(7);
  EXPECT_EQ(err(o), "mlmon: ShadowComparisonOptions.task: not a task (7)");
}

// Threads recording on one comparison lose no count (TSan in CI).
TEST(ShadowComparisonTest, ConcurrentRecordingIsExact) {
  Registry registry;
  ShadowComparisonOptions o;
  o.thresholds = {0.5};
  o.difference_buckets = {0.15, 0.5};
  ShadowComparison shadow(registry, "m", "1", "2", o);
  constexpr int kThreads = 4, kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&shadow] {
      for (int i = 0; i < kPerThread; ++i) {
        // 1 in 4 disagrees at 0.5 (difference 0.2); the rest agree
        // (difference 0.1); 1 in 10 is NaN.
        if (i % 10 == 9) {
          shadow.RecordScores(kNaN, 0.5);
        } else if (i % 4 == 0) {
          shadow.RecordScores(0.4, 0.6);
        } else {
          shadow.RecordScores(0.6, 0.7);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  // Per thread, over i in [0, 20000): 2000 NaN; of the rest, i % 4 == 0
  // and i % 10 != 9: 5000 multiples of 4 minus those ending in 9 mod 10
  // (none: a multiple of 4 is even).
  const double compared = kThreads * (kPerThread - kPerThread / 10);
  const double disagreeing = kThreads * (kPerThread / 4);
  EXPECT_EQ(Comparisons(registry), compared);
  EXPECT_EQ(Disagreements(registry, "0.5"), disagreeing);
  EXPECT_EQ(Dropped(registry, "nan"), kThreads * (kPerThread / 10));
  EXPECT_EQ(Buckets(registry),
            (std::vector<double>{compared - disagreeing, compared, compared}));
}

}  // namespace
}  // namespace mlmon
