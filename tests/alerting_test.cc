// Rule and dashboard generation from a MonitorSpec (mlmon rules, mlmon
// dashboard). promtool checks the rules for real in rules_promtool_test.sh.
// GCC 12 reports a false -Wmaybe-uninitialized inside std::regex's automaton
// under -fsanitize=address (in the standard library, not in this file).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "mlmon/alerting.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "mlmon/errors.h"
#include "mlmon/monitor_spec.h"

namespace mlmon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kFullSlo = R"(
model: fraud
version: "3"
task: binary
thresholds: [0.3, 0.5]
slo:
  latency_p99_seconds: 0.25
  error_ratio: 0.01
  min_precision: {threshold: 0.5, value: 0.8, window: 30m, min_samples: 50}
  max_empty_share: 0.2
  max_drift_psi: 0.25
  max_feature_problem_ratio: 0.05
  max_heuristic_failure_ratio: 0.1
  max_outcome_staleness: 2h
  for: {default: 10m, max_drift_psi: 1h}
  severity: {max_drift_psi: page, error_ratio: ticket}
  runbook_url: https://example.com/runbook.md
)";

// Every `record:` and `alert:` name, and every metric named in an `expr:`.
struct Parsed {
  std::set<std::string> records, alerts, metrics;
};

Parsed Parse(const std::string& rules) {
  Parsed p;
  const std::regex record(R"(- record: (\S+))"), alert(R"(- alert: (\S+))"),
      metric(R"(\bmlmon_[a-z0-9_]+)"), expr(R"(expr: (".*"))");
  for (std::sregex_iterator it(rules.begin(), rules.end(), record), end;
       it != end; ++it) {
    p.records.insert((*it)[1]);
  }
  for (std::sregex_iterator it(rules.begin(), rules.end(), alert), end;
       it != end; ++it) {
    p.alerts.insert((*it)[1]);
  }
  for (std::sregex_iterator it(rules.begin(), rules.end(), expr), end;
       it != end; ++it) {
    const std::string e =
        nlohmann::json::parse((*it)[1].str()).get<std::string>();
    for (std::sregex_iterator m(e.begin(), e.end(), metric), mend; m != mend;
         ++m) {
      p.metrics.insert((*m)[0]);
    }
  }
  return p;
}

TEST(AlertingTest, ParsesTheSloSection) {
  const MonitorSpec spec = ParseMonitorSpec(kFullSlo, "m.yaml");
  const SloSpec& s = spec.slo;
  EXPECT_EQ(*s.latency_p99_seconds, 0.25);
  EXPECT_EQ(*s.error_ratio, 0.01);
  ASSERT_TRUE(s.min_precision);
  EXPECT_EQ(s.min_precision->threshold, 0.5);
  EXPECT_EQ(s.min_precision->value, 0.8);
  EXPECT_EQ(s.min_precision->window, std::chrono::minutes(30));
  EXPECT_EQ(s.min_precision->min_samples, 50u);
  EXPECT_EQ(*s.max_outcome_staleness, std::chrono::hours(2));
  EXPECT_EQ(s.for_duration, std::chrono::minutes(10));
  EXPECT_EQ(s.for_overrides.at("max_drift_psi"), std::chrono::hours(1));
  EXPECT_EQ(s.severity.at("error_ratio"), "ticket");
  EXPECT_NO_THROW(ValidateSloSpec(spec));
}

