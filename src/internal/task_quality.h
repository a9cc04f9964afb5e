#ifndef MLMON_SRC_INTERNAL_TASK_QUALITY_H_
#define MLMON_SRC_INTERNAL_TASK_QUALITY_H_

/// \file
/// The task-specific half of an `OutcomeTracker`: one class per task
/// (binary, regression, multiclass, ranking) that registers the task's raw
/// series and quality gauges, applies a matched outcome to them and to its
/// windows, and recomputes the windowed quality. Private to the library
/// (never installed).

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/detail/mutex.h"
#include "mlmon/outcome_tracker.h"
#include "mlmon/quality_metrics.h"
#include "mlmon/registry.h"
#include "name_index.h"
#include "series_owner.h"
#include "staged_series.h"
#include "window_ring.h"

namespace mlmon {
namespace internal {

/// A quality window as exported: its `window` label, its length and its
/// number of slices.
struct WindowDef {
  std::string label;
  std::int64_t nanos;
  std::size_t slices;
};

/// The windows of `spec`: the configured sliding ones, then `"all"` (one
/// slice that never retires) when `spec.all_time_window`.
std::vector<WindowDef> WindowDefs(const OutcomeSpec& spec);

/// What a task needs to register its series: the tracker's identity, its
/// spec, and the two families that every task writes to (registered by the
/// tracker so that the exposition keeps its family order).
struct TaskSetup {
  SeriesOwner& owner;
  const std::string& model;
  const std::string& version;
  const OutcomeSpec& spec;
  const OwnedFamily<Counter>& confusion;  ///< mlmon_confusion_total
  const OwnedFamily<Gauge>& quality;      ///< mlmon_model_quality
  /// Null: the task of the whole model, series with `segment=""`. Else the
  /// task of one segment: its series are staged there (their `segment` is
  /// set when the segment's value is known) and it exports no AUC (see
  /// `BinaryTask`).
  StagedSeries* stage = nullptr;

  /// {model, version, segment, extra...}: label values of a series.
  std::vector<std::string> Values(std::vector<std::string> extra) const;
  /// A family the task binds (or stages) its series in.
  OwnedFamily<Counter> Series(const MetricOf<Counter>& m) const;
  OwnedFamily<Histogram> Series(const MetricOf<Histogram>& m,
                                std::vector<double> bounds) const;
  OwnedFamily<Counter> Confusion() const { return confusion.StagedIn(stage); }
  /// The `mlmon_model_quality` series of (metric, window, threshold, k).
  Gauge* Quality(const std::string& metric, const std::string& window,
                 const std::string& threshold = "",
                 const std::string& k = "") const;
};

/// Sets a quality gauge; an undefined value (no samples, no positive
/// prediction, AUC with one class) is exported as NaN, never as a fake 0.
inline void SetQuality(Gauge* g, double v) noexcept {
  if (std::isfinite(v)) {
    g->Set(v);
  } else {
    g->SetUndefined();
  }
}

/// The windows of one task: per window a ring of `Stats` slices and the
/// gauges its quality is exported to.
///
/// Thread safety: thread-safe. `Update` takes each ring's mutex for one slice
/// update; `Publish` is serialised by `publish_mu_`, which guards the
/// aggregates it computes into.
template <typename Stats>
class QualityWindows {
 public:
  /// Adds a window whose quality values go to `gauges`, in the order the
  /// `values` callback of `Publish` returns them. Set-up only.
  void Add(const WindowDef& def, const Stats& proto,
           std::vector<Gauge*> gauges) {
    rings_.push_back(
        std::make_unique<WindowRing<Stats>>(def.nanos, def.slices, proto));
    gauges_.push_back(std::move(gauges));
    detail::MutexLock lock(publish_mu_);
    scratch_.push_back(proto);
  }

  /// Runs `f(stats)` on the slice of `now` of every window.
  template <typename F>
  void Update(std::int64_t now, F&& f) noexcept {
    for (auto& ring : rings_) ring->Update(now, f);
  }

  /// Sums every window at `now` and sets its gauges to `values(sum)`, a
  /// `std::vector<double>` in gauge order.
  template <typename F>
  void Publish(std::int64_t now, F&& values) {
    detail::MutexLock lock(publish_mu_);
    for (std::size_t w = 0; w < rings_.size(); ++w) {
      rings_[w]->Aggregate(now, &scratch_[w]);
      const std::vector<double> v = values(scratch_[w]);
      for (std::size_t g = 0; g < v.size(); ++g)
        SetQuality(gauges_[w][g], v[g]);
    }
  }

