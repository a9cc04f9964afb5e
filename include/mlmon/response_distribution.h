#ifndef MLMON_RESPONSE_DISTRIBUTION_H_
#define MLMON_RESPONSE_DISTRIBUTION_H_

/// \file
/// Response distribution monitoring: score histograms, windowed quantiles,
/// class balance, empty responses and drift from a reference distribution —
/// in real time, no labels (ground truth) needed.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/clock.h"
#include "mlmon/reference_profile.h"
#include "mlmon/registry.h"
#include "mlmon/segment_spec.h"

namespace mlmon {

/// Bounds of `mlmon_prediction_score` by default: 20 equal bins on [0, 1],
/// 0.05, 0.1, ..., 0.95, 1 (each computed as `(i + 1) / 20.0`, so they are
/// the doubles nearest to the decimal values, like
/// `DefaultOutcomeScoreBuckets()`).
const std::vector<double>& DefaultPredictionScoreBuckets();
/// Bounds of `mlmon_response_items` by default: 0, 1, 2, 3, 5, 10, 20, 50,
/// 100.
const std::vector<double>& DefaultResponseItemsBuckets();

/// Set-up configuration of a `ResponseDistribution`. Validated by its
/// constructor.
struct ResponseSpec {
  /// The domain of the observed value, and the fine-bin scheme behind the
  /// windowed quantiles.
  enum class ValueRange {
    /// Scores in [0, 1] (binary probability, top-class confidence).
    /// `fine_bins` linear bins; a value outside [0, 1] is dropped and counted
    /// (`invalid_value`).
    kUnitInterval,
    /// Any finite value (regression). Log-spaced bins (DDSketch-like) with
    /// `kLogGamma` over +-[`kLogMin`, `kLogMax`] plus one zero bin.
    kUnbounded,
  };

  ValueRange value_range = ValueRange::kUnitInterval;
  /// Bounds of `mlmon_prediction_score`, the bins drift is computed on.
  /// Must equal the reference profile's `score` bounds when one is given,
  /// and every `ResponseDistribution` of a registry must use the same
  /// bounds (they share the family).
  std::vector<double> score_buckets = DefaultPredictionScoreBuckets();
  /// Class names bound at set-up for `mlmon_predictions_total{class}`: at
  /// most `kMaxClasses`, non-empty, unique, not `__other__`. Empty (the
  /// default) means: a `kUnitInterval` model counts `ObserveScore` under
  /// class `"1"` (score >= `decision_threshold`) or `"0"`; a `kUnbounded`
  /// model counts it under class `""` (volume only). When classes are given,
  /// `ObserveScore` counts no class: `ObserveClass` does.
  std::vector<std::string> classes;
  /// Binary decision threshold, in (0, 1): score >= threshold is class "1"
  /// (scikit-learn's rule, as in `OutcomeSpec::thresholds`).
  double decision_threshold = 0.5;
  /// Bounds of `mlmon_response_items` (ranking: items per response).
  std::vector<double> items_buckets = DefaultResponseItemsBuckets();
  /// Windows of `mlmon_prediction_score_window` and `mlmon_drift_score`
  /// (each in [1 s, 3650 d], distinct labels, at most `kMaxWindows`; may be
  /// empty).
  std::vector<std::chrono::seconds> windows = {std::chrono::minutes(5),
                                               std::chrono::hours(1)};
  /// Snapshots per window, in [1, 3600]: a window is exact to
  /// `window / slices_per_window` (see `internal::WindowSnapshots`).
  std::size_t slices_per_window = 60;
  /// `kUnitInterval` only: linear fine bins on [0, 1] for the quantiles, in
  /// [10, `kMaxFineBins`]. Ignored for `kUnbounded`.
  std::size_t fine_bins = 2000;
  /// Minimum scores in a window (>= 1) for `Tick()` to update that window's
  /// `mlmon_drift_score` gauges; below it they read `NaN` (undefined; 0 before
  /// the first `Tick()`). On a handful of values PSI is noise (one empty
  /// bin alone costs about 0.7), which would page on a healthy model right
  /// after a restart or on low traffic. The quantile and mean gauges do not
  /// depend on it. 500 rather than the features' 200: the default score
  /// histogram has 21 bins, where a healthy sample of 200 still reaches PSI
  /// 0.23 at its 99th percentile (docs/reference-profile.md).
  std::size_t drift_min_samples = 500;
  /// `kUnitInterval` with a reference profile that has a calibration map:
  /// the thresholds of `mlmon_estimated_quality` (performance estimation
  /// without labels, performance_estimation.h), each in (0, 1), distinct, at
  /// most `kMaxEstimateThresholds`. Empty (the default) means
  /// `{decision_threshold}`; `monitor.yaml` defaults it to the binary
  /// `thresholds`. The estimate is exact in its decisions when `threshold *
  /// fine_bins` is an integer.
  std::vector<double> estimate_thresholds;
  /// Keep exemplars on `mlmon_prediction_score`: each bucket's last id given
  /// to `ObserveScore(score, id)`, served under OpenMetrics (128 bytes per
  /// bucket).
  bool exemplars = true;
  /// Segments of the predictions (`ObserveScore`, `ObserveClass` and
  /// `ObserveEmpty` with a segment): `mlmon_predictions_total`,
  /// `mlmon_empty_responses_total` and `mlmon_prediction_score` gain
  /// `segment` values (see `SegmentSpec`).
  SegmentSpec segments;

