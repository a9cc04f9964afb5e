// Compares a full exposition, with every signal of the library enabled
// through the public API, with the metric catalogue: every family written
// is a catalogue row with the same TYPE, HELP and label names, and every row
// is written. A metric registered without a row, or a row no code
// registers, fails here.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "internal/metric_catalogue.h"
#include "mlmon/feature_monitor.h"
#include "mlmon/golden_signals.h"
#include "mlmon/heuristics.h"
#include "mlmon/http_server.h"
#include "mlmon/outcome_tracker.h"
#include "mlmon/prediction_log.h"
#include "mlmon/reference_profile.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"
#include "mlmon/shadow_comparison.h"
#include "testing/exposition_checker.h"

namespace mlmon {
namespace {

using internal::FindMetric;
using internal::kMetricCatalogue;
using internal::MetricDef;

// One family of a parsed exposition.
struct WrittenFamily {
  std::string type;
  std::string help;
  // Label names of each sample, in text order (`le` of a histogram bucket
  // left out).
  std::set<std::vector<std::string>> label_names;
  std::size_t samples = 0;
};

std::string UnescapeHelp(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      ++i;
      out.push_back(text[i] == 'n' ? '\n' : text[i]);
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Parses `text`, already accepted by CheckExposition, into its families.
std::map<std::string, WrittenFamily> Families(
    const std::string& text,
    const std::vector<testutil::ExpositionSample>& samples) {
  std::map<std::string, WrittenFamily> families;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    for (std::string_view prefix : {"# HELP ", "# TYPE "}) {
      if (line.substr(0, prefix.size()) != prefix) continue;
      const std::string_view rest = line.substr(prefix.size());
      const std::size_t space = rest.find(' ');
      WrittenFamily& f = families[std::string(rest.substr(0, space))];
      const std::string_view value = rest.substr(space + 1);
      if (prefix == "# HELP ") {
        f.help = UnescapeHelp(value);
      } else {
        f.type = std::string(value);
      }
    }
  }
  for (const auto& s : samples) {
    std::string family = s.name;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      const std::string base =
          s.name.size() > suffix.size()
              ? s.name.substr(0, s.name.size() - suffix.size())
              : "";
      if (!base.empty() && s.name.substr(base.size()) == suffix &&
          families.count(base) != 0 && families[base].type == "histogram") {
        family = base;
      }
    }
    std::vector<std::string> names;
    for (const auto& [name, value] : s.labels) {
      if (name == "le" && s.name == family + "_bucket") continue;
      names.push_back(name);
    }
    WrittenFamily& f = families[family];
    f.label_names.insert(names);
    ++f.samples;
  }
  return families;
}

std::vector<std::string> LabelsOf(const MetricDef& d) {
  return d.labels.ToVector();
}

class MetricCatalogueExpositionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "mlmon_catalogue_XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    for (const char* stream : {"predictions", "outcomes"}) {
      std::remove((dir_ + "/mlmon-" + stream + ".ndjson").c_str());
    }
    rmdir(dir_.c_str());
  }

  std::string dir_;
};

// Every signal of the library, bound through the public API, then one
// exposition of it all.
std::string FullExposition(Registry& registry, const std::string& log_dir) {
  GoldenSignals signals(registry, "golden", "1");
  Endpoint& predict = signals.AddEndpoint("predict");
  // More reasons than the per-family cap: mlmon_label_overflow_total.
  for (std::size_t i = 0; i <= registry.options().max_series_per_family; ++i) {
    predict.BindErrorReason("reason" + std::to_string(i));
  }
  { RequestGuard guard(predict); }

  OutcomeSpec binary;
  binary.task = OutcomeSpec::Task::kBinary;
  OutcomeSpec regression;
  regression.task = OutcomeSpec::Task::kRegression;
  OutcomeSpec multiclass;
  multiclass.task = OutcomeSpec::Task::kMulticlass;
  multiclass.classes = {"a", "b", "c"};
  OutcomeSpec ranking;
  ranking.task = OutcomeSpec::Task::kRanking;
  OutcomeTracker binary_tracker(registry, "binary", "1", binary);
  OutcomeTracker regression_tracker(registry, "regression", "1", regression);
  OutcomeTracker multiclass_tracker(registry, "multiclass", "1", multiclass);
  OutcomeTracker ranking_tracker(registry, "ranking", "1", ranking);
  // The Redis store's own series exist from the start, reachable or not
  // (port 1 is closed).
  OutcomeSpec fleet;
  fleet.store.backend = PendingStoreSpec::Backend::kRedis;
  fleet.store.url = "redis://127.0.0.1:1/0";
  OutcomeTracker fleet_tracker(registry, "fleet", "1", fleet);

  ReferenceProfile reference;
  reference.model = "responses";
  SignalProfile score;
  score.type = SignalProfile::Type::kNumeric;
  score.numeric.bounds = DefaultPredictionScoreBuckets();
  score.numeric.counts.assign(score.numeric.bounds.size() + 1, 1.0);
  reference.signals["score"] = score;
  SignalProfile x;
  x.type = SignalProfile::Type::kNumeric;
  x.numeric = {{1, 5, 10}, {1, 2, 3, 4}};
  x.log10.bounds = DefaultLog10Bounds();
  x.log10.counts.assign(x.log10.bounds.size() + 1, 1.0);
  reference.signals["x"] = x;
  reference.calibration = {{0.1, 0.9}, {0.05, 0.8}};  // estimated quality
  ResponseDistribution responses(registry, "responses", "1", ResponseSpec{},
                                 &reference);
  ResponseSpec segmented;  // mlmon_segment_folds_total
  segmented.segments = {"country", 1};
  ResponseDistribution by_segment(registry, "segmented", "1", segmented);
  by_segment.ObserveScore(0.5, {}, "DE");
  by_segment.ObserveScore(0.5, {}, "FR");  // folds into __other__
  by_segment.Tick();

  FeatureSpec features_spec;
  features_spec.numeric.push_back({"x", 0, 10, {1, 5, 10}});
  FeatureMonitor features(registry, "features", "1", features_spec, &reference);

  Heuristics heuristics(registry, "heuristics", "1");
  heuristics.AddCheck("non_empty");
  heuristics.AddValue("favourite_rank");
  auto runner = heuristics.MakeRunner<int, int>();
  runner->AddCheck("positive", [](const int& a, const int&) { return a > 0; });

  ShadowComparison shadow(registry, "shadow", "1", "2",
                          ShadowComparisonOptions{});

  PredictionLogOptions log_options;
  log_options.directory = log_dir;
  log_options.start_writer = false;
  log_options.queue_capacity = 16;
  PredictionLog log(registry, "log", "1", log_options);

  HttpServerOptions http_options;
  http_options.port = 0;
  HttpServer server(http_options, registry);

  return registry.TextExposition();
}

