#ifndef MLMON_SRC_INTERNAL_REGISTRY_NAMES_H_
#define MLMON_SRC_INTERNAL_REGISTRY_NAMES_H_

/// \file
/// The naming rules of the registry: which characters a metric or label name
/// may hold, the names a histogram's samples take, the `__overflow__` label
/// value, and the check of a family's name and label names at registration.

#include <string>
#include <vector>

#include "mlmon/registry.h"

namespace mlmon {
namespace internal {

/// The label value that series beyond a cap fold into.
inline constexpr char kOverflowLabel[] = "__overflow__";

/// The suffixes of a histogram's sample names (`<name>_bucket`, ...).
inline constexpr const char* kHistogramSuffixes[] = {"_bucket", "_sum",
                                                     "_count"};

/// True if `c` may appear in a metric name (`colon_ok`) or a label name, at
/// the start (`first`: no digit) or after it.
constexpr bool IsNameChar(char c, bool first, bool colon_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
    return true;
  }
  if (colon_ok && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

/// The check of `Registry::Add*`: `name` is a valid metric name; each label
/// name is valid, not repeated, and not `le` on a histogram.
/// \throw mlmon::ConfigError naming the metric and the offending name.
void CheckFamilyNames(const std::string& name, MetricType type,
                      const std::vector<std::string>& label_names);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_REGISTRY_NAMES_H_
