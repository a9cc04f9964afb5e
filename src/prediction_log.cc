#include "mlmon/prediction_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "internal/text_format.h"

namespace mlmon {

namespace {

// Lines buffered per stream before they are handed to the kernel.
constexpr std::size_t kBufferBytes = 64 * 1024;
// Records the writer drains before it looks at flush and stop requests.
constexpr std::size_t kBatch = 1024;
// The writer polls an empty ring every kMinPoll, backing off to kMaxPoll
// while it stays empty (producers never signal: that could block).
constexpr std::chrono::milliseconds kMinPoll{1};
constexpr std::chrono::milliseconds kMaxPoll{50};
constexpr std::size_t kMaxQueueCapacity = std::size_t{1} << 20;
constexpr std::uint64_t kMinFileBytes = 1024;
constexpr int kMaxFiles = 1000;

std::string ErrnoMessage(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// Only finite values reach the writer, so this is valid JSON.
void AppendJsonNumber(std::string* out, double v) {
  internal::AppendValue(out, v);
}

// Quotes, backslash and control characters escaped; invalid UTF-8 replaced
// by U+FFFD (one per offending byte).
using internal::AppendJsonString;

// Why a line was lost (`reason` of mlmon_log_lines_lost_total).
enum LostReason : int { kLostWrite, kLostRotate, kLostOpen, kNumLostReasons };
constexpr const char* kLostReasonNames[kNumLostReasons] = {"write", "rotate",
                                                           "open"};
// The file operation that failed (`op` of mlmon_log_errors_total).
enum ErrorOp : int {
  kOpOpen,
  kOpWrite,
  kOpTruncate,
  kOpRotate,
  kOpStat,
  kNumOps
};
constexpr const char* kOpNames[kNumOps] = {"open", "write", "truncate",
                                           "rotate", "stat"};
// Why the active file was reopened (`reason` of mlmon_log_reopens_total).
enum ReopenReason : int { kReopenDeleted, kReopenReplaced, kNumReopenReasons };
constexpr const char* kReopenReasonNames[kNumReopenReasons] = {"deleted",
                                                               "replaced"};

// The path of the active file is compared with the open file at most this
// often (on the log's clock).
constexpr std::int64_t kIdentityCheckNanos = 1'000'000'000;
// A failed open or rotation is retried after kMinBackoff, doubling up to
// kMaxBackoff while it keeps failing.
constexpr std::int64_t kMinBackoffNanos = 1'000'000'000;
constexpr std::int64_t kMaxBackoffNanos = 60'000'000'000;

std::size_t CountLines(const char* p, std::size_t n) {
  return static_cast<std::size_t>(std::count(p, p + n, '\n'));
}

// Blocks SIGXFSZ on the calling thread for its lifetime, so that a write past
// RLIMIT_FSIZE fails with EFBIG instead of killing the process. On
// destruction a SIGXFSZ that a write of this scope left pending is consumed
// before the previous mask is restored (unblocking it would deliver it).
// The signal's disposition is never changed.
class ScopedSigxfszBlock {
 public:
  explicit ScopedSigxfszBlock(bool* saw_efbig) : saw_efbig_(saw_efbig) {
    *saw_efbig_ = false;
    sigemptyset(&set_);
    sigaddset(&set_, SIGXFSZ);
    ok_ = ::pthread_sigmask(SIG_BLOCK, &set_, &old_) == 0;
  }
  ~ScopedSigxfszBlock() {
    if (!ok_ || sigismember(&old_, SIGXFSZ) == 1) return;  // mask unchanged
    if (*saw_efbig_) {
      sigset_t pending;
      if (::sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ) == 1) {
        const struct timespec zero = {0, 0};
        while (::sigtimedwait(&set_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigxfszBlock(const ScopedSigxfszBlock&) = delete;
  ScopedSigxfszBlock& operator=(const ScopedSigxfszBlock&) = delete;

 private:
  bool* saw_efbig_;  // set by the writes of this scope
  sigset_t set_;
  sigset_t old_;
  bool ok_ = false;
};

// One output stream (predictions or outcomes): the active file, its line
// buffer and its counters. Used only by the consumer (under io_mu), with
// SIGXFSZ blocked.
//
// Lines are buffered whole and placed into files when the buffer is written:
// as many whole lines as fit under max_file_bytes go to the active file, then
// it is rotated. Faults of the sink never grow a file past max_file_bytes and
// never leave a partial line: a failed open or rotation loses the lines
// (counted) and is retried with backoff on the log's clock; a short write is
// truncated back to its last whole line.
struct Stream {
  std::string path;  // the active file
  int fd = -1;       // -1 while the active file cannot be opened
  dev_t dev = 0;     // identity of the open file
  ino_t ino = 0;
  std::uint64_t disk_bytes = 0;  // bytes in the active file
  bool broken_line = false;      // the active file ends inside a line
  std::string buf;               // whole lines not yet written
  std::uint64_t max_file_bytes = 0;
  int max_files = 1;
  const Clock* clock = nullptr;
  bool* saw_efbig = nullptr;    // set when a write fails with EFBIG
  std::int64_t next_check = 0;  // next comparison of path and open file
  std::int64_t retry_at = 0;    // no open or rotation attempt before
  std::int64_t backoff = kMinBackoffNanos;
  Counter* lines = nullptr;
  Counter* bytes = nullptr;
  Counter* lost[kNumLostReasons] = {};
  Counter* errors[kNumOps] = {};
  Counter* reopens[kNumReopenReasons] = {};

  // Reads the open file's identity, size and last byte.
  void Inspect() {
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      errors[kOpStat]->Increment();
      return;
    }
    dev = st.st_dev;
    ino = st.st_ino;
    disk_bytes = 0;
    broken_line = false;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      disk_bytes = static_cast<std::uint64_t>(st.st_size);
      char last = '\n';
      if (::pread(fd, &last, 1, st.st_size - 1) == 1) {
        broken_line = last != '\n';  // e.g. a crash mid-write
      }
    }
  }

  // Opens (creates, or appends to) the active file. Returns 0 or an errno.
  // O_NONBLOCK: a FIFO at the path fails writes instead of blocking them.
  int Open() {
    Close();
    const int f =
        ::open(path.c_str(),
               O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
    if (f < 0) return errno;
    fd = f;
    dev = 0;
    ino = 0;
    Inspect();
    next_check = clock->NowNanos() + kIdentityCheckNanos;
    return 0;
  }

  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ~Stream() { Close(); }

  void Failed(std::int64_t now) {
    retry_at = now + backoff;
    backoff = std::min(backoff * 2, kMaxBackoffNanos);
  }
  void Succeeded() {
    retry_at = 0;
    backoff = kMinBackoffNanos;
  }

  // True if a file is open, opening it now (at most once per backoff step)
  // if not.
  bool EnsureOpen(std::int64_t now) {
    if (fd >= 0) return true;
    if (now < retry_at) return false;
    return OpenOrBackOff(now);
  }

  // Opens the active file; on failure counts the error and backs off.
  bool OpenOrBackOff(std::int64_t now) {
    if (Open() != 0) {
      errors[kOpOpen]->Increment();
      Failed(now);
      return false;
    }
    Succeeded();
    return true;
  }

  // Reopens the path if the open file was deleted or replaced there (e.g.
  // by an external log rotation); refreshes the size otherwise.
  void CheckIdentity(std::int64_t now) {
    next_check = now + kIdentityCheckNanos;
    struct stat st;
    int reason = -1;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno != ENOENT) {
        errors[kOpStat]->Increment();
        return;
      }
      reason = kReopenDeleted;
    } else if (st.st_dev != dev || st.st_ino != ino) {
      reason = kReopenReplaced;
    }
    if (reason < 0) {
      Inspect();  // the size, in case it was truncated underneath
      return;
    }
    reopens[reason]->Increment();
    if (Open() != 0) {
      errors[kOpOpen]->Increment();
      Failed(now);
    }
  }

  std::string Rotated(int i) const { return path + "." + std::to_string(i); }

  // Moves the active file to `.1` (older ones up by one, the oldest beyond
  // max_files - 1 replaced; only the files up to the first missing index
  // move) and opens a new one. Returns false, counting one error and backing
  // off, if a file could not be moved or the new one opened, or at once if
  // the backoff of a previous failure has not elapsed.
  bool Rotate(std::int64_t now) {
    if (now < retry_at) return false;
    if (max_files == 1) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        errors[kOpRotate]->Increment();
        Failed(now);
        return false;
      }
    } else {
      int first_missing = 1;
      struct stat st;
      while (first_missing < max_files - 1 &&
             ::lstat(Rotated(first_missing).c_str(), &st) == 0) {
        ++first_missing;
      }
      // The first rename that fails abandons the rotation (nothing is
      // overwritten): the files kept so far stay in order.
      for (int i = first_missing; i >= 1; --i) {
        const std::string from = i == 1 ? path : Rotated(i - 1);
        if (::rename(from.c_str(), Rotated(i).c_str()) != 0 &&
            errno != ENOENT) {
          errors[kOpRotate]->Increment();
          Failed(now);
          return false;
        }
      }
    }
    return OpenOrBackOff(now);
  }

  // Writes all of [p, p+n) unless write(2) fails; returns the bytes written.
  std::size_t WriteRaw(const char* p, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const ssize_t w = ::write(fd, p + done, n - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EFBIG) *saw_efbig = true;
        break;
      }
      if (w == 0) break;
      done += static_cast<std::size_t>(w);
    }
    return done;
  }

