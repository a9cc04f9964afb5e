#ifndef MLMON_MODEL_MONITOR_H_
#define MLMON_MODEL_MONITOR_H_

/// \file
/// `ModelMonitor`: the signals of one model version, built from a
/// `MonitorSpec`. A thin composition: each signal works alone too.

#include <memory>
#include <string>

#include "mlmon/feature_monitor.h"
#include "mlmon/golden_signals.h"
#include "mlmon/heuristics.h"
#include "mlmon/monitor_spec.h"
#include "mlmon/outcome_tracker.h"
#include "mlmon/reference_profile.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"
#include "mlmon/ticker.h"

namespace mlmon {

/// Every signal of one model version, built from its `MonitorSpec`: golden
/// signals (every endpoint of the spec bound), outcome tracking, the response
/// distribution, input features and quality heuristics, with constant labels
/// `model`, `version`, and drift against the spec's reference profile.
///
/// Lifetime. Destroying the monitor removes every series of its model
/// version from the registry's exposition, and is safe while the registry
/// is scraped, a `Ticker` ticks it (`TickOn`), an `OutcomeIngest` serves its
/// tracker and other monitors record; a feedback line for it then answers
/// `unknown model`. What the host must still ensure: no call on this
/// monitor, its signals or its endpoints runs when it is destroyed (e.g.
/// requests hold a `std::shared_ptr` to the monitor they use, so a hot swap
/// destroys the old version when its last request ends). A registry holds
/// one monitor per (model, version).
///
/// Thread safety: thread-safe.
///
/// **Example**:
///
///     mlmon::Registry registry;
///     mlmon::ModelMonitor monitor(registry,
///                                 mlmon::LoadMonitorSpec("monitor.yaml"));
///     mlmon::Endpoint& predict = monitor.endpoint("predict");
///     {
///       mlmon::RequestGuard guard(predict);
///       double score = Predict(request);
///       monitor.outcomes().RecordPrediction(request.id, score);
///     }
class ModelMonitor {
 public:
  /// Loads `spec.reference_path` if set.
  /// \throw mlmon::ConfigError naming the bad value of `spec`, a reference
  /// profile that cannot be read or does not match the spec, or if
  /// `registry` holds a monitor of the same model and version.
  ModelMonitor(Registry& registry, MonitorSpec spec,
               const Clock* clock = nullptr);
  /// Stops its ticking (`TickOn`), then removes its series.
  ~ModelMonitor();
  ModelMonitor(const ModelMonitor&) = delete;
  ModelMonitor& operator=(const ModelMonitor&) = delete;

  GoldenSignals& signals() noexcept { return signals_; }
  OutcomeTracker& outcomes() noexcept { return outcomes_; }
  ResponseDistribution& distribution() noexcept { return distribution_; }
  FeatureMonitor& features() noexcept { return features_; }
  Heuristics& heuristics() noexcept { return heuristics_; }
  /// The loaded reference profile (empty if none was configured).
  const ReferenceProfile& reference() const noexcept { return reference_; }
  /// A bound endpoint (one of `spec.endpoints`, or a new one: set-up call).
  Endpoint& endpoint(const std::string& name) {
    return signals_.AddEndpoint(name);
  }
  const MonitorSpec& spec() const noexcept { return spec_; }

  /// Off-hot-path upkeep: expiry, windowed gauges and drift scores.
  void Tick() {
    outcomes_.Tick();
    distribution_.Tick();
    features_.Tick();
  }
  /// Ticks the monitor on `ticker` until the monitor is destroyed (which
  /// waits for a tick in progress). `ticker` may be destroyed first.
  /// Set-up call.
  void TickOn(Ticker& ticker);

 private:
  // First: destroyed last. Claims the model version for this monitor.
  std::unique_ptr<internal::SeriesOwner> owner_;
  MonitorSpec spec_;
  ReferenceProfile reference_;
  GoldenSignals signals_;
  OutcomeTracker outcomes_;
  ResponseDistribution distribution_;
  FeatureMonitor features_;
  Heuristics heuristics_;
  // Last: destroyed first, before anything a tick uses.
  Ticker::Registration ticking_;
};

}  // namespace mlmon

#endif  // MLMON_MODEL_MONITOR_H_
