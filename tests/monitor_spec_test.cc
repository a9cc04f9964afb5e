#include "mlmon/monitor_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <typeinfo>

#include "mlmon/spec_memory.h"

namespace mlmon {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using ::testing::HasSubstr;

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
  MonitorSpec m =
      ParseMonitorSpec("model: m\ntask: multiclass\nclasses: [cat, dog]\n");
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
              HasSubstr("monitor.yaml:3: threshold: unknown key"));
}

TEST(MonitorSpecTest, BadValuesAreNamed) {
  EXPECT_THAT(ErrorOf("model: m\ntask: clustering\n"),
              HasSubstr("task: not one of binary, multiclass, regression, "
                        "ranking (clustering)"));
  EXPECT_THAT(ErrorOf("model: m\noutcome_ttl: soon\n"),
              HasSubstr("outcome_ttl: not a positive duration like 45s, 30m, "
                        "12h, 7d or 2w (soon)"));
  // Whole seconds only: a CLI flag takes "ms", monitor.yaml does not.
  EXPECT_THAT(ErrorOf("model: m\noutcome_ttl: 1500ms\n"),
              HasSubstr("outcome_ttl: not a positive duration like 45s, 30m, "
                        "12h, 7d or 2w (1500ms)"));
  EXPECT_THAT(ErrorOf("model: m\nmax_clock_skew: 5 minutes\n"),
              HasSubstr("max_clock_skew: not a positive duration like 45s, "
                        "30m, 12h, 7d or 2w (5 minutes)"));
  EXPECT_THAT(ErrorOf("model: m\npending_capacity: -3\n"),
              HasSubstr("pending_capacity: "));
  EXPECT_THAT(ErrorOf("model: m\nthresholds: [0.5, high]\n"),
              HasSubstr("thresholds: not a finite number (high)"));
  EXPECT_EQ(ErrorOf("model: m\nlatency_buckets: [1, 0.5]\n"),
            "mlmon: monitor.yaml:2: latency_buckets[1]: not greater than the "
            "bound before it, 1 (0.5)");
  EXPECT_THAT(ErrorOf("model: m\nwindows: 1h\n"), HasSubstr("windows: "));
  EXPECT_THAT(ErrorOf("version: 2\n"), HasSubstr("model: is required"));
  EXPECT_THAT(ErrorOf("model: m\nmodel: n\n"), HasSubstr("given twice"));
  EXPECT_THAT(ErrorOf("- a\n- b\n"), HasSubstr("expected a mapping"));
  EXPECT_THAT(ErrorOf("model: [unclosed\n"), HasSubstr("invalid YAML"));
}

// distribution.estimate_thresholds: default the binary thresholds (none for
// other tasks), or as given; validated by the ResponseDistribution checks.
TEST(MonitorSpecTest, EstimateThresholdsDefaultToTheDecisionThresholds) {
  const MonitorSpec binary =
      ParseMonitorSpec("model: m\ntask: binary\nthresholds: [0.3, 0.5]\n");
  EXPECT_EQ(binary.distribution.estimate_thresholds,
            (std::vector<double>{0.3, 0.5}));
  const MonitorSpec given = ParseMonitorSpec(
      "model: m\ntask: binary\nthresholds: [0.3, 0.5]\ndistribution: "
      "{estimate_thresholds: [0.25]}\n");
  EXPECT_EQ(given.distribution.estimate_thresholds,
            (std::vector<double>{0.25}));
  EXPECT_NO_THROW(ValidateMonitorSpec(given));
  EXPECT_TRUE(ParseMonitorSpec("model: m\ntask: regression\n")
                  .distribution.estimate_thresholds.empty());
  const MonitorSpec bad = ParseMonitorSpec(
      "model: m\ntask: binary\ndistribution: {estimate_thresholds: [1.5]}\n");
  try {
    ValidateMonitorSpec(bad);
    ADD_FAILURE() << "estimate threshold 1.5 accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("estimate_thresholds[0]: not in (0, 1) "
                                    "(1.5)"));
  }
  EXPECT_THAT(
      ErrorOf("model: m\ndistribution: {estimate_thresholds: 0.5}\n"),
      HasSubstr(
          "distribution.estimate_thresholds: expected a list of numbers"));
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
              HasSubstr("monitor.yaml:3: distribution.drift_min_samples: not "
                        "an integer >= 1 (0)"));
  EXPECT_THAT(
      ErrorOf("model: m\nfeatures: {drift_min_samples: -5}\n"),
      HasSubstr("features.drift_min_samples: not an integer >= 1 (-5)"));
  EXPECT_THAT(
      ErrorOf("model: m\nfeatures: {drift_min_samples: 2.5}\n"),
      HasSubstr("features.drift_min_samples: not an integer >= 1 (2.5)"));
  EXPECT_THAT(
      ErrorOf("model: m\ndistribution: {drift_min_samples: many}\n"),
      HasSubstr("distribution.drift_min_samples: not a finite number (many)"));
  EXPECT_THAT(
      ErrorOf("model: m\ndistribution: {drift_min_samples: [1]}\n"),
      HasSubstr("distribution.drift_min_samples: expected a single value"));
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

