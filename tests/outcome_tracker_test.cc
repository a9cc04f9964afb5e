#include "mlmon/outcome_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "testing/reference_data.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Task = OutcomeSpec::Task;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

static_assert(noexcept(
    std::declval<OutcomeTracker&>().RecordPrediction(std::string_view(), 0.5)));
static_assert(noexcept(std::declval<OutcomeTracker&>().RecordPrediction(
    std::string_view(), std::string_view())));
static_assert(noexcept(std::declval<OutcomeTracker&>().RecordRanking(
    std::string_view(), nullptr, 0)));
static_assert(noexcept(
    std::declval<OutcomeTracker&>().RecordOutcome(std::string_view(), 1.0)));
static_assert(noexcept(std::declval<OutcomeTracker&>().RecordOutcome(
    std::string_view(), std::string_view(), 1.0)));
static_assert(noexcept(std::declval<OutcomeTracker&>().RecordLabeled(0.5,
                                                                     1.0)));
static_assert(noexcept(std::declval<OutcomeTracker&>().RecordLabeled(
    std::string_view(), std::string_view())));
static_assert(noexcept(std::declval<OutcomeTracker&>().RecordLabeledRanking(
    nullptr, 0, std::string_view())));

using testutil::ExposedValue;

using testutil::ExpectRel;
using testutil::LoadReference;

class OutcomeTrackerTest : public ::testing::Test {
 protected:
  std::unique_ptr<OutcomeTracker> Make(OutcomeSpec spec) {
    return std::make_unique<OutcomeTracker>(registry_, "m", "1",
                                            std::move(spec), &clock_);
  }
  static OutcomeSpec Binary() {
    OutcomeSpec s;
    s.thresholds = {0.3, 0.5, 0.7};
    return s;
  }
  double Quality(const std::string& metric, const std::string& window,
                 const std::string& threshold = "", const std::string& k = "") {
    return ExposedValue(
        registry_,
        "mlmon_model_quality{model=\"m\",version=\"1\",segment=\"\","
        "metric=\"" +
            metric + "\",window=\"" + window + "\",threshold=\"" + threshold +
            "\",k=\"" + k + "\"}");
  }
  double Metric(const std::string& name, const std::string& extra = "") {
    return ExposedValue(registry_,
                        name + testutil::ModelLabels(name, "m", "1") +
                            (extra.empty() ? "" : "," + extra) + "}");
  }
  double Outcomes(const std::string& result) {
    return Metric("mlmon_outcomes_total", "result=\"" + result + "\"");
  }
  double Dropped(const std::string& reason) {
    return Metric("mlmon_dropped_total", "reason=\"" + reason + "\"");
  }

  FakeClock clock_;
  Registry registry_;
};

// --- scikit-learn reference values --------------------------------------

TEST_F(OutcomeTrackerTest, BinaryQualityMatchesScikitLearn) {
  const auto ref = LoadReference("binary_reference.json");
  auto t = Make(Binary());
  const auto& ids = ref["ids"];
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(t->RecordPrediction(ids[i].get<std::string>(),
                                    ref["scores"][i].get<double>()));
  }
  clock_.Advance(minutes(5));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(t->RecordOutcome(ids[i].get<std::string>(),
                               ref["outcomes"][i].get<double>()),
              OutcomeResult::kMatched);
  }
  t->Tick();
  for (const char* w : {"1h", "1d"}) {
    for (const auto& at : ref["at_threshold"]) {
      const double threshold = at["threshold"].get<double>();
      const std::string tl = threshold == 0.3   ? "0.3"
                             : threshold == 0.5 ? "0.5"
                                                : "0.7";
      ExpectRel(Quality("precision", w, tl), at["precision"], "precision");
      ExpectRel(Quality("recall", w, tl), at["recall"], "recall");
      ExpectRel(Quality("f1", w, tl), at["f1"], "f1");
      ExpectRel(Quality("accuracy", w, tl), at["accuracy"], "accuracy");
      struct Cell {
        const char* name;
        const char* predicted;
        const char* actual;
      };
      for (const Cell& c : {Cell{"tp", "1", "1"}, Cell{"fp", "1", "0"},
                            Cell{"fn", "0", "1"}, Cell{"tn", "0", "0"}}) {
        EXPECT_EQ(Metric("mlmon_confusion_total",
                         "threshold=\"" + tl + "\",predicted=\"" + c.predicted +
                             "\",actual=\"" + c.actual + "\""),
                  at["confusion"][c.name].get<double>())
            << tl << " " << c.name;
      }
    }
    EXPECT_NEAR(Quality("auc", w), ref["roc_auc"].get<double>(), 0.002);
    ExpectRel(Quality("brier", w), ref["brier"], "brier");
    ExpectRel(Quality("log_loss", w), ref["log_loss"], "log_loss");
    ExpectRel(Quality("ece", w), ref["ece"], "ece");
    EXPECT_EQ(Quality("samples", w), static_cast<double>(ids.size()));
  }
  EXPECT_EQ(Outcomes("matched"), static_cast<double>(ids.size()));
  EXPECT_EQ(Metric("mlmon_pending_predictions"), 0);
  EXPECT_DOUBLE_EQ(Metric("mlmon_outcome_delay_seconds_sum"),
                   300.0 * static_cast<double>(ids.size()));
  const double positives = static_cast<double>(
      std::count(ref["outcomes"].begin(), ref["outcomes"].end(), 1));
  EXPECT_EQ(Metric("mlmon_outcome_score_count", "actual=\"1\""), positives);
}

