#include "mlmon/prediction_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
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

#include "mlmon/detail/text_format.h"

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
  detail::AppendValue(out, v);
}

// Quotes, backslash and control characters escaped; invalid UTF-8 replaced
// by U+FFFD (one per offending byte).
using detail::AppendJsonString;

// One output stream (predictions or outcomes): the active file, its line
// buffer and its counters. Used only by the consumer (under io_mu).
struct Stream {
  std::string path;              // the active file
  int fd = -1;                   // -1 after a failed (re)open; retried on write
  std::uint64_t disk_bytes = 0;  // bytes in the active file
  bool broken_line = false;      // the active file ends inside a line
  std::string buf;               // whole lines not yet written
  std::uint64_t buf_lines = 0;
  std::uint64_t max_file_bytes = 0;
  int max_files = 1;
  Counter* lines = nullptr;
  Counter* bytes = nullptr;
  Counter* lost = nullptr;

  // Opens (creates, or appends to) the active file. Returns 0 or an errno.
  int Open() {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    struct stat st;
    disk_bytes = 0;
    broken_line = false;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      disk_bytes = static_cast<std::uint64_t>(st.st_size);
      char last = '\n';
      if (::pread(fd, &last, 1, st.st_size - 1) == 1) {
        broken_line = last != '\n';  // e.g. a crash mid-write
      }
    }
    return 0;
  }

  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ~Stream() { Close(); }

  // Writes all of [p, p+n); returns the bytes written.
  std::size_t WriteAll(const char* p, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const ssize_t w = ::write(fd, p + done, n - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        break;
      }
      done += static_cast<std::size_t>(w);
    }
    disk_bytes += done;
    return done;
  }

  // Hands the buffered lines to the kernel. Lines that cannot be written are
  // counted in `lost` and discarded.
  void WriteOut() {
    if (buf.empty()) return;
    if (fd < 0) Open();
    bool ok = fd >= 0;
    if (ok && broken_line) {
      ok = WriteAll("\n", 1) == 1;  // never glue a line to a partial one
      if (ok) broken_line = false;
    }
    if (ok) {
      const std::size_t done = WriteAll(buf.data(), buf.size());
      ok = done == buf.size();
      if (!ok && done > 0) broken_line = buf[done - 1] != '\n';
    }
    if (ok) {
      lines->Increment(static_cast<double>(buf_lines));
      bytes->Increment(static_cast<double>(buf.size()));
    } else {
      lost->Increment(static_cast<double>(buf_lines));
    }
    buf.clear();
    buf_lines = 0;
  }

  std::string Rotated(int i) const { return path + "." + std::to_string(i); }

  // Moves the active file to `.1` (older ones up by one, the oldest beyond
  // max_files - 1 replaced) and opens a new one. Each step is one rename(2).
  void Rotate() {
    Close();
    if (max_files == 1) {
      ::unlink(path.c_str());
    } else {
      for (int i = max_files - 1; i >= 2; --i) {
        ::rename(Rotated(i - 1).c_str(), Rotated(i).c_str());
      }
      ::rename(path.c_str(), Rotated(1).c_str());
    }
    Open();
  }

  // Appends one line (ending in '\n'), rotating first if the line would take
  // a non-empty file past max_file_bytes.
  void Append(const std::string& line) {
    const std::uint64_t size = disk_bytes + buf.size();
    if (size > 0 && size + line.size() > max_file_bytes) {
      WriteOut();
      Rotate();
    }
    buf.append(line);
    ++buf_lines;
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
      "Lines the prediction log could not write (a failed write(2) or "
      "reopen), by stream.",
      {"model", "version", "stream"});
  for (int s = 0; s < 2; ++s) {
    Stream& st = w->streams[s];
    st.path = fmt::format("{}/{}-{}.ndjson", o.directory, o.prefix, names[s]);
    st.max_file_bytes = o.max_file_bytes;
    st.max_files = o.max_files;
    st.lines = &lines.Add({model_, version_, names[s]});
    st.bytes = &bytes.Add({model_, version_, names[s]});
    st.lost = &lost.Add({model_, version_, names[s]});
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
  DrainThrough(ring_->claimed());
  for (Stream& st : w.streams) {
    st.WriteOut();
    st.Close();
  }
  w.closed = true;
}

}  // namespace mlmon
