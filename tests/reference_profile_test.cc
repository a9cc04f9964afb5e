#include "mlmon/reference_profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "mlmon/errors.h"
#include "testing/data_gen.h"

namespace mlmon {
namespace {

using Type = SignalProfile::Type;

ReferenceProfile Sample() {
  ReferenceProfile p;
  p.model = "fraud";
  SignalProfile score;
  score.numeric.bounds = {0.1, 0.25, 0.5, 0.75, 0.9};
  score.numeric.counts = {120, 40, 33.5, 0, 7, 3};
  p.signals["score"] = score;
  SignalProfile amount;
  amount.numeric.bounds = {1, 10, 100, 1000, 1e4};
  amount.numeric.counts = {5, 50, 500, 300, 20, 1};
  amount.log10.bounds = DefaultLog10Bounds();
  amount.log10.counts.assign(amount.log10.bounds.size() + 1, 0.0);
  amount.log10.counts[9] = 55;
  amount.log10.counts[11] = 800;
  amount.log10.counts[13] = 21;
  p.signals["amount_usd"] = amount;
  SignalProfile country;
  country.type = Type::kCategorical;
  country.categories = {{"US", 1200}, {"DE", 300}, {"weird \"name\"\n", 1}};
  p.signals["country"] = country;
  // Bounds that are not exactly representable and need 17 digits.
  SignalProfile ratio;
  ratio.numeric.bounds = {0.1 + 0.2, 1.0 / 3.0 + 0.1, 2.0 / 3.0, 1.0 + 1e-15};
  ratio.numeric.counts = {1, 2, 3, 4, 1e15 + 0.5};
  p.signals["ratio"] = ratio;
  return p;
}

void ExpectEqualProfiles(const ReferenceProfile& a, const ReferenceProfile& b) {
  EXPECT_EQ(a.model, b.model);
  ASSERT_EQ(a.signals.size(), b.signals.size());
  for (const auto& [name, s] : a.signals) {
    const auto it = b.signals.find(name);
    ASSERT_NE(it, b.signals.end()) << name;
    const SignalProfile& t = it->second;
    EXPECT_EQ(s.type, t.type) << name;
    // Exact: JSON numbers must round-trip bit for bit.
    EXPECT_EQ(s.numeric.bounds, t.numeric.bounds) << name;
    EXPECT_EQ(s.numeric.counts, t.numeric.counts) << name;
    EXPECT_EQ(s.log10.bounds, t.log10.bounds) << name;
    EXPECT_EQ(s.log10.counts, t.log10.counts) << name;
    EXPECT_EQ(s.categories, t.categories) << name;
  }
}

// Parse must throw a ConfigError whose message contains every `needle`
// (for messages that quote the JSON library's own text).
void ExpectParseErrorContaining(const std::string& json,
                                const std::vector<std::string>& needles) {
  try {
    ReferenceProfile::Parse(json, "reference.json");
    ADD_FAILURE() << "no error for: " << json;
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("mlmon: reference.json: ", 0), 0u) << msg;
    for (const auto& n : needles) {
      EXPECT_NE(msg.find(n), std::string::npos)
          << "message lacks '" << n << "': " << msg;
    }
  }
}

// Parse must throw the ConfigError "mlmon: reference.json: <message>".
void ExpectParseError(const std::string& json, const char* message) {
  try {
    ReferenceProfile::Parse(json, "reference.json");
    ADD_FAILURE() << "no error for: " << json;
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              std::string("mlmon: reference.json: ") + message);
  }
}

std::string Profile(const std::string& signals) {
  return R"({"format": "mlmon-reference/1", "model": "fraud", "signals": {)" +
         signals + "}}";
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "mlmon_reference_profile_test_" +
         std::to_string(::getpid()) + "_" + name;
}

TEST(ReferenceProfileTest, DefaultLog10BoundsAreIntegerDecades) {
  const auto& b = DefaultLog10Bounds();
  ASSERT_EQ(b.size(), 22u);
  for (std::size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(b[i], -9.0 + static_cast<double>(i));
  }
  EXPECT_EQ(&b, &DefaultLog10Bounds());
}

