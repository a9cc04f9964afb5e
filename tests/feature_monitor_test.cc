#include "mlmon/feature_monitor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mlmon/drift.h"
#include "testing/data_gen.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using std::chrono::seconds;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Hot-path calls are noexcept.
static_assert(noexcept(std::declval<FeatureMonitor&>().Observe(
    std::declval<const FeatureVector&>())));
static_assert(noexcept(std::declval<FeatureVector&>().Set(FeatureHandle(),
                                                          1.0)));
static_assert(noexcept(std::declval<FeatureVector&>().SetCategory(
    FeatureHandle(), std::string_view())));
static_assert(noexcept(std::declval<FeatureVector&>().Set(std::string_view(),
                                                          1.0)));
static_assert(noexcept(std::declval<FeatureVector&>().SetCategory(
    std::string_view(), std::string_view())));
static_assert(noexcept(std::declval<FeatureVector&>().Clear()));

using testutil::ExposedValue;
using testutil::SampleValue;

// mlmon_feature_values_total of one feature and status; nullopt if the
// series is not exposed.
std::optional<double> StatusCount(const Registry& r, const std::string& feature,
                                  const std::string& status,
                                  const std::string& model = "m") {
  return SampleValue(r, "mlmon_feature_values_total{model=\"" + model +
                            "\",version=\"1\",feature=\"" + feature +
                            "\",status=\"" + status + "\"}");
}

std::optional<double> Dropped(const Registry& r, const std::string& reason) {
  return SampleValue(
      r, "mlmon_dropped_total{model=\"m\",version=\"1\",reason=\"" + reason +
             "\"}");
}

// One drift score, which the test expects to be exposed (NaN while
// undefined).
double Drift(const Registry& r, const std::string& signal,
             const std::string& method, const std::string& window) {
  return ExposedValue(
      r, "mlmon_drift_score{model=\"m\",version=\"1\",signal=\"" + signal +
             "\",method=\"" + method + "\",window=\"" + window + "\"}");
}

std::vector<double> Bin(const std::vector<double>& values,
                        const std::vector<double>& bounds) {
  std::vector<double> counts(bounds.size() + 1, 0.0);
  for (double v : values) {
    counts[std::lower_bound(bounds.begin(), bounds.end(), v) -
           bounds.begin()] += 1;
  }
  return counts;
}

std::vector<double> Log10Of(const std::vector<double>& values) {
  std::vector<double> out;
  for (double v : values) {
    if (v != 0) out.push_back(std::log10(std::fabs(v)));
  }
  return out;
}

// PSI as documented in drift.h (proportions floored at 1e-4), computed here
// independently.
double ExpectedPsi(const std::vector<double>& current,
                   const std::vector<double>& reference) {
  double tc = 0, tr = 0;
  for (double c : current) tc += c;
  for (double r : reference) tr += r;
  double psi = 0;
  for (std::size_t i = 0; i < current.size(); ++i) {
    // Only proportions of exactly 0 become 1e-4 (kPsiFloor in drift.h).
    double p = current[i] / tc;
    double q = reference[i] / tr;
    if (p == 0) p = 1e-4;
    if (q == 0) q = 1e-4;
    psi += (p - q) * std::log(p / q);
  }
  return psi;
}

void ExpectConfigError(const std::function<void()>& f,
                       const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no ConfigError; expected one naming '" << needle << "'";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << e.what();
  }
}

SignalProfile NumericProfile(const std::vector<double>& bounds,
                             const std::vector<double>& values) {
  SignalProfile p;
  p.type = SignalProfile::Type::kNumeric;
  p.numeric = {bounds, Bin(values, bounds)};
  p.log10 = {DefaultLog10Bounds(), Bin(Log10Of(values), DefaultLog10Bounds())};
  return p;
}

SignalProfile CategoricalProfile(std::map<std::string, double> counts) {
  SignalProfile p;
  p.type = SignalProfile::Type::kCategorical;
  p.categories = std::move(counts);
  return p;
}

// x: numeric in [0, 10] on {1, 5, 10}; c: categorical {a, b}.
struct Small {
  Small() {
    spec.numeric.push_back({"x", 0, 10, {1, 5, 10}});
    spec.categorical.push_back({"c"});
    profile.signals["x"] = NumericProfile({1, 5, 10}, {0.5, 3, 7, 20});
    profile.signals["c"] = CategoricalProfile({{"a", 5}, {"b", 3}});
  }
  FeatureSpec spec;
  ReferenceProfile profile;
  FakeClock clock;
};

TEST(FeatureMonitorTest, CountsEachStatusExactly) {
  Registry registry;
  Small s;
  FeatureMonitor mon(registry, "m", "1", s.spec, &s.profile, &s.clock);
  const FeatureHandle x = mon.Find("x"), c = mon.Find("c");
  ASSERT_TRUE(x.valid());
  ASSERT_TRUE(c.valid());
  FeatureVector v = mon.NewVector();
  auto observe = [&](double xv, const char* cv) {
    v.Clear();
    if (!std::isnan(xv) || std::string(cv) == "nan") v.Set(x, xv);
    if (cv[0] != '\0' && std::string(cv) != "nan") v.SetCategory(c, cv);
    mon.Observe(v);
  };
  observe(kNaN, "");     // x missing, c missing
  observe(kNaN, "nan");  // x nan (set), c missing
  observe(kInf, "a");    // x nan (+Inf), c ok
  observe(-kInf, "b");   // x nan (-Inf), c ok
  observe(11, "zzz");    // x out_of_range, c unseen
  observe(-0.5, "A");    // x out_of_range, c unseen (case matters)
  observe(0, "a");       // x ok (min is inclusive)
  observe(10, "a");      // x ok (max is inclusive)
  observe(3, "");        // x ok, c missing
  EXPECT_EQ(StatusCount(registry, "x", "missing"), 1);
  EXPECT_EQ(StatusCount(registry, "x", "nan"), 3);
  EXPECT_EQ(StatusCount(registry, "x", "out_of_range"), 2);
  EXPECT_EQ(StatusCount(registry, "x", "ok"), 3);
  EXPECT_EQ(StatusCount(registry, "c", "missing"), 3);
  EXPECT_EQ(StatusCount(registry, "c", "unseen"), 2);
  EXPECT_EQ(StatusCount(registry, "c", "ok"), 4);
  // Only the statuses that apply are exported.
  const std::string text = registry.TextExposition();
  EXPECT_EQ(text.find("feature=\"x\",status=\"unseen\""), std::string::npos);
  EXPECT_EQ(text.find("feature=\"c\",status=\"nan\""), std::string::npos);
  // NaN values are counted as a status, not as a drop.
  EXPECT_EQ(Dropped(registry, "nan"), 0);
}

