#ifndef MLMON_DURATION_H_
#define MLMON_DURATION_H_

/// \file
/// How a window length is written in the `window` label and in monitor.yaml.

#include <chrono>
#include <string>

namespace mlmon {

/// The `window` label of a duration, in its largest exact unit: 86400 s ->
/// `"1d"`, 3600 s -> `"1h"`, 1800 s -> `"30m"`, 5400 s -> `"90m"`, 45 s ->
/// `"45s"`. \throw mlmon::ConfigError if `d` is not positive.
std::string FormatDuration(std::chrono::seconds d);

}  // namespace mlmon

#endif  // MLMON_DURATION_H_
