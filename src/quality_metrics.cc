#include "mlmon/quality_metrics.h"

#include <algorithm>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <limits>
#include <utility>

namespace mlmon {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// a / b, 0 when b is 0 (scikit-learn's zero_division=0).
double Ratio(std::uint64_t a, std::uint64_t b) noexcept {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}
// scikit-learn's F-score with beta = 1 and zero_division = 0.
double F1(double precision, double recall) noexcept {
  const double denom = precision + recall;
  return denom == 0 ? 0.0 : 2 * precision * recall / denom;
}

}  // namespace

std::size_t AucBin(double score, std::size_t bins) noexcept {
  if (!(score > 0.0)) return 0;
  if (!(score < 1.0)) return bins - 1;
  const double z = std::log(score) - std::log1p(-score);
  const double x =
      (z + kAucLogitRange) / (2 * kAucLogitRange) * static_cast<double>(bins);
  if (!(x > 0.0)) return 0;
  if (x >= static_cast<double>(bins)) return bins - 1;
  return static_cast<std::size_t>(x);
}

double AucFromBins(const std::uint64_t* positive, const std::uint64_t* negative,
                   std::size_t bins) noexcept {
  double pairs_ordered = 0;  // positive above negative; ties (same bin) half
  double neg_below = 0, pos_total = 0;
  for (std::size_t b = 0; b < bins; ++b) {
    const auto p = static_cast<double>(positive[b]);
    const auto n = static_cast<double>(negative[b]);
    pairs_ordered += p * (neg_below + 0.5 * n);
    neg_below += n;
    pos_total += p;
  }
  if (pos_total == 0 || neg_below == 0) return kNaN;
  return pairs_ordered / (pos_total * neg_below);
}

std::size_t EceBin(double score) noexcept {
  // The largest b with b / kEceBins <= score, on the same correctly rounded
  // edges a reference computes (np.arange(16) / 15); score * kEceBins can be
  // an ulp off them, so the estimate is corrected against the edges.
  constexpr auto kBins = static_cast<double>(kEceBins);
  if (!(score > 0.0)) return 0;
  if (score >= 1.0) return kEceBins - 1;
  std::size_t b = static_cast<std::size_t>(score * kBins);
  if (b >= kEceBins) b = kEceBins - 1;
  while (b > 0 && score < static_cast<double>(b) / kBins) --b;
  while (b + 1 < kEceBins && static_cast<double>(b + 1) / kBins <= score) ++b;
  return b;
}

BinaryStats::BinaryStats(std::vector<double> thresholds_in,
                         std::size_t auc_bins)
    : thresholds(std::move(thresholds_in)),
      confusion(thresholds.size()),
      positive_bins(auc_bins, 0),
      negative_bins(auc_bins, 0) {}

void BinaryStats::Add(double score, bool actual) noexcept {
  for (std::size_t i = 0; i < thresholds.size(); ++i) {
    Confusion& c = confusion[i];
    if (score >= thresholds[i]) {
      ++(actual ? c.tp : c.fp);
    } else {
      ++(actual ? c.fn : c.tn);
    }
  }
  if (!positive_bins.empty()) {
    ++(actual ? positive_bins
              : negative_bins)[AucBin(score, positive_bins.size())];
  }
  const double d = (actual ? 1.0 : 0.0) - score;
  brier_sum += d * d;
  const double p = std::min(std::max(score, kLogLossEps), 1.0 - kLogLossEps);
  log_loss_sum -= actual ? std::log(p) : std::log(1.0 - p);
  const std::size_t e = EceBin(score);
  ece_positive[e] += actual ? 1 : 0;
  ece_score_sum[e] += score;
  ++count;
}

void BinaryStats::Merge(const BinaryStats& o) noexcept {
  assert(o.confusion.size() == confusion.size() &&
         o.positive_bins.size() == positive_bins.size());
  for (std::size_t i = 0; i < confusion.size(); ++i) {
    confusion[i].tp += o.confusion[i].tp;
    confusion[i].fp += o.confusion[i].fp;
    confusion[i].fn += o.confusion[i].fn;
    confusion[i].tn += o.confusion[i].tn;
  }
  for (std::size_t b = 0; b < positive_bins.size(); ++b) {
    positive_bins[b] += o.positive_bins[b];
    negative_bins[b] += o.negative_bins[b];
  }
  brier_sum += o.brier_sum;
  log_loss_sum += o.log_loss_sum;
  for (std::size_t b = 0; b < kEceBins; ++b) {
    ece_positive[b] += o.ece_positive[b];
    ece_score_sum[b] += o.ece_score_sum[b];
  }
  count += o.count;
}

void BinaryStats::Reset() noexcept {
  std::fill(confusion.begin(), confusion.end(), Confusion{});
  std::fill(positive_bins.begin(), positive_bins.end(), 0);
  std::fill(negative_bins.begin(), negative_bins.end(), 0);
  brier_sum = log_loss_sum = 0;
  ece_positive.fill(0);
  ece_score_sum.fill(0);
  count = 0;
}

