// The Prometheus rule file of `mlmon rules`: recording rules over replicas
// and one alert per configured objective of the SLO catalogue.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "internal/fleet_drift_rules.h"
#include "internal/promql.h"
#include "internal/quality_rules.h"
#include "internal/slo_catalogue.h"
#include "mlmon/alerting.h"
#include "mlmon/duration.h"
#include "mlmon/monitor_spec.h"

namespace mlmon {

namespace {

using internal::PromSelector;
using internal::PromString;
using internal::SumRate;

// A YAML double-quoted scalar (a JSON string is one). Invalid UTF-8 is
// replaced rather than thrown on.
std::string Quote(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false,
                                nlohmann::json::error_handler_t::replace);
}

// Same formatting as the exporter's label values (shortest round trip).
std::string Num(double v) { return fmt::format("{}", v); }

struct Rule {
  std::string record;  // or
  std::string alert;
  std::string expr;
  std::string for_duration;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, std::string>> annotations;
  std::string comment;
};

// (part or whole * 0) / whole: 0 instead of no data when `part` has no
// series yet (e.g. no error was ever counted).
std::string Ratio(const std::string& part, const std::string& whole) {
  return fmt::format("({} or {} * 0) / {}", part, whole, whole);
}

std::string Quantile(double q, const std::string& by, const std::string& metric,
                     const std::string& sel, const std::string& range) {
  return fmt::format(
      "histogram_quantile({}, sum by ({}, le) (rate({}_bucket{}[{}])))", q, by,
      metric, sel, range);
}

constexpr const char* kBy = "model, version";

std::vector<Rule> RecordingRules(const MonitorSpec& spec) {
  const PromSelector sel(spec.model);
  std::vector<Rule> r;
  const auto rec = [&r](std::string name, std::string expr,
                        std::string comment = "") {
    Rule x;
    x.record = std::move(name);
    x.expr = std::move(expr);
    x.comment = std::move(comment);
    r.push_back(std::move(x));
  };
  const std::string by = kBy;

  // Golden signals.
  rec("mlmon:requests:rate5m", SumRate(by, "mlmon_requests_total", sel(), "5m"),
      "Golden signals: traffic, errors, latency, saturation.");
  rec("mlmon:request_errors:rate5m",
      SumRate(by, "mlmon_requests_total", sel("status=\"error\""), "5m"));
  rec("mlmon:request_error_ratio:rate5m",
      Ratio(SumRate(by, "mlmon_requests_total", sel("status=\"error\""), "5m"),
            SumRate(by, "mlmon_requests_total", sel(), "5m")));
  rec("mlmon:request_errors_by_reason:rate5m",
      SumRate(by + ", reason", "mlmon_request_errors_total", sel(), "5m"));
  rec("mlmon:request_duration_seconds:p50_rate5m",
      Quantile(0.5, by, "mlmon_request_duration_seconds", sel(), "5m"));
  rec("mlmon:request_duration_seconds:p99_rate5m",
      Quantile(0.99, by, "mlmon_request_duration_seconds", sel(), "5m"));
  rec("mlmon:request_duration_seconds:mean_rate5m",
      SumRate(by, "mlmon_request_duration_seconds_sum", sel(), "5m") + " / " +
          SumRate(by, "mlmon_request_duration_seconds_count", sel(), "5m"));
  rec("mlmon:requests_in_flight:sum",
      fmt::format("sum by ({}) (mlmon_requests_in_flight{})", by, sel()));
  rec("mlmon:queue_depth:max",
      fmt::format("max by ({}) (mlmon_queue_depth{})", by, sel()));
  rec("mlmon:dropped:rate5m",
      SumRate(by + ", reason", "mlmon_dropped_total", sel(), "5m"));

  // Response distribution.
  rec("mlmon:predictions:rate5m",
      SumRate(by, "mlmon_predictions_total", sel(), "5m"),
      "Response distribution.");
  rec("mlmon:predictions_by_class:rate5m",
      SumRate(by + ", class", "mlmon_predictions_total", sel(), "5m"));
  rec("mlmon:empty_response_share:rate5m",
      Ratio(SumRate(by, "mlmon_empty_responses_total", sel(), "5m"),
            SumRate(by, "mlmon_predictions_total", sel(), "5m")));
  for (const auto& [q, name] :
       {std::pair{0.5, "p50"}, {0.9, "p90"}, {0.99, "p99"}}) {
    rec(fmt::format("mlmon:prediction_score:{}_rate5m", name),
        Quantile(q, by, "mlmon_prediction_score", sel(), "5m"));
  }
  if (spec.outcome.task == OutcomeSpec::Task::kRanking) {
    rec("mlmon:response_items:p50_rate5m",
        Quantile(0.5, by, "mlmon_response_items", sel(), "5m"));
  }

  // Outcomes and quality.
  rec("mlmon:outcomes:rate5m",
      SumRate(by + ", result", "mlmon_outcomes_total", sel(), "5m"),
      "Outcomes (delayed ground truth) and quality.");
  rec("mlmon:outcome_staleness_seconds",
      fmt::format(
          "time() - max by ({}) (mlmon_last_outcome_timestamp_seconds{} > 0)",
          by, sel()));
  rec("mlmon:pending_predictions:sum",
      fmt::format("sum by ({}) (mlmon_pending_predictions{})", by, sel()));
  for (internal::QualityRule& q : internal::FleetQualityRules(spec)) {
    Rule x;
    x.record = std::move(q.record);
    x.expr = std::move(q.expr);
    x.labels = std::move(q.labels);
    x.comment = std::move(q.comment);
    r.push_back(std::move(x));
  }
  if (spec.outcome.task == OutcomeSpec::Task::kBinary) {
    const std::string tby = by + ", threshold";
    for (const std::string& w : internal::FleetRuleWindows(spec)) {
      rec("mlmon:precision:rate" + w,
          SumRate(tby, "mlmon_confusion_total",
                  sel("threshold!=\"\",predicted=\"1\",actual=\"1\""), w) +
              " / " +
              SumRate(tby, "mlmon_confusion_total",
                      sel("threshold!=\"\",predicted=\"1\""), w));
      rec("mlmon:recall:rate" + w,
          SumRate(tby, "mlmon_confusion_total",
                  sel("threshold!=\"\",predicted=\"1\",actual=\"1\""), w) +
              " / " +
              SumRate(tby, "mlmon_confusion_total",
                      sel("threshold!=\"\",actual=\"1\""), w));
    }
  }
  for (internal::QualityRule& q : internal::SegmentQualityRules(spec)) {
    Rule x;
    x.record = std::move(q.record);
    x.expr = std::move(q.expr);
    x.comment = std::move(q.comment);
    r.push_back(std::move(x));
  }
  if (spec.outcome.task == OutcomeSpec::Task::kBinary &&
      spec.distribution.value_range ==
          ResponseSpec::ValueRange::kUnitInterval) {
    // The fleet's estimated precision per distribution window: each
    // replica's estimate weighted by its decided positives (sum of TP / sum
    // of decided positives); `> -Inf` drops a replica whose estimate is NaN
    // (it decided no positive).
    const char* help =
        "Quality estimated without outcomes (CBPE), over replicas.";
    for (const std::chrono::seconds window : spec.distribution.windows) {
      const std::string w = FormatDuration(window);
      const std::string wsel = "window=" + PromString(w);
      rec("mlmon:estimated_precision:" + w,
          fmt::format(
              "sum by ({0}, threshold) ((mlmon_estimated_quality{1} > -Inf) "
              "* ignoring(metric) mlmon_estimated_quality{2}) / sum by ({0}, "
              "threshold) (mlmon_estimated_quality{2})",
              by, sel("metric=\"precision\"," + wsel),
              sel("metric=\"predicted_positives\"," + wsel)),
          help);
      help = "";
    }
  }
  if (spec.outcome.task == OutcomeSpec::Task::kRegression) {
    rec("mlmon:absolute_error:mae_rate1h",
        SumRate(by, "mlmon_absolute_error_sum", sel(), "1h") + " / " +
            SumRate(by, "mlmon_absolute_error_count", sel(), "1h"));
    rec("mlmon:squared_error:rmse_rate1h",
        "sqrt(" + SumRate(by, "mlmon_squared_error_total", sel(), "1h") +
            " / " + SumRate(by, "mlmon_absolute_error_count", sel(), "1h") +
            ")");
  }

  // Drift (gauges computed in process against the reference profile).
  rec("mlmon:drift_score_psi:max",
      fmt::format("max by ({}, signal) (mlmon_drift_score{})", by,
                  sel("method=\"psi\"")),
      "Drift of the score and of each feature from the training reference.");
  rec("mlmon:drift_score_linf:max",
      fmt::format("max by ({}, signal) (mlmon_drift_score{})", by,
                  sel("method=\"linf\"")));
  for (internal::FleetDriftRecording& x :
       internal::FleetDriftRecordings(spec, sel.model_matcher())) {
    Rule rule;
    rule.record = std::move(x.record);
    rule.expr = std::move(x.expr);
    if (!x.window.empty()) rule.labels = {{"window", std::move(x.window)}};
    rule.comment = std::move(x.comment);
    r.push_back(std::move(rule));
  }

  // Heuristics.
  rec("mlmon:heuristic_failure_ratio:rate5m",
      Ratio(SumRate(by + ", heuristic", "mlmon_heuristic_checks_total",
                    sel("result=\"fail\""), "5m"),
            SumRate(by + ", heuristic", "mlmon_heuristic_checks_total", sel(),
                    "5m")),
      "Application quality heuristics.");
  rec("mlmon:heuristic_value:p50_rate5m",
      Quantile(0.5, by + ", heuristic", "mlmon_heuristic_value", sel(), "5m"));

  // Inputs.
  rec("mlmon:feature_problem_ratio:rate5m",
      Ratio(
          SumRate(by + ", feature", "mlmon_feature_values_total",
                  sel("status!=\"ok\""), "5m"),
          SumRate(by + ", feature", "mlmon_feature_values_total", sel(), "5m")),
      "Input data checks.");
  rec("mlmon:feature_values:rate5m",
      SumRate(by + ", feature, status", "mlmon_feature_values_total", sel(),
              "5m"));

  // Rollout: shadow comparison of challengers and the model's age.
  const std::string cby = by + ", challenger";
  rec("mlmon:shadow_comparisons:rate5m",
      SumRate(cby, "mlmon_shadow_comparisons_total", sel(), "5m"),
      "Rollout: challengers compared with the champion, and model age.");
  if (spec.outcome.task == OutcomeSpec::Task::kBinary ||
      spec.outcome.task == OutcomeSpec::Task::kMulticlass) {
    // Every disagreement series exists from the comparison's construction,
    // so the ratio is 0, not absent, while the versions agree.
    rec("mlmon:shadow_disagreement_ratio:rate1h",
        SumRate(cby + ", threshold", "mlmon_shadow_disagreements_total", sel(),
                "1h") +
            " / on (" + cby + ") group_left " +
            SumRate(cby, "mlmon_shadow_comparisons_total", sel(), "1h"));
  }
  if (spec.outcome.task == OutcomeSpec::Task::kBinary ||
      spec.outcome.task == OutcomeSpec::Task::kRegression) {
    rec("mlmon:shadow_absolute_difference:p50_rate5m",
        Quantile(0.5, cby, "mlmon_shadow_absolute_difference", sel(), "5m"));
    rec("mlmon:shadow_absolute_difference:p99_rate5m",
        Quantile(0.99, cby, "mlmon_shadow_absolute_difference", sel(), "5m"));
  }
  // The oldest load of each version still exported by a replica.
  rec("mlmon:model_age_seconds",
      fmt::format(
          "time() - min by ({}) (mlmon_model_loaded_timestamp_seconds{})", by,
          sel()));
  return r;
}

// Who an alert is about, in its summary.
constexpr const char* kWho =
    "{{ $labels.model }} (version {{ $labels.version }})";

// Alerts that come with the set-up rather than an objective: a Redis
// pending store that this replica cannot reach loses joins (predictions
// are buffered, then dropped; feedback is answered 503).
void AddInfrastructureAlerts(const MonitorSpec& spec, std::vector<Rule>* r) {
  if (spec.outcome.store.backend != PendingStoreSpec::Backend::kRedis) return;
  const std::string by = "model, version, instance";
  Rule x;
  x.alert = "MlmonPendingStoreDown";
  x.expr = fmt::format("min by ({}) (mlmon_pending_store_up{}) == 0", by,
                       PromSelector(spec.model)());
  x.for_duration = "1m";
  x.labels = {{"severity", "page"}};
  const std::string runbook = spec.slo.runbook_url + "#mlmonpendingstoredown";
  x.annotations = {
      {"summary", std::string(kWho) +
                      ": replica {{ $labels.instance }} cannot reach the "
                      "shared pending store (Redis)"},
      {"description",
       "Predictions are buffered in the replica (up to max_buffered), then "
       "dropped (mlmon_dropped_total{reason=\"store_unavailable\"}); "
       "feedback is answered 503 and must be retried. Check Redis (up, "
       "memory, network, password) and mlmon_pending_store_errors_total{op}. "
       "Runbook: " +
           runbook},
      {"runbook_url", runbook}};
  x.comment = "pending_store: redis";
  r->push_back(std::move(x));
}

// One alert per configured objective, in catalogue order (a row whose alert
// text is empty does not apply to this spec).
std::vector<Rule> AlertingRules(const MonitorSpec& spec) {
  const SloSpec& slo = spec.slo;
  std::vector<Rule> r;
  for (const internal::SloObjective& o : internal::SloCatalogue()) {
    if (!internal::IsSet(o, slo)) continue;
    internal::SloAlertText text = o.rule(spec);
    if (text.expr.empty()) continue;
    Rule x;
    x.alert = o.alert;
    x.expr = std::move(text.expr);
    const auto f = slo.for_overrides.find(o.key);
    x.for_duration = FormatDuration(
        f == slo.for_overrides.end() ? slo.for_duration : f->second);
    const auto s = slo.severity.find(o.key);
    x.labels = {
        {"severity", s == slo.severity.end() ? o.default_severity : s->second}};
    const std::string runbook =
        slo.runbook_url + "#" + internal::RunbookAnchor(o.alert);
    x.annotations = {{"summary", std::move(text.summary)},
                     {"description", text.description + " Runbook: " + runbook},
                     {"runbook_url", runbook}};
    x.comment = std::string("slo.") + o.key;
    r.push_back(std::move(x));
  }
  AddInfrastructureAlerts(spec, &r);
  return r;
}

void EmitRules(std::string* out, const std::string& group,
               const std::vector<Rule>& rules) {
  *out += "  - name: " + Quote(group) + "\n    rules:\n";
  for (const Rule& x : rules) {
    if (!x.comment.empty()) *out += "      # " + x.comment + "\n";
    if (!x.record.empty()) {
      *out += "      - record: " + x.record + "\n";
    } else {
      *out += "      - alert: " + x.alert + "\n";
    }
    *out += "        expr: " + Quote(x.expr) + "\n";
    if (!x.for_duration.empty())
      *out += "        for: " + x.for_duration + "\n";
    if (!x.labels.empty()) {
      *out += "        labels:\n";
      for (const auto& [k, v] : x.labels)
        *out += "          " + k + ": " + Quote(v) + "\n";
    }
    if (!x.annotations.empty()) {
      *out += "        annotations:\n";
      for (const auto& [k, v] : x.annotations) {
        *out += "          " + k + ": " + Quote(v) + "\n";
      }
    }
  }
}

}  // namespace

