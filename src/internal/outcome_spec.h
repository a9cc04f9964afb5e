#ifndef MLMON_SRC_INTERNAL_OUTCOME_SPEC_H_
#define MLMON_SRC_INTERNAL_OUTCOME_SPEC_H_

/// \file
/// Set-up checks of an `OutcomeSpec`. Private to the library (never
/// installed).

#include <cstddef>
#include <cstdint>

#include "mlmon/outcome_tracker.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace internal {

/// Binary: decision thresholds at most.
inline constexpr std::size_t kMaxThresholds = 16;
/// Quality windows at most (`OutcomeSpec::windows`).
inline constexpr std::size_t kMaxOutcomeWindows = 8;
/// `OutcomeSpec::pending_capacity` at most.
inline constexpr std::size_t kMaxPendingCapacity = 100000000;
/// `PendingStoreSpec::key_prefix` bytes at most.
inline constexpr std::size_t kMaxStoreKeyPrefixBytes = 64;
/// `PendingStoreSpec::max_buffered` at most.
inline constexpr std::size_t kMaxStoreBuffered = 10000000;

/// Checks every field of `spec` that applies to its task; `registry` bounds
/// the multiclass confusion cells (`max_series_per_family`).
/// \throw mlmon::ConfigError "mlmon: OutcomeSpec.<field>: <what> (<value>)",
/// e.g. "mlmon: OutcomeSpec.thresholds[0]: not in (0, 1) (1.5)".
void ValidateOutcomeSpec(const OutcomeSpec& spec, const Registry& registry);

/// Checks the store settings that apply to its backend (the password file is
/// read only when a tracker starts the store).
/// \throw mlmon::ConfigError "mlmon: OutcomeSpec.store.<field>: ...".
void ValidatePendingStoreSpec(const PendingStoreSpec& spec);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_OUTCOME_SPEC_H_