  // Counts the lines of buf from `from` on as lost.
  void Lose(std::size_t from, int reason) {
    const std::size_t n = CountLines(buf.data() + from, buf.size() - from);
    if (n > 0) lost[reason]->Increment(static_cast<double>(n));
  }

  // Writes the whole lines [pos, pos+n) of buf to the active file. On
  // failure the lines written whole are counted written, a partial line is
  // cut off the file, and false is returned.
  bool WriteLines(std::size_t pos, std::size_t n, std::size_t* written) {
    *written = 0;
    if (broken_line) {  // never glue a line to a partial one
      if (WriteRaw("\n", 1) != 1) {
        errors[kOpWrite]->Increment();
        return false;
      }
      broken_line = false;
      ++disk_bytes;
    }
    const char* p = buf.data() + pos;
    const std::size_t done = WriteRaw(p, n);
    std::size_t whole = done;
    if (done < n) {
      errors[kOpWrite]->Increment();
      const void* nl = done > 0 ? ::memrchr(p, '\n', done) : nullptr;
      whole =
          nl != nullptr
              ? static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1
              : 0;
      const std::size_t torn = done - whole;
      if (torn > 0) {
        const off_t end = ::lseek(fd, 0, SEEK_CUR);
        if (end >= static_cast<off_t>(torn) &&
            ::ftruncate(fd, end - static_cast<off_t>(torn)) == 0) {
          disk_bytes = static_cast<std::uint64_t>(end) - torn;
        } else {
          errors[kOpTruncate]->Increment();
          broken_line = true;
          disk_bytes += done;
        }
      } else {
        disk_bytes += done;
      }
    } else {
      disk_bytes += done;
    }
    if (whole > 0) {
      lines->Increment(static_cast<double>(CountLines(p, whole)));
      bytes->Increment(static_cast<double>(whole));
    }
    *written = whole;
    return done == n;
  }