// `segments:` reaches the spec and both signals; its errors name the line.
TEST(MonitorSpecTest, SegmentsAreParsedAndChecked) {
  const MonitorSpec spec =
      ParseMonitorSpec("model: m\nsegments: {name: country, max_values: 7}\n");
  EXPECT_EQ(spec.segments.name, "country");
  EXPECT_EQ(spec.segments.max_values, 7u);
  EXPECT_EQ(spec.outcome.segments.name, "country");
  EXPECT_EQ(spec.distribution.segments.max_values, 7u);
  EXPECT_EQ(ParseMonitorSpec("model: m\nsegments: {name: tier}\n")
                .segments.max_values,
            20u);
  EXPECT_FALSE(ParseMonitorSpec("model: m\n").segments.enabled());
  EXPECT_THAT(ErrorOf("model: m\nsegments: country\n"),
              HasSubstr("monitor.yaml:2: segments: expected a mapping"));
  EXPECT_THAT(ErrorOf("model: m\nsegments: {max_values: 3}\n"),
              HasSubstr("segments.name: is required"));
  EXPECT_THAT(ErrorOf("model: m\nsegments:\n  name: \"a b\"\n"),
              HasSubstr("monitor.yaml:3: segments.name: not "
                        "[a-zA-Z_][a-zA-Z0-9_]* (a b)"));
  EXPECT_THAT(ErrorOf("model: m\nsegments: {name: c, max_values: 101}\n"),
              HasSubstr("segments.max_values: more than 100 (101)"));
  EXPECT_THAT(ErrorOf("model: m\nsegments: {name: c, max_values: 0}\n"),
              HasSubstr("segments.max_values"));
  EXPECT_THAT(ErrorOf("model: m\nsegments: {name: c, values: 3}\n"),
              HasSubstr("segments.values: unknown key"));
}

