#ifndef MLMON_OUTCOME_TRACKER_H_
#define MLMON_OUTCOME_TRACKER_H_

/// \file
/// Outcome monitoring: store each prediction, join its (often delayed) true
/// outcome, and export evaluation metrics — raw, aggregatable counters and
/// in-process windowed quality gauges.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/clock.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/duration.h"
#include "mlmon/pending_store_spec.h"
#include "mlmon/quality_metrics.h"
#include "mlmon/registry.h"
#include "mlmon/segment_spec.h"

namespace mlmon {

namespace internal {
struct TakenPrediction;
}  // namespace internal

/// What became of one outcome.
enum class OutcomeResult {
  kMatched,      ///< joined with its prediction (or self-contained) and counted
  kUnmatched,    ///< no pending prediction: never seen, evicted, or expired
  kDuplicate,    ///< the prediction already had its outcome: not counted again
  kInvalid,      ///< refused: bad id or value for the task; nothing consumed
  kUnavailable,  ///< the shared pending store could not be asked (Redis down
                 ///< or slow): nothing joined; send the outcome again later
};

/// The `result` label value of `r`: `"matched"`, `"unmatched"`, ...
const char* OutcomeResultName(OutcomeResult r) noexcept;

/// Why `RecordOutcome` answered `kInvalid` (for messages; the counters do not
/// distinguish these: all are `mlmon_outcomes_total{result="invalid"}`).
enum class OutcomeRefusal {
  kNone,        ///< not refused
  kEmptyId,     ///< the id is empty
  kIdTooLong,   ///< the id is longer than `OutcomeTracker::kMaxIdBytes`
  kBadTime,     ///< the outcome time is negative or infinite
  kFutureTime,  ///< the outcome time is after now + `max_clock_skew`
  kBadValue,    ///< the outcome does not fit the task
};

/// Bounds of `mlmon_outcome_delay_seconds`: 1 s to 7 days.
const std::vector<double>& DefaultOutcomeDelayBuckets();
/// Bounds of `mlmon_outcome_score`: 0.05, 0.1, ..., 0.95, 1.
const std::vector<double>& DefaultOutcomeScoreBuckets();
/// Bounds of `mlmon_absolute_error`: 0.001 to 1000 in 1-2.5-5 steps.
const std::vector<double>& DefaultAbsoluteErrorBuckets();

/// Set-up configuration of an `OutcomeTracker`. Validated by the tracker's
/// constructor.
struct OutcomeSpec {
  enum class Task { kBinary, kMulticlass, kRegression, kRanking };

  Task task = Task::kBinary;
  /// Binary: decision thresholds, each in (0, 1), unique, at most 16. A score
  /// is predicted positive iff `score >= threshold` (scikit-learn's rule).
  std::vector<double> thresholds = {0.5};
  /// Multiclass: the class names, non-empty, unique, at most `kMaxClasses`
  /// and at most `max_series_per_family` confusion cells (classes^2).
  std::vector<std::string> classes;
  /// Ranking: the k of hit@k, each in [1, `kMaxK`], unique.
  std::vector<std::size_t> k = {1, 3, 10};
  /// How long a prediction waits for its outcome (> 0).
  std::chrono::seconds outcome_ttl = std::chrono::hours(24 * 7);
  /// Predictions (and matched tombstones) held at most, in [1, 1e8], by the
  /// in-memory store.
  std::size_t pending_capacity = 1000000;
  /// Where predictions wait for their outcome: this process (default) or a
  /// Redis server shared by the fleet.
  PendingStoreSpec store;
  /// Segments of the predictions (`RecordPrediction` with a segment): the
  /// outcome series gain `segment` values (see `SegmentSpec`).
  SegmentSpec segments;
  /// Outcome times later than the tracker clock's Unix time plus this are
  /// refused (`kInvalid`): a wrong clock or a unit error (ms for s) must not
  /// set `mlmon_last_outcome_timestamp_seconds` into the future or inflate
  /// `mlmon_outcome_delay_seconds`. Earlier times, however old, are
  /// accepted (late feedback carries its true time; the delay of an outcome
  /// timed before its prediction is observed as 0). In [0 s, 3650 d].
  std::chrono::seconds max_clock_skew = std::chrono::minutes(5);
  /// Windows of the `mlmon_model_quality` gauges (each >= 1 s, distinct
  /// labels, at most 8; may be empty).
  std::vector<std::chrono::seconds> windows = {std::chrono::hours(1),
                                               std::chrono::hours(24)};
  /// Also export `window="all"`: everything since the tracker was created
  /// (what `mlmon replay` reports).
  bool all_time_window = false;
  /// Time slices per window, in [1, 3600]: a window covers the current slice
  /// and the `slices_per_window - 1` before it.
  std::size_t slices_per_window = 60;
  /// Binary: score bins per class per slice for AUC, in [16, 65536].
  std::size_t auc_bins = 1024;
  /// Histogram bounds (must match across replicas and models in a registry).
  std::vector<double> delay_buckets = DefaultOutcomeDelayBuckets();
  std::vector<double> score_buckets = DefaultOutcomeScoreBuckets();
  std::vector<double> error_buckets = DefaultAbsoluteErrorBuckets();
  /// Ranking: bounds of `mlmon_outcome_rank`; empty = 1, 2, ..., max(k).
  std::vector<double> rank_buckets;

