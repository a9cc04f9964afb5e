#ifndef MLMON_SRC_INTERNAL_FEATURE_SPEC_CHECKS_H_
#define MLMON_SRC_INTERNAL_FEATURE_SPEC_CHECKS_H_

/// \file
/// Set-up checks of a `FeatureSpec` and its resolution against a reference
/// profile: everything the `FeatureMonitor` constructor can refuse, done
/// before anything is registered. Private (never installed).

#include <string>
#include <vector>

#include "mlmon/feature_monitor.h"
#include "mlmon/reference_profile.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace internal {

/// The suffix of a numeric feature's magnitude drift signal
/// (`signal="<feature>:log10"`); no feature name may end with it.
inline constexpr const char* kLog10Suffix = ":log10";

/// Checks `spec` on its own (names, ranges, bounds, windows, the series it
/// needs against `registry`'s family cap) and that `model` is not empty.
/// \throw mlmon::ConfigError naming the field.
void ValidateFeatureSpec(const FeatureSpec& spec, const std::string& model,
                         const Registry& registry);

/// A numeric feature resolved against the reference: the value histogram's
/// bounds and the reference counts on them (empty without a reference),
/// and the reference magnitude counts (empty when the profile has none).
struct NumericPlan {
  std::vector<double> bounds, reference, log10_reference;
};

/// A categorical feature resolved against the reference: the known
/// categories (the `max_categories` most frequent, ties in name order) and
/// their reference counts, then the count of the capped rest (the `unseen`
/// bin). Both empty without a reference.
struct CategoricalPlan {
  std::vector<std::string> known;
  std::vector<double> reference;
};

struct FeaturePlans {
  std::vector<NumericPlan> numeric;          // by numeric index
  std::vector<CategoricalPlan> categorical;  // by categorical index
};

/// Resolves every feature of a validated `spec` against `reference` (may be
/// null). \throw mlmon::ConfigError naming the feature
/// (`FeatureSpec.numeric[i]`) or its reference signal
/// (`ReferenceProfile.signals.<name>`): a numeric feature without buckets
/// and without a reference; with a reference, a feature missing from it or
/// of the other type, bounds that do not match, log10 counts not on
/// `DefaultLog10Bounds()`, or no reference observation.
FeaturePlans PlanFeatures(const FeatureSpec& spec,
                          const ReferenceProfile* reference);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_FEATURE_SPEC_CHECKS_H_