TEST(ReferenceProfileTest, ToJsonParseRoundTrip) {
  const ReferenceProfile p = Sample();
  const std::string json = p.ToJson();
  ExpectEqualProfiles(p, ReferenceProfile::Parse(json));
  // Stable: the same text again, and parsing + writing is a fixed point.
  EXPECT_EQ(json, p.ToJson());
  EXPECT_EQ(json, ReferenceProfile::Parse(json).ToJson());
}

TEST(ReferenceProfileTest, ToJsonIsTheDocumentedFormat) {
  const std::string json = Sample().ToJson();
  EXPECT_NE(json.find(R"("format": "mlmon-reference/1")"), std::string::npos);
  EXPECT_NE(json.find(R"("model": "fraud")"), std::string::npos);
  EXPECT_NE(json.find(R"("type": "categorical")"), std::string::npos);
  EXPECT_NE(json.find(R"("counts": [120,40,33.5,0,7,3])"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("counts": {"DE":300,"US":1200)"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("log10_bounds": [-9,-8,)"), std::string::npos) << json;
  // Signals in name order.
  EXPECT_LT(json.find("\"amount_usd\""), json.find("\"country\""));
  EXPECT_LT(json.find("\"country\""), json.find("\"ratio\""));
  EXPECT_LT(json.find("\"ratio\""), json.find("\"score\""));
}

TEST(ReferenceProfileTest, CalibrationRoundTripsBitForBit) {
  ReferenceProfile p = Sample();
  p.calibration = {{0.0, 0.1 + 0.2, 1.0}, {0.0, 1.0 / 3.0, 1.0}};
  const std::string json = p.ToJson();
  EXPECT_NE(json.find("\"calibration\": {"), std::string::npos) << json;
  const ReferenceProfile q = ReferenceProfile::Parse(json);
  EXPECT_EQ(q.calibration.x, p.calibration.x);
  EXPECT_EQ(q.calibration.y, p.calibration.y);
  EXPECT_EQ(json, q.ToJson());
  // Without a calibration the key is left out.
  EXPECT_EQ(Sample().ToJson().find("calibration"), std::string::npos);
}

TEST(ReferenceProfileTest, RejectsBadCalibrationNamingTheKnot) {
  const auto with = [](const std::string& cal) {
    return R"({"format": "mlmon-reference/1", "signals": {}, "calibration": )" +
           cal + "}";
  };
  ExpectParseError(with(R"({"x": [0.1, 0.1], "y": [0, 1]})"),
                   "calibration.x[1]: not above the knot before it (0.1)");
  ExpectParseError(with(R"({"x": [0.1, 0.2], "y": [0.6, 0.5]})"),
                   "calibration.y[1]: below the knot before it (0.5)");
  ExpectParseError(with(R"({"x": [0.1, 0.2], "y": [0, 1.5]})"),
                   "calibration.y[1]: not in [0, 1] (1.5)");
  ExpectParseError(with(R"({"x": [0.1, 0.2], "y": [0]})"),
                   "calibration.y: not 2 values, as many as x (1 values)");
  ExpectParseError(with(R"({"x": [0.1, "a"], "y": [0, 1]})"),
                   "calibration.x[1]: expected a number (\"a\")");
  ExpectParseError(with(R"({"x": [], "y": []})"), "calibration.x: no knots");
  ExpectParseError(with(R"({"y": [0]})"), "calibration.x: missing");
  ExpectParseError(with(R"({"x": [0], "y": [0], "z": 1})"),
                   "calibration.z: unknown field of the calibration");
  ExpectParseError(with("[1]"),
                   "calibration: expected an object {\"x\": [...], \"y\": "
                   "[...]} (array)");
  std::string many = "[";
  for (std::size_t i = 0; i <= CalibrationMap::kMaxKnots; ++i) {
    many += (i ? "," : "") + std::to_string(i);
  }
  many += "]";
  ExpectParseError(with(R"({"x": )" + many + R"(, "y": [0]})"),
                   "calibration.x: more than 10000 knots (10001 values)");
}

TEST(ReferenceProfileTest, EmptyProfileRoundTrips) {
  ReferenceProfile p;
  const ReferenceProfile q = ReferenceProfile::Parse(p.ToJson());
  EXPECT_TRUE(q.signals.empty());
  EXPECT_EQ(q.model, "");
}

TEST(ReferenceProfileTest, SaveThenLoad) {
  const std::string path = TempPath("save.json");
  const ReferenceProfile p = Sample();
  p.Save(path);
  ExpectEqualProfiles(p, ReferenceProfile::Load(path));
  // Overwrites in place, leaving no temporary behind.
  ReferenceProfile q = p;
  q.model = "other";
  q.Save(path);
  EXPECT_EQ(ReferenceProfile::Load(path).model, "other");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), q.ToJson());
  std::remove(path.c_str());
}

