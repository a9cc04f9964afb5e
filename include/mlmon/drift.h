#ifndef MLMON_DRIFT_H_
#define MLMON_DRIFT_H_

/// \file
/// Distances between two distributions binned on the same edges: the current
/// window (p) and the reference from training (q). Pure functions, computed
/// off the hot path (window thread, `mlmon replay`).
///
/// Definitions (p, q are bin proportions: counts / total; P, Q cumulative):
///   - PSI = sum_i (p_i - q_i) * ln(p_i / q_i), where any proportion of 0 is
///     replaced by 1e-4 before the sum (`kPsiFloor`);
///   - JS  = Jensen-Shannon divergence with log base 2, in [0, 1]:
///           JS = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2,
///           terms with a zero proportion contribute 0;
///   - L∞  = max_i |p_i - q_i|;
///   - KS  = max_i |P_i - Q_i| over the cumulative bin proportions.
/// If either side has no observations every distance is NaN (undefined).

#include <cstddef>
#include <vector>

namespace mlmon {

/// The `method` label values of `mlmon_drift_score`.
enum class DriftMethod { kPsi = 0, kJs, kLinf, kKs };
inline constexpr std::size_t kNumDriftMethods = 4;
/// "psi", "js", "linf", "ks".
const char* DriftMethodName(DriftMethod method) noexcept;

/// Proportions of exactly 0 are replaced by this in PSI.
inline constexpr double kPsiFloor = 1e-4;

/// REQUIRES (all four): `current` and `reference` have `n` bins each; counts
/// are finite and >= 0.
double PopulationStabilityIndex(const double* current, const double* reference,
                                std::size_t n) noexcept;
double JensenShannonDivergence(const double* current, const double* reference,
                               std::size_t n) noexcept;
double LInfinityDistance(const double* current, const double* reference,
                         std::size_t n) noexcept;
double KolmogorovSmirnovDistance(const double* current, const double* reference,
                                 std::size_t n) noexcept;

/// All four at once, indexed by `DriftMethod`.
struct DriftScores {
  double value[kNumDriftMethods];
  double operator[](DriftMethod m) const noexcept {
    return value[static_cast<std::size_t>(m)];
  }
};
DriftScores ComputeDrift(const double* current, const double* reference,
                         std::size_t n) noexcept;
/// Convenience overload.
/// \throw mlmon::ConfigError if the sizes differ.
DriftScores ComputeDrift(const std::vector<double>& current,
                         const std::vector<double>& reference);

}  // namespace mlmon

#endif  // MLMON_DRIFT_H_
