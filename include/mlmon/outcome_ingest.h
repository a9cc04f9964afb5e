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
/// whole JSON object (nothing after it but blanks) with valid fields.
///
/// Versions. Several versions of one model may be hosted side by side (a
/// champion and its challengers or canaries). A line with a `"version"` goes
/// to that version only; a line naming the model only is offered to every
/// hosted version of it, and joined in each version that holds the id (each
/// counts it `matched` once, so each version's quality covers exactly the
/// predictions it made). In the answer, a line is `matched` if it matched in
/// at least one version, else `duplicate` if it was a duplicate in one, else
/// `invalid` if a version refused it (the detail is the first refusal),
/// else `unmatched`; `version_matches` counts the (line, version) joins, so
/// it equals `matched` when every model has one version.
///
/// Metrics. In `mlmon_outcomes_total{result}` of each version, a line that
/// reached several versions is counted in every version where it matched or
/// was a duplicate, and as `invalid` where the version refused it; a version
/// that does not hold the id counts nothing for it (a 10% canary does not see
/// the champion's 90% as unmatched). Only a line that no version held (no
/// match and no duplicate anywhere) is counted `unmatched` in every version
/// that did not refuse it. A line refused before it reached a version (bad
/// JSON, bad fields, an unknown version) is counted `invalid` once in the
/// version it names, or else in every version of the model it names when
/// that model is hosted; a line that names no hosted model (no `model` where
/// several are hosted, an unknown or removed one, or one refused before its
/// `model` field could be read) is counted in every version of the only
/// model when one model is hosted, and in no model's counters (only in the
/// answer) when several are (or none).
///
/// Fleet. For versions whose predictions wait in Redis (`OutcomeSpec::
/// store`), `IngestOutcomes` takes the ids of the whole body in one round
/// trip per version before it applies the lines. A line that a version
/// could not look up (Redis down or slow) is `unavailable`, even if another
/// version joined it: the sender retries it, and the versions that joined it
/// the first time count the retry as a duplicate.
///
/// Lifetime. Trackers may be added and removed while the ingest serves
/// (`AddTracker`, `RemoveTracker`): a hot swap adds v2, then destroys v1. A
/// tracker destroyed while added is removed by its destructor, which waits
/// for the line being applied to it; later lines naming only that version
/// are answered as an unknown model (or version). The ingest may be
/// destroyed before or after its trackers; the feedback route and other
/// callers of `IngestOutcomes`/`Apply` must end before the ingest is
/// destroyed.

#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/detail/mutex.h"
#include "mlmon/outcome_tracker.h"

namespace mlmon {

/// One outcome line: `{"id":"p-1","outcome":1,"ts":1764150000.5,"model":"m"}`.
struct OutcomeEvent {
  std::size_t line = 0;  ///< 1-based line (NDJSON) or element (JSON array)
  std::string id;
  std::string model;      ///< empty: the only model
  std::string version;    ///< empty: every hosted version of the model
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
  std::string model;    ///< empty: the only model
  std::string version;  ///< empty: the only version of the model
  Kind kind = Kind::kScore;
  double number = std::numeric_limits<double>::quiet_NaN();  ///< score/value
  std::string label;
  std::vector<std::string> items;
  /// The segment the prediction was made in (`"segment"`; empty: none).
  std::string segment;
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
  /// Lines a Redis pending store could not look up (down or slow): nothing
  /// of them was joined; the sender should send them again (`retry`).
  std::size_t unavailable = 0;
  /// The lines counted in `unavailable`, in order.
  std::vector<std::size_t> retry;
  /// (line, version) joins: how many versions the matched lines reached in
  /// all (see the file comment). For predictions: the lines recorded.
  std::size_t version_matches = 0;
  /// Lines that were not valid JSON at all (a subset of `invalid`).
  std::size_t malformed = 0;
  /// The first `kMaxErrors` refused lines.
  std::vector<IngestError> errors;
  static constexpr std::size_t kMaxErrors = 100;

