#include "mlmon/detail/fnv1a.h"

#include <gtest/gtest.h>

#include <string_view>

#include "mlmon/prediction_log.h"

namespace {

using mlmon::detail::Fnv1a64;

// Vectors from the FNV reference test suite (Noll, "FNV test vectors",
// 64-bit FNV-1a).
static_assert(Fnv1a64("") == 0xcbf29ce484222325ull, "empty input");
static_assert(Fnv1a64("a") == 0xaf63dc4c8601ec8cull, "one byte");
static_assert(Fnv1a64("foobar") == 0x85944171f73967e8ull, "six bytes");

TEST(Fnv1aTest, MatchesReferenceVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("b"), 0xaf63df4c8601f1a5ull);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(Fnv1aTest, BytesAboveSeventyFAreUnsigned) {
  // A byte >= 0x80 is xored in as 0..255, not sign-extended.
  constexpr std::string_view kHigh("\xff", 1);
  EXPECT_EQ(Fnv1a64(kHigh),
            (0xcbf29ce484222325ull ^ 0xffull) * 0x100000001b3ull);
}

TEST(Fnv1aTest, IsThePredictionLogSamplingHash) {
  for (std::string_view id : {"", "req-1", "a much longer request id 42"}) {
    EXPECT_EQ(mlmon::PredictionLog::IdHash(id), Fnv1a64(id)) << id;
  }
}

}  // namespace