TEST_F(OutcomeTrackerTest, SelfContainedBinaryOutcomesMatchScikitLearn) {
  const auto ref = LoadReference("binary_reference.json");
  auto t = Make(Binary());
  for (std::size_t i = 0; i < ref["scores"].size(); ++i) {
    ASSERT_EQ(t->RecordLabeled(ref["scores"][i].get<double>(),
                               ref["outcomes"][i].get<double>()),
              OutcomeResult::kMatched);
  }
  t->Tick();
  ExpectRel(Quality("f1", "1h", "0.5"), ref["at_threshold"][1]["f1"], "f1");
  ExpectRel(Quality("log_loss", "1h"), ref["log_loss"], "log_loss");
  EXPECT_NEAR(Quality("auc", "1h"), ref["roc_auc"].get<double>(), 0.002);
}

TEST_F(OutcomeTrackerTest, RegressionQualityMatchesScikitLearn) {
  const auto ref = LoadReference("regression_reference.json");
  OutcomeSpec spec;
  spec.task = Task::kRegression;
  auto t = Make(spec);
  const auto& ids = ref["ids"];
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(t->RecordPrediction(ids[i].get<std::string>(),
                                    ref["predictions"][i].get<double>()));
  }
  double sq = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(t->RecordOutcome(ids[i].get<std::string>(),
                               ref["actuals"][i].get<double>()),
              OutcomeResult::kMatched);
    const double e =
        ref["actuals"][i].get<double>() - ref["predictions"][i].get<double>();
    sq += e * e;
  }
  t->Tick();
  ExpectRel(Quality("mae", "1h"), ref["mae"], "mae");
  ExpectRel(Quality("rmse", "1h"), ref["rmse"], "rmse");
  ExpectRel(Quality("mape", "1d"), ref["mape"], "mape");
  ExpectRel(Metric("mlmon_squared_error_total"), sq, "squared error");
  ExpectRel(Metric("mlmon_absolute_error_sum") / ids.size(), ref["mae"],
            "histogram MAE");
}

TEST_F(OutcomeTrackerTest, MulticlassQualityMatchesScikitLearn) {
  const auto ref = LoadReference("multiclass_reference.json");
  OutcomeSpec spec;
  spec.task = Task::kMulticlass;
  spec.classes = ref["classes"].get<std::vector<std::string>>();
  auto t = Make(spec);
  const auto& ids = ref["ids"];
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(t->RecordPrediction(ids[i].get<std::string>(),
                                    ref["predicted"][i].get<std::string>()));
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(t->RecordOutcome(ids[i].get<std::string>(),
                               ref["actual"][i].get<std::string>()),
              OutcomeResult::kMatched);
  }
  t->Tick();
  ExpectRel(Quality("accuracy", "1h"), ref["accuracy"], "accuracy");
  ExpectRel(Quality("precision", "1h"), ref["macro_precision"], "precision");
  ExpectRel(Quality("recall", "1h"), ref["macro_recall"], "recall");
  ExpectRel(Quality("f1", "1h"), ref["macro_f1"], "f1");
  double diagonal = 0;
  for (const auto& c : spec.classes) {
    diagonal +=
        Metric("mlmon_confusion_total",
               "threshold=\"\",predicted=\"" + c + "\",actual=\"" + c + "\"");
  }
  ExpectRel(diagonal / ids.size(), ref["accuracy"], "confusion diagonal");
}

TEST_F(OutcomeTrackerTest, RankingQualityMatchesScikitLearn) {
  const auto ref = LoadReference("ranking_reference.json");
  OutcomeSpec spec;
  spec.task = Task::kRanking;
  spec.k = ref["k"].get<std::vector<std::size_t>>();
  auto t = Make(spec);
  const auto items = ref["items"].get<std::vector<std::string>>();
  const auto& ids = ref["ids"];
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::vector<std::string_view> list;
    for (const auto& j : ref["rankings"][i])
      list.push_back(items[j.get<int>()]);
    ASSERT_TRUE(
        t->RecordRanking(ids[i].get<std::string>(), list.data(), list.size()));
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(t->RecordOutcome(ids[i].get<std::string>(),
                               items[ref["chosen"][i].get<int>()]),
              OutcomeResult::kMatched);
  }
  t->Tick();
  for (std::size_t j = 0; j < spec.k.size(); ++j) {
    ExpectRel(Quality("hit_rate", "1h", "", std::to_string(spec.k[j])),
              ref["hit_rate"][j], "hit_rate");
  }
  for (std::size_t j = 0; j < spec.k.size(); ++j) {
    ExpectRel(Quality("ndcg", "1h", "", std::to_string(spec.k[j])),
              ref["ndcg"][j], "ndcg");
  }
  ExpectRel(Quality("mrr", "1h"), ref["mrr"], "mrr");
  // hit@1 from the rank histogram's first bucket.
  ExpectRel(Metric("mlmon_outcome_rank_bucket", "le=\"1\"") / ids.size(),
            ref["hit_rate"][0], "rank histogram");
}

