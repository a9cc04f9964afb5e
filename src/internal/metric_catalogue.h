#ifndef MLMON_SRC_INTERNAL_METRIC_CATALOGUE_H_
#define MLMON_SRC_INTERNAL_METRIC_CATALOGUE_H_

/// \file
/// The metric catalogue: every family mlmon can export (name, instrument,
/// label names in order, unit, HELP), defined once. Code registers a family
/// through `AddFamily(registry, metrics::kX, ...)`, so its name, labels and
/// HELP come from here; `docs/metrics.md` is checked against this table and
/// a test compares a full exposition with it. Private (never installed).
///
/// Adding a metric: add a `metrics::k...` row below, list it in
/// `kMetricCatalogue`, register it with `AddFamily`, and document it in the
/// table of its component in `docs/metrics.md`.

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/registry.h"
#include "registry_names.h"

namespace mlmon {
namespace internal {

/// The instrument of a family's series. `kGauge` and `kUpDownGauge` are both
/// `gauge` in the exposition.
enum class Instrument { kCounter, kGauge, kUpDownGauge, kHistogram };

template <typename T>
constexpr Instrument InstrumentOf();
template <>
constexpr Instrument InstrumentOf<Counter>() {
  return Instrument::kCounter;
}
template <>
constexpr Instrument InstrumentOf<Gauge>() {
  return Instrument::kGauge;
}
template <>
constexpr Instrument InstrumentOf<UpDownGauge>() {
  return Instrument::kUpDownGauge;
}
template <>
constexpr Instrument InstrumentOf<Histogram>() {
  return Instrument::kHistogram;
}

constexpr MetricType ExpositionType(Instrument i) {
  switch (i) {
    case Instrument::kCounter:
      return MetricType::kCounter;
    case Instrument::kHistogram:
      return MetricType::kHistogram;
    case Instrument::kGauge:
    case Instrument::kUpDownGauge:
      break;
  }
  return MetricType::kGauge;
}

/// "counter", "gauge" or "histogram", as the `# TYPE` line writes it.
constexpr std::string_view ExpositionTypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kGauge:
      break;
  }
  return "gauge";
}

/// Label names of a family, in exposition order; at most `kMaxLabels`
/// (more does not compile).
class LabelNames {
 public:
  static constexpr std::size_t kMaxLabels = 7;

  constexpr LabelNames(std::initializer_list<std::string_view> names) {
    for (std::string_view n : names) names_[size_++] = n;
  }
  constexpr std::size_t size() const { return size_; }
  constexpr std::string_view operator[](std::size_t i) const {
    return names_[i];
  }
  constexpr const std::string_view* begin() const { return names_.data(); }
  constexpr const std::string_view* end() const {
    return names_.data() + size_;
  }
  /// As `Registry::Add*` takes them.
  std::vector<std::string> ToVector() const {
    return std::vector<std::string>(begin(), end());
  }

 private:
  std::array<std::string_view, kMaxLabels> names_{};
  std::size_t size_ = 0;
};

/// One row of the catalogue.
struct MetricDef {
  std::string_view name;
  Instrument instrument;
  LabelNames labels;
  /// The base unit the name ends in (`seconds`, `bytes`), before `_total`;
  /// empty for counts, ratios and values in the model's own units.
  std::string_view unit;
  /// The `# HELP` text.
  std::string_view help;

  constexpr MetricType type() const { return ExpositionType(instrument); }
};

/// A row whose instrument is the type `T` (`Counter`, `Gauge`,
/// `UpDownGauge`, `Histogram`), so that `AddFamily` returns `Family<T>&`.
template <typename T>
struct MetricOf {
  constexpr MetricOf(std::string_view name, LabelNames labels,
                     std::string_view unit, std::string_view help)
      : def{name, InstrumentOf<T>(), labels, unit, help} {}
  MetricDef def;
};

