#include "mlmon/response_distribution.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include "internal/config_errors.h"
#include "internal/drift_gauges.h"
#include "internal/metric_catalogue.h"
#include "internal/name_index.h"
#include "internal/response_segments.h"
#include "internal/series_owner.h"
#include "internal/spec_checks.h"
#include "internal/window_snapshots.h"
#include "mlmon/detail/cells.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/drift.h"
#include "mlmon/duration.h"
#include "mlmon/performance_estimation.h"

namespace mlmon {

namespace {

using ValueRange = ResponseSpec::ValueRange;

constexpr std::size_t kMinFineBins = 10;
constexpr const char* kStatNames[] = {"p50", "p90", "p99", "mean"};
constexpr double kQuantiles[] = {0.5, 0.9, 0.99};
constexpr std::size_t kNumStats = 4;
// mlmon_estimated_quality: per window, then per threshold.
constexpr const char* kWindowEstimates[] = {"samples", "auc"};
constexpr const char* kThresholdEstimates[] = {
    "predicted_positives", "precision", "recall", "f1", "accuracy"};

// Magnitude bins per sign of the kUnbounded scheme:
// ceil(ln(kLogMax / kLogMin) / ln(kLogGamma)) = 2442.
std::size_t LogBinsPerSign() {
  return static_cast<std::size_t>(
      std::ceil(std::log(ResponseSpec::kLogMax / ResponseSpec::kLogMin) /
                std::log(ResponseSpec::kLogGamma)));
}

void ValidateSpec(const ResponseSpec& s, const Registry& registry) {
  const internal::SpecContext spec("ResponseSpec");
  if (s.value_range != ValueRange::kUnitInterval &&
      s.value_range != ValueRange::kUnbounded) {
    spec.Fail("value_range", "not a known range",
              std::to_string(static_cast<int>(s.value_range)));
  }
  internal::CheckBuckets(spec, "score_buckets", s.score_buckets);
  internal::CheckBuckets(spec, "items_buckets", s.items_buckets);
  internal::CheckAtMost(spec, "classes", s.classes.size(),
                        ResponseSpec::kMaxClasses);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < s.classes.size(); ++i) {
    const std::string& c = s.classes[i];
    const std::string field = fmt::format("classes[{}]", i);
    if (c.empty()) spec.Fail(field, "empty");
    if (c == ResponseDistribution::kOtherClass || c == "__overflow__") {
      spec.Fail(field, "reserved", c);
    }
    internal::CheckNotRepeated(spec, &seen, field, c);
  }
  const std::size_t cap = registry.options().max_series_per_family;
  if (s.classes.size() + 1 > cap) {
    spec.Fail("classes",
              fmt::format("with '{}' they exceed "
                          "Registry::Options::max_series_per_family = {}",
                          ResponseDistribution::kOtherClass, cap),
              fmt::format("{} values", s.classes.size()));
  }
  if (!(s.decision_threshold > 0.0 && s.decision_threshold < 1.0)) {
    spec.Fail("decision_threshold", "not in (0, 1)",
              fmt::format("{}", s.decision_threshold));
  }
  internal::CheckWindows(spec, s.windows, ResponseSpec::kMaxWindows,
                         internal::kMaxWindowSeconds);
  internal::CheckInRange(spec, "slices_per_window", s.slices_per_window, 1,
                         3600);
  internal::CheckAtLeast(spec, "drift_min_samples", s.drift_min_samples, 1);
  internal::CheckSegments(spec, s.segments);
  // Every segment value, __other__ and "" count each class (and __other__):
  // past the per-family cap a segment would silently fold into
  // __overflow__.
  if (s.segments.enabled()) {
    const std::size_t classes = s.classes.empty() ? 2 : s.classes.size();
    const std::size_t total = (s.segments.max_values + 2) * (classes + 1);
    if (total > cap) {
      spec.Fail("segments.max_values",
                fmt::format("{} segments (with __other__ and \"\") x {} "
                            "classes exceed "
                            "Registry::Options::max_series_per_family = {}",
                            s.segments.max_values + 2, classes + 1, cap),
                std::to_string(s.segments.max_values));
    }
  }
  if (s.value_range == ValueRange::kUnitInterval) {
    internal::CheckInRange(spec, "fine_bins", s.fine_bins, kMinFineBins,
                           ResponseSpec::kMaxFineBins);
  }
  internal::CheckAtMost(spec, "estimate_thresholds",
                        s.estimate_thresholds.size(),
                        ResponseSpec::kMaxEstimateThresholds);
  std::set<double> thresholds;
  for (std::size_t i = 0; i < s.estimate_thresholds.size(); ++i) {
    const double t = s.estimate_thresholds[i];
    const std::string field = fmt::format("estimate_thresholds[{}]", i);
    if (!(t > 0.0 && t < 1.0)) {
      spec.Fail(field, "not in (0, 1)", fmt::format("{}", t));
    }
    if (!thresholds.insert(t).second) {
      spec.Fail(field, "given twice", fmt::format("{}", t));
    }
  }
}

const ResponseSpec& Validated(const ResponseSpec& s, const std::string& model,
                              const Registry& registry) {
  if (model.empty())
    throw internal::SetupError("ResponseDistribution.model", "is empty");
  ValidateSpec(s, registry);
  return s;
}

// The value at 0-based rank `r` of the sorted values, each replaced by the
// representative of its fine bin. REQUIRES: r < sum(counts).
double ValueAtRank(const double* counts, const double* reps, std::size_t n,
                   double r) noexcept {
  double seen = 0;
  for (std::size_t i = 0; i < n; ++i) {
    seen += counts[i];
    if (r < seen) return reps[i];
  }
  // Only reachable through rounding of non-integer counts.
  for (std::size_t i = n; i-- > 0;) {
    if (counts[i] > 0) return reps[i];
  }
  return reps[n - 1];
}

// numpy.quantile(method="linear") over the binned values.
double BinnedQuantile(const double* counts, const double* reps, std::size_t n,
                      double total, double q) noexcept {
  const double h = (total - 1) * q;
  const double k = std::floor(h);
  const double f = h - k;
  const double lo = ValueAtRank(counts, reps, n, k);
  if (f == 0.0 || k + 1 >= total) return lo;
  const double hi = ValueAtRank(counts, reps, n, k + 1);
  return lo + f * (hi - lo);
}

}  // namespace

