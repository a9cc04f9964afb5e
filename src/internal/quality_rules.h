#ifndef MLMON_SRC_INTERNAL_QUALITY_RULES_H_
#define MLMON_SRC_INTERNAL_QUALITY_RULES_H_

/// \file
/// The fleet quality recording rules of `mlmon rules` beyond precision,
/// recall, MAE and RMSE: each value is computed from raw counters summed over
/// replicas (a ratio of sums of rates), never from per-replica ratios.
/// Private (never installed).

#include <string>
#include <utility>
#include <vector>

#include "mlmon/monitor_spec.h"

namespace mlmon {
namespace internal {

/// One recording rule: its name, PromQL, static labels and the comment
/// written above it (empty for none).
struct QualityRule {
  std::string record;
  std::string expr;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string comment;
};

/// The windows of the binary ratio rules: `1h`, and the window of
/// `slo.min_precision` when it is another one.
std::vector<std::string> FleetRuleWindows(const MonitorSpec& spec);

/// The fleet rules of `spec`'s task, in evaluation order (a rule may read
/// an earlier one of the list):
/// - binary: `mlmon:accuracy:rate<w>` per threshold, `mlmon:brier:rate1h`,
///   `mlmon:log_loss:rate1h`, and the ROC AUC from the score histograms,
///   `mlmon:auc:rate1h`, with its worst-case error `mlmon:auc_error_bound:
///   rate1h` (through `mlmon:outcome_score_bucket:rate1h` and
///   `mlmon:outcome_score_bucket_below:rate1h`);
/// - multiclass: `mlmon:accuracy:rate1h`, and `mlmon:macro_precision:
///   rate1h`, `mlmon:macro_recall:rate1h`, `mlmon:macro_f1:rate1h` (through
///   `mlmon:class_true_positives:rate1h`, `mlmon:class_predictions:rate1h`
///   and `mlmon:class_outcomes:rate1h`, by `class`);
/// - ranking: `mlmon:hit_rate:rate1h{k}` for each k that a bound of
///   `mlmon_outcome_rank` resolves, and `mlmon:mrr:rate1h`;
/// - regression: `mlmon:absolute_percentage_error:mape_rate1h` (MAE and RMSE
///   are rules.cc's).
std::vector<QualityRule> FleetQualityRules(const MonitorSpec& spec);

/// The smallest number of predicted positives (for precision) or actual
/// positives (for recall) a segment needs in the window, at a threshold, for
/// its `mlmon:segment_precision` (or `_recall`) to be recorded: below it one
/// tiny segment's noise would set the gap and page.
inline constexpr int kSegmentMinPositives = 30;

/// The window of `MlmonSegmentGapHigh` and of the dashboard's segment panels:
/// the longest of `FleetRuleWindows(spec)` (segments see a fraction of the
/// traffic, so the longest window is the least noisy).
std::string SegmentGapWindow(const MonitorSpec& spec);

/// The per-segment rules of a binary task with `segments:` (else none), for
/// each window w of `FleetRuleWindows(spec)`, from `mlmon_confusion_total`
/// summed over replicas, without `segment=""` (predictions without one):
/// - `mlmon:segment_precision:rate<w>` and `mlmon:segment_recall:rate<w>` by
///   (model, version, segment, threshold), recorded only where the segment
///   had at least `kSegmentMinPositives` predicted (resp. actual) positives
///   in the window;
/// - `mlmon:segment_precision_gap:rate<w>` and `mlmon:segment_recall_gap:
///   rate<w>` by (model, version, threshold): best minus worst of those.
std::vector<QualityRule> SegmentQualityRules(const MonitorSpec& spec);

/// How a Prometheus server stores the `le` label of a scraped bucket of
/// upper bound `v`: Prometheus 3 rewrites it to the OpenMetrics form (Go's
/// shortest `%g`, with `.0` appended to an integer: `1` becomes `1.0`);
/// Prometheus 2 keeps the text as scraped, which for mlmon is
/// `internal::AppendValue`'s.
std::string OpenMetricsFloat(double v);

/// A label matcher on `le` that selects the bucket of bound `v` in either
/// form: `le="0.05"`, or `le=~"1|1\\.0"` when the two differ.
std::string LeMatcher(double v);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_QUALITY_RULES_H_
