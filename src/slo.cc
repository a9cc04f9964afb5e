// The SLO catalogue and the checks of `SloSpec`.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "internal/config_errors.h"
#include "internal/slo_catalogue.h"
#include "internal/spec_checks.h"
#include "mlmon/alerting.h"
#include "mlmon/duration.h"
#include "mlmon/monitor_spec.h"

namespace mlmon {
namespace internal {

const std::array<SloObjective, kSloCount>& SloCatalogue() {
  // Default severities: page on symptoms (what users and the business see:
  // latency, errors, outputs, outcomes), ticket on causes (the inputs
  // moved). The order is the order of the generated alerts.
  static const std::array<SloObjective, kSloCount> kCatalogue = {{
      {"latency_p99_seconds", "MlmonLatencyP99High", "page",
       SloValue::kPositive, &SloSpec::latency_p99_seconds, nullptr,
       &LatencyP99Alert, "Latency",
       "`mlmon:request_duration_seconds:p99_rate5m > X`"},
      {"error_ratio", "MlmonErrorRatioHigh", "page", SloValue::kRatio,
       &SloSpec::error_ratio, nullptr, &ErrorRatioAlert, "Error ratio",
       "`mlmon:request_error_ratio:rate5m > X`"},
      {"min_precision", "MlmonPrecisionLow", "page", SloValue::kPrecision,
       nullptr, nullptr, &PrecisionAlert, "Precision and recall",
       "`mlmon:precision:rate<window>{threshold=\"t\"} < X`, with >= "
       "`min_samples` judged positives in the window"},
      // An estimate is a forecast of the symptom, not the symptom: a
      // ticket, so that on-call looks at it in working hours unless the
      // outcome-based alert confirms it.
      {"min_precision", "MlmonEstimatedPrecisionLow", "ticket",
       SloValue::kPrecision, nullptr, nullptr, &EstimatedPrecisionAlert,
       "Estimated quality (no outcomes)",
       "`mlmon:estimated_precision:<window>{threshold=\"t\"} < X` "
       "(estimated without outcomes), with >= `min_samples` decided "
       "positives in the distribution window"},
      {"max_empty_share", "MlmonEmptyResponseShareHigh", "page",
       SloValue::kRatio, &SloSpec::max_empty_share, nullptr, &EmptyShareAlert,
       "Empty responses", "`mlmon:empty_response_share:rate5m > X`"},
      {"max_heuristic_failure_ratio", "MlmonHeuristicFailureRatioHigh", "page",
       SloValue::kRatio, &SloSpec::max_heuristic_failure_ratio, nullptr,
       &HeuristicFailureAlert, "Heuristic failure ratio",
       "`mlmon:heuristic_failure_ratio:rate5m > X` (per heuristic)"},
      {"max_outcome_staleness", "MlmonOutcomesStale", "page",
       SloValue::kDuration, nullptr, &SloSpec::max_outcome_staleness,
       &OutcomeStalenessAlert, "Outcome staleness",
       "`mlmon:outcome_staleness_seconds > X`"},
      {"max_drift_psi", "MlmonDriftPsiHigh", "ticket", SloValue::kPositive,
       &SloSpec::max_drift_psi, nullptr, &DriftPsiAlert, "PSI drift per signal",
       "`mlmon:drift_psi:fleet_<window> > X` (per signal, counts summed "
       "over replicas, any drift window)"},
      {"max_feature_problem_ratio", "MlmonFeatureProblemRatioHigh", "ticket",
       SloValue::kRatio, &SloSpec::max_feature_problem_ratio, nullptr,
       &FeatureProblemAlert, "Feature problem ratio",
       "`mlmon:feature_problem_ratio:rate5m > X` (per feature)"},
      // A challenger is not serving users yet, and an old model is a
      // cause of decay, not a symptom: both are tickets.
      {"max_shadow_disagreement", "MlmonShadowDisagreementHigh", "ticket",
       SloValue::kOpenRatio, &SloSpec::max_shadow_disagreement, nullptr,
       &ShadowDisagreementAlert, "Shadow disagreement",
       "`mlmon:shadow_disagreement_ratio:rate1h > X` (per challenger and "
       "threshold), with >= 100 compared requests in the hour"},
      {"max_model_age", "MlmonModelStale", "ticket", SloValue::kDuration,
       nullptr, &SloSpec::max_model_age, &ModelAgeAlert, "Model age",
       "`mlmon:model_age_seconds > X`"},
      // The harm stakeholders fear most: a model that fails one group of
      // users (rejects it unjustly) while its overall quality holds.
      {"max_segment_gap", "MlmonSegmentGapHigh", "page", SloValue::kRatio,
       &SloSpec::max_segment_gap, nullptr, &SegmentGapAlert,
       "Segment quality gap",
       "`mlmon:segment_precision_gap:rate<window> > X` or "
       "`mlmon:segment_recall_gap:rate<window> > X` (per threshold; best "
       "minus worst segment with >= 30 positives in the window)"},
  }};
  return kCatalogue;
}

const SloObjective* FindSlo(std::string_view key) {
  for (const SloObjective& o : SloCatalogue()) {
    if (key == o.key) return &o;
  }
  return nullptr;
}

bool IsSet(const SloObjective& o, const SloSpec& spec) {
  switch (o.value) {
    case SloValue::kRatio:
    case SloValue::kOpenRatio:
    case SloValue::kPositive:
      return (spec.*o.number).has_value();
    case SloValue::kDuration:
      return (spec.*o.duration).has_value();
    case SloValue::kPrecision:
      return spec.min_precision.has_value();
  }
  return false;
}

std::optional<double> Threshold(const SloObjective& o, const SloSpec& spec) {
  if (!IsSet(o, spec)) return std::nullopt;
  switch (o.value) {
    case SloValue::kRatio:
    case SloValue::kOpenRatio:
    case SloValue::kPositive:
      return *(spec.*o.number);
    case SloValue::kDuration:
      return static_cast<double>((spec.*o.duration)->count());
    case SloValue::kPrecision:
      return spec.min_precision->value;
  }
  return std::nullopt;
}

std::optional<double> PanelThreshold(const SloSpec& spec,
                                     std::string_view panel) {
  for (const SloObjective& o : SloCatalogue()) {
    if (panel == o.panel) return Threshold(o, spec);
  }
  return std::nullopt;
}

const char* NumberProblem(SloValue value, double x) {
  switch (value) {
    case SloValue::kRatio:
      return x >= 0 && x <= 1 ? nullptr : "not in [0, 1]";
    case SloValue::kOpenRatio:
      return x > 0 && x < 1 ? nullptr : "not in (0, 1)";
    case SloValue::kPositive:
      return x > 0 && std::isfinite(x) ? nullptr : "not a positive number";
    case SloValue::kDuration:
    case SloValue::kPrecision:
      break;
  }
  return nullptr;
}

std::string RunbookAnchor(std::string_view alert) {
  std::string s(alert);
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

}  // namespace internal

const std::vector<std::string> kSloKeys = [] {
  std::vector<std::string> keys;
  for (const auto& o : internal::SloCatalogue()) {
    // Rows sharing a key (min_precision) list it once.
    if (std::find(keys.begin(), keys.end(), o.key) == keys.end()) {
      keys.emplace_back(o.key);
    }
  }
  return keys;
}();

std::string SloAlertName(const std::string& slo_key) {
  const internal::SloObjective* o = internal::FindSlo(slo_key);
  if (o == nullptr) {
    throw internal::SetupError("slo", "not an objective", slo_key);
  }
  return o->alert;
}

std::string DefaultSloSeverity(const std::string& slo_key) {
  const internal::SloObjective* o = internal::FindSlo(slo_key);
  if (o == nullptr) {
    throw internal::SetupError("slo", "not an objective", slo_key);
  }
  return o->default_severity;
}

namespace {

using internal::SetupError;
using internal::SloObjective;
using internal::SloValue;

// Names `slo.<key>` of `spec`: `MonitorSpec.slo.<key>` for a spec built in
// C++, `<file>: slo.<key>` for one read from a file (the line is known only
// to the parser).
class SloErrors {
 public:
  explicit SloErrors(const MonitorSpec& spec) : spec_(spec) {}

