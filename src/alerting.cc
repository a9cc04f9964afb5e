#include "mlmon/alerting.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "mlmon/duration.h"
#include "mlmon/errors.h"
#include "mlmon/monitor_spec.h"
#include "mlmon/outcome_tracker.h"

namespace mlmon {

const std::vector<std::string> kSloKeys = {
    "latency_p99_seconds",   "error_ratio",
    "min_precision",         "max_empty_share",
    "max_heuristic_failure_ratio", "max_outcome_staleness",
    "max_drift_psi",         "max_feature_problem_ratio",
};

std::string SloAlertName(const std::string& slo_key) {
  static const std::map<std::string, std::string> kNames = {
      {"latency_p99_seconds", "MlmonLatencyP99High"},
      {"error_ratio", "MlmonErrorRatioHigh"},
      {"min_precision", "MlmonPrecisionLow"},
      {"max_empty_share", "MlmonEmptyResponseShareHigh"},
      {"max_heuristic_failure_ratio", "MlmonHeuristicFailureRatioHigh"},
      {"max_outcome_staleness", "MlmonOutcomesStale"},
      {"max_drift_psi", "MlmonDriftPsiHigh"},
      {"max_feature_problem_ratio", "MlmonFeatureProblemRatioHigh"},
  };
  const auto it = kNames.find(slo_key);
  if (it == kNames.end()) {
    throw ConfigError(fmt::format("'{}' is not an SLO objective", slo_key));
  }
  return it->second;
}

std::string DefaultSloSeverity(const std::string& slo_key) {
  SloAlertName(slo_key);  // throws for an unknown key
  // Causes (the inputs moved) open a ticket; symptoms (what users and the
  // business see: latency, errors, outputs, outcomes) page.
  return slo_key == "max_drift_psi" || slo_key == "max_feature_problem_ratio"
             ? "ticket"
             : "page";
}

namespace {

[[noreturn]] void Bad(const MonitorSpec& spec, const std::string& key,
                      const std::string& why) {
  throw ConfigError(fmt::format("{}: key 'slo.{}': {}", spec.source, key, why));
}

void CheckRatio(const MonitorSpec& spec, const std::string& key,
                const std::optional<double>& v) {
  if (v && !(*v >= 0 && *v <= 1)) Bad(spec, key, fmt::format("{} is not in [0, 1]", *v));
}

void CheckPositive(const MonitorSpec& spec, const std::string& key,
                   const std::optional<double>& v) {
  if (v && !(*v > 0 && std::isfinite(*v))) {
    Bad(spec, key, fmt::format("{} is not a positive number", *v));
  }
}

// A PromQL double-quoted string literal.
std::string PromString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

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

// Everything the generated expressions select on: `model="<m>"` plus extra
// matchers.
class Sel {
 public:
  explicit Sel(const MonitorSpec& spec) : model_("model=" + PromString(spec.model)) {}
  std::string operator()(const std::string& extra = "") const {
    return "{" + model_ + (extra.empty() ? "" : "," + extra) + "}";
  }

