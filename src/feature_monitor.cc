#include "mlmon/feature_monitor.h"

#include <cassert>

#include <fmt/format.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "mlmon/detail/cells.h"
#include "mlmon/detail/text_format.h"
#include "mlmon/detail/window_snapshots.h"
#include "mlmon/drift.h"
#include "mlmon/outcome_tracker.h"  // FormatDuration

namespace mlmon {
namespace detail {
namespace {

// FNV-1a, 64 bit: short keys (feature names, categories), no allocation.
std::uint64_t HashKey(std::string_view s) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// An immutable open-addressing (linear probing) table from a key to its
// index in the build order. Built at set-up; `Find` allocates nothing.
class NameTable {
 public:
  NameTable() : slots_(1), mask_(0) {}
  explicit NameTable(std::vector<std::string> keys) : keys_(std::move(keys)) {
    std::size_t cap = 2;
    while (cap < 2 * keys_.size()) cap *= 2;  // load factor <= 1/2
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (std::uint32_t i = 0; i < keys_.size(); ++i) {
      const std::uint64_t h = HashKey(keys_[i]);
      std::size_t s = h & mask_;
      while (slots_[s].index_plus_one != 0) s = (s + 1) & mask_;
      slots_[s] = Slot{h, i + 1};
    }
  }
  // The index of `key`, or -1.
  std::int64_t Find(std::string_view key) const noexcept {
    const std::uint64_t h = HashKey(key);
    for (std::size_t s = h & mask_;; s = (s + 1) & mask_) {
      const Slot& slot = slots_[s];
      if (slot.index_plus_one == 0) return -1;
      if (slot.hash == h && keys_[slot.index_plus_one - 1] == key) {
        return slot.index_plus_one - 1;
      }
    }
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t index_plus_one = 0;  // 0 = empty
  };
  std::vector<std::string> keys_;
  std::vector<Slot> slots_;  // never full: at least one empty slot
  std::size_t mask_;
};

}  // namespace

// What a FeatureVector needs to turn names into slots; shared (immutable)
// between the monitor and its vectors. Feature indexes: numeric features
// first [0, num_numeric), then categorical ones.
struct FeatureLayout {
  std::uint32_t num_numeric = 0;
  std::uint32_t num_features = 0;
  NameTable names;
  std::vector<NameTable> categories;     // per categorical feature
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
      present_((layout_->num_features + 63) / 64, 0) {}

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
  std::fill(present_.begin(), present_.end(), std::uint64_t{0});
}

bool FeatureVector::IsSet(FeatureHandle feature) const noexcept {
  const std::uint32_t i = feature.index_;
  if (layout_ == nullptr || i >= layout_->num_features) return false;
  return (present_[i >> 6] >> (i & 63)) & 1;
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

[[noreturn]] void Bad(const std::string& model, const std::string& what) {
  throw ConfigError(
      fmt::format("mlmon: FeatureSpec.{} (model '{}')", what, model));
}

void CheckName(const std::string& model, const std::string& field,
               const std::string& name) {
  auto bad = [&](const char* why) {
    Bad(model, fmt::format("{}.name = '{}' {}", field, name, why));
  };
  if (name.empty()) bad("is empty");
  if (name.size() > FeatureSpec::kMaxNameBytes) {
    bad("is longer than 200 bytes");
  }
  if (!detail::IsValidUtf8(name)) bad("is not valid UTF-8");
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
  const std::size_t total = s.numeric.size() + s.categorical.size();
  if (total > FeatureSpec::kMaxFeatures) {
    Bad(model, fmt::format("has {} features, more than {}", total,
                           FeatureSpec::kMaxFeatures));
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < s.numeric.size(); ++i) {
    const auto& f = s.numeric[i];
    const std::string field = fmt::format("numeric[{}]", i);
    CheckName(model, field, f.name);
    if (!names.insert(f.name).second) {
      Bad(model, fmt::format("{}.name = '{}' is repeated", field, f.name));
    }
    if (!std::isnan(f.min) && !std::isnan(f.max) && f.min > f.max) {
      Bad(model, fmt::format("{} ('{}'): min = {} is greater than max = {}",
                             field, f.name, f.min, f.max));
    }
    if (!f.buckets.empty()) {
      try {
        ValidateBucketBounds(f.buckets);
      } catch (const ConfigError& e) {
        Bad(model, fmt::format("{} ('{}').buckets: {}", field, f.name,
                               e.what()));
      }
    }
  }
  for (std::size_t i = 0; i < s.categorical.size(); ++i) {
    const auto& f = s.categorical[i];
    const std::string field = fmt::format("categorical[{}]", i);
    CheckName(model, field, f.name);
    if (!names.insert(f.name).second) {
      Bad(model, fmt::format("{}.name = '{}' is repeated", field, f.name));
    }
    if (f.max_categories < 1 ||
        f.max_categories > FeatureSpec::kMaxCategories) {
      Bad(model, fmt::format("{} ('{}').max_categories = {} is not in [1, {}]",
                             field, f.name, f.max_categories,
                             FeatureSpec::kMaxCategories));
    }
  }
  if (s.slices_per_window < 1 || s.slices_per_window > 3600) {
    Bad(model, fmt::format("slices_per_window = {} is not in [1, 3600]",
                           s.slices_per_window));
  }
  if (s.drift_min_samples < 1) {
    Bad(model, fmt::format("drift_min_samples = {} is not >= 1",
                           s.drift_min_samples));
  }
  if (s.windows.size() > kMaxWindows) {
    Bad(model, fmt::format("windows has {} values, more than {}",
                           s.windows.size(), kMaxWindows));
  }
  std::set<std::string> labels;
  for (std::size_t i = 0; i < s.windows.size(); ++i) {
    const auto w = s.windows[i].count();
    if (w <= 0) Bad(model, fmt::format("windows[{}] = {}s is not >= 1s", i, w));
    if (!labels.insert(FormatDuration(s.windows[i])).second) {
      Bad(model, fmt::format("windows[{}] = {}s is repeated", i, w));
    }
  }
  // This monitor's own series must fit under the family cap (other models
  // share the families; their series are not known here).
  const std::size_t cap = registry.options().max_series_per_family;
  const std::size_t status_series = 4 * s.numeric.size() + 3 * s.categorical.size();
  if (status_series > cap) {
    Bad(model, fmt::format("needs {} mlmon_feature_values_total series, more "
                           "than max_series_per_family = {}",
                           status_series, cap));
  }
}

}  // namespace

// -------------------------------------------------------------- the monitor

struct FeatureMonitor::Impl {
  // Hot state of one numeric feature: everything Observe touches.
  struct NumericHot {
    double lo, hi;  // valid range; -inf / +inf when unset
    Histogram* value;
    Histogram* magnitude;
    Counter* status[kNumStatuses];
    // The same instruments' cells, side by side: Observe touches no
    // instrument object, only these refs and the cells.
    detail::CellRef status_cells[kNumStatuses];
    detail::CellRef value_cells, magnitude_cells;
    std::size_t value_sum, magnitude_sum;  // cell index of each sum
  };
  struct CategoricalHot {
    detail::CellRef cells;  // known categories, then unseen
    std::uint32_t unseen_id;
    bool has_vocabulary;  // false without a reference: every value is ok
    Counter* status[kNumStatuses];
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
  std::vector<std::unique_ptr<detail::CellBlock>> category_cells;