 private:
  // Fixed after set-up.
  std::vector<std::unique_ptr<WindowRing<Stats>>> rings_;
  std::vector<std::vector<Gauge*>> gauges_;

  detail::Mutex publish_mu_;
  std::vector<Stats> scratch_ MLMON_GUARDED_BY(publish_mu_);  // per window
};

/// One task's metrics. The tracker holds the one its spec asks for
/// (`MakeTaskQuality`) and calls the `Apply` of that class.
///
/// Each task's `Apply(now, raw, ...)` adds an outcome to its windows and, if
/// `raw`, to its raw series. The tracker of a segmented model applies an
/// outcome of segment s to the whole model's task without `raw` (its windows
/// are the whole model's quality, exported with `segment=""`) and to s's
/// task with it, so the raw series of `segment=""` and of the segments add
/// up to the whole, each outcome counted once.
class TaskQuality {
 public:
  virtual ~TaskQuality() = default;
  /// Recomputes the windowed quality gauges at `now` (off the hot path).
  virtual void Publish(std::int64_t now) = 0;
};

/// Binary: `mlmon_confusion_total` per threshold with classes "0"/"1",
/// `mlmon_outcome_score{actual}`, the Brier and log-loss sums
/// (`mlmon_outcome_brier_total`, `mlmon_outcome_log_loss_total`), and per
/// threshold precision, recall, f1, accuracy, then auc, brier, log_loss, ece
/// and samples. A segment's task has no auc (its windows keep 16 score bins
/// per class, not `auc_bins`: a hundred segments at 1024 bins would hold
/// hundreds of MB; the fleet AUC per segment comes from
/// `mlmon_outcome_score`).
class BinaryTask final : public TaskQuality {
 public:
  explicit BinaryTask(const TaskSetup& setup);
  void Apply(std::int64_t now, bool raw, double score, bool actual) noexcept;
  void Publish(std::int64_t now) override;

 private:
  const std::vector<double> thresholds_;
  std::vector<std::array<Counter*, 4>> confusion_;  // [predicted * 2 + actual]
  Histogram* score_by_actual_[2] = {nullptr, nullptr};
  Counter* brier_ = nullptr;
  Counter* log_loss_ = nullptr;
  const bool with_auc_;
  QualityWindows<BinaryStats> windows_;
};

/// Regression: `mlmon_absolute_error`, `mlmon_squared_error_total`,
/// `mlmon_absolute_percentage_error_total`, and mae, rmse, mape and samples.
class RegressionTask final : public TaskQuality {
 public:
  explicit RegressionTask(const TaskSetup& setup);
  void Apply(std::int64_t now, bool raw, double predicted,
             double actual) noexcept;
  void Publish(std::int64_t now) override;

 private:
  Histogram* abs_error_ = nullptr;
  Counter* sq_error_ = nullptr;
  Counter* ape_ = nullptr;
  QualityWindows<RegressionStats> windows_;
};

/// Multiclass: `mlmon_confusion_total` by class name with `threshold=""`,
/// and accuracy and macro precision, recall, f1, and samples.
class MulticlassTask final : public TaskQuality {
 public:
  explicit MulticlassTask(const TaskSetup& setup);
  /// The index of class `name` in `OutcomeSpec::classes`, or -1.
  std::int64_t ClassOf(std::string_view name) const noexcept {
    return classes_.Find(name);
  }
  /// REQUIRES: both are class indexes.
  void Apply(std::int64_t now, bool raw, std::size_t predicted,
             std::size_t actual) noexcept;
  void Publish(std::int64_t now) override;

 private:
  const std::size_t num_classes_;
  const NameTable classes_;
  std::vector<Counter*> confusion_;  // [predicted * classes + actual]
  QualityWindows<MulticlassStats> windows_;
};

/// Ranking: `mlmon_outcome_rank`, the reciprocal-rank sum
/// (`mlmon_outcome_reciprocal_rank_total`), and hit_rate per k, ndcg per k,
/// mrr and samples.
class RankingTask final : public TaskQuality {
 public:
  explicit RankingTask(const TaskSetup& setup);
  /// `rank` is the 1-based rank of the chosen item, 0 when it was not in the
  /// kept list (observed as max(k) + 1).
  void Apply(std::int64_t now, bool raw, std::size_t rank) noexcept;
  void Publish(std::int64_t now) override;

 private:
  const std::size_t max_k_;
  Histogram* rank_ = nullptr;
  Counter* reciprocal_rank_ = nullptr;
  QualityWindows<RankingStats> windows_;
};

/// The task object of `setup.spec.task`.
std::unique_ptr<TaskQuality> MakeTaskQuality(const TaskSetup& setup);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_TASK_QUALITY_H_
