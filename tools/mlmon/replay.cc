// `mlmon replay`: the batch path. Joins logged predictions and outcomes with
// the live path's code (OutcomeIngest + OutcomeTracker) and writes the
// resulting metrics as Prometheus text, to stdout, a node_exporter textfile,
// or a Pushgateway.
#include <fmt/format.h>
#include <mlmon/drift.h>
#include <mlmon/model_monitor.h>
#include <mlmon/monitor_spec.h>
#include <mlmon/outcome_ingest.h>
#include <mlmon/performance_estimation.h>
#include <mlmon/registry.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"
#include "http_client.h"
#include "internal/metric_catalogue.h"
#include "line_reader.h"
#include "output.h"

namespace mlmon_cli {
namespace {

struct ReplayOptions {
  std::string config, predictions, outcomes, out, push, job = "mlmon_replay";
  std::size_t max_line_bytes = kDefaultMaxLineBytes;
  std::string max_invalid = "1%";
};

// Bytes of whole lines parsed at a time.
constexpr std::size_t kChunkBytes = 4u << 20;

// Reads the NDJSON file `path` line by line (lines over `max_line_bytes`
// are invalid and never held), parsing chunks of whole lines with
// `parse(body, events, report)`; line numbers in events and errors are the
// file's. Returns the number of non-blank lines.
template <typename Event, typename Parse>
std::size_t ReadNdjson(const std::string& path, std::size_t max_line_bytes,
                       Parse parse, std::vector<Event>* events,
                       mlmon::IngestReport* report) {
  LineReader reader(path, max_line_bytes);
  std::string body, line;
  std::size_t first_line = 1, lines = 0;
  const auto flush = [&] {
    if (body.empty()) return;
    mlmon::IngestReport part;
    const std::size_t before = events->size();
    parse(body, events, &part);
    for (std::size_t i = before; i < events->size(); ++i) {
      (*events)[i].line += first_line - 1;
    }
    for (const auto& e : part.errors) {
      report->AddError(e.line + first_line - 1, e.detail);
    }
    report->invalid += part.invalid - part.errors.size();
    report->malformed += part.malformed;
    body.clear();
  };
  bool too_long = false;
  while (reader.Next(&line, &too_long)) {
    if (body.empty()) first_line = reader.line_no();
    if (too_long) {
      ++lines;
      ++report->malformed;
      report->AddError(reader.line_no(), "line longer than --max-line-bytes " +
                                             std::to_string(max_line_bytes));
      body += '\n';  // keeps the numbering of the lines after it
    } else {
      if (line.find_first_not_of(" \t") != std::string::npos) ++lines;
      body += line;
      body += '\n';
    }
    if (body.size() >= kChunkBytes) flush();
  }
  flush();
  std::stable_sort(
      report->errors.begin(), report->errors.end(),
      [](const auto& a, const auto& b) { return a.line < b.line; });
  return lines;
}

void ReportErrors(const std::string& file, const mlmon::IngestReport& report) {
  for (const auto& e : report.errors) {
    std::fprintf(stderr, "%s:%zu: %s\n", file.c_str(), e.line,
                 e.detail.c_str());
  }
  if (report.invalid > report.errors.size()) {
    std::fprintf(stderr, "%s: ... and %zu more invalid lines\n", file.c_str(),
                 report.invalid - report.errors.size());
  }
}

// One timeline event: a prediction or an outcome, by index.
struct Step {
  double ts;
  bool outcome;
  std::size_t index;
};

// PUT the text to <url>/metrics/job/<job>/model/<model>.
void Push(const std::string& url, const std::string& job,
          const std::string& model, const std::string& text) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) {
    throw mlmon::ConfigError("mlmon: --push: must start with http:// (" + url +
                             ")");
  }
  std::string rest = url.substr(prefix.size());
  std::string base_path;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    base_path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  while (!base_path.empty() && base_path.back() == '/') base_path.pop_back();
  const auto colon = rest.rfind(':');
  const std::string host =
      colon == std::string::npos ? rest : rest.substr(0, colon);
  const int port =
      colon == std::string::npos ? 80 : std::atoi(rest.c_str() + colon + 1);
  if (host.empty() || port <= 0 || port > 65535) {
    throw mlmon::ConfigError("mlmon: --push: not http://host:port (" + url +
                             ")");
  }
  const std::string target =
      base_path + "/metrics/job/" + job + "/model/" + model;
  auto r =
      mlmon::tools::HttpCall(host, port, "PUT", target, text,
                             {{"Content-Type", "text/plain; version=0.0.4"}});
  if (!r.error.empty() || r.status / 100 != 2) {
    throw std::runtime_error(
        "push to " + url + target + " failed: " +
        (r.error.empty() ? "HTTP " + std::to_string(r.status) + " " + r.body
                         : r.error));
  }
}

