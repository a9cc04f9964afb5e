#ifndef MLMON_REFERENCE_PROFILE_H_
#define MLMON_REFERENCE_PROFILE_H_

/// \file
/// Reference profiles: the training distribution of each monitored signal
/// (the score, each feature), which drift is measured against. Stored as JSON
/// (format documented in docs/reference-profile.md):
///
///     {"format": "mlmon-reference/1",
///      "model": "fraud",
///      "signals": {
///        "score": {"type": "numeric", "bounds": [0.05, 0.1, ...],
///                  "counts": [12, 40, ..., 3]},
///        "amount_usd": {"type": "numeric", "bounds": [...], "counts": [...],
///                       "log10_bounds": [...], "log10_counts": [...]},
///        "country": {"type": "categorical",
///                    "counts": {"US": 1200, "DE": 300}}},
///      "calibration": {"x": [0.01, 0.4, 0.93], "y": [0.0, 0.25, 1.0]}}
///
/// Numeric bins follow Prometheus histograms: `bounds` are upper bounds
/// (inclusive), `+Inf` is implicit, so `counts` has `bounds.size() + 1`
/// entries (the last one counts values above the last bound).
/// `log10_bounds`/`log10_counts` (optional) bin log10(|x|) of non-zero values
/// the same way (the magnitude profile that exposes unit changes).
/// `calibration` (optional) is the knots of the score's calibration map
/// (calibration.h).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "mlmon/calibration.h"

namespace mlmon {

/// One numeric binning: upper bounds and counts (bounds.size() + 1).
struct BinnedCounts {
  std::vector<double> bounds;
  std::vector<double> counts;
};

/// The reference distribution of one signal.
struct SignalProfile {
  enum class Type { kNumeric, kCategorical };
  Type type = Type::kNumeric;
  BinnedCounts numeric;                      ///< kNumeric
  BinnedCounts log10;                        ///< kNumeric, optional (empty)
  std::map<std::string, double> categories;  ///< kCategorical
};

/// A whole reference profile.
///
/// Thread safety: a value type (thread-compatible).
struct ReferenceProfile {
  std::string model;
  std::map<std::string, SignalProfile> signals;
  /// Binary models: the score's calibration map fitted on training outcomes
  /// (`"calibration": {"x": [...], "y": [...]}`); empty when the training
  /// lines had no outcomes. Read by performance estimation (CBPE).
  CalibrationMap calibration;

  /// Largest profile file or text accepted (64 MiB).
  static constexpr std::size_t kMaxBytes = 64u << 20;
  /// Deepest nesting of JSON arrays and objects accepted (the documented
  /// format needs 4 levels).
  static constexpr std::size_t kMaxDepth = 64;
  /// Longest category name of a categorical signal, in bytes.
  static constexpr std::size_t kMaxCategoryBytes = 256;
  /// Most categories of one categorical signal.
  static constexpr std::size_t kMaxCategories = 100000;

  /// \throw mlmon::ConfigError naming the file and the bad field (bad JSON,
  /// unknown format, counts/bounds size mismatch, negative or non-finite
  /// counts, bounds not strictly increasing, unknown type, a calibration
  /// knot out of order or range), and when the
  /// file is not a regular file, is larger than `kMaxBytes`, nests deeper
  /// than `kMaxDepth`, or has a category name longer than
  /// `kMaxCategoryBytes` or more than `kMaxCategories` categories in one
  /// signal. Never throws anything else: out of memory while parsing is a
  /// ConfigError too. Values quoted in messages are cut to 80 bytes.
  static ReferenceProfile Load(const std::string& path);
  /// The same, from JSON text; `source` names it in messages.
  /// \throw mlmon::ConfigError as `Load` (no file checks).
  static ReferenceProfile Parse(const std::string& json,
                                const std::string& source = "<string>");
  /// JSON text in the documented format (stable key order).
  std::string ToJson() const;
  /// Writes `ToJson()` to `path` atomically (temporary file + rename).
  /// \throw mlmon::ConfigError if the file cannot be written.
  void Save(const std::string& path) const;

  /// The numeric profile of `signal` checked against the configured bounds.
  /// \throw mlmon::ConfigError naming the signal if it is missing, not
  /// numeric, or binned on other bounds than `bounds`.
  const BinnedCounts& NumericFor(const std::string& signal,
                                 const std::vector<double>& bounds) const;
  /// The categorical profile of `signal`.
  /// \throw mlmon::ConfigError naming the signal if missing or not
  /// categorical.
  const std::map<std::string, double>& CategoriesFor(
      const std::string& signal) const;
};

/// Bounds of the log10-magnitude histogram of numeric features: integer
/// decades -9 .. 12 (a value x != 0 lands in the bin of log10(|x|)).
const std::vector<double>& DefaultLog10Bounds();

/// The decade of a value for the magnitude histogram: the smallest integer k
/// in [-9, 12] with |x| <= 10^k, or 13 above 10^12. Observing k puts |x| in
/// the same bin of `DefaultLog10Bounds()` as log10(|x|) would (up to the
/// rounding of 10^k), without computing a logarithm: the binary exponent
/// gives a first guess that is never too high, and at most a few compares
/// with powers of ten finish it. REQUIRES: x != 0 and finite.
inline double MagnitudeDecade(double x) noexcept {
  static constexpr double kPow10[22] = {
      1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0,  1e1,
      1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12};
  const double a = x < 0 ? -x : x;
  std::uint64_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  const int e2 = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  // floor(e2 * log10(2)) from below (78913 / 2^18 < log10(2)): a >= 2^e2 >=
  // 10^k, so the decade is k or above.
  int k = (e2 * 78913) >> 18;
  if (k < -9) k = -9;
  if (k > 13) k = 13;
  while (k <= 12 && a > kPow10[k + 9]) ++k;
  return static_cast<double>(k);
}

}  // namespace mlmon

#endif  // MLMON_REFERENCE_PROFILE_H_