const std::vector<double>& DefaultPredictionScoreBuckets() {
  static const std::vector<double> kBounds = [] {
    std::vector<double> b(20);
    // (i + 1) / 20.0 is the double nearest to the decimal bound; repeated
    // addition (LinearBuckets) would give 0.15000000000000002.
    for (std::size_t i = 0; i < b.size(); ++i) {
      b[i] = static_cast<double>(i + 1) / 20.0;
    }
    return b;
  }();
  return kBounds;
}

const std::vector<double>& DefaultResponseItemsBuckets() {
  static const std::vector<double> kBounds = {0, 1, 2, 3, 5, 10, 20, 50, 100};
  return kBounds;
}

struct ResponseDistribution::Impl {
  Impl(Registry& registry, std::string model_in, std::string version_in,
       ResponseSpec spec_in, const ReferenceProfile* reference,
       const Clock* clock_in);

  // First: destroyed after every instrument it bound.
  internal::SeriesOwner owner;

  void Drop(DropReason r) noexcept { drops->Drop(r); }
  // `part`: the series of the score's segment; null for the model's own.
  void ObserveScore(double x, std::string_view id,
                    const internal::ResponseSegmentSeries* part) noexcept;
  void Tick();

  const std::string model, version;
  const ResponseSpec spec;
  const Clock& clock;
  const bool unit;
  // kUnitInterval: fine bins. kUnbounded: magnitude bins per sign.
  const std::size_t bins;
  const double bins_d;         // kUnitInterval: bins as a double
  const double log_min;        // kUnbounded: ln(kLogMin)
  const double inv_log_gamma;  // kUnbounded: 1 / ln(kLogGamma)
  // Fine-bin cells. kUnitInterval: [bin 0 .. bins-1, sum]. kUnbounded:
  // `fine` = [zero, positive magnitude bins 0 .. bins-1, sum] and `negative`
  // = [negative magnitude bins 0 .. bins-1] (two blocks: a block holds at
  // most detail::kChunkCells cells).
  detail::CellBlock fine;
  std::unique_ptr<detail::CellBlock> negative;
  detail::CellRef fine_ref{}, negative_ref{};
  std::size_t sum_index = 0;