// --- join edge cases ------------------------------------------------------

TEST_F(OutcomeTrackerTest, FullStoreEvictsOldestAndCounts) {
  OutcomeSpec spec = Binary();
  spec.pending_capacity = 4;
  auto t = Make(spec);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(t->RecordPrediction("p" + std::to_string(i), 0.9));
  }
  EXPECT_EQ(Metric("mlmon_pending_evicted_total"), 2);
  EXPECT_EQ(Metric("mlmon_pending_predictions"), 4);
  EXPECT_EQ(t->pending(), 4u);
  EXPECT_EQ(t->RecordOutcome("p0", 1), OutcomeResult::kUnmatched);
  EXPECT_EQ(t->RecordOutcome("p1", 1), OutcomeResult::kUnmatched);
  EXPECT_EQ(t->RecordOutcome("p2", 1), OutcomeResult::kMatched);
  EXPECT_EQ(Metric("mlmon_pending_predictions"), 3);
}

TEST_F(OutcomeTrackerTest, OutcomeBeforePredictionIsUnmatched) {
  auto t = Make(Binary());
  EXPECT_EQ(t->RecordOutcome("early", 1), OutcomeResult::kUnmatched);
  EXPECT_EQ(Outcomes("unmatched"), 1);
  EXPECT_TRUE(t->RecordPrediction("early", 0.8));
  EXPECT_EQ(t->pending(), 1u);  // the early outcome is not replayed
}

TEST_F(OutcomeTrackerTest, ExpiredPredictionIsUnmatchedAndCounted) {
  OutcomeSpec spec = Binary();
  spec.outcome_ttl = seconds(60);
  auto t = Make(spec);
  ASSERT_TRUE(t->RecordPrediction("a", 0.4));
  ASSERT_TRUE(t->RecordPrediction("b", 0.4));
  clock_.Advance(seconds(59));
  t->Tick();
  EXPECT_EQ(Metric("mlmon_predictions_expired_total"), 0);
  clock_.Advance(seconds(1));
  // Past the TTL the outcome does not match, even before Tick runs.
  EXPECT_EQ(t->RecordOutcome("a", 1), OutcomeResult::kUnmatched);
  EXPECT_EQ(Metric("mlmon_predictions_expired_total"), 1);
  t->Tick();
  EXPECT_EQ(Metric("mlmon_predictions_expired_total"), 2);
  EXPECT_EQ(Metric("mlmon_pending_predictions"), 0);
  EXPECT_EQ(t->RecordOutcome("b", 1), OutcomeResult::kUnmatched);
  EXPECT_EQ(Outcomes("unmatched"), 2);
  EXPECT_EQ(Outcomes("matched"), 0);
  EXPECT_EQ(Quality("samples", "1h"), 0);
}

TEST_F(OutcomeTrackerTest, DuplicateOutcomeChangesNothingButItsCounter) {
  auto t = Make(Binary());
  ASSERT_TRUE(t->RecordPrediction("a", 0.8));
  ASSERT_EQ(t->RecordOutcome("a", 1), OutcomeResult::kMatched);
  t->Tick();
  auto without_duplicates = [&] {
    std::string text = registry_.TextExposition();
    const auto pos = text.find("result=\"duplicate\"");
    return text.substr(0, pos) + text.substr(text.find('\n', pos));
  };
  const std::string before = without_duplicates();
  EXPECT_EQ(t->RecordOutcome("a", 1), OutcomeResult::kDuplicate);
  EXPECT_EQ(t->RecordOutcome("a", 0), OutcomeResult::kDuplicate);
  t->Tick();
  EXPECT_EQ(without_duplicates(), before);
  EXPECT_EQ(Outcomes("duplicate"), 2);
  EXPECT_EQ(Outcomes("matched"), 1);
  // Predicting an id that already has its outcome is refused.
  EXPECT_FALSE(t->RecordPrediction("a", 0.1));
  EXPECT_EQ(Dropped("invalid_value"), 1);
}

TEST_F(OutcomeTrackerTest, IdTooLongIsDroppedAndCounted) {
  auto t = Make(Binary());
  const std::string max_id(OutcomeTracker::kMaxIdBytes, 'i');
  const std::string long_id(OutcomeTracker::kMaxIdBytes + 1, 'i');
  EXPECT_TRUE(t->RecordPrediction(max_id, 0.5));
  EXPECT_FALSE(t->RecordPrediction(long_id, 0.5));
  EXPECT_EQ(Dropped("id_too_long"), 1);
  EXPECT_EQ(t->RecordOutcome(long_id, 1), OutcomeResult::kInvalid);
  EXPECT_EQ(Dropped("id_too_long"), 2);
  EXPECT_EQ(t->RecordOutcome(max_id, 1), OutcomeResult::kMatched);
  EXPECT_FALSE(t->RecordPrediction("", 0.5));
  EXPECT_EQ(t->RecordOutcome("", 1), OutcomeResult::kInvalid);
}