BinaryQuality QualityFromStats(const BinaryStats& s) {
  BinaryQuality q;
  q.count = s.count;
  const bool any = s.count > 0;
  for (std::size_t i = 0; i < s.thresholds.size(); ++i) {
    const BinaryStats::Confusion& c = s.confusion[i];
    BinaryQuality::AtThreshold t{s.thresholds[i], kNaN, kNaN, kNaN, kNaN};
    if (any) {
      t.precision = Ratio(c.tp, c.tp + c.fp);
      t.recall = Ratio(c.tp, c.tp + c.fn);
      t.f1 = F1(t.precision, t.recall);
      t.accuracy = Ratio(c.tp + c.tn, s.count);
    }
    q.at_threshold.push_back(t);
  }
  const auto n = static_cast<double>(s.count);
  q.brier = any ? s.brier_sum / n : kNaN;
  q.log_loss = any ? s.log_loss_sum / n : kNaN;
  // (n_b / N) |positives_b / n_b - score_sum_b / n_b|
  //   = |positives_b - score_sum_b| / N.
  double ece = 0;
  for (std::size_t b = 0; b < kEceBins; ++b) {
    ece +=
        std::fabs(static_cast<double>(s.ece_positive[b]) - s.ece_score_sum[b]);
  }
  q.ece = any ? ece / n : kNaN;
  q.auc = AucFromBins(s.positive_bins.data(), s.negative_bins.data(),
                      s.positive_bins.size());
  return q;
}

void RegressionStats::Add(double predicted, double actual) noexcept {
  const double e = std::fabs(actual - predicted);
  abs_sum += e;
  sq_sum += e * e;
  ape_sum += e / std::max(std::fabs(actual), DBL_EPSILON);
  ++count;
}

void RegressionStats::Merge(const RegressionStats& o) noexcept {
  abs_sum += o.abs_sum;
  sq_sum += o.sq_sum;
  ape_sum += o.ape_sum;
  count += o.count;
}

RegressionQuality QualityFromStats(const RegressionStats& s) {
  if (s.count == 0) return RegressionQuality{kNaN, kNaN, kNaN, 0};
  const auto n = static_cast<double>(s.count);
  return RegressionQuality{s.abs_sum / n, std::sqrt(s.sq_sum / n),
                           s.ape_sum / n, s.count};
}

MulticlassStats::MulticlassStats(std::size_t num_classes)
    : tp(num_classes, 0), fp(num_classes, 0), fn(num_classes, 0) {}

void MulticlassStats::Add(std::size_t predicted, std::size_t actual) noexcept {
  assert(predicted < tp.size() && actual < tp.size());
  if (predicted == actual) {
    ++tp[actual];
    ++correct;
  } else {
    ++fp[predicted];
    ++fn[actual];
  }
  ++count;
}

void MulticlassStats::Merge(const MulticlassStats& o) noexcept {
  for (std::size_t c = 0; c < tp.size(); ++c) {
    tp[c] += o.tp[c];
    fp[c] += o.fp[c];
    fn[c] += o.fn[c];
  }
  correct += o.correct;
  count += o.count;
}

void MulticlassStats::Reset() noexcept {
  std::fill(tp.begin(), tp.end(), 0);
  std::fill(fp.begin(), fp.end(), 0);
  std::fill(fn.begin(), fn.end(), 0);
  correct = count = 0;
}

MulticlassQuality QualityFromStats(const MulticlassStats& s) {
  if (s.count == 0) return MulticlassQuality{kNaN, kNaN, kNaN, kNaN, 0};
  double p_sum = 0, r_sum = 0, f_sum = 0;
  std::size_t present = 0;
  for (std::size_t c = 0; c < s.tp.size(); ++c) {
    if (s.tp[c] + s.fp[c] + s.fn[c] == 0) continue;  // never seen
    const double p = Ratio(s.tp[c], s.tp[c] + s.fp[c]);
    const double r = Ratio(s.tp[c], s.tp[c] + s.fn[c]);
    p_sum += p;
    r_sum += r;
    f_sum += F1(p, r);
    ++present;
  }
  const auto m = static_cast<double>(present);
  return MulticlassQuality{Ratio(s.correct, s.count), p_sum / m, r_sum / m,
                           f_sum / m, s.count};
}

RankingStats::RankingStats(std::vector<std::size_t> k_in)
    : k(std::move(k_in)), hits(k.size(), 0), dcg_sum(k.size(), 0.0) {}

void RankingStats::Add(std::size_t rank) noexcept {
  std::size_t max_k = 0;
  const double gain =
      rank >= 1 ? 1.0 / std::log2(static_cast<double>(rank) + 1.0) : 0.0;
  for (std::size_t i = 0; i < k.size(); ++i) {
    if (rank >= 1 && rank <= k[i]) {
      ++hits[i];
      dcg_sum[i] += gain;
    }
    max_k = std::max(max_k, k[i]);
  }
  if (rank >= 1 && rank <= max_k) {
    reciprocal_rank_sum += 1.0 / static_cast<double>(rank);
  }
  ++count;
}

void RankingStats::Merge(const RankingStats& o) noexcept {
  for (std::size_t i = 0; i < hits.size(); ++i) {
    hits[i] += o.hits[i];
    dcg_sum[i] += o.dcg_sum[i];
  }
  reciprocal_rank_sum += o.reciprocal_rank_sum;
  count += o.count;
}

void RankingStats::Reset() noexcept {
  std::fill(hits.begin(), hits.end(), 0);
  std::fill(dcg_sum.begin(), dcg_sum.end(), 0.0);
  reciprocal_rank_sum = 0;
  count = 0;
}

RankingQuality QualityFromStats(const RankingStats& s) {
  RankingQuality q;
  q.count = s.count;
  for (std::uint64_t h : s.hits) {
    q.hit_rate.push_back(s.count == 0 ? kNaN : Ratio(h, s.count));
  }
  for (double d : s.dcg_sum) {
    q.ndcg.push_back(s.count == 0 ? kNaN : d / static_cast<double>(s.count));
  }
  q.mrr = s.count == 0 ? kNaN
                       : s.reciprocal_rank_sum / static_cast<double>(s.count);
  return q;
}

}  // namespace mlmon
