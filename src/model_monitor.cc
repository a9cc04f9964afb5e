#include "mlmon/model_monitor.h"

#include <exception>
#include <new>
#include <utility>

#include "internal/config_errors.h"
#include "internal/series_owner.h"
#include "mlmon/errors.h"

namespace mlmon {

namespace {
ReferenceProfile LoadReference(const MonitorSpec& spec) {
  if (spec.reference_path.empty()) return ReferenceProfile();
  return ReferenceProfile::Load(spec.reference_path);
}

HeuristicsOptions HeuristicOptions(const MonitorSpec& spec) {
  HeuristicsOptions o;
  o.value_buckets = spec.heuristic_value_buckets;
  return o;
}

GoldenSignalsOptions SignalOptions(const MonitorSpec& spec,
                                   const Clock* clock) {
  GoldenSignalsOptions o;
  o.latency_buckets = spec.latency_buckets;
  o.clock = clock;
  return o;
}
// The spec with `segments` given to the outcome tracker and the response
// distribution (a C++ caller sets it once, as `segments:` does).
MonitorSpec WithSegments(MonitorSpec spec) {
  if (spec.segments.enabled()) {
    spec.outcome.segments = spec.segments;
    spec.distribution.segments = spec.segments;
  }
  return spec;
}
}  // namespace

// A function-try-block: whatever a signal's construction throws reaches the
// host as a ConfigError, the only exception set-up promises. The handler may
// not touch members (they are destroyed by then), hence a message without the
// model's name.
ModelMonitor::ModelMonitor(Registry& registry, MonitorSpec spec,
                           const Clock* clock) try
    : owner_(std::make_unique<internal::SeriesOwner>(registry, "ModelMonitor",
                                                     spec.model, spec.version)),
      spec_(WithSegments(std::move(spec))),
      reference_(LoadReference(spec_)),
      signals_(registry, spec_.model, spec_.version,
               SignalOptions(spec_, clock)),
      outcomes_(registry, spec_.model, spec_.version, spec_.outcome, clock),
      distribution_(registry, spec_.model, spec_.version, spec_.distribution,
                    spec_.reference_path.empty() ? nullptr : &reference_,
                    clock),
      features_(registry, spec_.model, spec_.version, spec_.features,
                spec_.reference_path.empty() ? nullptr : &reference_, clock),
      heuristics_(registry, spec_.model, spec_.version,
                  HeuristicOptions(spec_)) {
  for (const auto& e : spec_.endpoints) signals_.AddEndpoint(e);
} catch (const ConfigError&) {
  throw;
} catch (const std::bad_alloc&) {
  throw internal::SetupError(
      "ModelMonitor",
      "out of memory while building the monitor; check pending_capacity, "
      "auc_bins, slices_per_window and windows, or run `mlmon check-config`, "
      "which prints the memory a spec needs");
} catch (const std::exception& e) {
  throw internal::SetupError("ModelMonitor", "cannot build the monitor",
                             e.what());
}

ModelMonitor::~ModelMonitor() { ticking_.Reset(); }

void ModelMonitor::TickOn(Ticker& ticker) {
  ticking_ = ticker.AddScoped([this] { Tick(); });
}

}  // namespace mlmon