TEST(AlertingTest, EverySloGivesItsAlertWithForSeverityAndRunbook) {
  const std::string rules = GenerateRules(ParseMonitorSpec(kFullSlo, "m.yaml"));
  const Parsed p = Parse(rules);
  EXPECT_EQ(
      p.alerts,
      (std::set<std::string>{
          "MlmonLatencyP99High", "MlmonErrorRatioHigh", "MlmonPrecisionLow",
          "MlmonEstimatedPrecisionLow", "MlmonEmptyResponseShareHigh",
          "MlmonHeuristicFailureRatioHigh", "MlmonOutcomesStale",
          "MlmonDriftPsiHigh", "MlmonFeatureProblemRatioHigh"}));
  EXPECT_THAT(rules, HasSubstr("- name: \"mlmon.fraud.recording\""));
  EXPECT_THAT(rules, HasSubstr("- name: \"mlmon.fraud.alerts\""));
  // Scoped to the model; thresholds from the spec.
  EXPECT_THAT(
      rules,
      HasSubstr(
          R"(expr: "mlmon:request_duration_seconds:p99_rate5m{model=\"fraud\"} > 0.25")"));
  EXPECT_THAT(
      rules,
      HasSubstr(
          R"(expr: "mlmon:precision:rate30m{model=\"fraud\",threshold=\"0.5\"} < 0.8 and on )"
          R"((model, version, threshold) sum by (model, version, threshold) )"
          R"((increase(mlmon_confusion_total{model=\"fraud\",threshold=\"0.5\",predicted=\"1\"}[30m])) )"
          R"(>= 50")"));
  EXPECT_THAT(
      rules,
      HasSubstr(
          R"(expr: "mlmon:outcome_staleness_seconds{model=\"fraud\"} > 7200")"));
  // for: default and override; severity defaults and overrides.
  EXPECT_THAT(rules, HasSubstr("- alert: MlmonDriftPsiHigh\n        expr: "));
  const auto block = [&rules](const std::string& alert) {
    const auto at = rules.find("- alert: " + alert + "\n");
    const auto next = rules.find("- alert: ", at + 1);
    return rules.substr(
        at, next == std::string::npos ? std::string::npos : next - at);
  };
  EXPECT_THAT(block("MlmonDriftPsiHigh"), HasSubstr("for: 1h\n"));
  EXPECT_THAT(block("MlmonDriftPsiHigh"), HasSubstr("severity: \"page\""));
  EXPECT_THAT(block("MlmonErrorRatioHigh"), HasSubstr("severity: \"ticket\""));
  EXPECT_THAT(block("MlmonErrorRatioHigh"), HasSubstr("for: 10m\n"));
  EXPECT_THAT(block("MlmonFeatureProblemRatioHigh"),
              HasSubstr("severity: \"ticket\""));
  EXPECT_THAT(block("MlmonLatencyP99High"), HasSubstr("severity: \"page\""));
  EXPECT_THAT(
      block("MlmonOutcomesStale"),
      HasSubstr("runbook_url: "
                "\"https://example.com/runbook.md#mlmonoutcomesstale\""));
  for (const char* a :
       {"MlmonLatencyP99High", "MlmonPrecisionLow", "MlmonDriftPsiHigh"}) {
    EXPECT_THAT(block(a), HasSubstr("summary: "));
    EXPECT_THAT(block(a), HasSubstr("description: "));
  }
}

// min_precision also gives the estimate's alert: on the distribution window
// not longer than min_precision.window (5m of the default 5m, 1h for 30m),
// gated on decided positives, a ticket; with no distribution window, or a
// threshold that is not estimated, no alert.
TEST(AlertingTest, EstimatedPrecisionAlertReadsTheDistributionWindow) {
  MonitorSpec spec = ParseMonitorSpec(kFullSlo, "m.yaml");
  std::string rules = GenerateRules(spec);
  EXPECT_THAT(
      rules,
      HasSubstr(
          R"(expr: "mlmon:estimated_precision:5m{model=\"fraud\",threshold=\"0.5\"} < 0.8 and on (model, version, threshold) sum by (model, version, threshold) (mlmon_estimated_quality{model=\"fraud\",threshold=\"0.5\",metric=\"predicted_positives\",window=\"5m\"}) >= 50")"));
  EXPECT_THAT(rules,
              HasSubstr("- alert: MlmonEstimatedPrecisionLow\n        expr: "
                        "\"mlmon:estimated_precision:5m"));
  EXPECT_THAT(rules, HasSubstr("- record: mlmon:estimated_precision:1h\n"));
  spec.slo.min_precision->window = std::chrono::hours(2);
  EXPECT_THAT(GenerateRules(spec),
              HasSubstr("expr: \"mlmon:estimated_precision:1h{"));
  spec.distribution.estimate_thresholds = {0.3};
  EXPECT_EQ(
      Parse(GenerateRules(spec)).alerts.count("MlmonEstimatedPrecisionLow"),
      0u);
  spec.distribution.estimate_thresholds = {0.5};
  spec.distribution.windows.clear();
  const Parsed none = Parse(GenerateRules(spec));
  EXPECT_EQ(none.alerts.count("MlmonEstimatedPrecisionLow"), 0u);
  EXPECT_EQ(none.alerts.count("MlmonPrecisionLow"), 1u);
}

TEST(AlertingTest, RecordingRulesAggregateByModelAndVersion) {
  const Parsed p = Parse(GenerateRules(ParseMonitorSpec(kFullSlo, "m.yaml")));
  for (const char* r :
       {"mlmon:requests:rate5m", "mlmon:request_error_ratio:rate5m",
        "mlmon:request_duration_seconds:p50_rate5m",
        "mlmon:request_duration_seconds:p99_rate5m",
        "mlmon:empty_response_share:rate5m", "mlmon:precision:rate1h",
        "mlmon:recall:rate1h", "mlmon:precision:rate30m",
        "mlmon:drift_score_psi:max", "mlmon:heuristic_failure_ratio:rate5m",
        "mlmon:feature_problem_ratio:rate5m",
        "mlmon:outcome_staleness_seconds"}) {
    EXPECT_EQ(p.records.count(r), 1u) << r;
  }
  // Binary task: no regression rules.
  EXPECT_EQ(p.records.count("mlmon:absolute_error:mae_rate1h"), 0u);
}

// That every metric an expression names is a catalogue family is
// tests/rules_catalogue_test.cc's; here, the regression MAE record.
TEST(AlertingTest, RegressionRecordsMaeFromTheAbsoluteErrorHistogram) {
  const Parsed reg =
      Parse(GenerateRules(ParseMonitorSpec("model: m\ntask: regression\n")));
  EXPECT_EQ(reg.records.count("mlmon:absolute_error:mae_rate1h"), 1u);
  EXPECT_EQ(reg.metrics.count("mlmon_absolute_error_sum"), 1u);
}

TEST(AlertingTest, NoAlertForAnSloThatIsNotConfigured) {
  const std::string none = GenerateRules(ParseMonitorSpec("model: m\n"));
  EXPECT_THAT(none, Not(HasSubstr("alert:")));
  EXPECT_THAT(none, Not(HasSubstr("mlmon.m.alerts")));
  const std::string one = GenerateRules(
      ParseMonitorSpec("model: m\nslo:\n  error_ratio: 0.02\n  for: 1m\n"));
  const Parsed p = Parse(one);
  EXPECT_EQ(p.alerts, (std::set<std::string>{"MlmonErrorRatioHigh"}));
  EXPECT_THAT(one, HasSubstr("for: 1m\n"));
  EXPECT_THAT(one, HasSubstr("severity: \"page\""));
  EXPECT_EQ(p.records.count("mlmon:precision:rate30m"), 0u);
}

TEST(AlertingTest, ModelNamesAreEscaped) {
  MonitorSpec spec;
  spec.model = "we\"ird\\model";
  spec.slo.error_ratio = 0.1;
  const std::string rules = GenerateRules(spec);
  // PromQL escaping inside a YAML (JSON) string.
  EXPECT_THAT(rules, HasSubstr(R"({model=\"we\\\"ird\\\\model\"})"));
  EXPECT_TRUE(nlohmann::json::parse(GenerateDashboard(spec)).is_object());
}

TEST(AlertingTest, BadSlosAreNamed) {
  const auto err = [](const std::string& yaml) -> std::string {
    try {
      const MonitorSpec spec = ParseMonitorSpec(yaml, "m.yaml");
      GenerateRules(spec);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_THAT(err("model: m\nslo:\n  error_ratio: 2\n"),
              HasSubstr("m.yaml:3: slo.error_ratio: not in [0, 1] (2)"));
  EXPECT_THAT(err("model: m\nslo:\n  latency_p99: 1\n"),
              HasSubstr("m.yaml:3: slo.latency_p99: unknown key"));
  EXPECT_THAT(
      err("model: m\nslo:\n  severity: {error_ratio: urgent}\n"),
      HasSubstr("slo.severity.error_ratio: not page or ticket (urgent)"));
  EXPECT_THAT(err("model: m\nslo:\n  severity: {errors: page}\n"),
              HasSubstr("slo.severity.errors: not one of the objectives "
                        "latency_p99_seconds, "));
  EXPECT_THAT(err("model: m\nslo:\n  for: soon\n"), HasSubstr("slo.for: "));
  EXPECT_THAT(err("model: m\nslo:\n  min_precision: {threshold: 0.5}\n"),
              HasSubstr("slo.min_precision.value: is required"));
  EXPECT_THAT(err("model: m\nthresholds: [0.3]\nslo:\n  min_precision: "
                  "{threshold: 0.5, value: 0.9}\n"),
              HasSubstr("m.yaml: slo.min_precision.threshold: not one of the "
                        "configured thresholds [0.3] (0.5)"));
  EXPECT_THAT(
      err("model: m\nslo:\n  min_precision: {value: 0.9, min_samples: 0}\n"),
      HasSubstr("slo.min_precision.min_samples: not an integer >= 1 (0)"));
  EXPECT_EQ(ParseMonitorSpec("model: m\nslo:\n  min_precision: {value: 0.9}\n",
                             "m.yaml")
                .slo.min_precision->min_samples,
            20u);  // the default
  EXPECT_THAT(
      err("model: m\ntask: regression\nslo:\n  min_precision: {value: 0.9}\n"),
      HasSubstr("slo.min_precision: needs task: binary"));
  // Also from C++ and through ValidateMonitorSpec (check-config).
  MonitorSpec spec;
  spec.model = "m";
  spec.slo.max_drift_psi = -1;
  EXPECT_THROW(GenerateRules(spec), ConfigError);
  EXPECT_THROW(ValidateMonitorSpec(spec), ConfigError);
}

TEST(AlertingTest, DashboardHasTheSevenRowsAndTemplateVariables) {
  const nlohmann::json d = nlohmann::json::parse(
      GenerateDashboard(ParseMonitorSpec(kFullSlo, "m.yaml")));
  EXPECT_EQ(d["schemaVersion"], 38);
  EXPECT_EQ(d["uid"], "mlmon-fraud");
  std::vector<std::string> rows;
  std::set<int> ids;
  std::size_t panels = 0;
  for (const auto& p : d["panels"]) {
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate panel id";
    if (p["type"] == "row") {
      rows.push_back(p["title"]);
      continue;
    }
    ++panels;
    ASSERT_FALSE(p["targets"].empty());
    for (const auto& t : p["targets"]) {
      const std::string expr = t["expr"];
      EXPECT_THAT(expr, HasSubstr(R"(model="$model", version=~"$version")"))
          << expr;
    }
  }
  EXPECT_EQ(rows,
            (std::vector<std::string>{"Golden signals", "Outcomes and quality",
                                      "Response distribution", "Drift",
                                      "Heuristics", "Inputs", "Rollout"}));
  EXPECT_GE(panels, 12u);
  std::map<std::string, nlohmann::json> vars;
  for (const auto& v : d["templating"]["list"]) vars[v["name"]] = v;
  ASSERT_EQ(vars.count("model"), 1u);
  ASSERT_EQ(vars.count("version"), 1u);
  EXPECT_EQ(vars["model"]["query"]["query"],
            "label_values(mlmon_model_info, model)");
  EXPECT_EQ(vars["model"]["current"]["value"], "fraud");
  EXPECT_EQ(vars["version"]["query"]["query"],
            R"(label_values(mlmon_model_info{model="$model"}, version))");
  EXPECT_TRUE(vars["version"]["includeAll"].get<bool>());
}

TEST(AlertingTest, DashboardPanelsQueryRecordingRulesThatExist) {
  const MonitorSpec spec = ParseMonitorSpec(kFullSlo, "m.yaml");
  const Parsed rules = Parse(GenerateRules(spec));
  const nlohmann::json d = nlohmann::json::parse(GenerateDashboard(spec));
  const std::regex rule(R"(mlmon:[a-z0-9_]+:[a-z0-9_]+)");
  std::size_t uses = 0;
  for (const auto& p : d["panels"]) {
    if (p["type"] == "row") continue;
    for (const auto& t : p["targets"]) {
      const std::string expr = t["expr"];
      for (std::sregex_iterator it(expr.begin(), expr.end(), rule), end;
           it != end; ++it) {
        EXPECT_EQ(rules.records.count((*it)[0]), 1u)
            << (*it)[0] << " is not recorded";
        ++uses;
      }
    }
  }
  EXPECT_GE(uses, 15u);
}

}  // namespace
}  // namespace mlmon