TEST_F(OutcomeTrackerTest, NonFiniteAndOutOfRangeScoresAreDroppedAndCounted) {
  auto t = Make(Binary());
  EXPECT_FALSE(t->RecordPrediction("a", kNaN));
  EXPECT_EQ(Dropped("nan"), 1);
  EXPECT_FALSE(t->RecordPrediction("a", 1.5));
  EXPECT_FALSE(t->RecordPrediction("a", -0.1));
  EXPECT_EQ(Dropped("invalid_value"), 2);
  EXPECT_FALSE(t->RecordPrediction("a", std::string_view("cat")));  // task
  EXPECT_EQ(t->pending(), 0u);
  EXPECT_EQ(t->RecordLabeled(kNaN, 1), OutcomeResult::kInvalid);
  EXPECT_EQ(t->RecordLabeled(1.5, 1), OutcomeResult::kInvalid);
  EXPECT_EQ(t->RecordLabeled(-0.1, 0), OutcomeResult::kInvalid);
  // None of them reached the ECE bins (or any other quality sum).
  t->Tick();
  EXPECT_TRUE(std::isnan(Quality("ece", "1h")));
  EXPECT_EQ(Quality("samples", "1h"), 0);
  t.reset();  // one tracker per model version: its counters go with it

  OutcomeSpec reg;
  reg.task = Task::kRegression;
  OutcomeTracker r(registry_, "m", "1", reg, &clock_);
  EXPECT_FALSE(
      r.RecordPrediction("a", std::numeric_limits<double>::infinity()));
  EXPECT_EQ(Dropped("inf"), 1);
  EXPECT_TRUE(r.RecordPrediction("a", -1234.5));
}

TEST_F(OutcomeTrackerTest, InvalidBinaryOutcomeIsRejectedAndConsumesNothing) {
  auto t = Make(Binary());
  ASSERT_TRUE(t->RecordPrediction("a", 0.6));
  for (double bad : {0.5, 2.0, -1.0, kNaN}) {
    EXPECT_EQ(t->RecordOutcome("a", bad), OutcomeResult::kInvalid) << bad;
  }
  EXPECT_EQ(t->RecordOutcome("a", std::string_view("1")),
            OutcomeResult::kInvalid);
  EXPECT_EQ(t->RecordOutcome("a", 1.0, std::numeric_limits<double>::infinity()),
            OutcomeResult::kInvalid);
  EXPECT_EQ(Outcomes("invalid"), 6);
  t->CountInvalidOutcome();  // e.g. an unparseable feedback line
  EXPECT_EQ(Outcomes("invalid"), 7);
  EXPECT_EQ(t->pending(), 1u);
  EXPECT_EQ(t->RecordOutcome("a", 1.0), OutcomeResult::kMatched);
}

TEST_F(OutcomeTrackerTest, ScoreEqualToThresholdIsPositive) {
  auto t = Make(Binary());
  EXPECT_EQ(t->RecordLabeled(0.5, 0), OutcomeResult::kMatched);
  EXPECT_EQ(Metric("mlmon_confusion_total",
                   "threshold=\"0.5\",predicted=\"1\",actual=\"0\""),
            1);
  EXPECT_EQ(Metric("mlmon_confusion_total",
                   "threshold=\"0.7\",predicted=\"0\",actual=\"0\""),
            1);
}

TEST_F(OutcomeTrackerTest, RepredictingAPendingIdReplacesItsScore) {
  auto t = Make(Binary());
  ASSERT_TRUE(t->RecordPrediction("a", 0.1));
  ASSERT_TRUE(t->RecordPrediction("a", 0.9));
  EXPECT_EQ(Metric("mlmon_pending_predictions"), 1);
  ASSERT_EQ(t->RecordOutcome("a", 1), OutcomeResult::kMatched);
  EXPECT_EQ(Metric("mlmon_confusion_total",
                   "threshold=\"0.5\",predicted=\"1\",actual=\"1\""),
            1);
}

TEST_F(OutcomeTrackerTest, DelayAndLastOutcomeTimestamp) {
  auto t = Make(Binary());
  const double t0 = clock_.UnixSeconds();
  ASSERT_TRUE(t->RecordPrediction("a", 0.5));
  ASSERT_TRUE(t->RecordPrediction("b", 0.5));
  clock_.Advance(seconds(30));
  ASSERT_EQ(t->RecordOutcome("a", 1), OutcomeResult::kMatched);
  EXPECT_DOUBLE_EQ(Metric("mlmon_outcome_delay_seconds_sum"), 30);
  EXPECT_DOUBLE_EQ(Metric("mlmon_last_outcome_timestamp_seconds"), t0 + 30);
  // An explicit outcome time: it happened 10 s after the prediction.
  ASSERT_EQ(t->RecordOutcome("b", 0, t0 + 10), OutcomeResult::kMatched);
  EXPECT_DOUBLE_EQ(Metric("mlmon_outcome_delay_seconds_sum"), 40);
  EXPECT_EQ(Metric("mlmon_outcome_delay_seconds_bucket", "le=\"10\""), 1);
  // The timestamp never goes back.
  EXPECT_DOUBLE_EQ(Metric("mlmon_last_outcome_timestamp_seconds"), t0 + 30);
}

