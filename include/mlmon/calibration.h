#ifndef MLMON_CALIBRATION_H_
#define MLMON_CALIBRATION_H_

/// \file
/// Calibration maps: a monotone map from a binary model's score to the
/// probability that the outcome is positive, fitted on training lines with
/// outcomes by isotonic regression (pool-adjacent-violators). Performance
/// estimation without labels (CBPE) reads live scores through it.

#include <cstddef>
#include <string>
#include <vector>

namespace mlmon {

/// A piecewise-linear, non-decreasing map given by its knots, evaluated like
/// scikit-learn's `IsotonicRegression(out_of_bounds="clip")`: a score below
/// `x.front()` maps to `y.front()`, above `x.back()` to `y.back()`, and in
/// between by linear interpolation of the two knots around it.
///
/// Thread safety: a value type (thread-compatible).
struct CalibrationMap {
  /// Knot scores, strictly increasing, finite.
  std::vector<double> x;
  /// Knot probabilities, non-decreasing, in [0, 1]; as many as `x`.
  std::vector<double> y;

  /// Most knots a map may have (a fit or a profile with more is refused).
  static constexpr std::size_t kMaxKnots = 10000;

  /// True when the map has no knots (no calibration).
  bool empty() const noexcept { return x.empty(); }
  /// The calibrated probability of `score`. REQUIRES: !empty(), score not
  /// NaN.
  double operator()(double score) const noexcept;
};

/// One training example: the score and the outcome (0 or 1).
struct ScoredOutcome {
  double score = 0;
  double outcome = 0;
};

/// Fits an increasing isotonic regression of outcome on score, as
/// scikit-learn's `IsotonicRegression(increasing=True,
/// out_of_bounds="clip").fit(scores, outcomes)` does: examples sorted by
/// score, equal scores merged into their mean outcome (weighted by their
/// count), blocks pooled while adjacent means violate the order
/// (pool-adjacent-violators), and each run of equal fitted values kept only
/// by its first and last knot.
/// \throw mlmon::ConfigError if `examples` is empty, holds a non-finite
/// score or an outcome other than 0 or 1 (naming the index and the value),
/// or if the fit has more than `CalibrationMap::kMaxKnots` knots.
CalibrationMap FitIsotonic(std::vector<ScoredOutcome> examples);

/// Checks `map`: as many `y` as `x`, at most `kMaxKnots` knots, `x` finite
/// and strictly increasing, `y` in [0, 1] and non-decreasing. An empty map
/// is valid.
/// \throw mlmon::ConfigError naming `where` and the bad knot
/// (`<where>.x[3]`) with its value.
void CheckCalibration(const CalibrationMap& map, const std::string& where);

}  // namespace mlmon

#endif  // MLMON_CALIBRATION_H_
