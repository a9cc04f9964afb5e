#ifndef MLMON_SLO_SPEC_H_
#define MLMON_SLO_SPEC_H_

/// \file
/// `SloSpec`: the service-level objectives of one model, the `slo:` section
/// of `monitor.yaml`. A plain value type; `mlmon/alerting.h` turns it into
/// alert rules and dashboard thresholds.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace mlmon {

/// Service-level objectives of one model: each configured objective becomes
/// one alert of `GenerateRules`; an objective left unset gives no alert.
///
/// YAML (`slo:` section of monitor.yaml; every key optional):
///
///     slo:
///       latency_p99_seconds: 0.25        # p99 over replicas, 5m rate
///       error_ratio: 0.01                # failed / all requests, 5m rate
///       min_precision: {threshold: 0.5, value: 0.8, window: 1h}
///       max_empty_share: 0.2             # empty / all responses, 5m rate
///       max_drift_psi: 0.25              # per signal (score, each feature)
///       max_feature_problem_ratio: 0.05  # per feature, status != ok, 5m rate
///       max_heuristic_failure_ratio: 0.1 # per heuristic, 5m rate
///       max_outcome_staleness: 2h        # time since the newest outcome
///       max_shadow_disagreement: 0.05    # challenger vs champion, 1h rate
///       max_model_age: 30d               # time since the version was loaded
///       max_segment_gap: 0.2             # best - worst segment (segments)
///       for: 5m                          # how long before an alert fires
///       # or per objective: for: {default: 5m, max_drift_psi: 30m}
///       severity: {max_drift_psi: page}  # override page|ticket per objective
///       runbook_url: https://git.example.com/mlmon/docs/runbook.md
///
/// Objective keys (`kSloKeys`) name the objectives in `for` and `severity`.
/// Default severities: symptoms (latency, errors, precision, empty responses,
/// heuristics, outcome staleness, a quality gap between segments) `page`;
/// causes (drift, input features) and the rollout's own checks (a
/// disagreeing challenger, a stale model) `ticket`.
struct SloSpec {
  /// `min_precision`: precision at one configured binary decision threshold.
  struct Precision {
    double threshold = 0.5;  ///< must be one of `OutcomeSpec::thresholds`
    double value = 0.0;      ///< alert when precision < value, in (0, 1]
    std::chrono::seconds window{3600};  ///< rate window of the confusion cells
    /// The alert needs at least this many positive predictions judged by an
    /// outcome within `window` (>= 1): a precision over a handful of
    /// outcomes (after a restart, at night) is noise, not a page.
    std::size_t min_samples = 20;
  };

  std::optional<double> latency_p99_seconds;  ///< > 0
  std::optional<double> error_ratio;          ///< in [0, 1]
  std::optional<Precision> min_precision;
  std::optional<double> max_empty_share;              ///< in [0, 1]
  std::optional<double> max_drift_psi;                ///< > 0
  std::optional<double> max_feature_problem_ratio;    ///< in [0, 1]
  std::optional<double> max_heuristic_failure_ratio;  ///< in [0, 1]
  std::optional<std::chrono::seconds> max_outcome_staleness;
  /// Share of compared requests where a challenger's decision differs from
  /// the champion's (`ShadowComparison`), per challenger and threshold, over
  /// 1h; in (0, 1). Binary and multiclass tasks only.
  std::optional<double> max_shadow_disagreement;
  /// Longest time a version may serve since it was loaded
  /// (`mlmon_model_loaded_timestamp_seconds`); > 0.
  std::optional<std::chrono::seconds> max_model_age;
  /// Largest gap between the best and the worst segment's precision, or
  /// recall, at a threshold (binary tasks with `segments:`); in [0, 1].
  std::optional<double> max_segment_gap;

  /// `for:` of every alert unless overridden in `for_overrides`.
  std::chrono::seconds for_duration{300};
  /// Objective key (e.g. "max_drift_psi") -> its `for:`.
  std::map<std::string, std::chrono::seconds> for_overrides;
  /// Objective key -> "page" or "ticket".
  std::map<std::string, std::string> severity;
  /// Base of the runbook links in annotations; `#<alertname lower case>` is
  /// appended.
  std::string runbook_url = "docs/runbook.md";
};

}  // namespace mlmon

#endif  // MLMON_SLO_SPEC_H_