  void AddError(std::size_t line, std::string detail);
  /// `{"matched":n,"unmatched":n,"duplicate":n,"invalid":n,
  /// "version_matches":n,"errors":[...]}`, plus `"unavailable":n,
  /// "retry":[lines]` when a line is unavailable.
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

/// Routes parsed lines to the trackers of their model and version (see the
/// file comment for versions, accounting and lifetime).
///
/// Thread safety: thread-safe. Lines are applied under a shared lock (many
/// bodies at once); `AddTracker` and `RemoveTracker` take it exclusively,
/// waiting for the bodies being applied.
class OutcomeIngest {
 public:
  OutcomeIngest() = default;
  OutcomeIngest(const OutcomeIngest&) = delete;
  OutcomeIngest& operator=(const OutcomeIngest&) = delete;

  /// Serves `tracker` under its model and version, at any time. The tracker
  /// may be destroyed while added (it is then removed).
  /// \throw mlmon::ConfigError if a live tracker of the same model and
  /// version is added already.
  void AddTracker(OutcomeTracker& tracker);
  /// Stops serving `tracker`, waiting for the bodies being applied. Returns
  /// false if it was not added.
  bool RemoveTracker(OutcomeTracker& tracker);

  /// Applies one outcome to every version it reaches; an invalid one is
  /// counted in `report` with a reason and in the trackers' `invalid`
  /// counter (see the file comment).
  void Apply(const OutcomeEvent& event, IngestReport* report) const;
  /// Records one prediction in the version it names, or the model's only
  /// version; a refused one is counted in `report`.
  void Apply(const PredictionEvent& event, IngestReport* report) const;

  /// Counts `n` outcome lines that did not parse in
  /// `mlmon_outcomes_total{result="invalid"}` of every version of the only
  /// model (nothing when several models are hosted). For callers of
  /// `ParseOutcomes`, which host one model (`mlmon replay`);
  /// `IngestOutcomes` attributes refused lines to the model they name.
  void CountUnparsed(std::size_t n) const;

  /// Parses and applies a feedback body.
  /// \throw MalformedBody if the body as a whole is not JSON (kJson), or if
  /// no NDJSON line at all is JSON.
  IngestReport IngestOutcomes(std::string_view body, BodyFormat format) const;

  /// The tracker of the only live version of `model` ("" = the only model),
  /// or null (none, or several versions). The pointer is not protected
  /// against the tracker's destruction: use it only while the caller knows
  /// the tracker lives.
  OutcomeTracker* Find(const std::string& model) const;

 private:
  using Link = OutcomeTracker::Link;
  // One added tracker, reached through its link.
  struct Version {
    std::string name;
    std::shared_ptr<Link> link;
  };
  using Models = std::map<std::string, std::vector<Version>, std::less<>>;
  using Model = Models::value_type;

  // The entry of `model`, or null. "" is the only model with a live
  // version; a named model may have none left.
  const Model* Resolve(const std::string& model) const
      MLMON_REQUIRES_SHARED(mu_);
  // Like `Resolve`, but null also when no version of the model is live.
  const Model* ResolveLive(const std::string& model) const
      MLMON_REQUIRES_SHARED(mu_);
  // Counts one outcome line refused before it reached a version.
  void CountRefused(const std::string& model, const std::string& version) const
      MLMON_REQUIRES_SHARED(mu_);
  struct RemoteBatch;
  // Takes the ids of `events` from every version with a Redis store, one
  // round trip per version.
  std::vector<RemoteBatch> TakeRemote(
      const std::vector<OutcomeEvent>& events) const MLMON_REQUIRES_SHARED(mu_);
  // Applies `event`; `index` is its place in the body whose remote takes
  // `batches` holds (null: none taken).
  void ApplyLocked(const OutcomeEvent& event, IngestReport* report,
                   std::vector<char>* unmatched, std::size_t index,
                   const std::vector<RemoteBatch>* batches) const
      MLMON_REQUIRES_SHARED(mu_);
  // Live models, for messages and the choice of the only model.
  std::size_t LiveModels() const MLMON_REQUIRES_SHARED(mu_);
  // Drops the versions whose tracker was destroyed.
  void Prune() MLMON_REQUIRES(mu_);

  mutable detail::SharedMutex mu_;
  Models models_ MLMON_GUARDED_BY(mu_);
};

}  // namespace mlmon

#endif  // MLMON_OUTCOME_INGEST_H_
