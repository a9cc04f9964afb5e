#ifndef MLMON_SRC_INTERNAL_FLEET_DRIFT_RULES_H_
#define MLMON_SRC_INTERNAL_FLEET_DRIFT_RULES_H_

/// \file
/// The fleet-wide drift recording rules of `mlmon rules`: PSI and JS of the
/// bin counts summed over every replica, per drift window, with the
/// definitions and constants of drift.h. Private (never installed).

#include <string>
#include <vector>

#include "mlmon/monitor_spec.h"

namespace mlmon {
namespace internal {

/// One recording rule; `window` (may be empty) becomes its `window` label.
struct FleetDriftRecording {
  std::string record;
  std::string expr;
  std::string window;
  std::string comment;
};

/// The drift windows of `spec` as labels (`5m`): the score's, then the
/// features' (numeric or categorical) not already listed.
std::vector<std::string> FleetDriftWindows(const MonitorSpec& spec);

/// `mlmon:drift_psi:fleet_<window>`.
std::string FleetDriftPsiName(const std::string& window);

/// The rules, in evaluation order, selecting on `model_matcher`
/// (`model="<m>"`, quoted by the caller). Empty without drift windows.
std::vector<FleetDriftRecording> FleetDriftRecordings(
    const MonitorSpec& spec, const std::string& model_matcher);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_FLEET_DRIFT_RULES_H_
