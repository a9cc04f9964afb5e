#include "internal/fleet_drift_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "internal/metric_catalogue.h"
#include "mlmon/drift.h"
#include "mlmon/duration.h"

namespace mlmon {
namespace internal {

// Fleet-wide drift: PSI and JS of the sum of every replica's bin counts
// (`mlmon_drift_bin_observations_total`) against the reference shares
// (`mlmon_drift_reference_share`), per drift window, with the definitions
// and constants of drift.cc:
//   p_i = fleet count of bin i in the window / fleet total of the signal,
//   q_i = reference share of bin i;
//   PSI = sum_i (p'_i - q'_i) ln(p'_i / q'_i), x' = x unless x == 0, then
//         kPsiFloor;
//   JS  = clamp(sum_i 1/2 (KL(p_i, m_i) + KL(q_i, m_i)), 0, 1),
//         m_i = 1/2 (p_i + q_i), KL(x, m) = x log2(x / m), 0 when x == 0.
// A signal whose fleet total in the window is below the in-process
// `drift_min_samples` has no value (the in-process gauge reads NaN then).
// increase()'s extrapolation scales a bin and its signal's total alike,
// so it cancels in p_i when the series share their sample times.

namespace {

// Whether `spec` monitors features (numeric or categorical): each has drift
// signals with bins.
bool HasFeatures(const MonitorSpec& spec) {
  return !spec.features.numeric.empty() || !spec.features.categorical.empty();
}

// Zero replaced by the PSI floor, other values kept (not clamp_min: only
// an exact 0 is floored, as in drift.cc).
std::string PsiFloored(const std::string& x) {
  return fmt::format("({} != 0 or {} * 0 + {})", x, x, kPsiFloor);
}

// x log2(x / m) where x > 0, and 0 where x == 0 (where the product would be
// 0 * -Inf = NaN).
std::string KlTerm(const std::string& x, const std::string& m) {
  return fmt::format("(({} > 0) * log2({} / {}) or {} * 0)", x, x, m, x);
}

}  // namespace

// The windows of the fleet drift rules: the score's, then the features'
// not already listed.
std::vector<std::string> FleetDriftWindows(const MonitorSpec& spec) {
  std::vector<std::string> out;
  auto add = [&out](const std::vector<std::chrono::seconds>& windows) {
    for (const auto& w : windows) {
      const std::string label = FormatDuration(w);
      if (std::find(out.begin(), out.end(), label) == out.end()) {
        out.push_back(label);
      }
    }
  };
  add(spec.distribution.windows);
  if (HasFeatures(spec)) add(spec.features.windows);
  return out;
}

std::string FleetDriftPsiName(const std::string& window) {
  return "mlmon:drift_psi:fleet_" + window;
}

std::vector<FleetDriftRecording> FleetDriftRecordings(
    const MonitorSpec& spec, const std::string& model_matcher) {
  const std::vector<std::string> windows = FleetDriftWindows(spec);
  std::vector<FleetDriftRecording> r;
  if (windows.empty()) return r;
  const auto sel = [&model_matcher](const std::string& extra = "") {
    return "{" + model_matcher + (extra.empty() ? "" : "," + extra) + "}";
  };
  const std::string by = std::string("model, version, signal");
  const std::string by_bin = by + ", bin";
  const auto rec = [&r](std::string name, std::string expr,
                        std::string window = "", std::string comment = "") {
    r.push_back({std::move(name), std::move(expr), std::move(window),
                 std::move(comment)});
  };
  // Folded series (`signal="__overflow__"`, beyond the family's series cap)
  // are no signal; a signal folded in part has shares summing to less than
  // 1 and is left out.
  const std::string bins(metrics::kDriftBinObservationsTotal.def.name);
  const std::string shares(metrics::kDriftReferenceShare.def.name);
  const std::string not_folded = "signal!=\"__overflow__\"";
  const std::string q = "mlmon:drift_reference_share:fleet";
  const std::string replicas =
      fmt::format("max by ({}) ({}{})", by_bin, shares, sel(not_folded));
  rec(q,
      fmt::format("{} and on ({}) sum by ({}) ({}) > {}", replicas, by, by,
                  replicas, fmt::format("{}", 1 - 1e-9)),
      "",
      "Fleet-wide drift: PSI and JS of the bin counts summed over replicas "
      "(docs/metrics.md#fleet-wide-drift).");
  struct Group {
    const std::vector<std::chrono::seconds>* windows;
    std::string signals;  // matchers
    std::size_t min_samples;
  };
  std::vector<Group> groups = {{&spec.distribution.windows, "signal=\"score\"",
                                spec.distribution.drift_min_samples}};
  if (HasFeatures(spec)) {
    groups.push_back({&spec.features.windows, "signal!=\"score\"," + not_folded,
                      spec.features.drift_min_samples});
  }
  for (const std::string& w : windows) {
    const std::string total = "mlmon:drift_observations:fleet_" + w;
    const std::string p = "mlmon:drift_bin_share:fleet_" + w;
    rec(total, fmt::format("sum by ({}) (increase({}{}[{}]))", by, bins,
                           sel(not_folded), w));
    // One rule (one name), a part per group of signals with this window.
    std::string shares_expr;
    for (const Group& g : groups) {
      bool has = false;
      for (const auto& gw : *g.windows) has = has || FormatDuration(gw) == w;
      if (!has) continue;
      shares_expr += fmt::format(
          "{}sum by ({}) (increase({}{}[{}])) / on ({}) group_left () ({}{} "
          ">= {})",
          shares_expr.empty() ? "" : " or ", by_bin, bins, sel(g.signals), w,
          by, total, sel(g.signals), g.min_samples);
    }
    rec(p, shares_expr);
    const std::string ps = p + sel(), qs = q + sel();
    const std::string pf = PsiFloored(ps), qf = PsiFloored(qs);
    rec(FleetDriftPsiName(w),
        fmt::format("sum by ({}) (({} - {}) * ln({} / {}))", by, pf, qf, pf,
                    qf),
        w);
    const std::string m = fmt::format("(0.5 * ({} + {}))", ps, qs);
    rec("mlmon:drift_js:fleet_" + w,
        fmt::format("clamp(sum by ({}) (0.5 * ({} + {})), 0, 1)", by,
                    KlTerm(ps, m), KlTerm(qs, m)),
        w);
  }
  return r;
}

}  // namespace internal
}  // namespace mlmon
