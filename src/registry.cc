// The registry: families by name, the model/version admission, the drop
// and overflow accounting, attached collectables. Families are in
// registry_family.cc, the exposition in registry_exposition.cc.

#include "mlmon/registry.h"

#include <fmt/format.h>

#include <utility>

#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"
#include "internal/registry_names.h"
#include "internal/series_owner.h"
#include "internal/text_format.h"

namespace mlmon {

using internal::kOverflowLabel;

Registry::Registry() : Registry(Options{}) {}

Registry::Registry(Options options)
    : options_(options), link_(std::make_shared<internal::RegistryLink>()) {
  {
    detail::MutexLock lock(link_->mu);
    link_->registry = this;
  }
  if (options_.max_series_per_family == 0) {
    throw internal::SetupError("Registry::Options.max_series_per_family",
                               "must be > 0", "0");
  }
  if (options_.max_model_versions == 0) {
    throw internal::SetupError("Registry::Options.max_model_versions",
                               "must be > 0", "0");
  }
}

Registry::~Registry() {
  detail::MutexLock link(link_->mu);
  link_->registry = nullptr;
  if (link_->owners == 0) return;
  // Signals still hold instruments of these families: the link keeps them
  // until the last signal goes, so that a late recording call writes into
  // live memory.
  detail::MutexLock lock(mu_);
  for (auto& [name, family] : families_) {
    link_->orphans.push_back(std::move(family));
  }
  for (auto& [pair, sink] : drops_)
    link_->orphan_drops.push_back(std::move(sink));
}

template <typename T>
Family<T>& Registry::GetOrAdd(const std::string& name, const std::string& help,
                              MetricType type,
                              const std::vector<std::string>& label_names,
                              std::vector<double> bounds,
                              const std::string& registrant) {
  internal::CheckFamilyNames(name, type, label_names);
  // Histograms: empty bounds = bounds per series (3-argument AddHistogram).
  if (type == MetricType::kHistogram && !bounds.empty()) {
    ValidateBucketBounds(bounds);
  }
  detail::MutexLock lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    auto* existing = dynamic_cast<Family<T>*>(it->second.get());
    if (existing == nullptr || existing->type() != type ||
        existing->label_names() != label_names || existing->bounds_ != bounds) {
      const detail::FamilyBase& old = *it->second;
      auto describe = [](MetricType t, const std::vector<std::string>& labels,
                         const std::vector<double>& b, const std::string& who) {
        std::string s =
            fmt::format("{} with labels ({})", internal::ExpositionTypeName(t),
                        fmt::join(labels, ", "));
        if (t == MetricType::kHistogram) {
          s += b.empty() ? " and bounds per series"
                         : fmt::format(" and bounds [{}]", fmt::join(b, ", "));
        }
        return s + " by " + (who.empty() ? "user code" : who);
      };
      const auto* old_hist = dynamic_cast<const Family<Histogram>*>(&old);
      throw internal::SetupError(
          "metric " + name,
          "registered as " +
              describe(old.type(), old.label_names(),
                       old_hist != nullptr ? old_hist->bounds_
                                           : std::vector<double>{},
                       old.registrant_) +
              "; asked again as " +
              describe(type, label_names, bounds, registrant));
    }
    return *existing;
  }
  // A histogram's `_bucket`, `_sum` and `_count` samples must not collide
  // with another family's samples.
  for (const char* suffix : internal::kHistogramSuffixes) {
    const std::string s(suffix);
    if (type == MetricType::kHistogram && families_.count(name + s) != 0) {
      throw internal::SetupError(
          "metric " + name,
          "a histogram whose samples would have the name of another metric",
          name + s);
    }
    if (name.size() > s.size() &&
        name.compare(name.size() - s.size(), s.size(), s) == 0) {
      auto base = families_.find(name.substr(0, name.size() - s.size()));
      if (base != families_.end() &&
          base->second->type() == MetricType::kHistogram) {
        throw internal::SetupError(
            "metric " + name, "the name of a sample of histogram", base->first);
      }
    }
  }
  std::unique_ptr<Family<T>> fam(
      new Family<T>(this, name, help, type, label_names,
                    options_.max_series_per_family, std::move(bounds)));
  fam->registrant_ = registrant;
  Family<T>& ref = *fam;
  families_.emplace(name, std::move(fam));
  return ref;
}

Family<Counter>& Registry::AddCounter(
    const std::string& name, const std::string& help,
    const std::vector<std::string>& label_names) {
  return GetOrAdd<Counter>(name, help, MetricType::kCounter, label_names, {});
}

Family<Gauge>& Registry::AddGauge(const std::string& name,
                                  const std::string& help,
                                  const std::vector<std::string>& label_names) {
  return GetOrAdd<Gauge>(name, help, MetricType::kGauge, label_names, {});
}

Family<UpDownGauge>& Registry::AddUpDownGauge(
    const std::string& name, const std::string& help,
    const std::vector<std::string>& label_names) {
  return GetOrAdd<UpDownGauge>(name, help, MetricType::kGauge, label_names, {});
}

