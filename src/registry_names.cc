// Metric and label names: the public validators and the registration check.

#include "internal/registry_names.h"

#include <set>

#include "internal/config_errors.h"
#include "mlmon/registry.h"

namespace mlmon {

bool IsValidMetricName(const std::string& name) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!internal::IsNameChar(name[i], i == 0, true)) return false;
  }
  return true;
}

bool IsValidLabelName(const std::string& name) noexcept {
  if (name.empty() || name.rfind("__", 0) == 0) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!internal::IsNameChar(name[i], i == 0, false)) return false;
  }
  return true;
}

namespace internal {

void CheckFamilyNames(const std::string& name, MetricType type,
                      const std::vector<std::string>& label_names) {
  if (!IsValidMetricName(name)) {
    throw SetupError("metric name",
                     "not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
                     name);
  }
  std::set<std::string> seen;
  for (const auto& l : label_names) {
    if (!IsValidLabelName(l)) {
      throw SetupError("metric " + name,
                       "not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*"
                       ", not starting with __)",
                       l);
    }
    if (type == MetricType::kHistogram && l == "le") {
      throw SetupError("metric " + name,
                       "a histogram may not have a label named le");
    }
    if (!seen.insert(l).second) {
      throw SetupError("metric " + name, "a repeated label name", l);
    }
  }
}

}  // namespace internal
}  // namespace mlmon
