#ifndef MLMON_SRC_INTERNAL_REGISTRY_TEXT_H_
#define MLMON_SRC_INTERNAL_REGISTRY_TEXT_H_

/// \file
/// The text writer of prometheus-cpp families (those of an attached
/// collectable, and `mlmon::WriteText`), which leaves out what would repeat
/// a name or a series of the exposition.

#include <prometheus/metric_family.h>

#include <set>
#include <string>
#include <vector>

#include "mlmon/registry.h"

namespace mlmon {
namespace internal {

/// prometheus-cpp's type of an mlmon family's type.
prometheus::MetricType PromType(MetricType t);

/// Appends `families` in the text format 0.0.4, leaving out a family one of
/// whose names (its own, or a histogram's or summary's sample names) is in
/// `taken`, and a series with an invalid, repeated or reserved (`le`,
/// `quantile`) label name or that prints the same as an earlier series of
/// its family; adds the names of each family written to `taken`.
/// `openmetrics`: in OpenMetrics 1.0 instead (a counter's family named
/// without `_total`, untyped as `unknown`, no `_sum` for a histogram with a
/// negative bound), with the OpenMetrics names of each family (see
/// `OpenMetricsNames`) as the names it takes.
void WriteCollected(const std::vector<prometheus::MetricFamily>& families,
                    std::set<std::string>* taken, std::string* out,
                    bool openmetrics = false);

/// A counter's OpenMetrics family name: `name` without a `_total` suffix.
std::string OpenMetricsCounterBase(const std::string& name);
/// The names a family takes in OpenMetrics: its family name and its sample
/// names, the reserved `_created` included (`type` as prometheus-cpp's).
std::vector<std::string> OpenMetricsNames(const std::string& name,
                                          prometheus::MetricType type);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_REGISTRY_TEXT_H_