namespace metrics {

// Golden signals (GoldenSignals, Endpoint).
inline constexpr MetricOf<Counter> kRequestsTotal{
    "mlmon_requests_total",
    {"model", "version", "endpoint", "status"},
    "",
    "Requests served, by endpoint and status."};
inline constexpr MetricOf<Counter> kRequestErrorsTotal{
    "mlmon_request_errors_total",
    {"model", "version", "endpoint", "reason"},
    "",
    "Failed requests by endpoint and reason ('exception' when an exception "
    "left the guarded call)."};
inline constexpr MetricOf<Histogram> kRequestDurationSeconds{
    "mlmon_request_duration_seconds",
    {"model", "version", "endpoint"},
    "seconds",
    "Time to serve a request, in seconds."};
inline constexpr MetricOf<UpDownGauge> kRequestsInFlight{
    "mlmon_requests_in_flight",
    {"model", "version", "endpoint"},
    "",
    "Requests being served right now."};
inline constexpr MetricOf<Gauge> kQueueDepth{
    "mlmon_queue_depth",
    {"model", "version"},
    "",
    "Requests waiting to be served, as set by the host."};
inline constexpr MetricOf<Gauge> kModelInfo{
    "mlmon_model_info",
    {"model", "version", "loaded_at"},
    "",
    "Model identity; always 1. loaded_at is the Unix time the monitor was "
    "created."};
inline constexpr MetricOf<Gauge> kModelLoadedTimestampSeconds{
    "mlmon_model_loaded_timestamp_seconds",
    {"model", "version"},
    "seconds",
    "Unix time the model version's monitor was created (age = time() - "
    "this)."};

// Response distribution (ResponseDistribution).
inline constexpr MetricOf<Counter> kPredictionsTotal{
    "mlmon_predictions_total",
    {"model", "version", "segment", "class"},
    "",
    "Predictions by class (binary without configured classes: score >= "
    "decision threshold is \"1\"; names not bound at set-up count as "
    "__other__)."};
inline constexpr MetricOf<Counter> kEmptyResponsesTotal{
    "mlmon_empty_responses_total",
    {"model", "version", "segment"},
    "",
    "Empty responses; share = this / mlmon_predictions_total."};
inline constexpr MetricOf<Counter> kSegmentFoldsTotal{
    "mlmon_segment_folds_total",
    {"model", "version", "signal"},
    "",
    "Predictions whose segment value was counted under segment=\"__other__\": "
    "past segments.max_values distinct values, or longer than 32 bytes "
    "(signal: distribution or outcomes)."};
inline constexpr MetricOf<Histogram> kPredictionScore{
    "mlmon_prediction_score",
    {"model", "version", "segment"},
    "",
    "Prediction scores (binary score, regression value)."};
inline constexpr MetricOf<Histogram> kResponseItems{
    "mlmon_response_items",
    {"model", "version"},
    "",
    "Items returned per response (ranking)."};
inline constexpr MetricOf<Gauge> kPredictionScoreWindow{
    "mlmon_prediction_score_window",
    {"model", "version", "stat", "window"},
    "",
    "Prediction score statistics over a sliding window (quantiles from fine "
    "bins, exact mean), recomputed by Tick(); not updated while a window is "
    "empty."};
/// Shared by ResponseDistribution (`signal="score"`) and FeatureMonitor
/// (a feature, or `<feature>:log10`).
inline constexpr MetricOf<Gauge> kDriftScore{
    "mlmon_drift_score",
    {"model", "version", "signal", "method", "window"},
    "",
    "Distance of the current window from the reference distribution, by "
    "signal and method (psi, js, linf, ks)."};
/// The inputs of fleet-wide drift in PromQL (`mlmon rules`): per drift
/// signal, the observations in each of the reference's bins (`bin`
/// "0" .. "B-1"; the +Inf bucket last, or for a categorical feature its known
/// categories, then `unseen`) and the reference's share of each bin. Advanced
/// by Tick(), from the counts the in-process drift reads.
inline constexpr MetricOf<Counter> kDriftBinObservationsTotal{
    "mlmon_drift_bin_observations_total",
    {"model", "version", "signal", "bin"},
    "",
    "Observations of a drift signal in each bin of its reference "
    "distribution (not cumulative; the last bin is +Inf, or unseen for a "
    "categorical feature), advanced by Tick()."};
inline constexpr MetricOf<Gauge> kDriftReferenceShare{
    "mlmon_drift_reference_share",
    {"model", "version", "signal", "bin"},
    "",
    "Share of the reference distribution in each bin of a drift signal "
    "(reference count / reference total)."};

/// Performance estimated without outcomes (CBPE) from the window's scores
/// and the reference's calibration map (ResponseDistribution).
inline constexpr MetricOf<Gauge> kEstimatedQuality{
    "mlmon_estimated_quality",
    {"model", "version", "metric", "threshold", "window"},
    "",
    "Model quality estimated without outcomes from calibrated scores (CBPE: "
    "expected confusion cells), per window, recomputed by Tick(); threshold "
    "is empty for samples and auc; undefined values (an empty window, a "
    "precision with no decided positive, AUC or recall with no expected "
    "positive) are NaN."};

// Outcomes (OutcomeTracker).
inline constexpr MetricOf<Counter> kOutcomesTotal{
    "mlmon_outcomes_total",
    {"model", "version", "segment", "result"},
    "",
    "Outcomes received, by join result (matched, unmatched, duplicate, "
    "invalid)."};
inline constexpr MetricOf<Counter> kPredictionsExpiredTotal{
    "mlmon_predictions_expired_total",
    {"model", "version"},
    "",
    "Predictions whose outcome did not arrive within the TTL."};
inline constexpr MetricOf<UpDownGauge> kPendingPredictions{
    "mlmon_pending_predictions",
    {"model", "version"},
    "",
    "Predictions waiting for an outcome."};
inline constexpr MetricOf<Counter> kPendingEvictedTotal{
    "mlmon_pending_evicted_total",
    {"model", "version"},
    "",
    "Pending predictions evicted because the pending store was full."};
inline constexpr MetricOf<Gauge> kPendingStoreUp{
    "mlmon_pending_store_up",
    {"model", "version"},
    "",
    "1 while the shared pending store (Redis) takes this replica's writes "
    "and look-ups; 0 after a failure, until it answers again."};
inline constexpr MetricOf<Counter> kPendingStoreErrorsTotal{
    "mlmon_pending_store_errors_total",
    {"model", "version", "op"},
    "",
    "Failed operations on the shared pending store, by op (connect, write, "
    "take)."};
inline constexpr MetricOf<Histogram> kOutcomeDelaySeconds{
    "mlmon_outcome_delay_seconds",
    {"model", "version"},
    "seconds",
    "Time from prediction to outcome, in seconds."};
inline constexpr MetricOf<Gauge> kLastOutcomeTimestampSeconds{
    "mlmon_last_outcome_timestamp_seconds",
    {"model", "version"},
    "seconds",
    "Unix time of the latest outcome received."};
inline constexpr MetricOf<Counter> kConfusionTotal{
    "mlmon_confusion_total",
    {"model", "version", "segment", "threshold", "predicted", "actual"},
    "",
    "Matched outcomes by predicted and actual class. Binary: per decision "
    "threshold (score >= threshold is positive), classes \"0\" and \"1\"; "
    "multiclass: threshold is empty."};
inline constexpr MetricOf<Histogram> kOutcomeScore{
    "mlmon_outcome_score",
    {"model", "version", "segment", "actual"},
    "",
    "Scores of matched binary predictions, by actual class."};
inline constexpr MetricOf<Counter> kOutcomeBrierTotal{
    "mlmon_outcome_brier_total",
    {"model", "version", "segment"},
    "",
    "Sum of (actual - score)^2 over matched binary outcomes (Brier score = "
    "this / mlmon_outcome_score_count)."};
inline constexpr MetricOf<Counter> kOutcomeLogLossTotal{
    "mlmon_outcome_log_loss_total",
    {"model", "version", "segment"},
    "",
    "Sum of -ln(probability of the actual class) over matched binary "
    "outcomes, scores clipped to [1e-15, 1-1e-15] (log loss = this / "
    "mlmon_outcome_score_count)."};
inline constexpr MetricOf<Histogram> kAbsoluteError{
    "mlmon_absolute_error",
    {"model", "version", "segment"},
    "",
    "Absolute error of matched regression predictions (MAE = sum / count)."};
inline constexpr MetricOf<Counter> kSquaredErrorTotal{
    "mlmon_squared_error_total",
    {"model", "version", "segment"},
    "",
    "Sum of squared errors of matched regression predictions."};
inline constexpr MetricOf<Counter> kAbsolutePercentageErrorTotal{
    "mlmon_absolute_percentage_error_total",
    {"model", "version", "segment"},
    "",
    "Sum of |actual - predicted| / max(|actual|, 2.2e-16) over matched "
    "regression predictions (MAPE, a fraction, = this / "
    "mlmon_absolute_error_count)."};
inline constexpr MetricOf<Histogram> kOutcomeRank{
    "mlmon_outcome_rank",
    {"model", "version", "segment"},
    "",
    "Rank of the true item in matched rankings (max(k)+1 when it was not in "
    "the kept list)."};
inline constexpr MetricOf<Counter> kOutcomeReciprocalRankTotal{
    "mlmon_outcome_reciprocal_rank_total",
    {"model", "version", "segment"},
    "",
    "Sum of 1/rank of the true item over matched rankings, 0 when it was not "
    "in the top max(k) (MRR = this / mlmon_outcome_rank_count)."};
inline constexpr MetricOf<Gauge> kModelQuality{
    "mlmon_model_quality",
    {"model", "version", "segment", "metric", "window", "threshold", "k"},
    "",
    "Model quality over a sliding window, recomputed by Tick(). Labels that "
    "do not apply are empty; undefined values (no samples, a precision with "
    "no positive prediction, AUC with one class) are NaN."};

// Prediction log (PredictionLog).
inline constexpr MetricOf<Counter> kLogLinesTotal{
    "mlmon_log_lines_total",
    {"model", "version", "stream"},
    "",
    "Lines written by the prediction log, by stream (predictions, "
    "outcomes)."};
inline constexpr MetricOf<Counter> kLogBytesTotal{
    "mlmon_log_bytes_total",
    {"model", "version", "stream"},
    "bytes",
    "Bytes written by the prediction log, by stream (predictions, "
    "outcomes)."};
inline constexpr MetricOf<Counter> kLogLinesLostTotal{
    "mlmon_log_lines_lost_total",
    {"model", "version", "stream", "reason"},
    "",
    "Lines the prediction log could not write, by stream and reason (write: "
    "write(2) failed; rotate: the file is full and could not be rotated; "
    "open: the file could not be opened)."};
inline constexpr MetricOf<Counter> kLogErrorsTotal{
    "mlmon_log_errors_total",
    {"model", "version", "stream", "op"},
    "",
    "Failed file operations of the prediction log, by stream and op (open, "
    "write, truncate, rotate, stat)."};
inline constexpr MetricOf<Counter> kLogReopensTotal{
    "mlmon_log_reopens_total",
    {"model", "version", "stream", "reason"},
    "",
    "Times the prediction log reopened its file because it was deleted or "
    "replaced at its path, by stream and reason."};

// Inputs (FeatureMonitor).
inline constexpr MetricOf<Counter> kFeatureValuesTotal{
    "mlmon_feature_values_total",
    {"model", "version", "feature", "status"},
    "",
    "Input feature values per request, by status (ok, missing, nan, "
    "out_of_range, unseen)."};
/// Bounds per series (each feature brings its own).
inline constexpr MetricOf<Histogram> kFeatureValue{
    "mlmon_feature_value",
    {"model", "version", "feature"},
    "",
    "Numeric feature values (ok and out_of_range), on each feature's "
    "configured bounds."};
inline constexpr MetricOf<Histogram> kFeatureMagnitude{
    "mlmon_feature_magnitude",
    {"model", "version", "feature"},
    "",
    "Decade ceil(log10(|value|)) of non-zero numeric feature values (ok and "
    "out_of_range): unit changes move it by decades."};

// Heuristics (Heuristics, HeuristicRunner).
inline constexpr MetricOf<Counter> kHeuristicChecksTotal{
    "mlmon_heuristic_checks_total",
    {"model", "version", "heuristic", "result"},
    "",
    "Evaluations of boolean quality heuristics, by heuristic and result "
    "(pass, fail)."};
inline constexpr MetricOf<Histogram> kHeuristicValue{
    "mlmon_heuristic_value",
    {"model", "version", "heuristic"},
    "",
    "Values of numeric quality heuristics (e.g. the rank of the user's "
    "favourite carousel), by heuristic."};
inline constexpr MetricOf<Counter> kHookFailuresTotal{
    "mlmon_hook_failures_total",
    {"model", "version", "hook"},
    "",
    "User callbacks (hooks) that threw; their result was not recorded."};
inline constexpr MetricOf<Counter> kHookSlowTotal{
    "mlmon_hook_slow_total",
    {"model", "version", "hook"},
    "",
    "User callbacks (hooks) that ran longer than their budget; their result "
    "was still recorded."};

// Shadow comparison (ShadowComparison); `version` is the champion.
inline constexpr MetricOf<Counter> kShadowComparisonsTotal{
    "mlmon_shadow_comparisons_total",
    {"model", "version", "challenger"},
    "",
    "Requests scored by both the champion (version) and the challenger and "
    "compared."};
inline constexpr MetricOf<Counter> kShadowDisagreementsTotal{
    "mlmon_shadow_disagreements_total",
    {"model", "version", "challenger", "threshold"},
    "",
    "Compared requests where the challenger's decision differs from the "
    "champion's: binary per threshold (score >= threshold), multiclass "
    "labels with threshold=\"\"."};
inline constexpr MetricOf<Histogram> kShadowAbsoluteDifference{
    "mlmon_shadow_absolute_difference",
    {"model", "version", "challenger"},
    "",
    "Absolute difference between the champion's and the challenger's score "
    "or value."};

// The library's own accounting (Registry, HttpServer).
inline constexpr MetricOf<Counter> kDroppedTotal{
    "mlmon_dropped_total",
    {"model", "version", "reason"},
    "",
    "Values the library refused on the hot path, by reason."};
inline constexpr MetricOf<Counter> kLabelOverflowTotal{
    "mlmon_label_overflow_total",
    {"model", "version", "metric"},
    "",
    "Label values folded into the __overflow__ series because a family "
    "reached its series cap or the registry its model/version cap."};
/// The server's own family: no `model`/`version`.
inline constexpr MetricOf<Counter> kHttpConnectionsShedTotal{
    "mlmon_http_connections_shed_total",
    {"reason"},
    "",
    "Connections the HTTP server closed, and host requests it refused, to "
    "protect its other clients, by reason."};

}  // namespace metrics