TEST(ReferenceProfileTest, SaveToUnwritablePathThrowsNamingIt) {
  const std::string path = TempPath("no/such/dir/out.json");
  try {
    Sample().Save(path);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(ReferenceProfileTest, LoadMissingFileThrowsNamingIt) {
  const std::string path = TempPath("missing.json");
  try {
    ReferenceProfile::Load(path);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(ReferenceProfileTest, LoadCorruptFileNamesThePath) {
  const std::string path = TempPath("corrupt.json");
  {
    std::ofstream out(path);
    out << Sample().ToJson().substr(0, 100);
  }
  try {
    ReferenceProfile::Load(path);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(
        std::string(e.what()).rfind("mlmon: " + path + ": invalid JSON", 0), 0u)
        << e.what();
  }
  std::remove(path.c_str());
}

TEST(ReferenceProfileTest, ParsesTheHeaderExample) {
  const ReferenceProfile p = ReferenceProfile::Parse(Profile(R"(
      "score": {"type": "numeric", "bounds": [0.5], "counts": [12, 40]},
      "country": {"type": "categorical", "counts": {"US": 1200, "DE": 300}})"));
  EXPECT_EQ(p.model, "fraud");
  const BinnedCounts& score = p.NumericFor("score", {0.5});
  EXPECT_EQ(score.counts, (std::vector<double>{12, 40}));
  EXPECT_TRUE(p.signals.at("score").log10.bounds.empty());
  const auto& country = p.CategoriesFor("country");
  EXPECT_EQ(country.at("US"), 1200);
  EXPECT_EQ(country.at("DE"), 300);
}

TEST(ReferenceProfileTest, ModelIsOptional) {
  const ReferenceProfile p = ReferenceProfile::Parse(
      R"({"format": "mlmon-reference/1", "signals": {}})");
  EXPECT_EQ(p.model, "");
}

TEST(ReferenceProfileTest, RejectsCorruptJson) {
  ExpectParseErrorContaining(R"({"format": "mlmon-reference/1", "signals": {)",
                             {"invalid JSON"});
  ExpectParseErrorContaining("", {"invalid JSON"});
  ExpectParseErrorContaining(Profile(R"("s": {"type": "numeric", "bounds": [],
                              "counts": [NaN]})"),
                             {"invalid JSON"});
}

TEST(ReferenceProfileTest, RejectsNonObjectRoot) {
  ExpectParseError("[1, 2]", "expected a JSON object (array)");
}

TEST(ReferenceProfileTest, RejectsWrongOrMissingFormat) {
  ExpectParseError(
      R"({"format": "mlmon-reference/2", "signals": {}})",
      R"(format: expected "mlmon-reference/1" ("mlmon-reference/2"))");
  ExpectParseError(R"({"format": 1, "signals": {}})",
                   R"(format: expected "mlmon-reference/1" (1))");
  ExpectParseError(R"({"signals": {}})",
                   R"(format: missing; expected "mlmon-reference/1")");
}

TEST(ReferenceProfileTest, RejectsMissingOrBadSignals) {
  ExpectParseError(R"({"format": "mlmon-reference/1", "model": "m"})",
                   "signals: missing");
  ExpectParseError(R"({"format": "mlmon-reference/1", "signals": []})",
                   "signals: expected an object (array)");
  ExpectParseError(
      R"({"format": "mlmon-reference/1", "model": 3, "signals": {}})",
      "model: expected a string (number)");
}

TEST(ReferenceProfileTest, RejectsBadType) {
  ExpectParseError(
      Profile(R"("s": {"type": "ordinal", "counts": [1]})"),
      R"(signals.s.type: expected "numeric" or "categorical" ("ordinal"))");
  ExpectParseError(
      Profile(R"("s": {"counts": [1]})"),
      R"(signals.s.type: missing; expected "numeric" or "categorical")");
  ExpectParseError(
      Profile(R"("s": {"type": 1, "counts": [1]})"),
      R"(signals.s.type: expected "numeric" or "categorical" (1))");
  ExpectParseError(Profile(R"("s": [1, 2])"),
                   "signals.s: expected an object (array)");
}

TEST(ReferenceProfileTest, RejectsCountsSizeMismatch) {
  try {
    ReferenceProfile::Parse(Profile(R"("amount_usd": {"type": "numeric",
        "bounds": [1, 2, 3, 4, 5], "counts": [1, 2, 3, 4, 5]})"),
                            "reference.json");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: reference.json: signals.amount_usd.counts: not 6 "
                 "values, one more than bounds (5 values)");
  }
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
                                    "counts": [1, 2, 3]})"),
                   "signals.s.counts: not 2 values, one more than bounds (3 "
                   "values)");
}

