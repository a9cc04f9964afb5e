#include "mlmon/feature_monitor.h"

#include <cassert>

#include <fmt/format.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "mlmon/detail/cells.h"
#include "internal/text_format.h"
#include "internal/window_snapshots.h"
#include "mlmon/drift.h"
#include "mlmon/duration.h"

#include "internal/drift_gauges.h"
#include "internal/name_index.h"
#include "internal/spec_checks.h"

namespace mlmon {
namespace detail {

// What a FeatureVector needs to turn names into slots; shared (immutable)
// between the monitor and its vectors. Feature indexes: numeric features
// first [0, num_numeric), then categorical ones.
struct FeatureLayout {
  std::uint32_t num_numeric = 0;
  std::uint32_t num_features = 0;
  internal::NameTable names;
  std::vector<internal::NameTable> categories;     // per categorical feature
  std::vector<std::uint32_t> unseen_id;  // per categorical: # known categories
  DropSink* drops = nullptr;
  void Drop(DropReason r) const noexcept {
    if (drops != nullptr) drops->Drop(r);
  }
};

}  // namespace detail

// ------------------------------------------------------------ FeatureVector

FeatureVector::FeatureVector(
    std::shared_ptr<const detail::FeatureLayout> layout)
    : layout_(std::move(layout)),
      values_(layout_->num_numeric, 0.0),
      category_ids_(layout_->num_features - layout_->num_numeric, 0),
      set_in_(layout_->num_features, 0) {}

void FeatureVector::Set(FeatureHandle feature, double value) noexcept {
  if (layout_ == nullptr) return;  // moved-from
  const std::uint32_t i = feature.index_;
  if (__builtin_expect(i < layout_->num_numeric, 1)) {
    values_[i] = value;
    MarkSet(i);
    return;
  }
  layout_->Drop(i < layout_->num_features ? DropReason::kInvalidValue
                                          : DropReason::kUnknownName);
}

void FeatureVector::SetCategory(FeatureHandle feature,
                                std::string_view category) noexcept {
  if (layout_ == nullptr) return;
  const detail::FeatureLayout& l = *layout_;
  const std::uint32_t i = feature.index_;
  if (__builtin_expect(i < l.num_numeric || i >= l.num_features, 0)) {
    l.Drop(i < l.num_numeric ? DropReason::kInvalidValue
                             : DropReason::kUnknownName);
    return;
  }
  const std::uint32_t c = i - l.num_numeric;
  const std::int64_t id = l.categories[c].Find(category);
  category_ids_[c] = id < 0 ? l.unseen_id[c] : static_cast<std::uint32_t>(id);
  MarkSet(i);
}

void FeatureVector::Set(std::string_view feature, double value) noexcept {
  if (layout_ == nullptr) return;
  const std::int64_t i = layout_->names.Find(feature);
  Set(i < 0 ? FeatureHandle() : FeatureHandle(static_cast<std::uint32_t>(i)),
      value);
}

void FeatureVector::SetCategory(std::string_view feature,
                                std::string_view category) noexcept {
  if (layout_ == nullptr) return;
  const std::int64_t i = layout_->names.Find(feature);
  SetCategory(
      i < 0 ? FeatureHandle() : FeatureHandle(static_cast<std::uint32_t>(i)),
      category);
}

void FeatureVector::Clear() noexcept {
  if (__builtin_expect(++generation_ == 0, 0)) {
    std::fill(set_in_.begin(), set_in_.end(), std::uint32_t{0});
    generation_ = 1;
  }
}

bool FeatureVector::IsSet(FeatureHandle feature) const noexcept {
  const std::uint32_t i = feature.index_;
  if (layout_ == nullptr || i >= layout_->num_features) return false;
  return set_in_[i] == generation_;
}

namespace {

// ------------------------------------------------------------- validation

enum Status : int { kOk = 0, kMissing, kNaN, kOutOfRange, kUnseen };
constexpr int kNumStatuses = 5;
const char* const kStatusNames[kNumStatuses] = {"ok", "missing", "nan",
                                                "out_of_range", "unseen"};
constexpr std::size_t kMaxWindows = 8;
constexpr std::int64_t kNanosPerSecond = 1000000000;
constexpr const char* kLog10Suffix = ":log10";

void CheckName(const internal::SpecContext& spec, const std::string& field,
               const std::string& name) {
  auto bad = [&](const char* why) {
    spec.Fail(fmt::format("{}.name = '{}' {}", field, name, why));
  };
  if (name.empty()) bad("is empty");
  if (name.size() > FeatureSpec::kMaxNameBytes) {
    bad("is longer than 200 bytes");
  }
  if (!internal::IsValidUtf8(name)) bad("is not valid UTF-8");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) bad("holds a control character");
  }
  if (name.compare(0, 2, "__") == 0) bad("starts with '__' (reserved)");
  const std::size_t n = std::strlen(kLog10Suffix);
  if (name.size() >= n && name.compare(name.size() - n, n, kLog10Suffix) == 0) {
    bad("ends with ':log10' (the magnitude drift signal)");
  }
}

