#include "mlmon/outcome_ingest.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "mlmon/detail/text_format.h"
#include "mlmon/errors.h"

namespace mlmon {

namespace od = simdjson::ondemand;

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
    fmt::format_to(std::back_inserter(out), "{{\"line\":{},\"detail\":",
                   errors[i].line);
    detail::AppendJsonString(&out, errors[i].detail);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

namespace {

// Parses a "ts" value: seconds since the epoch, finite and >= 0.
std::string ReadTs(od::value v, double* ts) {
  double d;
  if (v.get_double().get(d) != simdjson::SUCCESS || !std::isfinite(d) || d < 0) {
    return "'ts' must be a non-negative number of seconds since the epoch";
  }
  *ts = d;
  return {};
}

std::string ReadNonEmptyString(od::value v, const char* key, std::string* out) {
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS || s.empty()) {
    return fmt::format("'{}' must be a non-empty string", key);
  }
  out->assign(s);
  return {};
}

// Parses one outcome object. Returns "" or the reason it is refused.
// Walks one object's fields: reads the fields every event has ("id",
// "model", "ts") into `e` and hands any other key to `other(key, value)`,
// which returns an error message or "". Returns the first error, "missing
// 'id'", or "" when the object is good so far.
template <typename Event, typename Other>
std::string ParseEventObject(od::object obj, Event* e, Other&& other) {
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return "malformed key";
    }
    od::value v;
    if (field.value().get(v) != simdjson::SUCCESS) return "malformed value";
    std::string err;
    if (key == "id") {
      err = ReadNonEmptyString(v, "id", &e->id);
    } else if (key == "model") {
      err = ReadNonEmptyString(v, "model", &e->model);
    } else if (key == "ts") {
      err = ReadTs(v, &e->ts);
    } else {
      err = other(key, v);
    }
    if (!err.empty()) return err;
  }
  if (e->id.empty()) return "missing 'id'";
  return {};
}

std::string ParseOutcomeObject(od::object obj, OutcomeEvent* e) {
  bool has_outcome = false;
  std::string err = ParseEventObject(
      obj, e, [&](std::string_view key, od::value& v) -> std::string {
        // Other keys (e.g. "score" of a self-contained outcome) are ignored.
        if (key != "outcome") return {};
        has_outcome = true;
        od::json_type t;
        if (v.type().get(t) != simdjson::SUCCESS) return "malformed 'outcome'";
        if (t == od::json_type::number) {
          double d = 0;
          const bool ok = v.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d);
          e->outcome = d;
          return ok ? "" : "'outcome' must be a finite number";
        }
        if (t == od::json_type::boolean) {
          bool b = false;
          const bool ok = v.get_bool().get(b) == simdjson::SUCCESS;
          e->outcome = b ? 1.0 : 0.0;
          return ok ? "" : "malformed 'outcome'";
        }
        if (t == od::json_type::string) {
          e->is_label = true;
          return ReadNonEmptyString(v, "outcome", &e->label);
        }
        return "'outcome' must be a number, a bool or a string";
      });
  if (!err.empty()) return err;
  if (!has_outcome) return "missing 'outcome'";
  return {};
}

std::string ParsePredictionObject(od::object obj, PredictionEvent* e) {
  int kinds = 0;
  std::string err = ParseEventObject(
      obj, e, [&](std::string_view key, od::value& v) -> std::string {
        if (key == "score" || key == "value") {
          ++kinds;
          e->kind = key == "score" ? PredictionEvent::Kind::kScore
                                   : PredictionEvent::Kind::kValue;
          if (v.get_double().get(e->number) != simdjson::SUCCESS ||
              !std::isfinite(e->number)) {
            return fmt::format("'{}' must be a finite number", key);
          }
        } else if (key == "label") {
          ++kinds;
          e->kind = PredictionEvent::Kind::kLabel;
          return ReadNonEmptyString(v, "label", &e->label);
        } else if (key == "items") {
          ++kinds;
          e->kind = PredictionEvent::Kind::kItems;
          od::array arr;
          if (v.get_array().get(arr) != simdjson::SUCCESS) {
            return "'items' must be an array of strings";
          }
          for (auto item : arr) {
            std::string_view s;
            if (item.get_string().get(s) != simdjson::SUCCESS) {
              return "'items' must be an array of strings";
            }
            e->items.emplace_back(s);
          }
        }
        return {};
      });
  if (!err.empty()) return err;
  if (kinds == 0) return "missing one of 'score', 'value', 'label', 'items'";
  if (kinds > 1) return "more than one of 'score', 'value', 'label', 'items'";
  return {};
}