TEST(ReferenceProfileTest, RejectsMissingArrays) {
  ExpectParseError(Profile(R"("s": {"type": "numeric", "counts": [1]})"),
                   "signals.s.bounds: missing");
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1]})"),
                   "signals.s.counts: missing");
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": 1,
                                    "counts": [1, 1]})"),
                   "signals.s.bounds: expected an array of numbers (number)");
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1, "2"],
                                    "counts": [1, 1, 1]})"),
                   "signals.s.bounds[1]: expected a number (string)");
}

TEST(ReferenceProfileTest, RejectsNegativeOrNonFiniteCounts) {
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
                                    "counts": [3, -1]})"),
                   "signals.s.counts[1]: negative (-1)");
  ExpectParseErrorContaining(Profile(R"("s": {"type": "numeric", "bounds": [1],
                                    "counts": [3, 1e999]})"),
                             {"invalid JSON", "1e999"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
                                    "counts": [null, 1]})"),
                   "signals.s.counts[0]: expected a number (null)");
  ExpectParseError(Profile(R"("c": {"type": "categorical",
                                    "counts": {"US": -2}})"),
                   "signals.c.counts.US: negative (-2)");
  // A NaN count is written as null (JSON has no NaN) and rejected on read.
  ReferenceProfile p;
  p.signals["s"].numeric = {{1.0}, {2.0, std::nan("")}};
  ExpectParseError(p.ToJson(), "signals.s.counts[1]: expected a number (null)");
}

TEST(ReferenceProfileTest, RejectsUnsortedOrNonFiniteBounds) {
  ExpectParseError(
      Profile(R"("s": {"type": "numeric", "bounds": [1, 3, 2],
                                    "counts": [1, 1, 1, 1]})"),
      "signals.s.bounds[2]: not greater than the bound before it, 3 (2)");
  ExpectParseError(
      Profile(R"("s": {"type": "numeric", "bounds": [1, 1],
                                    "counts": [1, 1, 1]})"),
      "signals.s.bounds[1]: not greater than the bound before it, 1 (1)");
  ExpectParseErrorContaining(
      Profile(R"("s": {"type": "numeric", "bounds": [1, 1e999],
                                    "counts": [1, 1, 1]})"),
      {"invalid JSON", "1e999"});
  // Infinite bounds written by ToJson become null and are rejected.
  ReferenceProfile p;
  p.signals["s"].numeric = {{1.0, HUGE_VAL}, {1, 1, 1}};
  ExpectParseError(p.ToJson(), "signals.s.bounds[1]: expected a number (null)");
}

