#ifndef MLMON_PERFORMANCE_ESTIMATION_H_
#define MLMON_PERFORMANCE_ESTIMATION_H_

/// \file
/// Performance estimation without labels (confidence-based performance
/// estimation, CBPE) for binary models. Each prediction's calibrated
/// probability p_i = calibration(score_i) stands for its unknown outcome;
/// at a threshold t a prediction is decided positive when score_i >= t, and
///
///     TP = sum over decided 1 of p_i        FP = sum over decided 1 of 1 - p_i
///     FN = sum over decided 0 of p_i        TN = sum over decided 0 of 1 - p_i
///
/// give precision TP / (TP + FP), recall TP / (TP + FN), f1 2 TP / (2 TP +
/// FP + FN) and accuracy (TP + TN) / n. The estimated ROC AUC is the AUC of
/// the data set where each prediction counts as a positive with weight p_i
/// and as a negative with weight 1 - p_i (ties, the two copies of one
/// prediction included, count one half, as scikit-learn's
/// `roc_auc_score(..., sample_weight=...)` on that data set). Undefined
/// values (no prediction; no decided positive for precision; expected
/// positives or negatives 0 for recall and AUC) are NaN.
///
/// The estimate assumes the calibration still holds: P(outcome | score) is
/// the training one. A shift in who is scored (the score distribution) shows
/// in it; a model whose scores no longer mean what they meant at training
/// (e.g. inverted) does not.

#include <cstddef>
#include <vector>

#include "mlmon/calibration.h"

namespace mlmon {

/// The estimate at one decision threshold.
struct ThresholdEstimate {
  double threshold = 0;
  /// Predictions decided positive (score >= threshold): a count, not an
  /// estimate.
  double predicted_positives = 0;
  double precision = 0, recall = 0, f1 = 0, accuracy = 0;
};

/// The estimate over one set of predictions.
struct PerformanceEstimate {
  double samples = 0;  ///< predictions
  double auc = 0;
  std::vector<ThresholdEstimate> at;  ///< one per threshold, in their order
};

/// Exact estimate from the scores themselves (`mlmon replay`).
/// REQUIRES: `calibration` not empty; scores finite.
PerformanceEstimate EstimatePerformance(std::vector<double> scores,
                                        const CalibrationMap& calibration,
                                        const std::vector<double>& thresholds);

/// The estimate from counts of scores in `bins` equal-width bins on [0, 1]
/// (bin j holds [j / bins, (j + 1) / bins), the last one also 1): the live
/// path's windows, at tick time, with no cost per prediction.
///
/// Each score is replaced by its bin: its probability by the calibration of
/// the bin's midpoint, and its decision by the bin's. Error bounds against
/// `EstimatePerformance` on the same scores:
///   - decisions are exact when `threshold * bins` is an integer (any
///     threshold that is a multiple of 0.0005 with 2000 bins); otherwise the
///     scores of the bin holding the threshold that are below it (less than
///     one bin width) count as decided positive;
///   - each p_i is off by at most the rise of the calibration across its
///     bin, `step(j) = calibration(hi_j) - calibration(lo_j)` (the map is
///     monotone), so TP, FP, FN, TN move by at most the sum over the
///     window's scores of step(bin); precision and accuracy (whose
///     denominators are exact counts) by at most the mean of step(bin) over
///     the decided-positive scores and over all scores, respectively. An
///     isotonic map rises in steps, so `max_step()` alone can be large
///     (0.086 on the test data's map) while the mean over a window is small;
///   - the AUC also counts pairs within one bin as ties (one half).
/// The tests check these bounds and measure the whole difference on
/// generated data (the figure is in docs/metrics.md).
///
/// Thread safety: `Estimate` is const and allocation-free once `out` holds
/// as many thresholds (thread-compatible).
class BinnedPerformanceEstimator {
 public:
  /// REQUIRES: bins >= 1; `calibration` not empty and valid; thresholds in
  /// (0, 1).
  BinnedPerformanceEstimator(std::size_t bins,
                             const CalibrationMap& calibration,
                             std::vector<double> thresholds);

  /// `counts` has `bins()` entries, ascending by score.
  void Estimate(const double* counts, PerformanceEstimate* out) const noexcept;

  std::size_t bins() const noexcept { return p_.size(); }
  const std::vector<double>& thresholds() const noexcept { return thresholds_; }
  /// The rise of the calibration across bin `j`.
  double step(std::size_t j) const noexcept { return steps_[j]; }
  /// The largest rise of the calibration across one bin.
  double max_step() const noexcept { return max_step_; }

 private:
  std::vector<double> p_;      // calibrated midpoint per bin
  std::vector<double> steps_;  // rise of the calibration per bin
  std::vector<double> thresholds_;
  std::vector<std::size_t> first_;  // first bin decided positive, per threshold
  double max_step_ = 0;
};

}  // namespace mlmon

#endif  // MLMON_PERFORMANCE_ESTIMATION_H_
