#ifndef MLMON_SRC_INTERNAL_BUCKET_BOUNDS_H_
#define MLMON_SRC_INTERNAL_BUCKET_BOUNDS_H_

/// \file
/// The one check of histogram bucket bounds, under the name of the setting
/// that holds them. Private to the library (never installed).

#include <string_view>
#include <vector>

namespace mlmon {
namespace internal {

/// Checks that `bounds` is non-empty, finite and strictly increasing.
/// \throw mlmon::ConfigError "mlmon: <where>[<i>]: <what> (<value>)", e.g.
///     "mlmon: OutcomeSpec.delay_buckets[1]: not greater than the bound
///     before it, 2 (1)".
void CheckBucketBounds(std::string_view where,
                       const std::vector<double>& bounds);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_BUCKET_BOUNDS_H_