  // Hands the buffered lines to the kernel, in as many files as
  // max_file_bytes requires. Lines that cannot be written are counted in
  // `lost` and discarded.
  void WriteOut() {
    if (buf.empty()) return;
    const std::int64_t now = clock->NowNanos();
    if (fd >= 0 && now >= next_check) CheckIdentity(now);
    // Each rotation is followed by at least one whole line unless the new
    // file is not empty (a concurrent writer): bound the rotations anyway.
    std::size_t rotations_left = buf.size() / 16 + 2;
    std::size_t pos = 0;
    while (pos < buf.size()) {
      if (!EnsureOpen(now)) {
        Lose(pos, kLostOpen);
        break;
      }
      const char* p = buf.data() + pos;
      const std::size_t rest = buf.size() - pos;
      const std::uint64_t used = disk_bytes + (broken_line ? 1 : 0);
      std::size_t n = 0;  // bytes of the whole lines that fit
      if (used < max_file_bytes) {
        const std::uint64_t room = max_file_bytes - used;
        if (room >= rest) {
          n = rest;
        } else if (const void* nl =
                       ::memrchr(p, '\n', static_cast<std::size_t>(room))) {
          n = static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1;
        }
      }
      if (n == 0 && used == 0) {  // a line longer than a file: its own file
        n = static_cast<std::size_t>(
                static_cast<const char*>(std::memchr(p, '\n', rest)) - p) +
            1;
      }
      if (n == 0) {
        if (rotations_left == 0 || !Rotate(now)) {
          Lose(pos, fd >= 0 ? kLostRotate : kLostOpen);
          break;
        }
        --rotations_left;
        continue;
      }
      std::size_t written = 0;
      if (!WriteLines(pos, n, &written)) {
        Lose(pos + written, kLostWrite);
        break;
      }
      pos += n;
    }
    buf.clear();
  }

