// Families: binding label values to series, with the per-family and the
// registry-wide model/version caps.

#include <fmt/format.h>

#include <utility>

#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"
#include "internal/registry_names.h"
#include "internal/text_format.h"
#include "mlmon/registry.h"

namespace mlmon {

namespace {

using internal::kOverflowLabel;

// Label names whose values survive folding into the overflow series.
bool KeptOnOverflow(const std::string& label) {
  return label == "model" || label == "version";
}

std::string ValueOf(const std::vector<std::string>& names,
                    const std::vector<std::string>& values,
                    const std::string& name) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return values[i];
  }
  return {};
}

}  // namespace

namespace detail {

FamilyBase::FamilyBase(Registry* registry, std::string name, std::string help,
                       MetricType type, std::vector<std::string> label_names,
                       std::size_t max_series)
    : registry_(registry),
      name_(std::move(name)),
      help_(internal::SanitizeUtf8(help)),
      type_(type),
      label_names_(std::move(label_names)),
      max_series_(max_series),
      internal_(name_ == internal::metrics::kDroppedTotal.def.name ||
                name_ == internal::metrics::kLabelOverflowTotal.def.name) {}

FamilyBase::~FamilyBase() = default;

std::size_t FamilyBase::size() const {
  detail::MutexLock lock(mu_);
  return keys_.size() - free_.size();
}

void FamilyBase::RemoveSlot(std::size_t slot) {
  SeriesKey& key = keys_[slot];
  index_.erase(key.values);
  FreeSeries(slot);
  key = SeriesKey{};
  free_.push_back(slot);
}

void FamilyBase::Release(std::size_t slot) {
  detail::MutexLock lock(mu_);
  SeriesKey& key = keys_[slot];
  if (!key.live || key.owners == 0) return;
  if (--key.owners == 0 && !key.pinned) RemoveSlot(slot);
}

void FamilyBase::RemovePair(const std::string& model,
                            const std::string& version) {
  detail::MutexLock lock(mu_);
  for (std::size_t slot = 0; slot < keys_.size(); ++slot) {
    const SeriesKey& key = keys_[slot];
    if (key.live && ValueOf(label_names_, key.values, "model") == model &&
        ValueOf(label_names_, key.values, "version") == version) {
      RemoveSlot(slot);
    }
  }
}

std::size_t FamilyBase::FindOrAdd(
    const std::vector<std::string>& raw_values, bool owned,
    const std::function<void(DropSink*, std::size_t)>& make) {
  if (raw_values.size() != label_names_.size()) {
    throw internal::SetupError(
        "metric " + name_,
        fmt::format("has {} label(s) ({}), but {} value(s) were given",
                    label_names_.size(), fmt::join(label_names_, ", "),
                    raw_values.size()));
  }
  // The key is the text the exposition prints, so that values printing the
  // same (e.g. two invalid bytes, both U+FFFD) are one series.
  std::vector<std::string> values;
  values.reserve(raw_values.size());
  for (const auto& v : raw_values) values.push_back(internal::SanitizeUtf8(v));
  std::string model = ValueOf(label_names_, values, "model");
  std::string version = ValueOf(label_names_, values, "version");
  // Both before our lock: the registry lock is never taken while a family
  // lock is held.
  bool overflowed = false;
  if (!registry_->AdmitModelVersion(model, version)) {
    overflowed = true;
    model = version = kOverflowLabel;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (KeptOnOverflow(label_names_[i])) values[i] = kOverflowLabel;
    }
  }
  // A series bound for the registry's lifetime keeps its model version's
  // accounting series too.
  if (!owned && !internal_) registry_->PinPair(model, version);
  // The registry's own accounting families never drop (they only add 1), and
  // must not recurse into SinkFor.
  DropSink* drops = internal_ ? nullptr : registry_->SinkFor(model, version);
  std::size_t index = 0;
  {
    detail::MutexLock lock(mu_);
    auto it = index_.find(values);
    std::vector<std::string> key = values;
    if (it == index_.end() && keys_.size() - free_.size() >= max_series_) {
      overflowed = true;
      for (std::size_t i = 0; i < key.size(); ++i) {
        if (!KeptOnOverflow(label_names_[i])) key[i] = kOverflowLabel;
      }
      it = index_.find(key);
    }
    if (it != index_.end()) {
      index = it->second;  // the overflow series exists already
    } else {
      SeriesKey sk;
      for (std::size_t i = 0; i < key.size(); ++i) {
        if (i > 0) sk.rendered.push_back(',');
        sk.rendered.append(label_names_[i]);
        sk.rendered.append("=\"");
        internal::AppendEscapedLabelValue(&sk.rendered, key[i]);
        sk.rendered.push_back('"');
      }
      sk.values = key;
      sk.live = true;
      index = free_.empty() ? keys_.size() : free_.back();
      make(drops, index);  // may throw; nothing is changed yet
      if (index == keys_.size()) {
        keys_.push_back(std::move(sk));
      } else {
        free_.pop_back();
        keys_[index] = std::move(sk);
      }
      index_.emplace(std::move(key), index);
    }
    if (owned) {
      ++keys_[index].owners;
    } else {
      keys_[index].pinned = true;
    }
  }
  if (overflowed) registry_->CountOverflow(model, version, name_);
  return index;
}

}  // namespace detail

