#include "internal/window_snapshots.h"

#include <algorithm>
#include <cassert>

namespace mlmon {
namespace internal {

WindowSnapshots::WindowSnapshots(std::size_t width,
                                 std::vector<std::chrono::seconds> windows,
                                 std::size_t slices)
    : width_(width), last_(width, 0.0) {
  assert(slices >= 1);
  for (const auto& w : windows) {
    Ring r;
    r.window_nanos = static_cast<std::int64_t>(w.count()) * 1000000000LL;
    r.slice_nanos = std::max<std::int64_t>(
        1, r.window_nanos / static_cast<std::int64_t>(slices));
    // One more slot than slices: the read exactly one window old is kept.
    r.reads.assign(slices + 1, std::vector<double>(width, 0.0));
    r.times.assign(slices + 1, 0);
    rings_.push_back(std::move(r));
  }
}

void WindowSnapshots::Tick(std::int64_t now_nanos,
                           const std::vector<double>& cumulative) {
  assert(cumulative.size() == width_);
  last_ = cumulative;
  last_time_ = now_nanos;
  ticked_ = true;
  for (Ring& r : rings_) {
    const std::size_t newest = (r.next + r.reads.size() - 1) % r.reads.size();
    if (r.filled == 0 || now_nanos - r.times[newest] >= r.slice_nanos) {
      if (r.filled == r.reads.size()) r.wrapped = true;  // first read goes
      r.reads[r.next] = cumulative;
      r.times[r.next] = now_nanos;
      r.next = (r.next + 1) % r.reads.size();
      r.filled = std::min(r.filled + 1, r.reads.size());
    }
  }
}

void WindowSnapshots::WindowCounts(std::size_t w,
                                   std::vector<double>* out) const {
  out->assign(width_, 0.0);
  if (!ticked_) return;
  const Ring& r = rings_[w];
  // While the very first read is still kept and the window reaches back
  // before it, the window holds everything since the counts started.
  if (!r.wrapped && r.filled > 0 && last_time_ - r.times[0] < r.window_nanos) {
    *out = last_;
    return;
  }
  // Otherwise: minus the oldest kept read taken no earlier than a window ago.
  const std::size_t n = r.reads.size();
  for (std::size_t k = 0; k < r.filled; ++k) {
    const std::size_t i = (r.next + n - r.filled + k) % n;  // oldest first
    if (last_time_ - r.times[i] <= r.window_nanos) {
      for (std::size_t j = 0; j < width_; ++j)
        (*out)[j] = last_[j] - r.reads[i][j];
      return;
    }
  }
}

}  // namespace internal
}  // namespace mlmon
