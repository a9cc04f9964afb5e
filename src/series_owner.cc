// SeriesOwner: one signal's claim on a registry and the series it bound.

#include "internal/series_owner.h"

#include <fmt/format.h>

#include "internal/config_errors.h"
#include "internal/staged_series.h"
#include "internal/text_format.h"

namespace mlmon {
namespace internal {

SeriesOwner::SeriesOwner(Registry& registry, std::string kind,
                         std::string model, std::string version)
    : link_(registry.link_),
      kind_(std::move(kind)),
      model_(SanitizeUtf8(model)),
      version_(SanitizeUtf8(version)) {
  detail::MutexLock lock(link_->mu);
  registry.Claim(kind_, model_, version_);
  ++link_->owners;
}

SeriesOwner::~SeriesOwner() {
  detail::MutexLock lock(link_->mu);
  --link_->owners;
  Registry* registry = link_->registry;
  if (registry == nullptr) return;  // its families outlive it, in memory
  std::vector<std::pair<detail::FamilyBase*, std::size_t>> bound;
  {
    detail::MutexLock own(mu_);
    bound.swap(bound_);
  }
  for (const auto& [family, slot] : bound) family->Release(slot);
  registry->Unclaim(kind_, model_, version_);
}

Registry& SeriesOwner::registry() const {
  detail::MutexLock lock(link_->mu);
  if (link_->registry == nullptr) {
    throw SetupError(kind_, "its registry was destroyed", Describe());
  }
  return *link_->registry;
}

std::string SeriesOwner::Describe() const {
  return fmt::format("model '{}' version '{}'", model_, version_);
}

template <typename T>
T& SeriesOwner::Bind(Family<T>& family, const std::vector<std::string>& values,
                     const std::vector<double>* bounds) {
  detail::MutexLock lock(link_->mu);
  if (link_->registry == nullptr) {
    throw SetupError(kind_, "its registry was destroyed", Describe());
  }
  auto [series, slot] = family.AddWithBounds(values, bounds, /*owned=*/true);
  detail::MutexLock own(mu_);
  bound_.emplace_back(&family, slot);
  return *series;
}

template <typename T>
T* SeriesOwner::Adopt(Family<T>& family, const std::vector<std::string>& values,
                      std::unique_ptr<T>* inst) {
  detail::MutexLock lock(link_->mu);
  if (link_->registry == nullptr) {
    throw SetupError(kind_, "its registry was destroyed", Describe());
  }
  // Taken or not, the series is held (one owner count) until this owner
  // goes: a caller that folds its counts into an existing series needs it
  // alive.
  const auto [series, slot] = family.AdoptSeries(values, inst);
  detail::MutexLock own(mu_);
  bound_.emplace_back(&family, slot);
  return series;
}

template Counter* SeriesOwner::Adopt(Family<Counter>&,
                                     const std::vector<std::string>&,
                                     std::unique_ptr<Counter>*);
template Gauge* SeriesOwner::Adopt(Family<Gauge>&,
                                   const std::vector<std::string>&,
                                   std::unique_ptr<Gauge>*);
template Histogram* SeriesOwner::Adopt(Family<Histogram>&,
                                       const std::vector<std::string>&,
                                       std::unique_ptr<Histogram>*);

template <typename T>
T& SeriesOwner::Add(Family<T>& family, const std::vector<std::string>& values) {
  return Bind(family, values, nullptr);
}

Histogram& SeriesOwner::Add(Family<Histogram>& family,
                            const std::vector<std::string>& values,
                            const std::vector<double>& bounds) {
  return Bind(family, values, &bounds);
}

detail::DropSink* SeriesOwner::drops() {
  return registry().SinkFor(model_, version_);
}

template Counter& SeriesOwner::Add(Family<Counter>&,
                                   const std::vector<std::string>&);
template Gauge& SeriesOwner::Add(Family<Gauge>&,
                                 const std::vector<std::string>&);
template UpDownGauge& SeriesOwner::Add(Family<UpDownGauge>&,
                                       const std::vector<std::string>&);
template Histogram& SeriesOwner::Add(Family<Histogram>&,
                                     const std::vector<std::string>&);

template <typename T>
T& OwnedFamily<T>::Add(const std::vector<std::string>& values) const {
  if constexpr (!std::is_same_v<T, UpDownGauge>) {
    if (stage_ != nullptr) {
      return stage_->Stage(*family_, values,
                           std::is_same_v<T, Histogram> ? &bounds_ : nullptr);
    }
  }
  if constexpr (std::is_same_v<T, Histogram>) {
    if (owner_ == nullptr) return family_->Add(values, bounds_);
    return owner_->Add(*family_, values, bounds_);
  } else {
    if (owner_ == nullptr) return family_->Add(values);
    return owner_->Add(*family_, values);
  }
}

template class OwnedFamily<Counter>;
template class OwnedFamily<Gauge>;
template class OwnedFamily<UpDownGauge>;
template class OwnedFamily<Histogram>;

template <typename T>
Family<T>& SeriesOwner::Register(const MetricOf<T>& m) {
  Registry& r = registry();
  // Histograms: bounds per series, so that each model brings its own.
  return r.GetOrAdd<T>(std::string(m.def.name), std::string(m.def.help),
                       ExpositionType(m.def.instrument),
                       m.def.labels.ToVector(), {}, Describe());
}

template Family<Counter>& SeriesOwner::Register(const MetricOf<Counter>&);
template Family<Gauge>& SeriesOwner::Register(const MetricOf<Gauge>&);
template Family<UpDownGauge>& SeriesOwner::Register(
    const MetricOf<UpDownGauge>&);
template Family<Histogram>& SeriesOwner::Register(const MetricOf<Histogram>&);

OwnedFamily<Counter> AddFamily(SeriesOwner& owner, const MetricOf<Counter>& m) {
  return {owner.Register(m), &owner};
}

OwnedFamily<Gauge> AddFamily(SeriesOwner& owner, const MetricOf<Gauge>& m) {
  return {owner.Register(m), &owner};
}

OwnedFamily<UpDownGauge> AddFamily(SeriesOwner& owner,
                                   const MetricOf<UpDownGauge>& m) {
  return {owner.Register(m), &owner};
}

OwnedFamily<Histogram> AddFamily(SeriesOwner& owner,
                                 const MetricOf<Histogram>& m,
                                 std::vector<double> upper_bounds) {
  ValidateBucketBounds(upper_bounds);
  return {owner.Register(m), &owner, std::move(upper_bounds)};
}

}  // namespace internal
}  // namespace mlmon
