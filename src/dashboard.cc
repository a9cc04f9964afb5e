// The Grafana dashboard of `mlmon dashboard`, over the recording rules of
// `mlmon rules`; each objective of the SLO catalogue draws its threshold on
// the panel its row names.

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "internal/quality_rules.h"
#include "internal/slo_catalogue.h"
#include "mlmon/alerting.h"
#include "mlmon/duration.h"
#include "mlmon/monitor_spec.h"

namespace mlmon {

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
            {"custom",
             {{"thresholdsStyle", {{"mode", threshold ? "line" : "off"}}}}},
            {"thresholds", {{"mode", "absolute"}, {"steps", steps}}}}},
          {"overrides", Json::array()}}},
        {"options",
         {{"legend",
           {{"displayMode", "list"},
            {"placement", "bottom"},
            {"showLegend", true}}},
          {"tooltip", {{"mode", "multi"}, {"sort", "desc"}}}}},
        {"targets", targets}};
    panels_.push_back(std::move(panel));
    x_ += kWidth;
  }

  Json Panels() const { return panels_; }

  static Json Datasource() {
    return {{"type", "prometheus"}, {"uid", "${datasource}"}};
  }

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
    uid +=
        std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_'
            ? c
            : '_';
  }
  return uid.substr(0, 40);
}

}  // namespace