TEST(FeatureMonitorTest, HistogramBucketsAreExact) {
  Registry registry;
  Small s;
  FeatureMonitor mon(registry, "m", "1", s.spec, &s.profile, &s.clock);
  FeatureVector v = mon.NewVector();
  // 11 is out of range and still observed; NaN and missing are not.
  for (double x : {0.5, 1.0, 1.0001, 5.0, 10.0, 11.0, 0.0, -3.0, kNaN}) {
    v.Clear();
    v.Set("x", x);
    mon.Observe(v);
  }
  v.Clear();
  mon.Observe(v);
  const std::string t = registry.TextExposition();
  const std::string p =
      "mlmon_feature_value_bucket{model=\"m\",version=\"1\",feature=\"x\",";
  EXPECT_EQ(SampleValue(t, p + "le=\"1\"}"), 4);   // 0.5, 1, 0, -3
  EXPECT_EQ(SampleValue(t, p + "le=\"5\"}"), 6);   // + 1.0001, 5
  EXPECT_EQ(SampleValue(t, p + "le=\"10\"}"), 7);  // + 10
  EXPECT_EQ(SampleValue(t, p + "le=\"+Inf\"}"), 8);
  EXPECT_EQ(
      SampleValue(
          t,
          "mlmon_feature_value_count{model=\"m\",version=\"1\",feature=\"x\"}"),
      8);
  EXPECT_DOUBLE_EQ(
      SampleValue(
          t, "mlmon_feature_value_sum{model=\"m\",version=\"1\",feature=\"x\"}")
          .value_or(kNaN),
      0.5 + 1 + 1.0001 + 5 + 10 + 11 + 0 - 3);
  EXPECT_EQ(t.find("# TYPE mlmon_feature_value histogram"),
            t.rfind("# TYPE mlmon_feature_value histogram"));
  // Magnitudes: log10 |x| of the 7 non-zero observed values, on decades.
  const std::string q =
      "mlmon_feature_magnitude_bucket{model=\"m\",version=\"1\",feature=\"x\",";
  EXPECT_EQ(SampleValue(t, q + "le=\"-1\"}"), 0);
  EXPECT_EQ(SampleValue(t, q + "le=\"0\"}"), 2);  // 0.5 (-0.30), 1 (0)
  EXPECT_EQ(SampleValue(t, q + "le=\"1\"}"), 6);  // 1.0001, 5, 10 (1), 3
  EXPECT_EQ(SampleValue(t, q + "le=\"2\"}"), 7);  // 11
  EXPECT_EQ(SampleValue(t, q + "le=\"+Inf\"}"), 7);
}

TEST(FeatureMonitorTest, UnknownNamesAndWrongTypesAreDroppedAndCounted) {
  Registry registry;
  Small s;
  FeatureMonitor mon(registry, "m", "1", s.spec, &s.profile, &s.clock);
  EXPECT_FALSE(mon.Find("nope").valid());
  FeatureVector v = mon.NewVector();
  v.Set("nope", 1.0);
  v.SetCategory("nope", "a");
  v.Set(mon.Find("nope"), 1.0);
  v.SetCategory(FeatureHandle(), "a");
  EXPECT_EQ(Dropped(registry, "unknown_name"), 4);
  v.Set("c", 1.0);          // a number on a categorical feature
  v.SetCategory("x", "a");  // a category on a numeric feature
  v.Set(mon.Find("c"), 2.0);
  EXPECT_EQ(Dropped(registry, "invalid_value"), 3);
  EXPECT_FALSE(v.IsSet(mon.Find("x")));
  EXPECT_FALSE(v.IsSet(mon.Find("c")));
  mon.Observe(v);
  EXPECT_EQ(StatusCount(registry, "x", "missing"), 1);
  EXPECT_EQ(StatusCount(registry, "c", "missing"), 1);
  EXPECT_EQ(StatusCount(registry, "x", "ok"), 0);
}

TEST(FeatureMonitorTest, VectorOfAnotherMonitorIsDropped) {
  Registry registry;
  Small s;
  FeatureMonitor a(registry, "m", "1", s.spec, &s.profile, &s.clock);
  FeatureMonitor b(registry, "m2", "1", s.spec, &s.profile, &s.clock);
  FeatureVector v = b.NewVector();
  v.Set("x", 1.0);
  a.Observe(v);
  EXPECT_EQ(Dropped(registry, "invalid_value"), 1);
  EXPECT_EQ(StatusCount(registry, "x", "ok"), 0);
  b.Observe(v);
  EXPECT_EQ(StatusCount(registry, "x", "ok", "m2"), 1);
  // Both monitors' value histograms are in one family block.
  const std::string t = registry.TextExposition();
  EXPECT_EQ(t.find("# TYPE mlmon_feature_value histogram"),
            t.rfind("# TYPE mlmon_feature_value histogram"));
  EXPECT_NE(t.find("mlmon_feature_value_count{model=\"m2\""),
            std::string::npos);
}

TEST(FeatureMonitorTest, SetKeepsLastValueAndClearResets) {
  Registry registry;
  Small s;
  FeatureMonitor mon(registry, "m", "1", s.spec, &s.profile, &s.clock);
  FeatureVector v = mon.NewVector();
  v.Set("x", 100.0);
  v.Set("x", 2.0);
  EXPECT_TRUE(v.IsSet(mon.Find("x")));
  mon.Observe(v);
  v.Clear();
  EXPECT_FALSE(v.IsSet(mon.Find("x")));
  mon.Observe(v);
  EXPECT_EQ(StatusCount(registry, "x", "ok"), 1);
  EXPECT_EQ(StatusCount(registry, "x", "out_of_range"), 0);
  EXPECT_EQ(StatusCount(registry, "x", "missing"), 1);
}