  static constexpr std::size_t kMaxClasses = 100;
  static constexpr std::size_t kMaxK = 100;
};

/// Joins predictions with their delayed true outcomes for one model version
/// and exports the evaluation metrics (all with labels `model`, `version`):
///
/// - feedback accounting: `mlmon_outcomes_total{result}`,
///   `mlmon_predictions_expired_total`, `mlmon_pending_predictions`,
///   `mlmon_pending_evicted_total`, `mlmon_outcome_delay_seconds`,
///   `mlmon_last_outcome_timestamp_seconds`;
/// - aggregatable raw metrics: `mlmon_confusion_total{threshold,predicted,
///   actual}` (binary: per threshold, `"0"`/`"1"`; multiclass: class names and
///   `threshold=""`), `mlmon_outcome_score{actual}`,
///   `mlmon_outcome_brier_total` and `mlmon_outcome_log_loss_total` (binary),
///   `mlmon_absolute_error` and `mlmon_squared_error_total` (regression),
///   `mlmon_outcome_rank` (ranking; max(k)+1 when the true item was not in the
///   kept list) and `mlmon_outcome_reciprocal_rank_total` (ranking);
/// - windowed gauges `mlmon_model_quality{metric,window,threshold,k}`, set by
///   `Tick()`. Labels that do not apply are `""`: `threshold` is set only on
///   binary precision/recall/f1/accuracy, `k` only on `hit_rate` and `ndcg`.
///   Metrics: binary precision, recall, f1, accuracy, auc, brier, log_loss,
///   ece (expected calibration error on 15 equal-width score bins);
///   multiclass accuracy, precision, recall, f1 (macro); regression mae,
///   rmse, mape; ranking hit_rate, ndcg, mrr; and for every task `samples`, the
///   outcomes in the window. An undefined value (no samples, a precision
///   with no positive prediction, AUC with one class) is exported as `NaN`
///   (PromQL comparisons are false on it; Grafana draws a gap), never 0.
///
/// Segments (`spec.segments`). A prediction's segment is stored with it;
/// its matched outcome counts in the raw series (`mlmon_outcomes_total
/// {result="matched"}`, `mlmon_confusion_total`, score, error and rank
/// series) of that `segment` only, so they add up over `segment` to the
/// whole model; unmatched, duplicate and invalid outcomes, and predictions
/// without a segment, count under `segment=""`. `mlmon_model_quality` is a
/// ratio, not a sum: `segment=""` is the whole model (every outcome), and
/// each segment has its own (no `auc`). A segment's series enter the
/// exposition at the first `Tick()` after its value is first seen, with
/// everything recorded since. Memory: each of `max_values + 1` segments
/// keeps its own windows (a few KB per window; see `docs/metrics.md`).
///
/// Joining. `RecordPrediction` stores the prediction in a bounded, sharded
/// pending store (ids up to `kMaxIdBytes`, kept inline). `RecordOutcome`
/// takes it out; a matched id stays as a tombstone until its TTL ends, so a
/// repeated outcome is `kDuplicate` and never counted twice. A full store
/// evicts the oldest entry of the id's shard. Predicting an id that is still
/// pending replaces its score; predicting an id that already has its outcome
/// is refused.
///
/// Fleet (`spec.store` Redis, docs/fleet.md). `RecordPrediction` puts the
/// prediction in a bounded buffer (`max_buffered`; full: dropped,
/// `store_unavailable`) that a writer thread pipelines to Redis; an outcome
/// takes it there atomically, so an outcome reaching any replica joins the
/// prediction of any other, exactly once. A repeated prediction of a pending
/// id keeps the first. Expiry is Redis' (TTL): `mlmon_predictions_expired_
/// total` and `mlmon_pending_evicted_total` stay 0, `mlmon_pending_
/// predictions` is what this process still has to write, and the delay
/// histogram has 1 s resolution. Redis down: outcomes are `kUnavailable`
/// (`mlmon_outcomes_total{result="unavailable"}`), `mlmon_pending_store_up`
/// is 0 and `mlmon_pending_store_errors_total{op}` counts failed operations.
/// `RecordOutcome` then does one round trip per call (bounded by
/// `timeout`) and allocates; `OutcomeIngest` takes a whole body in one.
///
/// Windows. Each window is a ring of `slices_per_window` time slices of
/// running sums. An outcome lands in the slice of the time it is matched
/// (the tracker's monotonic clock), not of the prediction.
///
/// Thread safety: thread-safe.
/// Lifetime: destroying the tracker removes its series from the registry
/// (see `Registry` for a tracker that outlives it). The tracker may be
/// destroyed at any time while `OutcomeIngest`s it was added to serve feedback:
/// its destructor waits for the line being applied to it, and later lines
/// naming its model are answered as an unknown model. Outcome and
/// prediction calls made directly on a tracker must end before it is
/// destroyed.
/// Hot path: `RecordPrediction` / `RecordRanking` are noexcept and
/// allocation-free; they take no lock but the id's pending-store shard spin
/// lock, held for one hash probe and a copy of the entry (tens of ns).
/// Ingest path: `RecordOutcome` / `RecordLabeled*` are noexcept and
/// allocation-free; they take the shard spin lock, then each window's mutex
/// for one slice update (never taken by `RecordPrediction`). `Tick()` takes
/// each shard lock for at most 64 expiries at a time and each window mutex
/// while it sums the window's slices.
///
/// **Example**:
///
///     mlmon::Registry registry;
///     mlmon::OutcomeSpec spec;
///     spec.thresholds = {0.3, 0.5};
///     mlmon::OutcomeTracker outcomes(registry, "fraud", "v7", spec);
///     outcomes.RecordPrediction("tx-1", 0.91);           // inference thread
///     auto r = outcomes.RecordOutcome("tx-1", 1.0);      // feedback, later
///     outcomes.Tick();                                   // every few seconds
class OutcomeTracker {
 public:
  /// Longest prediction id; longer ids are dropped and counted
  /// (`mlmon_dropped_total{reason="id_too_long"}`).
  static constexpr std::size_t kMaxIdBytes = 64;

