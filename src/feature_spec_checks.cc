#include "internal/feature_spec_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "internal/bucket_bounds.h"
#include "internal/config_errors.h"
#include "internal/spec_checks.h"
#include "internal/text_format.h"

namespace mlmon {
namespace internal {
namespace {

constexpr std::size_t kMaxWindows = 8;

void CheckName(const std::string& field, const std::string& name) {
  const std::string where = fmt::format("FeatureSpec.{}.name", field);
  if (name.empty()) throw SetupError(where, "is empty");
  if (name.size() > FeatureSpec::kMaxNameBytes) {
    throw SetupError(
        where,
        fmt::format("is longer than {} bytes", FeatureSpec::kMaxNameBytes),
        name);
  }
  // Not quoted: the value itself is what cannot be printed.
  if (!IsValidUtf8(name)) throw SetupError(where, "is not valid UTF-8");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      throw SetupError(where, "holds a control character");
    }
  }
  if (name.compare(0, 2, "__") == 0) {
    throw SetupError(where, "starts with '__', which is reserved", name);
  }
  const std::size_t n = std::strlen(kLog10Suffix);
  if (name.size() >= n && name.compare(name.size() - n, n, kLog10Suffix) == 0) {
    throw SetupError(where,
                     "ends with ':log10', the suffix of the magnitude drift "
                     "signal",
                     name);
  }
}

double Total(const std::vector<double>& v) {
  double t = 0;
  for (double x : v) t += x;
  return t;
}

// "mlmon: FeatureSpec.<kind>[i]: <what> (<name>)".
[[noreturn]] void BadFeature(const char* kind, std::size_t i,
                             const std::string& name, std::string_view what) {
  throw SetupError(fmt::format("FeatureSpec.{}[{}]", kind, i), what, name);
}

NumericPlan PlanNumeric(std::size_t i, const FeatureSpec::Numeric& f,
                        const ReferenceProfile* reference) {
  NumericPlan p;
  p.bounds = f.buckets;
  if (reference == nullptr) {
    if (p.bounds.empty()) {
      BadFeature("numeric", i, f.name,
                 "buckets is empty and there is no reference profile to take "
                 "the bounds from");
    }
    return p;
  }
  auto it = reference->signals.find(f.name);
  if (it == reference->signals.end()) {
    BadFeature("numeric", i, f.name, "missing from the reference profile");
  }
  if (p.bounds.empty()) {
    p.bounds = it->second.numeric.bounds;
    CheckBucketBounds(
        fmt::format("ReferenceProfile.signals.{}.bounds", Excerpt(f.name)),
        p.bounds);
  }
  // Names the signal and both bounds when they differ.
  p.reference = reference->NumericFor(f.name, p.bounds).counts;
  if (p.reference.size() != p.bounds.size() + 1 || !(Total(p.reference) > 0)) {
    BadFeature("numeric", i, f.name,
               "the reference has no observations (or counts do not match "
               "its bounds)");
  }
  const BinnedCounts& log10 = it->second.log10;
  if (!log10.bounds.empty() || !log10.counts.empty()) {
    if (log10.bounds != DefaultLog10Bounds() ||
        log10.counts.size() != log10.bounds.size() + 1) {
      BadFeature("numeric", i, f.name,
                 "reference log10 bins are not on DefaultLog10Bounds() "
                 "(decades -9 .. 12)");
    }
    if (Total(log10.counts) > 0) p.log10_reference = log10.counts;
  }
  return p;
}

CategoricalPlan PlanCategorical(std::size_t i,
                                const FeatureSpec::Categorical& f,
                                const ReferenceProfile* reference) {
  CategoricalPlan p;
  if (reference == nullptr) return p;
  // Names the signal when it is missing or not categorical.
  const std::map<std::string, double>* cats = &reference->CategoriesFor(f.name);
  std::vector<std::pair<std::string, double>> sorted(cats->begin(),
                                                     cats->end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) {
                     return a.second > b.second;  // map order breaks ties
                   });
  double capped = 0;
  for (std::size_t k = 0; k < sorted.size(); ++k) {
    if (k < f.max_categories) {
      p.known.push_back(sorted[k].first);
      p.reference.push_back(sorted[k].second);
    } else {
      capped += sorted[k].second;
    }
  }
  p.reference.push_back(capped);
  if (!(Total(p.reference) > 0)) {
    BadFeature("categorical", i, f.name, "the reference has no observations");
  }
  return p;
}

}  // namespace

void ValidateFeatureSpec(const FeatureSpec& s, const std::string& model,
                         const Registry& registry) {
  if (model.empty()) throw SetupError("FeatureMonitor.model", "is empty");
  const SpecContext spec("FeatureSpec");
  const std::size_t total = s.numeric.size() + s.categorical.size();
  if (total > FeatureSpec::kMaxFeatures) {
    throw SetupError("FeatureSpec",
                     fmt::format("has more than {} numeric and categorical "
                                 "features",
                                 FeatureSpec::kMaxFeatures),
                     std::to_string(total));
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < s.numeric.size(); ++i) {
    const auto& f = s.numeric[i];
    const std::string field = fmt::format("numeric[{}]", i);
    CheckName(field, f.name);
    CheckNotRepeated(spec, &names, field + ".name", f.name);
    if (!std::isnan(f.min) && !std::isnan(f.max) && f.min > f.max) {
      spec.Fail(field + ".min", fmt::format("is greater than max = {}", f.max),
                fmt::format("{}", f.min));
    }
    if (!f.buckets.empty()) {
      CheckBuckets(spec, field + ".buckets", f.buckets);
    }
  }
  for (std::size_t i = 0; i < s.categorical.size(); ++i) {
    const auto& f = s.categorical[i];
    const std::string field = fmt::format("categorical[{}]", i);
    CheckName(field, f.name);
    CheckNotRepeated(spec, &names, field + ".name", f.name);
    CheckInRange(spec, field + ".max_categories", f.max_categories, 1,
                 FeatureSpec::kMaxCategories);
  }
  CheckInRange(spec, "slices_per_window", s.slices_per_window, 1, 3600);
  CheckAtLeast(spec, "drift_min_samples", s.drift_min_samples, 1);
  // No upper bound on a feature window (0: none).
  CheckWindows(spec, s.windows, kMaxWindows, 0);
  // This monitor's own series must fit under the family cap (other models
  // share the families; their series are not known here).
  const std::size_t cap = registry.options().max_series_per_family;
  const std::size_t status_series =
      4 * s.numeric.size() + 3 * s.categorical.size();
  if (status_series > cap) {
    throw SetupError(
        "FeatureSpec",
        fmt::format("needs more mlmon_feature_values_total series than "
                    "Registry::Options::max_series_per_family = {}",
                    cap),
        std::to_string(status_series));
  }
}

FeaturePlans PlanFeatures(const FeatureSpec& spec,
                          const ReferenceProfile* reference) {
  FeaturePlans plans;
  for (std::size_t i = 0; i < spec.numeric.size(); ++i) {
    plans.numeric.push_back(PlanNumeric(i, spec.numeric[i], reference));
  }
  for (std::size_t i = 0; i < spec.categorical.size(); ++i) {
    plans.categorical.push_back(
        PlanCategorical(i, spec.categorical[i], reference));
  }
  return plans;
}

}  // namespace internal
}  // namespace mlmon