void ValidateSpec(const FeatureSpec& s, const std::string& model,
                  const Registry& registry) {
  if (model.empty()) throw ConfigError("mlmon: FeatureMonitor model is empty");
  const internal::SpecContext spec("FeatureSpec", model);
  const std::size_t total = s.numeric.size() + s.categorical.size();
  if (total > FeatureSpec::kMaxFeatures) {
    spec.Fail(fmt::format("has {} features, more than {}", total,
                          FeatureSpec::kMaxFeatures));
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < s.numeric.size(); ++i) {
    const auto& f = s.numeric[i];
    const std::string field = fmt::format("numeric[{}]", i);
    CheckName(spec, field, f.name);
    internal::CheckNotRepeated(spec, &names, field + ".name", f.name);
    if (!std::isnan(f.min) && !std::isnan(f.max) && f.min > f.max) {
      spec.Fail(fmt::format("{} ('{}'): min = {} is greater than max = {}",
                            field, f.name, f.min, f.max));
    }
    if (!f.buckets.empty()) {
      internal::CheckBuckets(
          spec, fmt::format("{} ('{}').buckets", field, f.name), f.buckets);
    }
  }
  for (std::size_t i = 0; i < s.categorical.size(); ++i) {
    const auto& f = s.categorical[i];
    const std::string field = fmt::format("categorical[{}]", i);
    CheckName(spec, field, f.name);
    internal::CheckNotRepeated(spec, &names, field + ".name", f.name);
    internal::CheckInRange(
        spec, fmt::format("{} ('{}').max_categories", field, f.name),
        f.max_categories, 1, FeatureSpec::kMaxCategories);
  }
  internal::CheckInRange(spec, "slices_per_window", s.slices_per_window, 1,
                         3600);
  internal::CheckAtLeast(spec, "drift_min_samples", s.drift_min_samples, 1);
  // No upper bound on a feature window (0: none).
  internal::CheckWindows(spec, s.windows, kMaxWindows, 0);
  // This monitor's own series must fit under the family cap (other models
  // share the families; their series are not known here).
  const std::size_t cap = registry.options().max_series_per_family;
  const std::size_t status_series =
      4 * s.numeric.size() + 3 * s.categorical.size();
  if (status_series > cap) {
    spec.Fail(
        fmt::format("needs {} mlmon_feature_values_total series, more "
                    "than max_series_per_family = {}",
                    status_series, cap));
  }
}

}  // namespace

// ---------------------------------------------------------------- hot path