TEST(FeatureMonitorTest, CategoriesBeyondTheCapAreUnseen) {
  Registry registry;
  FakeClock clock;
  FeatureSpec spec;
  spec.categorical.push_back({"country", 2});
  spec.drift_min_samples = 1;  // drift on the 16 and 32 values below
  ReferenceProfile profile;
  profile.signals["country"] =
      CategoricalProfile({{"DE", 5}, {"FR", 1}, {"US", 10}});
  FeatureMonitor mon(registry, "m", "1", spec, &profile, &clock);
  FeatureVector v = mon.NewVector();
  mon.Tick();
  auto feed = [&](const char* c, int n) {
    for (int i = 0; i < n; ++i) {
      v.Clear();
      v.SetCategory("country", c);
      mon.Observe(v);
    }
  };
  feed("US", 10);
  feed("DE", 5);
  feed("FR", 1);  // third most frequent: beyond the cap of 2
  EXPECT_EQ(StatusCount(registry, "country", "ok"), 15);
  EXPECT_EQ(StatusCount(registry, "country", "unseen"), 1);
  clock.Advance(seconds(5));
  mon.Tick();
  // The reference's capped mass is its unseen share: same distribution.
  EXPECT_NEAR(Drift(registry, "country", "linf", "5m"), 0.0, 1e-12);
  EXPECT_NEAR(Drift(registry, "country", "psi", "5m"), 0.0, 1e-12);
  EXPECT_NEAR(Drift(registry, "country", "js", "5m"), 0.0, 1e-12);
  // Categories have no order: no KS.
  EXPECT_EQ(registry.TextExposition().find("signal=\"country\",method=\"ks\""),
            std::string::npos);
  feed("XX", 16);  // all unseen now: window 5m = 16 US/DE/FR + 16 unseen
  clock.Advance(seconds(5));
  mon.Tick();
  // current: US 10/32, DE 5/32, unseen 17/32; reference: 10/16, 5/16, 1/16.
  EXPECT_NEAR(Drift(registry, "country", "linf", "5m"), 17.0 / 32 - 1.0 / 16,
              1e-12);
}

// tests/drift_reference.py's categorical cases: the categories fed through
// a FeatureMonitor give the reference's bins (known categories by count, ties
// by name, then unseen), bin counters and shares, and PSI and JS equal to
// numpy's and scipy's on those bins.
TEST(FeatureMonitorTest, CategoricalDriftMatchesScipyOnTheSameBins) {
  std::ifstream in(std::string(MLMON_SOURCE_DIR) +
                   "/tests/data/drift_vectors.json");
  ASSERT_TRUE(in.good()) << "run tests/drift_reference.py";
  const nlohmann::json doc = nlohmann::json::parse(in);
  ASSERT_GE(doc.at("categorical").size(), 4u);
  double max_diff = 0;
  for (const auto& c : doc.at("categorical")) {
    const std::string name = c.at("name").get<std::string>();
    Registry registry;
    FakeClock clock;
    FeatureSpec spec;
    spec.categorical.push_back(
        {"c", c.at("max_categories").get<std::size_t>()});
    spec.drift_min_samples = 1;
    ReferenceProfile profile;
    profile.signals["c"] = CategoricalProfile(
        c.at("reference_counts").get<std::map<std::string, double>>());
    FeatureMonitor mon(registry, "m", "1", spec, &profile, &clock);
    FeatureVector v = mon.NewVector();
    mon.Tick();
    for (const auto& [category, count] : c.at("current_counts").items()) {
      for (int i = 0; i < count.get<int>(); ++i) {
        v.Clear();
        v.SetCategory("c", category);
        mon.Observe(v);
      }
    }
    clock.Advance(seconds(5));
    mon.Tick();
    const auto current = c.at("current").get<std::vector<double>>();
    const auto reference = c.at("reference").get<std::vector<double>>();
    double ref_total = 0;
    for (double r : reference) ref_total += r;
    const std::string text = registry.TextExposition();
    for (std::size_t b = 0; b < current.size(); ++b) {
      const std::string labels =
          "{model=\"m\",version=\"1\",signal=\"c\",bin=\"" + std::to_string(b) +
          "\"}";
      EXPECT_EQ(
          ExposedValue(text, "mlmon_drift_bin_observations_total" + labels),
          current[b])
          << name << " bin " << b;
      EXPECT_NEAR(ExposedValue(text, "mlmon_drift_reference_share" + labels),
                  reference[b] / ref_total, 1e-15)
          << name << " bin " << b;
    }
    EXPECT_EQ(text.find("bin=\"" + std::to_string(current.size()) + "\""),
              std::string::npos)
        << name << ": one bin too many";
    for (const char* method : {"psi", "js"}) {
      const double expected = c.at(method).get<double>();
      const double got = Drift(registry, "c", method, "5m");
      EXPECT_NEAR(got, expected, 1e-9 * std::max(1.0, std::fabs(expected)))
          << name << " " << method;
      max_diff = std::max(max_diff, std::fabs(got - expected));
    }
  }
  std::printf("categorical PSI/JS vs numpy/scipy: max |difference| %.3g\n",
              max_diff);
}

TEST(FeatureMonitorTest, WithoutReferenceCategoriesAreOkAndNoDriftIsExported) {
  Registry registry;
  FakeClock clock;
  FeatureSpec spec;
  spec.numeric.push_back({"x", kNaN, kNaN, {1, 2}});
  spec.categorical.push_back({"c"});
  FeatureMonitor mon(registry, "m", "1", spec, nullptr, &clock);
  FeatureVector v = mon.NewVector();
  v.Set("x", 1.5);
  v.SetCategory("c", "anything");
  mon.Observe(v);
  mon.Tick();
  clock.Advance(seconds(5));
  mon.Tick();
  EXPECT_EQ(StatusCount(registry, "c", "ok"), 1);
  EXPECT_EQ(StatusCount(registry, "x", "ok"), 1);  // no range: always ok
  EXPECT_EQ(registry.TextExposition().find("mlmon_drift_score"),
            std::string::npos);
}

TEST(FeatureMonitorTest, EmptyBucketsAreTakenFromTheReference) {
  Registry registry;
  FeatureSpec spec;
  spec.numeric.push_back({"x", kNaN, kNaN, {}});
  ReferenceProfile profile;
  profile.signals["x"] = NumericProfile({2, 4}, {1, 3, 5});
  FeatureMonitor mon(registry, "m", "1", spec, &profile);
  FeatureVector v = mon.NewVector();
  v.Set("x", 3.0);
  mon.Observe(v);
  EXPECT_EQ(SampleValue(registry.TextExposition(),
                        "mlmon_feature_value_bucket{model=\"m\",version=\"1\","
                        "feature=\"x\",le=\"4\"}"),
            1);
}

