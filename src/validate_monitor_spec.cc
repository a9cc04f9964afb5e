// ValidateMonitorSpec: builds the monitors of a spec on a scratch registry,
// so that it checks exactly what building them checks.

#include <string_view>

#include "internal/config_errors.h"
#include "internal/outcome_spec.h"
#include "mlmon/alerting.h"
#include "mlmon/model_monitor.h"
#include "mlmon/monitor_spec.h"
#include "mlmon/registry.h"

namespace mlmon {

namespace {

// `spec` with the sizes that only scale allocations (pending capacity,
// slices, AUC bins) cut to the smallest valid value when they are valid, so
// that building it checks everything else without allocating in proportion
// to them. Invalid values are kept, so the message is the one of the full
// spec. The ranges are those documented in OutcomeSpec, ResponseSpec and
// FeatureSpec (a test checks that the limits still refuse).
constexpr std::size_t kMaxValidatedPendingCapacity = 100000000;
constexpr std::size_t kMaxValidatedSlices = 3600;
constexpr std::size_t kMaxValidatedAucBins = 65536;

MonitorSpec ShrunkForValidation(MonitorSpec spec) {
  const auto cut = [](std::size_t* v, std::size_t lo, std::size_t hi) {
    if (*v >= lo && *v <= hi) *v = lo;
  };
  cut(&spec.outcome.pending_capacity, 1, kMaxValidatedPendingCapacity);
  cut(&spec.outcome.slices_per_window, 1, kMaxValidatedSlices);
  cut(&spec.outcome.auc_bins, 16, kMaxValidatedAucBins);
  cut(&spec.distribution.slices_per_window, 1, kMaxValidatedSlices);
  cut(&spec.features.slices_per_window, 1, kMaxValidatedSlices);
  // The store's settings are checked here; the scratch monitor keeps its
  // predictions in memory, so validating never connects to Redis.
  internal::ValidatePendingStoreSpec(spec.outcome.store);
  spec.outcome.store.backend = PendingStoreSpec::Backend::kMemory;
  return spec;
}

}  // namespace

void ValidateMonitorSpec(const MonitorSpec& spec) {
  internal::OnlyConfigErrors(spec.source, "out of memory", [&] {
    try {
      Registry scratch;
      ModelMonitor monitor(scratch, ShrunkForValidation(spec));
    } catch (const ConfigError& e) {
      // The monitors name the setting by its struct field: "mlmon:
      // <where>: ..." becomes "mlmon: <source>: <where>: ...".
      std::string_view what = e.what();
      if (what.rfind("mlmon: ", 0) == 0) what.remove_prefix(7);
      throw internal::SetupError(spec.source, what);
    }
    ValidateSloSpec(spec);  // names the source itself
  });
}

}  // namespace mlmon
