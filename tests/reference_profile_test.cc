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

// Parse must throw a ConfigError whose message contains every `needle`.
void ExpectParseError(const std::string& json,
                      const std::vector<std::string>& needles) {
  try {
    ReferenceProfile::Parse(json, "reference.json");
    ADD_FAILURE() << "no error for: " << json;
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("reference.json: ", 0), 0u) << msg;
    for (const auto& n : needles) {
      EXPECT_NE(msg.find(n), std::string::npos)
          << "message lacks '" << n << "': " << msg;
    }
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
    EXPECT_EQ(std::string(e.what()).rfind(path + ": invalid JSON", 0), 0u)
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
  ExpectParseError(R"({"format": "mlmon-reference/1", "signals": {)",
                   {"invalid JSON"});
  ExpectParseError("", {"invalid JSON"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [],
                              "counts": [NaN]})"),
                   {"invalid JSON"});
}

TEST(ReferenceProfileTest, RejectsNonObjectRoot) {
  ExpectParseError("[1, 2]", {"expected a JSON object", "array"});
}

TEST(ReferenceProfileTest, RejectsWrongOrMissingFormat) {
  ExpectParseError(R"({"format": "mlmon-reference/2", "signals": {}})",
                   {"format", "mlmon-reference/1", "mlmon-reference/2"});
  ExpectParseError(R"({"format": 1, "signals": {}})", {"format"});
  ExpectParseError(R"({"signals": {}})", {"format", "missing"});
}

TEST(ReferenceProfileTest, RejectsMissingOrBadSignals) {
  ExpectParseError(R"({"format": "mlmon-reference/1", "model": "m"})",
                   {"signals", "missing"});
  ExpectParseError(R"({"format": "mlmon-reference/1", "signals": []})",
                   {"signals", "expected an object"});
  ExpectParseError(
      R"({"format": "mlmon-reference/1", "model": 3, "signals": {}})",
      {"model", "string"});
}

TEST(ReferenceProfileTest, RejectsBadType) {
  ExpectParseError(Profile(R"("s": {"type": "ordinal", "counts": [1]})"),
                   {"signal 's'", "type", "ordinal"});
  ExpectParseError(Profile(R"("s": {"counts": [1]})"),
                   {"signal 's'", "type", "missing"});
  ExpectParseError(Profile(R"("s": {"type": 1, "counts": [1]})"),
                   {"signal 's'", "type"});
  ExpectParseError(Profile(R"("s": [1, 2])"), {"signal 's'", "object"});
}

TEST(ReferenceProfileTest, RejectsCountsSizeMismatch) {
  try {
    ReferenceProfile::Parse(Profile(R"("amount_usd": {"type": "numeric",
        "bounds": [1, 2, 3, 4, 5], "counts": [1, 2, 3, 4, 5]})"),
                            "reference.json");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "reference.json: signal 'amount_usd': counts has 5 values, "
                 "expected 6 (bounds + 1)");
  }
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
                                    "counts": [1, 2, 3]})"),
                   {"signal 's'", "counts has 3 values, expected 2"});
}

TEST(ReferenceProfileTest, RejectsMissingArrays) {
  ExpectParseError(Profile(R"("s": {"type": "numeric", "counts": [1]})"),
                   {"signal 's'", "bounds", "missing"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1]})"),
                   {"signal 's'", "counts", "missing"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": 1,
                                    "counts": [1, 1]})"),
                   {"signal 's'", "bounds", "array"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1, "2"],
                                    "counts": [1, 1, 1]})"),
                   {"signal 's'", "bounds[1]", "number"});
}

TEST(ReferenceProfileTest, RejectsNegativeOrNonFiniteCounts) {
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
                                    "counts": [3, -1]})"),
                   {"signal 's'", "counts[1]", "negative"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
                                    "counts": [3, 1e999]})"),
                   {"invalid JSON", "1e999"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
                                    "counts": [null, 1]})"),
                   {"signal 's'", "counts[0]", "number"});
  ExpectParseError(Profile(R"("c": {"type": "categorical",
                                    "counts": {"US": -2}})"),
                   {"signal 'c'", "counts['US']", "negative"});
  // A NaN count is written as null (JSON has no NaN) and rejected on read.
  ReferenceProfile p;
  p.signals["s"].numeric = {{1.0}, {2.0, std::nan("")}};
  ExpectParseError(p.ToJson(), {"signal 's'", "counts[1]", "number"});
}

TEST(ReferenceProfileTest, RejectsUnsortedOrNonFiniteBounds) {
  ExpectParseError(
      Profile(R"("s": {"type": "numeric", "bounds": [1, 3, 2],
                                    "counts": [1, 1, 1, 1]})"),
      {"signal 's'", "bounds", "strictly increasing", "bounds[2]"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1, 1],
                                    "counts": [1, 1, 1]})"),
                   {"signal 's'", "strictly increasing"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1, 1e999],
                                    "counts": [1, 1, 1]})"),
                   {"invalid JSON", "1e999"});
  // Infinite bounds written by ToJson become null and are rejected.
  ReferenceProfile p;
  p.signals["s"].numeric = {{1.0, HUGE_VAL}, {1, 1, 1}};
  ExpectParseError(p.ToJson(), {"signal 's'", "bounds[1]", "number"});
}

