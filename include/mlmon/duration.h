#ifndef MLMON_DURATION_H_
#define MLMON_DURATION_H_

/// \file
/// How a window length is written in the `window` label and in monitor.yaml.

#include <chrono>
#include <string>
#include <string_view>

namespace mlmon {

/// The `window` label of a duration, in its largest exact unit: 86400 s ->
/// `"1d"`, 3600 s -> `"1h"`, 1800 s -> `"30m"`, 5400 s -> `"90m"`, 45 s ->
/// `"45s"`. \throw mlmon::ConfigError if `d` is not positive.
std::string FormatDuration(std::chrono::seconds d);

/// Seconds in one duration unit as monitor.yaml and the CLI write it:
/// `""` and `"s"` 1, `"ms"` 0.001, `"m"` 60, `"h"` 3600, `"d"` 86400, `"w"`
/// 604800; 0 for anything else.
double DurationUnitSeconds(std::string_view unit) noexcept;

}  // namespace mlmon

#endif  // MLMON_DURATION_H_