 private:
  std::string model_;
};

std::string SumRate(const std::string& by, const std::string& metric,
                    const std::string& sel, const std::string& range) {
  return fmt::format("sum by ({}) (rate({}{}[{}]))", by, metric, sel, range);
}

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

std::vector<std::string> PrecisionWindows(const MonitorSpec& spec) {
  std::vector<std::string> w = {"1h"};
  if (spec.slo.min_precision) {
    const std::string s = FormatDuration(spec.slo.min_precision->window);
    if (s != "1h") w.push_back(s);
  }
  return w;
}

std::vector<Rule> RecordingRules(const MonitorSpec& spec) {
  const Sel sel(spec);
  std::vector<Rule> r;
  const auto rec = [&r](std::string name, std::string expr, std::string comment = "") {
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
  rec("mlmon:queue_depth:max", fmt::format("max by ({}) (mlmon_queue_depth{})", by, sel()));
  rec("mlmon:dropped:rate5m", SumRate(by + ", reason", "mlmon_dropped_total", sel(), "5m"));

  // Response distribution.
  rec("mlmon:predictions:rate5m", SumRate(by, "mlmon_predictions_total", sel(), "5m"),
      "Response distribution.");
  rec("mlmon:predictions_by_class:rate5m",
      SumRate(by + ", class", "mlmon_predictions_total", sel(), "5m"));
  rec("mlmon:empty_response_share:rate5m",
      Ratio(SumRate(by, "mlmon_empty_responses_total", sel(), "5m"),
            SumRate(by, "mlmon_predictions_total", sel(), "5m")));
  for (const auto& [q, name] : {std::pair{0.5, "p50"}, {0.9, "p90"}, {0.99, "p99"}}) {
    rec(fmt::format("mlmon:prediction_score:{}_rate5m", name),
        Quantile(q, by, "mlmon_prediction_score", sel(), "5m"));
  }
  if (spec.outcome.task == OutcomeSpec::Task::kRanking) {
    rec("mlmon:response_items:p50_rate5m",
        Quantile(0.5, by, "mlmon_response_items", sel(), "5m"));
  }

  // Outcomes and quality.
  rec("mlmon:outcomes:rate5m", SumRate(by + ", result", "mlmon_outcomes_total", sel(), "5m"),
      "Outcomes (delayed ground truth) and quality.");
  rec("mlmon:outcome_staleness_seconds",
      fmt::format("time() - max by ({}) (mlmon_last_outcome_timestamp_seconds{} > 0)",
                  by, sel()));
  rec("mlmon:pending_predictions:sum",
      fmt::format("sum by ({}) (mlmon_pending_predictions{})", by, sel()));
  if (spec.outcome.task == OutcomeSpec::Task::kBinary) {
    const std::string tby = by + ", threshold";
    for (const std::string& w : PrecisionWindows(spec)) {
      rec("mlmon:precision:rate" + w,
          SumRate(tby, "mlmon_confusion_total",
                  sel("threshold!=\"\",predicted=\"1\",actual=\"1\""), w) +
              " / " +
              SumRate(tby, "mlmon_confusion_total", sel("threshold!=\"\",predicted=\"1\""),
                      w));
      rec("mlmon:recall:rate" + w,
          SumRate(tby, "mlmon_confusion_total",
                  sel("threshold!=\"\",predicted=\"1\",actual=\"1\""), w) +
              " / " +
              SumRate(tby, "mlmon_confusion_total", sel("threshold!=\"\",actual=\"1\""), w));
    }
  }
  if (spec.outcome.task == OutcomeSpec::Task::kRegression) {
    rec("mlmon:absolute_error:mae_rate1h",
        SumRate(by, "mlmon_absolute_error_sum", sel(), "1h") + " / " +
            SumRate(by, "mlmon_absolute_error_count", sel(), "1h"));
    rec("mlmon:squared_error:rmse_rate1h",
        "sqrt(" + SumRate(by, "mlmon_squared_error_total", sel(), "1h") + " / " +
            SumRate(by, "mlmon_absolute_error_count", sel(), "1h") + ")");
  }

  // Drift (gauges computed in process against the reference profile).
  rec("mlmon:drift_score_psi:max",
      fmt::format("max by ({}, signal) (mlmon_drift_score{})", by, sel("method=\"psi\"")),
      "Drift of the score and of each feature from the training reference.");
  rec("mlmon:drift_score_linf:max",
      fmt::format("max by ({}, signal) (mlmon_drift_score{})", by, sel("method=\"linf\"")));

  // Heuristics.
  rec("mlmon:heuristic_failure_ratio:rate5m",
      Ratio(SumRate(by + ", heuristic", "mlmon_heuristic_checks_total",
                    sel("result=\"fail\""), "5m"),
            SumRate(by + ", heuristic", "mlmon_heuristic_checks_total", sel(), "5m")),
      "Application quality heuristics.");
  rec("mlmon:heuristic_value:p50_rate5m",
      Quantile(0.5, by + ", heuristic", "mlmon_heuristic_value", sel(), "5m"));

  // Inputs.
  rec("mlmon:feature_problem_ratio:rate5m",
      Ratio(SumRate(by + ", feature", "mlmon_feature_values_total", sel("status!=\"ok\""),
                    "5m"),
            SumRate(by + ", feature", "mlmon_feature_values_total", sel(), "5m")),
      "Input data checks.");
  rec("mlmon:feature_values:rate5m",
      SumRate(by + ", feature, status", "mlmon_feature_values_total", sel(), "5m"));
  return r;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<Rule> AlertingRules(const MonitorSpec& spec) {
  const SloSpec& slo = spec.slo;
  const Sel sel(spec);
  std::vector<Rule> r;
  const std::string who = "{{ $labels.model }} (version {{ $labels.version }})";
  const auto alert = [&](const std::string& key, std::string expr, std::string summary,
                         std::string description) {
    Rule x;
    x.alert = SloAlertName(key);
    x.expr = std::move(expr);
    const auto f = slo.for_overrides.find(key);
    x.for_duration =
        FormatDuration(f == slo.for_overrides.end() ? slo.for_duration : f->second);
    const auto s = slo.severity.find(key);
    x.labels = {{"severity", s == slo.severity.end() ? DefaultSloSeverity(key) : s->second}};
    const std::string runbook = slo.runbook_url + "#" + Lower(x.alert);
    x.annotations = {{"summary", std::move(summary)},
                     {"description", description + " Runbook: " + runbook},
                     {"runbook_url", runbook}};
    x.comment = "slo." + key;
    r.push_back(std::move(x));
  };

  if (slo.latency_p99_seconds) {
    const std::string t = Num(*slo.latency_p99_seconds);
    alert("latency_p99_seconds",
          fmt::format("mlmon:request_duration_seconds:p99_rate5m{} > {}", sel(), t),
          who + ": p99 latency {{ $value | humanizeDuration }} is above the " + t + " s SLO",
          "Requests are slow across the fleet (p99 over all replicas, 5m). Look first at "
          "saturation (mlmon_requests_in_flight, mlmon_queue_depth) and at whether one "
          "replica or a new version is the outlier, then at the host's CPU and "
          "dependencies.");
  }
  if (slo.error_ratio) {
    const std::string t = Num(*slo.error_ratio);
    alert("error_ratio",
          fmt::format("mlmon:request_error_ratio:rate5m{} > {}", sel(), t),
          who + ": {{ $value | humanizePercentage }} of requests fail (SLO " + t + ")",
          "The serving path returns errors. Look first at the errors by reason "
          "(mlmon:request_errors_by_reason:rate5m, mlmon_request_errors_total) and the "
          "server logs, and at whether a deploy (new version label) started it.");
  }
  if (slo.min_precision) {
    const auto& p = *slo.min_precision;
    const std::string w = FormatDuration(p.window);
    const std::string t = "threshold=" + PromString(Num(p.threshold));
    // `and` keeps the precision as the alert's value; the right side gates
    // it on enough judged positive predictions in the window.
    alert("min_precision",
          fmt::format("mlmon:precision:rate{}{} < {} and on (model, version, threshold) "
                      "sum by (model, version, threshold) (increase(mlmon_confusion_total{}[{}])) "
                      ">= {}",
                      w, sel(t), Num(p.value), sel(t + ",predicted=\"1\""), w, p.min_samples),
          who + ": precision at threshold {{ $labels.threshold }} is {{ $value | "
                "humanizePercentage }} over " + w + " (SLO >= " + Num(p.value) + ")",
          "Predictions judged by their true outcomes got worse. Look first at the "
          "response distribution (score quantiles, class balance, score drift) for "
          "degenerate outputs, then at input drift and feature problems, and check that "
          "outcomes are still matched (mlmon_outcomes_total by result).");
  }
  if (slo.max_empty_share) {
    const std::string t = Num(*slo.max_empty_share);
    alert("max_empty_share",
          fmt::format("mlmon:empty_response_share:rate5m{} > {}", sel(), t),
          who + ": {{ $value | humanizePercentage }} of responses are empty (SLO " + t + ")",
          "Users get nothing back. Look first at post-processing filters and business "
          "rules applied after the model, then at the candidate source and the score "
          "distribution (mlmon:prediction_score:p50_rate5m).");
  }
  if (slo.max_heuristic_failure_ratio) {
    const std::string t = Num(*slo.max_heuristic_failure_ratio);
    alert("max_heuristic_failure_ratio",
          fmt::format("mlmon:heuristic_failure_ratio:rate5m{} > {}", sel(), t),
          who + ": heuristic {{ $labels.heuristic }} fails {{ $value | "
                "humanizePercentage }} of checks (SLO " + t + ")",
          "An application-specific quality check fails on live responses. Look first at "
          "what changed in the model or its post-processing (version label, recent "
          "deploys), then at the response distribution and input drift.");
  }
  if (slo.max_outcome_staleness) {
    const std::string t = Num(static_cast<double>(slo.max_outcome_staleness->count()));
    alert("max_outcome_staleness",
          fmt::format("mlmon:outcome_staleness_seconds{} > {}", sel(), t),
          who + ": no outcome for {{ $value | humanizeDuration }} (SLO " +
              FormatDuration(*slo.max_outcome_staleness) + ")",
          "Ground truth stopped arriving, so quality metrics are blind. Look first at the "
          "feedback producer (POST /v1/outcomes callers, the replay job), then at "
          "mlmon_outcomes_total by result (unmatched or invalid feedback).");
  }
  if (slo.max_drift_psi) {
    const std::string t = Num(*slo.max_drift_psi);
    alert("max_drift_psi",
          fmt::format("mlmon:drift_score_psi:max{} > {}", sel(), t),
          who + ": {{ $labels.signal }} drifted from the training reference (PSI "
                "{{ $value | printf \"%.3f\" }} > " + t + ")",
          "The distribution of {{ $labels.signal }} moved away from training. If it is a "
          "feature, look first at its producer (a unit change such as seconds to "
          "milliseconds shows as a jump in mlmon_feature_magnitude), then at whether "
          "output quality moved too; if it is the score, look at the outputs.");
  }
  if (slo.max_feature_problem_ratio) {
    const std::string t = Num(*slo.max_feature_problem_ratio);
    alert("max_feature_problem_ratio",
          fmt::format("mlmon:feature_problem_ratio:rate5m{} > {}", sel(), t),
          who + ": {{ $value | humanizePercentage }} of values of feature {{ "
                "$labels.feature }} are missing, NaN, out of range or unseen (SLO " + t + ")",
          "An input arrives broken. Look first at the status breakdown "
          "(mlmon:feature_values:rate5m) to see which check fails, then at the upstream "
          "producer of the feature.");
  }
  return r;
}

void EmitRules(std::string* out, const std::string& group, const std::vector<Rule>& rules) {
  *out += "  - name: " + Quote(group) + "\n    rules:\n";
  for (const Rule& x : rules) {
    if (!x.comment.empty()) *out += "      # " + x.comment + "\n";
    if (!x.record.empty()) {
      *out += "      - record: " + x.record + "\n";
    } else {
      *out += "      - alert: " + x.alert + "\n";
    }
    *out += "        expr: " + Quote(x.expr) + "\n";
    if (!x.for_duration.empty()) *out += "        for: " + x.for_duration + "\n";
    if (!x.labels.empty()) {
      *out += "        labels:\n";
      for (const auto& [k, v] : x.labels) *out += "          " + k + ": " + Quote(v) + "\n";
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

void ValidateSloSpec(const MonitorSpec& spec) {
  const SloSpec& slo = spec.slo;
  CheckPositive(spec, "latency_p99_seconds", slo.latency_p99_seconds);
  CheckRatio(spec, "error_ratio", slo.error_ratio);
  CheckRatio(spec, "max_empty_share", slo.max_empty_share);
  CheckPositive(spec, "max_drift_psi", slo.max_drift_psi);
  CheckRatio(spec, "max_feature_problem_ratio", slo.max_feature_problem_ratio);
  CheckRatio(spec, "max_heuristic_failure_ratio", slo.max_heuristic_failure_ratio);
  if (slo.max_outcome_staleness && slo.max_outcome_staleness->count() <= 0) {
    Bad(spec, "max_outcome_staleness", "must be a positive duration");
  }
  if (slo.min_precision) {
    const auto& p = *slo.min_precision;
    if (spec.outcome.task != OutcomeSpec::Task::kBinary) {
      Bad(spec, "min_precision", "needs task: binary (precision per decision threshold)");
    }
    if (!(p.value > 0 && p.value <= 1)) {
      Bad(spec, "min_precision.value", fmt::format("{} is not in (0, 1]", p.value));
    }
    if (std::find(spec.outcome.thresholds.begin(), spec.outcome.thresholds.end(),
                  p.threshold) == spec.outcome.thresholds.end()) {
      Bad(spec, "min_precision.threshold",
          fmt::format("{} is not one of the configured thresholds [{}]", p.threshold,
                      fmt::join(spec.outcome.thresholds, ", ")));
    }
    if (p.window.count() <= 0) Bad(spec, "min_precision.window", "must be positive");
    if (p.min_samples < 1) Bad(spec, "min_precision.min_samples", "must be >= 1");
  }
  if (slo.for_duration.count() <= 0) Bad(spec, "for", "must be a positive duration");
  for (const auto& [k, d] : slo.for_overrides) {
    if (std::find(kSloKeys.begin(), kSloKeys.end(), k) == kSloKeys.end()) {
      Bad(spec, "for." + k, "is not an objective");
    }
    if (d.count() <= 0) Bad(spec, "for." + k, "must be a positive duration");
  }
  for (const auto& [k, level] : slo.severity) {
    if (std::find(kSloKeys.begin(), kSloKeys.end(), k) == kSloKeys.end()) {
      Bad(spec, "severity." + k, "is not an objective");
    }
    if (level != "page" && level != "ticket") {
      Bad(spec, "severity." + k, fmt::format("'{}' is not page or ticket", level));
    }
  }
  if (slo.runbook_url.empty()) Bad(spec, "runbook_url", "must not be empty");
}

std::string GenerateRules(const MonitorSpec& spec) {
  ValidateSloSpec(spec);
  std::string out = fmt::format(
      "# Prometheus rules for model {}, generated by `mlmon rules` from {}.\n"
      "# Do not edit: change the monitor.yaml and regenerate.\n"
      "# Recording rules aggregate over replicas by (model, version); alerts come\n"
      "# from the slo: section (severity page = symptom, ticket = cause).\n"
      "groups:\n",
      Quote(spec.model), Quote(spec.source));
  EmitRules(&out, "mlmon." + spec.model + ".recording", RecordingRules(spec));
  const std::vector<Rule> alerts = AlertingRules(spec);
  if (!alerts.empty()) EmitRules(&out, "mlmon." + spec.model + ".alerts", alerts);
  return out;
}

// ----------------------------------------------------------------------------
// Grafana dashboard.

namespace {

using Json = nlohmann::ordered_json;

struct Query {
  std::string expr;
  std::string legend;
};

class DashboardBuilder {
 public:
  void Row(const std::string& title) {
    if (x_ != 0) NewLine();
    Json row = {{"type", "row"},
                {"title", title},
                {"id", next_id_++},
                {"collapsed", false},
                {"gridPos", {{"h", 1}, {"w", 24}, {"x", 0}, {"y", y_}}},
                {"panels", Json::array()}};
    panels_.push_back(std::move(row));
    y_ += 1;
  }

  // A time series panel 8 wide; `threshold` draws a red line at the SLO.
  void Panel(const std::string& title, const std::string& description,
             const std::vector<Query>& queries, const std::string& unit,
             std::optional<double> threshold = std::nullopt) {
    if (x_ + kWidth > 24) NewLine();
    Json targets = Json::array();
    char ref = 'A';
    for (const Query& q : queries) {
      targets.push_back({{"datasource", Datasource()},
                         {"expr", q.expr},
                         {"legendFormat", q.legend},
                         {"refId", std::string(1, ref++)}});
    }
    Json steps = Json::array({{{"color", "green"}, {"value", nullptr}}});
    if (threshold) steps.push_back({{"color", "red"}, {"value", *threshold}});
    Json panel = {
        {"type", "timeseries"},
        {"title", title},
        {"description", description},
        {"id", next_id_++},
        {"datasource", Datasource()},
        {"gridPos", {{"h", kHeight}, {"w", kWidth}, {"x", x_}, {"y", y_}}},
        {"fieldConfig",
         {{"defaults",
           {{"unit", unit},
            {"custom", {{"thresholdsStyle", {{"mode", threshold ? "line" : "off"}}}}},
            {"thresholds", {{"mode", "absolute"}, {"steps", steps}}}}},
          {"overrides", Json::array()}}},
        {"options",
         {{"legend", {{"displayMode", "list"}, {"placement", "bottom"}, {"showLegend", true}}},
          {"tooltip", {{"mode", "multi"}, {"sort", "desc"}}}}},
        {"targets", targets}};
    panels_.push_back(std::move(panel));
    x_ += kWidth;
  }

  Json Panels() const { return panels_; }

  static Json Datasource() { return {{"type", "prometheus"}, {"uid", "${datasource}"}}; }

 private:
  static constexpr int kWidth = 8, kHeight = 8;
  void NewLine() {
    x_ = 0;
    y_ += kHeight;
  }
  Json panels_ = Json::array();
  int next_id_ = 1;
  int x_ = 0, y_ = 0;
};

std::string Uid(const std::string& model) {
  std::string uid = "mlmon-";
  for (const char c : model) {
    uid += std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ? c : '_';
  }
  return uid.substr(0, 40);
}

}  // namespace

std::string GenerateDashboard(const MonitorSpec& spec) {
  ValidateSloSpec(spec);
  const SloSpec& slo = spec.slo;
  const std::string s = R"({model="$model", version=~"$version")";
  const auto m = [&s](const std::string& metric, const std::string& extra = "") {
    return metric + (extra.empty() ? s + "}" : s + ", " + extra + "}");
  };
  const std::string v = "{{version}}";
  DashboardBuilder d;

  d.Row("Golden signals");
  d.Panel("Request rate", "Requests per second over all replicas.",
          {{m("mlmon:requests:rate5m"), v}}, "reqps");
  d.Panel("Error ratio", "Failed / all requests (5m).",
          {{m("mlmon:request_error_ratio:rate5m"), v}}, "percentunit", slo.error_ratio);
  d.Panel("Latency", "p50 and p99 over all replicas (5m).",
          {{m("mlmon:request_duration_seconds:p50_rate5m"), "p50 " + v},
           {m("mlmon:request_duration_seconds:p99_rate5m"), "p99 " + v}},
          "s", slo.latency_p99_seconds);
  d.Panel("Errors by reason", "mlmon_request_errors_total by reason.",
          {{m("mlmon:request_errors_by_reason:rate5m"), "{{reason}} " + v}}, "reqps");
  d.Panel("Saturation", "Requests in flight (sum) and queue depth (max replica).",
          {{m("mlmon:requests_in_flight:sum"), "in flight " + v},
           {m("mlmon:queue_depth:max"), "queue " + v}},
          "short");
  d.Panel("Dropped values", "Values the library refused on the hot path (should be 0).",
          {{m("mlmon:dropped:rate5m"), "{{reason}} " + v}}, "short");

  d.Row("Outcomes and quality");
  switch (spec.outcome.task) {
    case OutcomeSpec::Task::kBinary: {
      const std::string w =
          slo.min_precision ? FormatDuration(slo.min_precision->window) : "1h";
      d.Panel("Precision and recall",
              "From the confusion cells over all replicas (" + w + "), per threshold.",
              {{m("mlmon:precision:rate" + w), "precision@{{threshold}} " + v},
               {m("mlmon:recall:rate" + w), "recall@{{threshold}} " + v}},
              "percentunit",
              slo.min_precision ? std::optional<double>(slo.min_precision->value)
                                : std::nullopt);
      break;
    }
    case OutcomeSpec::Task::kRegression:
      d.Panel("MAE and RMSE", "Over all replicas (1h).",
              {{m("mlmon:absolute_error:mae_rate1h"), "MAE " + v},
               {m("mlmon:squared_error:rmse_rate1h"), "RMSE " + v}},
              "short");
      break;
    default:
      break;
  }
  d.Panel("Windowed quality (per replica)",
          "mlmon_model_quality gauges computed in process, averaged over the "
          "replicas where they are defined.",
          // `> -Inf` drops NaN (undefined on a replica): avg would be NaN.
          {{"avg by (metric, threshold, k, window) (" +
                m("mlmon_model_quality", R"(metric!="samples")") + " > -Inf)",
            "{{metric}} {{threshold}}{{k}} {{window}}"}},
          "short");
  d.Panel("Outcomes by result", "Feedback accounting: matched, unmatched, duplicate, invalid.",
          {{m("mlmon:outcomes:rate5m"), "{{result}} " + v}}, "ops");
  d.Panel("Outcome staleness", "Seconds since the newest outcome.",
          {{m("mlmon:outcome_staleness_seconds"), v}}, "s",
          slo.max_outcome_staleness
              ? std::optional<double>(static_cast<double>(slo.max_outcome_staleness->count()))
              : std::nullopt);
  d.Panel("Pending predictions", "Predictions waiting for their outcome.",
          {{m("mlmon:pending_predictions:sum"), v}}, "short");

  d.Row("Response distribution");
  d.Panel("Predictions by class", "Prediction volume and class balance.",
          {{m("mlmon:predictions_by_class:rate5m"), "{{class}} " + v}}, "ops");
  d.Panel("Empty responses", "Share of empty responses (5m).",
          {{m("mlmon:empty_response_share:rate5m"), v}}, "percentunit", slo.max_empty_share);
  d.Panel("Score quantiles", "mlmon_prediction_score over all replicas (5m).",
          {{m("mlmon:prediction_score:p50_rate5m"), "p50 " + v},
           {m("mlmon:prediction_score:p90_rate5m"), "p90 " + v},
           {m("mlmon:prediction_score:p99_rate5m"), "p99 " + v}},
          "short");
  if (spec.outcome.task == OutcomeSpec::Task::kRanking) {
    d.Panel("Items per response (p50)", "mlmon_response_items.",
            {{m("mlmon:response_items:p50_rate5m"), v}}, "short");
  }

  d.Row("Drift");
  d.Panel("PSI drift per signal", "Score and numeric features against the training reference.",
          {{m("mlmon:drift_score_psi:max"), "{{signal}} " + v}}, "short", slo.max_drift_psi);
  d.Panel("L-infinity drift per signal", "Includes categorical features.",
          {{m("mlmon:drift_score_linf:max"), "{{signal}} " + v}}, "short");

  d.Row("Heuristics");
  d.Panel("Heuristic failure ratio", "Failed / all checks per heuristic (5m).",
          {{m("mlmon:heuristic_failure_ratio:rate5m"), "{{heuristic}} " + v}},
          "percentunit", slo.max_heuristic_failure_ratio);
  d.Panel("Heuristic values (p50)", "Numeric heuristics (5m).",
          {{m("mlmon:heuristic_value:p50_rate5m"), "{{heuristic}} " + v}}, "short");

  d.Row("Inputs");
  d.Panel("Feature problem ratio", "Missing, NaN, out of range or unseen / all values (5m).",
          {{m("mlmon:feature_problem_ratio:rate5m"), "{{feature}} " + v}}, "percentunit",
          slo.max_feature_problem_ratio);
  d.Panel("Feature values by status", "Rate of feature values per check result.",
          {{m("mlmon:feature_values:rate5m", R"(status!="ok")"), "{{feature}} {{status}} " + v}},
          "ops");

  const Json ds = DashboardBuilder::Datasource();
  Json templating = {
      {"list",
       Json::array(
           {{{"name", "datasource"},
             {"label", "Data source"},
             {"type", "datasource"},
             {"query", "prometheus"},
             {"current", Json::object()},
             {"hide", 0}},
            {{"name", "model"},
             {"label", "Model"},
             {"type", "query"},
             {"datasource", ds},
             {"definition", "label_values(mlmon_model_info, model)"},
             {"query",
              {{"query", "label_values(mlmon_model_info, model)"}, {"refId", "model"}}},
             {"current", {{"text", spec.model}, {"value", spec.model}}},
             {"refresh", 2},
             {"includeAll", false},
             {"multi", false},
             {"sort", 1},
             {"hide", 0}},
            {{"name", "version"},
             {"label", "Version"},
             {"type", "query"},
             {"datasource", ds},
             {"definition", R"(label_values(mlmon_model_info{model="$model"}, version))"},
             {"query",
              {{"query", R"(label_values(mlmon_model_info{model="$model"}, version))"},
               {"refId", "version"}}},
             {"current", {{"text", "All"}, {"value", "$__all"}}},
             {"refresh", 2},
             {"includeAll", true},
             {"allValue", ".*"},
             {"multi", true},
             {"sort", 1},
             {"hide", 0}}})}};

  Json dash = {
      {"__comment", "Generated by `mlmon dashboard` from " + spec.source +
                        "; panels query the recording rules of `mlmon rules`."},
      {"uid", Uid(spec.model)},
      {"title", "mlmon: " + spec.model},
      {"tags", {"mlmon"}},
      {"timezone", "browser"},
      {"schemaVersion", 38},
      {"version", 1},
      {"editable", true},
      {"refresh", "30s"},
      {"time", {{"from", "now-6h"}, {"to", "now"}}},
      {"templating", templating},
      {"annotations", {{"list", Json::array()}}},
      {"panels", d.Panels()}};
  return dash.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace mlmon