namespace {

// The magnitude histogram's bucket of a finite x != 0: the index of
// `MagnitudeDecade(x)` on `DefaultLog10Bounds()` (decade k -> bucket k + 9,
// 13 (+Inf) -> 22), with one table look-up and one compare instead of a
// loop. A binade [2^e, 2^(e+1)) spans log10(2) < 1 decade, so it holds at
// most one of the bounds 10^-9 .. 10^12: values up to it get the binade's
// first decade, values above it the next one. Binades below 2^-31 (all
// <= 1e-9) share the first entry, binades from 2^40 (all > 1e12) the last.
// `tests/feature_monitor_test.cc` checks it against `MagnitudeDecade`.
struct MagnitudeEntry {
  double threshold;      // the bound inside the binade, or +inf
  std::int64_t bucket;   // bucket of values <= threshold
};
constexpr int kMinBinade = -31, kMaxBinade = 40;
constexpr int kBinades = kMaxBinade - kMinBinade + 1;
constexpr std::size_t kMagnitudeSum = 23;  // cell of the magnitude sum
struct MagnitudeTable {
  MagnitudeEntry e[kBinades];
};
constexpr MagnitudeTable MakeMagnitudeTable() {
  // The same double constants as MagnitudeDecade's table.
  constexpr double kPow10[22] = {
      1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1,
      1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12};
  MagnitudeTable t{};
  double lo = 1.0;  // 2^kMinBinade, exactly
  for (int i = 0; i < -kMinBinade; ++i) lo /= 2;
  for (int i = 0; i < kBinades; ++i, lo *= 2) {
    // MagnitudeDecade(lo): the first bound >= lo, or 13 (bucket 22).
    std::int64_t bucket = 22;
    for (int k = 21; k >= 0; --k) {
      if (lo <= kPow10[k]) bucket = k;
    }
    double threshold = std::numeric_limits<double>::infinity();
    if (bucket < 22 && kPow10[bucket] < 2 * lo) threshold = kPow10[bucket];
    t.e[i] = {threshold, bucket};
  }
  return t;
}
constexpr MagnitudeTable kMagnitudeTable = MakeMagnitudeTable();

inline std::size_t MagnitudeBucket(double x) noexcept {
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits &= ~(std::uint64_t{1} << 63);  // |x|
  double a;
  std::memcpy(&a, &bits, sizeof a);
  int i = static_cast<int>(bits >> 52) - 1023 - kMinBinade;
  i = i < 0 ? 0 : i;
  i = i > kBinades - 1 ? kBinades - 1 : i;
  const MagnitudeEntry& e = kMagnitudeTable.e[i];
  return static_cast<std::size_t>(e.bucket + (a > e.threshold));
}

// The number of `bounds` below v, i.e. the index of the first bound >= v
// (`Histogram::BucketOf`). `padded` is even, the padding is +inf. A
// branch-free count (the bucket is as unpredictable as the data, so a
// search mispredicts about once per step); beyond 32 bounds a branch-free
// binary search.
inline std::size_t CountBelow(const double* bounds, std::size_t padded,
                              double v) noexcept {
  if (__builtin_expect(padded <= 32, 1)) {
#if defined(__SSE2__) && defined(__x86_64__)  // _mm_cvtsi128_si64: x86-64
    const __m128d vv = _mm_set1_pd(v);
    __m128i acc = _mm_setzero_si128();
    for (std::size_t i = 0; i < padded; i += 2) {
      // All ones (-1) per lane where bound < v.
      acc = _mm_sub_epi64(
          acc, _mm_castpd_si128(_mm_cmplt_pd(_mm_loadu_pd(bounds + i), vv)));
    }
    return static_cast<std::size_t>(
        _mm_cvtsi128_si64(acc) +
        _mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc)));
#else
    std::size_t count = 0;
    for (std::size_t i = 0; i < padded; ++i) count += bounds[i] < v;
    return count;
#endif
  }
  const double* base = bounds;
  std::size_t len = padded;
  while (len > 1) {
    const std::size_t half = len / 2;
    base +=
        half & (std::size_t{0} - static_cast<std::size_t>(base[half - 1] < v));
    len -= half;
  }
  return static_cast<std::size_t>(base - bounds) + (*base < v);
}

}  // namespace

// -------------------------------------------------------------- the monitor

struct FeatureMonitor::Impl {
  // Hot state of one numeric feature: everything Observe touches, and
  // nothing else (the instruments themselves are in `numeric_instruments`).
  // Observe touches no instrument object, only these refs and the cells.
  struct NumericHot {
    double lo, hi;          // valid range; -inf / +inf when unset
    const double* bounds;   // the value histogram's bounds, in `bounds`,
    std::uint32_t padded;   // padded with +inf to an even count
    std::uint32_t value_sum;  // cell index of the value histogram's sum
    detail::CellRef value_cells, magnitude_cells;
    detail::CellRef status_cells[kNumStatuses];  // kOk .. kOutOfRange
  };
  struct CategoricalHot {
    detail::CellRef cells;  // known categories, then unseen
    std::uint32_t unseen_id;
    // Status cell of an `unseen_id` value: kUnseen, or kOk without a
    // reference (no vocabulary: every value is ok).
    std::uint32_t unseen_status;
    detail::CellRef status_cells[kNumStatuses];  // kOk, kMissing, kUnseen
  };
  struct NumericInstruments {
    Histogram* value;
    Histogram* magnitude;
  };
  // One drift signal: where its bins come from and the reference counts.
  struct DriftTarget {
    enum class Source { kValue, kMagnitude, kCategory } source;
    std::size_t feature;  // numeric or categorical index
    std::size_t offset;   // into the window read
    std::vector<double> reference;
    // [window][method]; null where the method is not exported.
    std::vector<std::array<Gauge*, kNumDriftMethods>> gauges;
  };