// The seconds -> milliseconds bug: the same lognormal sample, x1000.
TEST(FeatureMonitorTest, UnitChangeShowsInLog10PsiAndWindowsForget) {
  const std::vector<double> kSessionBounds = {1,   2,   5,   10,   20,   50,
                                              100, 200, 500, 1000, 2000, 5000};
  const std::vector<double> kAgeBounds = {10, 20, 30, 40, 50, 60, 70, 80, 90};
  testutil::DataGen gen(42);
  auto session = [&] { return gen.LogNormal(std::log(60.0), 1.0); };
  auto age = [&] { return gen.Normal(40, 12); };
  auto draw = [](const auto& dist, int n) {
    std::vector<double> v(n);
    for (double& x : v) x = dist();
    return v;
  };
  ReferenceProfile profile;
  profile.signals["session_seconds"] =
      NumericProfile(kSessionBounds, draw(session, 20000));
  profile.signals["age"] = NumericProfile(kAgeBounds, draw(age, 20000));

  Registry registry;
  FakeClock clock;
  FeatureSpec spec;
  spec.numeric.push_back({"session_seconds", 0, kNaN, kSessionBounds});
  spec.numeric.push_back({"age", 0, 130, kAgeBounds});
  FeatureMonitor mon(registry, "m", "1", spec, &profile, &clock);
  const FeatureHandle hs = mon.Find("session_seconds"), ha = mon.Find("age");
  FeatureVector v = mon.NewVector();
  auto feed = [&](const std::vector<double>& s, const std::vector<double>& a) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      v.Clear();
      v.Set(hs, s[i]);
      v.Set(ha, a[i]);
      mon.Observe(v);
    }
  };
  const auto& ref_s = profile.signals["session_seconds"];
  const auto& ref_a = profile.signals["age"];
  const auto& l10 = DefaultLog10Bounds();

  // Phase 1: seconds, as in training.
  mon.Tick();
  const auto s1 = draw(session, 3000), a1 = draw(age, 3000);
  feed(s1, a1);
  clock.Advance(seconds(5));
  mon.Tick();
  const double psi1 = Drift(registry, "session_seconds:log10", "psi", "5m");
  EXPECT_NEAR(psi1, ExpectedPsi(Bin(Log10Of(s1), l10), ref_s.log10.counts),
              1e-9);
  EXPECT_LT(psi1, 0.1);
  EXPECT_LT(Drift(registry, "session_seconds", "psi", "5m"), 0.1);
  EXPECT_LT(Drift(registry, "age", "psi", "5m"), 0.1);

  // The 5m window passes without data: it forgets phase 1, and the gauges
  // of an empty window read undefined (NaN).
  for (int i = 0; i < 60; ++i) {
    clock.Advance(seconds(5));
    mon.Tick();
  }
  EXPECT_TRUE(
      std::isnan(Drift(registry, "session_seconds:log10", "psi", "5m")));

  // Phase 2: the field switched to milliseconds.
  auto s2 = draw(session, 3000);
  for (double& x : s2) x *= 1000;
  const auto a2 = draw(age, 3000);
  feed(s2, a2);
  clock.Advance(seconds(5));
  mon.Tick();
  const double psi_log10 =
      Drift(registry, "session_seconds:log10", "psi", "5m");
  const double psi_value = Drift(registry, "session_seconds", "psi", "5m");
  // Only phase 2 is in the 5m window.
  EXPECT_NEAR(psi_log10, ExpectedPsi(Bin(Log10Of(s2), l10), ref_s.log10.counts),
              1e-9);
  EXPECT_NEAR(psi_value,
              ExpectedPsi(Bin(s2, kSessionBounds), ref_s.numeric.counts), 1e-9);
  EXPECT_GT(psi_log10, 0.25);
  EXPECT_GT(psi_value, 0.25);
  EXPECT_NEAR(Drift(registry, "age", "psi", "5m"),
              ExpectedPsi(Bin(a2, kAgeBounds), ref_a.numeric.counts), 1e-9);
  EXPECT_LT(Drift(registry, "age", "psi", "5m"), 0.1);
  EXPECT_LT(Drift(registry, "age:log10", "psi", "5m"), 0.1);
  // The 1h window holds both phases.
  std::vector<double> both = s1;
  both.insert(both.end(), s2.begin(), s2.end());
  EXPECT_NEAR(Drift(registry, "session_seconds:log10", "psi", "1h"),
              ExpectedPsi(Bin(Log10Of(both), l10), ref_s.log10.counts), 1e-9);
  // The other methods are exported too.
  const DriftScores expected =
      ComputeDrift(Bin(Log10Of(s2), l10), ref_s.log10.counts);
  for (auto m : {DriftMethod::kJs, DriftMethod::kLinf, DriftMethod::kKs}) {
    EXPECT_NEAR(
        Drift(registry, "session_seconds:log10", DriftMethodName(m), "5m"),
        expected[m], 1e-12);
  }
  // The values are also out of range? No: only min is set, so none are.
  EXPECT_EQ(StatusCount(registry, "session_seconds", "ok"), 6000);
}

TEST(FeatureMonitorTest, ProfileWithoutLog10CountsSkipsTheMagnitudeSignal) {
  Registry registry;
  FakeClock clock;
  FeatureSpec spec;
  spec.numeric.push_back({"x", kNaN, kNaN, {1, 2}});
  ReferenceProfile profile;
  profile.signals["x"] = NumericProfile({1, 2}, {0.5, 1.5, 3});
  profile.signals["x"].log10 = {};
  FeatureMonitor mon(registry, "m", "1", spec, &profile, &clock);
  FeatureVector v = mon.NewVector();
  mon.Tick();
  v.Set("x", 1.5);
  mon.Observe(v);
  clock.Advance(seconds(5));
  mon.Tick();
  const std::string t = registry.TextExposition();
  EXPECT_NE(t.find("signal=\"x\",method=\"psi\",window=\"5m\""),
            std::string::npos);
  EXPECT_EQ(t.find("x:log10"), std::string::npos);
}

