#ifndef MLMON_TESTS_TESTING_REFERENCE_DATA_H_
#define MLMON_TESTS_TESTING_REFERENCE_DATA_H_

// The reference values tests compare against (tests/data/*.json, written by
// tests/sklearn_reference.py), and the relative comparison they use.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace mlmon {
namespace testutil {

// tests/data/<name>, parsed; a missing file fails the test.
inline nlohmann::json LoadReference(const std::string& name) {
  std::ifstream in(std::string(MLMON_SOURCE_DIR) + "/tests/data/" + name);
  EXPECT_TRUE(in.good()) << "run tests/sklearn_reference.py";
  return nlohmann::json::parse(in);
}

// `actual` equals `expected` to 1e-9, relative above 1 and absolute below.
inline void ExpectRel(double actual, double expected, const char* what) {
  EXPECT_NEAR(actual, expected, 1e-9 * std::max(1.0, std::fabs(expected)))
      << what;
}

}  // namespace testutil
}  // namespace mlmon

#endif  // MLMON_TESTS_TESTING_REFERENCE_DATA_H_