namespace internal {

// The distribution window MlmonEstimatedPrecisionLow reads: that of
// `slo.min_precision.window` if the distribution has it, else its longest
// window not longer, else its shortest; "" when the alert does not apply (no
// min_precision, no binary task, no distribution window, or the threshold is
// not an estimate threshold).
std::string EstimatedPrecisionWindow(const MonitorSpec& spec) {
  const ResponseSpec& d = spec.distribution;
  if (spec.outcome.task != OutcomeSpec::Task::kBinary ||
      d.value_range != ResponseSpec::ValueRange::kUnitInterval ||
      d.windows.empty()) {
    return "";
  }
  const std::chrono::seconds shortest =
      *std::min_element(d.windows.begin(), d.windows.end());
  if (!spec.slo.min_precision) return FormatDuration(shortest);
  const SloSpec::Precision& p = *spec.slo.min_precision;
  std::vector<double> thresholds = d.estimate_thresholds;
  if (thresholds.empty()) thresholds = {d.decision_threshold};
  if (std::find(thresholds.begin(), thresholds.end(), p.threshold) ==
      thresholds.end()) {
    return "";
  }
  std::chrono::seconds best{0};
  for (const std::chrono::seconds w : d.windows) {
    if (w <= p.window && w > best) best = w;
  }
  return FormatDuration(best.count() > 0 ? best : shortest);
}

SloAlertText LatencyP99Alert(const MonitorSpec& spec) {
  const std::string t = Num(*spec.slo.latency_p99_seconds);
  return {fmt::format("mlmon:request_duration_seconds:p99_rate5m{} > {}",
                      PromSelector(spec.model)(), t),
          std::string(kWho) +
              ": p99 latency {{ $value | humanizeDuration }} is above the " +
              t + " s SLO",
          "Requests are slow across the fleet (p99 over all replicas, 5m). "
          "Look first at saturation (mlmon_requests_in_flight, "
          "mlmon_queue_depth) and at whether one replica or a new version is "
          "the outlier, then at the host's CPU and dependencies."};
}

SloAlertText ErrorRatioAlert(const MonitorSpec& spec) {
  const std::string t = Num(*spec.slo.error_ratio);
  return {fmt::format("mlmon:request_error_ratio:rate5m{} > {}",
                      PromSelector(spec.model)(), t),
          std::string(kWho) +
              ": {{ $value | humanizePercentage }} of requests fail (SLO " + t +
              ")",
          "The serving path returns errors. Look first at the errors by "
          "reason (mlmon:request_errors_by_reason:rate5m, "
          "mlmon_request_errors_total) and the server logs, and at whether a "
          "deploy (new version label) started it."};
}

SloAlertText PrecisionAlert(const MonitorSpec& spec) {
  const SloSpec::Precision& p = *spec.slo.min_precision;
  const PromSelector sel(spec.model);
  const std::string w = FormatDuration(p.window);
  const std::string t = "threshold=" + PromString(Num(p.threshold));
  // `and` keeps the precision as the alert's value; the right side gates
  // it on enough judged positive predictions in the window.
  return {
      fmt::format(
          "mlmon:precision:rate{}{} < {} and on (model, version, threshold) "
          "sum by (model, version, threshold) "
          "(increase(mlmon_confusion_total{}[{}])) >= {}",
          w, sel(t), Num(p.value), sel(t + ",predicted=\"1\""), w,
          p.min_samples),
      std::string(kWho) +
          ": precision at threshold {{ $labels.threshold }} is {{ $value | "
          "humanizePercentage }} over " +
          w + " (SLO >= " + Num(p.value) + ")",
      "Predictions judged by their true outcomes got worse. Look first at the "
      "response distribution (score quantiles, class balance, score drift) "
      "for degenerate outputs, then at input drift and feature problems, and "
      "check that outcomes are still matched (mlmon_outcomes_total by "
      "result)."};
}

SloAlertText EstimatedPrecisionAlert(const MonitorSpec& spec) {
  const SloSpec::Precision& p = *spec.slo.min_precision;
  const std::string w = EstimatedPrecisionWindow(spec);
  if (w.empty()) return {};  // no distribution window to estimate in
  const PromSelector sel(spec.model);
  const std::string t = "threshold=" + PromString(Num(p.threshold));
  // Gated like MlmonPrecisionLow, on decided positives in the window (no
  // outcome needed).
  return {
      fmt::format(
          "mlmon:estimated_precision:{}{} < {} and on (model, "
          "version, threshold) sum by (model, version, threshold) "
          "(mlmon_estimated_quality{}) >= {}",
          w, sel(t), Num(p.value),
          sel(t + ",metric=\"predicted_positives\",window=" + PromString(w)),
          p.min_samples),
      std::string(kWho) +
          ": estimated precision at threshold {{ $labels.threshold }} is {{ "
          "$value | humanizePercentage }} over " +
          w + " (SLO >= " + Num(p.value) + "), before any outcome",
      "Estimated from the scores alone with the training calibration (no "
      "outcome needed): the model now decides positive where it was unsure "
      "in training, so precision is expected to fall once outcomes arrive. "
      "Look first at what moved the population (score quantiles and class "
      "balance, input drift, a new traffic source or campaign); the estimate "
      "assumes the scores still mean what they meant in training, so a "
      "broken model (inverted or constant scores) shows in score drift and "
      "MlmonPrecisionLow, not here."};
}

SloAlertText EmptyShareAlert(const MonitorSpec& spec) {
  const std::string t = Num(*spec.slo.max_empty_share);
  return {fmt::format("mlmon:empty_response_share:rate5m{} > {}",
                      PromSelector(spec.model)(), t),
          std::string(kWho) +
              ": {{ $value | humanizePercentage }} of responses are empty "
              "(SLO " +
              t + ")",
          "Users get nothing back. Look first at post-processing filters and "
          "business rules applied after the model, then at the candidate "
          "source and the score distribution "
          "(mlmon:prediction_score:p50_rate5m)."};
}

SloAlertText HeuristicFailureAlert(const MonitorSpec& spec) {
  const std::string t = Num(*spec.slo.max_heuristic_failure_ratio);
  return {fmt::format("mlmon:heuristic_failure_ratio:rate5m{} > {}",
                      PromSelector(spec.model)(), t),
          std::string(kWho) +
              ": heuristic {{ $labels.heuristic }} fails {{ $value | "
              "humanizePercentage }} of checks (SLO " +
              t + ")",
          "An application-specific quality check fails on live responses. "
          "Look first at what changed in the model or its post-processing "
          "(version label, recent deploys), then at the response "
          "distribution and input drift."};
}

SloAlertText OutcomeStalenessAlert(const MonitorSpec& spec) {
  const std::chrono::seconds max = *spec.slo.max_outcome_staleness;
  const std::string t = Num(static_cast<double>(max.count()));
  return {fmt::format("mlmon:outcome_staleness_seconds{} > {}",
                      PromSelector(spec.model)(), t),
          std::string(kWho) +
              ": no outcome for {{ $value | humanizeDuration }} (SLO " +
              FormatDuration(max) + ")",
          "Ground truth stopped arriving, so quality metrics are blind. Look "
          "first at the feedback producer (POST /v1/outcomes callers, the "
          "replay job), then at mlmon_outcomes_total by result (unmatched or "
          "invalid feedback)."};
}

SloAlertText DriftPsiAlert(const MonitorSpec& spec) {
  const std::string t = Num(*spec.slo.max_drift_psi);
  // The fleet PSI of every drift window (each series has its `window`
  // label, so `or` keeps them all); the alert's value is the largest.
  std::string fleet;
  for (const std::string& w : internal::FleetDriftWindows(spec)) {
    fleet += (fleet.empty() ? "" : " or ") + internal::FleetDriftPsiName(w) +
             PromSelector(spec.model)();
  }
  if (fleet.empty())
    fleet = "mlmon:drift_score_psi:max" + PromSelector(spec.model)();
  return {fmt::format("max by (model, version, signal) ({}) > {}", fleet, t),
          std::string(kWho) +
              ": {{ $labels.signal }} drifted from the training reference "
              "(PSI {{ $value | printf \"%.3f\" }} > " +
              t + ")",
          "The distribution of {{ $labels.signal }} moved away from training. "
          "If it is a feature, look first at its producer (a unit change such "
          "as seconds to milliseconds shows as a jump in "
          "mlmon_feature_magnitude), then at whether output quality moved "
          "too; if it is the score, look at the outputs."};
}

SloAlertText FeatureProblemAlert(const MonitorSpec& spec) {
  const std::string t = Num(*spec.slo.max_feature_problem_ratio);
  return {fmt::format("mlmon:feature_problem_ratio:rate5m{} > {}",
                      PromSelector(spec.model)(), t),
          std::string(kWho) +
              ": {{ $value | humanizePercentage }} of values of feature {{ "
              "$labels.feature }} are missing, NaN, out of range or unseen "
              "(SLO " +
              t + ")",
          "An input arrives broken. Look first at the status breakdown "
          "(mlmon:feature_values:rate5m) to see which check fails, then at "
          "the upstream producer of the feature."};
}

// Compared requests a challenger needs in the hour before its disagreement
// ratio can alert: below it one odd request moves the ratio by percents.
constexpr int kShadowMinComparisons = 100;

SloAlertText ShadowDisagreementAlert(const MonitorSpec& spec) {
  const std::string t = Num(*spec.slo.max_shadow_disagreement);
  const PromSelector sel(spec.model);
  return {
      fmt::format("mlmon:shadow_disagreement_ratio:rate1h{} > {} and on "
                  "(model, version, challenger) sum by (model, version, "
                  "challenger) (increase(mlmon_shadow_comparisons_total{}"
                  "[1h])) >= {}",
                  sel(), t, sel(), kShadowMinComparisons),
      std::string(kWho) +
          ": challenger {{ $labels.challenger }} disagrees with the champion "
          "on {{ $value | humanizePercentage }} of compared requests{{ with "
          "$labels.threshold }} at threshold {{ . }}{{ end }} over 1h (SLO " +
          t + ")",
      "The challenger decides differently from the champion on live traffic "
      "more often than expected. Do not promote it yet. Look first at the "
      "absolute difference of their scores "
      "(mlmon:shadow_absolute_difference:p99_rate5m): many small differences "
      "around the threshold point to a recalibrated challenger, large ones "
      "to a broken one (wrong features, wrong artifact); then compare the "
      "two versions' score distributions and inputs."};
}

SloAlertText ModelAgeAlert(const MonitorSpec& spec) {
  const std::chrono::seconds max = *spec.slo.max_model_age;
  const std::string t = Num(static_cast<double>(max.count()));
  return {fmt::format("mlmon:model_age_seconds{} > {}",
                      PromSelector(spec.model)(), t),
          std::string(kWho) +
              ": loaded {{ $value | humanizeDuration }} ago (SLO " +
              FormatDuration(max) + ")",
          "This version has served longer than the model-age objective, so "
          "the data it learnt from grows older than the traffic it scores. "
          "Check the retraining pipeline and roll a new version, or raise "
          "slo.max_model_age if the model is meant to live longer. The age "
          "restarts when every replica has restarted."};
}

SloAlertText SegmentGapAlert(const MonitorSpec& spec) {
  const std::string t = Num(*spec.slo.max_segment_gap);
  const std::string w = internal::SegmentGapWindow(spec);
  const PromSelector sel(spec.model);
  // Both gaps, told apart by `metric` (the same labels otherwise).
  const auto gap = [&](const char* metric) {
    return fmt::format(
        "label_replace(mlmon:segment_{}_gap:rate{}{} > {}, \"metric\", "
        "\"{}\", \"\", \"\")",
        metric, w, sel(), t, metric);
  };
  // The worst and the best segment of the alert's metric and threshold, by
  // a query at the time the annotation is expanded.
  const std::string rule =
      "printf \"mlmon:segment_%s:rate" + w +
      "{model=%q,version=%q,threshold=%q}\" $labels.metric $labels.model "
      "$labels.version $labels.threshold";
  const auto pick = [&rule](const char* fn, const char* what) {
    return std::string("{{ range query (printf \"") + fn + "(1, %s)\" (" +
           rule + ")) }}" + what +
           " {{ .Labels.segment }} ({{ .Value | humanizePercentage }}){{ "
           "end }}";
  };
  return {
      gap("precision") + " or " + gap("recall"),
      std::string(kWho) +
          ": {{ $labels.metric }} at threshold {{ "
          "$labels.threshold }} differs by {{ $value | "
          "humanizePercentage }} between " +
          spec.segments.name + " segments over " + w + ": " +
          pick("bottomk", "worst") + ", " + pick("topk", "best") +
          " (SLO gap <= " + t + ")",
      "One group of users gets markedly worse decisions than another (only "
      "segments with >= " +
          std::to_string(internal::kSegmentMinPositives) +
          " predicted positives for precision, or actual positives for "
          "recall, in the window count). List the segments worst first with "
          "sort(mlmon:segment_{{ $labels.metric }}:rate" +
          w +
          "{model=\"{{ $labels.model }}\",version=\"{{ $labels.version "
          "}}\",threshold=\"{{ $labels.threshold }}\"}) and compare the "
          "worst one's volume, score "
          "distribution and inputs with the others: a feature missing or "
          "broken for that group, a new traffic source, or a population the "
          "training data under-represents."};
}

}  // namespace internal

std::string GenerateRules(const MonitorSpec& spec) {
  ValidateSloSpec(spec);
  std::string out = fmt::format(
      "# Prometheus rules for model {}, generated by `mlmon rules` from {}.\n"
      "# Do not edit: change the monitor.yaml and regenerate.\n"
      "# Recording rules aggregate over replicas by (model, version); alerts "
      "come\n"
      "# from the slo: section (severity page = symptom, ticket = cause).\n"
      "groups:\n",
      Quote(spec.model), Quote(spec.source));
  EmitRules(&out, "mlmon." + spec.model + ".recording", RecordingRules(spec));
  const std::vector<Rule> alerts = AlertingRules(spec);
  if (!alerts.empty())
    EmitRules(&out, "mlmon." + spec.model + ".alerts", alerts);
  return out;
}

}  // namespace mlmon
