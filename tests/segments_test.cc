// Segments: the lock-free table of segment values, and the segmented series
// of OutcomeTracker and ResponseDistribution (staged until a Tick, adding up
// to the whole model, bounded by max_values).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "internal/segment_table.h"
#include "mlmon/clock.h"
#include "mlmon/errors.h"
#include "mlmon/outcome_tracker.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"

namespace mlmon {
namespace {

using internal::SegmentTable;

TEST(SegmentTableTest, NumbersValuesInTheOrderFirstSeen) {
  SegmentTable t(3);
  EXPECT_EQ(t.Find(""), SegmentTable::kNone);
  EXPECT_EQ(t.Find("DE"), 1u);
  EXPECT_EQ(t.Find("FR"), 2u);
  EXPECT_EQ(t.Find("DE"), 1u);
  EXPECT_EQ(t.Find("US"), 3u);
  EXPECT_EQ(t.Find("IT"), t.other());  // past max_values
  EXPECT_EQ(t.Find("IT"), t.other());
  EXPECT_EQ(t.Find("FR"), 2u);  // known values keep their index
  EXPECT_EQ(t.other(), 4u);
  std::string v;
  ASSERT_TRUE(t.ValueOf(2, &v));
  EXPECT_EQ(v, "FR");
  EXPECT_FALSE(t.ValueOf(0, &v));
  EXPECT_FALSE(t.ValueOf(4, &v));
}

TEST(SegmentTableTest, LongValuesFoldAndPeekNeverAdds) {
  SegmentTable t(2);
  const std::string longest(SegmentSpec::kMaxValueBytes, 'a');
  const std::string too_long(SegmentSpec::kMaxValueBytes + 1, 'a');
  EXPECT_EQ(t.Peek("x"), t.other());
  EXPECT_EQ(t.Find(too_long), t.other());
  EXPECT_EQ(t.Find(longest), 1u);
  EXPECT_EQ(t.Peek(longest), 1u);
  EXPECT_EQ(t.Peek("y"), t.other());
  EXPECT_EQ(t.Find("y"), 2u);  // Peek took no index
  // Values that differ only after a common prefix, and in size.
  SegmentTable u(4);
  EXPECT_EQ(u.Find("ab"), 1u);
  EXPECT_EQ(u.Find("abc"), 2u);
  EXPECT_EQ(u.Find("a"), 3u);
  EXPECT_EQ(u.Find("ab"), 1u);
  // Values the exposition could not tell apart from others never take an
  // index: a NUL or control character, bytes that are not UTF-8, the
  // reserved labels.
  EXPECT_EQ(u.Find(std::string("a\0b", 3)), u.other());
  EXPECT_EQ(u.Find("a\tb"), u.other());
  EXPECT_EQ(u.Find("\xff"), u.other());
  EXPECT_EQ(u.Find("__other__"), u.other());
  EXPECT_EQ(u.Find("__overflow__"), u.other());
  EXPECT_EQ(u.Find("M\xc3\xbcnchen"), 4u);  // UTF-8 is fine
}

// Threads racing on first sightings: every value gets one index for all of
// them, indexes 1..max go to distinct values, and nothing else gets one.
// (Run under TSan by CI.)
TEST(SegmentTableTest, RacingFirstSightingsAgree) {
  constexpr int kThreads = 4;
  constexpr int kValues = 300;
  for (int round = 0; round < 20; ++round) {
    SegmentTable t(50);
    std::vector<std::vector<std::uint32_t>> seen(
        kThreads, std::vector<std::uint32_t>(kValues));
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int k = 0; k < kThreads; ++k) {
      threads.emplace_back([&, k] {
        while (!go.load()) {
        }
        for (int i = 0; i < kValues; ++i) {
          // Each thread walks the values from another start.
          const int v = (i + k * 37) % kValues;
          seen[k][v] = t.Find("segment-" + std::to_string(v));
        }
      });
    }
    go.store(true);
    for (auto& th : threads) th.join();
    std::map<std::uint32_t, int> owner;
    for (int v = 0; v < kValues; ++v) {
      for (int k = 1; k < kThreads; ++k) {
        ASSERT_EQ(seen[k][v], seen[0][v]) << "value " << v;
      }
      const std::uint32_t i = seen[0][v];
      ASSERT_GE(i, 1u);
      ASSERT_LE(i, t.other());
      if (i != t.other()) {
        ASSERT_EQ(owner.count(i), 0u) << "index " << i << " given twice";
        owner[i] = v;
        std::string value;
        ASSERT_TRUE(t.ValueOf(i, &value));
        EXPECT_EQ(value, "segment-" + std::to_string(v));
      }
    }
    EXPECT_EQ(owner.size(), 50u);
  }
}

double Sample(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(SegmentedOutcomesTest, CountInTheSegmentOfThePrediction) {
  Registry registry;
  FakeClock clock;
  OutcomeSpec spec;
  spec.thresholds = {0.5};
  spec.windows = {};
  spec.all_time_window = true;
  spec.segments = {"country", 2};
  OutcomeTracker t(registry, "m", "1", spec, &clock);
  ASSERT_TRUE(t.RecordPrediction("a", 0.9, "DE"));
  ASSERT_TRUE(t.RecordPrediction("b", 0.2, "FR"));
  ASSERT_TRUE(t.RecordPrediction("c", 0.8, "US"));  // third value: __other__
  ASSERT_TRUE(t.RecordPrediction("d", 0.7));        // none: segment=""
  ASSERT_TRUE(t.RecordPrediction("e", 0.6, "DE"));
  // Series of a value appear at the next Tick, not at its first sighting.
  EXPECT_EQ(registry.TextExposition().find("segment=\"DE\""),
            std::string::npos);
  EXPECT_EQ(t.RecordOutcome("a", 1.0), OutcomeResult::kMatched);
  EXPECT_EQ(t.RecordOutcome("b", 1.0), OutcomeResult::kMatched);
  EXPECT_EQ(t.RecordOutcome("c", 0.0), OutcomeResult::kMatched);
  EXPECT_EQ(t.RecordOutcome("d", 0.0), OutcomeResult::kMatched);
  EXPECT_EQ(t.RecordOutcome("e", 0.0), OutcomeResult::kMatched);
  EXPECT_EQ(t.RecordOutcome("zz", 0.0), OutcomeResult::kUnmatched);
  t.Tick();
  const std::string text = registry.TextExposition();
  const std::string c =
      "mlmon_confusion_total{model=\"m\",version=\"1\",segment=";
  // DE: a (p1,a1), e (p1,a0).
  EXPECT_EQ(
      Sample(text,
             c + "\"DE\",threshold=\"0.5\",predicted=\"1\",actual=\"1\"}"),
      1);
  EXPECT_EQ(
      Sample(text,
             c + "\"DE\",threshold=\"0.5\",predicted=\"1\",actual=\"0\"}"),
      1);
  EXPECT_EQ(
      Sample(text,
             c + "\"FR\",threshold=\"0.5\",predicted=\"0\",actual=\"1\"}"),
      1);
  EXPECT_EQ(
      Sample(
          text,
          c + "\"__other__\",threshold=\"0.5\",predicted=\"1\",actual=\"0\"}"),
      1);
  EXPECT_EQ(
      Sample(text, c + "\"\",threshold=\"0.5\",predicted=\"1\",actual=\"0\"}"),
      1);
  // The unsegmented cells hold only d: nothing counted twice.
  EXPECT_EQ(
      Sample(text, c + "\"\",threshold=\"0.5\",predicted=\"1\",actual=\"1\"}"),
      0);
  const std::string o =
      "mlmon_outcomes_total{model=\"m\",version=\"1\",segment=";
  EXPECT_EQ(Sample(text, o + "\"DE\",result=\"matched\"}"), 2);
  EXPECT_EQ(Sample(text, o + "\"\",result=\"matched\"}"), 1);
  EXPECT_EQ(Sample(text, o + "\"\",result=\"unmatched\"}"), 1);
  EXPECT_EQ(Sample(text,
                   "mlmon_segment_folds_total{model=\"m\",version=\"1\",signal="
                   "\"outcomes\"}"),
            1);
  // Quality: segment="" is the whole model (5 outcomes), DE its own 2.
  const std::string q =
      "mlmon_model_quality{model=\"m\",version=\"1\",segment=";
  EXPECT_EQ(
      Sample(
          text,
          q + "\"\",metric=\"samples\",window=\"all\",threshold=\"\",k=\"\"}"),
      5);
  EXPECT_EQ(Sample(text, q + "\"DE\",metric=\"samples\",window=\"all\","
                             "threshold=\"\",k=\"\"}"),
            2);
  EXPECT_EQ(Sample(text, q + "\"DE\",metric=\"precision\",window=\"all\","
                             "threshold=\"0.5\",k=\"\"}"),
            0.5);
  EXPECT_EQ(text.find(q + "\"DE\",metric=\"auc\""), std::string::npos);
  EXPECT_NE(text.find(q + "\"\",metric=\"auc\""), std::string::npos);
}

TEST(SegmentedOutcomesTest, WithoutSegmentsTheValueIsIgnored) {
  Registry registry;
  OutcomeSpec spec;
  OutcomeTracker t(registry, "m", "1", spec);
  ASSERT_TRUE(t.RecordPrediction("a", 0.9, "DE"));
  EXPECT_EQ(t.RecordOutcome("a", 1.0), OutcomeResult::kMatched);
  t.Tick();
  const std::string text = registry.TextExposition();
  EXPECT_EQ(text.find("segment=\"DE\""), std::string::npos);
  EXPECT_EQ(text.find("mlmon_segment_folds_total"), std::string::npos);
}

TEST(SegmentedOutcomesTest, BadSegmentSpecsAreNamed) {
  Registry registry;
  OutcomeSpec spec;
  spec.segments = {"country", 0};
  try {
    OutcomeTracker t(registry, "m", "1", spec);
    FAIL() << "max_values 0 accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("OutcomeSpec.segments.max_values"),
              std::string::npos)
        << e.what();
  }
  spec.segments = {"coun try", 5};
  EXPECT_THROW(OutcomeTracker(registry, "m", "1", spec), ConfigError);
  spec.segments = {"country", SegmentSpec::kMaxValues + 1};
  EXPECT_THROW(OutcomeTracker(registry, "m", "1", spec), ConfigError);
}

TEST(SegmentedDistributionTest, ScoresClassesAndEmptyBySegment) {
  Registry registry;
  FakeClock clock;
  ResponseSpec spec;
  spec.segments = {"device", 1};
  ResponseDistribution d(registry, "m", "1", spec, nullptr, &clock);
  d.ObserveScore(0.9, {}, "ios");
  d.ObserveScore(0.1, "id-7", "ios");
  d.ObserveScore(0.8, {}, "android");  // folds into __other__
  d.ObserveScore(0.3);
  d.ObserveEmpty("ios");
  d.ObserveEmpty();
  d.ObserveClass("1", "android");
  d.Tick();
  const std::string text = registry.TextExposition();
  const std::string p =
      "mlmon_predictions_total{model=\"m\",version=\"1\",segment=";
  EXPECT_EQ(Sample(text, p + "\"ios\",class=\"1\"}"), 1);
  EXPECT_EQ(Sample(text, p + "\"ios\",class=\"0\"}"), 1);
  EXPECT_EQ(Sample(text, p + "\"__other__\",class=\"1\"}"), 2);
  EXPECT_EQ(Sample(text, p + "\"\",class=\"0\"}"), 1);
  EXPECT_EQ(Sample(text, p + "\"\",class=\"1\"}"), 0);
  const std::string e =
      "mlmon_empty_responses_total{model=\"m\",version=\"1\",segment=";
  EXPECT_EQ(Sample(text, e + "\"ios\"}"), 1);
  EXPECT_EQ(Sample(text, e + "\"\"}"), 1);
  const std::string s =
      "mlmon_prediction_score_count{model=\"m\",version=\"1\",segment=";
  EXPECT_EQ(Sample(text, s + "\"ios\"}"), 2);
  EXPECT_EQ(Sample(text, s + "\"__other__\"}"), 1);
  EXPECT_EQ(Sample(text, s + "\"\"}"), 1);
  EXPECT_EQ(Sample(text,
                   "mlmon_segment_folds_total{model=\"m\",version=\"1\",signal="
                   "\"distribution\"}"),
            2);
}

// A model whose segments' series cannot fit the registry's per-family cap
// is refused at set-up, naming the value (the folding when several models
// fill a family together: segments_attack_test.cc).
TEST(SegmentedOutcomesTest, SetUpRefusesSegmentsPastTheFamilyCap) {
  Registry::Options o;
  o.max_series_per_family = 40;
  Registry registry(o);
  OutcomeSpec spec;
  spec.windows = {};
  spec.segments = {"c", 30};  // 32 x 4 cells > 40
  try {
    OutcomeTracker t(registry, "m", "1", spec);
    FAIL() << "30 segments of 4 cells accepted under a cap of 40";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "OutcomeSpec.segments.max_values: 32 segments (with "
                  "__other__ and \"\") x 4 series exceed "
                  "Registry::Options::max_series_per_family = 40 (30)"),
              std::string::npos)
        << e.what();
  }
  spec.segments = {"c", 8};  // 10 x 4 = 40: fits
  EXPECT_NO_THROW(OutcomeTracker(registry, "m", "1", spec));
  ResponseSpec rspec;
  rspec.segments = {"c", 30};  // 32 x 3 classes
  EXPECT_THROW(ResponseDistribution(registry, "m", "1", rspec), ConfigError);
}