  detail::DropSink* drops = nullptr;
  Histogram* score_hist = nullptr;
  // kUnitInterval: the score bucket of each fine bin (of its midpoint), when
  // every score bucket is wider than a fine bin, so a value is at most one
  // bucket off the table and two compares make it exact. Empty otherwise.
  std::vector<std::uint16_t> fine_to_bucket;
  const double* score_bounds = nullptr;
  std::size_t num_score_bounds = 0;
  Histogram* items_hist = nullptr;
  Counter* empty = nullptr;
  // mlmon_predictions_total series: [0] = __other__, then the bound names.
  std::vector<Counter*> class_counters;
  internal::NameTable names;  // bound names -> index into class_counters - 1
  // ObserveScore's class when no classes are configured ("0"/"1" by
  // threshold; both "" for kUnbounded); null when classes are configured.
  Counter* by_threshold[2] = {nullptr, nullptr};
  // Segments' series; null without segments.
  std::unique_ptr<internal::ResponseSegments> segments;
  // The series of `segment` (null: the model's own).
  const internal::ResponseSegmentSeries* Part(
      std::string_view segment) noexcept {
    if (segments == nullptr || segment.empty()) return nullptr;
    return segments->Find(segment);
  }

  // Window thread state: set at set-up, then read by Tick; its scratch
  // is guarded by tick_mu.
  detail::Mutex tick_mu;
  std::size_t num_fine = 0;   // fine bins, ascending by value
  std::vector<double> reps;   // representative value per fine bin
  std::size_t num_score = 0;  // score buckets incl. +Inf
  // read: [fine..., sum, score buckets...]
  internal::WindowSnapshots windows MLMON_GUARDED_BY(tick_mu);
  std::vector<double> reference_counts;  // empty without a reference
  // The score signal's bins for fleet-wide drift (bound with the drift
  // gauges).
  internal::DriftBinSeries score_bins MLMON_GUARDED_BY(tick_mu);
  std::vector<std::uint64_t> ints MLMON_GUARDED_BY(tick_mu);
  std::vector<double> read MLMON_GUARDED_BY(tick_mu);
  std::vector<double> counts MLMON_GUARDED_BY(tick_mu);
  Histogram::Snapshot score_snapshot MLMON_GUARDED_BY(tick_mu);
  std::vector<double> segment_counts MLMON_GUARDED_BY(tick_mu);
  struct WindowGauges {
    Gauge* stat[kNumStats];
    Gauge* drift[kNumDriftMethods];
    // mlmon_estimated_quality: samples, auc, then kThresholdEstimates per
    // estimate threshold; empty without a calibration map.
    std::vector<Gauge*> estimated;
  };
  std::vector<WindowGauges> gauges;
  // Performance estimation from the fine bins; null without a calibration.
  std::unique_ptr<BinnedPerformanceEstimator> estimator;
  PerformanceEstimate estimate MLMON_GUARDED_BY(tick_mu);
  // Sets the window's mlmon_estimated_quality gauges from its fine bins.
  void PublishEstimate(const double* window_counts, const WindowGauges& g)
      MLMON_REQUIRES(tick_mu);

 private:
  static std::size_t FineCells(const ResponseSpec& s, std::size_t bins) {
    return s.value_range == ValueRange::kUnitInterval ? bins + 1 : bins + 2;
  }
  static std::size_t Bins(const ResponseSpec& s) {
    return s.value_range == ValueRange::kUnitInterval ? s.fine_bins
                                                      : LogBinsPerSign();
  }
  static std::size_t NumFine(const ResponseSpec& s) {
    return s.value_range == ValueRange::kUnitInterval
               ? s.fine_bins
               : 2 * LogBinsPerSign() + 1;
  }
  void BindFamilies();
};