  static constexpr std::size_t kMaxClasses = 100;
  static constexpr std::size_t kMaxEstimateThresholds = 16;
  static constexpr std::size_t kMaxWindows = 8;
  static constexpr std::size_t kMaxFineBins = 4095;
  /// `kUnbounded` fine bins: magnitude bin i holds |x| in
  /// [kLogMin * kLogGamma^i, kLogMin * kLogGamma^(i+1)).
  static constexpr double kLogGamma = 1.02;
  static constexpr double kLogMin = 1e-9;
  static constexpr double kLogMax = 1e12;
};

/// Watches what a model answers, for one model version, with no ground
/// truth. Exports (all with labels `model`, `version` first):
///
/// - `mlmon_prediction_score` (histogram on `score_buckets`): every score;
/// - `mlmon_predictions_total{class}`: prediction volume and class balance
///   (see `ResponseSpec::classes`); names not bound at set-up count under
///   class `__other__` (always bound), so the total is the prediction volume
///   and a new class shows as a rising `__other__` share;
/// - `mlmon_response_items` (histogram on `items_buckets`) and
///   `mlmon_empty_responses_total`: share of empty responses =
///   `mlmon_empty_responses_total / mlmon_predictions_total` (or
///   `/ mlmon_response_items_count` for a ranking model that only calls
///   `ObserveItems`);
/// - `mlmon_prediction_score_window{stat,window}`, `stat` in `p50`, `p90`,
///   `p99`, `mean`, set by `Tick()`;
/// - with a reference profile, `mlmon_drift_score{signal="score",method,
///   window}` for `psi`, `js`, `linf`, `ks` (see drift.h), set by `Tick()`:
///   the window's counts on `score_buckets` against the reference's; only
///   when the window holds at least `ResponseSpec::drift_min_samples` scores
///   (500 by default), otherwise the window's drift gauges read `NaN`.
/// - with a reference profile and windows,
///   `mlmon_drift_bin_observations_total{signal="score",bin}`, the scores in
///   each bucket of `score_buckets` (not cumulative, `+Inf` last; advanced by
///   `Tick()`), and `mlmon_drift_reference_share{signal="score",bin}`, the
///   reference's share of each: the inputs of the fleet-wide drift rules of
///   `mlmon rules` (docs/metrics.md).
/// - with a reference profile that has a calibration map (`kUnitInterval`)
///   and windows, `mlmon_estimated_quality{metric,threshold,window}`, set by
///   `Tick()` from the window's fine bins (`BinnedPerformanceEstimator`):
///   `samples` and `auc` (threshold ""), and per estimate threshold
///   `predicted_positives`, `precision`, `recall`, `f1`, `accuracy`; NaN
///   where undefined (an empty window, no decided positive, ...).
///
/// Refused values (NaN, +-Inf, a `kUnitInterval` score outside [0, 1]) are
/// dropped whole — no histogram, no class — and counted in
/// `mlmon_dropped_total{reason}` (`nan`, `inf`, `invalid_value`).
///
/// Quantiles. Each score is also counted in a fine bin (striped cells, like a
/// histogram). `Tick()` reads them into sliding windows; a quantile q of a
/// window of n values is computed as numpy's default (linear) does on the
/// sorted values: h = (n - 1) q, x[floor(h)] + (h - floor(h)) (x[floor(h)+1] -
/// x[floor(h)]), where each order statistic x[k] is replaced by a
/// representative value of its fine bin. Error bound, against the exact
/// quantile of the window's values:
///   - `kUnitInterval`: the representative is the bin's midpoint, so the
///     error is at most half a bin, 0.5 / fine_bins (0.00025 by default);
///   - `kUnbounded`: the representative of magnitude bin [a, a*gamma) is
///     2 a gamma / (1 + gamma), so each order statistic has a relative error
///     at most (gamma - 1) / (gamma + 1) = 0.0099 (< 1%); the quantile too
///     when x[floor(h)] and x[floor(h)+1] have the same sign (otherwise the
///     error is at most 0.0099 * max(|x[floor(h)]|, |x[floor(h)+1]|)).
///     |x| < 1e-9 is counted as 0 (absolute error < 1e-9); |x| beyond 1e12
///     lands in the outermost bin, so quantiles there are clamped to about
///     +-1e12 (the histogram and the mean keep the exact value).
/// The mean is the window's exact sum / count (up to double rounding, and up
/// to observations in flight while `Tick()` reads). A window is exact to one
/// slice (`window / slices_per_window`).
///
/// Undefined values read `NaN`, never a fake 0 or a stale value: a window
/// with no scores sets its `mlmon_prediction_score_window` gauges to NaN,
/// one with fewer than `drift_min_samples` its `mlmon_drift_score` gauges.
/// PromQL comparisons are false on NaN (no alert fires) and Grafana draws a
/// gap.
///
/// Memory per instance: fine-bin cells of (fine_bins + 1) x 8 bytes
/// (`kUnitInterval`, 16 KB by default) or 4,886 x 8 bytes (`kUnbounded`,
/// 39 KB) per recording thread, and for the windows
/// windows x (slices_per_window + 1) x (fine cells + score buckets + 2) x 8
/// bytes: 2 x 61 x 2,022 x 8 = 2.0 MB by default (4.8 MB `kUnbounded`);
/// with a calibration map, 2 x fine_bins x 8 bytes more (32 KB) for the
/// estimate's per-bin probabilities and error steps.
///
/// Thread safety: thread-safe. `Tick()` calls are serialised internally.
/// Hot path: `ObserveScore` (with or without an id), `ObserveClass`,
/// `ObserveItems`, `ObserveEmpty` are noexcept, lock-free and allocation-free;
/// `ObserveClass(string_view)` hashes the name once (no allocation).
///
/// **Example**:
///
///     mlmon::Registry registry;
///     mlmon::ResponseSpec spec;
///     spec.windows = {std::chrono::minutes(5)};
///     mlmon::ResponseDistribution scores(registry, "fraud", "v7", spec);
///     scores.ObserveScore(0.91);   // inference thread
///     scores.Tick();               // window thread, every few seconds
class ResponseDistribution {
 public:
  /// A class name bound at set-up (`Class()`); cheap to copy. A
  /// default-constructed handle is class `__other__`.
  class ClassHandle {
   public:
    ClassHandle() = default;

