#ifndef MLMON_PREDICTION_LOG_H_
#define MLMON_PREDICTION_LOG_H_

/// \file
/// A sampled, asynchronous NDJSON log of predictions and outcomes, the input
/// of `mlmon replay`.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "mlmon/clock.h"
#include "mlmon/detail/fnv1a.h"
#include "mlmon/detail/mpsc_ring.h"
#include "mlmon/registry.h"

namespace mlmon {

/// Set-up options of `PredictionLog`.
struct PredictionLogOptions {
  /// Existing, writable directory of the log files. Existing files are
  /// appended to (after a newline if one ends inside a line).
  std::string directory = ".";
  /// Files are `<prefix>-predictions.ndjson` and `<prefix>-outcomes.ndjson`
  /// in `directory`. Non-empty, no `/`. Two logs of one process must not
  /// share a directory and prefix.
  std::string prefix = "mlmon";
  /// Share of ids logged, in [0, 1] (1: all, 0: none). Deterministic by id
  /// (see `PredictionLog::IsSampled`): an outcome is logged iff its
  /// prediction is, on every replica and in every process.
  double sample_rate = 1.0;
  /// Records the queue holds, in [2, 2^20]. Memory: `queue_capacity *
  /// PredictionLog::kSlotBytes` (44 MiB at the default), allocated at
  /// construction.
  std::size_t queue_capacity = 65536;
  /// A file is rotated before a line would take it past this size, in bytes
  /// (>= 1024). A single line longer than this gets a file of its own (the
  /// only way a file of the log exceeds it). While the file cannot be rotated
  /// the lines that do not fit are lost and counted, never written.
  std::uint64_t max_file_bytes = 64ull << 20;
  /// Files kept per stream, the active one included (in [1, 1000]): the
  /// active file, then `.1` (newest rotated) to `.<max_files - 1>` (oldest).
  int max_files = 5;
  /// Buffered lines are handed to the kernel (`write(2)`) at least this often
  /// (> 0). There is no fsync.
  std::chrono::milliseconds flush_interval{1000};
  /// Source of "now" for records logged without a timestamp, for the retry
  /// backoff of a failed open or rotation and for the once-a-second check of
  /// the file's identity; `SteadyClock` when null. Must outlive the log.
  const Clock* clock = nullptr;
  /// False: no writer thread is started and records are written only by
  /// `Flush()` and `Stop()` (for tests, or hosts that drive the writing).
  bool start_writer = true;
};

/// A sampled, asynchronous writer of predictions and (separately) outcomes as
/// NDJSON, one object per line, in the shape of the feedback protocol:
///
///     {"ts":1764150000.5,"id":"p-1","model":"fraud","version":"3","score":0.83}
///     {"ts":1764150000.5,"id":"p-2","model":"fraud","version":"3","label":"cat"}
///     {"ts":1764150000.5,"id":"p-3","model":"fraud","version":"3","value":12.5}
///     {"ts":1764150000.5,"id":"p-4","model":"fraud","version":"3","items":["a","b"]}
///     {"ts":1764150090.25,"id":"p-1","model":"fraud","outcome":1}
///     {"ts":1764150090.25,"id":"p-2","model":"fraud","outcome":"dog"}
///
/// Strings are JSON-escaped, invalid UTF-8 replaced by U+FFFD; numbers are
/// written in the shortest form that round-trips (integers without exponent).
///
/// The `Log*` calls copy the record into a fixed-size slot of a bounded MPSC
/// ring (Vyukov's queue with a sequence number per slot) and return. A writer
/// thread owned by the log drains the ring, buffers lines and hands them to
/// the kernel every `flush_interval`, when 64 KiB are buffered, on `Flush()`
/// and on `Stop()`. Files rotate by size with `rename(2)`, so a line is never
/// split across files. Counted: `mlmon_log_lines_total{model,version,stream}`
/// and `mlmon_log_bytes_total{model,version,stream}` (lines written, with
/// `stream` = `predictions` or `outcomes`),
/// `mlmon_log_lines_lost_total{model,version,stream,reason}` (lines not
/// written, see below), and refused records in `mlmon_dropped_total{reason}`.
///
/// Faults of the files never stop the host or grow a file past
/// `max_file_bytes`, and the counts stay exact (`lines_total` is the number
/// of whole lines the log put on disk, `lines_lost_total` the rest):
/// - A write that fails (full disk, I/O error, `RLIMIT_FSIZE`: SIGXFSZ is
///   blocked on the writing thread, so the write fails with `EFBIG`) loses
///   the lines not written whole (`reason="write"`); a partial line is cut off
///   the file (`ftruncate(2)`), so the file ends with a whole line.
/// - A rotation that fails (e.g. a read-only or immutable directory) stops
///   the writing to the full file: the lines are lost (`reason="rotate"`). A
///   file that cannot be opened loses them too (`reason="open"`). Both are
///   retried 1 s after the failure, the delay doubling up to 60 s while it
///   keeps failing (on `PredictionLogOptions::clock`), never per line; so
///   `Stop()` is bounded whatever the files do, short of a `write(2)` that
///   blocks in the kernel (a FIFO at the path fails instead: `O_NONBLOCK`).
/// - At most once a second (on the clock) the path is compared with the open
///   file: a file deleted or replaced at its path (e.g. by logrotate) is
///   reopened at the path (`mlmon_log_reopens_total{reason}`). Lines written
///   in between went to the old file.
/// - Failed operations are counted in `mlmon_log_errors_total{op}` (`open`,
///   `write`, `truncate`, `rotate`, `stat`).
/// SIGXFSZ's disposition is never changed; on a host thread (`Flush()` or
/// `Stop()` writing without the writer thread) it is blocked only around the
/// write, and a SIGXFSZ the write raised is consumed before unblocking.
///
/// A call returns false, without counting a drop, for an id that is not
/// sampled. A sampled record is dropped (false) and counted when:
/// the id is empty (`invalid_value`) or over `kMaxIdBytes` (`id_too_long`);
/// a label is over `kMaxLabelBytes`, a ranking is over `kMaxItems` items or
/// `kMaxItemsBytes` bytes, or `unix_ts` is infinite or negative
/// (`invalid_value`); a number is NaN or infinite (`nan`, `inf`); the
/// queue is full or the log stopped (`queue_full`). Nothing is truncated.
///
/// NOTE: a producer preempted between claiming a slot and publishing it
/// holds back the writer (not other producers) until it resumes; meanwhile
/// the ring may fill and drop.
///
/// Thread safety: thread-safe, except that destruction must not race with any
/// call. A record logged concurrently with `Stop()` may be lost uncounted.
/// Hot path: every `Log*` call is noexcept, lock-free and allocation-free,
/// never blocks and never logs.
///
/// **Example**:
///
///     mlmon::Registry registry;
///     mlmon::PredictionLogOptions options;
///     options.directory = "/var/log/model";
///     options.prefix = "fraud";
///     options.sample_rate = 0.1;
///     mlmon::PredictionLog log(registry, "fraud", "3", options);
///     log.LogPrediction("p-1", 0.83);            // on the inference thread
///     log.LogOutcome("p-1", 1.0, 1764150090.0);  // when the truth arrives
class PredictionLog {
 public:
  /// `unix_ts` value meaning "now" (`Clock::UnixSeconds()`).
  static constexpr double kNow = std::numeric_limits<double>::quiet_NaN();
  /// Longest id, in bytes.
  static constexpr std::size_t kMaxIdBytes = 64;
  /// Longest class label or string outcome, in bytes.
  static constexpr std::size_t kMaxLabelBytes = 64;
  /// Most items of a ranking.
  static constexpr std::size_t kMaxItems = 16;
  /// Most bytes of all items of a ranking together.
  static constexpr std::size_t kMaxItemsBytes = 512;
  /// Bytes of one queue slot.
  static constexpr std::size_t kSlotBytes = 704;

