#include "mlmon/feature_monitor.h"

#include <fmt/format.h>

#include <array>
#include <cassert>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>

#include "internal/drift_gauges.h"
#include "internal/feature_bins.h"
#include "internal/feature_layout.h"
#include "internal/feature_spec_checks.h"
#include "internal/metric_catalogue.h"
#include "internal/name_index.h"
#include "internal/series_owner.h"
#include "internal/window_snapshots.h"
#include "mlmon/detail/cells.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/drift.h"
#include "mlmon/duration.h"

namespace mlmon {
namespace {

enum Status : int { kOk = 0, kMissing, kNaN, kOutOfRange, kUnseen };
constexpr int kNumStatuses = 5;
const char* const kStatusNames[kNumStatuses] = {"ok", "missing", "nan",
                                                "out_of_range", "unseen"};

}  // namespace

struct FeatureMonitor::Impl {
  // Hot state of one numeric feature: everything Observe touches, and
  // nothing else (the instruments themselves are in `numeric_instruments`).
  // Observe touches no instrument object, only these refs and the cells.
  struct NumericHot {
    double lo, hi;            // valid range; -inf / +inf when unset
    const double* bounds;     // the value histogram's bounds, in `bounds`,
    std::uint32_t padded;     // padded with +inf to an even count
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
    // The bins for fleet-wide drift, advanced by Tick (under tick_mu).
    internal::DriftBinSeries bins;
  };
  // The registry families of this monitor's series.
  struct Families {
    std::optional<internal::OwnedFamily<Counter>> statuses;
    // Empty without numeric features.
    std::optional<internal::OwnedFamily<Histogram>> magnitudes;
    // Empty without reference or windows.
    std::optional<internal::OwnedFamily<Gauge>> drift;
    Family<Histogram>* values = nullptr;  // bounds per feature
  };
  // What Observe reads from a FeatureVector.
  struct Input {
    const std::uint32_t* set_in;
    std::uint32_t generation;
    const double* values;
    const std::uint32_t* category_ids;
  };

  // Set-up steps of the constructor, in order.
  void BindFamilies(Registry& registry, bool with_drift);
  // Binds a series of `mlmon_feature_value` on the feature's own bounds.
  Histogram& AddValueSeries(const std::string& feature,
                            const std::vector<double>& feature_bounds) {
    return owner->Add(*families.values, {model, version, feature},
                      feature_bounds);
  }
  void AddNumeric(std::size_t i, internal::NumericPlan& plan);
  void AddCategorical(std::size_t i, internal::CategoricalPlan& plan,
                      bool with_reference);
  void AddDriftTarget(DriftTarget::Source source, std::size_t feature,
                      std::vector<double> reference, const std::string& signal);
  void FinishLayout();

  // Observe's work, for an exclusive slot or the shared one.
  template <bool kExclusive>
  void Record(const Input& in, int slot) const noexcept;

  void ReadInto(const DriftTarget& t, double* out) MLMON_REQUIRES(tick_mu);

  // First: destroyed after every instrument it bound.
  std::unique_ptr<internal::SeriesOwner> owner;
  FeatureSpec spec;
  std::string model, version;
  const Clock* clock = nullptr;
  detail::DropSink* drops = nullptr;
  Families families;
  std::vector<std::string> window_labels;  // FormatDuration of spec.windows
  std::shared_ptr<detail::FeatureLayout> building;  // until FinishLayout
  std::shared_ptr<const detail::FeatureLayout> layout;

  std::vector<NumericHot> numeric;
  std::vector<CategoricalHot> categorical;
  std::vector<NumericInstruments> numeric_instruments;  // by numeric index
  std::vector<double> bounds;  // every NumericHot::bounds, back to back
  std::vector<std::size_t> bound_offsets;  // into `bounds`, until final
  std::vector<std::unique_ptr<detail::CellBlock>> category_cells;

  // The drift targets are fixed at set-up; Tick reads them and advances
  // their bin series.
  std::vector<DriftTarget> targets;
  std::size_t read_width = 0;