  [[noreturn]] void Fail(const std::string& key, std::string_view what,
                         std::string_view value = {}) const {
    const std::string where = spec_.source == MonitorSpec().source
                                  ? "MonitorSpec.slo." + key
                                  : spec_.source + ": slo." + key;
    throw SetupError(where, what, value);
  }

 private:
  const MonitorSpec& spec_;
};

std::string Seconds(std::chrono::seconds s) {
  return fmt::format("{}s", static_cast<long long>(s.count()));
}

void CheckPrecision(const MonitorSpec& spec, const SloErrors& err) {
  const SloSpec::Precision& p = *spec.slo.min_precision;
  if (spec.outcome.task != OutcomeSpec::Task::kBinary) {
    err.Fail("min_precision",
             "needs task: binary (precision per decision threshold)");
  }
  if (!(p.value > 0 && p.value <= 1)) {
    err.Fail("min_precision.value", "not in (0, 1]",
             fmt::format("{}", p.value));
  }
  if (std::find(spec.outcome.thresholds.begin(), spec.outcome.thresholds.end(),
                p.threshold) == spec.outcome.thresholds.end()) {
    err.Fail("min_precision.threshold",
             fmt::format("not one of the configured thresholds [{}]",
                         fmt::join(spec.outcome.thresholds, ", ")),
             fmt::format("{}", p.threshold));
  }
  if (p.window.count() <= 0) {
    err.Fail("min_precision.window", "not a positive duration",
             Seconds(p.window));
  }
  if (p.min_samples < 1) {
    err.Fail("min_precision.min_samples", "not >= 1",
             fmt::format("{}", p.min_samples));
  }
}

void CheckObjective(const MonitorSpec& spec, const SloObjective& o,
                    const SloErrors& err) {
  if (!IsSet(o, spec.slo)) return;
  switch (o.value) {
    case SloValue::kRatio:
    case SloValue::kOpenRatio:
    case SloValue::kPositive: {
      const double v = *(spec.slo.*o.number);
      if (const char* problem = internal::NumberProblem(o.value, v)) {
        err.Fail(o.key, problem, fmt::format("{}", v));
      }
      break;
    }
    case SloValue::kDuration: {
      const std::chrono::seconds d = *(spec.slo.*o.duration);
      if (d.count() <= 0) {
        err.Fail(o.key, "not a positive duration", Seconds(d));
      }
      break;
    }
    case SloValue::kPrecision:
      CheckPrecision(spec, err);
      break;
  }
  if (o.number == &SloSpec::max_segment_gap) {
    if (spec.outcome.task != OutcomeSpec::Task::kBinary) {
      err.Fail(o.key,
               "needs task: binary (precision and recall per segment and "
               "threshold)");
    }
    if (!spec.segments.enabled()) {
      err.Fail(o.key,
               "needs segments: {name: ...} (the gap is between segments)");
    }
  }
  if (o.number == &SloSpec::max_shadow_disagreement &&
      spec.outcome.task != OutcomeSpec::Task::kBinary &&
      spec.outcome.task != OutcomeSpec::Task::kMulticlass) {
    err.Fail(o.key,
             "needs task: binary or multiclass (a regression challenger is "
             "compared by mlmon_shadow_absolute_difference)");
  }
}

}  // namespace

void ValidateSloSpec(const MonitorSpec& spec) {
  const SloSpec& slo = spec.slo;
  const SloErrors err(spec);
  // The segments' name reaches alert templates and panel titles: only a
  // label-like name may (a C++ spec is not checked by the YAML parser).
  internal::CheckSegments(internal::SpecContext("MonitorSpec"), spec.segments);
  for (const SloObjective& o : internal::SloCatalogue()) {
    CheckObjective(spec, o, err);
  }
  if (slo.for_duration.count() <= 0) {
    err.Fail("for", "not a positive duration", Seconds(slo.for_duration));
  }
  for (const auto& [k, d] : slo.for_overrides) {
    if (internal::FindSlo(k) == nullptr)
      err.Fail("for." + k, "not an objective");
    if (d.count() <= 0) {
      err.Fail("for." + k, "not a positive duration", Seconds(d));
    }
  }
  for (const auto& [k, level] : slo.severity) {
    if (internal::FindSlo(k) == nullptr) {
      err.Fail("severity." + k, "not an objective");
    }
    if (level != "page" && level != "ticket") {
      err.Fail("severity." + k, "not page or ticket", level);
    }
  }
  if (slo.runbook_url.empty()) err.Fail("runbook_url", "must not be empty");
}

}  // namespace mlmon