TEST(FeatureMonitorTest, BadSpecThrowsConfigErrorNamingTheFeature) {
  Registry registry;
  auto make = [&](std::function<void(FeatureSpec&)> edit,
                  const ReferenceProfile* profile = nullptr) {
    return [&registry, edit, profile] {
      FeatureSpec spec;
      spec.numeric.push_back({"ok_feature", kNaN, kNaN, {1, 2}});
      edit(spec);
      FeatureMonitor mon(registry, "m", "1", spec, profile);
    };
  };
  ExpectConfigError(make([](FeatureSpec& s) {
                      s.numeric.push_back({"dup", kNaN, kNaN, {1}});
                      s.categorical.push_back({"dup"});
                    }),
                    "mlmon: FeatureSpec.categorical[0].name: repeated (dup)");
  ExpectConfigError(
      make([](FeatureSpec& s) {
        s.numeric.push_back({"rng", 5, 1, {1}});
      }),
      "mlmon: FeatureSpec.numeric[1].min: is greater than max = 1 (5)");
  ExpectConfigError(make([](FeatureSpec& s) {
                      s.numeric.push_back({"bk", kNaN, kNaN, {2, 1}});
                    }),
                    "mlmon: FeatureSpec.numeric[1].buckets[1]: not greater "
                    "than the bound before it, 2 (1)");
  ExpectConfigError(
      make([](FeatureSpec& s) {
        s.numeric.push_back({"nob", kNaN, kNaN, {}});
      }),
      "mlmon: FeatureSpec.numeric[1]: buckets is empty and there is no "
      "reference profile to take the bounds from (nob)");
  ExpectConfigError(make([](FeatureSpec& s) {
                      s.categorical.push_back({"cat", 0});
                    }),
                    "mlmon: FeatureSpec.categorical[0].max_categories: not "
                    "in [1, 10000] (0)");
  ExpectConfigError(make([](FeatureSpec& s) { s.numeric[0].name = ""; }),
                    "mlmon: FeatureSpec.numeric[0].name: is empty");
  ExpectConfigError(
      make([](FeatureSpec& s) { s.numeric[0].name = "__overflow__"; }),
      "mlmon: FeatureSpec.numeric[0].name: starts with '__', which is "
      "reserved (__overflow__)");
  ExpectConfigError(
      make([](FeatureSpec& s) { s.numeric[0].name = "a:log10"; }),
      "mlmon: FeatureSpec.numeric[0].name: ends with ':log10', the suffix of "
      "the magnitude drift signal (a:log10)");
  ExpectConfigError(
      make([](FeatureSpec& s) { s.numeric[0].name = "a\nb"; }),
      "mlmon: FeatureSpec.numeric[0].name: holds a control character");
  ExpectConfigError(make([](FeatureSpec& s) {
                      s.windows = {seconds(60), std::chrono::minutes(1)};
                    }),
                    "mlmon: FeatureSpec.windows[1]: repeated (60s)");
  ExpectConfigError(make([](FeatureSpec& s) { s.slices_per_window = 0; }),
                    "mlmon: FeatureSpec.slices_per_window: not in [1, 3600] "
                    "(0)");
  ExpectConfigError(make([](FeatureSpec& s) { s.drift_min_samples = 0; }),
                    "mlmon: FeatureSpec.drift_min_samples: not >= 1 (0)");
  // Windows have no upper bound here (unlike OutcomeSpec / ResponseSpec).
  ExpectConfigError(make([](FeatureSpec& s) { s.windows = {seconds(0)}; }),
                    "mlmon: FeatureSpec.windows[0]: not >= 1s (0s)");
  ExpectConfigError(make([](FeatureSpec& s) {
                      s.windows.clear();
                      for (int i = 1; i <= 9; ++i) {
                        s.windows.push_back(seconds(i));
                      }
                    }),
                    "mlmon: FeatureSpec.windows: more than 8 values (9)");
  ExpectConfigError(make([](FeatureSpec& s) {
                      s.categorical.push_back({"c"});
                      s.categorical.push_back({"c"});
                    }),
                    "mlmon: FeatureSpec.categorical[1].name: repeated (c)");
  ExpectConfigError(
      make([](FeatureSpec& s) {
        s.categorical.push_back({"cat", 10001});
      }),
      "mlmon: FeatureSpec.categorical[0].max_categories: not in [1, 10000] "
      "(10001)");
  ExpectConfigError(make([](FeatureSpec& s) {
                      s.numeric.push_back({"bk", kNaN, kNaN, {1, kInf}});
                    }),
                    "mlmon: FeatureSpec.numeric[1].buckets[1]: not finite "
                    "(+Inf is implicit) (inf)");
  ExpectConfigError(
      [&registry] {
        FeatureSpec spec;
        spec.numeric.push_back({"x", kNaN, kNaN, {1}});
        FeatureMonitor mon(registry, "", "1", spec);
      },
      "mlmon: FeatureMonitor.model: is empty");
}

TEST(FeatureMonitorTest, DriftMinSamplesDefaultsTo200) {
  EXPECT_EQ(FeatureSpec{}.drift_min_samples, 200u);
  // 199 values far from the reference leave the gauges undefined (NaN);
  // the 200th updates them.
  Registry registry;
  Small s;
  FeatureMonitor mon(registry, "m", "1", s.spec, &s.profile, &s.clock);
  FeatureVector v = mon.NewVector();
  auto feed = [&](int n) {
    for (int i = 0; i < n; ++i) {
      v.Clear();
      v.Set("x", 0.5);
      v.SetCategory("c", "a");
      mon.Observe(v);
    }
  };
  mon.Tick();
  feed(199);
  s.clock.Advance(seconds(5));
  mon.Tick();
  EXPECT_TRUE(std::isnan(Drift(registry, "x", "psi", "5m")));
  EXPECT_TRUE(std::isnan(Drift(registry, "x:log10", "psi", "5m")));
  EXPECT_TRUE(std::isnan(Drift(registry, "c", "linf", "5m")));
  feed(1);
  s.clock.Advance(seconds(5));
  mon.Tick();
  // current x: [200, 0, 0, 0] vs reference [1, 1, 1, 1].
  EXPECT_NEAR(Drift(registry, "x", "psi", "5m"),
              ExpectedPsi({200, 0, 0, 0}, {1, 1, 1, 1}), 1e-9);
  EXPECT_GT(Drift(registry, "x:log10", "psi", "5m"), 0.0);
  // current c: a only (b and unseen 0) vs reference a 5/8, b 3/8.
  EXPECT_NEAR(Drift(registry, "c", "linf", "5m"), 3.0 / 8, 1e-12);
}