// True when the document has been consumed (simdjson 3.0 has no
// document::at_end(): current_location() is out of bounds at the end).
bool AtEnd(od::document& doc) {
  const char* at = nullptr;
  return doc.current_location().get(at) == simdjson::OUT_OF_BOUNDS;
}

// Calls `parse_object(obj, line)` for each object of an NDJSON body.
// Returns the number of lines that were JSON objects syntactically.
template <typename F>
std::size_t ForEachNdjsonLine(std::string_view body, IngestReport* report,
                              F&& parse_object) {
  thread_local od::parser parser;
  simdjson::padded_string padded(body);
  const char* base = padded.data();
  const std::size_t total = padded.size();
  std::size_t parsed = 0;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < total) {
    std::size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = total;
    ++line_no;
    std::string_view line(base + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t start = pos;
    pos = end + 1;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    od::document doc;
    od::object obj;
    // The rest of the padded buffer serves as this line's padding.
    const std::size_t capacity = total + simdjson::SIMDJSON_PADDING - start;
    if (parser.iterate(line.data(), line.size(), capacity).get(doc) !=
            simdjson::SUCCESS ||
        doc.get_object().get(obj) != simdjson::SUCCESS) {
      ++report->malformed;
      report->AddError(line_no, "not a JSON object");
      continue;
    }
    std::string err = parse_object(obj, line_no);
    if (err.empty() && !AtEnd(doc)) err = "trailing characters after the object";
    if (err.empty()) {
      ++parsed;
    } else {
      if (err.rfind("malformed", 0) == 0) ++report->malformed;
      report->AddError(line_no, err);
    }
  }
  return parsed;
}

std::size_t LineOf(std::string_view body, const char* at, const char* base) {
  if (at == nullptr || at < base || at > base + body.size()) return 1;
  std::size_t line = 1;
  for (const char* p = base; p < at; ++p) line += (*p == '\n');
  return line;
}

}  // namespace

void ParseOutcomes(std::string_view body, BodyFormat format,
                   std::vector<OutcomeEvent>* out, IngestReport* report) {
  auto parse = [&](od::object obj, std::size_t line) {
    OutcomeEvent e;
    e.line = line;
    std::string err = ParseOutcomeObject(obj, &e);
    if (err.empty()) out->push_back(std::move(e));
    return err;
  };
  if (format == BodyFormat::kNdjson) {
    ForEachNdjsonLine(body, report, parse);
    return;
  }
  thread_local od::parser parser;
  simdjson::padded_string padded(body);
  od::document doc;
  auto malformed = [&](const char* what) {
    const char* at = nullptr;
    if (doc.current_location().get(at) != simdjson::SUCCESS) at = nullptr;
    const std::size_t line = LineOf(body, at, padded.data());
    return MalformedBody(line, fmt::format("body is not valid JSON ({}) near line {}", what, line));
  };
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
    throw MalformedBody(1, "body is not valid JSON");
  }
  od::json_type type;
  if (doc.type().get(type) != simdjson::SUCCESS) throw malformed("no value");
  if (type == od::json_type::object) {
    od::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) throw malformed("bad object");
    std::string err = parse(obj, 1);
    if (err.rfind("malformed", 0) == 0) throw malformed(err.c_str());
    if (err.empty() && !AtEnd(doc)) throw malformed("trailing characters");
    if (!err.empty()) report->AddError(1, err);
    return;
  }
  if (type != od::json_type::array) {
    throw MalformedBody(1, "body must be a JSON object or an array of objects");
  }
  od::array arr;
  if (doc.get_array().get(arr) != simdjson::SUCCESS) throw malformed("bad array");
  std::size_t index = 0;
  for (auto element : arr) {
    ++index;
    od::value v;
    if (element.get(v) != simdjson::SUCCESS) throw malformed("bad element");
    od::object obj;
    if (v.get_object().get(obj) != simdjson::SUCCESS) {
      report->AddError(index, "array element is not an object");
      continue;
    }
    std::string err = parse(obj, index);
    if (err.rfind("malformed", 0) == 0) throw malformed(err.c_str());
    if (!err.empty()) report->AddError(index, err);
  }
  if (!AtEnd(doc)) throw malformed("trailing characters");
}