// mlmon_drift_score{signal="score",window="all"}: the replayed scores on the
// configured buckets against the reference profile, when one is configured.
void WriteScoreDrift(mlmon::Registry& registry, mlmon::ModelMonitor& monitor,
                     const std::vector<mlmon::PredictionEvent>& predictions) {
  const mlmon::MonitorSpec& spec = monitor.spec();
  if (spec.reference_path.empty()) return;
  const std::vector<double>& bounds = spec.distribution.score_buckets;
  const mlmon::BinnedCounts& ref =
      monitor.reference().NumericFor("score", bounds);
  std::vector<double> counts(bounds.size() + 1, 0.0);
  bool any = false;
  for (const auto& p : predictions) {
    if (p.kind != mlmon::PredictionEvent::Kind::kScore &&
        p.kind != mlmon::PredictionEvent::Kind::kValue) {
      continue;
    }
    // Histogram semantics: the first bound >= value, else +Inf.
    counts[static_cast<std::size_t>(
        std::lower_bound(bounds.begin(), bounds.end(), p.number) -
        bounds.begin())] += 1;
    any = true;
  }
  if (!any) return;
  const mlmon::DriftScores d = mlmon::ComputeDrift(counts, ref.counts);
  auto& family = mlmon::internal::AddFamily(
      registry, mlmon::internal::metrics::kDriftScore);
  for (std::size_t k = 0; k < mlmon::kNumDriftMethods; ++k) {
    if (!std::isfinite(d.value[k])) continue;
    family
        .Add({spec.model, spec.version, "score",
              mlmon::DriftMethodName(static_cast<mlmon::DriftMethod>(k)),
              "all"})
        .Set(d.value[k]);
  }
}

// mlmon_estimated_quality{window="all"}: the estimate without outcomes over
// every replayed score (exact: no bins), when the reference profile has a
// calibration map.
void WriteEstimatedQuality(mlmon::Registry& registry,
                           const mlmon::ModelMonitor& monitor,
                           std::vector<double> scores) {
  const mlmon::MonitorSpec& spec = monitor.spec();
  const mlmon::CalibrationMap& calibration = monitor.reference().calibration;
  if (calibration.empty() ||
      spec.distribution.value_range !=
          mlmon::ResponseSpec::ValueRange::kUnitInterval) {
    return;
  }
  std::vector<double> thresholds = spec.distribution.estimate_thresholds;
  if (thresholds.empty()) thresholds = {spec.distribution.decision_threshold};
  const mlmon::PerformanceEstimate e =
      mlmon::EstimatePerformance(std::move(scores), calibration, thresholds);
  auto& family = mlmon::internal::AddFamily(
      registry, mlmon::internal::metrics::kEstimatedQuality);
  const auto set = [&](const char* metric, const std::string& threshold,
                       double v) {
    auto& g = family.Add({spec.model, spec.version, metric, threshold, "all"});
    if (std::isnan(v)) {
      g.SetUndefined();
    } else {
      g.Set(v);
    }
  };
  set("samples", "", e.samples);
  set("auc", "", e.auc);
  for (const mlmon::ThresholdEstimate& t : e.at) {
    const std::string label = fmt::format("{}", t.threshold);
    set("predicted_positives", label, t.predicted_positives);
    set("precision", label, t.precision);
    set("recall", label, t.recall);
    set("f1", label, t.f1);
    set("accuracy", label, t.accuracy);
  }
}