/// Every family mlmon can export, in the order of `docs/metrics.md`.
inline constexpr const MetricDef* kMetricCatalogue[] = {
    &metrics::kRequestsTotal.def,
    &metrics::kRequestErrorsTotal.def,
    &metrics::kRequestDurationSeconds.def,
    &metrics::kRequestsInFlight.def,
    &metrics::kQueueDepth.def,
    &metrics::kModelInfo.def,
    &metrics::kModelLoadedTimestampSeconds.def,
    &metrics::kPredictionsTotal.def,
    &metrics::kEmptyResponsesTotal.def,
    &metrics::kSegmentFoldsTotal.def,
    &metrics::kPredictionScore.def,
    &metrics::kResponseItems.def,
    &metrics::kPredictionScoreWindow.def,
    &metrics::kDriftScore.def,
    &metrics::kDriftBinObservationsTotal.def,
    &metrics::kDriftReferenceShare.def,
    &metrics::kEstimatedQuality.def,
    &metrics::kOutcomesTotal.def,
    &metrics::kPredictionsExpiredTotal.def,
    &metrics::kPendingPredictions.def,
    &metrics::kPendingEvictedTotal.def,
    &metrics::kPendingStoreUp.def,
    &metrics::kPendingStoreErrorsTotal.def,
    &metrics::kOutcomeDelaySeconds.def,
    &metrics::kLastOutcomeTimestampSeconds.def,
    &metrics::kConfusionTotal.def,
    &metrics::kOutcomeScore.def,
    &metrics::kOutcomeBrierTotal.def,
    &metrics::kOutcomeLogLossTotal.def,
    &metrics::kAbsoluteError.def,
    &metrics::kSquaredErrorTotal.def,
    &metrics::kAbsolutePercentageErrorTotal.def,
    &metrics::kOutcomeRank.def,
    &metrics::kOutcomeReciprocalRankTotal.def,
    &metrics::kModelQuality.def,
    &metrics::kLogLinesTotal.def,
    &metrics::kLogBytesTotal.def,
    &metrics::kLogLinesLostTotal.def,
    &metrics::kLogErrorsTotal.def,
    &metrics::kLogReopensTotal.def,
    &metrics::kFeatureValuesTotal.def,
    &metrics::kFeatureValue.def,
    &metrics::kFeatureMagnitude.def,
    &metrics::kHeuristicChecksTotal.def,
    &metrics::kHeuristicValue.def,
    &metrics::kHookFailuresTotal.def,
    &metrics::kHookSlowTotal.def,
    &metrics::kShadowComparisonsTotal.def,
    &metrics::kShadowDisagreementsTotal.def,
    &metrics::kShadowAbsoluteDifference.def,
    &metrics::kDroppedTotal.def,
    &metrics::kLabelOverflowTotal.def,
    &metrics::kHttpConnectionsShedTotal.def,
};