  FeatureSpec spec;
  std::string model, version;
  const Clock* clock;
  detail::DropSink* drops;
  std::shared_ptr<const detail::FeatureLayout> layout;

  std::vector<NumericHot> numeric;
  std::vector<CategoricalHot> categorical;
  std::vector<NumericInstruments> numeric_instruments;  // by numeric index
  std::vector<double> bounds;  // every NumericHot::bounds, back to back
  std::vector<std::unique_ptr<detail::CellBlock>> category_cells;

  std::mutex tick_mu;  // Tick() state below; never taken by Observe
  std::vector<DriftTarget> targets;
  std::size_t read_width = 0;
  std::unique_ptr<internal::WindowSnapshots> windows;
  std::vector<double> read, counts;  // scratch, reused
  std::vector<std::uint64_t> ints;
  Histogram::Snapshot snap;

  void ReadInto(const DriftTarget& t, double* out);

  // What Observe reads from a FeatureVector.
  struct Input {
    const std::uint32_t* set_in;
    std::uint32_t generation;
    const double* values;
    const std::uint32_t* category_ids;
  };
  // Observe's work, for an exclusive slot or the shared one.
  template <bool kExclusive>
  void Record(const Input& in, int slot) const noexcept;
};

namespace {

double Total(const std::vector<double>& v) {
  double t = 0;
  for (double x : v) t += x;
  return t;
}

}  // namespace

void FeatureMonitor::Impl::ReadInto(const DriftTarget& t, double* out) {
  if (t.source == DriftTarget::Source::kCategory) {
    const std::size_t n = t.reference.size();
    ints.resize(n);
    detail::SumInts(categorical[t.feature].cells, n, ints.data());
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(ints[i]);
    return;
  }
  const Histogram* h = t.source == DriftTarget::Source::kValue
                           ? numeric_instruments[t.feature].value
                           : numeric_instruments[t.feature].magnitude;
  h->Collect(&snap);
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
    out[i] = static_cast<double>(snap.cumulative[i] - prev);
    prev = snap.cumulative[i];
  }
}

