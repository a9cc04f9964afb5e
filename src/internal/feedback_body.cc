#include "feedback_body.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

namespace mlmon {
namespace internal {

namespace od = simdjson::ondemand;

namespace {

// True if `v` is valid JSON all the way down (the on-demand parser checks
// only the structure of what it skips, not its numbers and literals).
// Nesting is bounded by the parser's own depth limit.
bool IsWellFormed(od::value v) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return false;
  switch (type) {
    case od::json_type::array: {
      od::array arr;
      if (v.get_array().get(arr) != simdjson::SUCCESS) return false;
      for (auto item : arr) {
        od::value e;
        if (item.get(e) != simdjson::SUCCESS || !IsWellFormed(e)) return false;
      }
      return true;
    }
    case od::json_type::object: {
      od::object obj;
      if (v.get_object().get(obj) != simdjson::SUCCESS) return false;
      for (auto field : obj) {
        std::string_view key;
        od::value e;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
            field.value().get(e) != simdjson::SUCCESS || !IsWellFormed(e)) {
          return false;
        }
      }
      return true;
    }
    case od::json_type::number: {
      double d;
      return v.get_double().get(d) == simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view str;
      return v.get_string().get(str) == simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b) == simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      return v.is_null().get(is_null) == simdjson::SUCCESS && is_null;
    }
  }
  return false;
}

// Parses a "ts" value: seconds since the epoch, finite and >= 0.
std::string ReadTs(od::value v, double* ts) {
  double d;
  if (v.get_double().get(d) != simdjson::SUCCESS || !std::isfinite(d) ||
      d < 0) {
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

// Walks one object's fields: reads the fields every event has ("id",
// "model", "version", "ts") into `e` and hands any other key to
// `other(key, value)`, which returns an error message or "". Returns the
// first error, "missing 'id'", or "" when the object is good so far. After a
// first error the walk goes on, reading only "model" and "version", so that
// a refused line is still counted for the model it names; it stops at the first
// syntax error ("malformed
// ..."), which is returned only when no error came before it.
template <typename Event, typename Other>
std::string ParseEventObject(od::object obj, Event* e, Other&& other) {
  std::string first;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return first.empty() ? "malformed JSON (at a key)" : first;
    }
    od::value v;
    if (field.value().get(v) != simdjson::SUCCESS) {
      return first.empty() ? "malformed JSON (at a value)" : first;
    }
    std::string err;
    if (key == "model") {
      err = ReadNonEmptyString(v, "model", &e->model);
    } else if (key == "version") {
      err = ReadNonEmptyString(v, "version", &e->version);
    } else if (!first.empty()) {
      continue;
    } else if (key == "id") {
      err = ReadNonEmptyString(v, "id", &e->id);
    } else if (key == "ts") {
      err = ReadTs(v, &e->ts);
    } else {
      err = other(key, v);
    }
    if (err.rfind("malformed", 0) == 0) return first.empty() ? err : first;
    if (first.empty()) first = std::move(err);
  }
  if (!first.empty()) return first;
  if (e->id.empty()) return "missing 'id'";
  return {};
}

