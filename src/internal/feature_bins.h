#ifndef MLMON_SRC_INTERNAL_FEATURE_BINS_H_
#define MLMON_SRC_INTERNAL_FEATURE_BINS_H_

/// \file
/// The bucket searches of `FeatureMonitor::Observe`: the magnitude
/// histogram's bucket by table look-up, and a branch-free count of the
/// value histogram's bounds below a value. Private (never installed).

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace mlmon {
namespace internal {

// The magnitude histogram's bucket of a finite x != 0: the index of
// `MagnitudeDecade(x)` on `DefaultLog10Bounds()` (decade k -> bucket k + 9,
// 13 (+Inf) -> 22), with one table look-up and one compare instead of a
// loop. A binade [2^e, 2^(e+1)) spans log10(2) < 1 decade, so it holds at
// most one of the bounds 10^-9 .. 10^12: values up to it get the binade's
// first decade, values above it the next one. Binades below 2^-31 (all
// <= 1e-9) share the first entry, binades from 2^40 (all > 1e12) the last.
// `tests/feature_monitor_test.cc` checks it against `MagnitudeDecade`.
struct MagnitudeEntry {
  double threshold;     // the bound inside the binade, or +inf
  std::int64_t bucket;  // bucket of values <= threshold
};
inline constexpr int kMinBinade = -31, kMaxBinade = 40;
inline constexpr int kBinades = kMaxBinade - kMinBinade + 1;
inline constexpr std::size_t kMagnitudeSum = 23;  // cell of the magnitude sum
struct MagnitudeTable {
  MagnitudeEntry e[kBinades];
};
constexpr MagnitudeTable MakeMagnitudeTable() {
  // The same double constants as MagnitudeDecade's table.
  constexpr double kPow10[22] = {1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2,
                                 1e-1, 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                 1e7,  1e8,  1e9,  1e10, 1e11, 1e12};
  MagnitudeTable t{};
  double lo = 1.0;  // 2^kMinBinade, exactly
  for (int i = 0; i < -kMinBinade; ++i) lo /= 2;
  for (int i = 0; i < kBinades; ++i, lo *= 2) {
    // MagnitudeDecade(lo): the first bound >= lo, or 13 (bucket 22).
    std::int64_t bucket = 22;
    for (int k = 21; k >= 0; --k) {
      if (lo <= kPow10[k]) bucket = k;
    }
    double threshold = std::numeric_limits<double>::infinity();
    if (bucket < 22 && kPow10[bucket] < 2 * lo) threshold = kPow10[bucket];
    t.e[i] = {threshold, bucket};
  }
  return t;
}
inline constexpr MagnitudeTable kMagnitudeTable = MakeMagnitudeTable();

inline std::size_t MagnitudeBucket(double x) noexcept {
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits &= ~(std::uint64_t{1} << 63);  // |x|
  double a;
  std::memcpy(&a, &bits, sizeof a);
  int i = static_cast<int>(bits >> 52) - 1023 - kMinBinade;
  i = i < 0 ? 0 : i;
  i = i > kBinades - 1 ? kBinades - 1 : i;
  const MagnitudeEntry& e = kMagnitudeTable.e[i];
  return static_cast<std::size_t>(e.bucket + (a > e.threshold));
}

// The number of `bounds` below v, i.e. the index of the first bound >= v
// (`Histogram::BucketOf`). `padded` is even, the padding is +inf. A
// branch-free count (the bucket is as unpredictable as the data, so a
// search mispredicts about once per step); beyond 32 bounds a branch-free
// binary search.
inline std::size_t CountBelow(const double* bounds, std::size_t padded,
                              double v) noexcept {
  if (__builtin_expect(padded <= 32, 1)) {
#if defined(__SSE2__) && defined(__x86_64__)  // _mm_cvtsi128_si64: x86-64
    const __m128d vv = _mm_set1_pd(v);
    __m128i acc = _mm_setzero_si128();
    for (std::size_t i = 0; i < padded; i += 2) {
      // All ones (-1) per lane where bound < v.
      acc = _mm_sub_epi64(
          acc, _mm_castpd_si128(_mm_cmplt_pd(_mm_loadu_pd(bounds + i), vv)));
    }
    return static_cast<std::size_t>(
        _mm_cvtsi128_si64(acc) +
        _mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc)));
#else
    std::size_t count = 0;
    for (std::size_t i = 0; i < padded; ++i) count += bounds[i] < v;
    return count;
#endif
  }
  const double* base = bounds;
  std::size_t len = padded;
  while (len > 1) {
    const std::size_t half = len / 2;
    base +=
        half & (std::size_t{0} - static_cast<std::size_t>(base[half - 1] < v));
    len -= half;
  }
  return static_cast<std::size_t>(base - bounds) + (*base < v);
}

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_FEATURE_BINS_H_