  detail::Mutex tick_mu;  // never taken by Observe
  std::unique_ptr<internal::WindowSnapshots> windows MLMON_GUARDED_BY(tick_mu);
  std::vector<double> read MLMON_GUARDED_BY(tick_mu);  // scratch, reused
  std::vector<double> counts MLMON_GUARDED_BY(tick_mu);
  std::vector<std::uint64_t> ints MLMON_GUARDED_BY(tick_mu);
  Histogram::Snapshot snap MLMON_GUARDED_BY(tick_mu);
};

// ------------------------------------------------------------------ set-up

void FeatureMonitor::Impl::BindFamilies(Registry& registry, bool with_drift) {
  owner = std::make_unique<internal::SeriesOwner>(registry, "FeatureMonitor",
                                                  model, version);
  drops = owner->drops();
  families.statuses =
      internal::AddFamily(*owner, internal::metrics::kFeatureValuesTotal);
  if (!spec.numeric.empty()) {
    families.magnitudes = internal::AddFamily(
        *owner, internal::metrics::kFeatureMagnitude, DefaultLog10Bounds());
  }
  if (with_drift) {
    families.drift =
        internal::AddFamily(*owner, internal::metrics::kDriftScore);
  }
  families.values = &owner->Register(internal::metrics::kFeatureValue);
}

void FeatureMonitor::Impl::AddDriftTarget(DriftTarget::Source source,
                                          std::size_t feature,
                                          std::vector<double> reference,
                                          const std::string& signal) {
  DriftTarget t{source, feature, read_width, std::move(reference), {}, {}};
  read_width += t.reference.size();
  t.bins.Bind(*owner, signal, t.reference);
  // Categories have no order: KS over cumulative shares would depend on the
  // order of the bins, so a categorical signal has PSI, JS and L-inf only.
  const bool ordered = source != DriftTarget::Source::kCategory;
  for (const std::string& w : window_labels) {
    std::array<Gauge*, kNumDriftMethods> g{};
    for (std::size_t k = 0; k < kNumDriftMethods; ++k) {
      const auto method = static_cast<DriftMethod>(k);
      if (!ordered && method == DriftMethod::kKs) continue;
      g[k] = &families.drift->Add(
          {model, version, signal, DriftMethodName(method), w});
    }
    t.gauges.push_back(g);
  }
  targets.push_back(std::move(t));
}

void FeatureMonitor::Impl::AddNumeric(std::size_t i,
                                      internal::NumericPlan& plan) {
  const auto& f = spec.numeric[i];
  NumericHot h{};
  h.lo = std::isnan(f.min) ? -HUGE_VAL : f.min;
  h.hi = std::isnan(f.max) ? HUGE_VAL : f.max;
  NumericInstruments in{};
  in.value = &AddValueSeries(f.name, plan.bounds);
  in.magnitude = &families.magnitudes->Add({model, version, f.name});
  for (int s : {kOk, kMissing, kNaN, kOutOfRange}) {
    h.status_cells[s] =
        families.statuses->Add({model, version, f.name, kStatusNames[s]})
            .cell_ref();
  }
  // The bounds the series really has (an existing series keeps its own).
  const std::vector<double>& b = in.value->upper_bounds();
  h.padded = static_cast<std::uint32_t>((b.size() + 1) & ~std::size_t{1});
  h.value_sum = static_cast<std::uint32_t>(b.size() + 1);
  bound_offsets.push_back(bounds.size());
  bounds.insert(bounds.end(), b.begin(), b.end());
  bounds.resize(bounds.size() + (h.padded - b.size()), HUGE_VAL);
  h.value_cells = in.value->cell_ref();
  h.magnitude_cells = in.magnitude->cell_ref();
  assert(in.magnitude->upper_bounds() == DefaultLog10Bounds());
  numeric.push_back(h);
  numeric_instruments.push_back(in);
  if (families.drift) {
    AddDriftTarget(DriftTarget::Source::kValue, i, std::move(plan.reference),
                   f.name);
    if (!plan.log10_reference.empty()) {
      AddDriftTarget(DriftTarget::Source::kMagnitude, i,
                     std::move(plan.log10_reference),
                     f.name + internal::kLog10Suffix);
    }
  }
}

void FeatureMonitor::Impl::AddCategorical(std::size_t i,
                                          internal::CategoricalPlan& plan,
                                          bool with_reference) {
  const auto& f = spec.categorical[i];
  const auto known = static_cast<std::uint32_t>(plan.known.size());
  category_cells.push_back(std::make_unique<detail::CellBlock>(known + 1));
  CategoricalHot h{};
  h.cells = category_cells.back()->ref();
  h.unseen_id = known;
  h.unseen_status = with_reference ? kUnseen : kOk;
  for (int s : {kOk, kMissing, kUnseen}) {
    h.status_cells[s] =
        families.statuses->Add({model, version, f.name, kStatusNames[s]})
            .cell_ref();
  }
  categorical.push_back(h);
  building->categories.emplace_back(plan.known);
  building->unseen_id.push_back(known);
  if (families.drift) {
    AddDriftTarget(DriftTarget::Source::kCategory, i, std::move(plan.reference),
                   f.name);
  }
}

void FeatureMonitor::Impl::FinishLayout() {
  std::vector<std::string> names;
  for (const auto& f : spec.numeric) names.push_back(f.name);
  for (const auto& f : spec.categorical) names.push_back(f.name);
  building->names = internal::NameTable(names);
  layout = std::move(building);
  // `bounds` is final now: offsets become pointers.
  for (std::size_t i = 0; i < numeric.size(); ++i) {
    numeric[i].bounds = bounds.data() + bound_offsets[i];
  }
  bound_offsets.clear();
}

FeatureMonitor::FeatureMonitor(Registry& registry, std::string model,
                               std::string version, FeatureSpec spec,
                               const ReferenceProfile* reference,
                               const Clock* clock)
    : impl_(std::make_unique<Impl>()) {
  // Every ConfigError comes before anything is registered.
  internal::ValidateFeatureSpec(spec, model, registry);
  internal::FeaturePlans plans = internal::PlanFeatures(spec, reference);

  Impl& im = *impl_;
  im.spec = std::move(spec);
  im.model = std::move(model);
  im.version = std::move(version);
  im.clock = clock != nullptr ? clock : &SteadyClock::Instance();
  for (const auto& w : im.spec.windows) {
    im.window_labels.push_back(FormatDuration(w));
  }
  im.BindFamilies(registry, reference != nullptr && !im.spec.windows.empty());

  im.building = std::make_shared<detail::FeatureLayout>();
  im.building->num_numeric = static_cast<std::uint32_t>(im.spec.numeric.size());
  im.building->num_features = static_cast<std::uint32_t>(
      im.spec.numeric.size() + im.spec.categorical.size());
  im.building->drops = im.drops;
  for (std::size_t i = 0; i < im.spec.numeric.size(); ++i) {
    im.AddNumeric(i, plans.numeric[i]);
  }
  for (std::size_t i = 0; i < im.spec.categorical.size(); ++i) {
    im.AddCategorical(i, plans.categorical[i], reference != nullptr);
  }
  im.FinishLayout();

  if (!im.targets.empty()) {
    detail::MutexLock lock(im.tick_mu);
    im.windows = std::make_unique<internal::WindowSnapshots>(
        im.read_width, im.spec.windows, im.spec.slices_per_window);
    im.read.assign(im.read_width, 0.0);
  }
}

FeatureMonitor::~FeatureMonitor() {
  if (impl_ != nullptr && impl_->layout != nullptr) {
    impl_->layout->drops.store(nullptr, std::memory_order_release);
  }
}

FeatureHandle FeatureMonitor::Find(std::string_view name) const {
  const std::int64_t i = impl_->layout->names.Find(name);
  return i < 0 ? FeatureHandle() : FeatureHandle(static_cast<std::uint32_t>(i));
}

FeatureVector FeatureMonitor::NewVector() const {
  return FeatureVector(impl_->layout);
}

// ---------------------------------------------------------------- hot path

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
    cells.AddOneAndDouble(h.value_cells,
                          internal::CountBelow(h.bounds, h.padded, v),
                          h.value_sum, v);
    if (v != 0.0) {
      const std::size_t b = internal::MagnitudeBucket(v);
      // Bucket b is decade b - 9 (bounds -9 .. 12; 22 is +Inf, decade 13).
      cells.AddOneAndDouble(h.magnitude_cells, b, internal::kMagnitudeSum,
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

// ------------------------------------------------------------------- drift

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

void FeatureMonitor::Tick() {
  Impl& im = *impl_;
  detail::MutexLock lock(im.tick_mu);
  if (im.targets.empty()) return;
  for (auto& t : im.targets) {
    im.ReadInto(t, im.read.data() + t.offset);
    t.bins.Advance(im.read.data() + t.offset);
  }
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