std::string GenerateDashboard(const MonitorSpec& spec) {
  ValidateSloSpec(spec);
  const SloSpec& slo = spec.slo;
  const std::string s = R"({model="$model", version=~"$version")";
  const auto m = [&s](const std::string& metric,
                      const std::string& extra = "") {
    return metric + (extra.empty() ? s + "}" : s + ", " + extra + "}");
  };
  const std::string v = "{{version}}";
  // The threshold line of an objective's panel (nullopt: no line).
  const auto line = [&slo](const char* panel) {
    return internal::PanelThreshold(slo, panel);
  };
  DashboardBuilder d;

  d.Row("Golden signals");
  d.Panel("Request rate", "Requests per second over all replicas.",
          {{m("mlmon:requests:rate5m"), v}}, "reqps");
  d.Panel("Error ratio", "Failed / all requests (5m).",
          {{m("mlmon:request_error_ratio:rate5m"), v}}, "percentunit",
          line("Error ratio"));
  d.Panel("Latency", "p50 and p99 over all replicas (5m).",
          {{m("mlmon:request_duration_seconds:p50_rate5m"), "p50 " + v},
           {m("mlmon:request_duration_seconds:p99_rate5m"), "p99 " + v}},
          "s", line("Latency"));
  d.Panel("Errors by reason", "mlmon_request_errors_total by reason.",
          {{m("mlmon:request_errors_by_reason:rate5m"), "{{reason}} " + v}},
          "reqps");
  d.Panel("Saturation",
          "Requests in flight (sum) and queue depth (max replica).",
          {{m("mlmon:requests_in_flight:sum"), "in flight " + v},
           {m("mlmon:queue_depth:max"), "queue " + v}},
          "short");
  d.Panel("Dropped values",
          "Values the library refused on the hot path (should be 0).",
          {{m("mlmon:dropped:rate5m"), "{{reason}} " + v}}, "short");

  d.Row("Outcomes and quality");
  switch (spec.outcome.task) {
    case OutcomeSpec::Task::kBinary: {
      const std::string w =
          slo.min_precision ? FormatDuration(slo.min_precision->window) : "1h";
      d.Panel("Precision and recall",
              "From the confusion cells over all replicas (" + w +
                  "), per threshold.",
              {{m("mlmon:precision:rate" + w), "precision@{{threshold}} " + v},
               {m("mlmon:recall:rate" + w), "recall@{{threshold}} " + v}},
              "percentunit", line("Precision and recall"));
      if (spec.segments.enabled()) {
        const std::string sw = internal::SegmentGapWindow(spec);
        const std::string floor =
            std::to_string(internal::kSegmentMinPositives);
        d.Panel(
            "Precision/recall by " + spec.segments.name,
            "Per " + spec.segments.name + " segment over all replicas (" + sw +
                "), per threshold; a segment shows once it has >= " + floor +
                " predicted (precision) or actual (recall) positives in "
                "the window. Predictions without a segment are left out.",
            {{m("mlmon:segment_precision:rate" + sw),
              "precision@{{threshold}} {{segment}} " + v},
             {m("mlmon:segment_recall:rate" + sw),
              "recall@{{threshold}} {{segment}} " + v}},
            "percentunit");
        d.Panel("Segment quality gap",
                "Best minus worst " + spec.segments.name +
                    " segment's precision and recall (" + sw +
                    "), per threshold, over the segments with >= " + floor +
                    " positives in the window.",
                {{m("mlmon:segment_precision_gap:rate" + sw),
                  "precision gap@{{threshold}} " + v},
                 {m("mlmon:segment_recall_gap:rate" + sw),
                  "recall gap@{{threshold}} " + v}},
                "percentunit", line("Segment quality gap"));
      }
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
  if (const std::string ew = internal::EstimatedPrecisionWindow(spec);
      !ew.empty()) {
    d.Panel("Estimated quality (no outcomes)",
            "Quality estimated from the scores and the training calibration "
            "(CBPE, mlmon_estimated_quality), before outcomes arrive: "
            "precision over replicas per threshold (" +
                ew +
                "), and the replicas' mean estimated AUC. Assumes P(outcome | "
                "score) is unchanged.",
            {{m("mlmon:estimated_precision:" + ew),
              "est. precision@{{threshold}} " + v},
             {"avg by (window) (" +
                  m("mlmon_estimated_quality",
                    R"(metric="auc", window=")" + ew + "\"") +
                  " > -Inf)",
              "est. auc {{window}}"}},
            "percentunit", line("Estimated quality (no outcomes)"));
  }
  d.Panel("Windowed quality (per replica)",
          "mlmon_model_quality gauges computed in process, averaged over the "
          "replicas where they are defined; the whole model (segment=\"\").",
          // `> -Inf` drops NaN (undefined on a replica): avg would be NaN.
          // segment="" is the whole model; other values are the segments'
          // own, which an average over them would mix in.
          {{"avg by (metric, threshold, k, window) (" +
                m("mlmon_model_quality", R"(segment="", metric!="samples")") +
                " > -Inf)",
            "{{metric}} {{threshold}}{{k}} {{window}}"}},
          "short");
  d.Panel("Outcomes by result",
          "Feedback accounting: matched, unmatched, duplicate, invalid.",
          {{m("mlmon:outcomes:rate5m"), "{{result}} " + v}}, "ops");
  d.Panel("Outcome staleness", "Seconds since the newest outcome.",
          {{m("mlmon:outcome_staleness_seconds"), v}}, "s",
          line("Outcome staleness"));
  d.Panel("Pending predictions", "Predictions waiting for their outcome.",
          {{m("mlmon:pending_predictions:sum"), v}}, "short");

  d.Row("Response distribution");
  d.Panel("Predictions by class", "Prediction volume and class balance.",
          {{m("mlmon:predictions_by_class:rate5m"), "{{class}} " + v}}, "ops");
  d.Panel("Empty responses", "Share of empty responses (5m).",
          {{m("mlmon:empty_response_share:rate5m"), v}}, "percentunit",
          line("Empty responses"));
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
  d.Panel("PSI drift per signal",
          "Score and numeric features against the training reference.",
          {{m("mlmon:drift_score_psi:max"), "{{signal}} " + v}}, "short",
          line("PSI drift per signal"));
  d.Panel("L-infinity drift per signal", "Includes categorical features.",
          {{m("mlmon:drift_score_linf:max"), "{{signal}} " + v}}, "short");

  d.Row("Heuristics");
  d.Panel("Heuristic failure ratio", "Failed / all checks per heuristic (5m).",
          {{m("mlmon:heuristic_failure_ratio:rate5m"), "{{heuristic}} " + v}},
          "percentunit", line("Heuristic failure ratio"));
  d.Panel("Heuristic values (p50)", "Numeric heuristics (5m).",
          {{m("mlmon:heuristic_value:p50_rate5m"), "{{heuristic}} " + v}},
          "short");

  d.Row("Inputs");
  d.Panel("Feature problem ratio",
          "Missing, NaN, out of range or unseen / all values (5m).",
          {{m("mlmon:feature_problem_ratio:rate5m"), "{{feature}} " + v}},
          "percentunit", line("Feature problem ratio"));
  d.Panel("Feature values by status",
          "Rate of feature values per check result.",
          {{m("mlmon:feature_values:rate5m", R"(status!="ok")"),
            "{{feature}} {{status}} " + v}},
          "ops");

  d.Row("Rollout");
  const std::string c = "{{challenger}} vs " + v;
  d.Panel("Shadow comparisons",
          "Requests scored by the champion and a challenger (5m).",
          {{m("mlmon:shadow_comparisons:rate5m"), c}}, "ops");
  if (spec.outcome.task == OutcomeSpec::Task::kBinary ||
      spec.outcome.task == OutcomeSpec::Task::kMulticlass) {
    d.Panel("Shadow disagreement",
            "Compared requests where the challenger decides differently "
            "(1h), per threshold.",
            {{m("mlmon:shadow_disagreement_ratio:rate1h"),
              "{{challenger}} vs " + v + " {{threshold}}"}},
            "percentunit", line("Shadow disagreement"));
  }
  if (spec.outcome.task == OutcomeSpec::Task::kBinary ||
      spec.outcome.task == OutcomeSpec::Task::kRegression) {
    d.Panel("Shadow absolute difference",
            "|champion - challenger| of the scores (5m).",
            {{m("mlmon:shadow_absolute_difference:p50_rate5m"), "p50 " + c},
             {m("mlmon:shadow_absolute_difference:p99_rate5m"), "p99 " + c}},
            "short");
  }
  d.Panel("Model age", "Time since the version was loaded (oldest replica).",
          {{m("mlmon:model_age_seconds"), v}}, "s", line("Model age"));
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
              {{"query", "label_values(mlmon_model_info, model)"},
               {"refId", "model"}}},
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
             {"definition",
              R"(label_values(mlmon_model_info{model="$model"}, version))"},
             {"query",
              {{"query",
                R"(label_values(mlmon_model_info{model="$model"}, version))"},
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