TEST_F(OutcomeTrackerTest, OutcomeTimeBeyondClockSkewIsInvalidAndNotApplied) {
  OutcomeSpec spec = Binary();  // max_clock_skew: the default 5 min
  auto t = Make(spec);
  const double now = clock_.UnixSeconds();
  ASSERT_TRUE(t->RecordPrediction("a", 0.9));
  OutcomeRefusal why = OutcomeRefusal::kNone;
  // Far in the future: a unit error (ms) or a broken clock.
  EXPECT_EQ(t->RecordOutcome("a", 1, 9999999999.0, &why),
            OutcomeResult::kInvalid);
  EXPECT_EQ(why, OutcomeRefusal::kFutureTime);
  // Just past the skew; huge but finite.
  EXPECT_EQ(t->RecordOutcome("a", 1, now + 300.5, &why),
            OutcomeResult::kInvalid);
  EXPECT_EQ(why, OutcomeRefusal::kFutureTime);
  EXPECT_EQ(t->RecordOutcome("a", 1, 1e300, &why), OutcomeResult::kInvalid);
  EXPECT_EQ(why, OutcomeRefusal::kFutureTime);
  // Negative and infinite times.
  EXPECT_EQ(t->RecordOutcome("a", 1, -1.0, &why), OutcomeResult::kInvalid);
  EXPECT_EQ(why, OutcomeRefusal::kBadTime);
  EXPECT_EQ(
      t->RecordOutcome("a", 1, std::numeric_limits<double>::infinity(), &why),
      OutcomeResult::kInvalid);
  EXPECT_EQ(why, OutcomeRefusal::kBadTime);
  // The label overload checks the same way.
  EXPECT_EQ(t->RecordOutcome("a", std::string_view("x"), now + 1e6, &why),
            OutcomeResult::kInvalid);
  EXPECT_EQ(why, OutcomeRefusal::kFutureTime);
  // Nothing was applied: no delay, no timestamp, the prediction still waits.
  EXPECT_EQ(Outcomes("invalid"), 6);
  EXPECT_EQ(Outcomes("matched"), 0);
  EXPECT_EQ(Metric("mlmon_outcome_delay_seconds_count"), 0);
  EXPECT_EQ(Metric("mlmon_outcome_delay_seconds_sum"), 0);
  t->Tick();
  EXPECT_EQ(Metric("mlmon_last_outcome_timestamp_seconds"), 0);
  EXPECT_EQ(t->pending(), 1u);
  // Within the skew (a sender clock a little ahead): accepted, delay as told.
  clock_.Advance(seconds(10));
  EXPECT_EQ(t->RecordOutcome("a", 1, now + 10 + 299, &why),
            OutcomeResult::kMatched);
  EXPECT_EQ(why, OutcomeRefusal::kNone);
  EXPECT_DOUBLE_EQ(Metric("mlmon_outcome_delay_seconds_sum"), 309);
  EXPECT_DOUBLE_EQ(Metric("mlmon_last_outcome_timestamp_seconds"),
                   now + 10 + 299);
}

TEST_F(OutcomeTrackerTest, ClockSkewIsRelativeToTheTrackersClock) {
  OutcomeSpec spec = Binary();
  spec.max_clock_skew = seconds(0);
  auto t = Make(spec);
  const double t0 = clock_.UnixSeconds();
  ASSERT_TRUE(t->RecordPrediction("a", 0.9));
  EXPECT_EQ(t->RecordOutcome("a", 1, t0 + 3600), OutcomeResult::kInvalid);
  // Once the (injected) clock reaches that time, as in `mlmon replay`, the
  // same outcome is accepted.
  clock_.Advance(hours(1));
  EXPECT_DOUBLE_EQ(t->UnixNow(), t0 + 3600);
  EXPECT_EQ(t->RecordOutcome("a", 1, t0 + 3600), OutcomeResult::kMatched);
}

TEST_F(OutcomeTrackerTest, OutcomeTimeFarInThePastIsAcceptedWithZeroDelay) {
  auto t = Make(Binary());
  ASSERT_TRUE(t->RecordPrediction("a", 0.9));
  ASSERT_TRUE(t->RecordPrediction("b", 0.9));
  clock_.Advance(seconds(20));
  // The epoch itself, and a time before the prediction: the delay is not
  // negative, and the last outcome time only moves forward.
  EXPECT_EQ(t->RecordOutcome("a", 1, 0.0), OutcomeResult::kMatched);
  EXPECT_EQ(Metric("mlmon_outcome_delay_seconds_sum"), 0);
  EXPECT_EQ(Metric("mlmon_outcome_delay_seconds_bucket", "le=\"1\""), 1);
  EXPECT_EQ(t->RecordOutcome("b", 1), OutcomeResult::kMatched);
  EXPECT_DOUBLE_EQ(Metric("mlmon_last_outcome_timestamp_seconds"),
                   clock_.UnixSeconds());
}

