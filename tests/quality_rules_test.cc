// The fleet quality rules' building blocks: the `le` text a Prometheus 3
// server stores (checked against outputs of Go's strconv.FormatFloat(v, 'g',
// -1, 64) plus Prometheus' ".0" rule), the `le` matchers, and which rules
// each task gets. Their values are checked against scikit-learn by
// tests/fleet_quality_rules_test.py.

#include "internal/quality_rules.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "mlmon/monitor_spec.h"

namespace mlmon {
namespace {

using internal::FleetQualityRules;
using internal::LeMatcher;
using internal::OpenMetricsFloat;

TEST(QualityRulesTest, OpenMetricsFloatIsGoShortestGWithDotZero) {
  // Prometheus' hard-coded cases.
  EXPECT_EQ(OpenMetricsFloat(1), "1.0");
  EXPECT_EQ(OpenMetricsFloat(0), "0.0");
  EXPECT_EQ(OpenMetricsFloat(-1), "-1.0");
  EXPECT_EQ(OpenMetricsFloat(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(OpenMetricsFloat(-std::numeric_limits<double>::infinity()), "-Inf");
  // Fixed notation for decimal exponents -4 .. 5.
  EXPECT_EQ(OpenMetricsFloat(0.05), "0.05");
  EXPECT_EQ(OpenMetricsFloat(0.0001), "0.0001");
  EXPECT_EQ(OpenMetricsFloat(2.5), "2.5");
  EXPECT_EQ(OpenMetricsFloat(-0.5), "-0.5");
  EXPECT_EQ(OpenMetricsFloat(100), "100.0");
  EXPECT_EQ(OpenMetricsFloat(999999), "999999.0");
  EXPECT_EQ(OpenMetricsFloat(123456.5), "123456.5");
  // Exponent notation below 1e-4 and from 1e6, two exponent digits at least.
  EXPECT_EQ(OpenMetricsFloat(0.00001), "1e-05");
  EXPECT_EQ(OpenMetricsFloat(1.5e-7), "1.5e-07");
  EXPECT_EQ(OpenMetricsFloat(1e6), "1e+06");
  EXPECT_EQ(OpenMetricsFloat(1234567), "1.234567e+06");
  EXPECT_EQ(OpenMetricsFloat(608863452348.1149), "6.088634523481149e+11");
  EXPECT_EQ(OpenMetricsFloat(1e21), "1e+21");
  EXPECT_EQ(OpenMetricsFloat(1e100), "1e+100");
  EXPECT_EQ(OpenMetricsFloat(2.2250738585072014e-308),
            "2.2250738585072014e-308");
}

TEST(QualityRulesTest, LeMatcherSelectsBothForms) {
  // The same text in both: an exact match.
  EXPECT_EQ(LeMatcher(0.05), "le=\"0.05\"");
  EXPECT_EQ(LeMatcher(std::numeric_limits<double>::infinity()), "le=\"+Inf\"");
  EXPECT_EQ(LeMatcher(1e-5), "le=\"1e-05\"");
  // Integers: mlmon writes "1", Prometheus 3 stores "1.0" ('.' and '+'
  // escaped in the regex, the backslash in the PromQL string).
  EXPECT_EQ(LeMatcher(1), "le=~\"1|1\\\\.0\"");
  EXPECT_EQ(LeMatcher(1e6), "le=~\"1000000|1e\\\\+06\"");
}

std::vector<std::string> Names(const MonitorSpec& spec) {
  std::vector<std::string> out;
  for (const internal::QualityRule& r : FleetQualityRules(spec)) {
    std::string n = r.record;
    for (const auto& [k, v] : r.labels) n += "{" + k + "=" + v + "}";
    out.push_back(n);
  }
  return out;
}

TEST(QualityRulesTest, BinaryRulesInEvaluationOrder) {
  const MonitorSpec spec = ParseMonitorSpec(
      "model: m\ntask: binary\nslo:\n  min_precision: {threshold: 0.5, "
      "value: 0.9, window: 30m}\n",
      "m.yaml");
  EXPECT_EQ(Names(spec), (std::vector<std::string>{
                             "mlmon:accuracy:rate1h",
                             "mlmon:accuracy:rate30m",
                             "mlmon:brier:rate1h",
                             "mlmon:log_loss:rate1h",
                             "mlmon:outcome_score_bucket:rate1h",
                             "mlmon:outcome_score_bucket_below:rate1h",
                             "mlmon:auc:rate1h",
                             "mlmon:auc_error_bound:rate1h",
                         }));
  // Every bound of the score histogram and +Inf is a bucket of the fleet
  // rule; the first bucket has nothing below it.
  const std::vector<internal::QualityRule> rules = FleetQualityRules(spec);
  for (const char* le : {"0.05", "0.95", "+Inf"}) {
    EXPECT_NE(rules[4].expr.find(std::string("\"le\", \"") + le + "\""),
              std::string::npos)
        << le;
  }
  EXPECT_NE(rules[4].expr.find("le=~\"1|1\\\\.0\""), std::string::npos);
  EXPECT_EQ(rules[5].expr.find("mlmon:outcome_score_bucket:rate1h{model=\"m\","
                               "le=\"0.05\"} * 0"),
            0u);
}

TEST(QualityRulesTest, RankingHitRateOnlyWhereABoundResolvesK) {
  // Ranks are whole: the bucket of 2.5 counts ranks <= 2, none counts
  // ranks <= 3 exactly, 5 counts ranks <= 5.
  const MonitorSpec spec = ParseMonitorSpec(
      "model: m\ntask: ranking\nk: [2, 3, 5]\nrank_buckets: [1, 2.5, 5]\n",
      "m.yaml");
  EXPECT_EQ(Names(spec), (std::vector<std::string>{"mlmon:hit_rate:rate1h{k=2}",
                                                   "mlmon:hit_rate:rate1h{k=5}",
                                                   "mlmon:mrr:rate1h"}));
  const std::vector<internal::QualityRule> rules = FleetQualityRules(spec);
  EXPECT_NE(rules[0].expr.find("le=\"2.5\""), std::string::npos);
  // Default bounds 1 .. max(k): every k has its rule.
  EXPECT_EQ(
      Names(ParseMonitorSpec("model: m\ntask: ranking\nk: [1, 3]\n", "m.yaml")),
      (std::vector<std::string>{"mlmon:hit_rate:rate1h{k=1}",
                                "mlmon:hit_rate:rate1h{k=3}",
                                "mlmon:mrr:rate1h"}));
}

TEST(QualityRulesTest, MulticlassRulesReadEveryDiagonalCell) {
  const MonitorSpec spec = ParseMonitorSpec(
      "model: m\ntask: multiclass\nclasses: [a, \"b\\\"q\"]\n", "m.yaml");
  EXPECT_EQ(Names(spec), (std::vector<std::string>{
                             "mlmon:accuracy:rate1h",
                             "mlmon:class_true_positives:rate1h",
                             "mlmon:class_predictions:rate1h",
                             "mlmon:class_outcomes:rate1h",
                             "mlmon:macro_precision:rate1h",
                             "mlmon:macro_recall:rate1h",
                             "mlmon:macro_f1:rate1h",
                         }));
  const std::vector<internal::QualityRule> rules = FleetQualityRules(spec);
  for (std::size_t i : {0, 1}) {
    EXPECT_NE(rules[i].expr.find("predicted=\"a\",actual=\"a\""),
              std::string::npos);
    EXPECT_NE(rules[i].expr.find("predicted=\"b\\\"q\",actual=\"b\\\"q\""),
              std::string::npos);
  }
}

TEST(QualityRulesTest, RegressionAddsMape) {
  EXPECT_EQ(Names(ParseMonitorSpec("model: m\ntask: regression\n", "x")),
            (std::vector<std::string>{
                "mlmon:absolute_percentage_error:mape_rate1h"}));
}

}  // namespace
}  // namespace mlmon
