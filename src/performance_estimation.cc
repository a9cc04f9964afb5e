#include "mlmon/performance_estimation.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mlmon {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Ratio(double num, double den) { return den > 0 ? num / den : kNaN; }

// The metrics of one threshold from the sums above and below it:
// decided = predictions decided 1, tp = their sum of p, expected = sum of p
// over all n predictions.
void Fill(double n, double decided, double tp, double expected,
          ThresholdEstimate* e) {
  const double fp = decided - tp;
  const double fn = expected - tp;
  const double tn = (n - decided) - fn;
  e->predicted_positives = decided;
  e->precision = Ratio(tp, decided);
  e->recall = Ratio(tp, expected);
  e->f1 = Ratio(2 * tp, 2 * tp + fp + fn);
  e->accuracy = Ratio(tp + tn, n);
}

// Accumulates the AUC of weighted groups given in ascending score order.
struct AucSum {
  double pos = 0, neg = 0, pairs = 0;
  void Add(double w_pos, double w_neg) {
    // Positives of this group above every negative below it, ties one half.
    pairs += w_pos * (neg + 0.5 * w_neg);
    pos += w_pos;
    neg += w_neg;
  }
  double Value() const {
    return pos > 0 && neg > 0 ? pairs / (pos * neg) : kNaN;
  }
};

}  // namespace

PerformanceEstimate EstimatePerformance(std::vector<double> scores,
                                        const CalibrationMap& calibration,
                                        const std::vector<double>& thresholds) {
  std::sort(scores.begin(), scores.end());
  const double n = static_cast<double>(scores.size());
  std::vector<double> p(scores.size());
  double expected = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    p[i] = calibration(scores[i]);
    expected += p[i];
  }
  PerformanceEstimate out;
  out.samples = n;
  AucSum auc;
  for (std::size_t i = 0; i < scores.size();) {
    double w_pos = 0, w_neg = 0;
    std::size_t j = i;
    for (; j < scores.size() && scores[j] == scores[i]; ++j) {
      w_pos += p[j];
      w_neg += 1 - p[j];
    }
    auc.Add(w_pos, w_neg);
    i = j;
  }
  out.auc = auc.Value();
  for (double t : thresholds) {
    ThresholdEstimate e;
    e.threshold = t;
    double decided = 0, tp = 0;
    const std::size_t first = static_cast<std::size_t>(
        std::lower_bound(scores.begin(), scores.end(), t) - scores.begin());
    for (std::size_t i = first; i < scores.size(); ++i) {
      decided += 1;
      tp += p[i];
    }
    Fill(n, decided, tp, expected, &e);
    out.at.push_back(e);
  }
  return out;
}

BinnedPerformanceEstimator::BinnedPerformanceEstimator(
    std::size_t bins, const CalibrationMap& calibration,
    std::vector<double> thresholds)
    : p_(bins), steps_(bins), thresholds_(std::move(thresholds)) {
  const double b = static_cast<double>(bins);
  for (std::size_t j = 0; j < bins; ++j) {
    const double lo = static_cast<double>(j) / b;
    const double hi = static_cast<double>(j + 1) / b;
    p_[j] = calibration((static_cast<double>(j) + 0.5) / b);
    steps_[j] = calibration(hi) - calibration(lo);
    max_step_ = std::max(max_step_, steps_[j]);
  }
  for (double t : thresholds_) {
    // The bin a score equal to t lands in (as ResponseDistribution bins it):
    // every score >= t is in it or above.
    first_.push_back(std::min(bins, static_cast<std::size_t>(t * b)));
  }
}

void BinnedPerformanceEstimator::Estimate(
    const double* counts, PerformanceEstimate* out) const noexcept {
  const std::size_t bins = p_.size();
  double n = 0, expected = 0;
  AucSum auc;
  for (std::size_t j = 0; j < bins; ++j) {
    const double pos = counts[j] * p_[j];
    n += counts[j];
    expected += pos;
    if (counts[j] > 0) auc.Add(pos, counts[j] - pos);
  }
  out->samples = n;
  out->auc = auc.Value();
  out->at.resize(thresholds_.size());  // no allocation once sized
  for (std::size_t k = 0; k < thresholds_.size(); ++k) {
    double decided = 0, tp = 0;
    for (std::size_t j = first_[k]; j < bins; ++j) {
      decided += counts[j];
      tp += counts[j] * p_[j];
    }
    ThresholdEstimate& e = out->at[k];
    e.threshold = thresholds_[k];
    Fill(n, decided, tp, expected, &e);
  }
}

}  // namespace mlmon
