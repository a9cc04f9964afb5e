#include "mlmon/quality_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "testing/data_gen.h"
#include "testing/reference_data.h"

namespace mlmon {
namespace {

using testutil::ExpectRel;
using testutil::LoadReference;

// Exact Mann-Whitney AUC with ties counted half (what roc_auc_score gives).
double ExactAuc(std::vector<std::pair<double, bool>> v) {
  std::sort(v.begin(), v.end());
  double pos = 0, neg = 0, ordered = 0, neg_below = 0;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    double p = 0, n = 0;
    for (; j < v.size() && v[j].first == v[i].first; ++j) {
      (v[j].second ? p : n) += 1;
    }
    ordered += p * (neg_below + 0.5 * n);
    neg_below += n;
    pos += p;
    neg += n;
    i = j;
  }
  return ordered / (pos * neg);
}

// --- scikit-learn reference values (tests/sklearn_reference.py) ----------

TEST(QualityMetricsTest, BinaryMatchesScikitLearn) {
  const auto ref = LoadReference("binary_reference.json");
  BinaryStats s(ref["thresholds"].get<std::vector<double>>(), 1024);
  for (std::size_t i = 0; i < ref["scores"].size(); ++i) {
    s.Add(ref["scores"][i].get<double>(), ref["outcomes"][i].get<int>() == 1);
  }
  const BinaryQuality q = QualityFromStats(s);
  ASSERT_EQ(q.at_threshold.size(), ref["at_threshold"].size());
  for (std::size_t i = 0; i < q.at_threshold.size(); ++i) {
    const auto& at = ref["at_threshold"][i];
    EXPECT_EQ(q.at_threshold[i].threshold, at["threshold"].get<double>());
    ExpectRel(q.at_threshold[i].precision, at["precision"], "precision");
    ExpectRel(q.at_threshold[i].recall, at["recall"], "recall");
    ExpectRel(q.at_threshold[i].f1, at["f1"], "f1");
    ExpectRel(q.at_threshold[i].accuracy, at["accuracy"], "accuracy");
    EXPECT_EQ(s.confusion[i].tp, at["confusion"]["tp"].get<std::uint64_t>());
    EXPECT_EQ(s.confusion[i].fp, at["confusion"]["fp"].get<std::uint64_t>());
    EXPECT_EQ(s.confusion[i].fn, at["confusion"]["fn"].get<std::uint64_t>());
    EXPECT_EQ(s.confusion[i].tn, at["confusion"]["tn"].get<std::uint64_t>());
  }
  EXPECT_NEAR(q.auc, ref["roc_auc"].get<double>(), 0.002);  // binned
  ExpectRel(q.brier, ref["brier"], "brier");
  ExpectRel(q.log_loss, ref["log_loss"], "log_loss");
  EXPECT_EQ(q.count, ref["scores"].size());
}

TEST(QualityMetricsTest, RegressionMatchesScikitLearn) {
  const auto ref = LoadReference("regression_reference.json");
  RegressionStats s;
  for (std::size_t i = 0; i < ref["predictions"].size(); ++i) {
    s.Add(ref["predictions"][i].get<double>(), ref["actuals"][i].get<double>());
  }
  const RegressionQuality q = QualityFromStats(s);
  ExpectRel(q.mae, ref["mae"], "mae");
  ExpectRel(q.rmse, ref["rmse"], "rmse");
  ExpectRel(q.mape, ref["mape"], "mape");
}

TEST(QualityMetricsTest, MulticlassMatchesScikitLearn) {
  const auto ref = LoadReference("multiclass_reference.json");
  const auto classes = ref["classes"].get<std::vector<std::string>>();
  const auto index = [&](const nlohmann::json& name) {
    return static_cast<std::size_t>(
        std::find(classes.begin(), classes.end(), name.get<std::string>()) -
        classes.begin());
  };
  MulticlassStats s(classes.size());
  for (std::size_t i = 0; i < ref["predicted"].size(); ++i) {
    s.Add(index(ref["predicted"][i]), index(ref["actual"][i]));
  }
  const MulticlassQuality q = QualityFromStats(s);
  ExpectRel(q.accuracy, ref["accuracy"], "accuracy");
  ExpectRel(q.macro_precision, ref["macro_precision"], "precision");
  ExpectRel(q.macro_recall, ref["macro_recall"], "recall");
  ExpectRel(q.macro_f1, ref["macro_f1"], "f1");
}

TEST(QualityMetricsTest, RankingMatchesTheReference) {
  const auto ref = LoadReference("ranking_reference.json");
  const auto k = ref["k"].get<std::vector<std::size_t>>();
  const std::size_t max_k = *std::max_element(k.begin(), k.end());
  RankingStats s(k);
  for (std::size_t i = 0; i < ref["rankings"].size(); ++i) {
    const auto& ranking = ref["rankings"][i];
    std::size_t rank = 0;
    for (std::size_t r = 0; r < ranking.size() && r < max_k && rank == 0; ++r) {
      if (ranking[r] == ref["chosen"][i]) rank = r + 1;
    }
    s.Add(rank);
  }
  const RankingQuality q = QualityFromStats(s);
  ASSERT_EQ(q.hit_rate.size(), k.size());
  for (std::size_t i = 0; i < k.size(); ++i) {
    ExpectRel(q.hit_rate[i], ref["hit_rate"][i], "hit_rate");
  }
  ExpectRel(q.mrr, ref["mrr"], "mrr");
}

static_assert(noexcept(EceBin(0.5)));
static_assert(noexcept(std::declval<BinaryStats&>().Add(0.5, true)));
static_assert(noexcept(std::declval<RankingStats&>().Add(1)));

TEST(QualityMetricsTest, EceMatchesNumpy) {
  const auto ref = LoadReference("binary_reference.json");
  BinaryStats s(ref["thresholds"].get<std::vector<double>>(), 64);
  for (std::size_t i = 0; i < ref["scores"].size(); ++i) {
    s.Add(ref["scores"][i].get<double>(), ref["outcomes"][i].get<int>() == 1);
  }
  const double ece = QualityFromStats(s).ece;
  ExpectRel(ece, ref["ece"], "ece");
  std::printf("ECE vs numpy: |difference| %.3g\n",
              std::fabs(ece - ref["ece"].get<double>()));
}

// Scores on every bin edge b/15 and an ulp either side of it, the smallest
// positive double, 0, and 1.0 (in the last bin): each lands in the bin the
// numpy reference puts it in, and the ECE over them matches.
TEST(QualityMetricsTest, EceBinEdgesMatchNumpy) {
  const auto ref = LoadReference("binary_reference.json")["ece_edges"];
  BinaryStats s({0.5}, 64);
  for (std::size_t i = 0; i < ref["scores"].size(); ++i) {
    const double score = ref["scores"][i].get<double>();
    EXPECT_EQ(EceBin(score), ref["bins"][i].get<std::size_t>()) << score;
    s.Add(score, ref["outcomes"][i].get<int>() == 1);
  }
  EXPECT_EQ(EceBin(1.0), kEceBins - 1);
  EXPECT_EQ(EceBin(0.0), 0u);
  ExpectRel(QualityFromStats(s).ece, ref["ece"], "ece at the edges");
}

TEST(QualityMetricsTest, NdcgMatchesScikitLearn) {
  const auto ref = LoadReference("ranking_reference.json");
  const auto k = ref["k"].get<std::vector<std::size_t>>();
  const std::size_t max_k = *std::max_element(k.begin(), k.end());
  RankingStats s(k);
  for (std::size_t i = 0; i < ref["rankings"].size(); ++i) {
    const auto& ranking = ref["rankings"][i];
    std::size_t rank = 0;
    for (std::size_t r = 0; r < ranking.size() && r < max_k && rank == 0; ++r) {
      if (ranking[r] == ref["chosen"][i]) rank = r + 1;
    }
    s.Add(rank);
  }
  const RankingQuality q = QualityFromStats(s);
  ASSERT_EQ(q.ndcg.size(), k.size());
  double max_diff = 0;
  for (std::size_t i = 0; i < k.size(); ++i) {
    ExpectRel(q.ndcg[i], ref["ndcg"][i], "ndcg");
    max_diff =
        std::max(max_diff, std::fabs(q.ndcg[i] - ref["ndcg"][i].get<double>()));
  }
  std::printf("NDCG vs sklearn ndcg_score: max |difference| %.3g\n", max_diff);
}

// --- small cases computed by hand -------------------------------------------

TEST(QualityMetricsTest, BinaryFourSamplesByHand) {
  // threshold 0.5: 0.9/1 tp, 0.8/0 fp, 0.4/1 fn, 0.2/0 tn.
  BinaryStats s({0.5}, 1024);
  s.Add(0.9, true);
  s.Add(0.8, false);
  s.Add(0.4, true);
  s.Add(0.2, false);
  const BinaryQuality q = QualityFromStats(s);
  EXPECT_DOUBLE_EQ(q.at_threshold[0].precision, 0.5);  // 1 / (1 + 1)
  EXPECT_DOUBLE_EQ(q.at_threshold[0].recall, 0.5);     // 1 / (1 + 1)
  EXPECT_DOUBLE_EQ(q.at_threshold[0].f1, 0.5);         // 2*.5*.5 / (.5+.5)
  EXPECT_DOUBLE_EQ(q.at_threshold[0].accuracy, 0.5);   // (1 + 1) / 4
  // (0.1^2 + 0.8^2 + 0.6^2 + 0.2^2) / 4 = (0.01 + 0.64 + 0.36 + 0.04) / 4
  EXPECT_NEAR(q.brier, 1.05 / 4, 1e-15);
  // -(ln 0.9 + ln 0.2 + ln 0.4 + ln 0.8) / 4
  EXPECT_NEAR(
      q.log_loss,
      -(std::log(0.9) + std::log(0.2) + std::log(0.4) + std::log(0.8)) / 4,
      1e-15);
  // Pairs (positive, negative): (.9,.8) (.9,.2) (.4,.2) ordered, (.4,.8) not.
  EXPECT_DOUBLE_EQ(q.auc, 3.0 / 4);
  EXPECT_EQ(q.count, 4u);
}

TEST(QualityMetricsTest, NoSamplesGiveNaNEverywhere) {
  const BinaryQuality b = QualityFromStats(BinaryStats({0.5}, 64));
  EXPECT_TRUE(std::isnan(b.at_threshold[0].precision));
  EXPECT_TRUE(std::isnan(b.at_threshold[0].recall));
  EXPECT_TRUE(std::isnan(b.at_threshold[0].f1));
  EXPECT_TRUE(std::isnan(b.at_threshold[0].accuracy));
  EXPECT_TRUE(std::isnan(b.auc));
  EXPECT_TRUE(std::isnan(b.brier));
  EXPECT_TRUE(std::isnan(b.log_loss));
  EXPECT_TRUE(std::isnan(b.ece));
  const RegressionQuality r = QualityFromStats(RegressionStats());
  EXPECT_TRUE(std::isnan(r.mae) && std::isnan(r.rmse) && std::isnan(r.mape));
  const MulticlassQuality m = QualityFromStats(MulticlassStats(3));
  EXPECT_TRUE(std::isnan(m.accuracy) && std::isnan(m.macro_precision) &&
              std::isnan(m.macro_recall) && std::isnan(m.macro_f1));
  const RankingQuality k = QualityFromStats(RankingStats({1, 3}));
  EXPECT_TRUE(std::isnan(k.hit_rate[0]) && std::isnan(k.hit_rate[1]));
  EXPECT_TRUE(std::isnan(k.ndcg[0]) && std::isnan(k.ndcg[1]));
  EXPECT_TRUE(std::isnan(k.mrr));
}

TEST(QualityMetricsTest, NoPredictedPositiveGivesZeroPrecision) {
  // scikit-learn's zero_division=0: tp + fp = 0 -> precision 0, f1 0.
  BinaryStats s({0.5}, 64);
  s.Add(0.2, false);
  s.Add(0.1, true);
  const BinaryQuality q = QualityFromStats(s);
  EXPECT_EQ(q.at_threshold[0].precision, 0);
  EXPECT_EQ(q.at_threshold[0].recall, 0);  // 0 / (0 + 1)
  EXPECT_EQ(q.at_threshold[0].f1, 0);
  EXPECT_EQ(q.at_threshold[0].accuracy, 0.5);
  EXPECT_EQ(q.auc, 0.0);  // the positive ranks below the negative
}

TEST(QualityMetricsTest, AllOneClassLeavesAucUndefined) {
  BinaryStats s({0.5}, 64);
  s.Add(0.9, true);
  s.Add(0.3, true);
  const BinaryQuality q = QualityFromStats(s);
  EXPECT_TRUE(std::isnan(q.auc));
  EXPECT_DOUBLE_EQ(q.at_threshold[0].precision, 1.0);  // 1 / (1 + 0)
  EXPECT_DOUBLE_EQ(q.at_threshold[0].recall, 0.5);     // 1 / (1 + 1)
}

TEST(QualityMetricsTest, TiedScoresCountHalfInAuc) {
  // Every score equal: each (positive, negative) pair counts 1/2.
  BinaryStats s({0.5}, 1024);
  for (bool actual : {true, false, true, false, false}) s.Add(0.7, actual);
  EXPECT_DOUBLE_EQ(QualityFromStats(s).auc, 0.5);
}

TEST(QualityMetricsTest, ScoreAtThresholdIsPositive) {
  BinaryStats s({0.5}, 64);
  s.Add(0.5, false);
  EXPECT_EQ(s.confusion[0].fp, 1u);
}

TEST(QualityMetricsTest, LogLossClipsCertainWrongScores) {
  // p(actual) = 0 is clipped to 1e-15: loss -ln(1e-15) = 34.538776...
  BinaryStats s({0.5}, 64);
  s.Add(0.0, true);
  EXPECT_NEAR(QualityFromStats(s).log_loss, 34.538776394910684, 1e-9);
}

TEST(QualityMetricsTest, RegressionThreeSamplesByHand) {
  // (predicted, actual): (2, 3), (0, -1), (5, 5): errors 1, 1, 0.
  RegressionStats s;
  s.Add(2, 3);
  s.Add(0, -1);
  s.Add(5, 5);
  const RegressionQuality q = QualityFromStats(s);
  EXPECT_DOUBLE_EQ(q.mae, 2.0 / 3);              // (1 + 1 + 0) / 3
  EXPECT_DOUBLE_EQ(q.rmse, std::sqrt(2.0 / 3));  // sqrt((1 + 1 + 0) / 3)
  EXPECT_DOUBLE_EQ(q.mape, (1.0 / 3 + 1.0 / 1 + 0.0 / 5) / 3);
}

TEST(QualityMetricsTest, MapeOfAZeroActualDividesByEpsilon) {
  // scikit-learn divides by max(|actual|, DBL_EPSILON).
  RegressionStats s;
  s.Add(1, 0);
  EXPECT_DOUBLE_EQ(QualityFromStats(s).mape, 1 / DBL_EPSILON);
}

TEST(QualityMetricsTest, MulticlassMacroSkipsClassesNeverSeen) {
  // (predicted, actual): (0,0) (0,1) (1,1) (1,1); class 2 never occurs.
  // class 0: tp 1, fp 1, fn 0 -> p 1/2, r 1, f1 2/3
  // class 1: tp 2, fp 0, fn 1 -> p 1, r 2/3, f1 4/5
  MulticlassStats s(3);
  s.Add(0, 0);
  s.Add(0, 1);
  s.Add(1, 1);
  s.Add(1, 1);
  const MulticlassQuality q = QualityFromStats(s);
  EXPECT_DOUBLE_EQ(q.accuracy, 3.0 / 4);
  EXPECT_DOUBLE_EQ(q.macro_precision, (0.5 + 1) / 2);
  EXPECT_DOUBLE_EQ(q.macro_recall, (1 + 2.0 / 3) / 2);
  EXPECT_DOUBLE_EQ(q.macro_f1, (2.0 / 3 + 4.0 / 5) / 2);
}

TEST(QualityMetricsTest, RankingByHandTruncatesAtMaxK) {
  // k = {1, 3}; ranks 1, 2, not listed (0), 4 (beyond max k: a miss).
  RankingStats s({1, 3});
  for (std::size_t rank : {1, 2, 0, 4}) s.Add(rank);
  const RankingQuality q = QualityFromStats(s);
  EXPECT_DOUBLE_EQ(q.hit_rate[0], 1.0 / 4);  // rank <= 1: one
  EXPECT_DOUBLE_EQ(q.hit_rate[1], 2.0 / 4);  // rank <= 3: two
  EXPECT_DOUBLE_EQ(q.mrr, (1 + 1.0 / 2) / 4);
}

TEST(QualityMetricsTest, MergeEqualsAddingEverythingAndResetEmpties) {
  testutil::DataGen gen(3);
  BinaryStats all({0.3, 0.6}, 256), a({0.3, 0.6}, 256), b({0.3, 0.6}, 256);
  for (int i = 0; i < 500; ++i) {
    const auto x = gen.Binary();
    all.Add(x.score, x.label == 1);
    (i % 2 == 0 ? a : b).Add(x.score, x.label == 1);
  }
  a.Merge(b);
  const BinaryQuality qa = QualityFromStats(a), qall = QualityFromStats(all);
  EXPECT_EQ(qa.count, qall.count);
  EXPECT_DOUBLE_EQ(qa.auc, qall.auc);
  EXPECT_NEAR(qa.brier, qall.brier, 1e-12);
  EXPECT_DOUBLE_EQ(qa.at_threshold[1].f1, qall.at_threshold[1].f1);
  a.Reset();
  EXPECT_EQ(a.count, 0u);
  EXPECT_EQ(a.positive_bins.size(), 256u);  // sizes kept
  EXPECT_TRUE(std::isnan(QualityFromStats(a).auc));
}

TEST(QualityMetricsTest, AucFromBinsCountsSameBinPairsHalf) {
  // Bins 0..2: positives {0, 1, 1}, negatives {1, 1, 0}. Pairs: the bin-1
  // positive is above the bin-0 negative (1) and ties the bin-1 negative
  // (1/2); the bin-2 positive is above both (2). 3.5 of 4 pairs.
  const std::uint64_t pos[] = {0, 1, 1};
  const std::uint64_t neg[] = {1, 1, 0};
  EXPECT_DOUBLE_EQ(AucFromBins(pos, neg, 3), 3.5 / 4);
}

TEST(QualityMetricsTest, AucBinEndsAndResolution) {
  EXPECT_EQ(AucBin(0.0, 100), 0u);
  EXPECT_EQ(AucBin(1.0, 100), 99u);
  EXPECT_EQ(AucBin(0.5, 100), 50u);                   // logit 0: the middle
  EXPECT_EQ(AucBin(std::nan(""), 100), 0u);           // never out of range
  EXPECT_EQ(AucBin(1e-9, 100), 0u);                   // below 6e-6
  EXPECT_LT(AucBin(1e-4, 1024), AucBin(2e-4, 1024));  // resolution near 0
  EXPECT_LT(AucBin(1 - 2e-4, 1024), AucBin(1 - 1e-4, 1024));  // and near 1
}

TEST(QualityMetricsTest, BinnedAucIsCloseToExactOnSkewedScores) {
  // Fraud-like: most scores far below 0.01, positives rare.
  testutil::DataGen gen(7);
  for (int trial = 0; trial < 3; ++trial) {
    BinaryStats s({0.5}, 1024);
    std::vector<std::pair<double, bool>> all;
    for (int i = 0; i < 20000; ++i) {
      const bool positive = i % 50 == 0;
      const double z = positive ? gen.Normal(-4.5, 2.0) : gen.Normal(-7, 1.5);
      const double score = 1 / (1 + std::exp(-z));
      s.Add(score, positive);
      all.emplace_back(score, positive);
    }
    EXPECT_NEAR(QualityFromStats(s).auc, ExactAuc(all), 0.002);
  }
}

}  // namespace
}  // namespace mlmon
