#ifndef MLMON_SRC_INTERNAL_WINDOW_SNAPSHOTS_H_
#define MLMON_SRC_INTERNAL_WINDOW_SNAPSHOTS_H_

/// \file
/// Sliding windows over cumulative counts, without touching the hot path.
///
/// The hot path only ever adds to cumulative (striped) cells. The window
/// thread calls `Tick(now, cumulative)` with a fresh read of those cells; a
/// `WindowSnapshots` keeps, per window, a ring of `slices` earlier reads
/// taken every `window / slices`, and the window's counts are the current
/// read minus the oldest read still inside the window. So the hot path needs
/// no clock and no slice rotation, and a window is exact to one slice.
///
/// Thread safety: thread-compatible (owned by the window thread).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mlmon {
namespace internal {

class WindowSnapshots {
 public:
  /// `width` values per read; one ring per window. REQUIRES: slices >= 1,
  /// every window > 0.
  WindowSnapshots(std::size_t width, std::vector<std::chrono::seconds> windows,
                  std::size_t slices);

  /// Records a read of the cumulative counts at monotonic time `now_nanos`
  /// (called every Tick; a snapshot is kept once per slice period).
  void Tick(std::int64_t now_nanos, const std::vector<double>& cumulative);

  /// Counts within window `w` as of the last Tick: last read minus the
  /// oldest kept read that is not older than the window; while the window
  /// still reaches back before the first read, everything counted since the
  /// counts started (the last read itself).
  void WindowCounts(std::size_t w, std::vector<double>* out) const;

  std::size_t num_windows() const noexcept { return rings_.size(); }

 private:
  struct Ring {
    std::int64_t window_nanos;
    std::int64_t slice_nanos;
    std::vector<std::vector<double>> reads;  // ring of snapshots
    std::vector<std::int64_t> times;         // when each was taken
    std::size_t next = 0;
    std::size_t filled = 0;
    bool wrapped = false;  // the first read was overwritten
  };
  std::size_t width_;
  std::vector<Ring> rings_;
  std::vector<double> last_;
  std::int64_t last_time_ = 0;
  bool ticked_ = false;
};

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_WINDOW_SNAPSHOTS_H_