template <typename T>
T& Family<T>::Add(const std::vector<std::string>& label_values) {
  return *AddWithBounds(label_values, nullptr, /*owned=*/false).first;
}

template <typename T>
template <typename U, typename>
T& Family<T>::Add(const std::vector<std::string>& label_values,
                  const std::vector<double>& bounds) {
  return *AddWithBounds(label_values, &bounds, /*owned=*/false).first;
}

template <typename T>
void Family<T>::Place(std::size_t slot, std::unique_ptr<T> series) {
  if (slot == series_.size()) {
    series_.push_back(std::move(series));
  } else {
    series_[slot] = std::move(series);
  }
}

template <typename T>
void Family<T>::FreeSeries(std::size_t slot) {
  series_[slot].reset();
}

template <typename T>
std::pair<T*, std::size_t> Family<T>::AddWithBounds(
    const std::vector<std::string>& label_values,
    const std::vector<double>* bounds, bool owned) {
  if constexpr (std::is_same_v<T, Histogram>) {
    if (bounds == nullptr && bounds_.empty()) {
      throw internal::SetupError(
          "metric " + name_,
          "a histogram with bounds per series: Add() needs the bounds");
    }
    if (bounds != nullptr && !bounds_.empty() && *bounds != bounds_) {
      throw internal::SetupError(
          "metric " + name_,
          fmt::format("a histogram on bounds [{}]; a series cannot have others",
                      fmt::join(bounds_, ", ")),
          fmt::format("[{}]", fmt::join(*bounds, ", ")));
    }
    if (bounds != nullptr) ValidateBucketBounds(*bounds);
  }
  std::size_t i = FindOrAdd(
      label_values, owned,
      [&](detail::DropSink* drops, std::size_t slot) MLMON_REQUIRES(mu_) {
        if constexpr (std::is_same_v<T, Histogram>) {
          Place(slot, std::make_unique<Histogram>(
                          bounds != nullptr ? *bounds : bounds_, drops));
        } else {
          Place(slot, std::make_unique<T>(drops));
        }
      });
  detail::MutexLock lock(mu_);
  if constexpr (std::is_same_v<T, Histogram>) {
    if (bounds != nullptr && series_[i]->upper_bounds() != *bounds) {
      // The bind counted above is undone: the caller gets no reference.
      if (owned && --keys_[i].owners == 0 && !keys_[i].pinned) RemoveSlot(i);
      throw internal::SetupError(
          fmt::format("metric {}{{{}}}", name_, keys_[i].rendered),
          fmt::format("the series exists with bounds [{}]",
                      fmt::join(series_[i]->upper_bounds(), ", ")),
          fmt::format("[{}]", fmt::join(*bounds, ", ")));
    }
  }
  return {series_[i].get(), i};
}

template <typename T>
std::pair<T*, std::size_t> Family<T>::AdoptSeries(
    const std::vector<std::string>& label_values, std::unique_ptr<T>* inst) {
  if constexpr (std::is_same_v<T, Histogram>) {
    if (!bounds_.empty() && (*inst)->upper_bounds() != bounds_) {
      throw internal::SetupError(
          "metric " + name_,
          fmt::format("a histogram on bounds [{}]; a series cannot have others",
                      fmt::join(bounds_, ", ")),
          fmt::format("[{}]", fmt::join((*inst)->upper_bounds(), ", ")));
    }
  }
  const std::size_t i =
      FindOrAdd(label_values, /*owned=*/true,
                [&](detail::DropSink*, std::size_t slot)
                    MLMON_REQUIRES(mu_) { Place(slot, std::move(*inst)); });
  detail::MutexLock lock(mu_);
  return {series_[i].get(), i};
}

// The text and prometheus-cpp output of a family (AppendText,
// AppendPrometheus) are in registry_exposition.cc.
template class Family<Counter>;
template class Family<Gauge>;
template class Family<UpDownGauge>;
template class Family<Histogram>;
template Histogram& Family<Histogram>::Add<Histogram, void>(
    const std::vector<std::string>&, const std::vector<double>&);

}  // namespace mlmon
