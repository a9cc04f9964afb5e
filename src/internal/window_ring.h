#ifndef MLMON_SRC_INTERNAL_WINDOW_RING_H_
#define MLMON_SRC_INTERNAL_WINDOW_RING_H_

/// \file
/// `WindowRing`: a sliding window of running sums, kept as a ring of time
/// slices. Private to the library (never installed).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "mlmon/detail/mutex.h"

namespace mlmon {
namespace internal {

/// Floor division. REQUIRES: b > 0.
inline std::int64_t FloorDiv(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}
/// Non-negative modulo. REQUIRES: b > 0.
inline std::size_t FloorMod(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::size_t>(a - FloorDiv(a, b) * b);
}

/// A window of `slices` time slices, each holding the `Stats` (one of the
/// `*Stats` of quality_metrics.h: `Reset`, `Merge`) of the outcomes that
/// landed in it. Slice `i` covers times [i * slice, (i + 1) * slice); the
/// window at time t is the slice of t and the `slices - 1` before it. A
/// slice is reused for a later turn of the ring, reset on first use.
///
/// Thread safety: thread-safe; `mu_` guards the slices. `Update` (one per
/// outcome) holds it for one slice update and allocates nothing;
/// `Aggregate` holds it while it merges the slices.
template <typename Stats>
class WindowRing {
 public:
  /// `proto` is the empty `Stats` each slice starts from (it sets the sizes:
  /// thresholds, bins, classes, k).
  WindowRing(std::int64_t window_nanos, std::size_t slices, const Stats& proto)
      : slice_nanos_(std::max<std::int64_t>(
            1, window_nanos / static_cast<std::int64_t>(slices))),
        slices_(slices, Slice{kNever, proto}) {}

  /// Runs `f(stats)` on the slice of `now`, resetting the slice first if it
  /// holds an earlier turn of the ring.
  template <typename F>
  void Update(std::int64_t now, F&& f) noexcept {
    const std::int64_t id = FloorDiv(now, slice_nanos_);
    detail::MutexLock lock(mu_);
    Slice& s = slices_[FloorMod(id, Size())];
    if (s.epoch != id) {
      s.stats.Reset();
      s.epoch = id;
    }
    f(s.stats);
  }

  /// `*out` = the sum of the slices that are inside the window at `now`.
  /// REQUIRES: `out` has the sizes of `proto`.
  void Aggregate(std::int64_t now, Stats* out) {
    const std::int64_t id = FloorDiv(now, slice_nanos_);
    out->Reset();
    detail::MutexLock lock(mu_);
    for (const Slice& s : slices_) {
      if (s.epoch <= id && s.epoch > id - Size()) out->Merge(s.stats);
    }
  }

 private:
  static constexpr std::int64_t kNever =
      std::numeric_limits<std::int64_t>::min();
  struct Slice {
    std::int64_t epoch;  // absolute slice number (time / slice_nanos_)
    Stats stats;
  };
  // The slice count, fixed at construction.
  std::int64_t Size() const noexcept MLMON_REQUIRES(mu_) {
    return static_cast<std::int64_t>(slices_.size());
  }

  const std::int64_t slice_nanos_;
  detail::Mutex mu_;
  std::vector<Slice> slices_ MLMON_GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_WINDOW_RING_H_