  // Appends one line (ending in '\n').
  void Append(const std::string& line) {
    buf.append(line);
    if (buf.size() >= kBufferBytes) WriteOut();
  }
};

}  // namespace

enum class PredictionLog::Kind : std::uint8_t {
  kScore,
  kLabel,
  kValue,
  kItems,
  kOutcome,  // first outcome kind
  kOutcomeLabel,
};

// One queued record, inline and fixed-size, written in place into its ring
// slot by the producer (detail::MpscRing::TryPushWith, Vyukov's bounded
// queue: a full ring drops instead of waiting) and formatted in place by the
// writer (TryPopWith). The ring slot is the 8-byte sequence number followed
// by the record, cache-line aligned: kSlotBytes in all.
//
// Layout: a score record whose id has at most 35 bytes lies entirely in the
// first cache line of its slot (id at offset 21 of the record, 29 of the
// slot).
struct PredictionLog::Record {
  double ts;
  double number;           // score, value or numeric outcome
  std::uint16_t text_len;  // label bytes, or all items' bytes
  std::uint8_t kind;
  std::uint8_t id_len;
  std::uint8_t num_items;
  char id[kMaxIdBytes];
  std::uint16_t item_len[kMaxItems];
  char text[kMaxItemsBytes];  // the label, or the items back to back
};

// Consumer-side state: files, buffers, the writer thread and its signals.
struct PredictionLog::Writer {
  // Held by whoever consumes the ring (the writer thread, or Flush()/Stop()
  // when there is none): guards everything up to `closed`.
  std::mutex io_mu;
  Stream streams[2];              // [0] predictions, [1] outcomes
  std::string line;               // scratch
  std::string prediction_fields;  // `,"model":"..","version":".."`
  std::string outcome_fields;     // `,"model":".."`
  bool saw_efbig = false;         // a write failed with EFBIG (SIGXFSZ)
  bool closed = false;

  // Guards the fields below; `wake` wakes the writer, `done` wakes Flush().
  std::mutex state_mu;
  std::condition_variable wake;
  std::condition_variable done;
  bool stop = false;
  bool running = false;               // the writer thread is draining
  std::uint64_t flush_target = 0;     // records Flush() callers wait for
  std::uint64_t flushed_through = 0;  // records handed to the kernel

  std::mutex stop_mu;  // serialises Stop()
  std::thread thread;
};