   private:
    friend class ResponseDistribution;
    explicit ClassHandle(std::uint32_t index) : index_(index) {}
    std::uint32_t index_ = 0;
  };

  /// The class of names that were not bound at set-up.
  static constexpr const char* kOtherClass = "__other__";

  /// `reference` (optional) is read only here: the `score` signal's counts
  /// are copied. `clock` (SteadyClock when null) must outlive this object.
  /// \throw mlmon::ConfigError naming the bad `ResponseSpec` field and value,
  /// if `model` is empty, if `reference` has no numeric `score` signal on
  /// `spec.score_buckets` (the message names "score"), if its calibration
  /// map is invalid (`CheckCalibration`), or if the registry
  /// refuses a family (e.g. other bucket bounds already registered under the
  /// same name).
  ResponseDistribution(Registry& registry, std::string model,
                       std::string version, ResponseSpec spec = {},
                       const ReferenceProfile* reference = nullptr,
                       const Clock* clock = nullptr);
  ~ResponseDistribution();
  ResponseDistribution(const ResponseDistribution&) = delete;
  ResponseDistribution& operator=(const ResponseDistribution&) = delete;

  /// The handle of a bound class name (set-up). Bound names are
  /// `spec.classes`, or "0" and "1" (`kUnitInterval`) or "" (`kUnbounded`)
  /// when none are configured, and `kOtherClass`.
  /// \throw mlmon::ConfigError naming `name` if it is not bound.
  ClassHandle Class(std::string_view name) const;

