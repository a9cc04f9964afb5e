// PredictionLog set-up and its producer side: the checks of the options,
// the metrics, and the Log* calls that queue records (the hot path).

#include "mlmon/prediction_log.h"

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <system_error>
#include <thread>
#include <utility>

#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"
#include "internal/prediction_log_state.h"
#include "internal/segment_table.h"
#include "internal/series_owner.h"
#include "internal/text_format.h"

namespace mlmon {

namespace {

constexpr std::size_t kMaxQueueCapacity = std::size_t{1} << 20;
constexpr std::uint64_t kMinFileBytes = 1024;
constexpr int kMaxFiles = 1000;
constexpr char kOptionsWhere[] = "PredictionLogOptions";

std::string ErrnoMessage(int err) {
  return std::error_code(err, std::generic_category()).message();
}

[[noreturn]] void Invalid(const char* field, std::string_view what,
                          std::string_view value) {
  throw internal::SetupError(fmt::format("{}.{}", kOptionsWhere, field), what,
                             value);
}

}  // namespace

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
  static_assert(offsetof(Record, id) == 22, "update the layout comment");
  static_assert(kMaxItemsBytes <= UINT16_MAX && kMaxIdBytes <= UINT8_MAX &&
                    kMaxItems <= UINT8_MAX,
                "slot field widths");
  const PredictionLogOptions& o = options_;
  if (model_.empty()) {
    throw internal::SetupError("PredictionLog.model", "must not be empty");
  }
  if (o.directory.empty()) Invalid("directory", "must not be empty", {});
  if (o.prefix.empty()) Invalid("prefix", "must not be empty", {});
  if (o.prefix.find('/') != std::string::npos) {
    Invalid("prefix", "must not contain '/'", o.prefix);
  }
  if (!(o.sample_rate >= 0.0 && o.sample_rate <= 1.0)) {
    Invalid("sample_rate", "outside [0, 1]", fmt::format("{}", o.sample_rate));
  }
  if (o.queue_capacity < 2 || o.queue_capacity > kMaxQueueCapacity) {
    Invalid("queue_capacity", fmt::format("outside [2, {}]", kMaxQueueCapacity),
            std::to_string(o.queue_capacity));
  }
  if (o.max_file_bytes < kMinFileBytes) {
    Invalid("max_file_bytes", fmt::format("must be at least {}", kMinFileBytes),
            std::to_string(o.max_file_bytes));
  }
  if (o.max_files < 1 || o.max_files > kMaxFiles) {
    Invalid("max_files", fmt::format("outside [1, {}]", kMaxFiles),
            std::to_string(o.max_files));
  }
  if (o.flush_interval.count() <= 0) {
    Invalid("flush_interval", "must be positive",
            fmt::format("{} ms", o.flush_interval.count()));
  }

  // Sampled iff IdHash(id) < floor(sample_rate * 2^64). sample_rate < 1 here,
  // so the product is below 2^64 and the conversion is exact-or-down.
  sample_all_ = o.sample_rate >= 1.0;
  sample_threshold_ =
      sample_all_
          ? UINT64_MAX
          : static_cast<std::uint64_t>(o.sample_rate * 18446744073709551616.0);

  owner_ = std::make_unique<internal::SeriesOwner>(registry, "PredictionLog",
                                                   model_, version_);
  auto w = std::make_unique<Writer>();
  const char* names[2] = {"predictions", "outcomes"};
  using internal::AddFamily;
  namespace metrics = internal::metrics;
  auto lines = AddFamily(*owner_, metrics::kLogLinesTotal);
  auto bytes = AddFamily(*owner_, metrics::kLogBytesTotal);
  auto lost = AddFamily(*owner_, metrics::kLogLinesLostTotal);
  auto errors = AddFamily(*owner_, metrics::kLogErrorsTotal);
  auto reopens = AddFamily(*owner_, metrics::kLogReopensTotal);
  // No other thread sees `w` yet; the lock is for the annotations.
  {
    detail::MutexLock io_lock(w->io_mu);
    for (int s = 0; s < 2; ++s) {
      internal::LogStream& st = w->streams[s];
      st.path = fmt::format("{}/{}-{}.ndjson", o.directory, o.prefix, names[s]);
      st.max_file_bytes = o.max_file_bytes;
      st.max_files = o.max_files;
      st.lines = &lines.Add({model_, version_, names[s]});
      st.bytes = &bytes.Add({model_, version_, names[s]});
      for (int r = 0; r < internal::kNumLostReasons; ++r) {
        st.lost[r] = &lost.Add(
            {model_, version_, names[s], internal::kLostReasonNames[r]});
      }
      for (int op = 0; op < internal::kNumOps; ++op) {
        st.errors[op] =
            &errors.Add({model_, version_, names[s], internal::kOpNames[op]});
      }
      for (int r = 0; r < internal::kNumReopenReasons; ++r) {
        st.reopens[r] = &reopens.Add(
            {model_, version_, names[s], internal::kReopenReasonNames[r]});
      }
      st.clock = clock_;
      st.saw_efbig = &w->saw_efbig;
      st.buf.reserve(internal::kLogBufferBytes + 4096);
      if (int err = st.Open(); err != 0) {
        Invalid("directory",
                fmt::format("not writable: cannot open '{}': {}", st.path,
                            ErrnoMessage(err)),
                o.directory);
      }
    }
    w->line.reserve(8192);
    w->prediction_fields = ",\"model\":";
    internal::AppendJsonString(&w->prediction_fields, model_);
    w->prediction_fields += ",\"version\":";
    internal::AppendJsonString(&w->prediction_fields, version_);
    w->outcome_fields = ",\"model\":";
    internal::AppendJsonString(&w->outcome_fields, model_);
  }