PredictionLog::PredictionLog(Registry& registry, std::string model,
                             std::string version, PredictionLogOptions options)
    : model_(std::move(model)),
      version_(std::move(version)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock
                                       : &SteadyClock::Instance()) {
  // A ring slot is the 8-byte sequence number and the record, rounded up to
  // a cache line.
  static_assert((8 + sizeof(Record) + 63) / 64 * 64 == kSlotBytes,
                "update kSlotBytes");
  static_assert(offsetof(Record, id) == 21, "update the layout comment");
  static_assert(kMaxItemsBytes <= UINT16_MAX && kMaxIdBytes <= UINT8_MAX &&
                    kMaxItems <= UINT8_MAX,
                "slot field widths");
  const PredictionLogOptions& o = options_;
  if (model_.empty()) {
    throw ConfigError("mlmon: PredictionLog model name must not be empty");
  }
  if (o.directory.empty()) {
    throw ConfigError(
        "mlmon: PredictionLogOptions.directory must not be empty");
  }
  if (o.prefix.empty() || o.prefix.find('/') != std::string::npos) {
    throw ConfigError(fmt::format(
        "mlmon: PredictionLogOptions.prefix must be non-empty and contain no "
        "'/', got '{}'",
        o.prefix));
  }
  if (!(o.sample_rate >= 0.0 && o.sample_rate <= 1.0)) {
    throw ConfigError(fmt::format(
        "mlmon: PredictionLogOptions.sample_rate must be in [0, 1], got {}",
        o.sample_rate));
  }
  if (o.queue_capacity < 2 || o.queue_capacity > kMaxQueueCapacity) {
    throw ConfigError(fmt::format(
        "mlmon: PredictionLogOptions.queue_capacity must be in [2, {}], got {}",
        kMaxQueueCapacity, o.queue_capacity));
  }
  if (o.max_file_bytes < kMinFileBytes) {
    throw ConfigError(fmt::format(
        "mlmon: PredictionLogOptions.max_file_bytes must be >= {}, got {}",
        kMinFileBytes, o.max_file_bytes));
  }
  if (o.max_files < 1 || o.max_files > kMaxFiles) {
    throw ConfigError(fmt::format(
        "mlmon: PredictionLogOptions.max_files must be in [1, {}], got {}",
        kMaxFiles, o.max_files));
  }
  if (o.flush_interval.count() <= 0) {
    throw ConfigError(fmt::format(
        "mlmon: PredictionLogOptions.flush_interval must be > 0 ms, got {} ms",
        o.flush_interval.count()));
  }

  // Sampled iff IdHash(id) < floor(sample_rate * 2^64). sample_rate < 1 here,
  // so the product is below 2^64 and the conversion is exact-or-down.
  sample_all_ = o.sample_rate >= 1.0;
  sample_threshold_ =
      sample_all_
          ? UINT64_MAX
          : static_cast<std::uint64_t>(o.sample_rate * 18446744073709551616.0);

  auto w = std::make_unique<Writer>();
  const char* names[2] = {"predictions", "outcomes"};
  auto& lines = registry.AddCounter(
      "mlmon_log_lines_total",
      "Lines written by the prediction log, by stream (predictions, "
      "outcomes).",
      {"model", "version", "stream"});
  auto& bytes = registry.AddCounter(
      "mlmon_log_bytes_total",
      "Bytes written by the prediction log, by stream (predictions, "
      "outcomes).",
      {"model", "version", "stream"});
  auto& lost = registry.AddCounter(
      "mlmon_log_lines_lost_total",
      "Lines the prediction log could not write, by stream and reason (write: "
      "write(2) failed; rotate: the file is full and could not be rotated; "
      "open: the file could not be opened).",
      {"model", "version", "stream", "reason"});
  auto& errors = registry.AddCounter(
      "mlmon_log_errors_total",
      "Failed file operations of the prediction log, by stream and op (open, "
      "write, truncate, rotate, stat).",
      {"model", "version", "stream", "op"});
  auto& reopens = registry.AddCounter(
      "mlmon_log_reopens_total",
      "Times the prediction log reopened its file because it was deleted or "
      "replaced at its path, by stream and reason.",
      {"model", "version", "stream", "reason"});
  for (int s = 0; s < 2; ++s) {
    Stream& st = w->streams[s];
    st.path = fmt::format("{}/{}-{}.ndjson", o.directory, o.prefix, names[s]);
    st.max_file_bytes = o.max_file_bytes;
    st.max_files = o.max_files;
    st.lines = &lines.Add({model_, version_, names[s]});
    st.bytes = &bytes.Add({model_, version_, names[s]});
    for (int r = 0; r < kNumLostReasons; ++r) {
      st.lost[r] = &lost.Add({model_, version_, names[s], kLostReasonNames[r]});
    }
    for (int op = 0; op < kNumOps; ++op) {
      st.errors[op] = &errors.Add({model_, version_, names[s], kOpNames[op]});
    }
    for (int r = 0; r < kNumReopenReasons; ++r) {
      st.reopens[r] =
          &reopens.Add({model_, version_, names[s], kReopenReasonNames[r]});
    }
    st.clock = clock_;
    st.saw_efbig = &w->saw_efbig;
    st.buf.reserve(kBufferBytes + 4096);
    if (int err = st.Open(); err != 0) {
      throw ConfigError(fmt::format(
          "mlmon: PredictionLogOptions.directory '{}' is not writable: cannot "
          "open '{}': {}",
          o.directory, st.path, ErrnoMessage(err)));
    }
  }
  w->line.reserve(8192);
  w->prediction_fields = ",\"model\":";
  AppendJsonString(&w->prediction_fields, model_);
  w->prediction_fields += ",\"version\":";
  AppendJsonString(&w->prediction_fields, version_);
  w->outcome_fields = ",\"model\":";
  AppendJsonString(&w->outcome_fields, model_);

  drops_ = registry.DropsFor(model_, version_);
  ring_ = std::make_unique<detail::MpscRing<Record>>(o.queue_capacity);
  writer_ = std::move(w);
  if (o.start_writer) {
    writer_->running = true;
    writer_->thread = std::thread([this] { WriterLoop(); });
  }
}

