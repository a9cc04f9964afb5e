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

namespace mlmon {
namespace internal {

/// Appends `families` in the text format 0.0.4, leaving out a family one of
/// whose names (its own, or a histogram's or summary's sample names) is in
/// `taken`, and a series with an invalid, repeated or reserved (`le`,
/// `quantile`) label name or that prints the same as an earlier series of
/// its family; adds the names of each family written to `taken`.
void WriteCollected(const std::vector<prometheus::MetricFamily>& families,
                    std::set<std::string>* taken, std::string* out);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_REGISTRY_TEXT_H_