  /// Records one score (or regression value): histogram, fine bin, and the
  /// class by threshold when no classes are configured. NaN, +-Inf and (for
  /// `kUnitInterval`) values outside [0, 1] are dropped and counted.
  void ObserveScore(double score) noexcept;
  /// `ObserveScore(score)` that also keeps `id` (e.g. the prediction id) as
  /// the exemplar of the score's bucket of `mlmon_prediction_score`, the last
  /// one per bucket, stamped with the clock's Unix time. An empty id keeps
  /// none; an id over `detail::kMaxExemplarIdBytes` (64) bytes keeps none and
  /// is counted (`id_too_long`); the score is recorded either way.
  void ObserveScore(double score, std::string_view id) noexcept;
  /// `ObserveScore(score, id)` of a prediction made in `segment` (with
  /// `spec.segments`; ignored without): its histogram bucket and class count
  /// under that `segment` (see `SegmentSpec`; empty: none; the windows and
  /// drift stay the whole model's). The look-up is lock-free and
  /// allocation-free; a new value's series appear at the next `Tick()`.
  void ObserveScore(double score, std::string_view id,
                    std::string_view segment) noexcept;
  /// Counts one prediction of class `c` (in `segment`, as `ObserveScore`).
  /// REQUIRES: `c` came from this object's `Class()` (or is default).
  void ObserveClass(ClassHandle c, std::string_view segment = {}) noexcept;
  /// Counts one prediction of class `name`; a name not bound at set-up is
  /// counted as `kOtherClass`.
  void ObserveClass(std::string_view name,
                    std::string_view segment = {}) noexcept;
  /// Records the number of items in a response (ranking); `n == 0` also
  /// counts an empty response (in `segment`).
  void ObserveItems(std::size_t n, std::string_view segment = {}) noexcept;
  /// Counts an empty response (no items histogram update).
  void ObserveEmpty(std::string_view segment = {}) noexcept;

  /// Off the hot path (a window thread calls it, e.g. every few seconds):
  /// reads the cumulative fine bins and score buckets, advances the windows
  /// and sets the windowed quantile, mean and drift gauges.
  void Tick();

  /// Fine bins behind the quantiles: `fine_bins` (`kUnitInterval`) or
  /// 2 x 2442 + 1 (`kUnbounded`).
  std::size_t num_fine_bins() const noexcept;
  const ResponseSpec& spec() const noexcept;
  const std::string& model() const noexcept;
  const std::string& version() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlmon

#endif  // MLMON_RESPONSE_DISTRIBUTION_H_