PredictionLog::~PredictionLog() { Stop(); }

const std::string& PredictionLog::predictions_path() const noexcept {
  return writer_->streams[0].path;
}
const std::string& PredictionLog::outcomes_path() const noexcept {
  return writer_->streams[1].path;
}

bool PredictionLog::Drop(DropReason reason) noexcept {
  if (drops_ != nullptr) drops_->Drop(reason);
  return false;
}

bool PredictionLog::Push(Kind kind, std::string_view id, double number,
                         std::string_view text, const std::string_view* items,
                         std::size_t n, double unix_ts) noexcept {
  if (!IsSampled(id)) return false;
  if (__builtin_expect(!accepting_.load(std::memory_order_relaxed), 0)) {
    return Drop(DropReason::kQueueFull);  // stopped
  }
  if (id.size() > kMaxIdBytes) return Drop(DropReason::kIdTooLong);
  if (id.empty()) return Drop(DropReason::kInvalidValue);
  if (std::isnan(unix_ts)) {
    unix_ts = clock_->UnixSeconds();
  } else if (!(unix_ts >= 0.0) || std::isinf(unix_ts)) {
    return Drop(DropReason::kInvalidValue);
  }
  switch (kind) {
    case Kind::kScore:
    case Kind::kValue:
    case Kind::kOutcome:
      if (!std::isfinite(number)) return Drop(detail::NonFiniteReason(number));
      break;
    case Kind::kLabel:
    case Kind::kOutcomeLabel:
      if (text.size() > kMaxLabelBytes) return Drop(DropReason::kInvalidValue);
      break;
    case Kind::kItems: {
      if (n > kMaxItems || (n > 0 && items == nullptr)) {
        return Drop(DropReason::kInvalidValue);
      }
      std::size_t total = 0;
      for (std::size_t k = 0; k < n; ++k) {
        total += items[k].size();
        if (items[k].size() > kMaxItemsBytes || total > kMaxItemsBytes) {
          return Drop(DropReason::kInvalidValue);
        }
      }
      break;
    }
  }

  const bool pushed = ring_->TryPushWith([&](Record& r) noexcept {
    r.ts = unix_ts;
    r.number = number;
    r.kind = static_cast<std::uint8_t>(kind);
    r.id_len = static_cast<std::uint8_t>(id.size());
    std::memcpy(r.id, id.data(), id.size());
    if (kind == Kind::kItems) {
      std::size_t off = 0;
      for (std::size_t k = 0; k < n; ++k) {
        r.item_len[k] = static_cast<std::uint16_t>(items[k].size());
        if (!items[k].empty()) {
          std::memcpy(r.text + off, items[k].data(), items[k].size());
        }
        off += items[k].size();
      }
      r.num_items = static_cast<std::uint8_t>(n);
      r.text_len = static_cast<std::uint16_t>(off);
    } else {
      if (!text.empty()) std::memcpy(r.text, text.data(), text.size());
      r.text_len = static_cast<std::uint16_t>(text.size());
      r.num_items = 0;
    }
  });
  return pushed || Drop(DropReason::kQueueFull);  // the writer is a lap behind
}

