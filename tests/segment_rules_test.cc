// The rules, alert and dashboard panels of segments (`segments:`,
// `slo.max_segment_gap`): which rules a spec gets, the ConfigErrors of the
// objective, and, through promtool, the rules' values and the alert on
// synthetic series (tests/rules/segments_test.yml, values worked out by
// hand there).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "internal/quality_rules.h"
#include "mlmon/alerting.h"
#include "mlmon/errors.h"
#include "mlmon/monitor_spec.h"

namespace mlmon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The spec of tests/rules/segments_test.yml (tests/rules/segments.yaml).
MonitorSpec SegmentSpec() {
  MonitorSpec spec;
  spec.model = "fraud";
  spec.version = "3";
  spec.outcome.task = OutcomeSpec::Task::kBinary;
  spec.outcome.thresholds = {0.5};
  spec.segments.name = "country";
  spec.slo.max_segment_gap = 0.3;
  spec.slo.for_duration = std::chrono::minutes(2);
  return spec;
}

std::vector<std::string> Names(const MonitorSpec& spec) {
  std::vector<std::string> out;
  for (const internal::QualityRule& r : internal::SegmentQualityRules(spec)) {
    out.push_back(r.record);
  }
  return out;
}

TEST(SegmentRulesTest, BinaryWithSegmentsGetsPerSegmentRulesPerWindow) {
  MonitorSpec spec = SegmentSpec();
  EXPECT_EQ(Names(spec), (std::vector<std::string>{
                             "mlmon:segment_precision:rate1h",
                             "mlmon:segment_recall:rate1h",
                             "mlmon:segment_precision_gap:rate1h",
                             "mlmon:segment_recall_gap:rate1h",
                         }));
  EXPECT_EQ(internal::SegmentGapWindow(spec), "1h");
  spec.slo.min_precision =
      SloSpec::Precision{0.5, 0.8, std::chrono::hours(6), 20};
  EXPECT_EQ(Names(spec), (std::vector<std::string>{
                             "mlmon:segment_precision:rate1h",
                             "mlmon:segment_recall:rate1h",
                             "mlmon:segment_precision_gap:rate1h",
                             "mlmon:segment_recall_gap:rate1h",
                             "mlmon:segment_precision:rate6h",
                             "mlmon:segment_recall:rate6h",
                             "mlmon:segment_precision_gap:rate6h",
                             "mlmon:segment_recall_gap:rate6h",
                         }));
  EXPECT_EQ(internal::SegmentGapWindow(spec), "6h");
  // A shorter precision window: rules for it too, the gap reads 1h.
  spec.slo.min_precision->window = std::chrono::minutes(10);
  EXPECT_EQ(Names(spec).size(), 8u);
  EXPECT_EQ(internal::SegmentGapWindow(spec), "1h");
}

TEST(SegmentRulesTest, NoRulesWithoutSegmentsOrForOtherTasks) {
  MonitorSpec spec = SegmentSpec();
  spec.slo = SloSpec();
  spec.segments.name.clear();
  EXPECT_TRUE(Names(spec).empty());
  EXPECT_THAT(GenerateRules(spec), Not(HasSubstr("segment")));
  spec.segments.name = "country";
  for (const auto task :
       {OutcomeSpec::Task::kMulticlass, OutcomeSpec::Task::kRegression,
        OutcomeSpec::Task::kRanking}) {
    spec.outcome.task = task;
    EXPECT_TRUE(Names(spec).empty());
    EXPECT_THAT(GenerateRules(spec), Not(HasSubstr("mlmon:segment_")));
  }
}

TEST(SegmentRulesTest, RulesSumOverReplicasWithoutTheUnsegmentedCells) {
  const std::vector<internal::QualityRule> rules =
      internal::SegmentQualityRules(SegmentSpec());
  ASSERT_EQ(rules.size(), 4u);
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string& e = rules[i].expr;
    EXPECT_THAT(e, HasSubstr("sum by (model, version, segment, threshold)"));
    EXPECT_THAT(e, Not(HasSubstr("instance")));
    EXPECT_THAT(e, HasSubstr("segment!=\"\""));
    EXPECT_THAT(e, HasSubstr("[1h])) >= 30"));
  }
  EXPECT_THAT(rules[0].expr, HasSubstr("increase(mlmon_confusion_total{model="
                                       "\"fraud\",segment!=\"\",threshold!="
                                       "\"\",predicted=\"1\"}[1h])"));
  EXPECT_THAT(rules[1].expr, HasSubstr("increase(mlmon_confusion_total{model="
                                       "\"fraud\",segment!=\"\",threshold!="
                                       "\"\",actual=\"1\"}[1h])"));
  EXPECT_EQ(rules[2].expr,
            "max by (model, version, threshold) "
            "(mlmon:segment_precision:rate1h{model=\"fraud\"}) - min by "
            "(model, version, threshold) "
            "(mlmon:segment_precision:rate1h{model=\"fraud\"})");
  EXPECT_THAT(rules[0].comment, HasSubstr("Quality by segment (country)"));
}

