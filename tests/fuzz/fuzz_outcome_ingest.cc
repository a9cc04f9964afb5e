// Fuzzes the feedback ingest: the code path of `POST /v1/outcomes` (both
// content types) and of `mlmon replay` (outcome and prediction NDJSON).
//
// Input: one selector byte, then the body.
//   selector & 1: the body is `application/json` (else NDJSON)
//   selector & 2: the body is prediction lines (`ParsePredictions` + `Apply`,
//                 as `mlmon replay` reads them; always NDJSON)
//   selector & 4: several models are hosted ("mc" multiclass, "reg"
//                 regression, "rank" ranking) instead of one binary "fraud"
// Every model has segments (max_values 3) and predictions p0..p9
// pending before the body is applied, so outcomes can match. The trackers live
// across inputs (building them for each input made the target about ten times
// slower): after each input the clock moves past the TTL (1 s) and `Tick()`
// expires every prediction and tombstone, then p0..p9 are predicted again, so
// every input meets the same pending predictions. Window sums and counters
// carry over from input to input; a finding replays on its own unless it
// depends on those.
//
// Besides sanitizer findings, it aborts when:
//   - an exception other than `MalformedBody` escapes;
//   - the report's counts do not add up: matched + unmatched + duplicate +
//     invalid must equal the number of non-blank NDJSON lines (a line is
//     blank when, less one trailing CR, it holds only spaces and tabs), or
//     for a JSON body 1 (an object) or the number of elements (an array);
//   - `malformed` exceeds `invalid`, the error list is not sorted by line,
//     names a line outside the body, or is longer than `kMaxErrors` or than
//     `invalid`;
//   - `IngestReport::ToJson()` (the HTTP answer) is not valid JSON or does
//     not carry the report's counts;
//   - the registry's exposition after the input fails the text format
//     checker of the tests (tests/testing/exposition_checker.h).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "exposition_checker.h"
#include "mlmon/clock.h"
#include "mlmon/errors.h"
#include "mlmon/outcome_ingest.h"
#include "mlmon/outcome_tracker.h"
#include "mlmon/registry.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_outcome_ingest: %s: %s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

mlmon::OutcomeSpec SmallSpec(mlmon::OutcomeSpec::Task task) {
  mlmon::OutcomeSpec spec;
  spec.task = task;
  spec.thresholds = {0.3, 0.5};
  spec.pending_capacity = 64;
  spec.windows = {std::chrono::hours(1)};
  spec.slices_per_window = 4;
  spec.auc_bins = 16;
  spec.outcome_ttl = std::chrono::seconds(1);
  if (task == mlmon::OutcomeSpec::Task::kMulticlass) {
    spec.classes = {"cat", "dog", "bird"};
  }
  if (task == mlmon::OutcomeSpec::Task::kRanking) spec.k = {1, 3};
  // Prediction lines may carry "segment": a small table that fills fast,
  // so values also fold into __other__.
  spec.segments = {"segment", 3};
  return spec;
}

// The models of one input, each with predictions p0..p9 pending.
struct World {
  explicit World(bool several) {
    using Task = mlmon::OutcomeSpec::Task;
    if (!several) {
      Add("fraud", Task::kBinary);
    } else {
      Add("mc", Task::kMulticlass);
      Add("reg", Task::kRegression);
      Add("rank", Task::kRanking);
    }
  }
  // Predicts p0..p9 on every model.
  void Predict() {
    using Task = mlmon::OutcomeSpec::Task;
    static const char* const kClasses[] = {"cat", "dog", "bird"};
    for (auto& t : trackers) {
      for (int i = 0; i < 10; ++i) {
        const std::string id = "p" + std::to_string(i);
        switch (t->spec().task) {
          case Task::kBinary:
            t->RecordPrediction(id, 0.1 * i);
            break;
          case Task::kRegression:
            t->RecordPrediction(id, 10.0 * i - 20);
            break;
          case Task::kMulticlass:
            t->RecordPrediction(id, kClasses[i % 3]);
            break;
          case Task::kRanking: {
            const std::string_view items[] = {"a", "b", "c", "d"};
            t->RecordRanking(id, items, 1 + i % 4);
            break;
          }
        }
      }
    }
  }
  void Add(const char* model, mlmon::OutcomeSpec::Task task) {
    trackers.push_back(std::make_unique<mlmon::OutcomeTracker>(
        registry, model, "1", SmallSpec(task), &clock));
    ingest.AddTracker(*trackers.back());
  }

  mlmon::FakeClock clock{0, 1.7e9};
  mlmon::Registry registry;
  std::vector<std::unique_ptr<mlmon::OutcomeTracker>> trackers;
  mlmon::OutcomeIngest ingest;
};

// Non-blank NDJSON lines, by the documented framing.
std::size_t NonBlankLines(std::string_view body, std::size_t* total_lines) {
  std::size_t count = 0, lines = 0, pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    ++lines;
    std::string_view line = body.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) ++count;
    pos = end + 1;
  }
  *total_lines = lines;
  return count;
}