FeatureMonitor::FeatureMonitor(Registry& registry, std::string model,
                               std::string version, FeatureSpec spec,
                               const ReferenceProfile* reference,
                               const Clock* clock)
    : impl_(std::make_unique<Impl>()) {
  ValidateSpec(spec, model, registry);
  Impl& im = *impl_;
  im.model = std::move(model);
  im.version = std::move(version);
  im.clock = clock != nullptr ? clock : &SteadyClock::Instance();
  const std::string& m = im.model;
  auto bad_feature = [&](const std::string& feature, const std::string& what) {
    throw ConfigError(fmt::format(
        "mlmon: FeatureMonitor (model '{}') feature '{}': {}", m, feature,
        what));
  };

  // Resolve bounds, reference counts and known categories first: every
  // ConfigError comes before anything is registered.
  struct NumericPlan {
    std::vector<double> bounds, reference, log10_reference;
  };
  struct CategoricalPlan {
    std::vector<std::string> known;
    std::vector<double> reference;  // known..., unseen (capped mass)
  };
  std::vector<NumericPlan> nplans(spec.numeric.size());
  std::vector<CategoricalPlan> cplans(spec.categorical.size());
  for (std::size_t i = 0; i < spec.numeric.size(); ++i) {
    const auto& f = spec.numeric[i];
    NumericPlan& p = nplans[i];
    p.bounds = f.buckets;
    if (reference == nullptr) {
      if (p.bounds.empty()) {
        bad_feature(f.name, "buckets is empty and there is no reference "
                            "profile to take the bounds from");
      }
      continue;
    }
    auto it = reference->signals.find(f.name);
    if (it == reference->signals.end()) {
      bad_feature(f.name, "missing from the reference profile");
    }
    if (p.bounds.empty()) {
      p.bounds = it->second.numeric.bounds;
      try {
        ValidateBucketBounds(p.bounds);
      } catch (const ConfigError& e) {
        bad_feature(f.name, fmt::format("reference bounds: {}", e.what()));
      }
    }
    try {
      const BinnedCounts& ref = reference->NumericFor(f.name, p.bounds);
      p.reference = ref.counts;
    } catch (const ConfigError& e) {
      bad_feature(f.name, e.what());
    }
    if (p.reference.size() != p.bounds.size() + 1 || !(Total(p.reference) > 0)) {
      bad_feature(f.name, "the reference has no observations (or counts do "
                          "not match its bounds)");
    }
    const BinnedCounts& log10 = it->second.log10;
    if (!log10.bounds.empty() || !log10.counts.empty()) {
      if (log10.bounds != DefaultLog10Bounds() ||
          log10.counts.size() != log10.bounds.size() + 1) {
        bad_feature(f.name, "reference log10 bins are not on "
                            "DefaultLog10Bounds() (decades -9 .. 12)");
      }
      if (Total(log10.counts) > 0) p.log10_reference = log10.counts;
    }
  }
  for (std::size_t i = 0; i < spec.categorical.size(); ++i) {
    const auto& f = spec.categorical[i];
    if (reference == nullptr) continue;
    const std::map<std::string, double>* cats = nullptr;
    try {
      cats = &reference->CategoriesFor(f.name);
    } catch (const ConfigError& e) {
      bad_feature(f.name, e.what());
    }
    std::vector<std::pair<std::string, double>> sorted(cats->begin(),
                                                       cats->end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) {
                       return a.second > b.second;  // map order breaks ties
                     });
    CategoricalPlan& p = cplans[i];
    double capped = 0;
    for (std::size_t k = 0; k < sorted.size(); ++k) {
      if (k < f.max_categories) {
        p.known.push_back(sorted[k].first);
        p.reference.push_back(sorted[k].second);
      } else {
        capped += sorted[k].second;
      }
    }
    p.reference.push_back(capped);
    if (!(Total(p.reference) > 0)) {
      bad_feature(f.name, "the reference has no observations");
    }
  }

  // Families and handles.
  im.drops = registry.DropsFor(im.model, im.version);
  auto& statuses = registry.AddCounter(
      "mlmon_feature_values_total",
      "Input feature values per request, by status (ok, missing, nan, "
      "out_of_range, unseen).",
      {"model", "version", "feature", "status"});
  Family<Histogram>* magnitudes = nullptr;
  if (!spec.numeric.empty()) {
    magnitudes = &registry.AddHistogram(
        "mlmon_feature_magnitude",
        "Decade ceil(log10(|value|)) of non-zero numeric feature values (ok "
        "and out_of_range): unit changes move it by decades.",
        {"model", "version", "feature"}, DefaultLog10Bounds());
  }
  Family<Gauge>* drift = nullptr;
  if (reference != nullptr && !spec.windows.empty()) {
    drift = &registry.AddGauge(
        "mlmon_drift_score",
        "Distance of the current window from the reference distribution, by "
        "signal and method (psi, js, linf, ks).",
        {"model", "version", "signal", "method", "window"});
  }
  std::vector<std::string> window_labels;
  for (const auto& w : spec.windows) window_labels.push_back(FormatDuration(w));

  auto layout = std::make_shared<detail::FeatureLayout>();
  layout->num_numeric = static_cast<std::uint32_t>(spec.numeric.size());
  layout->num_features =
      static_cast<std::uint32_t>(spec.numeric.size() + spec.categorical.size());
  layout->drops = im.drops;
  std::vector<std::string> all_names;
  // `mlmon_feature_value` has bounds per feature: a registry family whose
  // series each bring their bounds.
  auto& values = registry.AddHistogram(
      "mlmon_feature_value",
      "Numeric feature values (ok and out_of_range), on each feature's "
      "configured bounds.",
      {"model", "version", "feature"});

  auto add_target = [&](Impl::DriftTarget::Source source, std::size_t feature,
                        std::vector<double> ref, const std::string& signal,
                        bool all_methods) {
    Impl::DriftTarget t{source, feature, im.read_width, std::move(ref), {}};
    im.read_width += t.reference.size();
    for (const std::string& w : window_labels) {
      std::array<Gauge*, kNumDriftMethods> g{};
      for (std::size_t k = 0; k < kNumDriftMethods; ++k) {
        const auto method = static_cast<DriftMethod>(k);
        if (!all_methods && method != DriftMethod::kLinf) continue;
        g[k] = &drift->Add(
            {im.model, im.version, signal, DriftMethodName(method), w});
      }
      t.gauges.push_back(g);
    }
    im.targets.push_back(std::move(t));
  };

  std::vector<std::size_t> bound_offsets;  // into im.bounds, by feature
  for (std::size_t i = 0; i < spec.numeric.size(); ++i) {
    const auto& f = spec.numeric[i];
    all_names.push_back(f.name);
    Impl::NumericHot h{};
    h.lo = std::isnan(f.min) ? -HUGE_VAL : f.min;
    h.hi = std::isnan(f.max) ? HUGE_VAL : f.max;
    Impl::NumericInstruments in{};
    in.value = &values.Add({im.model, im.version, f.name}, nplans[i].bounds);
    in.magnitude = &magnitudes->Add({im.model, im.version, f.name});
    for (int s : {kOk, kMissing, kNaN, kOutOfRange}) {
      h.status_cells[s] =
          statuses.Add({im.model, im.version, f.name, kStatusNames[s]})
              .cell_ref();
    }
    // The bounds the series really has (an existing series keeps its own).
    const std::vector<double>& b = in.value->upper_bounds();
    h.padded = static_cast<std::uint32_t>((b.size() + 1) & ~std::size_t{1});
    h.value_sum = static_cast<std::uint32_t>(b.size() + 1);
    bound_offsets.push_back(im.bounds.size());
    im.bounds.insert(im.bounds.end(), b.begin(), b.end());
    im.bounds.resize(im.bounds.size() + (h.padded - b.size()), HUGE_VAL);
    h.value_cells = in.value->cell_ref();
    h.magnitude_cells = in.magnitude->cell_ref();
    assert(in.magnitude->upper_bounds() == DefaultLog10Bounds());
    im.numeric.push_back(h);
    im.numeric_instruments.push_back(in);
    if (drift != nullptr) {
      add_target(Impl::DriftTarget::Source::kValue, i, nplans[i].reference,
                 f.name, true);
      if (!nplans[i].log10_reference.empty()) {
        add_target(Impl::DriftTarget::Source::kMagnitude, i,
                   nplans[i].log10_reference, f.name + kLog10Suffix, true);
      }
    }
  }
  for (std::size_t i = 0; i < spec.categorical.size(); ++i) {
    const auto& f = spec.categorical[i];
    all_names.push_back(f.name);
    CategoricalPlan& p = cplans[i];
    const auto known = static_cast<std::uint32_t>(p.known.size());
    im.category_cells.push_back(std::make_unique<detail::CellBlock>(known + 1));
    Impl::CategoricalHot h{};
    h.cells = im.category_cells.back()->ref();
    h.unseen_id = known;
    h.unseen_status = reference != nullptr ? kUnseen : kOk;
    for (int s : {kOk, kMissing, kUnseen}) {
      h.status_cells[s] =
          statuses.Add({im.model, im.version, f.name, kStatusNames[s]})
              .cell_ref();
    }
    im.categorical.push_back(h);
    layout->categories.emplace_back(p.known);
    layout->unseen_id.push_back(known);
    if (drift != nullptr) {
      add_target(Impl::DriftTarget::Source::kCategory, i, std::move(p.reference),
                 f.name, false);
    }
  }
  layout->names = internal::NameTable(all_names);
  // `bounds` is final now: offsets become pointers.
  for (std::size_t i = 0; i < im.numeric.size(); ++i) {
    im.numeric[i].bounds = im.bounds.data() + bound_offsets[i];
  }
  im.layout = std::move(layout);
  if (!im.targets.empty()) {
    im.windows = std::make_unique<internal::WindowSnapshots>(
        im.read_width, spec.windows, spec.slices_per_window);
    im.read.assign(im.read_width, 0.0);
  }
  im.spec = std::move(spec);
}

