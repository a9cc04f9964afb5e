// The rollout objectives of the slo: section, slo.max_shadow_disagreement
// and slo.max_model_age: parsed from monitor.yaml (bad values named with
// their line), checked on a spec built in C++, and turned into their alerts
// and dashboard panels.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "mlmon/alerting.h"
#include "mlmon/errors.h"
#include "mlmon/monitor_spec.h"

namespace mlmon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Error(const std::string& yaml) {
  try {
    GenerateRules(ParseMonitorSpec(yaml, "m.yaml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(RolloutSloTest, ValidValuesAreParsed) {
  const MonitorSpec spec = ParseMonitorSpec(
      "model: m\nslo:\n  max_shadow_disagreement: 0.05\n  max_model_age: "
      "30d\n",
      "m.yaml");
  EXPECT_EQ(spec.slo.max_shadow_disagreement, 0.05);
  EXPECT_EQ(spec.slo.max_model_age, std::chrono::hours(24 * 30));
  EXPECT_EQ(ParseMonitorSpec("model: m\nslo:\n  max_model_age: 90m\n", "m.yaml")
                .slo.max_model_age,
            std::chrono::minutes(90));
  // The open interval's inside edges.
  EXPECT_EQ(Error("model: m\nslo:\n  max_shadow_disagreement: 0.0001\n"),
            "no error");
  EXPECT_EQ(Error("model: m\nslo:\n  max_shadow_disagreement: 0.9999\n"),
            "no error");
  EXPECT_EQ(Error("model: m\ntask: multiclass\nclasses: [a, b]\nslo:\n"
                  "  max_shadow_disagreement: 0.1\n"),
            "no error");
}

TEST(RolloutSloTest, BadValuesAreNamedWithTheirLine) {
  struct Case {
    const char* edge_case;
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"0 would alert on any disagreement",
       "model: m\nslo:\n  max_shadow_disagreement: 0\n",
       "mlmon: m.yaml:3: slo.max_shadow_disagreement: not in (0, 1) (0)"},
      {"1 could never alert", "model: m\nslo:\n  max_shadow_disagreement: 1\n",
       "mlmon: m.yaml:3: slo.max_shadow_disagreement: not in (0, 1) (1)"},
      {"above 1", "model: m\nslo:\n  max_shadow_disagreement: 1.5\n",
       "mlmon: m.yaml:3: slo.max_shadow_disagreement: not in (0, 1) (1.5)"},
      {"negative", "model: m\nslo:\n\n  max_shadow_disagreement: -0.1\n",
       "mlmon: m.yaml:4: slo.max_shadow_disagreement: not in (0, 1) (-0.1)"},
      {"a percentage", "model: m\nslo:\n  max_shadow_disagreement: 5%\n",
       "mlmon: m.yaml:3: slo.max_shadow_disagreement: "},
      {"regression has no decision",
       "model: m\ntask: regression\nslo:\n  max_shadow_disagreement: 0.1\n",
       "mlmon: m.yaml: slo.max_shadow_disagreement: needs task: binary or "
       "multiclass"},
      {"a zero age", "model: m\nslo:\n  max_model_age: 0s\n",
       "mlmon: m.yaml:3: slo.max_model_age: "},
      {"a negative age", "model: m\nslo:\n  max_model_age: -5m\n",
       "mlmon: m.yaml:3: slo.max_model_age: "},
      {"an age in words", "model: m\nslo:\n  max_model_age: a month\n",
       "mlmon: m.yaml:3: slo.max_model_age: "},
      {"a severity override is checked",
       "model: m\nslo:\n  severity: {max_model_age: urgent}\n",
       "slo.severity.max_model_age: not page or ticket (urgent)"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Error(c.yaml), HasSubstr(c.message)) << c.edge_case;
  }
}

TEST(RolloutSloTest, SpecsBuiltInCppAreChecked) {
  const auto err = [](const MonitorSpec& spec) -> std::string {
    try {
      ValidateMonitorSpec(spec);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  MonitorSpec spec;
  spec.model = "m";
  spec.slo.max_shadow_disagreement = 1.0;
  EXPECT_EQ(err(spec),
            "mlmon: MonitorSpec.slo.max_shadow_disagreement: not in (0, 1) "
            "(1)");
  spec.slo.max_shadow_disagreement.reset();
  spec.slo.max_model_age = std::chrono::seconds(-60);
  EXPECT_EQ(err(spec),
            "mlmon: MonitorSpec.slo.max_model_age: not a positive duration "
            "(-60s)");
  spec.slo.max_model_age = std::chrono::hours(1);
  EXPECT_EQ(err(spec), "no error");
}

TEST(RolloutSloTest, AlertsAndPanelsFollowTheTask) {
  const auto spec = [](const std::string& task_lines) {
    return ParseMonitorSpec(
        "model: m\n" + task_lines + "slo:\n  max_model_age: 7d\n", "m.yaml");
  };
  const std::string binary = GenerateRules(spec("task: binary\n"));
  EXPECT_THAT(binary, HasSubstr("record: mlmon:shadow_disagreement_ratio:"));
  EXPECT_THAT(binary, HasSubstr("record: mlmon:shadow_absolute_difference:"));
  EXPECT_THAT(binary, HasSubstr("mlmon:model_age_seconds{model=\\\"m\\\"} > "
                                "604800"));
  const std::string regression = GenerateRules(spec("task: regression\n"));
  EXPECT_THAT(regression, Not(HasSubstr("shadow_disagreement_ratio")));
  EXPECT_THAT(regression,
              HasSubstr("record: mlmon:shadow_absolute_difference"));
  const std::string multiclass =
      GenerateRules(spec("task: multiclass\nclasses: [a, b]\n"));
  EXPECT_THAT(multiclass, HasSubstr("shadow_disagreement_ratio"));
  EXPECT_THAT(multiclass, Not(HasSubstr("shadow_absolute_difference")));

  const auto titles = [](const MonitorSpec& s) {
    std::string all;
    const nlohmann::json dashboard =
        nlohmann::json::parse(GenerateDashboard(s));
    for (const auto& p : dashboard["panels"]) {
      all += p["title"].get<std::string>() + "\n";
    }
    return all;
  };
  EXPECT_THAT(titles(spec("task: binary\n")),
              HasSubstr("Shadow disagreement\nShadow absolute difference\n"
                        "Model age\n"));
  EXPECT_THAT(titles(spec("task: regression\n")),
              Not(HasSubstr("Shadow disagreement\n")));
}

}  // namespace
}  // namespace mlmon