TEST(MonitorSpecTest, PendingStoreMemoryOrRedis) {
  EXPECT_EQ(ParseMonitorSpec("model: m\n").outcome.store.backend,
            PendingStoreSpec::Backend::kMemory);
  EXPECT_EQ(ParseMonitorSpec("model: m\npending_store: memory\n")
                .outcome.store.backend,
            PendingStoreSpec::Backend::kMemory);
  const MonitorSpec s = ParseMonitorSpec(
      "model: m\n"
      "pending_store:\n"
      "  backend: redis\n"
      "  url: redis://10.0.0.5:6380/2\n"
      "  password_file: secrets/redis\n"
      "  key_prefix: \"mm:\"\n"
      "  timeout: 250ms\n"
      "  max_buffered: 5000\n",
      "/etc/mlmon/monitor.yaml");
  const PendingStoreSpec& st = s.outcome.store;
  EXPECT_EQ(st.backend, PendingStoreSpec::Backend::kRedis);
  EXPECT_EQ(st.url, "redis://10.0.0.5:6380/2");
  EXPECT_EQ(st.password_file, "/etc/mlmon/secrets/redis");  // next to the file
  EXPECT_EQ(st.key_prefix, "mm:");
  EXPECT_EQ(st.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(st.max_buffered, 5000u);
  EXPECT_EQ(ParseMonitorSpec("model: m\npending_store: {backend: redis, "
                             "timeout: 2s}\n")
                .outcome.store.timeout,
            std::chrono::milliseconds(2000));
  EXPECT_EQ(PendingStoreBackendName(PendingStoreSpec::Backend::kRedis),
            std::string("redis"));
}

TEST(MonitorSpecTest, BadPendingStoreIsNamed) {
  EXPECT_NE(ErrorOf("model: m\npending_store: disk\n")
                .find("monitor.yaml:2: pending_store: not memory or redis "
                      "(disk)"),
            std::string::npos);
  EXPECT_NE(ErrorOf("model: m\npending_store: {url: redis://h}\n")
                .find("pending_store.backend: missing"),
            std::string::npos);
  EXPECT_NE(ErrorOf("model: m\npending_store: {backend: redis, ttl: 1s}\n")
                .find("pending_store.ttl: unknown key"),
            std::string::npos);
  for (const char* t : {"0.5s", "fast", "0ms", "ms"}) {
    EXPECT_NE(ErrorOf(std::string("model: m\npending_store: {backend: "
                                  "redis, timeout: ") +
                      t + "}\n")
                  .find("pending_store.timeout: not a duration"),
              std::string::npos)
        << t;
  }
  EXPECT_NE(ErrorOf("model: m\npending_store: {backend: redis, "
                    "max_buffered: 0}\n")
                .find("pending_store.max_buffered: not an integer >= 1"),
            std::string::npos);
  // Ranges are the tracker's: the spec validates what the parser accepted.
  MonitorSpec slow = ParseMonitorSpec(
      "model: m\npending_store: {backend: redis, timeout: "
      "2m}\n");
  EXPECT_THROW(ValidateMonitorSpec(slow), ConfigError);
  try {
    ValidateMonitorSpec(ParseMonitorSpec(
        "model: m\npending_store: {backend: redis, url: \"http://h\"}\n",
        "fleet.yaml"));
    ADD_FAILURE() << "an http:// URL was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "fleet.yaml: OutcomeSpec.store.url: not a redis:// URL"),
              std::string::npos)
        << e.what();
  }
  // A bad URL is quoted without its password, with or without a user.
  for (const char* url : {"redis://app:hunter2@h:0/0", "redis://hunter2@h:0",
                          "redis://:hunter2@h:99999"}) {
    try {
      ValidateMonitorSpec(ParseMonitorSpec(
          std::string("model: m\npending_store: {backend: redis, url: \"") +
          url + "\"}\n"));
      ADD_FAILURE() << url << " was accepted";
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
      EXPECT_NE(what.find("***@h:"), std::string::npos) << what;
      EXPECT_NE(what.find("port not in [1, 65535]"), std::string::npos) << what;
    }
  }
  // Valid settings validate without a server (nothing listens on port 1).
  EXPECT_NO_THROW(ValidateMonitorSpec(
      ParseMonitorSpec("model: m\npending_store: {backend: redis, url: "
                       "\"redis://127.0.0.1:1/0\"}\n")));
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

namespace mlmon {
namespace {

// Nothing but ConfigError may leave ParseMonitorSpec: anything else (a
// yaml-cpp exception, std::bad_alloc) would terminate a host that catches
// ConfigError as documented.
std::string OnlyConfigError(const std::string& yaml) {
  try {
    ParseMonitorSpec(yaml, "monitor.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a ConfigError: " << typeid(e).name() << ": "
                  << e.what();
    return "";
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST(MonitorSpecHostileTest, ComplexKeyIsAConfigErrorAtEveryLevel) {
  EXPECT_THAT(OnlyConfigError("model: m\n? [a, b]\n: 1\n"),
              HasSubstr("monitor.yaml:2: ?: a key must be a plain name"));
  EXPECT_THAT(OnlyConfigError("model: m\n? {a: 1}\n: 1\n"),
              HasSubstr("a key must be a plain name"));
  EXPECT_THAT(OnlyConfigError("model: m\ndistribution: {[a]: 1}\n"),
              HasSubstr("distribution.?: "));
  EXPECT_THAT(OnlyConfigError("model: m\nfeatures: {[a]: 1}\n"),
              HasSubstr("features.?: "));
  EXPECT_THAT(OnlyConfigError("model: m\nfeatures: {numeric: [{[n]: 1}]}\n"),
              HasSubstr("features.numeric.?: "));
  EXPECT_THAT(OnlyConfigError("model: m\nslo: {[a]: 1}\n"),
              HasSubstr("slo.?: "));
  EXPECT_THAT(OnlyConfigError("model: m\nslo: {for: {[a]: 5m}}\n"),
              HasSubstr("slo.for.?: "));
  EXPECT_THAT(OnlyConfigError("model: m\nslo: {severity: {[a]: page}}\n"),
              HasSubstr("slo.severity.?: "));
  EXPECT_THAT(
      OnlyConfigError("model: m\nslo: {min_precision: {[a]: 1, value: 0.5}}\n"),
      HasSubstr("slo.min_precision.?: "));
  EXPECT_THAT(OnlyConfigError("model: m\nheuristics: {[a]: 1}\n"),
              HasSubstr("heuristics.?: "));
}

TEST(MonitorSpecHostileTest, DeepFlowNestingIsRefusedNotACrash) {
  const std::size_t n = 200000;
  const std::string deep =
      "model: " + std::string(n, '[') + std::string(n, ']') + "\n";
  EXPECT_THAT(OnlyConfigError(deep), HasSubstr("nested deeper than 64 levels"));
  const std::string deep_map = [] {
    std::string s = "model: m\nk: ";
    for (int i = 0; i < 200000; ++i) s += "{a: ";
    return s + "1" + std::string(200000, '}') + "\n";
  }();
  EXPECT_THAT(OnlyConfigError(deep_map), HasSubstr("monitor.yaml"));
}

TEST(MonitorSpecHostileTest, NestingJustOverTheLimitIsRefusedWithTheLimit) {
  // 65 levels: below yaml-cpp's own guard, so the spec's limit speaks.
  const std::string deep = "model: m\nk: " + std::string(64, '[') + "1" +
                           std::string(64, ']') + "\n";
  EXPECT_THAT(OnlyConfigError(deep),
              HasSubstr("monitor.yaml:2: nested deeper than 64 levels"));
}

TEST(MonitorSpecHostileTest, DeepBlockNestingIsRefused) {
  std::string s = "model: m\n";
  // 1000 levels (500 KB of indentation), under the size limit.
  for (int i = 0; i < 1000; ++i) s += std::string(i, ' ') + "a:\n";
  s += std::string(1000, ' ') + "1\n";
  EXPECT_THAT(OnlyConfigError(s), HasSubstr("nested deeper than 64 levels"));
}

TEST(MonitorSpecHostileTest, AliasExpansionIsBounded) {
  // Ten levels of ten aliases: 10^10 values if expanded.
  std::string s = "model: m\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    s += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) {
      s += (j == 0 ? "*l" : ", *l") + std::to_string(i - 1);
    }
    s += "]\n";
  }
  EXPECT_THAT(OnlyConfigError(s), HasSubstr("more than 1000000 values"));
}

TEST(MonitorSpecHostileTest, OversizedTextIsRefused) {
  const std::string big =
      "model: m\n#" + std::string(kMaxMonitorSpecBytes, 'x') + "\n";
  EXPECT_THAT(OnlyConfigError(big),
              HasSubstr("mlmon: monitor.yaml: more than the 1048576 bytes "
                        "accepted (1048587 bytes)"));
}

TEST(MonitorSpecHostileTest, LongValuesAreCutInMessages) {
  const std::string msg =
      OnlyConfigError("model: m\ntask: " + std::string(100000, 'z') + "\n");
  EXPECT_THAT(msg, HasSubstr("... (100000 bytes)"));
  EXPECT_LT(msg.size(), 400u);
  const std::string key =
      OnlyConfigError("model: m\n? " + std::string(100000, 'k') + "\n: 1\n");
  EXPECT_THAT(key, HasSubstr("... (100000 bytes)"));
  EXPECT_LT(key.size(), 400u);
}

TEST(MonitorSpecHostileTest, IntegerKeysTakeDecimalIntegersOnly) {
  // Accepted on purpose: an integral value in exponent notation.
  EXPECT_EQ(ParseMonitorSpec("model: m\npending_capacity: 1e8\n")
                .outcome.pending_capacity,
            100000000u);
  EXPECT_EQ(ParseMonitorSpec("model: m\nauc_bins: 2048.0\n").outcome.auc_bins,
            2048u);
  EXPECT_THAT(OnlyConfigError("model: m\npending_capacity: 1e999\n"),
              HasSubstr("pending_capacity: not a finite number (1e999)"));
  EXPECT_THAT(OnlyConfigError("model: m\npending_capacity: -1\n"),
              HasSubstr("pending_capacity: not a non-negative integer (-1)"));
  EXPECT_THAT(OnlyConfigError("model: m\nauc_bins: 1.5\n"),
              HasSubstr("auc_bins: not a non-negative integer (1.5)"));
  EXPECT_THAT(OnlyConfigError("model: m\nauc_bins: 1e16\n"),
              HasSubstr("auc_bins: not a non-negative integer (1e16)"));
  EXPECT_THAT(OnlyConfigError("model: m\nslices_per_window: 0x10\n"),
              HasSubstr("slices_per_window: not a finite number (0x10)"));
  EXPECT_THAT(OnlyConfigError("model: m\nslices_per_window: .inf\n"),
              HasSubstr("slices_per_window: not a finite number (.inf)"));
  EXPECT_THAT(OnlyConfigError("model: m\nslices_per_window: nan\n"),
              HasSubstr("slices_per_window: not a finite number (nan)"));
}

class SpecFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
};

TEST_F(SpecFileTest, ConfigThatIsNotARegularFileIsRefused) {
  try {
    LoadMonitorSpec("/dev/zero");
    FAIL() << "accepted /dev/zero";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: /dev/zero: the config file is not a regular file");
  }
}

TEST_F(SpecFileTest, ReferenceThatIsNotARegularFileIsRefusedAtValidation) {
  const std::string path =
      Write("ref_zero.yaml", "model: m\nreference: /dev/zero\n");
  const MonitorSpec spec = LoadMonitorSpec(path);
  try {
    ValidateMonitorSpec(spec);
    FAIL() << "accepted /dev/zero";
  } catch (const ConfigError& e) {
    // The spec's source, then the file it names.
    EXPECT_EQ(std::string(e.what()),
              "mlmon: " + path +
                  ": /dev/zero: the reference profile is not a regular file");
  }
}

// Peak resident memory of the calling process, in KiB.
long PeakRssKiB() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Runs `f` in a child process and returns how much its peak resident memory
// grew (KiB), or -1 if `f` threw or the child died.
template <typename F>
long PeakGrowthInChild(F f) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const long before = PeakRssKiB();
    long growth = -1;
    try {
      f();
      growth = PeakRssKiB() - before;
    } catch (...) {
    }
    (void)!write(fds[1], &growth, sizeof growth);
    _exit(0);
  }
  close(fds[1]);
  long growth = -1;
  if (read(fds[0], &growth, sizeof growth) != sizeof growth) growth = -1;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return growth;
}

TEST(MonitorSpecMemoryTest, ValidationDoesNotAllocateInProportionToSizes) {
  // The largest valid sizes: 1e8 pending entries alone are ~10 GiB.
  const MonitorSpec spec = ParseMonitorSpec(
      "model: m\ntask: binary\nthresholds: [0.5]\npending_capacity: 1e8\n"
      "auc_bins: 65536\nslices_per_window: 3600\nwindows: [1m, 2m, 3m, 4m, 5m, "
      "6m, 7m, 8m]\ndistribution: {slices_per_window: 3600}\n"
      "features: {slices_per_window: 3600}\n",
      "big.yaml");
  const long growth = PeakGrowthInChild([&] { ValidateMonitorSpec(spec); });
  ASSERT_GE(growth, 0) << "ValidateMonitorSpec threw or the child died";
  EXPECT_LT(growth, 64 * 1024) << "peak RSS grew by " << growth << " KiB";
}

TEST(MonitorSpecMemoryTest, ShrunkValidationStillRefusesOutOfRangeSizes) {
  // The sizes validation builds small are still checked against the limits
  // of OutcomeSpec, ResponseSpec and FeatureSpec.
  const auto error = [](const std::string& yaml) {
    try {
      ValidateMonitorSpec(ParseMonitorSpec(yaml, "s.yaml"));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string base = "model: m\ntask: binary\nthresholds: [0.5]\n";
  EXPECT_THAT(error(base + "pending_capacity: 100000001\n"),
              HasSubstr("pending_capacity: not in [1, 100000000] (100000001)"));
  EXPECT_THAT(error(base + "pending_capacity: 0\n"),
              HasSubstr("pending_capacity: not in [1, 100000000] (0)"));
  EXPECT_THAT(error(base + "auc_bins: 65537\n"),
              HasSubstr("auc_bins: not in [16, 65536] (65537)"));
  EXPECT_THAT(error(base + "auc_bins: 15\n"),
              HasSubstr("auc_bins: not in [16, 65536] (15)"));
  EXPECT_THAT(
      error(base + "slices_per_window: 3601\n"),
      HasSubstr("OutcomeSpec.slices_per_window: not in [1, 3600] (3601)"));
  EXPECT_THAT(
      error(base + "distribution: {slices_per_window: 3601}\n"),
      HasSubstr("ResponseSpec.slices_per_window: not in [1, 3600] (3601)"));
  EXPECT_THAT(
      error(base + "features: {slices_per_window: 3601}\n"),
      HasSubstr("FeatureSpec.slices_per_window: not in [1, 3600] (3601)"));
  EXPECT_EQ(error(base + "pending_capacity: 100000000\nauc_bins: 65536\n"
                         "slices_per_window: 3600\n"),
            "");
}

TEST(MonitorSpecMemoryTest, EstimateNamesTheBigPartAndTheBudgetRefusesIt) {
  const MonitorSpec spec = ParseMonitorSpec(
      "model: m\ntask: binary\nthresholds: [0.5]\nauc_bins: 65536\n"
      "slices_per_window: 3600\nwindows: [1m, 2m, 3m, 4m, 5m, 6m, 7m, 8m]\n",
      "auc.yaml");
  const MemoryEstimate e = EstimateMonitorMemory(spec);
  // 8 windows x 3601 slices x 65536 bins x 2 classes x 8 bytes.
  const std::uint64_t auc = 8ull * 3601 * 65536 * 2 * 8;
  ASSERT_EQ(e.parts[1].what, "outcome windows");
  EXPECT_GE(e.parts[1].bytes, auc);
  EXPECT_LT(e.parts[1].bytes, auc + auc / 100);
  try {
    CheckMemoryBudget(spec, kDefaultMemoryBudgetBytes);
    FAIL() << "accepted " << e.ToString();
  } catch (const ConfigError& err) {
    EXPECT_THAT(err.what(), HasSubstr("auc.yaml: the monitors would need an "
                                      "estimated 28.2 GiB"));
    EXPECT_THAT(err.what(), HasSubstr("outcome windows 28.1 GiB"));
    EXPECT_THAT(err.what(),
                HasSubstr("more than the memory budget of 1.0 GiB"));
  }
  // 1e8 pending entries at 112 bytes each (8-byte payload).
  const MonitorSpec pending =
      ParseMonitorSpec("model: m\npending_capacity: 1e8\n", "p.yaml");
  EXPECT_EQ(EstimateMonitorMemory(pending).parts[0].bytes, 100000000ull * 112);
  // With a Redis store only the write buffer lives in the process: 128-byte
  // slots for a binary task, whatever pending_capacity says.
  const MonitorSpec fleet = ParseMonitorSpec(
      "model: m\npending_capacity: 1e8\n"
      "pending_store: {backend: redis, max_buffered: 1000}\n",
      "f.yaml");
  EXPECT_EQ(EstimateMonitorMemory(fleet).parts[0].bytes, 1000ull * 128);
  // Segments: the segment byte in each pending entry (9-byte payload, 120
  // bytes per entry), and per segment value plus __other__ the task's
  // windows on 16 score bins per class: 2 windows x 61 slices x 560 bytes
  // (32 + 2 x 16 x 8 + 32 for one threshold + 15 x 16 for the ECE bins).
  const MonitorSpec segmented = ParseMonitorSpec(
      "model: m\npending_capacity: 1000\n"
      "segments: {name: country, max_values: 20}\n",
      "s.yaml");
  const MemoryEstimate se = EstimateMonitorMemory(segmented);
  EXPECT_EQ(se.parts[0].bytes, 1000ull * 120);
  ASSERT_EQ(se.parts[2].what, "segment windows");
  EXPECT_EQ(se.parts[2].bytes, 21ull * 2 * 61 * 560);
  // Absurd sizes from C++ saturate instead of wrapping.
  MonitorSpec absurd;
  absurd.outcome.pending_capacity = ~std::size_t{0};
  EXPECT_EQ(EstimateMonitorMemory(absurd).total_bytes, ~std::uint64_t{0});
  // The shipped example fits the default budget.
  EXPECT_NO_THROW(CheckMemoryBudget(
      LoadMonitorSpec(MLMON_SOURCE_DIR "/examples/model_server/monitor.yaml"),
      kDefaultMemoryBudgetBytes));
}

}  // namespace
}  // namespace mlmon