  /// Validates `options`, opens (creates or appends to) both files and starts
  /// the writer thread.
  /// \throw mlmon::ConfigError if `model` is empty, an option is out of range
  /// (the message names the field and value), or a file cannot be opened for
  /// writing in `directory`, or the registry holds a `PredictionLog` of the
  /// same model and version.
  PredictionLog(Registry& registry, std::string model, std::string version,
                PredictionLogOptions options = {});
  /// Calls `Stop()`, then removes the log's series from the registry's
  /// exposition.
  ~PredictionLog();
  PredictionLog(const PredictionLog&) = delete;
  PredictionLog& operator=(const PredictionLog&) = delete;

  /// Logs a prediction with a score (binary classification). Returns true if
  /// the record was queued.
  ///
  /// `segment` (every prediction kind): the segment the prediction was made
  /// in, written as `"segment"` (none when empty); a value that cannot have
  /// a series of its own (longer than `SegmentSpec::kMaxValueBytes`, not
  /// UTF-8, a control character) is written as `__other__`, where the live
  /// path counts it.
  bool LogPrediction(std::string_view id, double score, double unix_ts = kNow,
                     std::string_view segment = {}) noexcept;
  /// Logs a prediction with a class label (multiclass).
  bool LogPredictionLabel(std::string_view id, std::string_view label,
                          double unix_ts = kNow,
                          std::string_view segment = {}) noexcept;
  /// Logs a prediction with a value (regression).
  bool LogPredictionValue(std::string_view id, double value,
                          double unix_ts = kNow,
                          std::string_view segment = {}) noexcept;
  /// Logs a prediction with a ranked list of `n` items (ranking); `n == 0`
  /// logs an empty response.
  /// REQUIRES: `items` points to `n` views, or `n == 0`.
  bool LogPredictionItems(std::string_view id, const std::string_view* items,
                          std::size_t n, double unix_ts = kNow,
                          std::string_view segment = {}) noexcept;
  /// Logs a numeric outcome (binary 0/1, or a regression value).
  bool LogOutcome(std::string_view id, double outcome,
                  double unix_ts = kNow) noexcept;
  /// Logs a string outcome (multiclass label, or the chosen item).
  bool LogOutcomeLabel(std::string_view id, std::string_view label,
                       double unix_ts = kNow) noexcept;

