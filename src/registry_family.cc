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
  return keys_.size();
}

std::size_t FamilyBase::FindOrAdd(const std::vector<std::string>& raw_values,
                                  const std::function<void(DropSink*)>& make) {
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
  // The registry's own accounting families never drop (they only add 1), and
  // must not recurse into DropsFor.
  DropSink* drops = internal_ ? nullptr : registry_->DropsFor(model, version);
  std::size_t index = 0;
  {
    detail::MutexLock lock(mu_);
    auto it = index_.find(values);
    std::vector<std::string> key = values;
    if (it == index_.end() && keys_.size() >= max_series_) {
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
      make(drops);  // may throw; nothing is changed yet
      index = keys_.size();
      keys_.push_back(std::move(sk));
      index_.emplace(std::move(key), index);
    }
  }
  if (overflowed) registry_->CountOverflow(model, version, name_);
  return index;
}

}  // namespace detail

template <typename T>
T& Family<T>::Add(const std::vector<std::string>& label_values) {
  return AddWithBounds(label_values, nullptr);
}

template <typename T>
template <typename U, typename>
T& Family<T>::Add(const std::vector<std::string>& label_values,
                  const std::vector<double>& bounds) {
  return AddWithBounds(label_values, &bounds);
}

template <typename T>
T& Family<T>::AddWithBounds(const std::vector<std::string>& label_values,
                            const std::vector<double>* bounds) {
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
  std::size_t i =
      FindOrAdd(label_values, [&](detail::DropSink* drops) MLMON_REQUIRES(mu_) {
        if constexpr (std::is_same_v<T, Histogram>) {
          series_.push_back(std::make_unique<Histogram>(
              bounds != nullptr ? *bounds : bounds_, drops));
        } else {
          series_.push_back(std::make_unique<T>(drops));
        }
      });
  detail::MutexLock lock(mu_);
  if constexpr (std::is_same_v<T, Histogram>) {
    if (bounds != nullptr && series_[i]->upper_bounds() != *bounds) {
      throw internal::SetupError(
          fmt::format("metric {}{{{}}}", name_, keys_[i].rendered),
          fmt::format("the series exists with bounds [{}]",
                      fmt::join(series_[i]->upper_bounds(), ", ")),
          fmt::format("[{}]", fmt::join(*bounds, ", ")));
    }
  }
  return *series_[i];
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
