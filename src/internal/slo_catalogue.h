#ifndef MLMON_SRC_INTERNAL_SLO_CATALOGUE_H_
#define MLMON_SRC_INTERNAL_SLO_CATALOGUE_H_

/// \file
/// The SLO catalogue: one row per objective of `SloSpec`, read by the
/// `slo:` parser, `ValidateSloSpec`, the alert rules, the dashboard and the
/// documentation test (`docs/runbook.md`, README.md). Adding an objective is
/// a field in `SloSpec`, a row in `SloCatalogue()` and its alert function
/// (in `rules.cc`). Private to the library.

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "mlmon/slo_spec.h"

namespace mlmon {

struct MonitorSpec;

namespace internal {

/// What kind of value an objective takes, which decides how `slo:` parses
/// it and how `ValidateSloSpec` checks it.
enum class SloValue {
  kRatio,      ///< a number in [0, 1] (`std::optional<double>`)
  kOpenRatio,  ///< a number in (0, 1) (`std::optional<double>`)
  kPositive,   ///< a finite number > 0 (`std::optional<double>`)
  kDuration,   ///< a positive duration (`std::optional<std::chrono::seconds>`)
  kPrecision   ///< `SloSpec::Precision` (`min_precision`)
};

/// The text of one alert, everything but what the catalogue row and the
/// common `for`/`severity`/`runbook_url` settings give.
struct SloAlertText {
  std::string expr;
  std::string summary;
  std::string description;
};

/// One objective's alert. Two rows may share a key: `min_precision` gives
/// `MlmonPrecisionLow` (from outcomes) and `MlmonEstimatedPrecisionLow`
/// (estimated without outcomes); `slo.for` and `slo.severity` of the key set
/// both, and `FindSlo` returns the first.
struct SloObjective {
  /// The key under `slo:` (also in `slo.for` and `slo.severity`).
  const char* key;
  /// The Prometheus alert name; its lower case is the runbook anchor.
  const char* alert;
  /// "page" (a symptom users or the business see) or "ticket" (a cause).
  const char* default_severity;
  SloValue value;
  /// The `SloSpec` field of a kRatio, kOpenRatio or kPositive objective
  /// (else null).
  std::optional<double> SloSpec::*number;
  /// The `SloSpec` field of a kDuration objective (else null).
  std::optional<std::chrono::seconds> SloSpec::*duration;
  /// The alert of the objective, called only when `spec` configures it;
  /// an empty `expr` means no alert for this spec.
  SloAlertText (*rule)(const MonitorSpec& spec);
  /// The title of the dashboard panel that draws the objective's threshold.
  const char* panel;
  /// The expression column of the alert table in docs/runbook.md.
  const char* runbook_expression;
};

/// Number of objectives.
inline constexpr std::size_t kSloCount = 12;

/// Every objective, in the order of the generated alerts.
const std::array<SloObjective, kSloCount>& SloCatalogue();

/// The row of `key`, or null.
const SloObjective* FindSlo(std::string_view key);

/// Whether `spec` configures the objective.
bool IsSet(const SloObjective& o, const SloSpec& spec);

/// The threshold the objective draws on its dashboard panel: the value of a
/// number, the seconds of a duration, `value` of `min_precision`; nullopt
/// when unset.
std::optional<double> Threshold(const SloObjective& o, const SloSpec& spec);

/// The threshold line of the dashboard panel titled `panel`: that of the
/// catalogue row naming the panel, nullopt if no row names it or the
/// objective is unset.
std::optional<double> PanelThreshold(const SloSpec& spec,
                                     std::string_view panel);

/// What is wrong with the number `x` of a kRatio, kOpenRatio or kPositive
/// objective ("not in [0, 1]", "not in (0, 1)", "not a positive number"),
/// or null when it is valid.
const char* NumberProblem(SloValue value, double x);

/// The runbook anchor of an alert: its name in lower case.
std::string RunbookAnchor(std::string_view alert);

/// The distribution window (`mlmon_estimated_quality{window}`) that
/// `MlmonEstimatedPrecisionLow` and the dashboard read: that of
/// `slo.min_precision.window` if the distribution has it, else its longest
/// window shorter than it, else its shortest; without `min_precision`, the
/// shortest. "" when there is no estimate to read: not a binary
/// unit-interval task, no distribution window, or the `min_precision`
/// threshold is not an estimate threshold. (rules.cc)
std::string EstimatedPrecisionWindow(const MonitorSpec& spec);

// Alert functions of the catalogue rows (rules.cc).
SloAlertText LatencyP99Alert(const MonitorSpec& spec);
SloAlertText ErrorRatioAlert(const MonitorSpec& spec);
SloAlertText PrecisionAlert(const MonitorSpec& spec);
SloAlertText EstimatedPrecisionAlert(const MonitorSpec& spec);
SloAlertText EmptyShareAlert(const MonitorSpec& spec);
SloAlertText HeuristicFailureAlert(const MonitorSpec& spec);
SloAlertText OutcomeStalenessAlert(const MonitorSpec& spec);
SloAlertText DriftPsiAlert(const MonitorSpec& spec);
SloAlertText FeatureProblemAlert(const MonitorSpec& spec);
SloAlertText ShadowDisagreementAlert(const MonitorSpec& spec);
SloAlertText ModelAgeAlert(const MonitorSpec& spec);
SloAlertText SegmentGapAlert(const MonitorSpec& spec);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_SLO_CATALOGUE_H_
