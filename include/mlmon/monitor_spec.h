#ifndef MLMON_MONITOR_SPEC_H_
#define MLMON_MONITOR_SPEC_H_

/// \file
/// `MonitorSpec`: one model's monitoring configuration, in C++ or YAML
/// (`monitor.yaml`). The library, `mlmon replay`, `mlmon rules` and
/// `mlmon dashboard` all read this one struct, so alerts always match what is
/// exported.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/buckets.h"
#include "mlmon/feature_monitor.h"
#include "mlmon/outcome_tracker.h"
#include "mlmon/response_distribution.h"
#include "mlmon/segment_spec.h"
#include "mlmon/slo_spec.h"

namespace mlmon {

/// Configuration of one monitored model version.
///
/// YAML keys (all but `model` optional; unknown keys are an error):
///
///     model: fraud                 # required, the `model` label
///     version: "2024-06-01"        # the `version` label (default "1")
///     endpoints: [predict]         # golden-signal endpoints to bind
///     latency_buckets: [0.001, 0.01, 0.1, 1]   # seconds
///     task: binary                 # or multiclass, regression, ranking
///     thresholds: [0.3, 0.5]       # binary decision thresholds
///     classes: [cat, dog]          # multiclass labels
///     k: [1, 3, 10]                # ranking hit@k
///     outcome_ttl: 7d              # s, m, h, d or w
///     max_clock_skew: 5m           # outcome ts later than now + this: invalid
///     pending_capacity: 1000000
///     windows: [1h, 1d]            # windows of mlmon_model_quality
///     slices_per_window: 60
///     auc_bins: 1024
///     delay_buckets / score_buckets / error_buckets / rank_buckets: [...]
///     reference: reference.json    # training profile (relative to this file)
///     distribution:                # the response distribution
///       value_range: unit_interval # or unbounded (default by task)
///       buckets: [0.1, 0.2, ...]   # mlmon_prediction_score bounds
///       classes: [cat, dog]        # mlmon_predictions_total{class}
///       decision_threshold: 0.5
///       items_buckets: [0, 1, 5, 10]
///       windows: [5m, 1h]
///       fine_bins: 2000
///       drift_min_samples: 500     # fewer in a window: drift not updated
///       estimate_thresholds: [0.5] # mlmon_estimated_quality (default:
///                                  # thresholds); needs a calibrated reference
///     features:
///       numeric:
///         - {name: amount_usd, min: 0, max: 100000, buckets: [10, 100]}
///       categorical:
///         - {name: country, max_categories: 50}
///       windows: [5m, 1h]
///       drift_min_samples: 200     # per feature signal and window, as above
///     heuristics:
///       value_buckets: [1, 2, 3, 5, 10]
///     slo:                         # alerts of `mlmon rules` (see SloSpec)
///       latency_p99_seconds: 0.25
///       error_ratio: 0.01
///       min_precision: {threshold: 0.5, value: 0.8, window: 1h,
///                       min_samples: 20}
///       max_empty_share: 0.2
///       max_drift_psi: 0.25
///       max_feature_problem_ratio: 0.05
///       max_heuristic_failure_ratio: 0.1
///       max_outcome_staleness: 2h
///       max_shadow_disagreement: 0.05
///       max_model_age: 30d
///       max_segment_gap: 0.2       # needs segments: (binary task)
///       for: 5m                    # or {default: 5m, max_drift_psi: 30m}
///       severity: {max_drift_psi: page}
///       runbook_url: docs/runbook.md
///
/// Thread safety: a plain value type (thread-compatible).
struct MonitorSpec {
  std::string model;
  std::string version = "1";
  std::vector<std::string> endpoints = {"predict"};
  std::vector<double> latency_buckets = DefaultLatencyBuckets();
  OutcomeSpec outcome;
  ResponseSpec distribution;
  FeatureSpec features;
  /// Segments (`segments:`): `ModelMonitor` gives them to its outcome
  /// tracker and response distribution, and the rules split quality by them.
  SegmentSpec segments;
  /// Bounds of `mlmon_heuristic_value`.
  std::vector<double> heuristic_value_buckets = {0, 1,  2,  3,  4,
                                                 5, 10, 20, 50, 100};
  /// Reference profile file (resolved against the YAML file's directory);
  /// empty: no drift scores.
  std::string reference_path;
  /// Service-level objectives: the alerts of `mlmon rules`.
  SloSpec slo;
  /// Where the spec came from (a file name), for messages.
  std::string source = "<c++>";
};

/// Largest `monitor.yaml` accepted, in bytes (1 MiB).
inline constexpr std::size_t kMaxMonitorSpecBytes = 1u << 20;
/// Deepest nesting of lists and mappings in `monitor.yaml` (the documented
/// keys need 5 levels).
inline constexpr std::size_t kMaxMonitorSpecDepth = 64;

/// Parses `monitor.yaml` text. Integer keys (`pending_capacity`,
/// `auc_bins`, ...) take decimal notation with an integral value, exponent
/// included (`1e6`); `1.5`, `-1`, `0x10` and `1e999` are refused naming the
/// key and the value. Values quoted in messages are cut to 80 bytes.
/// \throw mlmon::ConfigError naming the source, line, key and bad value,
/// also for text over `kMaxMonitorSpecBytes`, nesting deeper than
/// `kMaxMonitorSpecDepth`, a key that is not a plain name (`? [a, b]: 1`),
/// and aliases that expand to more than a million values. Never throws
/// anything else (out of memory is a ConfigError naming the source).
MonitorSpec ParseMonitorSpec(std::string_view yaml,
                             const std::string& source = "<string>");

/// Reads and parses a `monitor.yaml` file.
/// \throw mlmon::ConfigError if the file cannot be read, is not a regular
/// file (e.g. `/dev/zero`), is larger than `kMaxMonitorSpecBytes`, or is
/// invalid (as `ParseMonitorSpec`).
MonitorSpec LoadMonitorSpec(const std::string& path);

/// Checks everything the library would check when building monitors from
/// `spec` (it builds them on a scratch registry), and `spec.slo`
/// (`ValidateSloSpec`). Memory used does not grow with the sizes that only
/// scale allocations (`pending_capacity`, `slices_per_window`, `auc_bins`):
/// it builds with the smallest valid value of each. It does not check a
/// memory budget: see `EstimateMonitorMemory`.
/// \throw mlmon::ConfigError naming the bad value; nothing else.
void ValidateMonitorSpec(const MonitorSpec& spec);

/// Parses a duration such as `45s`, `30m`, `12h`, `7d`, `2w` (a bare number
/// is seconds).
/// \throw mlmon::ConfigError naming the text if it is not a positive duration.
std::chrono::seconds ParseDuration(std::string_view text);

}  // namespace mlmon

#endif  // MLMON_MONITOR_SPEC_H_
