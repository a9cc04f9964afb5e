// The fleet drift rules of `mlmon rules` (mlmon:drift_psi:fleet_<window>,
// mlmon:drift_js:fleet_<window>) run by `promtool test rules` on three
// replicas' bin counters and reference shares: they must equal mlmon's own
// PSI and JS (drift.h) of the counts summed over the replicas, within 1e-9,
// and be absent while the fleet holds fewer than drift_min_samples
// observations of a signal in the window. The reference shares fed to
// promtool are read from a real exposition of the signals. Categorical
// features (known categories plus `unseen`) are covered alongside numeric
// ones, and in a spec whose only features are categorical.
//
// Skipped when promtool (PROMTOOL, default /usr/bin/promtool) is missing.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "mlmon/alerting.h"
#include "mlmon/drift.h"
#include "mlmon/feature_monitor.h"
#include "mlmon/monitor_spec.h"
#include "mlmon/reference_profile.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr int kReplicas = 3;
constexpr int kMinutes = 70;   // samples at 0 .. 70 min, one a minute
constexpr int kPhaseEnd = 40;  // the traffic changes after minute 40
constexpr double kTolerance = 1e-9;

std::string Promtool() {
  const char* p = std::getenv("PROMTOOL");
  return p != nullptr ? p : "/usr/bin/promtool";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command; its exit status, output into `*out`.
int Shell(const std::string& cmd, const std::string& log, std::string* out) {
  const int rc = std::system((cmd + " > " + log + " 2>&1").c_str());
  *out = Slurp(log);
  return rc;
}

// One drift signal of the test: its reference counts and, per replica and
// bin, the counts added each minute before and after kPhaseEnd.
struct Signal {
  std::string name;
  std::vector<double> reference;
  // A categorical signal: the reference's category counts, which
  // `max_categories` bins as `reference` (known categories, then unseen).
  std::map<std::string, double> categories;
  std::size_t max_categories = 0;
  std::vector<std::vector<double>> slope1, slope2;  // [replica][bin]
  std::vector<double> shares;                       // from the exposition
  std::size_t min_samples = 0;
  std::vector<std::string> windows;
};

// The cumulative counter value of replica r, bin b at minute t. Starts far
// from 0 so that increase() never shortens its extrapolation to a zero
// crossing (then its scale factor is the same for every series).
double Value(const Signal& s, int r, std::size_t b, int t) {
  double v = 100000 + 1000 * r + static_cast<double>(b);
  for (int k = 1; k <= t; ++k) {
    v += k <= kPhaseEnd ? s.slope1[r][b] : s.slope2[r][b];
  }
  return v;
}

int WindowMinutes(const std::string& w) {
  if (w == "5m") return 5;
  if (w == "10m") return 10;
  if (w == "1h") return 60;
  ADD_FAILURE() << "no window " << w;
  return 1;
}

struct Case {
  std::string rule;    // recording rule name
  std::string signal;  // label value
  std::string window;
  int eval_minute;
  bool present;
  double expected;  // mlmon's own value on the summed counts
};

class DriftFleetRulesTest : public ::testing::Test {
 protected:
  // Runs the fleet rules of `spec` on `sig` through promtool.
  void Run(const MonitorSpec& spec, std::vector<Signal> sig);

  void SetUp() override {
    if (access(Promtool().c_str(), X_OK) != 0) {
      GTEST_SKIP() << "promtool not found at " << Promtool()
                   << " (apt-get install prometheus)";
    }
    char dir[] = "/tmp/mlmon_drift_fleet_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    std::string version;
    Shell(Promtool() + " --version", dir_ + "/version", &version);
    // Prometheus 3 selects ranges left-open, (t - w, t]; 2.x closed.
    left_open_ = version.find("version 2.") == std::string::npos;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }

  std::string dir_;
  bool left_open_ = false;
};

// Four signals: the score (21 bins, reference zero in bin 0 and +Inf, no
// score ever in bin 3 and +Inf), a numeric feature (5 bins, each replica
// below drift_min_samples alone, the fleet above it), its magnitude (23
// bins; the fleet below drift_min_samples in 5m, above it in 10m), and a
// categorical feature (3 known categories and `unseen`, whose reference
// share is the mass of the 2 categories beyond max_categories; the unseen
// bin grows after kPhaseEnd). `with_numeric` false: the score and the
// categorical feature only.
std::vector<Signal> MakeSignals(bool with_numeric) {
  std::vector<Signal> sig(4);
  sig[0].name = "score";
  sig[0].min_samples = 500;
  sig[0].windows = {"5m", "1h"};
  sig[0].reference.resize(21);
  for (std::size_t b = 0; b < 21; ++b) {
    sig[0].reference[b] = (b == 0 || b == 20) ? 0 : 5.0 + (b * 37 % 23);
  }
  sig[1].name = "amount";
  sig[1].min_samples = 200;
  sig[1].windows = {"5m", "10m"};
  sig[1].reference = {120, 300, 250, 0, 30};
  sig[2].name = "amount:log10";
  sig[2].min_samples = 200;
  sig[2].windows = {"5m", "10m"};
  sig[2].reference.assign(23, 0.0);
  for (std::size_t b = 8; b <= 14; ++b) sig[2].reference[b] = 10.0 + b;
  sig[3].name = "country";
  sig[3].min_samples = 200;
  sig[3].windows = {"5m", "10m"};
  sig[3].categories = {
      {"DE", 400}, {"FR", 250}, {"US", 120}, {"IT", 60}, {"ES", 20}};
  sig[3].max_categories = 3;
  sig[3].reference = {400, 250, 120, 60 + 20};
  if (!with_numeric) sig.erase(sig.begin() + 1, sig.begin() + 3);

  for (Signal& s : sig) {
    const std::size_t n = s.reference.size();
    s.slope1.assign(kReplicas, std::vector<double>(n, 0.0));
    s.slope2 = s.slope1;
    for (int r = 0; r < kReplicas; ++r) {
      for (std::size_t b = 0; b < n; ++b) {
        // Replicas see different mixes; the fleet's is their sum.
        const double a = static_cast<double>((b * 7 + r * 5) % 6);
        const double c = static_cast<double>((b * 3 + r * 11) % 5);
        if (s.name == "score") {
          if (b == 3 || b == 20) continue;  // p = 0 (q > 0, q = 0)
          s.slope1[r][b] = a;               // about 50 a minute
          s.slope2[r][b] = b < 10 ? c + 3 : c / 2;
        } else if (s.name == "amount") {
          s.slope1[r][b] = a + 1;  // about 17 a minute
          s.slope2[r][b] = b == 1 ? 10 : c;
        } else if (s.name == "country") {
          s.slope1[r][b] = a + 1;           // about 14 a minute
          s.slope2[r][b] = b == 3 ? 6 : c;  // unseen values arrive
        } else if (b >= 9 && b <= 12) {
          s.slope1[r][b] = r == 0 ? 5 : 1;   // 8 a minute, fleet
          s.slope2[r][b] = b == 12 ? 6 : 1;  // 9 a minute, fleet
        }
      }
    }
  }
  return sig;
}

const Signal* Find(const std::vector<Signal>& sig, const std::string& name) {
  for (const Signal& s : sig) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// The reference shares each replica exports, from a real exposition of the
// monitors of `spec`.
void ReadShares(const MonitorSpec& spec, std::vector<Signal>* sig) {
  ReferenceProfile ref;
  ref.model = "fraud";
  SignalProfile score;
  score.numeric.bounds = DefaultPredictionScoreBuckets();
  score.numeric.counts = Find(*sig, "score")->reference;
  ref.signals["score"] = score;
  if (const Signal* a = Find(*sig, "amount")) {
    SignalProfile amount;
    amount.numeric.bounds = {10, 100, 1000, 10000};
    amount.numeric.counts = a->reference;
    amount.log10.bounds = DefaultLog10Bounds();
    amount.log10.counts = Find(*sig, "amount:log10")->reference;
    ref.signals["amount"] = amount;
  }
  SignalProfile country;
  country.type = SignalProfile::Type::kCategorical;
  country.categories = Find(*sig, "country")->categories;
  ref.signals["country"] = country;

  Registry registry;
  ResponseSpec rspec;
  rspec.windows = {minutes(5)};
  ResponseDistribution scores(registry, "fraud", "3", rspec, &ref);
  FeatureSpec fspec = spec.features;
  fspec.windows = {minutes(5)};
  FeatureMonitor features(registry, "fraud", "3", fspec, &ref);
  const std::string text = registry.TextExposition();
  for (Signal& s : *sig) {
    for (std::size_t b = 0; b < s.reference.size(); ++b) {
      s.shares.push_back(testutil::ExposedValue(
          text, fmt::format("mlmon_drift_reference_share{{model=\"fraud\","
                            "version=\"3\",signal=\"{}\",bin=\"{}\"}}",
                            s.name, b)));
    }
  }
}

MonitorSpec Spec(bool with_numeric) {
  MonitorSpec spec;
  spec.model = "fraud";
  spec.version = "3";
  spec.distribution.windows = {minutes(5), hours(1)};
  spec.distribution.drift_min_samples = 500;
  if (with_numeric) {
    spec.features.numeric = {{"amount",
                              std::numeric_limits<double>::quiet_NaN(),
                              std::numeric_limits<double>::quiet_NaN(),
                              {10, 100, 1000, 10000}}};
  }
  spec.features.categorical = {{"country", 3}};
  spec.features.windows = {minutes(5), minutes(10)};
  spec.features.drift_min_samples = 200;
  return spec;
}

std::string InputSeries(const std::vector<Signal>& sig) {
  std::string out;
  for (const Signal& s : sig) {
    for (int r = 0; r < kReplicas; ++r) {
      const std::string instance(1, static_cast<char>('a' + r));
      for (std::size_t b = 0; b < s.reference.size(); ++b) {
        const std::string labels = fmt::format(
            "model=\"fraud\",version=\"3\",signal=\"{}\",bin=\"{}\","
            "instance=\"{}\"",
            s.name, b, instance);
        std::string values;
        for (int t = 0; t <= kMinutes; ++t) {
          values += fmt::format("{}{}", t == 0 ? "" : " ", Value(s, r, b, t));
        }
        out += fmt::format(
            "      - series: 'mlmon_drift_bin_observations_total{{{}}}'\n"
            "        values: '{}'\n",
            labels, values);
        out += fmt::format(
            "      - series: 'mlmon_drift_reference_share{{{}}}'\n"
            "        values: '{}x{}'\n",
            labels, s.shares[b], kMinutes);
      }
    }
  }
  return out;
}

// Every (rule, signal, window, evaluation time) the test checks, with mlmon's
// own PSI or JS of the counts summed over the replicas in the window.
std::vector<Case> Cases(const std::vector<Signal>& sig, bool left_open) {
  std::vector<Case> cases;
  for (const Signal& s : sig) {
    for (const std::string& w : s.windows) {
      const int wm = WindowMinutes(w);
      for (int at : {30, 65}) {
        // The samples in the range: [at - w, at], or (at - w, at] on
        // Prometheus 3, whose increase() then scales by w / (w - 1 min).
        const int first = left_open ? at - wm + 1 : at - wm;
        const double scale =
            left_open ? static_cast<double>(wm) / (wm - 1) : 1.0;
        std::vector<double> counts(s.reference.size(), 0.0);
        double total = 0;
        for (std::size_t b = 0; b < counts.size(); ++b) {
          for (int r = 0; r < kReplicas; ++r) {
            counts[b] += Value(s, r, b, at) - Value(s, r, b, first);
          }
          total += counts[b];
        }
        const bool present =
            total * scale >= static_cast<double>(s.min_samples);
        const std::size_t n = counts.size();
        cases.push_back(
            {"mlmon:drift_psi:fleet_" + w, s.name, w, at, present,
             PopulationStabilityIndex(counts.data(), s.reference.data(), n)});
        cases.push_back(
            {"mlmon:drift_js:fleet_" + w, s.name, w, at, present,
             JensenShannonDivergence(counts.data(), s.reference.data(), n)});
      }
    }
  }
  return cases;
}

std::string Selector(const Case& c) {
  return fmt::format("{}{{signal=\"{}\"}}", c.rule, c.signal);
}

std::string Labels(const Case& c) {
  return fmt::format(
      "{{model=\"fraud\",version=\"3\",signal=\"{}\",window=\"{}\"}}", c.signal,
      c.window);
}

// A promtool test file. `measure`: expect each present value to be -1 (never
// true), so that promtool fails and prints every value it got.
std::string TestFile(const std::string& input, const std::vector<Case>& cases,
                     bool measure) {
  std::string out =
      "rule_files: [rules.yml]\n"
      "evaluation_interval: 1m\n"
      "tests:\n"
      "  - interval: 1m\n"
      "    input_series:\n" +
      input + "    promql_expr_test:\n";
  for (const Case& c : cases) {
    if (!c.present) {
      out += fmt::format(
          "      - expr: '{}'\n        eval_time: {}m\n"
          "        exp_samples: []\n",
          Selector(c), c.eval_minute);
    } else if (measure) {
      out += fmt::format(
          "      - expr: '{}'\n        eval_time: {}m\n"
          "        exp_samples:\n          - labels: '{}'\n"
          "            value: -1\n",
          Selector(c), c.eval_minute, Labels(c));
    } else {
      out += fmt::format(
          "      - expr: 'abs({} - ({})) <= bool {}'\n"
          "        eval_time: {}m\n"
          "        exp_samples:\n          - labels: '{}'\n"
          "            value: 1\n",
          Selector(c), c.expected, kTolerance, c.eval_minute, Labels(c));
    }
  }
  // The 10m window is the features' only: no score there.
  out +=
      "      - expr: 'mlmon:drift_psi:fleet_10m{signal=\"score\"}'\n"
      "        eval_time: 65m\n        exp_samples: []\n";
  return out;
}

// A duration as promtool prints evaluation times: 30m, 1h5m.
std::string PromDuration(int total_minutes) {
  const int h = total_minutes / 60, m = total_minutes % 60;
  return (h > 0 ? std::to_string(h) + "h" : "") +
         (m > 0 || h == 0 ? std::to_string(m) + "m" : "");
}

// What a failing `promtool test rules` printed: for each failed expression
// (`expr: "<expr>", time: <t>,`) the value on its `got:` line (one sample).
std::map<std::pair<std::string, std::string>, double> GotValues(
    const std::string& output) {
  std::map<std::pair<std::string, std::string>, double> got;
  std::istringstream in(output);
  std::string line, expr, time;
  while (std::getline(in, line)) {
    const std::size_t e = line.find("expr: \"");
    if (e != std::string::npos) {
      const std::size_t t = line.rfind("\", time: ");
      expr.clear();
      for (std::size_t k = e + 7; k < t; ++k) {
        if (line[k] == '\\') ++k;  // promtool quotes `"` as `\"`
        expr += line[k];
      }
      time = line.substr(t + 9, line.rfind(',') - t - 9);
      continue;
    }
    const std::size_t g = line.find("got:");
    if (g == std::string::npos || expr.empty()) continue;
    got[{expr, time}] =
        std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return got;
}

void DriftFleetRulesTest::Run(const MonitorSpec& spec,
                              std::vector<Signal> sig) {
  ReadShares(spec, &sig);
  ASSERT_FALSE(HasFailure());
  const std::vector<Case> cases = Cases(sig, left_open_);
  // The cases cover each side of the minimum-sample rule.
  int present = 0;
  for (const Case& c : cases) present += c.present;
  ASSERT_GT(present, 0);
  ASSERT_LT(present, static_cast<int>(cases.size()));
  // Each replica alone stays below the features' minimum in 5m, even
  // scaled by Prometheus 3's extrapolation (5 / 4): only the fleet sum has a
  // value.
  for (const Signal& s : sig) {
    if (s.name != "amount") continue;
    for (int r = 0; r < kReplicas; ++r) {
      double alone = 0;
      for (std::size_t b = 0; b < s.reference.size(); ++b) {
        alone += Value(s, r, b, 65) - Value(s, r, b, 60);
      }
      EXPECT_LT(alone * 1.25, static_cast<double>(s.min_samples));
    }
  }

  {
    std::ofstream rules(dir_ + "/rules.yml");
    rules << GenerateRules(spec);
  }
  const std::string input = InputSeries(sig);
  {
    std::ofstream t(dir_ + "/fleet_test.yml");
    t << TestFile(input, cases, false);
  }
  std::string out;
  const int rc =
      Shell("cd " + dir_ + " && " + Promtool() + " test rules fleet_test.yml",
            dir_ + "/test.out", &out);
  EXPECT_EQ(rc, 0) << out;

  // The measured differences: promtool prints every value it got when each
  // expectation is wrong on purpose (which must fail).
  {
    std::ofstream t(dir_ + "/measure_test.yml");
    t << TestFile(input, cases, true);
  }
  const int measure_rc =
      Shell("cd " + dir_ + " && " + Promtool() + " test rules measure_test.yml",
            dir_ + "/measure.out", &out);
  EXPECT_NE(measure_rc, 0) << "promtool accepted a wrong expectation";
  const std::map<std::pair<std::string, std::string>, double> got =
      GotValues(out);
  double max_diff = 0;
  int measured = 0;
  for (const Case& c : cases) {
    if (!c.present) continue;
    const auto it = got.find({Selector(c), PromDuration(c.eval_minute)});
    if (it == got.end()) {
      ADD_FAILURE() << "promtool printed no value of " << Selector(c) << " at "
                    << c.eval_minute << "m:\n"
                    << out;
      continue;
    }
    max_diff = std::max(max_diff, std::fabs(it->second - c.expected));
    ++measured;
  }
  std::printf("fleet rules vs mlmon: %d values, max |difference| %.3g\n",
              measured, max_diff);
  EXPECT_LE(max_diff, kTolerance);
}

TEST_F(DriftFleetRulesTest, FleetPsiAndJsEqualMlmonsOnTheSummedCounts) {
  Run(Spec(true), MakeSignals(true));
}

// Without numeric features the categorical ones still get the features'
// windows (10m is theirs only) and their fleet rules.
TEST_F(DriftFleetRulesTest, CategoricalOnlySpecGetsFleetRules) {
  const MonitorSpec spec = Spec(false);
  ASSERT_TRUE(spec.features.numeric.empty());
  Run(spec, MakeSignals(false));
}

}  // namespace
}  // namespace mlmon