TEST(FeatureMonitorTest, WindowBelowDriftMinSamplesReadsNaN) {
  Registry registry;
  Small s;
  s.spec.drift_min_samples = 10;
  FeatureMonitor mon(registry, "m", "1", s.spec, &s.profile, &s.clock);
  FeatureVector v = mon.NewVector();
  auto feed = [&](double x, int n) {
    for (int i = 0; i < n; ++i) {
      v.Clear();
      v.Set("x", x);
      mon.Observe(v);
    }
  };
  mon.Tick();
  // Below the minimum at start: undefined.
  feed(0.5, 9);
  s.clock.Advance(seconds(5));
  mon.Tick();
  EXPECT_TRUE(std::isnan(Drift(registry, "x", "psi", "5m")));
  EXPECT_TRUE(std::isnan(Drift(registry, "x", "psi", "1h")));
  // At the minimum (10 values in both windows): updated.
  feed(0.5, 1);
  s.clock.Advance(seconds(5));
  mon.Tick();
  const double psi10 = ExpectedPsi({10, 0, 0, 0}, {1, 1, 1, 1});
  EXPECT_NEAR(Drift(registry, "x", "psi", "5m"), psi10, 1e-9);
  EXPECT_NEAR(Drift(registry, "x", "psi", "1h"), psi10, 1e-9);
  // The 5m window forgets them; 5 new values in bin 1: 5m holds 5 (< 10,
  // undefined again, so an alert that fired on psi10 resolves), 1h holds 15
  // (updated).
  for (int i = 0; i < 61; ++i) {
    s.clock.Advance(seconds(5));
    mon.Tick();
  }
  feed(3.0, 5);
  s.clock.Advance(seconds(5));
  mon.Tick();
  EXPECT_TRUE(std::isnan(Drift(registry, "x", "psi", "5m")));
  EXPECT_NEAR(Drift(registry, "x", "psi", "1h"),
              ExpectedPsi({10, 5, 0, 0}, {1, 1, 1, 1}), 1e-9);
  // 5 more: the 5m window reaches 10 values, all in bin 1.
  feed(3.0, 5);
  s.clock.Advance(seconds(5));
  mon.Tick();
  EXPECT_NEAR(Drift(registry, "x", "psi", "5m"),
              ExpectedPsi({0, 10, 0, 0}, {1, 1, 1, 1}), 1e-9);
  // The categorical feature was never set (missing): its linf is undefined.
  EXPECT_TRUE(std::isnan(Drift(registry, "c", "linf", "5m")));
}

// The magnitude bucket comes from a table by binary exponent (no loop);
// it must agree with MagnitudeDecade everywhere, bounds and binade edges
// included.
TEST(FeatureMonitorTest, MagnitudeBucketsMatchMagnitudeDecade) {
  std::vector<double> xs = {std::numeric_limits<double>::denorm_min(),
                            std::numeric_limits<double>::min(),
                            std::numeric_limits<double>::max(),
                            1.0,
                            2.0,
                            1e-300,
                            1e300};
  for (int k = -12; k <= 15; ++k) {
    const double p = std::pow(10.0, k);
    xs.push_back(p);
    xs.push_back(std::nextafter(p, 0.0));
    xs.push_back(std::nextafter(p, kInf));
  }
  // The exact double constants the bounds are compared with.
  for (double p :
       {1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0,  1e1,
        1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12}) {
    xs.push_back(p);
    xs.push_back(std::nextafter(p, 0.0));
    xs.push_back(std::nextafter(p, kInf));
  }
  for (int e = -40; e <= 50; ++e) {
    const double p = std::ldexp(1.0, e);
    xs.push_back(p);
    xs.push_back(std::nextafter(p, 0.0));
    xs.push_back(std::nextafter(p, kInf));
  }
  testutil::DataGen gen(3);
  for (int i = 0; i < 20000; ++i) {
    xs.push_back(std::pow(10.0, gen.Uniform(-14, 16)));
  }
  const std::size_t positive = xs.size();
  for (std::size_t i = 0; i < positive; ++i) xs.push_back(-xs[i]);

  Registry registry;
  FeatureSpec spec;
  spec.numeric.push_back({"x", kNaN, kNaN, {1}});
  FeatureMonitor mon(registry, "m", "1", spec);
  FeatureVector v = mon.NewVector();
  const FeatureHandle x = mon.Find("x");
  std::vector<std::uint64_t> expected(DefaultLog10Bounds().size() + 1, 0);
  double expected_sum = 0;
  for (double value : xs) {
    v.Clear();
    v.Set(x, value);
    mon.Observe(v);
    const double d = MagnitudeDecade(value);
    ++expected[static_cast<std::size_t>(d + 9)];
    expected_sum += d;
  }
  const Histogram::Snapshot got =
      registry
          .AddHistogram("mlmon_feature_magnitude", "",
                        {"model", "version", "feature"})
          .Add({"m", "1", "x"}, DefaultLog10Bounds())
          .Collect();
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < expected.size(); ++b) {
    cumulative += expected[b];
    EXPECT_EQ(got.cumulative[b], cumulative) << "bucket " << b;
  }
  EXPECT_EQ(got.count, xs.size());
  EXPECT_EQ(got.sum, expected_sum);
}

// The value bucket is a branch-free count (up to 32 bounds) or a
// branch-free binary search (more): both must put every value where
// Histogram::Observe would, at the bounds, next to them, and beyond them.
TEST(FeatureMonitorTest, ValueBucketsMatchHistogramOnBoundsOfEverySize) {
  testutil::DataGen gen(5);
  for (std::size_t size : {1, 2, 3, 4, 10, 31, 32, 33, 34, 64, 100}) {
    SCOPED_TRACE(size);
    std::vector<double> bounds;
    for (std::size_t i = 0; i < size; ++i) {
      bounds.push_back(static_cast<double>(i) - 2.0);  // includes 0
    }
    std::vector<double> xs = {-1e300, 1e300, -0.0, 0.0};
    for (double b : bounds) {
      xs.push_back(b);
      xs.push_back(std::nextafter(b, -kInf));
      xs.push_back(std::nextafter(b, kInf));
      xs.push_back(b + 0.5);
    }
    for (int i = 0; i < 2000; ++i) xs.push_back(gen.Uniform(-50, 150));

    Registry registry;
    FeatureSpec spec;
    spec.numeric.push_back({"x", kNaN, kNaN, bounds});
    FeatureMonitor mon(registry, "m", "1", spec);
    FeatureVector v = mon.NewVector();
    Histogram reference(bounds);
    for (double value : xs) {
      v.Clear();
      v.Set("x", value);
      mon.Observe(v);
      reference.Observe(value);
    }
    const Histogram::Snapshot want = reference.Collect();
    const Histogram::Snapshot got =
        registry
            .AddHistogram("mlmon_feature_value", "",
                          {"model", "version", "feature"})
            .Add({"m", "1", "x"}, bounds)
            .Collect();
    EXPECT_EQ(got.cumulative, want.cumulative);
    EXPECT_EQ(got.sum, want.sum);
  }
}