/// The row named `name`, or null.
constexpr const MetricDef* FindMetric(std::string_view name) {
  for (const MetricDef* d : kMetricCatalogue) {
    if (d->name == name) return d;
  }
  return nullptr;
}

/// What is wrong with row `d` of the catalogue, or empty: the name is not
/// `mlmon_` + a valid metric name; a label name is invalid, repeated, or
/// `le` on a histogram; `model` and `version` are not the first two labels
/// of a family that has either; a counter does not end in `_total` (or
/// another family does); the name does not end in `_<unit>` (before
/// `_total`), or ends in `_seconds`/`_bytes` without that unit; the HELP is
/// empty, does not end with '.', or holds a newline. A static_assert in
/// `metric_catalogue.cc` checks every row with it.
constexpr std::string_view RowProblem(const MetricDef& d) {
  auto ends_with = [](std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.substr(s.size() - suffix.size()) == suffix;
  };
  if (d.name.substr(0, 6) != "mlmon_" || d.name.size() == 6) {
    return "the name does not start with mlmon_";
  }
  for (char c : d.name) {
    if (!IsNameChar(c, false, true)) return "invalid metric name";
  }
  for (std::size_t i = 0; i < d.labels.size(); ++i) {
    const std::string_view l = d.labels[i];
    if (l.empty() || l.substr(0, 2) == "__") return "invalid label name";
    for (std::size_t k = 0; k < l.size(); ++k) {
      if (!IsNameChar(l[k], k == 0, false)) return "invalid label name";
    }
    if (d.instrument == Instrument::kHistogram && l == "le") {
      return "a histogram label named le";
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (d.labels[j] == l) return "a repeated label name";
    }
    if ((l == "model" && i != 0) || (l == "version" && i != 1)) {
      return "model and version are not the first two labels";
    }
  }
  const bool has_model = d.labels.size() > 0 && d.labels[0] == "model";
  const bool has_version = d.labels.size() > 1 && d.labels[1] == "version";
  if (has_model != has_version) return "model without version or back";
  const bool total = ends_with(d.name, "_total");
  if (total != (d.instrument == Instrument::kCounter)) {
    return "counters and only counters end in _total";
  }
  const std::string_view base =
      total ? d.name.substr(0, d.name.size() - 6) : d.name;
  if (!d.unit.empty()) {
    if (!ends_with(base, d.unit) ||
        !ends_with(base.substr(0, base.size() - d.unit.size()), "_")) {
      return "the name does not end in its unit";
    }
  } else if (ends_with(base, "_seconds") || ends_with(base, "_bytes")) {
    return "the name ends in a unit the row does not give";
  }
  if (d.help.empty() || d.help.back() != '.') {
    return "the HELP is empty or does not end with '.'";
  }
  for (char c : d.help) {
    if (c == '\n') return "a newline in the HELP";
  }
  return {};
}