  /// `clock` (SteadyClock when null) must outlive the tracker.
  /// \throw mlmon::ConfigError naming the bad `OutcomeSpec` field and value,
  /// or if `model` is empty, or if the registry refuses a family (e.g. other
  /// bucket bounds already registered under the same name).
  OutcomeTracker(Registry& registry, std::string model, std::string version,
                 OutcomeSpec spec, const Clock* clock = nullptr);
  ~OutcomeTracker();
  OutcomeTracker(const OutcomeTracker&) = delete;
  OutcomeTracker& operator=(const OutcomeTracker&) = delete;

  /// Binary (score in [0, 1]) or regression (finite value) prediction.
  /// Returns false if dropped: empty id (`invalid_value`), id too long,
  /// NaN/Inf, a binary score outside [0, 1] (`invalid_value`), the wrong
  /// task, or an id that already has its outcome (`invalid_value`).
  ///
  /// `segment` (with `spec.segments`; ignored without): the segment the
  /// prediction was made in, kept with it so that its outcome counts there
  /// (see `SegmentSpec`; empty: none). Its look-up is lock-free and
  /// allocation-free; a new value's series appear at the next `Tick()`.
  bool RecordPrediction(std::string_view id, double score,
                        std::string_view segment = {}) noexcept;
  /// Multiclass prediction. An unknown class is dropped and counted
  /// (`unknown_name`).
  bool RecordPrediction(std::string_view id, std::string_view predicted_class,
                        std::string_view segment = {}) noexcept;
  /// Ranking prediction: keeps (hashes of) the first max(k) of `n` items.
  bool RecordRanking(std::string_view id, const std::string_view* items,
                     std::size_t n, std::string_view segment = {}) noexcept;

  /// Joins a numeric outcome: binary 0 or 1 (anything else is kInvalid), or
  /// the regression value. `outcome_unix_ts` is when the outcome happened
  /// (seconds since the Unix epoch; NaN = now), for the delay histogram and
  /// `mlmon_last_outcome_timestamp_seconds`; a negative or infinite time, or
  /// one after `UnixNow() + spec.max_clock_skew`, is kInvalid. When `why` is
  /// not null it receives the reason of a kInvalid (else kNone).
  [[nodiscard]] OutcomeResult RecordOutcome(
      std::string_view id, double outcome,
      double outcome_unix_ts = std::numeric_limits<double>::quiet_NaN(),
      OutcomeRefusal* why = nullptr) noexcept;
  /// Joins a multiclass label or, for ranking, the id of the chosen item.
  [[nodiscard]] OutcomeResult RecordOutcome(
      std::string_view id, std::string_view label,
      double outcome_unix_ts = std::numeric_limits<double>::quiet_NaN(),
      OutcomeRefusal* why = nullptr) noexcept;

