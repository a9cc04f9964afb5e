#ifndef MLMON_STATUS_HISTORY_H_
#define MLMON_STATUS_HISTORY_H_

/// \file
/// The recent history of each model's key signals, sampled from a `Registry`
/// off the hot path, for the built-in status page (`GET /` and
/// `GET /api/v1/status` of `mlmon::HttpServer`).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mlmon {

class Registry;

/// Bounds of a `StatusHistory`.
struct StatusHistoryOptions {
  /// Points kept per (model, version), oldest dropped first (at least 2).
  /// 600 points at one sample a second is ten minutes.
  std::size_t points = 600;
  /// Distinct (model, version) pairs tracked (at least 1); pairs seen after
  /// the cap are ignored and counted (`dropped_models()`).
  std::size_t max_models = 16;
  /// Named series per model and kind (precision per threshold, drift per
  /// signal) (at least 1); names seen after the cap are ignored and counted
  /// (`dropped_series()`).
  std::size_t max_series = 16;
};

/// One named series of a `ModelStatus` (a threshold, a drift signal).
struct StatusSeries {
  std::string name;
  /// One value per `ModelStatus::unix_millis`; NaN where undefined.
  std::vector<double> values;
};

/// The history of one (model, version), oldest point first. Every vector has
/// one value per timestamp; NaN marks an undefined value (no traffic in the
/// interval, no outcome in the window, first sample, series not yet there).
struct ModelStatus {
  std::string model, version;
  /// `window` label the precision values come from (the shortest window of
  /// `mlmon_model_quality{metric="precision"}`), "" if none.
  std::string quality_window;
  /// `window` label the drift values come from (the shortest window of
  /// `mlmon_drift_score{method="psi"}`), "" if none.
  std::string drift_window;
  /// Sample times, Unix milliseconds, strictly increasing.
  std::vector<std::int64_t> unix_millis;
  /// Requests per second over the interval ending at the point (every
  /// endpoint, from `mlmon_requests_total`).
  std::vector<double> request_rate;
  /// `status="error"` share of those requests; NaN without requests.
  std::vector<double> error_ratio;
  /// Latency quantiles over the interval, seconds, from the deltas of
  /// `mlmon_request_duration_seconds` (every endpoint), interpolated within
  /// a bucket as PromQL's `histogram_quantile`; NaN without requests.
  std::vector<double> latency_p50_seconds, latency_p99_seconds;
  /// `mlmon_empty_responses_total` / `mlmon_predictions_total` over the
  /// interval; NaN without predictions.
  std::vector<double> empty_share;
  /// `mlmon_model_quality{metric="precision"}` of `quality_window`, one
  /// series per `threshold`; NaN while the window holds no outcome
  /// (`metric="samples"` is 0) or the gauge is undefined (NaN: no positive
  /// prediction in the window).
  std::vector<StatusSeries> precision;
  /// `mlmon_drift_score{method="psi"}` of `drift_window`, one series per
  /// `signal`, in order of first appearance.
  std::vector<StatusSeries> drift_psi;
};

/// A bounded in-process ring of recent values of each model's key signals:
/// request rate, error ratio, latency p50/p99, empty share, precision and
/// input/output drift. `Sample()` reads the registry the way a scrape does
/// (`Registry::Collect()`) and derives rates and ratios from the difference
/// with the previous sample, so nothing is added to the inference path.
///
/// Models are told apart by the `model` and `version` labels. Counters and
/// histograms are summed over their other labels (e.g. every endpoint).
///
/// Thread safety: thread-safe (one internal mutex, never held while the
/// registry is read). The registry must outlive the history.
///
/// **Example**:
///
///     mlmon::StatusHistory history(registry);
///     history.Sample(1764150000000);  // e.g. once a second, off the hot path
///     history.Sample(1764150001000);
///     std::string json = history.Json(1764150001500);  // /api/v1/status
class StatusHistory {
 public:
  /// \throw mlmon::ConfigError naming the option if a bound is 0 (or
  /// `points` is 1).
  explicit StatusHistory(const Registry& registry,
                         StatusHistoryOptions options = {});
  ~StatusHistory();
  StatusHistory(const StatusHistory&) = delete;
  StatusHistory& operator=(const StatusHistory&) = delete;

  /// Reads the registry and appends one point per model, stamped
  /// `unix_millis`. A time not after the previous sample's is ignored (the
  /// x axis stays monotonic if the wall clock steps back).
  void Sample(std::int64_t unix_millis);

  /// A copy of every model's history, in order of first appearance.
  std::vector<ModelStatus> Models() const;

  /// The `GET /api/v1/status` document (schema in docs/status-api.md):
  /// `{"schema":1,"now_ms":...,"capacity":...,"samples":...,
  /// "dropped_models":...,"dropped_series":...,"models":[...]}`, NaN written
  /// as `null`. `now_unix_millis` is the server's time of the answer, so a
  /// reader can tell how old the newest point is without trusting its own
  /// clock; it is raised to the newest sample's time if a sample taken
  /// meanwhile is newer.
  std::string Json(std::int64_t now_unix_millis) const;

  /// Samples taken (ignored ones excluded).
  std::uint64_t samples() const;
  /// Distinct (model, version) pairs ignored because `max_models` were
  /// tracked (saturates at 1024: the refused keys are remembered, bounded).
  std::size_t dropped_models() const;
  /// Distinct series names ignored because `max_series` were tracked
  /// (saturates at 1024).
  std::size_t dropped_series() const;

  const StatusHistoryOptions& options() const noexcept { return options_; }

 private:
  class Impl;
  const StatusHistoryOptions options_;
  std::unique_ptr<Impl> impl_;
};

/// The status page: one self-contained HTML document (inline CSS and
/// JavaScript, no external resource) that charts `GET /api/v1/status`,
/// fetched from the same origin, and refreshes every few seconds. For hosts
/// that serve it from their own HTTP stack; `mlmon::HttpServer` serves it at
/// `GET /`.
std::string_view StatusPageHtml() noexcept;

}  // namespace mlmon

#endif  // MLMON_STATUS_HISTORY_H_
