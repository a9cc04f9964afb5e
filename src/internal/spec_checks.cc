#include "spec_checks.h"

#include <fmt/format.h>

#include "mlmon/errors.h"
#include "mlmon/instruments.h"      // ValidateBucketBounds
#include "mlmon/outcome_tracker.h"  // FormatDuration

namespace mlmon {
namespace internal {

void SpecContext::Fail(const std::string& what) const {
  throw ConfigError(
      fmt::format("mlmon: {}.{} (model '{}')", spec_, what, model_));
}

void CheckBuckets(const SpecContext& spec, const std::string& field,
                  const std::vector<double>& bounds) {
  try {
    ValidateBucketBounds(bounds);
  } catch (const ConfigError& e) {
    spec.Fail(fmt::format("{}: {}", field, e.what()));
  }
}

void CheckInRange(const SpecContext& spec, const std::string& field,
                  std::size_t value, std::size_t lo, std::size_t hi) {
  if (value < lo || value > hi) {
    spec.Fail(fmt::format("{} = {} is not in [{}, {}]", field, value, lo, hi));
  }
}

void CheckAtLeast(const SpecContext& spec, const std::string& field,
                  std::size_t value, std::size_t min) {
  if (value < min)
    spec.Fail(fmt::format("{} = {} is not >= {}", field, value, min));
}

void CheckNotRepeated(const SpecContext& spec, std::set<std::string>* seen,
                      const std::string& field, const std::string& name) {
  if (!seen->insert(name).second) {
    spec.Fail(fmt::format("{} = '{}' is repeated", field, name));
  }
}

void CheckWindows(const SpecContext& spec,
                  const std::vector<std::chrono::seconds>& windows,
                  std::size_t max_count, std::int64_t max_seconds) {
  if (windows.size() > max_count) {
    spec.Fail(fmt::format("windows has {} values, more than {}", windows.size(),
                          max_count));
  }
  std::set<std::string> labels;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const auto w = static_cast<long long>(windows[i].count());
    if (max_seconds > 0 && (w <= 0 || w > max_seconds)) {
      spec.Fail(fmt::format("windows[{}] = {}s is not in [1s, {}d]", i, w,
                            max_seconds / 86400));
    }
    if (w <= 0) spec.Fail(fmt::format("windows[{}] = {}s is not >= 1s", i, w));
    if (!labels.insert(FormatDuration(windows[i])).second) {
      spec.Fail(fmt::format("windows[{}] = {}s is repeated", i, w));
    }
  }
}

}  // namespace internal
}  // namespace mlmon