TEST(ReferenceProfileTest, RejectsMismatchedLog10Arrays) {
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_bounds": [0, 1], "log10_counts": [1, 1]})"),
                   "signals.s.log10_counts: not 3 values, one more than "
                   "log10_bounds (2 values)");
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_bounds": [0, 1]})"),
                   "signals.s.log10_bounds: given without log10_counts");
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_counts": [1]})"),
                   "signals.s.log10_counts: given without log10_bounds");
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_bounds": [1, 0], "log10_counts": [1, 1, 1]})"),
                   "signals.s.log10_bounds[1]: not greater than the bound "
                   "before it, 1 (0)");
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_bounds": [0], "log10_counts": [1, -1]})"),
                   "signals.s.log10_counts[1]: negative (-1)");
}

TEST(ReferenceProfileTest, RejectsUnknownSignalFields) {
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_bound": [0]})"),
                   "signals.s.log10_bound: unknown field of a numeric signal");
  ExpectParseError(Profile(R"("c": {"type": "categorical",
      "counts": {"a": 1}, "bounds": [1]})"),
                   "signals.c.bounds: unknown field of a categorical signal");
}

TEST(ReferenceProfileTest, RejectsBadCategoricalCounts) {
  ExpectParseError(Profile(R"("c": {"type": "categorical", "counts": [1]})"),
                   "signals.c.counts: expected an object of category -> "
                   "count (array)");
  ExpectParseError(
      Profile(R"("c": {"type": "categorical", "counts": {"a": "1"}})"),
      "signals.c.counts.a: expected a number (string)");
  ExpectParseError(Profile(R"("c": {"type": "categorical"})"),
                   "signals.c.counts: missing");
}

TEST(ReferenceProfileTest, NumericForAcceptsBoundsWithinRoundingOfJson) {
  const ReferenceProfile p = ReferenceProfile::Parse(Sample().ToJson());
  const std::vector<double> configured = {0.1, 0.25, 0.5, 0.75, 0.9};
  EXPECT_EQ(p.NumericFor("score", configured).counts.size(), 6u);
  // A bound one ulp off (a float that went through another formatter).
  std::vector<double> nudged = configured;
  nudged[0] = std::nextafter(nudged[0], 1.0);
  nudged[4] = nudged[4] * (1 + 4e-13);
  EXPECT_NO_THROW(p.NumericFor("score", nudged));
}

TEST(ReferenceProfileTest, NumericForWithOtherBoundsThrowsNamingBoth) {
  const ReferenceProfile p = Sample();
  try {
    p.NumericFor("score", {0.1, 0.25, 0.5, 0.75, 0.95});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: ReferenceProfile.signals.score.bounds: not the "
              "configured bounds [0.1, 0.25, 0.5, 0.75, 0.95]; rebuild the "
              "profile with `mlmon profile` ([0.1, 0.25, 0.5, 0.75, 0.9])");
  }
  EXPECT_THROW(p.NumericFor("score", {0.1, 0.25, 0.5, 0.75}), ConfigError);
  EXPECT_THROW(p.NumericFor("score", {0.1, 0.25, 0.5, 0.75, 0.9 * (1 + 1e-9)}),
               ConfigError);
}

TEST(ReferenceProfileTest, BoundsMismatchMessageShortensLongLists) {
  ReferenceProfile p;
  SignalProfile& s = p.signals["latency"];
  for (int i = 1; i <= 100; ++i) s.numeric.bounds.push_back(i);
  s.numeric.counts.assign(101, 1.0);
  std::vector<double> other = s.numeric.bounds;
  other[50] = 50.5;
  try {
    p.NumericFor("latency", other);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: ReferenceProfile.signals.latency.bounds: not the "
              "configured bounds [1, 2, 3, 4, ..., 99, 100] (100 values); "
              "rebuild the profile with `mlmon profile` ([1, 2, 3, 4, ..., "
              "99, 100] (100 values))");
  }
}

TEST(ReferenceProfileTest, MissingSignalThrowsNamingIt) {
  const ReferenceProfile p = Sample();
  try {
    p.NumericFor("age", {1, 2});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: ReferenceProfile.signals.age: missing (it has "
              "'amount_usd', 'country', 'ratio', 'score')");
  }
  EXPECT_THROW(p.CategoriesFor("device"), ConfigError);
}

