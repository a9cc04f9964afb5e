// The SLO catalogue (src/internal/slo_catalogue.h) against what reads it:
// the slo: parser, the alerts, the dashboard thresholds, and the SLO lists
// of docs/runbook.md, README.md and the header comments, which are written
// by hand and checked here against the table.

#include "internal/slo_catalogue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mlmon/alerting.h"
#include "mlmon/errors.h"
#include "mlmon/monitor_spec.h"

namespace mlmon {
namespace {

using internal::SloCatalogue;
using internal::SloObjective;

std::string ReadSource(const std::string& path) {
  std::ifstream in(std::string(MLMON_SOURCE_DIR) + "/" + path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every objective configured, with values that tell the fields apart.
constexpr const char* kAllObjectives = R"(
model: fraud
task: binary
thresholds: [0.5]
segments: {name: country}
slo:
  latency_p99_seconds: 0.25
  error_ratio: 0.01
  min_precision: {threshold: 0.5, value: 0.8}
  max_empty_share: 0.2
  max_heuristic_failure_ratio: 0.1
  max_outcome_staleness: 2h
  max_drift_psi: 0.3
  max_feature_problem_ratio: 0.05
  max_shadow_disagreement: 0.07
  max_model_age: 30d
  max_segment_gap: 0.15
)";

// The alert names and default severities as the runbook and the promtool
// tests (tests/rules/alerts_test.yml) know them, in the order of the rules.
TEST(SloCatalogueTest, KeysAlertsAndSeveritiesAreTheDocumentedOnes) {
  const std::vector<std::vector<std::string>> expected = {
      {"latency_p99_seconds", "MlmonLatencyP99High", "page"},
      {"error_ratio", "MlmonErrorRatioHigh", "page"},
      {"min_precision", "MlmonPrecisionLow", "page"},
      {"min_precision", "MlmonEstimatedPrecisionLow", "ticket"},
      {"max_empty_share", "MlmonEmptyResponseShareHigh", "page"},
      {"max_heuristic_failure_ratio", "MlmonHeuristicFailureRatioHigh", "page"},
      {"max_outcome_staleness", "MlmonOutcomesStale", "page"},
      {"max_drift_psi", "MlmonDriftPsiHigh", "ticket"},
      {"max_feature_problem_ratio", "MlmonFeatureProblemRatioHigh", "ticket"},
      {"max_shadow_disagreement", "MlmonShadowDisagreementHigh", "ticket"},
      {"max_model_age", "MlmonModelStale", "ticket"},
      {"max_segment_gap", "MlmonSegmentGapHigh", "page"},
  };
  ASSERT_EQ(SloCatalogue().size(), expected.size());
  // Keys listed once: min_precision gives two alerts.
  ASSERT_EQ(kSloKeys.size(), expected.size() - 1);
  std::size_t key_index = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const SloObjective& o = SloCatalogue()[i];
    EXPECT_EQ(o.key, expected[i][0]);
    EXPECT_EQ(o.alert, expected[i][1]);
    EXPECT_EQ(o.default_severity, expected[i][2]);
    // The first row of a key names it (SloAlertName, FindSlo).
    const bool first = i == 0 || expected[i - 1][0] != expected[i][0];
    if (first) {
      EXPECT_EQ(kSloKeys[key_index++], expected[i][0]);
      EXPECT_EQ(SloAlertName(o.key), expected[i][1]);
      EXPECT_EQ(DefaultSloSeverity(o.key), expected[i][2]);
      EXPECT_EQ(internal::FindSlo(o.key), &o);
    } else {
      EXPECT_EQ(internal::FindSlo(o.key), &SloCatalogue()[i - 1]);
    }
  }
  EXPECT_EQ(internal::FindSlo("latency_p99"), nullptr);
  EXPECT_THROW(SloAlertName("latency_p99"), ConfigError);
  EXPECT_THROW(DefaultSloSeverity("for"), ConfigError);
}

// Each key of the parser lands in the field its row names: one objective
// at a time, so a row pointing at another row's field shows.
TEST(SloCatalogueTest, ParserSetsTheFieldOfEachRow) {
  const MonitorSpec all = ParseMonitorSpec(kAllObjectives, "all.yaml");
  for (const SloObjective& o : SloCatalogue()) {
    EXPECT_TRUE(internal::IsSet(o, all.slo)) << o.key;
    MonitorSpec one = all;
    one.slo = SloSpec();
    EXPECT_FALSE(internal::IsSet(o, one.slo)) << o.key;
    for (const SloObjective& other : SloCatalogue()) {
      EXPECT_FALSE(internal::IsSet(other, one.slo)) << other.key;
    }
  }
  EXPECT_EQ(all.slo.latency_p99_seconds, 0.25);
  EXPECT_EQ(all.slo.error_ratio, 0.01);
  EXPECT_EQ(all.slo.max_empty_share, 0.2);
  EXPECT_EQ(all.slo.max_heuristic_failure_ratio, 0.1);
  EXPECT_EQ(all.slo.max_outcome_staleness, std::chrono::hours(2));
  EXPECT_EQ(all.slo.max_drift_psi, 0.3);
  EXPECT_EQ(all.slo.max_feature_problem_ratio, 0.05);
  EXPECT_EQ(all.slo.max_shadow_disagreement, 0.07);
  EXPECT_EQ(all.slo.max_model_age, std::chrono::hours(24 * 30));
  EXPECT_EQ(all.slo.max_segment_gap, 0.15);
  // Thresholds drawn on the dashboard: the value, seconds for a duration.
  const std::vector<double> thresholds = {0.25, 0.01, 0.8,          0.8,
                                          0.2,  0.1,  7200,         0.3,
                                          0.05, 0.07, 30 * 86400.0, 0.15};
  for (std::size_t i = 0; i < thresholds.size(); ++i) {
    EXPECT_EQ(internal::Threshold(SloCatalogue()[i], all.slo), thresholds[i])
        << SloCatalogue()[i].key;
    EXPECT_EQ(internal::Threshold(SloCatalogue()[i], SloSpec()), std::nullopt);
  }
}

// A spec with only one objective gives only that alert, under its row's
// name and comment.
TEST(SloCatalogueTest, EachObjectiveGivesExactlyItsAlert) {
  const MonitorSpec all = ParseMonitorSpec(kAllObjectives, "all.yaml");
  for (const SloObjective& o : SloCatalogue()) {
    MonitorSpec one = all;
    one.slo = SloSpec();
    one.slo.latency_p99_seconds.reset();
    const std::string key = o.key;
    if (key == "min_precision") {
      one.slo.min_precision = all.slo.min_precision;
    } else if (o.number != nullptr) {
      one.slo.*o.number = all.slo.*o.number;
    } else {
      one.slo.*o.duration = all.slo.*o.duration;
    }
    const std::string rules = GenerateRules(one);
    for (const SloObjective& other : SloCatalogue()) {
      const bool has = rules.find(std::string("- alert: ") + other.alert +
                                  "\n") != std::string::npos;
      // Rows sharing the key (min_precision) alert together.
      EXPECT_EQ(has, std::string(other.key) == key)
          << key << " -> " << other.alert;
    }
    EXPECT_THAT(rules, ::testing::HasSubstr("      # slo." + key + "\n"));
    EXPECT_THAT(rules, ::testing::HasSubstr(
                           "#" + internal::RunbookAnchor(o.alert) + "\""));
  }
}

// The panel of each row exists and draws the objective as a red threshold
// line; with no objective it draws none.
TEST(SloCatalogueTest, EachObjectiveDrawsItsThresholdOnItsPanel) {
  const auto panels = [](const MonitorSpec& spec) {
    std::map<std::string, nlohmann::json> by_title;
    const nlohmann::json dashboard =
        nlohmann::json::parse(GenerateDashboard(spec));
    for (const auto& p : dashboard["panels"]) {
      by_title[p["title"].get<std::string>()] = p;
    }
    return by_title;
  };
  const MonitorSpec all = ParseMonitorSpec(kAllObjectives, "all.yaml");
  const auto with = panels(all);
  MonitorSpec none = all;
  none.slo = SloSpec();
  const auto without = panels(none);
  for (const SloObjective& o : SloCatalogue()) {
    ASSERT_EQ(with.count(o.panel), 1u) << o.key << ": no panel " << o.panel;
    const auto& steps =
        with.at(o.panel)["fieldConfig"]["defaults"]["thresholds"]["steps"];
    ASSERT_EQ(steps.size(), 2u) << o.panel;
    EXPECT_EQ(steps[1]["color"], "red");
    EXPECT_EQ(steps[1]["value"].get<double>(), *internal::Threshold(o, all.slo))
        << o.panel;
    EXPECT_EQ(
        without.at(o.panel)["fieldConfig"]["defaults"]["thresholds"]["steps"]
            .size(),
        1u)
        << o.panel;
  }
}

// docs/runbook.md: the alert table is the catalogue, row for row, and each
// alert has the section its runbook_url anchor points at.
TEST(SloCatalogueDocsTest, RunbookTableAndSectionsMatchTheCatalogue) {
  const std::vector<std::string> lines = Lines(ReadSource("docs/runbook.md"));
  std::vector<std::string> table;
  std::set<std::string> sections;
  for (const std::string& line : lines) {
    if (line.rfind("| [Mlmon", 0) == 0) table.push_back(line);
    if (line.rfind("## ", 0) == 0) sections.insert(line.substr(3));
  }
  ASSERT_EQ(table.size(), SloCatalogue().size())
      << "one table row per objective in docs/runbook.md";
  for (std::size_t i = 0; i < table.size(); ++i) {
    const SloObjective& o = SloCatalogue()[i];
    const std::string row = std::string("| [") + o.alert + "](#" +
                            internal::RunbookAnchor(o.alert) + ") | `" + o.key +
                            "` | " + o.default_severity + " | " +
                            o.runbook_expression + " |";
    EXPECT_EQ(table[i], row);
    EXPECT_EQ(sections.count(o.alert), 1u)
        << "docs/runbook.md has no section ## " << o.alert;
  }
}

// The slo: keys of the YAML example in `text` whose lines start with
// `prefix`: the block from the line `slo:` to the first line not indented
// deeper.
std::multiset<std::string> SloBlockKeys(const std::string& text,
                                        const std::string& prefix) {
  std::multiset<std::string> keys;
  bool in = false;
  std::size_t depth = 0;
  std::size_t child = 0;
  for (std::string line : Lines(text)) {
    if (line.rfind(prefix, 0) != 0) {
      if (in) break;
      continue;
    }
    line = line.substr(prefix.size());
    const std::size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos) continue;
    if (!in) {
      const std::string rest = line.substr(indent);
      if (rest == "slo:" || rest.rfind("slo: ", 0) == 0) {
        in = true;
        depth = indent;
      }
      continue;
    }
    if (indent <= depth) break;
    // Keys are the lines at the first indent under `slo:`; deeper lines
    // continue a value, `#` lines are comments.
    if (child == 0) child = indent;
    if (indent != child || line[indent] == '#') continue;
    const std::size_t colon = line.find(':', indent);
    if (colon != std::string::npos) {
      keys.insert(line.substr(indent, colon - indent));
    }
  }
  return keys;
}

// Every hand-written slo: example lists each objective exactly once.
TEST(SloCatalogueDocsTest, YamlExamplesListEveryObjective) {
  const std::vector<std::pair<std::string, std::string>> blocks = {
      {"README.md", ""},
      {"include/mlmon/slo_spec.h", "///     "},
      {"include/mlmon/monitor_spec.h", "///     "},
  };
  for (const auto& [path, prefix] : blocks) {
    const std::multiset<std::string> keys =
        SloBlockKeys(ReadSource(path), prefix);
    ASSERT_FALSE(keys.empty()) << path << ": no slo: block found";
    for (const SloObjective& o : SloCatalogue()) {
      EXPECT_EQ(keys.count(o.key), 1u) << path << " lists " << o.key;
    }
    for (const std::string& k : keys) {
      EXPECT_TRUE(internal::FindSlo(k) != nullptr || k == "for" ||
                  k == "severity" || k == "runbook_url")
          << path << ": slo." << k << " is not a key of the catalogue";
    }
  }
}

}  // namespace
}  // namespace mlmon