// Names and categories are hashed and compared by length and (overlapping)
// words up to 16 bytes, by hash and bytes beyond: every length must find
// exactly its own key, and near misses none.
TEST(FeatureMonitorTest, CategoryAndNameLookupIsExactForEveryLength) {
  std::vector<std::string> keys = {""};
  for (std::size_t len = 1; len <= 40; ++len) {
    std::string k;
    for (std::size_t i = 0; i < len; ++i) {
      k.push_back(static_cast<char>('a' + (i * 7 + len) % 26));
    }
    keys.push_back(k);
  }
  keys.push_back(std::string("\0\0\0", 3));  // zero bytes are bytes too
  keys.push_back(std::string("\0\0\0\0\0", 5));
  std::map<std::string, double> counts;
  for (std::size_t j = 0; j < keys.size(); ++j) {
    counts[keys[j]] = static_cast<double>(j + 1);  // all different
  }
  // Near misses: one byte changed at every position, one byte more or less.
  std::vector<std::string> misses;
  for (const std::string& k : keys) {
    for (std::size_t i = 0; i < k.size(); ++i) {
      std::string m = k;
      m[i] = static_cast<char>(m[i] ^ 0x20);
      if (counts.count(m) == 0) misses.push_back(m);
    }
    if (!k.empty() && counts.count(k.substr(1)) == 0)
      misses.push_back(k.substr(1));
    if (counts.count(k + "z") == 0) misses.push_back(k + "z");
  }

  Registry registry;
  FakeClock clock;
  FeatureSpec spec;
  spec.categorical.push_back({"c", keys.size()});
  spec.drift_min_samples = 1;
  // Feature names of every length 1 .. 40 (looked up by Set(name)).
  for (std::size_t j = 1; j < 41; ++j) {
    spec.numeric.push_back({"f" + keys[j], kNaN, kNaN, {1}});
  }
  ReferenceProfile profile;
  profile.signals["c"] = CategoricalProfile(counts);
  for (const auto& f : spec.numeric) {
    profile.signals[f.name] = NumericProfile({1}, {0.5, 2});
  }
  FeatureMonitor mon(registry, "m", "1", spec, &profile, &clock);
  FeatureVector v = mon.NewVector();
  mon.Tick();
  // Each key j exactly j + 1 times: the window's proportions equal the
  // reference's only if every key landed in its own bin.
  for (std::size_t j = 0; j < keys.size(); ++j) {
    for (std::size_t r = 0; r <= j; ++r) {
      v.Clear();
      v.SetCategory("c", keys[j]);
      mon.Observe(v);
    }
  }
  clock.Advance(seconds(5));
  mon.Tick();
  EXPECT_NEAR(Drift(registry, "c", "linf", "5m"), 0.0, 1e-12);
  const double fed = static_cast<double>(keys.size() * (keys.size() + 1) / 2);
  EXPECT_EQ(StatusCount(registry, "c", "ok"), fed);
  EXPECT_EQ(StatusCount(registry, "c", "unseen"), 0);
  for (const std::string& m : misses) {
    v.Clear();
    v.SetCategory("c", m);
    mon.Observe(v);
  }
  EXPECT_EQ(StatusCount(registry, "c", "unseen"),
            static_cast<double>(misses.size()));
  EXPECT_EQ(StatusCount(registry, "c", "ok"), fed);

  // Names: each found by Set(name) (ok, not missing); misses are dropped as
  // unknown names.
  v.Clear();
  for (std::size_t j = 1; j < 41; ++j) v.Set("f" + keys[j], 0.5);
  for (const std::string& m : misses) v.Set("f" + m, 0.5);
  v.Set("", 0.5);
  mon.Observe(v);
  for (std::size_t j = 1; j < 41; ++j) {
    EXPECT_EQ(StatusCount(registry, "f" + keys[j], "ok"), 1) << j;
    EXPECT_EQ(StatusCount(registry, "f" + keys[j], "missing"),
              fed + static_cast<double>(misses.size()))
        << j;
  }
  EXPECT_EQ(Dropped(registry, "unknown_name"),
            static_cast<double>(misses.size() + 1));
}

TEST(FeatureMonitorTest, ClearStartsAFreshVectorEveryTime) {
  Registry registry;
  Small s;
  FeatureMonitor mon(registry, "m", "1", s.spec, &s.profile, &s.clock);
  FeatureVector v = mon.NewVector();
  const FeatureHandle x = mon.Find("x"), c = mon.Find("c");
  for (int i = 0; i < 1000; ++i) {
    v.Clear();
    EXPECT_FALSE(v.IsSet(x));
    EXPECT_FALSE(v.IsSet(c));
    if (i % 3 == 0) v.Set(x, 2.0);
    if (i % 5 == 0) v.SetCategory(c, "a");
    EXPECT_EQ(v.IsSet(x), i % 3 == 0);
    EXPECT_EQ(v.IsSet(c), i % 5 == 0);
    mon.Observe(v);
  }
  EXPECT_EQ(StatusCount(registry, "x", "ok"), 334);
  EXPECT_EQ(StatusCount(registry, "x", "missing"), 666);
  EXPECT_EQ(StatusCount(registry, "c", "ok"), 200);
  EXPECT_EQ(StatusCount(registry, "c", "missing"), 800);
  // A copy keeps what was set; clearing it leaves the original alone.
  v.Clear();
  v.Set(x, 2.0);
  FeatureVector copy = v;
  EXPECT_TRUE(copy.IsSet(x));
  copy.Clear();
  EXPECT_FALSE(copy.IsSet(x));
  EXPECT_TRUE(v.IsSet(x));
}

TEST(FeatureMonitorTest, NoFeaturesIsAValidNoOp) {
  // A model without configured features (ModelMonitor builds one anyway).
  Registry registry;
  FeatureMonitor mon(registry, "m", "1", FeatureSpec{});
  FeatureVector v = mon.NewVector();
  v.Set("anything", 1.0);  // unknown: dropped and counted
  mon.Observe(v);
  mon.Tick();
  EXPECT_EQ(Dropped(registry, "unknown_name"), 1);
}

