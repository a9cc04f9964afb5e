#ifndef MLMON_SPEC_MEMORY_H_
#define MLMON_SPEC_MEMORY_H_

/// \file
/// How much memory the monitors of a `MonitorSpec` need, estimated from the
/// spec alone (nothing is allocated), and a budget check on it. `mlmon
/// check-config` refuses a spec over `--memory-budget` (default
/// `kDefaultMemoryBudgetBytes`) with this estimate.

#include <cstdint>
#include <string>
#include <vector>

#include "mlmon/monitor_spec.h"

namespace mlmon {

/// Default budget of `CheckMemoryBudget` and `mlmon check-config`: 1 GiB.
inline constexpr std::uint64_t kDefaultMemoryBudgetBytes = 1ull << 30;

/// An upper estimate of the memory the monitors of one spec reserve at
/// construction, by part. Each part is the product of the spec's sizes
/// (saturating at 2^64 - 1, so absurd C++ values do not wrap):
///
///  - `pending store`: `pending_capacity` x bytes per entry (112 with an
///    8-byte payload: the slab entry, id inline, plus its index slots);
///  - `outcome windows`: windows x (`slices_per_window` + 1) x the bytes of
///    one slice (binary: 2 x 8 bytes per `auc_bins` bin + 32 per threshold;
///    multiclass: 24 per class; ranking: 16 per k);
///  - `score distribution`: fine bins (`fine_bins`, or the log bins of an
///    unbounded value) as metric cells, and the same width per window
///    slice;
///  - `features`: per feature, its bins (buckets + 1, the 23 log10 decades,
///    `max_categories` + 1) as metric cells and per window slice;
///  - metric cells count 8 bytes for each of the 65 per-thread slots.
///
/// Series bookkeeping of the registry (labels, a few hundred bytes per
/// series) is not counted.
struct MemoryEstimate {
  struct Part {
    std::string what;     ///< "pending store", "outcome windows", ...
    std::uint64_t bytes;  ///< estimated bytes
  };
  std::vector<Part> parts;
  std::uint64_t total_bytes = 0;

  /// "2.1 GiB (pending store 11.2 GiB, outcome windows 3.0 MiB, ...)".
  std::string ToString() const;
};

/// Estimates the memory of `spec` without allocating it (`spec` need not be
/// valid: out-of-range sizes are estimated as given).
MemoryEstimate EstimateMonitorMemory(const MonitorSpec& spec);

/// "512 B", "3.0 MiB", "1.5 GiB".
std::string FormatBytes(std::uint64_t bytes);

/// \throw mlmon::ConfigError "<source>: the monitors would need an
/// estimated <estimate>, more than the memory budget of <budget>" when
/// `EstimateMonitorMemory(spec).total_bytes > budget_bytes`.
void CheckMemoryBudget(const MonitorSpec& spec, std::uint64_t budget_bytes);

}  // namespace mlmon

#endif  // MLMON_SPEC_MEMORY_H_