TEST(ReferenceProfileTest, RejectsMismatchedLog10Arrays) {
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_bounds": [0, 1], "log10_counts": [1, 1]})"),
                   {"signal 's'", "log10_counts has 2 values, expected 3",
                    "log10_bounds + 1"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_bounds": [0, 1]})"),
                   {"signal 's'", "log10_bounds given without log10_counts"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_counts": [1]})"),
                   {"signal 's'", "log10_counts given without log10_bounds"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_bounds": [1, 0], "log10_counts": [1, 1, 1]})"),
                   {"signal 's'", "log10_bounds", "strictly increasing"});
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_bounds": [0], "log10_counts": [1, -1]})"),
                   {"signal 's'", "log10_counts[1]", "negative"});
}

TEST(ReferenceProfileTest, RejectsUnknownSignalFields) {
  ExpectParseError(Profile(R"("s": {"type": "numeric", "bounds": [1],
      "counts": [1, 1], "log10_bound": [0]})"),
                   {"signal 's'", "unknown field 'log10_bound'"});
  ExpectParseError(Profile(R"("c": {"type": "categorical",
      "counts": {"a": 1}, "bounds": [1]})"),
                   {"signal 'c'", "unknown field 'bounds'"});
}

TEST(ReferenceProfileTest, RejectsBadCategoricalCounts) {
  ExpectParseError(Profile(R"("c": {"type": "categorical", "counts": [1]})"),
                   {"signal 'c'", "counts", "object"});
  ExpectParseError(
      Profile(R"("c": {"type": "categorical", "counts": {"a": "1"}})"),
      {"signal 'c'", "counts['a']", "number"});
  ExpectParseError(Profile(R"("c": {"type": "categorical"})"),
                   {"signal 'c'", "counts", "missing"});
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
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'score'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[0.1, 0.25, 0.5, 0.75, 0.9]"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("[0.1, 0.25, 0.5, 0.75, 0.95]"), std::string::npos)
        << msg;
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
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'latency'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[1, 2, 3, 4, ..., 99, 100] (100 values)"),
              std::string::npos)
        << msg;
    EXPECT_LT(msg.size(), 400u) << msg;
  }
}

TEST(ReferenceProfileTest, MissingSignalThrowsNamingIt) {
  const ReferenceProfile p = Sample();
  try {
    p.NumericFor("age", {1, 2});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'age'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fraud"), std::string::npos) << msg;
  }
  EXPECT_THROW(p.CategoriesFor("device"), ConfigError);
}

TEST(ReferenceProfileTest, WrongKindThrowsNamingSignal) {
  const ReferenceProfile p = Sample();
  try {
    p.NumericFor("country", {1});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'country' is categorical, expected numeric"),
              std::string::npos)
        << msg;
  }
  try {
    p.CategoriesFor("score");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'score' is numeric, expected categorical"),
              std::string::npos)
        << msg;
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
          "format: expected \"mlmon-reference/1\", got an array of 1 values"));
  const std::string deep = "{\"format\": " + Nested(64) + "}";
  EXPECT_THAT(OnlyConfigError(deep),
              ::testing::HasSubstr("JSON nested deeper than 64 levels"));
  const std::string in_string =
      "{\"format\": \"" + std::string(1000, '[') + "\\\"\", \"signals\": {}}";
  EXPECT_THAT(OnlyConfigError(in_string),
              ::testing::HasSubstr(
                  "format: expected \"mlmon-reference/1\", got \"[[["));
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
  EXPECT_THAT(obj, ::testing::HasSubstr("got an object of 1 fields"));
  // The JSON library's own message quotes the bad token whole: cut too.
  const std::string overflow =
      OnlyConfigError("{\"format\": 1" + std::string(1000000, '0') + "}");
  EXPECT_THAT(overflow, ::testing::HasSubstr("ref.json: invalid JSON: "));
  EXPECT_LT(overflow.size(), 500u);
}

TEST(ReferenceProfileHostileTest, CategoryNamesAndCountsAreBounded) {
  const std::string head =
      "{\"format\": \"mlmon-reference/1\", \"signals\": {\"c\": "
      "{\"type\": \"categorical\", \"counts\": {";
  const std::string long_name =
      OnlyConfigError(head + "\"" + std::string(257, 'n') + "\": 1}}}}");
  EXPECT_THAT(long_name, ::testing::HasSubstr(
                             "category name of 257 bytes, longer than 256"));
  EXPECT_NO_THROW(ReferenceProfile::Parse(head + "\"" + std::string(256, 'n') +
                                          "\": 1}}}}"));
  std::string many = head;
  for (std::size_t i = 0; i <= ReferenceProfile::kMaxCategories; ++i) {
    many += (i == 0 ? "\"" : ",\"") + std::to_string(i) + "\":1";
  }
  EXPECT_THAT(
      OnlyConfigError(many + "}}}}"),
      ::testing::HasSubstr("counts has 100001 categories, more than 100000"));
}

TEST(ReferenceProfileHostileTest, NonRegularFilesAreRefused) {
  for (const char* path : {"/dev/zero", "/dev/urandom", "/tmp"}) {
    try {
      ReferenceProfile::Load(path);
      ADD_FAILURE() << "accepted " << path;
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr(
                                std::string(path) +
                                ": reference profile is not a regular file"));
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
    EXPECT_THAT(e.what(),
                ::testing::HasSubstr("reference profile of 67108865 bytes, "
                                     "more than the 67108864 accepted"));
  }
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace mlmon