FeatureMonitor::~FeatureMonitor() = default;

FeatureHandle FeatureMonitor::Find(std::string_view name) const {
  const std::int64_t i = impl_->layout->names.Find(name);
  return i < 0 ? FeatureHandle() : FeatureHandle(static_cast<std::uint32_t>(i));
}

FeatureVector FeatureMonitor::NewVector() const {
  return FeatureVector(impl_->layout);
}

void FeatureMonitor::Observe(const FeatureVector& f) noexcept {
  const Impl& im = *impl_;
  if (__builtin_expect(f.layout_ != im.layout, 0)) {
    im.layout->Drop(DropReason::kInvalidValue);
    return;
  }
  const Impl::Input in{f.set_in_.data(), f.generation_, f.values_.data(),
                       f.category_ids_.data()};
  // One slot look-up for every cell this vector touches.
  const int slot = detail::CurrentSlot();
  if (__builtin_expect(slot != detail::kSharedSlot, 1)) {
    im.Record<true>(in, slot);
  } else {
    im.Record<false>(in, slot);
  }
}

template <bool kExclusive>
void FeatureMonitor::Impl::Record(const Input& in, int slot) const noexcept {
  const detail::SlotCells<kExclusive> cells(slot);
  // Locals, not members: the cell stores below could alias memory for all
  // the compiler knows, and would make it reload them.
  const NumericHot* const hot = numeric.data();
  const std::size_t n = numeric.size();
  const std::uint32_t* const set_in = in.set_in;
  const std::uint32_t generation = in.generation;
  const double* const values = in.values;
  for (std::size_t i = 0; i < n; ++i) {
    const NumericHot& h = hot[i];
    if (set_in[i] != generation) {
      cells.AddDouble(h.status_cells[kMissing], 0, 1.0);
      continue;
    }
    const double v = values[i];
    if (__builtin_expect(!std::isfinite(v), 0)) {
      cells.AddDouble(h.status_cells[kNaN], 0, 1.0);
      continue;
    }
    // Out-of-range values are still observed: the histograms then show
    // where they went (a unit change is out of range *and* drifts). Both
    // status cells are located before v is compared, and the status is
    // picked without a branch (it is as unpredictable as the data).
    const auto ok =
        reinterpret_cast<std::uintptr_t>(cells.At(h.status_cells[kOk]));
    const auto out_of_range =
        reinterpret_cast<std::uintptr_t>(cells.At(h.status_cells[kOutOfRange]));
    const std::uintptr_t out = static_cast<std::uintptr_t>(v < h.lo) |
                               static_cast<std::uintptr_t>(v > h.hi);
    cells.AddDouble(reinterpret_cast<detail::Cell*>(
                        ok ^ ((ok ^ out_of_range) & (std::uintptr_t{0} - out))),
                    1.0);
    cells.AddOneAndDouble(h.value_cells, CountBelow(h.bounds, h.padded, v),
                          h.value_sum, v);
    if (v != 0.0) {
      const std::size_t b = MagnitudeBucket(v);
      // Bucket b is decade b - 9 (bounds -9 .. 12; 22 is +Inf, decade 13).
      cells.AddOneAndDouble(h.magnitude_cells, b, kMagnitudeSum,
                    static_cast<double>(static_cast<int>(b) - 9));
    }
  }
  const CategoricalHot* const cat = categorical.data();
  const std::size_t num_categorical = categorical.size();
  const std::uint32_t* const ids = in.category_ids;
  for (std::size_t c = 0; c < num_categorical; ++c) {
    const CategoricalHot& h = cat[c];
    if (set_in[n + c] != generation) {
      cells.AddDouble(h.status_cells[kMissing], 0, 1.0);
      continue;
    }
    const std::uint32_t id = ids[c];
    cells.AddOne(h.cells, id);
    cells.AddDouble(h.status_cells[id == h.unseen_id ? h.unseen_status
                                                     : std::uint32_t{kOk}],
                    0, 1.0);
  }
}

void FeatureMonitor::Tick() {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.tick_mu);
  if (im.targets.empty()) return;
  for (const auto& t : im.targets) im.ReadInto(t, im.read.data() + t.offset);
  im.windows->Tick(im.clock->NowNanos(), im.read);
  const double min_samples = static_cast<double>(im.spec.drift_min_samples);
  for (std::size_t w = 0; w < im.windows->num_windows(); ++w) {
    im.windows->WindowCounts(w, &im.counts);
    for (const auto& t : im.targets) {
      internal::PublishDrift(im.counts.data() + t.offset, t.reference.data(),
                             t.reference.size(), min_samples,
                             t.gauges[w].data());
    }
  }
}

const FeatureSpec& FeatureMonitor::spec() const noexcept { return impl_->spec; }
const std::string& FeatureMonitor::model() const noexcept {
  return impl_->model;
}
const std::string& FeatureMonitor::version() const noexcept {
  return impl_->version;
}

}  // namespace mlmon
