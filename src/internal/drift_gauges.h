#ifndef MLMON_SRC_INTERNAL_DRIFT_GAUGES_H_
#define MLMON_SRC_INTERNAL_DRIFT_GAUGES_H_

/// \file
/// Publishing one window's drift, shared by `ResponseDistribution` (the
/// score) and `FeatureMonitor` (each feature signal), and the per-bin series
/// from which PromQL computes drift over a whole fleet. Private to the
/// library.

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "metric_catalogue.h"
#include "mlmon/drift.h"
#include "mlmon/instruments.h"
#include "series_owner.h"

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

/// One drift signal's bins in the exposition:
/// `mlmon_drift_bin_observations_total{signal,bin}`, the observations in each
/// bin of the reference (not cumulative), and `mlmon_drift_reference_share`,
/// the reference's share of each bin (`reference[b] / total`, the `q` of
/// drift.h, computed as there). Summed over replicas, the counters give the
/// fleet's window counts, from which `mlmon rules` computes PSI and JS.
///
/// The counters follow the cumulative bin counts that `Tick()` reads for the
/// in-process windows (`Advance`), so they hold exactly what the in-process
/// drift counts, as of the last tick, and cost the hot path nothing.
/// Thread-compatible: `Advance` runs under the signal's tick lock.
class DriftBinSeries {
 public:
  /// Binds the signal's bin series through `owner` (they leave with it) and
  /// sets the reference shares. Set-up call.
  /// \throw mlmon::ConfigError as `SeriesOwner::Add`.
  void Bind(SeriesOwner& owner, const std::string& signal,
            const std::vector<double>& reference) {
    auto observations = AddFamily(owner, metrics::kDriftBinObservationsTotal);
    auto shares = AddFamily(owner, metrics::kDriftReferenceShare);
    double total = 0;  // summed in bin order, as drift.cc sums it
    for (double r : reference) total += r;
    counters_.clear();
    advanced_.assign(reference.size(), 0.0);
    for (std::size_t b = 0; b < reference.size(); ++b) {
      const std::vector<std::string> labels = {owner.model(), owner.version(),
                                               signal, std::to_string(b)};
      counters_.push_back(&observations.Add(labels));
      Gauge& share = shares.Add(labels);
      const double q = reference[b] / total;
      if (std::isfinite(q)) {
        share.Set(q);
      } else {
        share.SetUndefined();  // an empty reference: drift is undefined
      }
    }
  }

  /// Advances each bin's counter to `cumulative[b]`, the bin's count since
  /// the signal was created. A count below the last one (never for counts
  /// read from cells) is ignored.
  void Advance(const double* cumulative) noexcept {
    for (std::size_t b = 0; b < counters_.size(); ++b) {
      const double delta = cumulative[b] - advanced_[b];
      if (delta > 0) {
        counters_[b]->Increment(delta);
        advanced_[b] = cumulative[b];
      }
    }
  }

  std::size_t bins() const noexcept { return counters_.size(); }

 private:
  std::vector<Counter*> counters_;
  std::vector<double> advanced_;  // what each counter was advanced to
};

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_DRIFT_GAUGES_H_