int RunReplay(const ReplayOptions& o) {
  mlmon::MonitorSpec spec = mlmon::LoadMonitorSpec(o.config);
  // Replay: quality over everything replayed (window="all").
  spec.outcome.windows.clear();
  spec.outcome.all_time_window = true;
  // Replay joins the logs' own predictions in this process, never through a
  // fleet's shared store.
  spec.outcome.store.backend = mlmon::PendingStoreSpec::Backend::kMemory;
  // Drift in replay is computed once, over everything replayed (below).
  spec.distribution.windows.clear();
  spec.features.windows.clear();
  const InvalidLimit limit = InvalidLimit::Parse(o.max_invalid);
  mlmon::IngestReport pred_report, out_report;
  std::vector<mlmon::PredictionEvent> predictions;
  std::vector<mlmon::OutcomeEvent> outcomes;
  const std::size_t pred_lines = ReadNdjson(
      o.predictions, o.max_line_bytes,
      [](std::string_view body, std::vector<mlmon::PredictionEvent>* out,
         mlmon::IngestReport* report) {
        mlmon::ParsePredictions(body, out, report);
      },
      &predictions, &pred_report);
  std::size_t out_lines = 0;
  if (!o.outcomes.empty()) {
    out_lines = ReadNdjson(
        o.outcomes, o.max_line_bytes,
        [](std::string_view body, std::vector<mlmon::OutcomeEvent>* out,
           mlmon::IngestReport* report) {
          mlmon::ParseOutcomes(body, mlmon::BodyFormat::kNdjson, out, report);
        },
        &outcomes, &out_report);
  }

  // The timeline: by timestamp; predictions without one first, outcomes
  // without one last; at equal times a prediction comes before an outcome.
  // A log cannot hold an event from after this replay (beyond the clock
  // skew the live path tolerates): such a timestamp must not move the
  // timeline, or it would expire every pending prediction at once. A
  // prediction with one is refused here; an outcome with one goes last
  // without moving the clock, and the tracker refuses it as in the future.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const double horizon =
      std::chrono::duration<double>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() +
      static_cast<double>(spec.outcome.max_clock_skew.count());
  std::vector<Step> steps;
  steps.reserve(predictions.size() + outcomes.size());
  double t0 = kInf;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const double ts = predictions[i].ts;
    if (ts > horizon) {
      pred_report.AddError(
          predictions[i].line,
          "ts " + std::to_string(static_cast<long long>(ts)) +
              " is after the time of this replay plus max_clock_skew");
      continue;
    }
    steps.push_back({std::isnan(ts) ? -kInf : ts, false, i});
    if (!std::isnan(ts)) t0 = std::min(t0, ts);
  }
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const double ts = outcomes[i].ts;
    steps.push_back({std::isnan(ts) || ts > horizon ? kInf : ts, true, i});
    if (!std::isnan(ts) && ts <= horizon) t0 = std::min(t0, ts);
  }
  std::stable_sort(steps.begin(), steps.end(),
                   [](const Step& a, const Step& b) {
                     if (a.ts != b.ts) return a.ts < b.ts;
                     return !a.outcome && b.outcome;
                   });
  if (!std::isfinite(t0)) t0 = 0;

  // Time is the logs' time: the clock follows the timeline.
  mlmon::FakeClock clock(0, t0);
  mlmon::Registry registry;
  mlmon::ModelMonitor monitor(registry, spec, &clock);
  mlmon::OutcomeIngest ingest;
  ingest.AddTracker(monitor.outcomes());
  // Outcome lines that did not parse count as invalid, as on the live path.
  ingest.CountUnparsed(out_report.invalid);
  double now = t0;
  double last_tick = t0;
  std::vector<double> scores;  // accepted binary scores, for the estimate
  for (const Step& s : steps) {
    if (std::isfinite(s.ts) && s.ts > now) {
      clock.Advance(std::chrono::nanoseconds(
          static_cast<std::int64_t>(std::llround((s.ts - now) * 1e9))));
      now = s.ts;
      if (now - last_tick >= 60) {  // expire on the logs' time as we go
        monitor.Tick();
        last_tick = now;
      }
    }
    if (s.outcome) {
      ingest.Apply(outcomes[s.index], &out_report);
    } else {
      const mlmon::PredictionEvent& p = predictions[s.index];
      const std::size_t refused = pred_report.invalid;
      ingest.Apply(p, &pred_report);
      if (pred_report.invalid == refused &&
          (p.kind == mlmon::PredictionEvent::Kind::kScore ||
           p.kind == mlmon::PredictionEvent::Kind::kValue)) {
        monitor.distribution().ObserveScore(p.number, {}, p.segment);
        if (p.kind == mlmon::PredictionEvent::Kind::kScore && p.number >= 0 &&
            p.number <= 1) {
          scores.push_back(p.number);
        }
      }
    }
  }
  monitor.Tick();
  WriteScoreDrift(registry, monitor, predictions);
  WriteEstimatedQuality(registry, monitor, std::move(scores));

  ReportErrors(o.predictions, pred_report);
  if (!o.outcomes.empty()) ReportErrors(o.outcomes, out_report);
  std::fprintf(stderr,
               "replayed %zu predictions (%zu refused) and %zu outcome lines: "
               "matched %zu, unmatched %zu, duplicate %zu, invalid %zu; %zu "
               "predictions still pending\n",
               predictions.size(), pred_report.invalid,
               outcomes.size() + out_report.malformed, out_report.matched,
               out_report.unmatched, out_report.duplicate, out_report.invalid,
               monitor.outcomes().pending());

  // Mostly garbage in: no metrics out.
  const bool pred_ok =
      WithinInvalidLimit(o.predictions, pred_report.invalid, pred_lines, limit);
  const bool out_ok =
      o.outcomes.empty() ||
      WithinInvalidLimit(o.outcomes, out_report.invalid, out_lines, limit);
  if (!pred_ok || !out_ok) return 1;

  const std::string text = registry.TextExposition();
  if (!o.push.empty()) {
    if (!o.out.empty()) WriteAtomically(o.out, text);
    Push(o.push, o.job, spec.model, text);
    return 0;
  }
  return WriteOutput(o.out, text);
}

}  // namespace

Command AddReplayCommand(CLI::App& app) {
  auto o = std::make_shared<ReplayOptions>();
  CLI::App* sub = app.add_subcommand(
      "replay",
      "Join logged predictions and outcomes and compute the outcome metrics "
      "(window=\"all\") as Prometheus text");
  sub->add_option("--config", o->config, "monitor.yaml")->required();
  sub->add_option("--predictions", o->predictions, "Predictions, NDJSON")
      ->required();
  sub->add_option("--outcomes", o->outcomes,
                  "Outcomes, NDJSON (feedback shape)");
  sub->add_option("--out", o->out,
                  "Write to this file atomically (node_exporter textfile)");
  sub->add_option("--push", o->push,
                  "Push to this Pushgateway (http://host:port)");
  sub->add_option("--job", o->job, "Pushgateway job name")
      ->capture_default_str();
  AddInputLimitOptions(sub, &o->max_line_bytes, &o->max_invalid, "1%");
  return Command{sub, [o] { return RunReplay(*o); }};
}

}  // namespace mlmon_cli