Family<Histogram>& Registry::AddHistogram(
    const std::string& name, const std::string& help,
    const std::vector<std::string>& label_names,
    std::vector<double> upper_bounds) {
  ValidateBucketBounds(upper_bounds);
  return GetOrAdd<Histogram>(name, help, MetricType::kHistogram, label_names,
                             std::move(upper_bounds));
}

Family<Histogram>& Registry::AddHistogram(
    const std::string& name, const std::string& help,
    const std::vector<std::string>& label_names) {
  return GetOrAdd<Histogram>(name, help, MetricType::kHistogram, label_names,
                             {});
}

bool Registry::AdmitModelVersion(const std::string& model,
                                 const std::string& version) {
  if (model.empty() && version.empty()) return true;  // not a model's series
  if (model == kOverflowLabel && version == kOverflowLabel) return true;
  detail::MutexLock lock(mu_);
  if (model_versions_.count({model, version}) != 0) return true;
  if (model_versions_.size() >= options_.max_model_versions) return false;
  model_versions_.emplace(model, version);
  return true;
}

std::size_t Registry::model_versions() const {
  detail::MutexLock lock(mu_);
  return model_versions_.size();
}

detail::DropSink* Registry::DropsFor(const std::string& model,
                                     const std::string& version) {
  PinPair(model, version);
  return SinkFor(model, version);
}

detail::DropSink* Registry::SinkFor(const std::string& raw_model,
                                    const std::string& raw_version) {
  std::string model = internal::SanitizeUtf8(raw_model);
  std::string version = internal::SanitizeUtf8(raw_version);
  if (!AdmitModelVersion(model, version)) {
    model = version = kOverflowLabel;
    CountOverflow(model, version,
                  std::string(internal::metrics::kDroppedTotal.def.name));
  }
  {
    detail::MutexLock lock(mu_);
    auto it = drops_.find({model, version});
    if (it != drops_.end()) return it->second.get();
  }
  auto& fam = internal::AddFamily(*this, internal::metrics::kDroppedTotal);
  auto sink = std::make_unique<detail::DropSink>();
  for (std::size_t r = 0; r < kNumDropReasons; ++r) {
    // The drop counters themselves never drop (they only add 1).
    std::size_t i = fam.FindOrAdd(
        {model, version, DropReasonName(static_cast<DropReason>(r))},
        /*owned=*/false,
        [&](detail::DropSink*, std::size_t slot) MLMON_REQUIRES(fam.mu_) {
          fam.Place(slot, std::make_unique<Counter>(nullptr));
        });
    detail::MutexLock lock(fam.mu_);
    sink->by_reason[r] = fam.series_[i].get();
  }
  detail::MutexLock lock(mu_);
  auto [it, inserted] =
      drops_.emplace(std::make_pair(model, version), std::move(sink));
  return it->second.get();
}

void Registry::CountOverflow(const std::string& model,
                             const std::string& version,
                             const std::string& metric) {
  if (metric == internal::metrics::kLabelOverflowTotal.def.name) {
    return;  // never recurse
  }
  auto& fam =
      internal::AddFamily(*this, internal::metrics::kLabelOverflowTotal);
  fam.Add({model, version, metric}).Increment();
}

void Registry::Claim(const std::string& kind, const std::string& model,
                     const std::string& version) {
  detail::MutexLock lock(mu_);
  if (!claims_.insert({kind, model, version}).second) {
    throw internal::SetupError(
        kind, "this registry holds one already for the model version",
        fmt::format("model '{}' version '{}'", model, version));
  }
  ++pairs_[{model, version}].owners;
}

void Registry::Unclaim(const std::string& kind, const std::string& model,
                       const std::string& version) {
  std::unique_ptr<detail::DropSink> sink;
  detail::MutexLock lock(mu_);
  claims_.erase({kind, model, version});
  auto it = pairs_.find({model, version});
  if (it == pairs_.end() || --it->second.owners > 0 || it->second.pinned) {
    return;
  }
  pairs_.erase(it);
  model_versions_.erase({model, version});
  auto d = drops_.find({model, version});
  if (d != drops_.end()) {
    sink = std::move(d->second);
    drops_.erase(d);
  }
  // Under the registry lock, so that a new owner of the same pair cannot
  // bind accounting series that this would then remove.
  for (const auto* def : {&internal::metrics::kDroppedTotal.def,
                          &internal::metrics::kLabelOverflowTotal.def}) {
    auto f = families_.find(std::string(def->name));
    if (f != families_.end()) f->second->RemovePair(model, version);
  }
}

void Registry::PinPair(const std::string& raw_model,
                       const std::string& raw_version) {
  std::string model = internal::SanitizeUtf8(raw_model);
  std::string version = internal::SanitizeUtf8(raw_version);
  if (model.empty() && version.empty()) return;
  detail::MutexLock lock(mu_);
  pairs_[{model, version}].pinned = true;
}

std::vector<detail::FamilyBase*> Registry::Families() const {
  detail::MutexLock lock(mu_);
  std::vector<detail::FamilyBase*> out;
  out.reserve(families_.size());
  for (const auto& [name, fam] : families_) out.push_back(fam.get());
  return out;
}

void Registry::Attach(std::weak_ptr<prometheus::Collectable> collectable) {
  detail::MutexLock lock(mu_);
  attached_.push_back(std::move(collectable));
}

}  // namespace mlmon
