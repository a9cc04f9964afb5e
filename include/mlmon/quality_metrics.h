#ifndef MLMON_QUALITY_METRICS_H_
#define MLMON_QUALITY_METRICS_H_

/// \file
/// Model quality from running sums: per task, a `*Stats` struct that adds
/// one outcome at a time (allocation-free, mergeable, resettable, so window
/// slices can hold one each) and `QualityFromStats`, which turns the sums
/// into the values scikit-learn reports for the same outcomes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mlmon {

/// The `AucBin` of a score: bins uniform in logit(score) over
/// [-kAucLogitRange, kAucLogitRange] (scores 6e-6 .. 1-6e-6), so scores near
/// 0 or 1 keep their resolution. Scores outside land in the end bins.
inline constexpr double kAucLogitRange = 12.0;
std::size_t AucBin(double score, std::size_t bins) noexcept;
/// AUC (Mann–Whitney) from per-bin counts of positives and negatives, pairs
/// in the same bin counted half. NaN without both classes.
double AucFromBins(const std::uint64_t* positive, const std::uint64_t* negative,
                   std::size_t bins) noexcept;

/// Expected calibration error bins: `kEceBins` equal-width bins of the score
/// on [0, 1] with edges `b / kEceBins`; bin b holds the scores in
/// [b / kEceBins, (b + 1) / kEceBins), the last one also holds 1.0.
inline constexpr std::size_t kEceBins = 15;
/// The ECE bin of `score`. REQUIRES: score in [0, 1].
std::size_t EceBin(double score) noexcept;

/// Running sums of binary outcomes, from which every binary quality metric is
/// exact except AUC (binned; within ~0.002 of exact with 1024 bins).
///
/// Thread safety: thread-compatible.
struct BinaryStats {
  struct Confusion {
    std::uint64_t tp = 0, fp = 0, fn = 0, tn = 0;
  };
  BinaryStats() = default;
  BinaryStats(std::vector<double> thresholds, std::size_t auc_bins);

  /// Adds one (score, actual) pair. REQUIRES: score in [0, 1].
  void Add(double score, bool actual) noexcept;
  /// Adds `other`. REQUIRES: same thresholds and bins.
  void Merge(const BinaryStats& other) noexcept;
  /// Back to zero, keeping thresholds and bins (no allocation).
  void Reset() noexcept;

  std::vector<double> thresholds;
  std::vector<Confusion> confusion;  ///< one per threshold
  std::vector<std::uint64_t> positive_bins, negative_bins;  ///< by AucBin
  double brier_sum = 0;     ///< sum of (actual - score)^2
  double log_loss_sum = 0;  ///< sum of -log(p of actual), p clipped
  /// Per `EceBin`: positive outcomes and the sum of the outcomes' scores
  /// (the bin's count cancels out of its ECE term).
  std::array<std::uint64_t, kEceBins> ece_positive{};
  std::array<double, kEceBins> ece_score_sum{};
  std::uint64_t count = 0;
};

/// Probabilities are clipped to [kLogLossEps, 1 - kLogLossEps] for log loss.
inline constexpr double kLogLossEps = 1e-15;

/// Binary quality. Precision, recall and F1 follow scikit-learn with
/// `zero_division=0`. ECE (expected calibration error) is
/// sum_b (n_b / N) |mean outcome in b - mean score in b| over the
/// `EceBin`s, empty bins contributing 0. With no samples every value is NaN;
/// AUC is NaN unless both classes are present.
struct BinaryQuality {
  struct AtThreshold {
    double threshold, precision, recall, f1, accuracy;
  };
  std::vector<AtThreshold> at_threshold;
  double auc, brier, log_loss, ece;
  std::uint64_t count;
};
BinaryQuality QualityFromStats(const BinaryStats& stats);

/// Running sums of regression outcomes.
///
/// Thread safety: thread-compatible.
struct RegressionStats {
  void Add(double predicted, double actual) noexcept;
  void Merge(const RegressionStats& other) noexcept;
  void Reset() noexcept { *this = RegressionStats(); }
  double abs_sum = 0;  ///< sum |actual - predicted|
  double sq_sum = 0;   ///< sum (actual - predicted)^2
  double ape_sum =
      0;  ///< sum |actual - predicted| / max(|actual|, DBL_EPSILON)
  std::uint64_t count = 0;
};

/// Regression quality as scikit-learn computes it (`mean_absolute_error`,
/// sqrt of `mean_squared_error`, `mean_absolute_percentage_error`, which is
/// a fraction, not a percentage). NaN with no samples.
struct RegressionQuality {
  double mae, rmse, mape;
  std::uint64_t count;
};
RegressionQuality QualityFromStats(const RegressionStats& stats);

/// Running counts of multiclass outcomes (classes by index).
///
/// Thread safety: thread-compatible.
struct MulticlassStats {
  MulticlassStats() = default;
  explicit MulticlassStats(std::size_t num_classes);
  /// REQUIRES: both indexes < number of classes.
  void Add(std::size_t predicted, std::size_t actual) noexcept;
  void Merge(const MulticlassStats& other) noexcept;
  void Reset() noexcept;
  std::vector<std::uint64_t> tp, fp, fn;  ///< per class
  std::uint64_t correct = 0, count = 0;
};

/// Multiclass quality: accuracy, and macro precision/recall/F1 averaged (as
/// scikit-learn does with `labels=None`) over the classes that occur as
/// actual or predicted; per class `zero_division=0`. NaN with no samples.
struct MulticlassQuality {
  double accuracy, macro_precision, macro_recall, macro_f1;
  std::uint64_t count;
};
MulticlassQuality QualityFromStats(const MulticlassStats& stats);

/// Running counts of ranking outcomes.
///
/// Thread safety: thread-compatible.
struct RankingStats {
  RankingStats() = default;
  /// REQUIRES: `k` non-empty.
  explicit RankingStats(std::vector<std::size_t> k);
  /// `rank` is the 1-based rank of the true item; 0 or > max(k) = not in the
  /// kept list.
  void Add(std::size_t rank) noexcept;
  void Merge(const RankingStats& other) noexcept;
  void Reset() noexcept;
  std::vector<std::size_t> k;
  std::vector<std::uint64_t> hits;  ///< per k: rank <= k
  /// Per k: sum of 1 / log2(rank + 1) over the outcomes with rank <= k.
  std::vector<double> dcg_sum;
  double reciprocal_rank_sum = 0;  ///< 1/rank, 0 when not in the list
  std::uint64_t count = 0;
};

/// Ranking quality: hit rate per k, NDCG per k and MRR truncated at max(k).
/// NaN with no samples. With one relevant item per query its ideal DCG is 1,
/// so NDCG@k is the mean over outcomes of 1 / log2(rank + 1) if rank <= k,
/// else 0 (scikit-learn's `ndcg_score` on the one-hot relevances).
struct RankingQuality {
  std::vector<double> hit_rate;  ///< per k
  std::vector<double> ndcg;      ///< per k
  double mrr;
  std::uint64_t count;
};
RankingQuality QualityFromStats(const RankingStats& stats);

}  // namespace mlmon

#endif  // MLMON_QUALITY_METRICS_H_