TEST(ReferenceProfileTest, WrongKindThrowsNamingSignal) {
  const ReferenceProfile p = Sample();
  try {
    p.NumericFor("country", {1});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: ReferenceProfile.signals.country.type: not numeric "
              "(categorical)");
  }
  try {
    p.CategoriesFor("score");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: ReferenceProfile.signals.score.type: not categorical "
              "(numeric)");
  }
}

TEST(ReferenceProfileTest, CategoricalProfiles) {
  const ReferenceProfile p = ReferenceProfile::Parse(Sample().ToJson());
  const auto& c = p.CategoriesFor("country");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c.at("US"), 1200);
  EXPECT_EQ(c.at("weird \"name\"\n"), 1);
  // An empty categorical profile is valid (no observations: drift is NaN).
  const ReferenceProfile e = ReferenceProfile::Parse(
      Profile(R"("c": {"type": "categorical", "counts": {}})"));
  EXPECT_TRUE(e.CategoriesFor("c").empty());
}

}  // namespace
}  // namespace mlmon

namespace mlmon {
namespace {

// MagnitudeDecade against its definition (smallest k with |x| <= 10^k,
// clamped to [-9, 13]) computed the slow way, over 30 decades and the edges.
TEST(MagnitudeDecadeTest, MatchesTheDefinition) {
  static const double kPow10[22] = {
      1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0,  1e1,
      1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12};
  auto slow = [](double x) {
    const double a = std::fabs(x);
    for (int k = -9; k <= 12; ++k) {
      if (a <= kPow10[k + 9]) return static_cast<double>(k);
    }
    return 13.0;
  };
  testutil::DataGen gen(5);
  for (int i = 0; i < 200000; ++i) {
    const double x = std::pow(10.0, gen.Uniform(-25, 16)) * (i % 2 ? -1 : 1);
    ASSERT_EQ(MagnitudeDecade(x), slow(x)) << x;
  }
  for (double x : {1e-9, 1e-8, 0.1, 1.0, 10.0, 1e12, 1e13, 5e-324, 1.7e308,
                   std::nextafter(1.0, 2.0), std::nextafter(1e12, 0.0), -3.0}) {
    EXPECT_EQ(MagnitudeDecade(x), slow(x)) << x;
  }
  // A unit change of x1000 moves the decade by exactly 3.
  EXPECT_EQ(MagnitudeDecade(250.0) - MagnitudeDecade(0.25), 3.0);
}

}  // namespace
}  // namespace mlmon