  /// `RecordOutcome` for a caller that joins one outcome to several
  /// versions of a model (`OutcomeIngest`): the same, except that a
  /// `kUnmatched` is counted nowhere (the expiry of a prediction found past
  /// its TTL still is). The caller counts it with `CountUnmatchedOutcome`
  /// when no version held the id.
  [[nodiscard]] OutcomeResult TryRecordOutcome(
      std::string_view id, double outcome,
      double outcome_unix_ts = std::numeric_limits<double>::quiet_NaN(),
      OutcomeRefusal* why = nullptr) noexcept;
  /// `TryRecordOutcome` of a multiclass label or a ranking's chosen item.
  [[nodiscard]] OutcomeResult TryRecordOutcome(
      std::string_view id, std::string_view label,
      double outcome_unix_ts = std::numeric_limits<double>::quiet_NaN(),
      OutcomeRefusal* why = nullptr) noexcept;
  /// Counts one outcome in `mlmon_outcomes_total{result="unmatched"}`: the
  /// fallback of a `TryRecordOutcome` that no version matched.
  void CountUnmatchedOutcome() noexcept;

  /// Self-contained outcomes, no join (feedback that reached another
  /// replica carries the prediction): binary (score, 0/1) or regression
  /// (predicted, actual). Same metrics as a match, without delay.
  [[nodiscard]] OutcomeResult RecordLabeled(double score,
                                            double outcome) noexcept;
  /// Multiclass self-contained outcome.
  [[nodiscard]] OutcomeResult RecordLabeled(
      std::string_view predicted_class, std::string_view actual_class) noexcept;
  /// Ranking self-contained outcome.
  [[nodiscard]] OutcomeResult RecordLabeledRanking(
      const std::string_view* items, std::size_t n,
      std::string_view chosen) noexcept;

  /// Counts an outcome the caller could not even parse (e.g. a malformed
  /// feedback line) in `mlmon_outcomes_total{result="invalid"}`.
  void CountInvalidOutcome() noexcept;

  /// Off the hot path (a window thread or the scrape calls it, e.g. every
  /// few seconds): expires predictions past their TTL, retires old window
  /// slices and recomputes the windowed quality gauges.
  void Tick();

  /// The Unix time of the tracker's clock, against which outcome times are
  /// checked (`mlmon replay` drives it along the logs' timestamps).
  double UnixNow() const noexcept;

  /// Predictions waiting for an outcome (in-memory store), or waiting in
  /// this process to be written (Redis store).
  std::size_t pending() const noexcept;
  /// Redis store: waits until the predictions recorded before the call are
  /// written (or dropped), at most `timeout`; true if they are. Always true
  /// for the in-memory store. For tests, benchmarks and an orderly shutdown.
  bool FlushPending(std::chrono::milliseconds timeout) noexcept;
  /// Bytes reserved by the pending store (allocated at construction; pages
  /// are touched as entries are first used).
  std::size_t pending_store_bytes() const noexcept;
  const OutcomeSpec& spec() const noexcept;
  const std::string& model() const noexcept;
  const std::string& version() const noexcept;

 private:
  friend class OutcomeIngest;
  // What an `OutcomeIngest` keeps of this tracker, shared with it. The
  // destructor clears `tracker` under the exclusive lock, which waits for
  // the lines being applied under the shared lock: an ingest never reaches
  // a destroyed tracker, and the tracker never reaches an ingest.
  struct Link {
    detail::SharedMutex mu;
    OutcomeTracker* tracker MLMON_GUARDED_BY(mu) = nullptr;
  };

  // The fan-out of `OutcomeIngest` with a Redis store: the ingest takes the
  // ids of a whole body in one round trip (`TakePending`, for the lines
  // `WouldJoin` accepts), then applies each line with what was taken.
  bool UsesRemoteStore() const noexcept;
  bool WouldJoin(std::string_view id, bool is_label, double outcome,
                 std::string_view label, double outcome_unix_ts) const noexcept;
  void TakePending(const std::string_view* ids, std::size_t n,
                   internal::TakenPrediction* out) noexcept;
  OutcomeResult TryRecordTaken(std::string_view id, bool is_label,
                               double outcome, std::string_view label,
                               double outcome_unix_ts, OutcomeRefusal* why,
                               const internal::TakenPrediction* taken) noexcept;

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<Link> link_;
};

}  // namespace mlmon

#endif  // MLMON_OUTCOME_TRACKER_H_