TEST_F(MetricCatalogueExpositionTest, EveryFamilyWrittenIsTheCatalogues) {
  Registry::Options options;
  options.max_series_per_family = 50;
  Registry registry(options);
  const std::string text = FullExposition(registry, dir_);
  std::vector<testutil::ExpositionSample> samples;
  ASSERT_EQ(testutil::CheckExposition(text, &samples), std::nullopt) << text;
  const auto families = Families(text, samples);
  ASSERT_FALSE(families.empty());

  for (const auto& [name, f] : families) {
    SCOPED_TRACE(name);
    const MetricDef* d = FindMetric(name);
    if (d == nullptr) {
      ADD_FAILURE() << name << " is written but has no catalogue row";
      continue;
    }
    EXPECT_EQ(f.type, internal::ExpositionTypeName(d->type()));
    EXPECT_EQ(f.help, d->help);
    EXPECT_GT(f.samples, 0u);
    ASSERT_EQ(f.label_names.size(), 1u) << "samples with other label names";
    EXPECT_EQ(*f.label_names.begin(), LabelsOf(*d));
  }
  for (const MetricDef* d : kMetricCatalogue) {
    EXPECT_EQ(families.count(std::string(d->name)), 1u)
        << d->name << " has a catalogue row but is not written";
  }
}

// The parse above can fail: a family with a row-less name, another TYPE, or
// other labels is reported.
TEST_F(MetricCatalogueExpositionTest, ParserSeesTypeHelpAndLabels) {
  const std::string text =
      "# HELP mlmon_x_seconds A \\\\ help\\nline.\n"
      "# TYPE mlmon_x_seconds histogram\n"
      "mlmon_x_seconds_bucket{model=\"m\",le=\"1.0\"} 0\n"
      "mlmon_x_seconds_bucket{model=\"m\",le=\"+Inf\"} 0\n"
      "mlmon_x_seconds_sum{model=\"m\"} 0\n"
      "mlmon_x_seconds_count{model=\"m\"} 0\n"
      "# HELP mlmon_y_total Y.\n"
      "# TYPE mlmon_y_total counter\n"
      "mlmon_y_total{a=\"1\",b=\"2\"} 1\n"
      "mlmon_y_total{b=\"3\",a=\"1\"} 2\n";
  std::vector<testutil::ExpositionSample> samples;
  ASSERT_EQ(testutil::CheckExposition(text, &samples), std::nullopt);
  const auto families = Families(text, samples);
  ASSERT_EQ(families.size(), 2u);
  const WrittenFamily& x = families.at("mlmon_x_seconds");
  EXPECT_EQ(x.type, "histogram");
  EXPECT_EQ(x.help, "A \\ help\nline.");
  EXPECT_EQ(x.samples, 4u);
  EXPECT_EQ(x.label_names, (std::set<std::vector<std::string>>{{"model"}}));
  const WrittenFamily& y = families.at("mlmon_y_total");
  EXPECT_EQ(y.label_names.size(), 2u) << "label order is compared";
  EXPECT_EQ(FindMetric("mlmon_x_seconds"), nullptr);
}

}  // namespace
}  // namespace mlmon