ResponseDistribution::Impl::Impl(Registry& registry, std::string model_in,
                                 std::string version_in, ResponseSpec spec_in,
                                 const ReferenceProfile* reference,
                                 const Clock* clock_in)
    : owner(registry, "ResponseDistribution", model_in, version_in),
      model(std::move(model_in)),
      version(std::move(version_in)),
      spec(Validated(spec_in, model, registry)),
      clock(clock_in != nullptr ? *clock_in : SteadyClock::Instance()),
      unit(spec.value_range == ValueRange::kUnitInterval),
      bins(Bins(spec)),
      bins_d(static_cast<double>(bins)),
      log_min(std::log(ResponseSpec::kLogMin)),
      inv_log_gamma(1.0 / std::log(ResponseSpec::kLogGamma)),
      fine(FineCells(spec, bins)),
      num_fine(NumFine(spec)),
      num_score(spec.score_buckets.size() + 1),
      windows(NumFine(spec) + 1 + spec.score_buckets.size() + 1, spec.windows,
              spec.slices_per_window) {
  fine_ref = fine.ref();
  sum_index = fine.size() - 1;
  if (!unit) {
    negative = std::make_unique<detail::CellBlock>(bins);
    negative_ref = negative->ref();
  }
  if (reference != nullptr) {
    // Names the signal and both bounds when they differ.
    reference_counts =
        reference->NumericFor("score", spec.score_buckets).counts;
    if (reference_counts.size() != num_score) {
      throw internal::SetupError(
          "ReferenceProfile.signals.score.counts",
          fmt::format("not {} values, one more than ResponseSpec.score_buckets",
                      num_score),
          fmt::format("{} values", reference_counts.size()));
    }
  }
  if (reference != nullptr && unit && !reference->calibration.empty() &&
      !spec.windows.empty()) {
    // A profile built in C++ has not been through Load's checks.
    CheckCalibration(reference->calibration, "ReferenceProfile.calibration");
    std::vector<double> thresholds = spec.estimate_thresholds;
    if (thresholds.empty()) thresholds = {spec.decision_threshold};
    estimator = std::make_unique<BinnedPerformanceEstimator>(
        bins, reference->calibration, thresholds);
    detail::MutexLock lock(tick_mu);
    estimate.at.resize(thresholds.size());
  }
  // Representative values, ascending.
  reps.resize(num_fine);
  if (unit) {
    for (std::size_t i = 0; i < bins; ++i) {
      reps[i] = (static_cast<double>(i) + 0.5) / bins_d;
    }
  } else {
    const double g = ResponseSpec::kLogGamma;
    for (std::size_t i = 0; i < bins; ++i) {
      // Magnitude bin i = [a, a g), a = kLogMin g^i: 2 a g / (1 + g).
      const double m = ResponseSpec::kLogMin *
                       std::pow(g, static_cast<double>(i) + 1) * 2 / (1 + g);
      reps[bins - 1 - i] = -m;
      reps[bins + 1 + i] = m;
    }
    reps[bins] = 0.0;
  }
  const std::size_t width = num_fine + 1 + num_score;
  ints.resize(std::max(fine.size(), bins));
  read.resize(width);
  counts.resize(width);
  BindFamilies();
}