  drops_ = owner_->drops();
  ring_ = std::make_unique<detail::MpscRing<Record>>(o.queue_capacity);
  writer_ = std::move(w);
  if (o.start_writer) {
    {
      detail::MutexLock lock(writer_->state_mu);
      writer_->running = true;
    }
    writer_->thread = std::thread([this] { WriterLoop(); });
  }
}

PredictionLog::~PredictionLog() { Stop(); }

// The paths are written only by the constructor.
const std::string& PredictionLog::predictions_path() const noexcept
    MLMON_NO_THREAD_SAFETY_ANALYSIS {
  return writer_->streams[0].path;
}
const std::string& PredictionLog::outcomes_path() const noexcept
    MLMON_NO_THREAD_SAFETY_ANALYSIS {
  return writer_->streams[1].path;
}

bool PredictionLog::Drop(DropReason reason) noexcept {
  if (drops_ != nullptr) drops_->Drop(reason);
  return false;
}

bool PredictionLog::Push(Kind kind, std::string_view id, double number,
                         std::string_view text, const std::string_view* items,
                         std::size_t n, double unix_ts,
                         std::string_view segment) noexcept {
  if (!IsSampled(id)) return false;
  if (__builtin_expect(!accepting_.load(std::memory_order_relaxed), 0)) {
    return Drop(DropReason::kQueueFull);  // stopped
  }
  if (id.size() > kMaxIdBytes) return Drop(DropReason::kIdTooLong);
  if (id.empty()) return Drop(DropReason::kInvalidValue);
  // A value the live path counts under __other__ is logged as __other__,
  // so that a replay counts it there too.
  if (!segment.empty() && !internal::SegmentTable::HasOwnSeries(segment)) {
    segment = kSegmentOther;
  }
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
    r.segment_len = static_cast<std::uint8_t>(segment.size());
    if (!segment.empty()) {
      std::memcpy(r.segment, segment.data(), segment.size());
    }
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
                                  double unix_ts,
                                  std::string_view segment) noexcept {
  return Push(Kind::kScore, id, score, {}, nullptr, 0, unix_ts, segment);
}
bool PredictionLog::LogPredictionLabel(std::string_view id,
                                       std::string_view label, double unix_ts,
                                       std::string_view segment) noexcept {
  return Push(Kind::kLabel, id, 0.0, label, nullptr, 0, unix_ts, segment);
}
bool PredictionLog::LogPredictionValue(std::string_view id, double value,
                                       double unix_ts,
                                       std::string_view segment) noexcept {
  return Push(Kind::kValue, id, value, {}, nullptr, 0, unix_ts, segment);
}
bool PredictionLog::LogPredictionItems(std::string_view id,
                                       const std::string_view* items,
                                       std::size_t n, double unix_ts,
                                       std::string_view segment) noexcept {
  return Push(Kind::kItems, id, 0.0, {}, items, n, unix_ts, segment);
}
bool PredictionLog::LogOutcome(std::string_view id, double outcome,
                               double unix_ts) noexcept {
  return Push(Kind::kOutcome, id, outcome, {}, nullptr, 0, unix_ts);
}
bool PredictionLog::LogOutcomeLabel(std::string_view id, std::string_view label,
                                    double unix_ts) noexcept {
  return Push(Kind::kOutcomeLabel, id, 0.0, label, nullptr, 0, unix_ts);
}

}  // namespace mlmon
