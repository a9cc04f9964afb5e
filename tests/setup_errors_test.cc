// Every component's set-up errors have the one shape
// "mlmon: <where>: <what> (<value>)": one error of each, checked against the
// shape and against its whole text, written out by hand.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/buckets.h"
#include "mlmon/drift.h"
#include "mlmon/errors.h"
#include "mlmon/feature_monitor.h"
#include "mlmon/golden_signals.h"
#include "mlmon/heuristics.h"
#include "mlmon/http_server.h"
#include "mlmon/monitor_spec.h"
#include "mlmon/outcome_tracker.h"
#include "mlmon/reference_profile.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"
#include "mlmon/shadow_comparison.h"

namespace mlmon {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr double kNaN = std::nan("");

struct Case {
  const char* component;
  std::function<void(Registry&)> set_up;  // must throw ConfigError
  const char* expected;
};

// Whether `m` is "mlmon: <where>: <what>" on one line, <where> a struct
// field or a file with an optional line number: the regular expression
// ^mlmon: [^:]+(:[0-9]+)?: .+$ written out (GCC 12's <regex> draws a
// false -Wmaybe-uninitialized under -fsanitize=address).
bool HasShape(std::string_view m) {
  constexpr std::string_view kPrefix = "mlmon: ";
  if (m.substr(0, kPrefix.size()) != kPrefix) return false;
  if (m.find('\n') != std::string_view::npos) return false;
  m.remove_prefix(kPrefix.size());
  std::size_t i = m.find(':');
  if (i == 0 || i == std::string_view::npos) return false;  // <where>
  std::size_t digits = i + 1;
  while (digits < m.size() && m[digits] >= '0' && m[digits] <= '9') ++digits;
  if (digits > i + 1 && digits < m.size() && m[digits] == ':') i = digits;
  const std::string_view rest = m.substr(i);
  return rest.size() > 2 && rest.substr(0, 2) == ": ";
}

std::vector<Case> Cases() {
  return {
      {"OutcomeSpec",
       [](Registry& r) {
         OutcomeSpec spec;
         spec.windows = {hours(1), seconds(0)};
         OutcomeTracker tracker(r, "m", "1", spec);
       },
       "mlmon: OutcomeSpec.windows[1]: not in [1s, 3650d] (0s)"},
      {"FeatureSpec",
       [](Registry& r) {
         FeatureSpec spec;
         spec.numeric.push_back({"age", kNaN, kNaN, {1, 2}});
         spec.numeric.push_back({"income", kNaN, kNaN, {1, 3, 2}});
         FeatureMonitor monitor(r, "m", "1", spec);
       },
       "mlmon: FeatureSpec.numeric[1].buckets[2]: not greater than the bound "
       "before it, 3 (2)"},
      {"ResponseSpec",
       [](Registry& r) {
         ResponseSpec spec;
         spec.decision_threshold = 0;
         ResponseDistribution distribution(r, "m", "1", spec);
       },
       "mlmon: ResponseSpec.decision_threshold: not in (0, 1) (0)"},
      {"ResponseDistribution reference",
       [](Registry& r) {
         ReferenceProfile empty;
         ResponseDistribution distribution(r, "m", "1", {}, &empty);
       },
       "mlmon: ReferenceProfile.signals.score: missing (it has none)"},
      {"HeuristicsOptions",
       [](Registry& r) {
         HeuristicsOptions options;
         options.value_buckets = {};
         Heuristics heuristics(r, "m", "1", options);
       },
       "mlmon: HeuristicsOptions.value_buckets: empty; at least one bound is "
       "needed (+Inf is implicit)"},
      {"GoldenSignalsOptions",
       [](Registry& r) {
         GoldenSignalsOptions options;
         options.latency_buckets = {0.1, kNaN};
         GoldenSignals signals(r, "m", "1", options);
       },
       "mlmon: GoldenSignalsOptions.latency_buckets[1]: not finite (+Inf is "
       "implicit) (nan)"},
      {"ShadowComparisonOptions",
       [](Registry& r) {
         ShadowComparisonOptions options;
         options.thresholds = {0.5, 1.5};
         ShadowComparison shadow(r, "m", "1", "2", options);
       },
       "mlmon: ShadowComparisonOptions.thresholds[1]: not in (0, 1) (1.5)"},
      {"ShadowComparison",
       [](Registry& r) { ShadowComparison shadow(r, "m", "1", "1", {}); },
       "mlmon: ShadowComparison.challenger: is the champion version (1)"},
      {"monitor.yaml slo key",
       [](Registry&) {
         ParseMonitorSpec("model: m\nslo:\n  max_shadow_disagreement: 1\n",
                          "monitor.yaml");
       },
       "mlmon: monitor.yaml:3: slo.max_shadow_disagreement: not in (0, 1) "
       "(1)"},
      {"HttpServerOptions",
       [](Registry& r) {
         HttpServerOptions options;
         options.port = 70000;
         HttpServer server(options, r);
       },
       "mlmon: HttpServerOptions.port: outside [0, 65535] (70000)"},
      {"monitor.yaml key",
       [](Registry&) {
         ParseMonitorSpec("model: m\nwindows: [1h, soon]\n", "monitor.yaml");
       },
       "mlmon: monitor.yaml:2: windows: not a positive duration like 45s, "
       "30m, 12h, 7d or 2w (soon)"},
      {"monitor.yaml validated",
       [](Registry&) {
         ValidateMonitorSpec(ParseMonitorSpec(
             "model: m\nslices_per_window: 0\n", "monitor.yaml"));
       },
       "mlmon: monitor.yaml: OutcomeSpec.slices_per_window: not in [1, 3600] "
       "(0)"},
      {"reference profile JSON",
       [](Registry&) {
         ReferenceProfile::Parse(
             R"({"format": "mlmon-reference/1", "signals": {"age":
                 {"type": "numeric", "bounds": [1, 2], "counts": [1, -1, 0]}}})",
             "ref.json");
       },
       "mlmon: ref.json: signals.age.counts[1]: negative (-1)"},
      {"reference profile file",
       [](Registry&) { ReferenceProfile::Load("/nonexistent/ref.json"); },
       "mlmon: /nonexistent/ref.json: cannot open the reference profile (No "
       "such file or directory)"},
      {"LinearBuckets", [](Registry&) { LinearBuckets(0, 0, 3); },
       "mlmon: LinearBuckets: needs count > 0 and a finite width > 0 "
       "(start=0, width=0, count=3)"},
      {"ComputeDrift",
       [](Registry&) {
         ComputeDrift({1, 2}, {1, 2, 3});
       },
       "mlmon: ComputeDrift: current and reference differ in bins; they must "
       "be binned on the same bounds (2 and 3 bins)"},
  };
}

TEST(SetupErrorsTest, EveryComponentUsesTheOneShape) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.component);
    // The expectation itself has the shape (a typo in it would hide one).
    EXPECT_TRUE(HasShape(c.expected)) << c.expected;
    Registry registry;
    try {
      c.set_up(registry);
      ADD_FAILURE() << "no ConfigError";
    } catch (const ConfigError& e) {
      EXPECT_TRUE(HasShape(e.what())) << e.what();
      EXPECT_EQ(std::string(e.what()), c.expected);
    }
  }
}

// The shape refuses what the old messages looked like, and malformed ones.
TEST(SetupErrorsTest, TheShapeRefusesOtherForms) {
  for (const char* old : {
           "mlmon: duration 0s is not positive",
           "reference.json: signal 's': counts has 3 values, expected 2",
           "mlmon: FeatureSpec.windows[0] = 0s is not >= 1s (model 'm')",
           "mlmon: a:b: c",           // a second colon that is no line number
           "mlmon: : empty where",    // no <where>
           "mlmon: f.yaml:2:",        // no <what>
           "mlmon: S.f: two\nlines",  // not one line
       }) {
    EXPECT_FALSE(HasShape(old)) << old;
  }
}

}  // namespace
}  // namespace mlmon