void ResponseDistribution::Impl::BindFamilies() {
  using internal::AddFamily;
  namespace metrics = internal::metrics;
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> v = {model, version};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  // The families with a segment label: the model's own series are "".
  auto whole = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), "");
    return with(std::move(extra));
  };
  drops = owner.drops();

  score_hist = &AddFamily(owner, metrics::kPredictionScore, spec.score_buckets)
                    .Add(whole({}));
  if (spec.exemplars) score_hist->EnableExemplars();
  if (unit) {
    // The fine-bin -> score-bucket table, if every bucket is wider than a
    // fine bin (then the table is off by at most one bucket).
    const auto& b = spec.score_buckets;
    bool wide = b.size() < 65535;
    for (std::size_t k = 1; k < b.size() && wide; ++k) {
      wide = b[k] - b[k - 1] > 1.0 / bins_d;
    }
    if (wide) {
      score_bounds = b.data();
      num_score_bounds = b.size();
      fine_to_bucket.resize(bins);
      for (std::size_t i = 0; i < bins; ++i) {
        const double mid = (static_cast<double>(i) + 0.5) / bins_d;
        fine_to_bucket[i] = static_cast<std::uint16_t>(
            std::lower_bound(b.begin(), b.end(), mid) - b.begin());
      }
    }
  }
  items_hist = &AddFamily(owner, metrics::kResponseItems, spec.items_buckets)
                    .Add(with({}));
  empty = &AddFamily(owner, metrics::kEmptyResponsesTotal).Add(whole({}));

  auto predictions = AddFamily(owner, metrics::kPredictionsTotal);
  std::vector<std::string> bound = spec.classes;
  if (bound.empty()) {
    bound = unit ? std::vector<std::string>{"0", "1"}
                 : std::vector<std::string>{""};
  }
  class_counters.push_back(&predictions.Add(whole({kOtherClass})));
  for (const std::string& c : bound) {
    class_counters.push_back(&predictions.Add(whole({c})));
  }
  names = internal::NameTable(bound);
  if (spec.classes.empty()) {
    by_threshold[0] = class_counters[1];
    by_threshold[1] = class_counters[unit ? 2 : 1];
  }
  if (spec.segments.enabled()) {
    segments = std::make_unique<internal::ResponseSegments>(
        owner, model, version, spec, bound, spec.classes.empty(), unit);
  }

  if (spec.windows.empty()) return;
  auto window_stats = AddFamily(owner, metrics::kPredictionScoreWindow);
  std::optional<internal::OwnedFamily<Gauge>> drift, estimated;
  std::vector<std::string> threshold_labels;
  if (estimator) {
    estimated = AddFamily(owner, metrics::kEstimatedQuality);
    for (double t : estimator->thresholds()) {
      threshold_labels.push_back(fmt::format("{}", t));
    }
  }
  if (!reference_counts.empty()) {
    drift = AddFamily(owner, metrics::kDriftScore);
    detail::MutexLock lock(tick_mu);
    score_bins.Bind(owner, "score", reference_counts);
  }
  for (const auto& w : spec.windows) {
    const std::string label = FormatDuration(w);
    WindowGauges g{};
    for (std::size_t s = 0; s < kNumStats; ++s) {
      g.stat[s] = &window_stats.Add(with({kStatNames[s], label}));
    }
    if (drift) {
      for (std::size_t m = 0; m < kNumDriftMethods; ++m) {
        g.drift[m] = &drift->Add(with(
            {"score", DriftMethodName(static_cast<DriftMethod>(m)), label}));
      }
    }
    if (estimated) {
      for (const char* m : kWindowEstimates) {
        g.estimated.push_back(&estimated->Add(with({m, "", label})));
      }
      for (const std::string& t : threshold_labels) {
        for (const char* m : kThresholdEstimates) {
          g.estimated.push_back(&estimated->Add(with({m, t, label})));
        }
      }
      for (Gauge* e : g.estimated) e->SetUndefined();  // until a Tick()
    }
    gauges.push_back(g);
  }
}