TEST_F(OutcomeTrackerTest, PendingNeverExceedsCapacityWhateverTheSharding) {
  // 100,000 over 64 shards does not divide evenly (1562.5 per shard).
  for (std::size_t capacity : {std::size_t{100000}, std::size_t{4099}}) {
    Registry registry;
    OutcomeSpec spec = Binary();
    spec.pending_capacity = capacity;
    OutcomeTracker t(registry, "m", "1", spec, &clock_);
    const std::size_t n = 3 * capacity + 17;
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(t.RecordPrediction("p" + std::to_string(i), 0.5));
    }
    EXPECT_EQ(t.pending(), capacity);
    EXPECT_EQ(ExposedValue(registry,
                           "mlmon_pending_predictions{model=\"m\","
                           "version=\"1\"}"),
              static_cast<double>(capacity));
    EXPECT_EQ(ExposedValue(registry,
                           "mlmon_pending_evicted_total{model=\"m\","
                           "version=\"1\"}"),
              static_cast<double>(n - capacity));
  }
}

TEST_F(OutcomeTrackerTest, WindowDropsDataOlderThanItsSpan) {
  auto t = Make(Binary());
  for (int i = 0; i < 10; ++i) {  // 10 correct positives
    ASSERT_EQ(t->RecordLabeled(0.9, 1), OutcomeResult::kMatched);
  }
  t->Tick();
  EXPECT_EQ(Quality("accuracy", "1h", "0.5"), 1);
  clock_.Advance(minutes(61));
  for (int i = 0; i < 10; ++i) {  // 10 wrong
    ASSERT_EQ(t->RecordLabeled(0.9, 0), OutcomeResult::kMatched);
  }
  t->Tick();
  EXPECT_EQ(Quality("samples", "1h"), 10);
  EXPECT_EQ(Quality("accuracy", "1h", "0.5"), 0);
  EXPECT_EQ(Quality("samples", "1d"), 20);
  EXPECT_EQ(Quality("accuracy", "1d", "0.5"), 0.5);
  EXPECT_EQ(Quality("precision", "1d", "0.5"), 0.5);
  clock_.Advance(hours(23));  // the first batch is now 24h01m old
  t->Tick();
  EXPECT_EQ(Quality("samples", "1h"), 0);
  // Undefined (no samples): NaN, never a fake 0.
  EXPECT_TRUE(std::isnan(Quality("accuracy", "1h", "0.5")));
  EXPECT_TRUE(std::isnan(Quality("precision", "1h", "0.5")));
  // ... and the HELP text says so.
  const std::string text = registry_.TextExposition();
  const std::size_t help = text.find("# HELP mlmon_model_quality ");
  ASSERT_NE(help, std::string::npos);
  const std::string help_line = text.substr(help, text.find('\n', help) - help);
  EXPECT_NE(help_line.find("are NaN"), std::string::npos) << help_line;
  EXPECT_EQ(Quality("samples", "1d"), 10);
  clock_.Advance(hours(2));
  t->Tick();
  EXPECT_EQ(Quality("samples", "1d"), 0);
  // The raw counters keep everything.
  EXPECT_EQ(Outcomes("matched"), 20);
}

TEST_F(OutcomeTrackerTest, UnknownClassesAreDroppedOrInvalid) {
  OutcomeSpec spec;
  spec.task = Task::kMulticlass;
  spec.classes = {"cat", "dog"};
  auto t = Make(spec);
  EXPECT_FALSE(t->RecordPrediction("a", std::string_view("cow")));
  EXPECT_EQ(Dropped("unknown_name"), 1);
  EXPECT_TRUE(t->RecordPrediction("a", std::string_view("dog")));
  EXPECT_EQ(t->RecordOutcome("a", std::string_view("cow")),
            OutcomeResult::kInvalid);
  EXPECT_EQ(t->RecordOutcome("a", 1.0), OutcomeResult::kInvalid);
  EXPECT_EQ(t->RecordOutcome("a", std::string_view("cat")),
            OutcomeResult::kMatched);
  EXPECT_EQ(Metric("mlmon_confusion_total",
                   "threshold=\"\",predicted=\"dog\",actual=\"cat\""),
            1);
  EXPECT_EQ(t->RecordLabeled(std::string_view("cat"), std::string_view("cat")),
            OutcomeResult::kMatched);
  t->Tick();
  EXPECT_EQ(Quality("accuracy", "1h"), 0.5);
}

TEST_F(OutcomeTrackerTest, RankingMissIsRankMaxKPlusOne) {
  OutcomeSpec spec;
  spec.task = Task::kRanking;
  spec.k = {1, 3};
  auto t = Make(spec);
  const std::string_view items[] = {"a", "b", "c", "d", "e"};
  ASSERT_TRUE(t->RecordRanking("r1", items, 5));
  ASSERT_TRUE(t->RecordRanking("r2", items, 5));
  ASSERT_TRUE(t->RecordRanking("r3", nullptr, 0));  // empty response
  EXPECT_EQ(t->RecordOutcome("r1", std::string_view("d")),
            OutcomeResult::kMatched);  // 4th: beyond max(k)
  EXPECT_EQ(t->RecordOutcome("r2", std::string_view("b")),
            OutcomeResult::kMatched);
  EXPECT_EQ(t->RecordOutcome("r3", std::string_view("a")),
            OutcomeResult::kMatched);
  EXPECT_EQ(t->RecordLabeledRanking(items, 5, "a"), OutcomeResult::kMatched);
  EXPECT_EQ(Metric("mlmon_outcome_rank_bucket", "le=\"3\""), 2);
  EXPECT_EQ(Metric("mlmon_outcome_rank_sum"), 4 + 2 + 4 + 1);
  t->Tick();
  EXPECT_EQ(Quality("hit_rate", "1h", "", "1"), 0.25);
  EXPECT_EQ(Quality("hit_rate", "1h", "", "3"), 0.5);
  EXPECT_EQ(Quality("mrr", "1h"), (0.5 + 1.0) / 4);
  // A miss (beyond max(k), or an empty response) gains 0; rank 2 gains
  // 1 / log2(3) at k = 3 only.
  EXPECT_EQ(Quality("ndcg", "1h", "", "1"), 0.25);
  EXPECT_DOUBLE_EQ(Quality("ndcg", "1h", "", "3"),
                   (1.0 + 1.0 / std::log2(3.0)) / 4);
}

