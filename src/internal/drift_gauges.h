#ifndef MLMON_SRC_INTERNAL_DRIFT_GAUGES_H_
#define MLMON_SRC_INTERNAL_DRIFT_GAUGES_H_

/// \file
/// Publishing one window's drift, shared by `ResponseDistribution` (the
/// score) and `FeatureMonitor` (each feature signal). Private to the library.

#include <cmath>
#include <cstddef>

#include "mlmon/drift.h"
#include "mlmon/instruments.h"

namespace mlmon {
namespace internal {

/// Sets one window's `mlmon_drift_score` gauges (`gauges[m]` for
/// `DriftMethod` m; null ones are skipped) from the window's counts
/// `current` against `reference`, both on the same `bins`: the distances
/// when the window holds at least `min_samples` observations, NaN
/// (undefined) otherwise — on a handful of values PSI is noise, and an alert
/// that fired on busier traffic must resolve rather than stick to a stale
/// value.
inline void PublishDrift(const double* current, const double* reference,
                         std::size_t bins, double min_samples,
                         Gauge* const* gauges) noexcept {
  double total = 0;
  for (std::size_t b = 0; b < bins; ++b) total += current[b];
  const bool enough = total >= min_samples;
  const DriftScores scores =
      enough ? ComputeDrift(current, reference, bins) : DriftScores{};
  for (std::size_t m = 0; m < kNumDriftMethods; ++m) {
    Gauge* g = gauges[m];
    if (g == nullptr) continue;
    if (enough && std::isfinite(scores.value[m])) {
      g->Set(scores.value[m]);
    } else {
      g->SetUndefined();
    }
  }
}

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_DRIFT_GAUGES_H_
