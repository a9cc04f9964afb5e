#ifndef MLMON_SRC_INTERNAL_RESPONSE_SEGMENTS_H_
#define MLMON_SRC_INTERNAL_RESPONSE_SEGMENTS_H_

/// \file
/// The segments of a `ResponseDistribution`: per segment value its
/// `mlmon_predictions_total`, `mlmon_empty_responses_total` and
/// `mlmon_prediction_score` series. Private to the library (never
/// installed).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/instruments.h"
#include "mlmon/response_distribution.h"
#include "segment_table.h"
#include "series_owner.h"
#include "staged_series.h"

namespace mlmon {
namespace internal {

/// The series one segment records into.
struct ResponseSegmentSeries {
  Histogram* score = nullptr;
  /// `mlmon_predictions_total`: [0] = `__other__`, then the bound names.
  std::vector<Counter*> classes;
  /// The class by threshold when no classes are configured (as
  /// `ResponseDistribution`'s own); null when classes are configured.
  Counter* by_threshold[2] = {nullptr, nullptr};
  Counter* empty = nullptr;
};

/// The segments of one response distribution: a `SegmentTable` and, per
/// index 1 .. `other()`, staged series bound at the first `Publish()` after
/// the value is first seen.
///
/// Thread safety: `Find` is thread-safe, lock-free and allocation-free;
/// `Publish` and `AddScoreCounts` are called under the distribution's tick
/// lock.
class ResponseSegments {
 public:
  /// `bound`: the class names of `mlmon_predictions_total` after
  /// `__other__`; `threshold_classes`: whether scores count by threshold
  /// (no classes configured), and then `unit` says if "1" is its own class.
  ResponseSegments(SeriesOwner& owner, const std::string& model,
                   const std::string& version, const ResponseSpec& spec,
                   const std::vector<std::string>& bound,
                   bool threshold_classes, bool unit);

  /// The series of `segment`; null for an empty one (the distribution's
  /// own, `segment=""`). Counts a fold into `__other__`.
  const ResponseSegmentSeries* Find(std::string_view segment) noexcept;

  /// Binds the series of the values first seen since the last call.
  void Publish();
  /// Adds every segment's score histogram (published or not) to
  /// `per_bucket` (counts per bucket, +Inf last).
  void AddScoreCounts(std::vector<double>* per_bucket);

 private:
  struct Part {
    explicit Part(SeriesOwner& owner) : stage(owner) {}
    StagedSeries stage;
    ResponseSegmentSeries series;
  };
  SegmentTable table_;
  std::vector<std::unique_ptr<Part>> parts_;  // [0]: null
  Counter* folds_ = nullptr;
  Histogram::Snapshot snapshot_;
};

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_RESPONSE_SEGMENTS_H_