bool PredictionLog::LogPrediction(std::string_view id, double score,
                                  double unix_ts) noexcept {
  return Push(Kind::kScore, id, score, {}, nullptr, 0, unix_ts);
}
bool PredictionLog::LogPredictionLabel(std::string_view id,
                                       std::string_view label,
                                       double unix_ts) noexcept {
  return Push(Kind::kLabel, id, 0.0, label, nullptr, 0, unix_ts);
}
bool PredictionLog::LogPredictionValue(std::string_view id, double value,
                                       double unix_ts) noexcept {
  return Push(Kind::kValue, id, value, {}, nullptr, 0, unix_ts);
}
bool PredictionLog::LogPredictionItems(std::string_view id,
                                       const std::string_view* items,
                                       std::size_t n, double unix_ts) noexcept {
  return Push(Kind::kItems, id, 0.0, {}, items, n, unix_ts);
}
bool PredictionLog::LogOutcome(std::string_view id, double outcome,
                               double unix_ts) noexcept {
  return Push(Kind::kOutcome, id, outcome, {}, nullptr, 0, unix_ts);
}
bool PredictionLog::LogOutcomeLabel(std::string_view id, std::string_view label,
                                    double unix_ts) noexcept {
  return Push(Kind::kOutcomeLabel, id, 0.0, label, nullptr, 0, unix_ts);
}

// REQUIRES: writer_->io_mu held.
bool PredictionLog::TryConsumeOne() {
  Writer& w = *writer_;
  std::string& l = w.line;
  bool outcome = false;
  const bool popped = ring_->TryPopWith([&](const Record& s) {
    const auto kind = static_cast<Kind>(s.kind);
    outcome = kind >= Kind::kOutcome;
    l.clear();
    l.append("{\"ts\":");
    AppendJsonNumber(&l, s.ts);
    l.append(",\"id\":");
    AppendJsonString(&l, std::string_view(s.id, s.id_len));
    l.append(outcome ? w.outcome_fields : w.prediction_fields);
    const std::string_view text(s.text, s.text_len);
    switch (kind) {
      case Kind::kScore:
        l.append(",\"score\":");
        AppendJsonNumber(&l, s.number);
        break;
      case Kind::kValue:
        l.append(",\"value\":");
        AppendJsonNumber(&l, s.number);
        break;
      case Kind::kOutcome:
        l.append(",\"outcome\":");
        AppendJsonNumber(&l, s.number);
        break;
      case Kind::kLabel:
        l.append(",\"label\":");
        AppendJsonString(&l, text);
        break;
      case Kind::kOutcomeLabel:
        l.append(",\"outcome\":");
        AppendJsonString(&l, text);
        break;
      case Kind::kItems: {
        l.append(",\"items\":[");
        std::size_t off = 0;
        for (std::size_t k = 0; k < s.num_items; ++k) {
          if (k > 0) l.push_back(',');
          AppendJsonString(&l, text.substr(off, s.item_len[k]));
          off += s.item_len[k];
        }
        l.push_back(']');
        break;
      }
    }
    l.append("}\n");
  });
  if (!popped) return false;  // empty, or the producer has not published yet
  if (!w.closed) w.streams[outcome ? 1 : 0].Append(l);
  return true;
}

// Consumes records until `target` records were consumed, waiting (yielding)
// for producers that claimed a slot and have not published it yet.
// REQUIRES: writer_->io_mu held.
void PredictionLog::DrainThrough(std::uint64_t target) {
  while (ring_->popped() < target) {
    if (!TryConsumeOne()) std::this_thread::yield();
  }
}