void CheckReport(const mlmon::IngestReport& r, std::size_t expected_lines,
                 std::size_t max_line, bool check_count) {
  const std::size_t sum = r.matched + r.unmatched + r.duplicate + r.invalid;
  if (check_count && sum != expected_lines) {
    Fail("counts do not add up",
         "matched+unmatched+duplicate+invalid = " + std::to_string(sum) +
             ", lines = " + std::to_string(expected_lines) + "; report " +
             r.ToJson());
  }
  if (r.malformed > r.invalid) Fail("malformed > invalid", r.ToJson());
  if (r.errors.size() > mlmon::IngestReport::kMaxErrors ||
      r.errors.size() > r.invalid) {
    Fail("error list too long", r.ToJson());
  }
  if (r.invalid >= mlmon::IngestReport::kMaxErrors &&
      r.errors.size() != mlmon::IngestReport::kMaxErrors) {
    Fail("error list not filled up to kMaxErrors", r.ToJson());
  }
  if (r.invalid < mlmon::IngestReport::kMaxErrors &&
      r.errors.size() != r.invalid) {
    Fail("errors listed != invalid", r.ToJson());
  }
  for (std::size_t i = 0; i < r.errors.size(); ++i) {
    if (r.errors[i].line < 1 || r.errors[i].line > max_line) {
      Fail("error names a line outside the body", r.ToJson());
    }
    if (i > 0 && r.errors[i].line < r.errors[i - 1].line) {
      Fail("errors not sorted by line", r.ToJson());
    }
  }
  const std::string json = r.ToJson();
  const nlohmann::json answer = nlohmann::json::parse(json, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) {
    Fail("ToJson() is not a JSON object", json);
  }
  if (answer.value("matched", std::size_t{0}) != r.matched ||
      answer.value("unmatched", std::size_t{0}) != r.unmatched ||
      answer.value("duplicate", std::size_t{0}) != r.duplicate ||
      answer.value("invalid", std::size_t{0}) != r.invalid ||
      !answer.contains("errors") || !answer["errors"].is_array() ||
      answer["errors"].size() != r.errors.size()) {
    Fail("ToJson() does not carry the report", json);
  }
}

void IngestOutcomes(World& world, std::string_view body, bool json) {
  const auto format =
      json ? mlmon::BodyFormat::kJson : mlmon::BodyFormat::kNdjson;
  mlmon::IngestReport report;
  try {
    report = world.ingest.IngestOutcomes(body, format);
  } catch (const mlmon::MalformedBody& e) {
    if (e.line() < 1) Fail("MalformedBody names line 0", e.what());
    return;
  }
  if (!json) {
    std::size_t lines = 0;
    const std::size_t non_blank = NonBlankLines(body, &lines);
    CheckReport(report, non_blank, lines, true);
    return;
  }
  // A JSON body was accepted: it must be an object or an array, per a second,
  // independent parser. When the two parsers disagree on whether the text is
  // JSON (limits, number syntax), the count is not checked.
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  std::size_t elements = 0;
  bool check = !doc.is_discarded();
  if (check) {
    if (doc.is_object()) {
      elements = 1;
    } else if (doc.is_array()) {
      elements = doc.size();
    } else {
      Fail("a JSON body that is neither an object nor an array was accepted",
           std::string(body.substr(0, 200)));
    }
  }
  // Without a count from the second parser, an error still names an element
  // that exists: an array has at most one element more than it has commas.
  const std::size_t max_element = check
                                      ? std::max<std::size_t>(elements, 1)
                                      : 1 + static_cast<std::size_t>(std::count(
                                                body.begin(), body.end(), ','));
  CheckReport(report, elements, max_element, check);
}

void IngestPredictions(World& world, std::string_view body) {
  mlmon::IngestReport report;
  std::vector<mlmon::PredictionEvent> events;
  mlmon::ParsePredictions(body, &events, &report);
  for (const auto& e : events) world.ingest.Apply(e, &report);
  if (report.unmatched != 0 || report.duplicate != 0) {
    Fail("predictions counted as unmatched/duplicate", report.ToJson());
  }
  // Apply() appends errors after the parse errors; the report of a whole
  // body is sorted by IngestOutcomes only, so sort a copy for the check.
  std::stable_sort(report.errors.begin(), report.errors.end(),
                   [](const mlmon::IngestError& a,
                      const mlmon::IngestError& b) { return a.line < b.line; });
  std::size_t lines = 0;
  const std::size_t non_blank = NonBlankLines(body, &lines);
  CheckReport(report, non_blank, lines, true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1,
                              size - 1);
  try {
    static World* const single = new World(false);
    static World* const several = new World(true);
    World& world = (selector & 4) != 0 ? *several : *single;
    world.Predict();
    if (selector & 2) {
      IngestPredictions(world, body);
    } else {
      IngestOutcomes(world, body, (selector & 1) != 0);
    }
    // What the window thread and a scrape do next; past the TTL, Tick()
    // leaves nothing pending for the next input.
    world.clock.Advance(std::chrono::seconds(2));
    for (auto& t : world.trackers) {
      t->Tick();
      if (t->pending() != 0) Fail("predictions pending past their TTL", "");
    }
    const std::string text = world.registry.TextExposition();
    if (text.empty()) Fail("empty exposition", "");
    if (auto err = mlmon::testutil::CheckExposition(text)) {
      Fail("exposition refused by the checker", *err + "\n" + text);
    }
  } catch (const std::exception& e) {
    Fail("unexpected exception", e.what());
  }
  return 0;
}