  std::mutex tick_mu;  // Tick() state below; never taken by Observe
  std::vector<DriftTarget> targets;
  std::size_t read_width = 0;
  std::unique_ptr<detail::WindowSnapshots> windows;
  std::vector<double> read, counts;  // scratch, reused
  std::vector<std::uint64_t> ints;
  Histogram::Snapshot snap;

  void ReadInto(const DriftTarget& t, double* out);
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
                           ? numeric[t.feature].value
                           : numeric[t.feature].magnitude;
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

  for (std::size_t i = 0; i < spec.numeric.size(); ++i) {
    const auto& f = spec.numeric[i];
    all_names.push_back(f.name);
    Impl::NumericHot h{};
    h.lo = std::isnan(f.min) ? -HUGE_VAL : f.min;
    h.hi = std::isnan(f.max) ? HUGE_VAL : f.max;
    h.value = &values.Add({im.model, im.version, f.name}, nplans[i].bounds);
    h.magnitude = &magnitudes->Add({im.model, im.version, f.name});
    for (int s : {kOk, kMissing, kNaN, kOutOfRange}) {
      h.status[s] = &statuses.Add({im.model, im.version, f.name, kStatusNames[s]});
      h.status_cells[s] = h.status[s]->cell_ref();
    }
    h.value_cells = h.value->cell_ref();
    h.value_sum = h.value->upper_bounds().size() + 1;
    h.magnitude_cells = h.magnitude->cell_ref();
    h.magnitude_sum = h.magnitude->upper_bounds().size() + 1;
    assert(h.magnitude->upper_bounds().front() == -9.0 &&
           h.magnitude->upper_bounds().size() == 22);
    im.numeric.push_back(h);
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
    h.has_vocabulary = reference != nullptr;
    for (int s : {kOk, kMissing, kUnseen}) {
      h.status[s] = &statuses.Add({im.model, im.version, f.name, kStatusNames[s]});
    }
    im.categorical.push_back(h);
    layout->categories.emplace_back(std::move(p.known));
    layout->unseen_id.push_back(known);
    if (drift != nullptr) {
      add_target(Impl::DriftTarget::Source::kCategory, i, std::move(p.reference),
                 f.name, false);
    }
  }
  layout->names = detail::NameTable(std::move(all_names));
  im.layout = std::move(layout);
  if (!im.targets.empty()) {
    im.windows = std::make_unique<detail::WindowSnapshots>(
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
  const std::uint64_t* present = f.present_.data();
  const std::size_t n = im.numeric.size();
  // One slot look-up for every instrument this vector touches.
  const int slot = detail::CurrentSlot();
  for (std::size_t i = 0; i < n; ++i) {
    const Impl::NumericHot& h = im.numeric[i];
    if (!((present[i >> 6] >> (i & 63)) & 1)) {
      detail::AddDoubleAt(slot, h.status_cells[kMissing], 0, 1.0);
      continue;
    }
    const double v = f.values_[i];
    if (__builtin_expect(!std::isfinite(v), 0)) {
      detail::AddDoubleAt(slot, h.status_cells[kNaN], 0, 1.0);
      continue;
    }
    // Out-of-range values are still observed: the histograms then show
    // where they went (a unit change is out of range *and* drifts).
    detail::AddDoubleAt(slot, h.status_cells[(v < h.lo || v > h.hi) ? kOutOfRange : kOk],
                        0, 1.0);
    detail::AddOneAndDoubleAt(slot, h.value_cells, h.value->BucketOf(v),
                              h.value_sum, v);
    if (v != 0.0) {
      const double d = MagnitudeDecade(v);
      // Decades are the bounds -9..12 themselves: bucket = d + 9 (13: +Inf).
      detail::AddOneAndDoubleAt(slot, h.magnitude_cells,
                                static_cast<std::size_t>(d + 9.0),
                                h.magnitude_sum, d);
    }
  }
  for (std::size_t c = 0; c < im.categorical.size(); ++c) {
    const Impl::CategoricalHot& h = im.categorical[c];
    const std::size_t i = n + c;
    if (!((present[i >> 6] >> (i & 63)) & 1)) {
      h.status[kMissing]->IncrementAt(slot);
      continue;
    }
    const std::uint32_t id = f.category_ids_[c];
    detail::AddOneAt(slot, h.cells, id);
    h.status[h.has_vocabulary && id == h.unseen_id ? kUnseen : kOk]
        ->IncrementAt(slot);
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
      const double* current = im.counts.data() + t.offset;
      const std::size_t bins = t.reference.size();
      double total = 0;
      for (std::size_t b = 0; b < bins; ++b) total += current[b];
      // Too few observations (or none): PSI & co. would be noise, so the
      // gauges keep their value.
      if (!(total >= min_samples)) continue;
      const DriftScores scores = ComputeDrift(current, t.reference.data(), bins);
      for (std::size_t k = 0; k < kNumDriftMethods; ++k) {
        Gauge* g = t.gauges[w][k];
        if (g != nullptr && std::isfinite(scores.value[k])) g->Set(scores.value[k]);
      }
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