namespace mlmon {
namespace {

// Nothing but ConfigError may leave Parse or Load.
std::string OnlyConfigError(const std::string& json) {
  try {
    ReferenceProfile::Parse(json, "ref.json");
  } catch (const ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a ConfigError: " << e.what();
    return "";
  }
  ADD_FAILURE() << "accepted";
  return "";
}

std::string Nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(ReferenceProfileHostileTest, DeepFormatValueIsAConfigErrorNotACrash) {
  const std::string msg =
      OnlyConfigError("{\"format\": " + Nested(200000) + ", \"signals\": {}}");
  EXPECT_THAT(
      msg, ::testing::HasSubstr("ref.json: JSON nested deeper than 64 levels"));
}

TEST(ReferenceProfileHostileTest, DeepTypeValueIsAConfigErrorNotACrash) {
  const std::string msg = OnlyConfigError(
      "{\"format\": \"mlmon-reference/1\", \"signals\": {\"s\": {\"type\": " +
      Nested(200000) + "}}}");
  EXPECT_THAT(
      msg, ::testing::HasSubstr("ref.json: JSON nested deeper than 64 levels"));
}

TEST(ReferenceProfileHostileTest, DepthLimitCountsArraysAndObjectsNotStrings) {
  // 64 levels in all (root object, signals, ...) pass the depth check and
  // fail on content; 65 do not; brackets inside strings do not count.
  const std::string ok = "{\"format\": " + Nested(63) + "}";
  EXPECT_THAT(
      OnlyConfigError(ok),
      ::testing::HasSubstr(
          "mlmon: ref.json: format: expected \"mlmon-reference/1\" (an array "
          "of 1 values)"));
  const std::string deep = "{\"format\": " + Nested(64) + "}";
  EXPECT_THAT(OnlyConfigError(deep),
              ::testing::HasSubstr("JSON nested deeper than 64 levels"));
  const std::string in_string =
      "{\"format\": \"" + std::string(1000, '[') + "\\\"\", \"signals\": {}}";
  EXPECT_THAT(
      OnlyConfigError(in_string),
      ::testing::HasSubstr("format: expected \"mlmon-reference/1\" (\"[[["));
}

TEST(ReferenceProfileHostileTest, QuotedValuesAreCut) {
  const std::string msg = OnlyConfigError(
      "{\"format\": \"" + std::string(1000000, 'x') + "\", \"signals\": {}}");
  EXPECT_THAT(msg, ::testing::HasSubstr("... (1000000 bytes)"));
  EXPECT_LT(msg.size(), 300u);
  std::string list = "[1";
  for (int i = 0; i < 100000; ++i) list += ",1";
  const std::string obj =
      OnlyConfigError("{\"format\": {\"a\": " + list + "]}}");
  EXPECT_EQ(obj,
            "mlmon: ref.json: format: expected \"mlmon-reference/1\" (an "
            "object of 1 fields)");
  // The JSON library's own message quotes the bad token whole: cut too.
  const std::string overflow =
      OnlyConfigError("{\"format\": 1" + std::string(1000000, '0') + "}");
  EXPECT_THAT(overflow,
              ::testing::StartsWith("mlmon: ref.json: invalid JSON: "));
  EXPECT_LT(overflow.size(), 500u);
}

TEST(ReferenceProfileHostileTest, CategoryNamesAndCountsAreBounded) {
  const std::string head =
      "{\"format\": \"mlmon-reference/1\", \"signals\": {\"c\": "
      "{\"type\": \"categorical\", \"counts\": {";
  const std::string long_name =
      OnlyConfigError(head + "\"" + std::string(257, 'n') + "\": 1}}}}");
  EXPECT_THAT(long_name,
              ::testing::EndsWith("... (257 bytes): category name longer "
                                  "than 256 bytes (257 bytes)"));
  EXPECT_NO_THROW(ReferenceProfile::Parse(head + "\"" + std::string(256, 'n') +
                                          "\": 1}}}}"));
  std::string many = head;
  for (std::size_t i = 0; i <= ReferenceProfile::kMaxCategories; ++i) {
    many += (i == 0 ? "\"" : ",\"") + std::to_string(i) + "\":1";
  }
  EXPECT_THAT(
      OnlyConfigError(many + "}}}}"),
      ::testing::StrEq("mlmon: ref.json: signals.c.counts: more than 100000 "
                       "categories (100001 categories)"));
}

TEST(ReferenceProfileHostileTest, NonRegularFilesAreRefused) {
  for (const char* path : {"/dev/zero", "/dev/urandom", "/tmp"}) {
    try {
      ReferenceProfile::Load(path);
      ADD_FAILURE() << "accepted " << path;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()),
                std::string("mlmon: ") + path +
                    ": the reference profile is not a regular file");
    }
  }
}

TEST(ReferenceProfileHostileTest, FifoIsRefusedWithoutWaitingForAWriter) {
  const std::string path = ::testing::TempDir() + "mlmon_ref_fifo";
  ::unlink(path.c_str());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  EXPECT_THROW(ReferenceProfile::Load(path), ConfigError);
  ::unlink(path.c_str());
}

TEST(ReferenceProfileHostileTest, FileOverTheCapIsRefusedBeforeReading) {
  const std::string path = ::testing::TempDir() + "mlmon_ref_big.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << "{}";
  }
  // Sparse: 64 MiB + 1 byte, no disk used.
  ASSERT_EQ(::truncate(path.c_str(), ReferenceProfile::kMaxBytes + 1), 0);
  try {
    ReferenceProfile::Load(path);
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: " + path +
                  ": the reference profile is more than the 67108864 bytes "
                  "accepted (67108865 bytes)");
  }
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace mlmon
