#include "mlmon/outcome_ingest.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "internal/config_errors.h"
#include "internal/feedback_body.h"
#include "internal/text_format.h"
#include "mlmon/errors.h"

namespace mlmon {

void IngestReport::AddError(std::size_t line, std::string detail) {
  ++invalid;
  if (errors.size() < kMaxErrors) errors.push_back({line, std::move(detail)});
}

std::string IngestReport::ToJson() const {
  std::string out = fmt::format(
      "{{\"matched\":{},\"unmatched\":{},\"duplicate\":{},\"invalid\":{},"
      "\"errors\":[",
      matched, unmatched, duplicate, invalid);
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) out.push_back(',');
    fmt::format_to(std::back_inserter(out),
                   "{{\"line\":{},\"detail\":", errors[i].line);
    internal::AppendJsonString(&out, errors[i].detail);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

namespace {

// Adds the refused lines of a parsed body to `report`.
void ReportRefused(std::vector<internal::RefusedLine>* refused,
                   IngestReport* report) {
  for (internal::RefusedLine& r : *refused) {
    if (r.malformed) ++report->malformed;
    report->AddError(r.line, std::move(r.detail));
  }
}

}  // namespace

void ParseOutcomes(std::string_view body, BodyFormat format,
                   std::vector<OutcomeEvent>* out, IngestReport* report) {
  std::vector<internal::RefusedLine> refused;
  internal::ParseOutcomeBody(body, format, out, &refused);
  ReportRefused(&refused, report);
}

void ParsePredictions(std::string_view body, std::vector<PredictionEvent>* out,
                      IngestReport* report) {
  std::vector<internal::RefusedLine> refused;
  internal::ParsePredictionBody(body, out, &refused);
  ReportRefused(&refused, report);
}

void OutcomeIngest::AddTracker(OutcomeTracker& tracker) {
  if (!trackers_.emplace(tracker.model(), &tracker).second) {
    throw internal::SetupError("OutcomeIngest::AddTracker",
                               "a tracker for this model is already registered",
                               tracker.model());
  }
}

OutcomeTracker* OutcomeIngest::Find(const std::string& model) const {
  if (model.empty()) {
    return trackers_.size() == 1 ? trackers_.begin()->second : nullptr;
  }
  auto it = trackers_.find(model);
  return it == trackers_.end() ? nullptr : it->second;
}

void OutcomeIngest::CountUnparsed(std::size_t n) const {
  OutcomeTracker* only = Find("");
  if (only == nullptr) return;
  for (std::size_t i = 0; i < n; ++i) only->CountInvalidOutcome();
}

void OutcomeIngest::CountRefused(const std::string& model) const {
  OutcomeTracker* t = Find(model);
  if (t == nullptr) t = Find("");
  if (t != nullptr) t->CountInvalidOutcome();
}

namespace {

std::string ModelError(const std::string& model, std::size_t hosted) {
  if (model.empty()) {
    return hosted == 0
               ? "no model is monitored here"
               : "'model' is required: this server hosts several models";
  }
  return fmt::format("unknown model '{}'", model);
}

const char* ExpectedOutcome(OutcomeSpec::Task task) {
  switch (task) {
    case OutcomeSpec::Task::kBinary:
      return "0, 1, true or false";
    case OutcomeSpec::Task::kRegression:
      return "a finite number";
    case OutcomeSpec::Task::kMulticlass:
      return "one of the configured class names";
    case OutcomeSpec::Task::kRanking:
      return "the id of the chosen item";
  }
  return "?";
}

std::string IdTooLong(std::size_t bytes) {
  return fmt::format("id is {} bytes, longer than the {}-byte limit", bytes,
                     OutcomeTracker::kMaxIdBytes);
}

// The detail of an outcome the tracker refused for `why`.
std::string RefusalDetail(OutcomeRefusal why, const OutcomeEvent& e,
                          const OutcomeTracker& t) {
  switch (why) {
    case OutcomeRefusal::kEmptyId:
      return "'id' must be a non-empty string";
    case OutcomeRefusal::kIdTooLong:
      return IdTooLong(e.id.size());
    case OutcomeRefusal::kBadTime:
      return fmt::format(
          "ts {} is not a non-negative number of seconds since the epoch",
          e.ts);
    case OutcomeRefusal::kFutureTime:
      return fmt::format(
          "ts {} is {:.1e} s in the future (max_clock_skew {} s)", e.ts,
          e.ts - t.UnixNow(), t.spec().max_clock_skew.count());
    case OutcomeRefusal::kNone:
    case OutcomeRefusal::kBadValue:
      break;
  }
  return fmt::format("invalid outcome for model '{}': expected {}", t.model(),
                     ExpectedOutcome(t.spec().task));
}

}  // namespace

void OutcomeIngest::Apply(const OutcomeEvent& e, IngestReport* report) const {
  OutcomeTracker* t = Find(e.model);
  if (t == nullptr) {
    CountRefused(e.model);
    report->AddError(e.line, ModelError(e.model, trackers_.size()));
    return;
  }
  OutcomeRefusal why = OutcomeRefusal::kNone;
  const OutcomeResult r = e.is_label
                              ? t->RecordOutcome(e.id, e.label, e.ts, &why)
                              : t->RecordOutcome(e.id, e.outcome, e.ts, &why);
  switch (r) {
    case OutcomeResult::kMatched:
      ++report->matched;
      break;
    case OutcomeResult::kUnmatched:
      ++report->unmatched;
      break;
    case OutcomeResult::kDuplicate:
      ++report->duplicate;
      break;
    case OutcomeResult::kInvalid:
      report->AddError(e.line, RefusalDetail(why, e, *t));
      break;
  }
}

void OutcomeIngest::Apply(const PredictionEvent& e,
                          IngestReport* report) const {
  OutcomeTracker* t = Find(e.model);
  if (t == nullptr) {
    report->AddError(e.line, ModelError(e.model, trackers_.size()));
    return;
  }
  bool ok = false;
  switch (e.kind) {
    case PredictionEvent::Kind::kScore:
    case PredictionEvent::Kind::kValue:
      ok = t->RecordPrediction(e.id, e.number);
      break;
    case PredictionEvent::Kind::kLabel:
      ok = t->RecordPrediction(e.id, std::string_view(e.label));
      break;
    case PredictionEvent::Kind::kItems: {
      std::vector<std::string_view> items(e.items.begin(), e.items.end());
      ok = t->RecordRanking(e.id, items.data(), items.size());
      break;
    }
  }
  if (ok) {
    ++report->matched;  // for predictions: recorded
  } else if (e.id.size() > OutcomeTracker::kMaxIdBytes) {
    report->AddError(e.line, IdTooLong(e.id.size()));
  } else {
    report->AddError(
        e.line,
        fmt::format(
            "prediction refused by model '{}' (value out of range, a kind that "
            "does not fit the task, or an id that already has its outcome)",
            t->model()));
  }
}

IngestReport OutcomeIngest::IngestOutcomes(std::string_view body,
                                           BodyFormat format) const {
  std::vector<OutcomeEvent> events;
  std::vector<internal::RefusedLine> refused;
  internal::ParseOutcomeBody(body, format, &events, &refused);
  if (format == BodyFormat::kNdjson && events.empty() && !refused.empty() &&
      std::all_of(refused.begin(), refused.end(),
                  [](const internal::RefusedLine& r) { return r.malformed; })) {
    throw MalformedBody(refused.front().line,
                        "no line of the body is a JSON object");
  }
  // Every line is accounted exactly once, in line order (so the bounded
  // error list holds the first refused lines).
  IngestReport report;
  std::size_t i = 0, j = 0;
  while (i < events.size() || j < refused.size()) {
    if (j == refused.size() ||
        (i < events.size() && events[i].line < refused[j].line)) {
      Apply(events[i++], &report);
      continue;
    }
    internal::RefusedLine& r = refused[j++];
    CountRefused(r.model);
    if (r.malformed) ++report.malformed;
    report.AddError(r.line, std::move(r.detail));
  }
  return report;
}

}  // namespace mlmon