// --- set-up validation ----------------------------------------------------

void ExpectBadSpec(const OutcomeSpec& spec, const std::string& field) {
  Registry registry;
  try {
    OutcomeTracker t(registry, "m", "1", spec);
    ADD_FAILURE() << "no ConfigError for " << field;
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("mlmon: OutcomeSpec." + field, 0), 0u)
        << e.what();
  }
}

TEST_F(OutcomeTrackerTest, BadSpecThrowsConfigErrorNamingTheField) {
  OutcomeSpec s;
  s.thresholds = {1.5};
  ExpectBadSpec(s, "thresholds[0]: not in (0, 1) (1.5)");
  s.thresholds = {0.5, 0.5};
  ExpectBadSpec(s, "thresholds[1]: repeated (0.5)");
  s.thresholds = {};
  ExpectBadSpec(s, "thresholds: empty");
  s = OutcomeSpec();
  s.task = Task::kMulticlass;
  ExpectBadSpec(s, "classes: empty");
  s.classes = {"a", "a"};
  ExpectBadSpec(s, "classes[1]: repeated (a)");
  s.classes = std::vector<std::string>(101, "x");
  ExpectBadSpec(s, "classes: more than 100 values (101)");
  s = OutcomeSpec();
  s.task = Task::kRanking;
  s.k = {0};
  ExpectBadSpec(s, "k[0]: not in [1, 100] (0)");
  s = OutcomeSpec();
  s.outcome_ttl = seconds(0);
  ExpectBadSpec(s, "outcome_ttl: not in [1s, 3650d] (0s)");
  s = OutcomeSpec();
  s.max_clock_skew = seconds(-1);
  ExpectBadSpec(s, "max_clock_skew: not in [0s, 3650d] (-1s)");
  s = OutcomeSpec();
  s.pending_capacity = 0;
  ExpectBadSpec(s, "pending_capacity: not in [1, 100000000] (0)");
  s = OutcomeSpec();
  s.windows = {hours(1), minutes(60)};
  ExpectBadSpec(s, "windows[1]: repeated (3600s)");
  s.windows = {seconds(-5)};
  ExpectBadSpec(s, "windows[0]: not in [1s, 3650d] (-5s)");
  s.windows = {hours(24 * 3651)};
  ExpectBadSpec(s, "windows[0]: not in [1s, 3650d] (315446400s)");
  s.windows.clear();
  for (int i = 1; i <= 9; ++i) s.windows.push_back(seconds(i));
  ExpectBadSpec(s, "windows: more than 8 values (9)");
  s = OutcomeSpec();
  s.slices_per_window = 0;
  ExpectBadSpec(s, "slices_per_window: not in [1, 3600] (0)");
  s = OutcomeSpec();
  s.auc_bins = 3;
  ExpectBadSpec(s, "auc_bins: not in [16, 65536] (3)");
  s = OutcomeSpec();
  s.delay_buckets = {2, 1};
  ExpectBadSpec(
      s, "delay_buckets[1]: not greater than the bound before it, 2 (1)");
  s.delay_buckets = {};
  ExpectBadSpec(s, "delay_buckets: empty; at least one bound is needed");
  s.delay_buckets = {1, std::numeric_limits<double>::infinity()};
  ExpectBadSpec(s, "delay_buckets[1]: not finite (+Inf is implicit) (inf)");
  s = OutcomeSpec();
  s.task = static_cast<Task>(7);
  ExpectBadSpec(s, "task: not a known task (7)");
  s = OutcomeSpec();
  s.task = Task::kMulticlass;
  s.classes = {"a", ""};
  ExpectBadSpec(s, "classes[1]: empty");
  s = OutcomeSpec();
  s.task = Task::kRanking;
  s.k = {3, 3};
  ExpectBadSpec(s, "k[1]: repeated (3)");
  s.k = {3};
  s.rank_buckets = {1, 1};
  ExpectBadSpec(s, "rank_buckets[1]: not greater than the bound before it");
  s = OutcomeSpec();
  s.thresholds = std::vector<double>(17, 0.5);
  ExpectBadSpec(s, "thresholds: more than 16 values (17)");
}