  /// Blocks until every record queued before the call is written to its file
  /// (handed to the kernel) or counted lost. Off the hot path.
  void Flush();
  /// Stops accepting records, writes every queued record (or counts it lost),
  /// flushes and closes the files, and joins the writer thread. Idempotent.
  void Stop();

  /// True if records with this id are logged: `IdHash(id) <
  /// floor(sample_rate * 2^64)` (every id at `sample_rate == 1`).
  bool IsSampled(std::string_view id) const noexcept {
    return sample_all_ || IdHash(id) < sample_threshold_;
  }
  /// The sampling hash: 64-bit FNV-1a of the id's bytes (offset basis
  /// 14695981039346656037, prime 1099511628211).
  static constexpr std::uint64_t IdHash(std::string_view id) noexcept {
    return detail::Fnv1a64(id);
  }

  /// Path of the active predictions file.
  const std::string& predictions_path() const noexcept;
  /// Path of the active outcomes file.
  const std::string& outcomes_path() const noexcept;
  const std::string& model() const noexcept { return model_; }
  const std::string& version() const noexcept { return version_; }

 private:
  struct Record;
  struct Writer;
  enum class Kind : std::uint8_t;

  bool Push(Kind kind, std::string_view id, double number,
            std::string_view text, const std::string_view* items, std::size_t n,
            double unix_ts, std::string_view segment = {}) noexcept;
  // Counts a refused record; returns false.
  bool Drop(DropReason reason) noexcept;
  // The writer thread's body.
  void WriterLoop();

  // First: destroyed after every instrument it bound (and after the writer
  // thread, joined by the destructor's Stop()).
  std::unique_ptr<internal::SeriesOwner> owner_;
  std::string model_, version_;
  PredictionLogOptions options_;
  const Clock* clock_;
  detail::DropSink* drops_;
  bool sample_all_;
  std::uint64_t sample_threshold_;
  // The queue of records (Vyukov's bounded MPSC ring, filled in place).
  std::unique_ptr<detail::MpscRing<Record>> ring_;
  // False once Stop() began; read relaxed by producers (a late record is
  // dropped as queue_full).
  alignas(64) std::atomic<bool> accepting_{true};
  std::unique_ptr<Writer> writer_;  // consumer state, files, thread
};

}  // namespace mlmon

#endif  // MLMON_PREDICTION_LOG_H_
