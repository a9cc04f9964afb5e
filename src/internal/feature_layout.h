#ifndef MLMON_SRC_INTERNAL_FEATURE_LAYOUT_H_
#define MLMON_SRC_INTERNAL_FEATURE_LAYOUT_H_

/// \file
/// What a `FeatureVector` needs to turn names into slots. Built once by the
/// `FeatureMonitor` constructor and shared, immutable, between the monitor
/// and every vector it makes. Private (never installed).

#include <atomic>
#include <cstdint>
#include <vector>

#include "mlmon/instruments.h"
#include "name_index.h"

namespace mlmon {
namespace detail {

/// Feature indexes: numeric features first [0, num_numeric), then the
/// categorical ones [num_numeric, num_features).
struct FeatureLayout {
  std::uint32_t num_numeric = 0;
  std::uint32_t num_features = 0;
  internal::NameTable names;
  std::vector<internal::NameTable> categories;  // per categorical feature
  std::vector<std::uint32_t> unseen_id;  // per categorical: # known categories
  // Cleared when the monitor is destroyed (its drop counters go with it), so
  // a vector kept after that drops bad values without counting them.
  mutable std::atomic<DropSink*> drops{nullptr};

  void Drop(DropReason r) const noexcept {
    DropSink* d = drops.load(std::memory_order_acquire);
    if (d != nullptr) d->Drop(r);
  }
};

}  // namespace detail
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_FEATURE_LAYOUT_H_
