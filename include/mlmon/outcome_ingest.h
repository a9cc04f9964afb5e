#ifndef MLMON_OUTCOME_INGEST_H_
#define MLMON_OUTCOME_INGEST_H_

/// \file
/// Parses feedback (outcome) and prediction lines in the NDJSON/JSON shape of
/// the feedback protocol (README.md), and applies them to
/// `OutcomeTracker`s. The HTTP endpoint `POST /v1/outcomes` and
/// `mlmon replay` both go through here, so the live and the batch path share
/// one code path.
///
/// Accounting. Every non-blank NDJSON line (every element of a JSON array)
/// is counted exactly once in the answer: `matched + unmatched + duplicate +
/// invalid` is the number of lines. A line is applied only if it is one
/// whole JSON object (nothing after it but blanks) with valid fields. In the
/// metrics, a line is counted once in `mlmon_outcomes_total{result}` of the
/// model it names when that model is hosted here, whatever else is wrong
/// with it; a line that names no hosted model (no `model` where several are
/// hosted, an unknown one, or one refused before its `model` field could be
/// read) is counted in the only model when one model is hosted, and in no
/// model's counters (only in the answer) when several are.

#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/outcome_tracker.h"

namespace mlmon {

/// One outcome line: `{"id":"p-1","outcome":1,"ts":1764150000.5,"model":"m"}`.
struct OutcomeEvent {
  std::size_t line = 0;  ///< 1-based line (NDJSON) or element (JSON array)
  std::string id;
  std::string model;      ///< empty: the only model
  bool is_label = false;  ///< outcome was a string (class or item id)
  double outcome = std::numeric_limits<double>::quiet_NaN();
  std::string label;
  double ts = std::numeric_limits<double>::quiet_NaN();  ///< NaN: arrival
};

/// One prediction line: `{"ts":..., "id":...,
/// "score"|"value"|"label"|"items"}`.
struct PredictionEvent {
  enum class Kind { kScore, kValue, kLabel, kItems };
  std::size_t line = 0;
  std::string id;
  std::string model;
  Kind kind = Kind::kScore;
  double number = std::numeric_limits<double>::quiet_NaN();  ///< score/value
  std::string label;
  std::vector<std::string> items;
  double ts = std::numeric_limits<double>::quiet_NaN();
};

/// A line that was refused, and why.
struct IngestError {
  std::size_t line = 0;
  std::string detail;
};

/// Per-line accounting of one body (the 200 answer of `POST /v1/outcomes`).
struct IngestReport {
  std::size_t matched = 0, unmatched = 0, duplicate = 0, invalid = 0;
  /// Lines that were not valid JSON at all (a subset of `invalid`).
  std::size_t malformed = 0;
  /// The first `kMaxErrors` refused lines.
  std::vector<IngestError> errors;
  static constexpr std::size_t kMaxErrors = 100;

  void AddError(std::size_t line, std::string detail);
  /// `{"matched":n,"unmatched":n,"duplicate":n,"invalid":n,"errors":[...]}`
  std::string ToJson() const;
};

/// How a body is framed.
enum class BodyFormat {
  kNdjson,  ///< one JSON object per line; blank lines ignored
  kJson,    ///< one object, or an array of objects
};

/// Thrown by the parse functions when a `kJson` body is not JSON at all (the
/// HTTP endpoint answers 400 naming `line`).
class MalformedBody : public std::runtime_error {
 public:
  MalformedBody(std::size_t line, const std::string& what)
      : std::runtime_error(what), line_(line) {}
  std::size_t line() const noexcept { return line_; }

 private:
  std::size_t line_;
};

/// Parses outcome lines into `out`; refused lines are counted in `report`
/// (`invalid`, with a reason) and not put in `out`: each line ends up in
/// exactly one of the two.
/// \throw MalformedBody if a `kJson` body does not parse.
void ParseOutcomes(std::string_view body, BodyFormat format,
                   std::vector<OutcomeEvent>* out, IngestReport* report);

/// Parses prediction lines (NDJSON) into `out`; refused lines are counted.
void ParsePredictions(std::string_view body, std::vector<PredictionEvent>* out,
                      IngestReport* report);

/// Routes parsed lines to the tracker of their model.
///
/// Thread safety: thread-safe after set-up (`AddTracker` only before use).
class OutcomeIngest {
 public:
  /// Serves `tracker` under its model name. Set-up call.
  /// \throw mlmon::ConfigError if a tracker for that model exists already.
  void AddTracker(OutcomeTracker& tracker);

  /// Applies one outcome; an invalid one is counted in `report` with a reason
  /// and in the tracker's `invalid` counter. An outcome for a model that is
  /// not hosted is counted as `CountRefused` says (see the file comment).
  void Apply(const OutcomeEvent& event, IngestReport* report) const;
  /// Records one prediction; a refused one is counted in `report`.
  void Apply(const PredictionEvent& event, IngestReport* report) const;

  /// Counts `n` outcome lines that did not parse in
  /// `mlmon_outcomes_total{result="invalid"}` of the only model (nothing
  /// when several models are hosted). For callers of `ParseOutcomes`, which
  /// hosts one model (`mlmon replay`); `IngestOutcomes` attributes refused
  /// lines to the model they name.
  void CountUnparsed(std::size_t n) const;

  /// Parses and applies a feedback body.
  /// \throw MalformedBody if the body as a whole is not JSON (kJson), or if
  /// no NDJSON line at all is JSON.
  IngestReport IngestOutcomes(std::string_view body, BodyFormat format) const;

  /// The tracker for `model` ("" = the only one), or null.
  OutcomeTracker* Find(const std::string& model) const;

 private:
  // Counts one refused outcome line naming `model` (see the file comment).
  void CountRefused(const std::string& model) const;

  std::map<std::string, OutcomeTracker*> trackers_;
};

}  // namespace mlmon

#endif  // MLMON_OUTCOME_INGEST_H_