TEST_F(OutcomeTrackerTest, TooManyConfusionCellsNameTheRegistryLimit) {
  Registry::Options options;
  options.max_series_per_family = 8;
  Registry registry(options);
  OutcomeSpec s;
  s.task = Task::kMulticlass;
  s.classes = {"a", "b", "c"};  // 9 cells > 8
  try {
    OutcomeTracker t(registry, "m", "1", s);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: OutcomeSpec.classes: 9 confusion cells exceed "
                 "Registry::Options::max_series_per_family = 8 (3 values)");
  }
}

TEST_F(OutcomeTrackerTest, EmptyModelIsRefused) {
  Registry registry;
  try {
    OutcomeTracker t(registry, "", "1", OutcomeSpec());
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "mlmon: OutcomeTracker.model: must not be empty");
  }
}

// --- pure functions -------------------------------------------------------

TEST(OutcomeFunctionsTest, FormatDurationUsesTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(hours(1)), "1h");
  EXPECT_EQ(FormatDuration(hours(24)), "1d");
  EXPECT_EQ(FormatDuration(hours(24 * 7)), "7d");
  EXPECT_EQ(FormatDuration(minutes(30)), "30m");
  EXPECT_EQ(FormatDuration(minutes(90)), "90m");
  EXPECT_EQ(FormatDuration(hours(36)), "36h");
  EXPECT_EQ(FormatDuration(seconds(45)), "45s");
  EXPECT_THROW(FormatDuration(seconds(0)), ConfigError);
}

// --- concurrency ----------------------------------------------------------

TEST(OutcomeTrackerConcurrencyTest,
     ConcurrentOutcomesForOneIdMatchExactlyOnce) {
  Registry registry;
  FakeClock clock;
  OutcomeTracker t(registry, "m", "1", OutcomeSpec(), &clock);
  const int ids = 2000, threads = 4;
  for (int i = 0; i < ids; ++i) {
    ASSERT_TRUE(t.RecordPrediction("id" + std::to_string(i), 0.7));
  }
  std::atomic<int> matched{0}, duplicate{0};
  std::vector<std::thread> pool;
  for (int th = 0; th < threads; ++th) {
    pool.emplace_back([&] {
      for (int i = 0; i < ids; ++i) {
        const OutcomeResult r = t.RecordOutcome("id" + std::to_string(i), 1);
        if (r == OutcomeResult::kMatched) ++matched;
        if (r == OutcomeResult::kDuplicate) ++duplicate;
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(matched.load(), ids);
  EXPECT_EQ(duplicate.load(), ids * (threads - 1));
  t.Tick();
  const std::string text = registry.TextExposition();
  EXPECT_NE(
      text.find("mlmon_confusion_total{model=\"m\",version=\"1\",segment=\"\","
                "threshold=\"0.5\",predicted=\"1\",actual=\"1\"} 2000\n"),
      std::string::npos);
  EXPECT_EQ(t.pending(), 0u);
}

TEST(OutcomeTrackerConcurrencyTest,
     AccountingHoldsWhilePredictingJoiningTicking) {
  Registry registry;
  FakeClock clock;
  OutcomeSpec spec;
  spec.pending_capacity = 5000;  // small: evictions happen
  spec.outcome_ttl = seconds(30);
  OutcomeTracker t(registry, "m", "1", spec, &clock);
  const int writers = 2, per_writer = 20000;
  std::atomic<bool> done{false};
  std::atomic<long> matched{0}, other{0};
  std::vector<std::thread> pool;
  for (int w = 0; w < writers; ++w) {
    pool.emplace_back([&, w] {
      for (int i = 0; i < per_writer; ++i) {
        const std::string id =
            "w" + std::to_string(w) + "-" + std::to_string(i);
        t.RecordPrediction(id, (i % 100) / 100.0);
        if (i >= 3) {
          const std::string old =
              "w" + std::to_string(w) + "-" + std::to_string(i - 3);
          const OutcomeResult r = t.RecordOutcome(old, i % 2);
          (r == OutcomeResult::kMatched ? matched : other)++;
        }
      }
    });
  }
  pool.emplace_back([&] {  // the window thread / scrape
    while (!done.load()) {
      clock.Advance(std::chrono::milliseconds(50));
      t.Tick();
      const std::string text = registry.TextExposition();
      EXPECT_NE(text.find("mlmon_model_quality"), std::string::npos);
    }
  });
  for (int w = 0; w < writers; ++w) pool[w].join();
  done.store(true);
  pool.back().join();
  t.Tick();
  const double expired = ExposedValue(
      registry, "mlmon_predictions_expired_total{model=\"m\",version=\"1\"}");
  const double evicted = ExposedValue(
      registry, "mlmon_pending_evicted_total{model=\"m\",version=\"1\"}");
  const double pending = ExposedValue(
      registry, "mlmon_pending_predictions{model=\"m\",version=\"1\"}");
  EXPECT_EQ(pending, static_cast<double>(t.pending()));
  // Every prediction is matched, still pending, expired or evicted.
  EXPECT_EQ(static_cast<double>(matched.load()) + pending + expired + evicted,
            static_cast<double>(writers * per_writer));
  EXPECT_EQ(ExposedValue(
                registry,
                "mlmon_outcomes_total{model=\"m\",version=\"1\",segment=\"\","
                "result=\"matched\"}"),
            static_cast<double>(matched.load()));
}

}  // namespace
}  // namespace mlmon
