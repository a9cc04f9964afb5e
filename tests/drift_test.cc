#include "mlmon/drift.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mlmon/errors.h"

namespace mlmon {
namespace {

static_assert(noexcept(PopulationStabilityIndex(nullptr, nullptr, 0)));
static_assert(noexcept(ComputeDrift(nullptr, nullptr, 0)));

// 1e-9 absolute, or relative for values above 1 (PSI is unbounded).
void ExpectClose(double actual, const nlohmann::json& expected,
                 const std::string& what) {
  if (expected.is_null()) {
    EXPECT_TRUE(std::isnan(actual)) << what << " = " << actual;
    return;
  }
  const double e = expected.get<double>();
  EXPECT_NEAR(actual, e, 1e-9 * std::max(1.0, std::fabs(e))) << what;
}

nlohmann::json LoadVectors() {
  std::ifstream in(std::string(MLMON_SOURCE_DIR) +
                   "/tests/data/drift_vectors.json");
  EXPECT_TRUE(in.good()) << "run tests/drift_reference.py";
  return nlohmann::json::parse(in);
}

TEST(DriftTest, MatchesScipyReferenceVectors) {
  const nlohmann::json doc = LoadVectors();
  ASSERT_GE(doc.at("cases").size(), 12u);
  for (const auto& c : doc.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    const auto cur = c.at("current").get<std::vector<double>>();
    const auto ref = c.at("reference").get<std::vector<double>>();
    ASSERT_EQ(cur.size(), ref.size()) << name;
    const std::size_t n = cur.size();
    ExpectClose(PopulationStabilityIndex(cur.data(), ref.data(), n),
                c.at("psi"), name + ": psi");
    ExpectClose(JensenShannonDivergence(cur.data(), ref.data(), n), c.at("js"),
                name + ": js");
    ExpectClose(LInfinityDistance(cur.data(), ref.data(), n), c.at("linf"),
                name + ": linf");
    ExpectClose(KolmogorovSmirnovDistance(cur.data(), ref.data(), n),
                c.at("ks"), name + ": ks");
    const DriftScores s = ComputeDrift(cur, ref);
    ExpectClose(s[DriftMethod::kPsi], c.at("psi"), name + ": ComputeDrift psi");
    ExpectClose(s[DriftMethod::kJs], c.at("js"), name + ": ComputeDrift js");
    ExpectClose(s[DriftMethod::kLinf], c.at("linf"),
                name + ": ComputeDrift linf");
    ExpectClose(s[DriftMethod::kKs], c.at("ks"), name + ": ComputeDrift ks");
  }
}

TEST(DriftTest, PsiHandExampleIsSymmetric) {
  // p = (0.25, 0.75), q = (0.75, 0.25):
  // PSI = (0.25 - 0.75) ln(1/3) + (0.75 - 0.25) ln 3 = ln 3.
  const std::vector<double> a = {1, 3}, b = {3, 1};
  EXPECT_NEAR(PopulationStabilityIndex(a.data(), b.data(), 2), std::log(3.0),
              1e-15);
  EXPECT_NEAR(PopulationStabilityIndex(b.data(), a.data(), 2), std::log(3.0),
              1e-15);
}

TEST(DriftTest, PsiFloorsZeroProportions) {
  // p = (0, 1), q = (0.5, 0.5): p_0 becomes 1e-4.
  const std::vector<double> a = {0, 8}, b = {4, 4};
  const double expected =
      (kPsiFloor - 0.5) * std::log(kPsiFloor / 0.5) + 0.5 * std::log(2.0);
  EXPECT_NEAR(PopulationStabilityIndex(a.data(), b.data(), 2), expected, 1e-12);
  EXPECT_TRUE(std::isfinite(PopulationStabilityIndex(b.data(), a.data(), 2)));
}

TEST(DriftTest, JsHandExample) {
  // Disjoint supports: JS = 1 exactly (base 2). Half overlap:
  // p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4):
  // JS = 1/2 log2(4/3) + 1/2 (1/2 log2(2/3) + 1/2 log2(2)).
  const std::vector<double> a = {5, 0}, b = {0, 2}, c = {1, 1};
  EXPECT_DOUBLE_EQ(JensenShannonDivergence(a.data(), b.data(), 2), 1.0);
  const double expected =
      0.5 * std::log2(4.0 / 3.0) + 0.5 * (0.5 * std::log2(2.0 / 3.0) + 0.5);
  EXPECT_NEAR(JensenShannonDivergence(a.data(), c.data(), 2), expected, 1e-15);
}

TEST(DriftTest, LinfAndKsHandExample) {
  // p = (0.5, 0, 0.5), q = (0, 0.5, 0.5): |p - q| max 0.5, cumulative
  // P = (0.5, 0.5, 1), Q = (0, 0.5, 1): KS 0.5.
  const std::vector<double> a = {2, 0, 2}, b = {0, 3, 3};
  EXPECT_DOUBLE_EQ(LInfinityDistance(a.data(), b.data(), 3), 0.5);
  EXPECT_DOUBLE_EQ(KolmogorovSmirnovDistance(a.data(), b.data(), 3), 0.5);
  // A shift by one bin moves KS but not L-inf's bound.
  const std::vector<double> c = {1, 0, 0, 0}, d = {0, 0, 0, 1};
  EXPECT_DOUBLE_EQ(KolmogorovSmirnovDistance(c.data(), d.data(), 4), 1.0);
  EXPECT_DOUBLE_EQ(LInfinityDistance(c.data(), d.data(), 4), 1.0);
}

TEST(DriftTest, IdenticalDistributionsAreZeroForAllMethods) {
  const std::vector<double> a = {3, 0, 7, 1e9, 0.5};
  std::vector<double> scaled = a;  // same proportions
  for (double& v : scaled) v *= 3;
  for (const std::vector<double>* other :
       std::vector<const std::vector<double>*>{&a, &scaled}) {
    const DriftScores s = ComputeDrift(a, *other);
    for (std::size_t m = 0; m < kNumDriftMethods; ++m) {
      EXPECT_NEAR(s.value[m], 0.0, 1e-15)
          << DriftMethodName(static_cast<DriftMethod>(m));
      EXPECT_GE(s.value[m], 0.0);
    }
  }
}

TEST(DriftTest, EmptySideGivesNaNForAllMethods) {
  const std::vector<double> zero = {0, 0, 0}, some = {1, 2, 3};
  for (const auto& [cur, ref] :
       {std::pair{zero, some}, std::pair{some, zero}, std::pair{zero, zero}}) {
    const DriftScores s = ComputeDrift(cur, ref);
    for (std::size_t m = 0; m < kNumDriftMethods; ++m) {
      EXPECT_TRUE(std::isnan(s.value[m]))
          << DriftMethodName(static_cast<DriftMethod>(m));
    }
  }
  // No bins at all: nothing observed either.
  const DriftScores s = ComputeDrift(nullptr, nullptr, 0);
  EXPECT_TRUE(std::isnan(s[DriftMethod::kPsi]));
  EXPECT_TRUE(std::isnan(s[DriftMethod::kKs]));
}

TEST(DriftTest, ResultsStayInRange) {
  // Extreme but valid inputs: denormal-sized and huge counts.
  const std::vector<double> a = {1e-300, 1e300, 0}, b = {1e300, 1e-300, 5e-324};
  const DriftScores s = ComputeDrift(a, b);
  EXPECT_TRUE(std::isfinite(s[DriftMethod::kPsi]));
  EXPECT_GE(s[DriftMethod::kJs], 0.0);
  EXPECT_LE(s[DriftMethod::kJs], 1.0);
  EXPECT_LE(s[DriftMethod::kLinf], 1.0);
  EXPECT_LE(s[DriftMethod::kKs], 1.0);
  EXPECT_NEAR(s[DriftMethod::kJs], 1.0, 1e-12);
}

TEST(DriftTest, SizeMismatchThrowsNamingBothSizes) {
  const std::vector<double> a = {1, 2, 3}, b = {1, 2, 3, 4, 5};
  try {
    ComputeDrift(a, b);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find('3'), std::string::npos) << msg;
    EXPECT_NE(msg.find('5'), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(ComputeDrift(b, b));
}

TEST(DriftTest, MethodNames) {
  EXPECT_STREQ(DriftMethodName(DriftMethod::kPsi), "psi");
  EXPECT_STREQ(DriftMethodName(DriftMethod::kJs), "js");
  EXPECT_STREQ(DriftMethodName(DriftMethod::kLinf), "linf");
  EXPECT_STREQ(DriftMethodName(DriftMethod::kKs), "ks");
  EXPECT_EQ(static_cast<std::size_t>(DriftMethod::kKs) + 1, kNumDriftMethods);
}

TEST(DriftTest, ScoresIndexedByMethod) {
  const std::vector<double> a = {1, 3}, b = {3, 1};
  const DriftScores s = ComputeDrift(a, b);
  EXPECT_DOUBLE_EQ(s[DriftMethod::kPsi],
                   PopulationStabilityIndex(a.data(), b.data(), 2));
  EXPECT_DOUBLE_EQ(s[DriftMethod::kJs],
                   JensenShannonDivergence(a.data(), b.data(), 2));
  EXPECT_DOUBLE_EQ(s[DriftMethod::kLinf], 0.5);
  EXPECT_DOUBLE_EQ(s[DriftMethod::kKs], 0.5);
}

}  // namespace
}  // namespace mlmon
