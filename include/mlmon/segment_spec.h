#ifndef MLMON_SEGMENT_SPEC_H_
#define MLMON_SEGMENT_SPEC_H_

/// \file
/// Segments: one dimension (a country, a device, a customer tier) along which
/// outcome quality, prediction volume, empty responses and the score
/// distribution are split, so that a model that fails one group of users
/// shows even while its overall quality holds.

#include <cstddef>
#include <string>

namespace mlmon {

/// Set-up configuration of segments (`segments:` in monitor.yaml,
/// `OutcomeSpec::segments`, `ResponseSpec::segments`).
///
/// A prediction may carry a segment value. The first `max_values` distinct
/// values a signal sees get series of their own (label `segment`); later ones
/// fold into `segment="__other__"` and are counted in
/// `mlmon_segment_folds_total`. A prediction without a value, or any
/// prediction when segments are off, is counted under `segment=""`, so the
/// sum over `segment` is the whole model. Values longer than
/// `kMaxValueBytes` fold into `__other__` too.
///
/// YAML:
///
///     segments: {name: country, max_values: 20}
struct SegmentSpec {
  /// What the segment is (dashboard titles, docs): a label-like name,
  /// `[a-zA-Z_][a-zA-Z0-9_]*`. Empty: no segments.
  std::string name;
  /// Distinct values with a series of their own, in [1, `kMaxValues`].
  std::size_t max_values = 20;

  static constexpr std::size_t kMaxValues = 100;
  static constexpr std::size_t kMaxValueBytes = 32;

  bool enabled() const noexcept { return !name.empty(); }
};

/// The `segment` label value of the values past `max_values`.
inline constexpr const char* kSegmentOther = "__other__";

}  // namespace mlmon

#endif  // MLMON_SEGMENT_SPEC_H_