void PredictionLog::WriterLoop() {
  using SteadyTime = std::chrono::steady_clock;
  Writer& w = *writer_;
  // A write past RLIMIT_FSIZE then fails with EFBIG (the lines are counted
  // lost) instead of raising SIGXFSZ, whose default action kills the
  // process. Blocked on this thread only; the signal stays pending here.
  {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGXFSZ);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  auto next_flush = SteadyTime::now() + options_.flush_interval;
  std::chrono::milliseconds idle = kMinPoll;
  for (;;) {
    std::uint64_t target, flushed;
    {
      std::lock_guard<std::mutex> lock(w.state_mu);
      if (w.stop) break;
      target = w.flush_target;
      flushed = w.flushed_through;
    }
    const bool flush_pending = target > flushed;
    std::size_t n = 0;
    std::uint64_t consumed;
    bool wrote = false;
    auto now = SteadyTime::now();
    {
      std::lock_guard<std::mutex> lock(w.io_mu);
      while (n < kBatch && TryConsumeOne()) ++n;
      consumed = ring_->popped();
      now = SteadyTime::now();
      if (now >= next_flush || (flush_pending && consumed >= target)) {
        for (Stream& st : w.streams) st.WriteOut();
        next_flush = now + options_.flush_interval;
        wrote = true;
      }
    }
    if (wrote) {
      std::lock_guard<std::mutex> lock(w.state_mu);
      w.flushed_through = std::max(w.flushed_through, consumed);
      w.done.notify_all();
    }
    if (n > 0) {
      idle = kMinPoll;
      continue;
    }
    if (flush_pending && consumed < target) {
      std::this_thread::yield();  // a producer is publishing a record
      continue;
    }
    std::unique_lock<std::mutex> lock(w.state_mu);
    w.wake.wait_until(lock, std::min(now + idle, next_flush), [&] {
      return w.stop || w.flush_target > w.flushed_through;
    });
    idle = std::min(idle * 2, kMaxPoll);
  }
  std::uint64_t consumed;
  {
    std::lock_guard<std::mutex> lock(w.io_mu);
    DrainThrough(ring_->claimed());
    for (Stream& st : w.streams) st.WriteOut();
    consumed = ring_->popped();
  }
  std::lock_guard<std::mutex> lock(w.state_mu);
  w.flushed_through = std::max(w.flushed_through, consumed);
  w.running = false;
  w.done.notify_all();
}

void PredictionLog::Flush() {
  Writer& w = *writer_;
  // Every record whose Log* call returned before this point has a number
  // below `target` (coherence of the ring's claim counter).
  const std::uint64_t target = ring_->claimed();
  {
    std::unique_lock<std::mutex> lock(w.state_mu);
    if (w.running) {
      if (w.flushed_through >= target) return;
      w.flush_target = std::max(w.flush_target, target);
      w.wake.notify_all();
      w.done.wait(lock,
                  [&] { return w.flushed_through >= target || !w.running; });
      if (w.flushed_through >= target) return;
    }
  }
  // No writer thread (start_writer = false, or stopped): drain here.
  std::lock_guard<std::mutex> lock(w.io_mu);
  if (w.closed) return;
  ScopedSigxfszBlock block(&w.saw_efbig);
  DrainThrough(target);
  for (Stream& st : w.streams) st.WriteOut();
}

void PredictionLog::Stop() {
  Writer& w = *writer_;
  std::lock_guard<std::mutex> stop_lock(w.stop_mu);
  accepting_.store(false, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(w.state_mu);
    w.stop = true;
  }
  w.wake.notify_all();
  if (w.thread.joinable()) w.thread.join();
  std::lock_guard<std::mutex> lock(w.io_mu);
  if (w.closed) return;
  ScopedSigxfszBlock block(&w.saw_efbig);
  DrainThrough(ring_->claimed());
  for (Stream& st : w.streams) {
    st.WriteOut();
    st.Close();
  }
  w.closed = true;
}

}  // namespace mlmon
