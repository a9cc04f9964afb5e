#include "mlmon/monitor_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace mlmon {
namespace {

using ::testing::HasSubstr;
using std::chrono::hours;
using std::chrono::seconds;

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseMonitorSpec(yaml, "monitor.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(MonitorSpecTest, ParsesEveryKey) {
  MonitorSpec s = ParseMonitorSpec(R"(
model: fraud
version: "2024-06-01"
endpoints: [predict, explain]
latency_buckets: [0.001, 0.01, 0.1]
task: binary
thresholds: [0.3, 0.5]
outcome_ttl: 30d
max_clock_skew: 2m
pending_capacity: 5000
windows: [15m, 1h]
slices_per_window: 30
auc_bins: 2048
delay_buckets: [1, 60, 3600]
score_buckets: [0.25, 0.5, 0.75]
error_buckets: [0.1, 1]
)");
  EXPECT_EQ(s.model, "fraud");
  EXPECT_EQ(s.version, "2024-06-01");
  EXPECT_EQ(s.endpoints, (std::vector<std::string>{"predict", "explain"}));
  EXPECT_EQ(s.latency_buckets, (std::vector<double>{0.001, 0.01, 0.1}));
  EXPECT_EQ(s.outcome.task, OutcomeSpec::Task::kBinary);
  EXPECT_EQ(s.outcome.thresholds, (std::vector<double>{0.3, 0.5}));
  EXPECT_EQ(s.outcome.outcome_ttl, hours(24 * 30));
  EXPECT_EQ(s.outcome.max_clock_skew, seconds(120));
  EXPECT_EQ(s.outcome.pending_capacity, 5000u);
  EXPECT_EQ(s.outcome.windows, (std::vector<seconds>{seconds(900), hours(1)}));
  EXPECT_EQ(s.outcome.slices_per_window, 30u);
  EXPECT_EQ(s.outcome.auc_bins, 2048u);
  EXPECT_EQ(s.outcome.delay_buckets, (std::vector<double>{1, 60, 3600}));
  EXPECT_NO_THROW(ValidateMonitorSpec(s));
}

TEST(MonitorSpecTest, OtherTasks) {
  MonitorSpec m = ParseMonitorSpec("model: m\ntask: multiclass\nclasses: [cat, dog]\n");
  EXPECT_EQ(m.outcome.task, OutcomeSpec::Task::kMulticlass);
  EXPECT_EQ(m.outcome.classes, (std::vector<std::string>{"cat", "dog"}));
  MonitorSpec r = ParseMonitorSpec("model: m\ntask: ranking\nk: [1, 5]\n");
  EXPECT_EQ(r.outcome.k, (std::vector<std::size_t>{1, 5}));
  EXPECT_EQ(ParseMonitorSpec("model: m\ntask: regression\n").outcome.task,
            OutcomeSpec::Task::kRegression);
}

TEST(MonitorSpecTest, DefaultsWhenOnlyModelIsGiven) {
  MonitorSpec s = ParseMonitorSpec("model: m\n");
  EXPECT_EQ(s.version, "1");
  EXPECT_EQ(s.outcome.task, OutcomeSpec::Task::kBinary);
  EXPECT_EQ(s.outcome.pending_capacity, 1000000u);
  EXPECT_EQ(s.outcome.outcome_ttl, hours(24 * 7));
  EXPECT_EQ(s.outcome.max_clock_skew, seconds(300));
}

TEST(MonitorSpecTest, UnknownKeyIsNamedWithItsLine) {
  EXPECT_THAT(ErrorOf("model: m\n\nthreshold: [0.5]\n"),
              HasSubstr("monitor.yaml:3: key 'threshold': unknown key"));
}

TEST(MonitorSpecTest, BadValuesAreNamed) {
  EXPECT_THAT(ErrorOf("model: m\ntask: clustering\n"), HasSubstr("'clustering'"));
  EXPECT_THAT(ErrorOf("model: m\noutcome_ttl: soon\n"),
              HasSubstr("key 'outcome_ttl': 'soon' is not a positive duration"));
  EXPECT_THAT(ErrorOf("model: m\nmax_clock_skew: 5 minutes\n"),
              HasSubstr("key 'max_clock_skew': '5 minutes' is not a positive duration"));
  EXPECT_THAT(ErrorOf("model: m\npending_capacity: -3\n"),
              HasSubstr("key 'pending_capacity'"));
  EXPECT_THAT(ErrorOf("model: m\nthresholds: [0.5, high]\n"),
              HasSubstr("key 'thresholds': 'high' is not a finite number"));
  EXPECT_THAT(ErrorOf("model: m\nlatency_buckets: [1, 0.5]\n"),
              HasSubstr("key 'latency_buckets'"));
  EXPECT_THAT(ErrorOf("model: m\nwindows: 1h\n"), HasSubstr("key 'windows'"));
  EXPECT_THAT(ErrorOf("version: 2\n"), HasSubstr("key 'model' is required"));
  EXPECT_THAT(ErrorOf("model: m\nmodel: n\n"), HasSubstr("given twice"));
  EXPECT_THAT(ErrorOf("- a\n- b\n"), HasSubstr("expected a mapping"));
  EXPECT_THAT(ErrorOf("model: [unclosed\n"), HasSubstr("invalid YAML"));
}

TEST(MonitorSpecTest, DriftMinSamplesIsParsedPerSection) {
  MonitorSpec s = ParseMonitorSpec(R"(
model: m
distribution: {drift_min_samples: 50}
features: {drift_min_samples: 1000}
)");
  EXPECT_EQ(s.distribution.drift_min_samples, 50u);
  EXPECT_EQ(s.features.drift_min_samples, 1000u);
  EXPECT_NO_THROW(ValidateMonitorSpec(s));
  // Default: 200 in both.
  MonitorSpec d = ParseMonitorSpec("model: m\n");
  EXPECT_EQ(d.distribution.drift_min_samples, 500u);
  EXPECT_EQ(d.features.drift_min_samples, 200u);
  EXPECT_EQ(ParseMonitorSpec("model: m\nfeatures: {drift_min_samples: 1}\n")
                .features.drift_min_samples,
            1u);
}

TEST(MonitorSpecTest, BadDriftMinSamplesIsNamedWithKeyAndValue) {
  EXPECT_THAT(ErrorOf("model: m\ndistribution:\n  drift_min_samples: 0\n"),
              HasSubstr("monitor.yaml:3: key 'distribution.drift_min_samples': "
                        "'0' is not an integer >= 1"));
  EXPECT_THAT(ErrorOf("model: m\nfeatures: {drift_min_samples: -5}\n"),
              HasSubstr("key 'features.drift_min_samples': '-5' is not an "
                        "integer >= 1"));
  EXPECT_THAT(ErrorOf("model: m\nfeatures: {drift_min_samples: 2.5}\n"),
              HasSubstr("key 'features.drift_min_samples': '2.5' is not an "
                        "integer >= 1"));
  EXPECT_THAT(ErrorOf("model: m\ndistribution: {drift_min_samples: many}\n"),
              HasSubstr("key 'distribution.drift_min_samples': 'many' is not "
                        "a finite number"));
  EXPECT_THAT(ErrorOf("model: m\ndistribution: {drift_min_samples: [1]}\n"),
              HasSubstr("key 'distribution.drift_min_samples': expected a "
                        "single value"));
}

TEST(MonitorSpecTest, ValidationUsesTheLibrarysOwnChecks) {
  MonitorSpec s = ParseMonitorSpec("model: m\nthresholds: [1.5]\n", "x.yaml");
  try {
    ValidateMonitorSpec(s);
    FAIL() << "threshold 1.5 accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("x.yaml"));
    EXPECT_THAT(e.what(), HasSubstr("1.5"));
  }
  MonitorSpec mc = ParseMonitorSpec("model: m\ntask: multiclass\n");
  EXPECT_THROW(ValidateMonitorSpec(mc), ConfigError);  // no classes
}

TEST(MonitorSpecTest, ParseDurationUnits) {
  EXPECT_EQ(ParseDuration("45s"), seconds(45));
  EXPECT_EQ(ParseDuration("45"), seconds(45));
  EXPECT_EQ(ParseDuration("30m"), seconds(1800));
  EXPECT_EQ(ParseDuration("12h"), hours(12));
  EXPECT_EQ(ParseDuration("7d"), hours(168));
  EXPECT_EQ(ParseDuration("2w"), hours(336));
  EXPECT_THROW(ParseDuration("0s"), ConfigError);
  EXPECT_THROW(ParseDuration("-1h"), ConfigError);
  EXPECT_THROW(ParseDuration("1.5h"), ConfigError);
  EXPECT_THROW(ParseDuration("h"), ConfigError);
  EXPECT_THROW(ParseDuration("1y"), ConfigError);
  EXPECT_THROW(ParseDuration("99999999999999d"), ConfigError);
}

TEST(MonitorSpecTest, LoadsAFileAndNamesAMissingOne) {
  const std::string path = testing::TempDir() + "/monitor_spec_test.yaml";
  std::ofstream(path) << "model: from_file\n";
  EXPECT_EQ(LoadMonitorSpec(path).model, "from_file");
  EXPECT_EQ(LoadMonitorSpec(path).source, path);
  EXPECT_THAT(
      [] {
        try {
          LoadMonitorSpec("/nonexistent/monitor.yaml");
        } catch (const ConfigError& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      HasSubstr("/nonexistent/monitor.yaml"));
}

}  // namespace
}  // namespace mlmon
