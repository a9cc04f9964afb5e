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
  std::vector<std::string> v = {model, version};
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

Gauge* TaskSetup::Quality(const std::string& metric, const std::string& window,
                          const std::string& threshold,
                          const std::string& k) const {
  return &quality.Add(Values({metric, window, threshold, k}));
}

// ------------------------------------------------------------------- binary

BinaryTask::BinaryTask(const TaskSetup& setup)
    : thresholds_(setup.spec.thresholds) {
  std::vector<std::string> threshold_labels;
  for (double t : thresholds_) {
    threshold_labels.push_back(fmt::format("{}", t));
    std::array<Counter*, 4> cells{};
    for (int p = 0; p < 2; ++p) {
      for (int a = 0; a < 2; ++a) {
        cells[p * 2 + a] = &setup.confusion.Add(setup.Values(
            {threshold_labels.back(), std::to_string(p), std::to_string(a)}));
      }
    }
    confusion_.push_back(cells);
  }
  auto scores =
      AddFamily(setup.owner, metrics::kOutcomeScore, setup.spec.score_buckets);
  score_by_actual_[0] = &scores.Add(setup.Values({"0"}));
  score_by_actual_[1] = &scores.Add(setup.Values({"1"}));
  brier_ = &AddFamily(setup.owner, metrics::kOutcomeBrierTotal)
                .Add(setup.Values({}));
  log_loss_ = &AddFamily(setup.owner, metrics::kOutcomeLogLossTotal)
                   .Add(setup.Values({}));

  const BinaryStats proto(thresholds_, setup.spec.auc_bins);
  for (const WindowDef& def : WindowDefs(setup.spec)) {
    std::vector<Gauge*> gauges;
    for (const std::string& t : threshold_labels) {
      for (const char* m : {"precision", "recall", "f1", "accuracy"}) {
        gauges.push_back(setup.Quality(m, def.label, t));
      }
    }
    for (const char* m : {"auc", "brier", "log_loss", "ece", "samples"}) {
      gauges.push_back(setup.Quality(m, def.label));
    }
    windows_.Add(def, proto, std::move(gauges));
  }
}

void BinaryTask::Apply(std::int64_t now, double score, bool actual) noexcept {
  const int a = actual ? 1 : 0;
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
  windows_.Update(now, [&](BinaryStats& s) { s.Add(score, actual); });
}

void BinaryTask::Publish(std::int64_t now) {
  windows_.Publish(now, [](const BinaryStats& s) {
    const BinaryQuality q = QualityFromStats(s);
    std::vector<double> v;
    for (const auto& t : q.at_threshold) {
      v.insert(v.end(), {t.precision, t.recall, t.f1, t.accuracy});
    }
    v.insert(v.end(),
             {q.auc, q.brier, q.log_loss, q.ece, static_cast<double>(q.count)});
    return v;
  });
}

// --------------------------------------------------------------- regression

RegressionTask::RegressionTask(const TaskSetup& setup) {
  abs_error_ =
      &AddFamily(setup.owner, metrics::kAbsoluteError, setup.spec.error_buckets)
           .Add(setup.Values({}));
  sq_error_ = &AddFamily(setup.owner, metrics::kSquaredErrorTotal)
                   .Add(setup.Values({}));
  ape_ = &AddFamily(setup.owner, metrics::kAbsolutePercentageErrorTotal)
              .Add(setup.Values({}));
  for (const WindowDef& def : WindowDefs(setup.spec)) {
    std::vector<Gauge*> gauges;
    for (const char* m : {"mae", "rmse", "mape", "samples"}) {
      gauges.push_back(setup.Quality(m, def.label));
    }
    windows_.Add(def, RegressionStats(), std::move(gauges));
  }
}

void RegressionTask::Apply(std::int64_t now, double predicted,
                           double actual) noexcept {
  const double e = std::fabs(actual - predicted);
  abs_error_->Observe(e);
  sq_error_->Increment(e * e);
  // scikit-learn's mean_absolute_percentage_error divides by
  // max(|actual|, DBL_EPSILON).
  ape_->Increment(e / std::max(std::fabs(actual), DBL_EPSILON));
  windows_.Update(now, [&](RegressionStats& s) { s.Add(predicted, actual); });
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
          &setup.confusion.Add(setup.Values({"", names[p], names[a]}));
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

void MulticlassTask::Apply(std::int64_t now, std::size_t predicted,
                           std::size_t actual) noexcept {
  confusion_[predicted * num_classes_ + actual]->Increment();
  windows_.Update(now, [&](MulticlassStats& s) { s.Add(predicted, actual); });
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
  rank_ = &AddFamily(setup.owner, metrics::kOutcomeRank, bounds)
               .Add(setup.Values({}));
  reciprocal_rank_ =
      &AddFamily(setup.owner, metrics::kOutcomeReciprocalRankTotal)
           .Add(setup.Values({}));
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

void RankingTask::Apply(std::int64_t now, std::size_t rank) noexcept {
  rank_->Observe(static_cast<double>(rank == 0 ? max_k_ + 1 : rank));
  // MRR truncated at max(k), as RankingStats counts it.
  if (rank >= 1 && rank <= max_k_) {
    reciprocal_rank_->Increment(1.0 / static_cast<double>(rank));
  }
  windows_.Update(now, [&](RankingStats& s) { s.Add(rank); });
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