std::string ParseOutcomeObject(od::object obj, OutcomeEvent* e) {
  bool has_outcome = false;
  std::string err = ParseEventObject(
      obj, e, [&](std::string_view key, od::value& v) -> std::string {
        // Other keys (e.g. "score" of a self-contained outcome) are ignored,
        // but their values must be JSON.
        if (key != "outcome") {
          return IsWellFormed(v) ? "" : "malformed JSON (at a value)";
        }
        has_outcome = true;
        od::json_type t;
        if (v.type().get(t) != simdjson::SUCCESS) return "malformed 'outcome'";
        if (t == od::json_type::number) {
          double d = 0;
          const bool ok =
              v.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d);
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
        } else if (key == "segment") {
          bool null = false;
          if (v.is_null().get(null) == simdjson::SUCCESS && null) {
            return {};  // null: no segment
          }
          std::string_view s;
          if (v.get_string().get(s) != simdjson::SUCCESS) {
            return "'segment' must be a string or null";
          }
          e->segment = s;
        } else if (!IsWellFormed(v)) {  // other keys are ignored
          return "malformed JSON (at a value)";
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

bool IsMalformed(const std::string& err) {
  return err.rfind("malformed", 0) == 0;
}

// The length of the leading `{...}` of `line` (brackets balanced, outside
// strings), or npos if the line does not start with one. Syntax is not
// checked: this only delimits the object for a second parse.
std::size_t LeadingObjectLength(std::string_view line) {
  std::size_t i = line.find_first_not_of(" \t");
  if (i == std::string_view::npos || line[i] != '{') {
    return std::string_view::npos;
  }
  int depth = 0;
  bool in_string = false;
  for (; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// For each non-blank line of an NDJSON body: parses an `Event` with
// `parse_object(obj, &event)` (which returns "" or why it is refused) and
// hands it to `on_event(event)`, or hands a `RefusedLine` to `on_refused`.
// Each non-blank line reaches exactly one of the two; a line is accepted
// only if the object is the whole line.
template <typename Event, typename Parse, typename OnEvent, typename OnRefused>
void ForEachNdjsonLine(std::string_view body, Parse&& parse_object,
                       OnEvent&& on_event, OnRefused&& on_refused) {
  thread_local od::parser parser;
  simdjson::padded_string padded(body);
  const char* base = padded.data();
  const std::size_t total = padded.size();
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
      // An object followed by more content may not even tokenize as a
      // whole, and a broken object may still name its model before the
      // break: parse the leading {...} alone to find out.
      Event e;
      std::string detail = "not a JSON object";
      const std::size_t n = LeadingObjectLength(line);
      if (n != std::string_view::npos &&
          parser.iterate(line.data(), n, capacity).get(doc) ==
              simdjson::SUCCESS &&
          doc.get_object().get(obj) == simdjson::SUCCESS) {
        const bool object_ok = !IsMalformed(parse_object(obj, &e));
        if (object_ok && line.find_first_not_of(" \t", n) != line.npos) {
          detail = "characters after the JSON object (one object per line)";
        }
      }
      on_refused(RefusedLine{line_no, std::move(e.model), std::move(e.version),
                             std::move(detail), true});
      continue;
    }
    Event e;
    e.line = line_no;
    std::string err = parse_object(obj, &e);
    if (!err.empty()) {
      const bool malformed = IsMalformed(err);
      on_refused(RefusedLine{line_no, std::move(e.model), std::move(e.version),
                             std::move(err), malformed});
    } else if (!AtEnd(doc)) {
      on_refused(RefusedLine{line_no, std::move(e.model), std::move(e.version),
                             "characters after the JSON object (one object per "
                             "line)",
                             true});
    } else {
      on_event(std::move(e));
    }
  }
}

std::size_t LineOf(std::string_view body, const char* at, const char* base) {
  if (at == nullptr || at < base || at > base + body.size()) return 1;
  std::size_t line = 1;
  for (const char* p = base; p < at; ++p) line += (*p == '\n');
  return line;
}

}  // namespace

void ParseOutcomeBody(std::string_view body, BodyFormat format,
                      std::vector<OutcomeEvent>* events,
                      std::vector<RefusedLine>* refused) {
  if (format == BodyFormat::kNdjson) {
    ForEachNdjsonLine<OutcomeEvent>(
        body, ParseOutcomeObject,
        [&](OutcomeEvent&& e) { events->push_back(std::move(e)); },
        [&](RefusedLine&& r) { refused->push_back(std::move(r)); });
    return;
  }
  thread_local od::parser parser;
  simdjson::padded_string padded(body);
  od::document doc;
  auto malformed = [&](const std::string& what) {
    const char* at = nullptr;
    if (doc.current_location().get(at) != simdjson::SUCCESS) at = nullptr;
    const std::size_t line = LineOf(body, at, padded.data());
    return MalformedBody(
        line,
        fmt::format("body is not valid JSON ({}) near line {}", what, line));
  };
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
    throw MalformedBody(1, "body is not valid JSON");
  }
  od::json_type type;
  if (doc.type().get(type) != simdjson::SUCCESS) throw malformed("no value");
  // Elements are collected first and handed on only once the whole body
  // has parsed: a malformed body is refused as a whole.
  std::vector<OutcomeEvent> parsed;
  std::vector<RefusedLine> refused_here;
  auto element = [&](od::object obj, std::size_t index) {
    OutcomeEvent e;
    e.line = index;
    std::string err = ParseOutcomeObject(obj, &e);
    if (IsMalformed(err)) throw malformed(err);
    if (err.empty()) {
      parsed.push_back(std::move(e));
    } else {
      refused_here.push_back(RefusedLine{index, std::move(e.model),
                                         std::move(e.version), std::move(err),
                                         false});
    }
  };
  if (type == od::json_type::object) {
    od::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
      throw malformed("bad object");
    }
    element(obj, 1);
  } else if (type == od::json_type::array) {
    od::array arr;
    if (doc.get_array().get(arr) != simdjson::SUCCESS) {
      throw malformed("bad array");
    }
    std::size_t index = 0;
    for (auto item : arr) {
      ++index;
      od::value v;
      if (item.get(v) != simdjson::SUCCESS) throw malformed("bad element");
      od::json_type element_type;
      if (v.type().get(element_type) != simdjson::SUCCESS) {
        throw malformed("bad element");
      }
      if (element_type != od::json_type::object) {
        if (!IsWellFormed(v)) throw malformed("bad element");
        refused_here.push_back(RefusedLine{
            index, {}, {}, "array element is not an object", false});
        continue;
      }
      od::object obj;
      if (v.get_object().get(obj) != simdjson::SUCCESS) {
        throw malformed("bad element");
      }
      element(obj, index);
    }
  } else {
    throw MalformedBody(1, "body must be a JSON object or an array of objects");
  }
  if (!AtEnd(doc)) throw malformed("trailing characters");
  std::move(parsed.begin(), parsed.end(), std::back_inserter(*events));
  std::move(refused_here.begin(), refused_here.end(),
            std::back_inserter(*refused));
}

void ParsePredictionBody(std::string_view body,
                         std::vector<PredictionEvent>* events,
                         std::vector<RefusedLine>* refused) {
  ForEachNdjsonLine<PredictionEvent>(
      body, ParsePredictionObject,
      [&](PredictionEvent&& e) { events->push_back(std::move(e)); },
      [&](RefusedLine&& r) { refused->push_back(std::move(r)); });
}

}  // namespace internal
}  // namespace mlmon