void ParsePredictions(std::string_view body, std::vector<PredictionEvent>* out,
                      IngestReport* report) {
  ForEachNdjsonLine(body, report, [&](od::object obj, std::size_t line) {
    PredictionEvent e;
    e.line = line;
    std::string err = ParsePredictionObject(obj, &e);
    if (err.empty()) out->push_back(std::move(e));
    return err;
  });
}

void OutcomeIngest::AddTracker(OutcomeTracker& tracker) {
  if (!trackers_.emplace(tracker.model(), &tracker).second) {
    throw ConfigError(fmt::format(
        "mlmon: a tracker for model '{}' is already registered", tracker.model()));
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

namespace {

std::string ModelError(const std::string& model, std::size_t hosted) {
  if (model.empty()) {
    return hosted == 0 ? "no model is monitored here"
                       : "'model' is required: this server hosts several models";
  }
  return fmt::format("unknown model '{}'", model);
}

const char* ExpectedOutcome(OutcomeSpec::Task task) {
  switch (task) {
    case OutcomeSpec::Task::kBinary: return "0, 1, true or false";
    case OutcomeSpec::Task::kRegression: return "a finite number";
    case OutcomeSpec::Task::kMulticlass: return "one of the configured class names";
    case OutcomeSpec::Task::kRanking: return "the id of the chosen item";
  }
  return "?";
}

}  // namespace

void OutcomeIngest::Apply(const OutcomeEvent& e, IngestReport* report) const {
  OutcomeTracker* t = Find(e.model);
  if (t == nullptr) {
    report->AddError(e.line, ModelError(e.model, trackers_.size()));
    return;
  }
  const OutcomeResult r = e.is_label ? t->RecordOutcome(e.id, e.label, e.ts)
                                     : t->RecordOutcome(e.id, e.outcome, e.ts);
  switch (r) {
    case OutcomeResult::kMatched: ++report->matched; break;
    case OutcomeResult::kUnmatched: ++report->unmatched; break;
    case OutcomeResult::kDuplicate: ++report->duplicate; break;
    case OutcomeResult::kInvalid:
      report->AddError(e.line, fmt::format("invalid outcome for model '{}': expected {}",
                                           t->model(), ExpectedOutcome(t->spec().task)));
      break;
  }
}

void OutcomeIngest::Apply(const PredictionEvent& e, IngestReport* report) const {
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
  } else {
    report->AddError(e.line, fmt::format(
        "prediction refused by model '{}' (id longer than {} bytes, value "
        "out of range, or a kind that does not fit the task)",
        t->model(), OutcomeTracker::kMaxIdBytes));
  }
}

IngestReport OutcomeIngest::IngestOutcomes(std::string_view body,
                                           BodyFormat format) const {
  IngestReport report;
  std::vector<OutcomeEvent> events;
  ParseOutcomes(body, format, &events, &report);
  if (format == BodyFormat::kNdjson && events.empty() && report.invalid > 0 &&
      report.malformed == report.invalid) {
    throw MalformedBody(report.errors.empty() ? 1 : report.errors.front().line,
                        "no line of the body is a JSON object");
  }
  CountUnparsed(report.invalid);
  for (const auto& e : events) Apply(e, &report);
  // Parse errors were listed first: list all by line.
  std::stable_sort(report.errors.begin(), report.errors.end(),
                   [](const IngestError& a, const IngestError& b) {
                     return a.line < b.line;
                   });
  return report;
}

}  // namespace mlmon
