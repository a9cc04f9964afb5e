#ifndef MLMON_SHADOW_COMPARISON_H_
#define MLMON_SHADOW_COMPARISON_H_

/// \file
/// Shadow comparison: a champion and a challenger version of one model score
/// the same request; how often their decisions agree and how far apart
/// their outputs are, with no ground truth needed.

#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/registry.h"

namespace mlmon {

/// Bounds of `mlmon_shadow_absolute_difference` by default, suited to scores
/// in [0, 1]: 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.
const std::vector<double>& DefaultShadowDifferenceBuckets();

/// Set-up options of a `ShadowComparison`. Validated by its constructor.
struct ShadowComparisonOptions {
  /// What the two versions output.
  enum class Task {
    /// A score in [0, 1] each (`RecordScores`): decision agreement per
    /// threshold and the absolute difference of the scores.
    kBinary,
    /// A class label each (`RecordLabels`): label agreement.
    kMulticlass,
    /// A value each (`RecordScores`): the absolute difference.
    kRegression,
  };

  Task task = Task::kBinary;
  /// Binary decision thresholds, each in (0, 1), distinct, at least one and
  /// at most `kMaxThresholds`: a version decides positive iff
  /// `score >= threshold` (scikit-learn's rule, as in
  /// `OutcomeSpec::thresholds`). Ignored by the other tasks.
  std::vector<double> thresholds = {0.5};
  /// Bounds of `mlmon_shadow_absolute_difference` (binary and regression):
  /// non-empty, finite, strictly increasing. Regression models set them in
  /// the units of their output.
  std::vector<double> difference_buckets = DefaultShadowDifferenceBuckets();

  static constexpr std::size_t kMaxThresholds = 16;
};

/// Compares a challenger version with the champion on the same requests.
/// Exports, with labels `model`, `version` (the champion's) and
/// `challenger` first:
///
/// - `mlmon_shadow_comparisons_total`: requests compared (both outputs
///   valid);
/// - `mlmon_shadow_disagreements_total{threshold}`: binary, one series per
///   threshold (label as `fmt::format("{}", t)`, like
///   `mlmon_confusion_total`): one side decided `score >= threshold` and the
///   other not; multiclass, `threshold=""`: the labels differ. Regression has
///   no series. Disagreement ratio = this / `mlmon_shadow_comparisons_total`;
/// - `mlmon_shadow_absolute_difference` (histogram on `difference_buckets`,
///   binary and regression): |champion - challenger|.
///
/// Every series exists, at 0, from construction. A refused call records
/// nothing and counts one drop in the champion's
/// `mlmon_dropped_total{reason}`: `nan` or `inf` when an output is not
/// finite (the champion's checked first), `inf` also when the absolute
/// difference of two finite values overflows; `invalid_value` for a binary
/// score outside [0, 1], an empty label, or a call that does not fit the
/// task (`RecordLabels` on a score task, `RecordScores` on multiclass).
///
/// Ownership: destroying the comparison removes its series from the
/// registry; one comparison per (model, champion, challenger) and registry.
/// Thread safety: thread-safe.
/// Hot path: `RecordScores` and `RecordLabels` are noexcept, lock-free,
/// allocation-free and never log.
///
/// **Example**:
///
///     mlmon::ShadowComparison shadow(registry, "fraud", "3", "4", {});
///     shadow.RecordScores(champion_score, challenger_score);
class ShadowComparison {
 public:
  /// \throw mlmon::ConfigError if `model`, `version` or `challenger` is
  /// empty, `challenger == version`, or `options` is invalid.
  ShadowComparison(Registry& registry, std::string model, std::string version,
                   std::string challenger, ShadowComparisonOptions options);
  /// Removes the comparison's series from the registry's exposition.
  /// REQUIRES: no call on it runs.
  ~ShadowComparison();
  ShadowComparison(const ShadowComparison&) = delete;
  ShadowComparison& operator=(const ShadowComparison&) = delete;

  /// Binary and regression: the champion's and the challenger's output for
  /// one request.
  void RecordScores(double champion, double challenger) noexcept;

  /// Multiclass: the champion's and the challenger's label for one request.
  /// The views need to live only for the call.
  void RecordLabels(std::string_view champion,
                    std::string_view challenger) noexcept;

  const std::string& model() const noexcept { return model_; }
  const std::string& version() const noexcept { return version_; }
  const std::string& challenger() const noexcept { return challenger_; }
  ShadowComparisonOptions::Task task() const noexcept { return task_; }

 private:
  void Bind(Registry& registry);

  // First: destroyed after every instrument it bound.
  std::unique_ptr<internal::SeriesOwner> owner_;
  std::string model_, version_, challenger_;
  ShadowComparisonOptions::Task task_;
  std::vector<double> thresholds_;
  std::vector<double> difference_buckets_;
  detail::DropSink* drops_ = nullptr;
  Counter* comparisons_ = nullptr;
  // Binary: one per threshold, in the order of `thresholds_`; multiclass:
  // one (threshold ""); regression: none.
  std::vector<Counter*> disagreements_;
  Histogram* difference_ = nullptr;  // binary and regression
};

}  // namespace mlmon

#endif  // MLMON_SHADOW_COMPARISON_H_