TEST(FeatureMonitorTest, ReferenceMismatchThrowsConfigErrorNamingTheFeature) {
  Registry registry;
  ReferenceProfile profile;
  profile.signals["amount"] = NumericProfile({1, 10, 100}, {5, 50});
  profile.signals["country"] = CategoricalProfile({{"US", 1}});
  auto build = [&](FeatureSpec spec) {
    return [&registry, &profile, spec] {
      FeatureMonitor mon(registry, "m", "1", spec, &profile);
    };
  };
  FeatureSpec missing;
  missing.numeric.push_back({"latency", kNaN, kNaN, {1}});
  ExpectConfigError(build(missing),
                    "mlmon: FeatureSpec.numeric[0]: missing from the reference "
                    "profile (latency)");
  FeatureSpec other_bounds;
  other_bounds.numeric.push_back({"amount", kNaN, kNaN, {1, 10, 1000}});
  ExpectConfigError(build(other_bounds),
                    "mlmon: ReferenceProfile.signals.amount.bounds: not the "
                    "configured bounds [1, 10, 1000]; rebuild the profile "
                    "with `mlmon profile` ([1, 10, 100])");
  FeatureSpec wrong_type;
  wrong_type.categorical.push_back({"amount"});
  ExpectConfigError(
      build(wrong_type),
      "mlmon: ReferenceProfile.signals.amount.type: not categorical "
      "(numeric)");
  FeatureSpec missing_cat;
  missing_cat.categorical.push_back({"device"});
  ExpectConfigError(build(missing_cat),
                    "mlmon: ReferenceProfile.signals.device: missing (it has "
                    "'amount', 'country')");
  profile.signals["amount"].log10.bounds = {0, 1, 2};
  profile.signals["amount"].log10.counts = {1, 1, 1, 1};
  FeatureSpec log10;
  log10.numeric.push_back({"amount", kNaN, kNaN, {1, 10, 100}});
  ExpectConfigError(
      build(log10),
      "mlmon: FeatureSpec.numeric[0]: reference log10 bins are not on "
      "DefaultLog10Bounds() (decades -9 .. 12) (amount)");
  profile.signals["empty"] = NumericProfile({1}, {});
  FeatureSpec empty;
  empty.numeric.push_back({"empty", kNaN, kNaN, {1}});
  ExpectConfigError(
      build(empty),
      "mlmon: FeatureSpec.numeric[0]: the reference has no observations");
}

TEST(FeatureMonitorTest, DestroyedMonitorLeavesAndARecreatedOneStartsAtZero) {
  // A monitor's series leave the exposition with it; a new monitor of the
  // same model and version starts from zero. A vector kept after its monitor
  // is gone still refuses bad values, without counting them.
  Registry registry;
  Small s;
  std::optional<FeatureVector> kept;
  {
    FeatureMonitor mon(registry, "m", "1", s.spec, &s.profile, &s.clock);
    FeatureVector v = mon.NewVector();
    v.Set("x", 2.0);
    mon.Observe(v);
    EXPECT_NE(registry.TextExposition().find(
                  "mlmon_feature_value_count{model=\"m\",version=\"1\","
                  "feature=\"x\"} 1"),
              std::string::npos);
    kept.emplace(mon.NewVector());
  }
  const std::string gone = registry.TextExposition();
  EXPECT_EQ(gone.find("model=\"m\""), std::string::npos) << gone;
  kept->Set("x", std::numeric_limits<double>::quiet_NaN());
  kept->Set("no_such_feature", 1.0);
  FeatureMonitor again(registry, "m", "1", s.spec, &s.profile, &s.clock);
  FeatureVector v = again.NewVector();
  v.Set("x", 2.0);
  again.Observe(v);
  const std::string after = registry.TextExposition();
  EXPECT_NE(after.find("mlmon_feature_value_count{model=\"m\",version=\"1\","
                       "feature=\"x\"} 1"),
            std::string::npos)
      << after;
  EXPECT_EQ(
      testutil::SampleValue(after,
                            "mlmon_dropped_total{model=\"m\",version=\"1\","
                            "reason=\"nan\"}"),
      0.0);
}

TEST(FeatureMonitorConcurrencyTest, ExactTotalsWhileTickAndScrapesRun) {
  Registry registry;
  Small s;
  FeatureMonitor mon(registry, "m", "1", s.spec, &s.profile, &s.clock);
  constexpr int kThreads = 4, kPerThread = 20000;
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      FeatureVector v = mon.NewVector();
      const FeatureHandle x = mon.Find("x");
      for (int i = 0; i < kPerThread; ++i) {
        v.Clear();
        if (i % 4 != 0) v.Set(x, (i % 4 == 3) ? 20.0 : 2.0 + t);
        v.SetCategory("c", i % 2 == 0 ? "a" : "new");
        mon.Observe(v);
      }
      done.fetch_add(1);
    });
  }
  std::string text;
  for (int tick = 0; done.load() < kThreads; ++tick) {
    if (tick < 3000) s.clock.Advance(seconds(1));  // stay inside the 1h window
    mon.Tick();
    text.clear();
    registry.WriteText(&text);
    // Scrapes are self-consistent: +Inf bucket == count.
    const std::string p = "{model=\"m\",version=\"1\",feature=\"x\"";
    EXPECT_EQ(
        SampleValue(text, "mlmon_feature_value_bucket" + p + ",le=\"+Inf\"}"),
        SampleValue(text, "mlmon_feature_value_count" + p + "}"));
  }
  for (auto& th : threads) th.join();
  constexpr double kTotal = kThreads * kPerThread;
  EXPECT_EQ(StatusCount(registry, "x", "missing"), kTotal / 4);
  EXPECT_EQ(StatusCount(registry, "x", "ok"), kTotal / 2);
  EXPECT_EQ(StatusCount(registry, "x", "out_of_range"), kTotal / 4);
  EXPECT_EQ(StatusCount(registry, "c", "ok"), kTotal / 2);
  EXPECT_EQ(StatusCount(registry, "c", "unseen"), kTotal / 2);
  EXPECT_EQ(SampleValue(registry.TextExposition(),
                        "mlmon_feature_value_count{model=\"m\",version=\"1\","
                        "feature=\"x\"}"),
            kTotal * 3 / 4);
  // After one more slice, the 1h window holds everything: c is half a, half
  // unseen; the reference is 5/8 a, 3/8 b.
  s.clock.Advance(seconds(60));
  mon.Tick();
  EXPECT_NEAR(Drift(registry, "c", "linf", "1h"), 0.5, 1e-12);
}

}  // namespace
}  // namespace mlmon
