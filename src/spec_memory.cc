#include "mlmon/spec_memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "internal/config_errors.h"
#include "internal/pending_store.h"
#include "internal/redis_pending_store.h"
#include "mlmon/detail/cells.h"
#include "mlmon/errors.h"
#include "mlmon/quality_metrics.h"

namespace mlmon {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::uint64_t Add(std::uint64_t a, std::uint64_t b) {
  return a > kMax - b ? kMax : a + b;
}

std::uint64_t Mul(std::uint64_t a, std::uint64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kMax / b ? kMax : a * b;
}

template <typename... T>
std::uint64_t Mul(std::uint64_t a, std::uint64_t b, T... rest) {
  return Mul(Mul(a, b), rest...);
}

// Bytes of `cells` metric cells: one 8-byte cell per per-thread slot.
std::uint64_t CellBytes(std::uint64_t cells) {
  return Mul(cells, 8, static_cast<std::uint64_t>(detail::kNumSlots));
}

std::uint64_t LogBinsPerSign() {
  return static_cast<std::uint64_t>(
      std::ceil(std::log(ResponseSpec::kLogMax / ResponseSpec::kLogMin) /
                std::log(ResponseSpec::kLogGamma)));
}

// `segmented`: predictions keep their segment (an index byte in memory; in
// Redis its size byte and value).
std::uint64_t PendingBytes(const OutcomeSpec& o, bool segmented) {
  std::size_t payload = 8;
  if (o.task == OutcomeSpec::Task::kMulticlass) payload = 4;
  if (o.task == OutcomeSpec::Task::kRanking) {
    std::size_t max_k = 0;
    for (std::size_t k : o.k) max_k = std::max(max_k, k);
    payload = 4 + 4 * std::min<std::size_t>(max_k, OutcomeSpec::kMaxK);
  }
  const bool redis = o.store.backend == PendingStoreSpec::Backend::kRedis;
  if (segmented) payload += redis ? 1 + SegmentSpec::kMaxValueBytes : 1;
  if (redis) {
    // Only the buffer of predictions waiting to be written lives here.
    return Mul(o.store.max_buffered, internal::RemoteSlotBytes(payload));
  }
  return Mul(o.pending_capacity,
             internal::PendingStore::BytesPerEntry(payload));
}

std::uint64_t OutcomeWindowBytes(const OutcomeSpec& o) {
  std::uint64_t slice = 32;  // time stamp, count, sums
  switch (o.task) {
    case OutcomeSpec::Task::kBinary:
      // AUC bins, confusion per threshold, and the ECE bins' positives and
      // score sums.
      slice = Add(slice,
                  Add(Add(Mul(o.auc_bins, 2, 8), Mul(o.thresholds.size(), 32)),
                      kEceBins * 16));
      break;
    case OutcomeSpec::Task::kMulticlass:
      slice = Add(slice, Mul(o.classes.size(), 24));
      break;
    case OutcomeSpec::Task::kRanking:
      slice = Add(slice, Mul(o.k.size(), 24));  // k, hits, DCG sum
      break;
    case OutcomeSpec::Task::kRegression:
      break;
  }
  const std::uint64_t windows =
      Add(o.windows.size(), o.all_time_window ? 1 : 0);
  return Mul(windows, Add(o.slices_per_window, 1), slice);
}

// The segments' windows: each of max_values + 1 segments keeps the task's
// windows, a binary one on 16 score bins per class instead of auc_bins.
std::uint64_t SegmentWindowBytes(const MonitorSpec& spec) {
  // `ModelMonitor` gives `spec.segments` to its tracker; without it, the
  // tracker's own.
  const SegmentSpec& seg =
      spec.segments.enabled() ? spec.segments : spec.outcome.segments;
  if (!seg.enabled()) return 0;
  OutcomeSpec o = spec.outcome;
  o.auc_bins = 16;
  return Mul(Add(seg.max_values, 1), OutcomeWindowBytes(o));
}

std::uint64_t DistributionBytes(const ResponseSpec& d) {
  const bool unit = d.value_range == ResponseSpec::ValueRange::kUnitInterval;
  const std::uint64_t fine = unit ? d.fine_bins : 2 * LogBinsPerSign() + 1;
  const std::uint64_t width = Add(Add(fine, 2), d.score_buckets.size());
  const std::uint64_t cells = Add(
      Add(fine, 2), Add(d.score_buckets.size(), d.items_buckets.size() + 2));
  return Add(CellBytes(cells),
             Mul(d.windows.size(), Add(d.slices_per_window, 1), width, 8));
}

std::uint64_t FeatureBytes(const FeatureSpec& f) {
  constexpr std::uint64_t kLog10Cells = 23;  // decades -9 .. 12, and +Inf
  std::uint64_t bins = 0, cells = 0;
  for (const auto& n : f.numeric) {
    const std::uint64_t b = Add(n.buckets.size(), 1);
    bins = Add(bins, Add(b, kLog10Cells));
    cells = Add(cells, Add(Add(b, 1), Add(kLog10Cells + 1, 4)));
  }
  for (const auto& c : f.categorical) {
    const std::uint64_t b = Add(c.max_categories, 1);
    bins = Add(bins, b);
    cells = Add(cells, Add(b, 3));
  }
  return Add(CellBytes(cells),
             Mul(f.windows.size(), Add(f.slices_per_window, 1), bins, 8));
}

}  // namespace

std::string FormatBytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string MemoryEstimate::ToString() const {
  std::string s = FormatBytes(total_bytes) + " (";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    s += fmt::format("{}{} {}", i == 0 ? "" : ", ", parts[i].what,
                     FormatBytes(parts[i].bytes));
  }
  return s + ")";
}

MemoryEstimate EstimateMonitorMemory(const MonitorSpec& spec) {
  MemoryEstimate e;
  e.parts.push_back(
      {"pending store",
       PendingBytes(spec.outcome, spec.segments.enabled() ||
                                      spec.outcome.segments.enabled())});
  e.parts.push_back({"outcome windows", OutcomeWindowBytes(spec.outcome)});
  if (spec.segments.enabled() || spec.outcome.segments.enabled()) {
    e.parts.push_back({"segment windows", SegmentWindowBytes(spec)});
  }
  e.parts.push_back(
      {"score distribution", DistributionBytes(spec.distribution)});
  e.parts.push_back({"features", FeatureBytes(spec.features)});
  for (const auto& p : e.parts) e.total_bytes = Add(e.total_bytes, p.bytes);
  return e;
}

void CheckMemoryBudget(const MonitorSpec& spec, std::uint64_t budget_bytes) {
  const MemoryEstimate e = EstimateMonitorMemory(spec);
  if (e.total_bytes > budget_bytes) {
    throw internal::SetupError(
        spec.source,
        fmt::format("the monitors would need an estimated {}, more than the "
                    "memory budget of {}",
                    e.ToString(), FormatBytes(budget_bytes)));
  }
}

}  // namespace mlmon
