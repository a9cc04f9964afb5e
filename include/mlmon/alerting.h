#ifndef MLMON_ALERTING_H_
#define MLMON_ALERTING_H_

/// \file
/// Alerting and dashboards generated from a `MonitorSpec`: the `slo:` section
/// of `monitor.yaml` (`SloSpec`), a Prometheus rule file (`GenerateRules`,
/// what `mlmon rules` prints) and a Grafana dashboard (`GenerateDashboard`,
/// what `mlmon dashboard` prints). Pure functions of the spec: no I/O.
///
/// Every expression uses only the metric names of `docs/metrics.md`.

#include <string>
#include <vector>

#include "mlmon/slo_spec.h"

namespace mlmon {

struct MonitorSpec;

/// The objective keys of `SloSpec`, in the order of the generated alerts.
extern const std::vector<std::string> kSloKeys;

/// The alert name of an objective key, e.g. "error_ratio" ->
/// "MlmonErrorRatioHigh". \throw mlmon::ConfigError for an unknown key.
std::string SloAlertName(const std::string& slo_key);

/// The default severity of an objective: "page" or "ticket".
std::string DefaultSloSeverity(const std::string& slo_key);

/// Checks `spec.slo` against the rest of the spec (value ranges, known keys
/// in `for_overrides`/`severity`, `min_precision` needs a binary task and one
/// of its thresholds).
/// \throw mlmon::ConfigError naming the source and the `slo.` key.
void ValidateSloSpec(const MonitorSpec& spec);

/// A Prometheus rule file (YAML) for `spec.model`: a group of recording rules
/// aggregating over replicas `by (model, version)` and a group of alerts, one
/// per configured objective, each scoped to `model="<spec.model>"`.
/// \throw mlmon::ConfigError if `ValidateSloSpec` fails.
std::string GenerateRules(const MonitorSpec& spec);

/// A Grafana dashboard (JSON, schemaVersion 38) over the recording rules of
/// `GenerateRules`, with rows golden signals, outcomes and quality, response
/// distribution, drift, heuristics, inputs, and `$datasource`, `$model`,
/// `$version` template variables.
/// \throw mlmon::ConfigError if `ValidateSloSpec` fails.
std::string GenerateDashboard(const MonitorSpec& spec);

}  // namespace mlmon

#endif  // MLMON_ALERTING_H_