/// What is wrong with the catalogue as a whole, or empty: a row's problem
/// (`RowProblem`), a name listed twice, or a name that is another row's
/// histogram sample (`<histogram>_bucket`, `_sum`, `_count`).
constexpr std::string_view CatalogueProblem() {
  for (const MetricDef* d : kMetricCatalogue) {
    const std::string_view p = RowProblem(*d);
    if (!p.empty()) return p;
  }
  for (const MetricDef* a : kMetricCatalogue) {
    int seen = 0;
    for (const MetricDef* b : kMetricCatalogue) {
      if (b->name == a->name) ++seen;
      if (b->instrument != Instrument::kHistogram) continue;
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (a->name.size() == b->name.size() + suffix.size() &&
            a->name.substr(0, b->name.size()) == b->name &&
            a->name.substr(b->name.size()) == suffix) {
          return "a name is a histogram's sample name";
        }
      }
    }
    if (seen != 1) return "a name is listed twice";
  }
  return {};
}

/// Registers (or finds) the family of a catalogue row, with the row's name,
/// HELP and label names. Set-up calls; they throw what the `Registry::Add*`
/// they call throws.
Family<Counter>& AddFamily(Registry& registry, const MetricOf<Counter>& m);
Family<Gauge>& AddFamily(Registry& registry, const MetricOf<Gauge>& m);
Family<UpDownGauge>& AddFamily(Registry& registry,
                               const MetricOf<UpDownGauge>& m);
/// A histogram whose series share `upper_bounds`.
Family<Histogram>& AddFamily(Registry& registry, const MetricOf<Histogram>& m,
                             std::vector<double> upper_bounds);
/// A histogram whose series each bring their bounds
/// (`Family<Histogram>::Add(labels, bounds)`).
Family<Histogram>& AddFamily(Registry& registry, const MetricOf<Histogram>& m);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_METRIC_CATALOGUE_H_