TEST(SegmentRulesTest, AlertIsAPageOnEitherGap) {
  const std::string rules = GenerateRules(SegmentSpec());
  EXPECT_THAT(rules, HasSubstr("      # slo.max_segment_gap\n"
                               "      - alert: MlmonSegmentGapHigh\n"));
  EXPECT_THAT(rules, HasSubstr("mlmon:segment_precision_gap:rate1h{model=\\"
                               "\"fraud\\\"} > 0.3"));
  EXPECT_THAT(rules, HasSubstr("mlmon:segment_recall_gap:rate1h{model=\\"
                               "\"fraud\\\"} > 0.3"));
  EXPECT_THAT(rules, HasSubstr("severity: \"page\""));
  EXPECT_THAT(rules, HasSubstr("#mlmonsegmentgaphigh\""));
}

std::string ConfigErrorOf(const MonitorSpec& spec) {
  try {
    GenerateRules(spec);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SegmentRulesTest, MaxSegmentGapErrorsAreNamed) {
  // From a file: the parser names the line and the value.
  const auto parse_error = [](const std::string& yaml) -> std::string {
    try {
      ParseMonitorSpec(yaml, "m.yaml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_THAT(parse_error("model: m\nslo:\n  max_segment_gap: 1.5\n"),
              HasSubstr("m.yaml:3: slo.max_segment_gap: not in [0, 1] (1.5)"));
  EXPECT_THAT(parse_error("model: m\nslo:\n  max_segment_gap: -0.1\n"),
              HasSubstr("m.yaml:3: slo.max_segment_gap: not in [0, 1] (-0.1)"));
  EXPECT_EQ(ParseMonitorSpec("model: m\nslo:\n  max_segment_gap: 0.25\n")
                .slo.max_segment_gap,
            0.25);

  // From C++, through GenerateRules, GenerateDashboard and
  // ValidateMonitorSpec.
  MonitorSpec spec = SegmentSpec();
  spec.slo.max_segment_gap = 1.01;
  EXPECT_THAT(ConfigErrorOf(spec),
              HasSubstr("MonitorSpec.slo.max_segment_gap: not in [0, 1] "
                        "(1.01)"));
  EXPECT_THROW(GenerateDashboard(spec), ConfigError);
  EXPECT_THROW(ValidateMonitorSpec(spec), ConfigError);
  spec.slo.max_segment_gap = 0;  // in [0, 1]: any gap alerts
  EXPECT_EQ(ConfigErrorOf(spec), "no error");
  spec.slo.max_segment_gap = 1;
  EXPECT_EQ(ConfigErrorOf(spec), "no error");

  // Without segments, and for a task without precision and recall.
  spec = SegmentSpec();
  spec.segments.name.clear();
  EXPECT_THAT(ConfigErrorOf(spec),
              HasSubstr("MonitorSpec.slo.max_segment_gap: needs segments:"));
  EXPECT_THROW(ValidateMonitorSpec(spec), ConfigError);
  spec = SegmentSpec();
  spec.outcome.task = OutcomeSpec::Task::kRegression;
  EXPECT_THAT(ConfigErrorOf(spec),
              HasSubstr("MonitorSpec.slo.max_segment_gap: needs task: binary"));
  spec.source = "fraud.yaml";
  EXPECT_THAT(ConfigErrorOf(spec),
              HasSubstr("fraud.yaml: slo.max_segment_gap: needs task: binary"));

  // A name that is not label-like never reaches a template or a title.
  spec = SegmentSpec();
  spec.segments.name = "country\"}} {{ x";
  EXPECT_THAT(
      ConfigErrorOf(spec),
      HasSubstr("MonitorSpec.segments.name: not [a-zA-Z_][a-zA-Z0-9_]*"));
  EXPECT_THROW(GenerateDashboard(spec), ConfigError);

  // The same from monitor.yaml files.
  EXPECT_THAT(
      ConfigErrorOf(ParseMonitorSpec(
          "model: m\ntask: binary\nslo:\n  max_segment_gap: 0.2\n", "m.yaml")),
      HasSubstr("m.yaml: slo.max_segment_gap: needs segments:"));
  EXPECT_THAT(ConfigErrorOf(ParseMonitorSpec(
                  "model: m\ntask: multiclass\nclasses: [a, b]\nsegments: "
                  "{name: country}\nslo:\n  max_segment_gap: 0.2\n",
                  "m.yaml")),
              HasSubstr("m.yaml: slo.max_segment_gap: needs task: binary"));
  EXPECT_EQ(ConfigErrorOf(ParseMonitorSpec(
                "model: m\ntask: binary\nsegments: {name: country}\nslo:\n"
                "  max_segment_gap: 0.2\n",
                "m.yaml")),
            "no error");
}

std::map<std::string, nlohmann::json> PanelsByTitle(const MonitorSpec& spec) {
  std::map<std::string, nlohmann::json> out;
  const nlohmann::json dashboard =
      nlohmann::json::parse(GenerateDashboard(spec));
  for (const auto& p : dashboard["panels"]) {
    out[p["title"].get<std::string>()] = p;
  }
  return out;
}

TEST(SegmentRulesTest, DashboardDrawsSegmentsAndTheGapThreshold) {
  MonitorSpec spec = SegmentSpec();
  spec.slo.min_precision =
      SloSpec::Precision{0.5, 0.8, std::chrono::hours(6), 20};
  const auto panels = PanelsByTitle(spec);
  ASSERT_EQ(panels.count("Precision/recall by country"), 1u);
  ASSERT_EQ(panels.count("Segment quality gap"), 1u);
  const auto& by = panels.at("Precision/recall by country")["targets"];
  ASSERT_EQ(by.size(), 2u);
  EXPECT_THAT(by[0]["expr"].get<std::string>(),
              HasSubstr("mlmon:segment_precision:rate6h{"));
  EXPECT_THAT(by[1]["expr"].get<std::string>(),
              HasSubstr("mlmon:segment_recall:rate6h{"));
  EXPECT_THAT(by[0]["legendFormat"].get<std::string>(),
              HasSubstr("{{segment}}"));
  const auto& gap = panels.at("Segment quality gap");
  EXPECT_THAT(gap["targets"][0]["expr"].get<std::string>(),
              HasSubstr("mlmon:segment_precision_gap:rate6h{"));
  EXPECT_THAT(gap["targets"][1]["expr"].get<std::string>(),
              HasSubstr("mlmon:segment_recall_gap:rate6h{"));
  const auto& steps = gap["fieldConfig"]["defaults"]["thresholds"]["steps"];
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1]["value"].get<double>(), 0.3);

  // Every rule a panel reads is recorded.
  const std::string rules = GenerateRules(spec);
  for (const char* r :
       {"mlmon:segment_precision:rate6h", "mlmon:segment_recall:rate6h",
        "mlmon:segment_precision_gap:rate6h",
        "mlmon:segment_recall_gap:rate6h"}) {
    EXPECT_THAT(rules, HasSubstr(std::string("- record: ") + r + "\n"));
  }

  // The per-replica gauges are the whole model's (segment=""), not an
  // average that mixes the segments in.
  EXPECT_THAT(panels.at("Windowed quality (per replica)")["targets"][0]["expr"]
                  .get<std::string>(),
              HasSubstr("segment=\"\""));

  spec.segments.name.clear();
  spec.slo.max_segment_gap.reset();
  const auto without = PanelsByTitle(spec);
  EXPECT_EQ(without.count("Precision/recall by country"), 0u);
  EXPECT_EQ(without.count("Segment quality gap"), 0u);
}

// Runs `command`, its output into `log`; true when it exits 0.
bool RunCommand(const std::string& command, const std::string& log) {
  const int rc = std::system((command + " > " + log + " 2>&1").c_str());
  return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class SegmentRulesPromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* env = std::getenv("PROMTOOL");
    promtool_ = env != nullptr ? env : "/usr/bin/promtool";
    if (access(promtool_.c_str(), X_OK) != 0) {
      GTEST_SKIP() << "no promtool at " << promtool_;
    }
    char dir[] = "/tmp/mlmon_segment_rules_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }

  std::string promtool_;
  std::string dir_;
};

TEST_F(SegmentRulesPromtoolTest, CheckRulesPassesWithSegments) {
  MonitorSpec spec = SegmentSpec();
  spec.outcome.thresholds = {0.3, 0.5};
  spec.slo.min_precision =
      SloSpec::Precision{0.5, 0.8, std::chrono::minutes(10), 20};
  std::ofstream(dir_ + "/rules.yml") << GenerateRules(spec);
  const std::string log = dir_ + "/check.out";
  EXPECT_TRUE(RunCommand(
      promtool_ + " check rules --lint=all --lint-fatal " + dir_ + "/rules.yml",
      log))
      << ReadFile(log);
  EXPECT_THAT(ReadFile(log), Not(HasSubstr("WARN")));
}

TEST(SegmentRulesTest, TheCxxSpecIsTheTestConfig) {
  const MonitorSpec yaml = LoadMonitorSpec(std::string(MLMON_SOURCE_DIR) +
                                           "/tests/rules/segments.yaml");
  MonitorSpec cxx = SegmentSpec();
  cxx.source = yaml.source;
  EXPECT_EQ(GenerateRules(cxx), GenerateRules(yaml));
}

TEST_F(SegmentRulesPromtoolTest, ValuesAndAlertOnSyntheticSeries) {
  std::ofstream(dir_ + "/rules.yml") << GenerateRules(SegmentSpec());
  std::ofstream(dir_ + "/segments_test.yml") << ReadFile(
      std::string(MLMON_SOURCE_DIR) + "/tests/rules/segments_test.yml");
  const std::string log = dir_ + "/test.out";
  EXPECT_TRUE(RunCommand(
      "cd " + dir_ + " && " + promtool_ + " test rules segments_test.yml", log))
      << ReadFile(log);
}

}  // namespace
}  // namespace mlmon
