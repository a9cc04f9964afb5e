#ifndef MLMON_ERRORS_H_
#define MLMON_ERRORS_H_

/// \file
/// Error and result types shared by every mlmon layer.

#include <cstddef>
#include <stdexcept>
#include <string>

namespace mlmon {

/// Thrown at set-up (construction, registration, config load, server start)
/// when a value is invalid. The message names the bad value.
///
/// Never thrown by a per-request (hot-path) call.
class ConfigError : public std::invalid_argument {
 public:
  explicit ConfigError(const std::string& what) : std::invalid_argument(what) {}
};

/// Why a hot-path call refused a value. Each reason is exported as
/// `mlmon_dropped_total{reason="<Name(reason)>"}`.
enum class DropReason : int {
  kNaN = 0,            ///< a NaN observation or increment
  kInfinity,           ///< a +/-Inf observation or increment
  kNegativeIncrement,  ///< a counter increment below zero
  kQueueFull,          ///< a bounded queue was full
  kIdTooLong,          ///< a prediction id longer than the documented limit
  kInvalidValue,       ///< a value outside its domain (e.g. score not in [0,1])
  kUnknownName,        ///< a name that was not bound at set-up
  kHookFailure,        ///< a user callback threw or timed out
  kStoreUnavailable,   ///< a shared pending store could not take a prediction
};

/// Number of `DropReason` values.
inline constexpr std::size_t kNumDropReasons = 9;

/// The `reason` label value of a drop reason, e.g. `"nan"`.
const char* DropReasonName(DropReason reason) noexcept;

}  // namespace mlmon

#endif  // MLMON_ERRORS_H_