// Recording threads meet new values while another thread ticks (publishing
// their series) and scrapes: every outcome lands in exactly one segment.
// (Run under TSan by CI.)
TEST(SegmentedOutcomesTest, RecordingTickingAndScrapingConcurrently) {
  Registry registry;
  OutcomeSpec spec;
  spec.windows = {std::chrono::seconds(60)};
  spec.segments = {"c", 8};
  OutcomeTracker t(registry, "m", "1", spec);
  ResponseSpec rspec;
  rspec.segments = {"c", 8};
  ResponseDistribution d(registry, "m", "1", rspec);
  constexpr int kPerThread = 3000;
  std::atomic<bool> done{false};
  std::thread ticker([&] {
    while (!done.load()) {
      t.Tick();
      d.Tick();
      (void)registry.TextExposition();
    }
  });
  std::vector<std::thread> threads;
  for (int k = 0; k < 2; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = std::to_string(k) + "-" + std::to_string(i);
        const std::string seg = "s" + std::to_string(i % 12);
        ASSERT_TRUE(t.RecordPrediction(id, 0.75, seg));
        d.ObserveScore(0.75, {}, seg);
        ASSERT_EQ(t.RecordOutcome(id, 1.0), OutcomeResult::kMatched);
      }
    });
  }
  for (auto& th : threads) th.join();
  done.store(true);
  ticker.join();
  t.Tick();
  d.Tick();
  const std::string text = registry.TextExposition();
  double matched = 0, predicted = 0;
  std::set<std::string> segments;
  for (std::size_t at = 0; (at = text.find('\n', at)) != std::string::npos;) {
    const std::size_t end = text.find('\n', at + 1);
    const std::string line = text.substr(at + 1, end - at - 1);
    at = end == std::string::npos ? text.size() : end;
    const bool outcome = line.rfind("mlmon_outcomes_total{", 0) == 0 &&
                         line.find("result=\"matched\"") != std::string::npos;
    const bool prediction = line.rfind("mlmon_predictions_total{", 0) == 0;
    if (!outcome && !prediction) continue;
    (outcome ? matched : predicted) += std::stod(line.substr(line.rfind(' ')));
    const std::size_t s = line.find("segment=\"");
    segments.insert(line.substr(s, line.find('"', s + 9) - s));
  }
  EXPECT_EQ(matched, 2 * kPerThread);
  EXPECT_EQ(predicted, 2 * kPerThread);
  EXPECT_EQ(segments.size(), 10u);  // 8 values, __other__ and ""
}

}  // namespace
}  // namespace mlmon
