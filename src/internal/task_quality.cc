#include "task_quality.h"

#include <fmt/format.h>

#include <algorithm>
#include <cfloat>
#include <limits>
#include <utility>

#include "metric_catalogue.h"
#include "mlmon/duration.h"

namespace mlmon {
namespace internal {

namespace {
constexpr std::int64_t kNanosPerSecond = 1000000000;
// Score bins per class of a segment's binary windows (the least
// `OutcomeSpec::auc_bins` allows): its AUC is not exported.
constexpr std::size_t kSegmentAucBins = 16;
}  // namespace

std::vector<WindowDef> WindowDefs(const OutcomeSpec& spec) {
  std::vector<WindowDef> defs;
  for (const auto& w : spec.windows) {
    defs.push_back({FormatDuration(w),
                    static_cast<std::int64_t>(w.count()) * kNanosPerSecond,
                    spec.slices_per_window});
  }
  if (spec.all_time_window) {
    defs.push_back({"all", std::numeric_limits<std::int64_t>::max() / 2, 1});
  }
  return defs;
}

std::vector<std::string> TaskSetup::Values(
    std::vector<std::string> extra) const {
  std::vector<std::string> v = {model, version, ""};
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

OwnedFamily<Counter> TaskSetup::Series(const MetricOf<Counter>& m) const {
  return AddFamily(owner, m).StagedIn(stage);
}

OwnedFamily<Histogram> TaskSetup::Series(const MetricOf<Histogram>& m,
                                         std::vector<double> bounds) const {
  return AddFamily(owner, m, std::move(bounds)).StagedIn(stage);
}

Gauge* TaskSetup::Quality(const std::string& metric, const std::string& window,
                          const std::string& threshold,
                          const std::string& k) const {
  return &quality.StagedIn(stage).Add(Values({metric, window, threshold, k}));
}

// ------------------------------------------------------------------- binary

BinaryTask::BinaryTask(const TaskSetup& setup)
    : thresholds_(setup.spec.thresholds), with_auc_(setup.stage == nullptr) {
  std::vector<std::string> threshold_labels;
  for (double t : thresholds_) {
    threshold_labels.push_back(fmt::format("{}", t));
    std::array<Counter*, 4> cells{};
    for (int p = 0; p < 2; ++p) {
      for (int a = 0; a < 2; ++a) {
        cells[p * 2 + a] = &setup.Confusion().Add(setup.Values(
            {threshold_labels.back(), std::to_string(p), std::to_string(a)}));
      }
    }
    confusion_.push_back(cells);
  }
  auto scores = setup.Series(metrics::kOutcomeScore, setup.spec.score_buckets);
  score_by_actual_[0] = &scores.Add(setup.Values({"0"}));
  score_by_actual_[1] = &scores.Add(setup.Values({"1"}));
  brier_ = &setup.Series(metrics::kOutcomeBrierTotal).Add(setup.Values({}));
  log_loss_ =
      &setup.Series(metrics::kOutcomeLogLossTotal).Add(setup.Values({}));

  const BinaryStats proto(thresholds_,
                          with_auc_ ? setup.spec.auc_bins : kSegmentAucBins);
  for (const WindowDef& def : WindowDefs(setup.spec)) {
    std::vector<Gauge*> gauges;
    for (const std::string& t : threshold_labels) {
      for (const char* m : {"precision", "recall", "f1", "accuracy"}) {
        gauges.push_back(setup.Quality(m, def.label, t));
      }
    }
    for (const char* m : {"auc", "brier", "log_loss", "ece", "samples"}) {
      if (with_auc_ || m != std::string_view("auc")) {
        gauges.push_back(setup.Quality(m, def.label));
      }
    }
    windows_.Add(def, proto, std::move(gauges));
  }
}

void BinaryTask::Apply(std::int64_t now, bool raw, double score,
                       bool actual) noexcept {
  const int a = actual ? 1 : 0;
  windows_.Update(now, [&](BinaryStats& s) { s.Add(score, actual); });
  if (!raw) return;
  for (std::size_t i = 0; i < confusion_.size(); ++i) {
    const int p = score >= thresholds_[i] ? 1 : 0;
    confusion_[i][p * 2 + a]->Increment();
  }
  score_by_actual_[a]->Observe(score);
  const double miss = (actual ? 1.0 : 0.0) - score;
  brier_->Increment(miss * miss);
  // The score clipped as scikit-learn's log_loss(eps=1e-15) clips it.
  const double p = std::min(std::max(score, kLogLossEps), 1.0 - kLogLossEps);
  log_loss_->Increment(actual ? -std::log(p) : -std::log(1.0 - p));
}

void BinaryTask::Publish(std::int64_t now) {
  windows_.Publish(now, [this](const BinaryStats& s) {
    const BinaryQuality q = QualityFromStats(s);
    std::vector<double> v;
    for (const auto& t : q.at_threshold) {
      v.insert(v.end(), {t.precision, t.recall, t.f1, t.accuracy});
    }
    if (with_auc_) v.push_back(q.auc);
    v.insert(v.end(),
             {q.brier, q.log_loss, q.ece, static_cast<double>(q.count)});
    return v;
  });
}

// --------------------------------------------------------------- regression

RegressionTask::RegressionTask(const TaskSetup& setup) {
  abs_error_ = &setup.Series(metrics::kAbsoluteError, setup.spec.error_buckets)
                    .Add(setup.Values({}));
  sq_error_ = &setup.Series(metrics::kSquaredErrorTotal).Add(setup.Values({}));
  ape_ = &setup.Series(metrics::kAbsolutePercentageErrorTotal)
              .Add(setup.Values({}));
  for (const WindowDef& def : WindowDefs(setup.spec)) {
    std::vector<Gauge*> gauges;
    for (const char* m : {"mae", "rmse", "mape", "samples"}) {
      gauges.push_back(setup.Quality(m, def.label));
    }
    windows_.Add(def, RegressionStats(), std::move(gauges));
  }
}

void RegressionTask::Apply(std::int64_t now, bool raw, double predicted,
                           double actual) noexcept {
  windows_.Update(now, [&](RegressionStats& s) { s.Add(predicted, actual); });
  if (!raw) return;
  const double e = std::fabs(actual - predicted);
  abs_error_->Observe(e);
  sq_error_->Increment(e * e);
  // scikit-learn's mean_absolute_percentage_error divides by
  // max(|actual|, DBL_EPSILON).
  ape_->Increment(e / std::max(std::fabs(actual), DBL_EPSILON));
}

void RegressionTask::Publish(std::int64_t now) {
  windows_.Publish(now, [](const RegressionStats& s) {
    const RegressionQuality q = QualityFromStats(s);
    return std::vector<double>{q.mae, q.rmse, q.mape,
                               static_cast<double>(q.count)};
  });
}

// --------------------------------------------------------------- multiclass

MulticlassTask::MulticlassTask(const TaskSetup& setup)
    : num_classes_(setup.spec.classes.size()), classes_(setup.spec.classes) {
  const std::vector<std::string>& names = setup.spec.classes;
  confusion_.resize(num_classes_ * num_classes_);
  for (std::size_t p = 0; p < num_classes_; ++p) {
    for (std::size_t a = 0; a < num_classes_; ++a) {
      confusion_[p * num_classes_ + a] =
          &setup.Confusion().Add(setup.Values({"", names[p], names[a]}));
    }
  }
  const MulticlassStats proto(num_classes_);
  for (const WindowDef& def : WindowDefs(setup.spec)) {
    std::vector<Gauge*> gauges;
    for (const char* m : {"accuracy", "precision", "recall", "f1", "samples"}) {
      gauges.push_back(setup.Quality(m, def.label));
    }
    windows_.Add(def, proto, std::move(gauges));
  }
}

void MulticlassTask::Apply(std::int64_t now, bool raw, std::size_t predicted,
                           std::size_t actual) noexcept {
  windows_.Update(now, [&](MulticlassStats& s) { s.Add(predicted, actual); });
  if (raw) confusion_[predicted * num_classes_ + actual]->Increment();
}

void MulticlassTask::Publish(std::int64_t now) {
  windows_.Publish(now, [](const MulticlassStats& s) {
    const MulticlassQuality q = QualityFromStats(s);
    return std::vector<double>{q.accuracy, q.macro_precision, q.macro_recall,
                               q.macro_f1, static_cast<double>(q.count)};
  });
}

// ------------------------------------------------------------------ ranking

RankingTask::RankingTask(const TaskSetup& setup)
    : max_k_(*std::max_element(setup.spec.k.begin(), setup.spec.k.end())) {
  std::vector<double> bounds = setup.spec.rank_buckets;
  if (bounds.empty()) {
    for (std::size_t r = 1; r <= max_k_; ++r) {
      bounds.push_back(static_cast<double>(r));
    }
  }
  rank_ = &setup.Series(metrics::kOutcomeRank, bounds).Add(setup.Values({}));
  reciprocal_rank_ =
      &setup.Series(metrics::kOutcomeReciprocalRankTotal).Add(setup.Values({}));
  const RankingStats proto(setup.spec.k);
  for (const WindowDef& def : WindowDefs(setup.spec)) {
    std::vector<Gauge*> gauges;
    for (const char* m : {"hit_rate", "ndcg"}) {
      for (std::size_t k : setup.spec.k) {
        gauges.push_back(setup.Quality(m, def.label, "", std::to_string(k)));
      }
    }
    gauges.push_back(setup.Quality("mrr", def.label));
    gauges.push_back(setup.Quality("samples", def.label));
    windows_.Add(def, proto, std::move(gauges));
  }
}

void RankingTask::Apply(std::int64_t now, bool raw, std::size_t rank) noexcept {
  windows_.Update(now, [&](RankingStats& s) { s.Add(rank); });
  if (!raw) return;
  rank_->Observe(static_cast<double>(rank == 0 ? max_k_ + 1 : rank));
  // MRR truncated at max(k), as RankingStats counts it.
  if (rank >= 1 && rank <= max_k_) {
    reciprocal_rank_->Increment(1.0 / static_cast<double>(rank));
  }
}

void RankingTask::Publish(std::int64_t now) {
  windows_.Publish(now, [](const RankingStats& s) {
    const RankingQuality q = QualityFromStats(s);
    std::vector<double> v = q.hit_rate;
    v.insert(v.end(), q.ndcg.begin(), q.ndcg.end());
    v.push_back(q.mrr);
    v.push_back(static_cast<double>(q.count));
    return v;
  });
}

// -------------------------------------------------------------------------

std::unique_ptr<TaskQuality> MakeTaskQuality(const TaskSetup& setup) {
  switch (setup.spec.task) {
    case OutcomeSpec::Task::kBinary:
      return std::make_unique<BinaryTask>(setup);
    case OutcomeSpec::Task::kRegression:
      return std::make_unique<RegressionTask>(setup);
    case OutcomeSpec::Task::kMulticlass:
      return std::make_unique<MulticlassTask>(setup);
    case OutcomeSpec::Task::kRanking:
      return std::make_unique<RankingTask>(setup);
  }
  return nullptr;  // unreachable: ValidateOutcomeSpec refused the task
}

}  // namespace internal
}  // namespace mlmon
