#include "mlmon/drift.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "internal/config_errors.h"
#include "mlmon/errors.h"

namespace mlmon {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Total(const double* counts, std::size_t n) noexcept {
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) total += counts[i];
  return total;
}

// Both totals, or false if either side has no observations (then every
// distance is NaN). `!(t > 0)` also catches a NaN total.
bool Totals(const double* current, const double* reference, std::size_t n,
            double* tp, double* tq) noexcept {
  *tp = Total(current, n);
  *tq = Total(reference, n);
  return *tp > 0 && *tq > 0;
}

// p * log2(p / m) with 0 * log 0 = 0. REQUIRES: m >= p / 2 (m is the mean of
// p and something >= 0), so m > 0 whenever p > 0.
double KlTerm(double p, double m) noexcept {
  return p > 0 ? p * std::log2(p / m) : 0.0;
}

}  // namespace

const char* DriftMethodName(DriftMethod method) noexcept {
  switch (method) {
    case DriftMethod::kPsi:
      return "psi";
    case DriftMethod::kJs:
      return "js";
    case DriftMethod::kLinf:
      return "linf";
    case DriftMethod::kKs:
      return "ks";
  }
  return "unknown";
}

double PopulationStabilityIndex(const double* current, const double* reference,
                                std::size_t n) noexcept {
  double tp, tq;
  if (!Totals(current, reference, n, &tp, &tq)) return kNaN;
  double psi = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    // Floored proportions are > 0, so the ratio and the log are finite.
    // A proportion of exactly 0 becomes kPsiFloor.
    double p = current[i] / tp;
    double q = reference[i] / tq;
    if (p == 0) p = kPsiFloor;
    if (q == 0) q = kPsiFloor;
    psi += (p - q) * std::log(p / q);
  }
  return psi;  // each term is >= 0
}

double JensenShannonDivergence(const double* current, const double* reference,
                               std::size_t n) noexcept {
  double tp, tq;
  if (!Totals(current, reference, n, &tp, &tq)) return kNaN;
  double js = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double p = current[i] / tp;
    const double q = reference[i] / tq;
    const double m = 0.5 * (p + q);
    js += 0.5 * (KlTerm(p, m) + KlTerm(q, m));
  }
  // Rounding can leave the sum a few ulps outside [0, 1].
  return std::min(1.0, std::max(0.0, js));
}

double LInfinityDistance(const double* current, const double* reference,
                         std::size_t n) noexcept {
  double tp, tq;
  if (!Totals(current, reference, n, &tp, &tq)) return kNaN;
  double d = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    d = std::max(d, std::fabs(current[i] / tp - reference[i] / tq));
  }
  return d;
}

double KolmogorovSmirnovDistance(const double* current, const double* reference,
                                 std::size_t n) noexcept {
  double tp, tq;
  if (!Totals(current, reference, n, &tp, &tq)) return kNaN;
  // Cumulative counts divided by the totals (summed in the same order as
  // the totals, so the last bin gives exactly 1 - 1 = 0).
  double cp = 0.0, cq = 0.0, d = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    cp += current[i];
    cq += reference[i];
    d = std::max(d, std::fabs(cp / tp - cq / tq));
  }
  return std::min(1.0, d);
}

DriftScores ComputeDrift(const double* current, const double* reference,
                         std::size_t n) noexcept {
  DriftScores s;
  s.value[static_cast<std::size_t>(DriftMethod::kPsi)] =
      PopulationStabilityIndex(current, reference, n);
  s.value[static_cast<std::size_t>(DriftMethod::kJs)] =
      JensenShannonDivergence(current, reference, n);
  s.value[static_cast<std::size_t>(DriftMethod::kLinf)] =
      LInfinityDistance(current, reference, n);
  s.value[static_cast<std::size_t>(DriftMethod::kKs)] =
      KolmogorovSmirnovDistance(current, reference, n);
  return s;
}

DriftScores ComputeDrift(const std::vector<double>& current,
                         const std::vector<double>& reference) {
  if (current.size() != reference.size()) {
    throw internal::SetupError(
        "ComputeDrift",
        "current and reference differ in bins; they must be binned on the "
        "same bounds",
        fmt::format("{} and {} bins", current.size(), reference.size()));
  }
  return ComputeDrift(current.data(), reference.data(), current.size());
}

}  // namespace mlmon