void ResponseDistribution::Impl::ObserveScore(
    double x, std::string_view id,
    const internal::ResponseSegmentSeries* part) noexcept {
  Histogram* const hist = part == nullptr ? score_hist : part->score;
  Counter* const* const classes =
      part == nullptr ? by_threshold : part->by_threshold;
  Counter* cls;
  // One slot look-up for every cell this observation touches.
  const int slot = detail::CurrentSlot();
  if (unit) {
    if (__builtin_expect(!(x >= 0.0 && x <= 1.0), 0)) {
      Drop(std::isfinite(x) ? DropReason::kInvalidValue
                            : detail::NonFiniteReason(x));
      return;
    }
    std::size_t i = static_cast<std::size_t>(x * bins_d);
    if (i >= bins) i = bins - 1;  // x == 1
    detail::AddOneAndDoubleAt(slot, fine_ref, i, sum_index, x);
    cls = classes[x >= spec.decision_threshold];
    if (!fine_to_bucket.empty()) {
      // The score bucket from the fine bin: no search on the hot path.
      std::size_t j = fine_to_bucket[i];
      if (j > 0 && x <= score_bounds[j - 1]) {
        --j;
      } else if (j < num_score_bounds && x > score_bounds[j]) {
        ++j;
      }
      hist->ObserveBucketAt(slot, j, x);
      if (!id.empty()) hist->RecordExemplar(j, x, id, clock);
      if (cls != nullptr) cls->IncrementAt(slot);
      return;
    }
  } else {
    if (__builtin_expect(!std::isfinite(x), 0)) {
      Drop(detail::NonFiniteReason(x));
      return;
    }
    const double a = std::fabs(x);
    if (a < ResponseSpec::kLogMin) {
      detail::AddOneAndDoubleAt(slot, fine_ref, 0, sum_index, x);  // zero bin
    } else {
      double k = (std::log(a) - log_min) * inv_log_gamma;
      // Rounding may give a hair below 0 at kLogMin; clamp both ends.
      k = std::min(std::max(k, 0.0), bins_d - 1);
      const std::size_t i = static_cast<std::size_t>(k);
      if (x > 0) {
        detail::AddOneAndDoubleAt(slot, fine_ref, i + 1, sum_index, x);
      } else {
        detail::AddOneAt(slot, negative_ref, i);
        detail::AddDoubleAt(slot, fine_ref, sum_index, x);
      }
    }
    cls = classes[0];
  }
  if (id.empty()) {
    hist->ObserveAt(slot, x);
  } else {
    hist->ObserveAt(slot, x, id, clock);
  }
  if (cls != nullptr) cls->IncrementAt(slot);
}

void ResponseDistribution::Impl::PublishEstimate(const double* window_counts,
                                                 const WindowGauges& g) {
  estimator->Estimate(window_counts, &estimate);
  std::size_t i = 0;
  g.estimated[i++]->Set(estimate.samples);
  if (std::isnan(estimate.auc)) {
    g.estimated[i++]->SetUndefined();
  } else {
    g.estimated[i++]->Set(estimate.auc);
  }
  for (const ThresholdEstimate& e : estimate.at) {
    for (double v :
         {e.predicted_positives, e.precision, e.recall, e.f1, e.accuracy}) {
      Gauge* gauge = g.estimated[i++];
      if (std::isnan(v)) {
        gauge->SetUndefined();  // undefined, not a drop
      } else {
        gauge->Set(v);
      }
    }
  }
}

void ResponseDistribution::Impl::Tick() {
  detail::MutexLock lock(tick_mu);
  const std::int64_t now = clock.NowNanos();
  // Read: fine bins ascending, the sum, then the score buckets.
  if (unit) {
    detail::SumInts(fine_ref, bins, ints.data());
    for (std::size_t i = 0; i < bins; ++i) {
      read[i] = static_cast<double>(ints[i]);
    }
  } else {
    detail::SumInts(negative_ref, bins, ints.data());
    for (std::size_t i = 0; i < bins; ++i) {
      read[bins - 1 - i] = static_cast<double>(ints[i]);
    }
    detail::SumInts(fine_ref, bins + 1, ints.data());
    for (std::size_t i = 0; i <= bins; ++i) {
      read[bins + i] = static_cast<double>(ints[i]);
    }
  }
  read[num_fine] = detail::SumDouble(fine_ref, sum_index);
  score_hist->Collect(&score_snapshot);
  std::uint64_t previous = 0;
  for (std::size_t b = 0; b < num_score; ++b) {
    read[num_fine + 1 + b] =
        static_cast<double>(score_snapshot.cumulative[b] - previous);
    previous = score_snapshot.cumulative[b];
  }
  if (segments != nullptr) {
    // The windows are the whole model's: every segment's scores too.
    segment_counts.assign(num_score, 0.0);
    segments->AddScoreCounts(&segment_counts);
    for (std::size_t b = 0; b < num_score; ++b) {
      read[num_fine + 1 + b] += segment_counts[b];
    }
    segments->Publish();
  }
  score_bins.Advance(read.data() + num_fine + 1);
  windows.Tick(now, read);

  for (std::size_t w = 0; w < gauges.size(); ++w) {
    windows.WindowCounts(w, &counts);
    const WindowGauges& g = gauges[w];
    double total = 0;
    for (std::size_t i = 0; i < num_fine; ++i) total += counts[i];
    if (total > 0) {
      for (std::size_t q = 0; q < 3; ++q) {
        g.stat[q]->Set(BinnedQuantile(counts.data(), reps.data(), num_fine,
                                      total, kQuantiles[q]));
      }
      const double mean = counts[num_fine] / total;
      if (std::isfinite(mean)) g.stat[3]->Set(mean);
    } else {
      for (Gauge* stat : g.stat) stat->SetUndefined();  // no scores: NaN
    }
    if (estimator) PublishEstimate(counts.data(), g);
    if (reference_counts.empty()) continue;
    internal::PublishDrift(
        counts.data() + num_fine + 1, reference_counts.data(), num_score,
        static_cast<double>(spec.drift_min_samples), g.drift);
  }
}

