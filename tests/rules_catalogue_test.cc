// The alert rules and the dashboard name only families of the metric
// catalogue: every `mlmon_...` token in the generated text (PromQL, label
// queries, summaries and descriptions alike) is a catalogue row's name, or a
// histogram row's `_bucket`/`_sum`/`_count` series. rules.cc and dashboard.cc
// write those names inside PromQL; this test is what keeps them in step with
// src/internal/metric_catalogue.h.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "internal/metric_catalogue.h"
#include "mlmon/alerting.h"
#include "mlmon/monitor_spec.h"

namespace mlmon {
namespace {

using internal::FindMetric;
using internal::Instrument;
using internal::MetricDef;

// The catalogue row a series name belongs to: the row of that name, or the
// histogram row whose `_bucket`, `_sum` or `_count` series it is; else null.
const MetricDef* RowOfSeries(std::string_view series) {
  if (const MetricDef* d = FindMetric(series)) return d;
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (series.size() <= suffix.size() ||
        series.substr(series.size() - suffix.size()) != suffix) {
      continue;
    }
    const MetricDef* d =
        FindMetric(series.substr(0, series.size() - suffix.size()));
    if (d != nullptr && d->instrument == Instrument::kHistogram) return d;
  }
  return nullptr;
}

// Every token of PromQL name characters ([A-Za-z0-9_:]) that starts with
// `mlmon_`. A token is read whole, so `xmlmon_a` is not one and
// `mlmon_a:b` is the token `mlmon_a:b` (a recording-rule-like name that no
// family has).
std::set<std::string> MlmonTokens(const std::string& text) {
  const auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == ':';
  };
  std::set<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!name_char(text[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && name_char(text[end])) ++end;
    const std::string token = text.substr(i, end - i);
    if (token.rfind("mlmon_", 0) == 0) out.insert(token);
    i = end;
  }
  return out;
}

// Every objective, for each task; min_precision exists only for binary.
constexpr const char* kCommonSlo = R"(
slo:
  latency_p99_seconds: 0.25
  error_ratio: 0.01
  max_empty_share: 0.2
  max_drift_psi: 0.25
  max_feature_problem_ratio: 0.05
  max_heuristic_failure_ratio: 0.1
  max_outcome_staleness: 2h
)";

std::map<std::string, MonitorSpec> SpecsOfEveryTask() {
  std::map<std::string, MonitorSpec> specs;
  specs["binary"] = ParseMonitorSpec(
      std::string("model: m\ntask: binary\nthresholds: [0.3, 0.5]\n") +
          kCommonSlo +
          "  min_precision: {threshold: 0.5, value: 0.8, window: 30m}\n",
      "binary.yaml");
  specs["multiclass"] = ParseMonitorSpec(
      std::string("model: m\ntask: multiclass\nclasses: [a, b]\n") + kCommonSlo,
      "multiclass.yaml");
  specs["regression"] =
      ParseMonitorSpec(std::string("model: m\ntask: regression\n") + kCommonSlo,
                       "regression.yaml");
  specs["ranking"] = ParseMonitorSpec(
      std::string("model: m\ntask: ranking\nk: [1, 5]\n") + kCommonSlo,
      "ranking.yaml");
  return specs;
}

TEST(RulesCatalogueTest, RowOfSeriesStripsOnlyHistogramSuffixes) {
  EXPECT_NE(RowOfSeries("mlmon_requests_total"), nullptr);
  EXPECT_NE(RowOfSeries("mlmon_request_duration_seconds"), nullptr);
  EXPECT_NE(RowOfSeries("mlmon_request_duration_seconds_bucket"), nullptr);
  EXPECT_NE(RowOfSeries("mlmon_absolute_error_sum"), nullptr);
  EXPECT_NE(RowOfSeries("mlmon_outcome_rank_count"), nullptr);
  // A counter or gauge has no _sum/_count/_bucket series.
  EXPECT_EQ(RowOfSeries("mlmon_requests_total_count"), nullptr);
  EXPECT_EQ(RowOfSeries("mlmon_model_quality_sum"), nullptr);
  // A misspelling, a suffix alone, a recording-rule-like name.
  EXPECT_EQ(RowOfSeries("mlmon_request_total"), nullptr);
  EXPECT_EQ(RowOfSeries("_bucket"), nullptr);
  EXPECT_EQ(RowOfSeries("mlmon_requests_total:rate5m"), nullptr);
}

TEST(RulesCatalogueTest, MlmonTokensReadsWholeNames) {
  EXPECT_EQ(MlmonTokens("rate(mlmon_a_bucket{x=\"mlmon_b\"}[5m]) "
                        "xmlmon_c mlmon:d mlmon_e:f"),
            (std::set<std::string>{"mlmon_a_bucket", "mlmon_b", "mlmon_e:f"}));
  EXPECT_TRUE(MlmonTokens("mlmon: mlmon.x.recording").empty());
}

TEST(RulesCatalogueTest, RulesAndDashboardNameOnlyCatalogueFamilies) {
  std::set<std::string> seen;
  for (const auto& [task, spec] : SpecsOfEveryTask()) {
    const std::map<std::string, std::string> outputs = {
        {"rules", GenerateRules(spec)}, {"dashboard", GenerateDashboard(spec)}};
    for (const auto& [what, text] : outputs) {
      const std::set<std::string> tokens = MlmonTokens(text);
      EXPECT_FALSE(tokens.empty()) << task << " " << what;
      for (const std::string& t : tokens) {
        EXPECT_NE(RowOfSeries(t), nullptr)
            << task << " " << what << ": " << t
            << " is not a family of src/internal/metric_catalogue.h";
        seen.insert(t);
      }
    }
  }
  // The task-specific branches were generated: the binary confusion cells,
  // score histogram and loss sums, the regression error histogram, the
  // ranking items and rank histograms and reciprocal-rank sum, and the
  // dashboard's label queries.
  for (const char* t :
       {"mlmon_confusion_total", "mlmon_outcome_score_bucket",
        "mlmon_outcome_score_count", "mlmon_outcome_brier_total",
        "mlmon_outcome_log_loss_total", "mlmon_absolute_error_sum",
        "mlmon_absolute_error_count", "mlmon_absolute_percentage_error_total",
        "mlmon_response_items_bucket", "mlmon_outcome_rank_bucket",
        "mlmon_outcome_rank_count", "mlmon_outcome_reciprocal_rank_total",
        "mlmon_request_duration_seconds_bucket", "mlmon_model_info"}) {
    EXPECT_EQ(seen.count(t), 1u) << t;
  }
}

}  // namespace
}  // namespace mlmon