ResponseDistribution::ResponseDistribution(
    Registry& registry, std::string model, std::string version,
    ResponseSpec spec, const ReferenceProfile* reference, const Clock* clock)
    : impl_(std::make_unique<Impl>(registry, std::move(model),
                                   std::move(version), std::move(spec),
                                   reference, clock)) {}

ResponseDistribution::~ResponseDistribution() = default;

ResponseDistribution::ClassHandle ResponseDistribution::Class(
    std::string_view name) const {
  if (name == kOtherClass) return ClassHandle(0);
  const std::int64_t i = impl_->names.Find(name);
  if (i < 0) {
    throw internal::SetupError("ResponseDistribution::Class",
                               "not one of ResponseSpec.classes", name);
  }
  return ClassHandle(static_cast<std::uint32_t>(i + 1));
}

void ResponseDistribution::ObserveScore(double score) noexcept {
  impl_->ObserveScore(score, {}, nullptr);
}

void ResponseDistribution::ObserveScore(double score,
                                        std::string_view id) noexcept {
  impl_->ObserveScore(score, id, nullptr);
}

void ResponseDistribution::ObserveScore(double score, std::string_view id,
                                        std::string_view segment) noexcept {
  impl_->ObserveScore(score, id, impl_->Part(segment));
}

void ResponseDistribution::ObserveClass(ClassHandle c,
                                        std::string_view segment) noexcept {
  const internal::ResponseSegmentSeries* part = impl_->Part(segment);
  const auto& counters =
      part == nullptr ? impl_->class_counters : part->classes;
  // A foreign handle beyond this object's classes counts as __other__.
  counters[c.index_ < counters.size() ? c.index_ : 0]->Increment();
}

void ResponseDistribution::ObserveClass(std::string_view name,
                                        std::string_view segment) noexcept {
  const internal::ResponseSegmentSeries* part = impl_->Part(segment);
  const auto& counters =
      part == nullptr ? impl_->class_counters : part->classes;
  const std::int64_t i = impl_->names.Find(name);
  counters[static_cast<std::size_t>(i + 1)]->Increment();
}

void ResponseDistribution::ObserveItems(std::size_t n,
                                        std::string_view segment) noexcept {
  impl_->items_hist->Observe(static_cast<double>(n));
  if (n == 0) ObserveEmpty(segment);
}

void ResponseDistribution::ObserveEmpty(std::string_view segment) noexcept {
  const internal::ResponseSegmentSeries* part = impl_->Part(segment);
  (part == nullptr ? impl_->empty : part->empty)->Increment();
}

void ResponseDistribution::Tick() { impl_->Tick(); }

std::size_t ResponseDistribution::num_fine_bins() const noexcept {
  return impl_->num_fine;
}
const ResponseSpec& ResponseDistribution::spec() const noexcept {
  return impl_->spec;
}
const std::string& ResponseDistribution::model() const noexcept {
  return impl_->model;
}
const std::string& ResponseDistribution::version() const noexcept {
  return impl_->version;
}

}  // namespace mlmon
