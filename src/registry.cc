#include "mlmon/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"
#include "internal/text_format.h"

namespace mlmon {

namespace {

constexpr const char kOverflow[] = "__overflow__";
constexpr const char* kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

void WriteCollected(const std::vector<prometheus::MetricFamily>& families,
                    std::set<std::string>* taken, std::string* out);

bool IsNameChar(char c, bool first, bool colon_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon_ok && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

prometheus::MetricType PromType(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return prometheus::MetricType::Counter;
    case MetricType::kGauge:
      return prometheus::MetricType::Gauge;
    case MetricType::kHistogram:
      return prometheus::MetricType::Histogram;
  }
  return prometheus::MetricType::Untyped;
}

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

bool IsValidMetricName(const std::string& name) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, true)) return false;
  }
  return true;
}

bool IsValidLabelName(const std::string& name) noexcept {
  if (name.empty() || name.rfind("__", 0) == 0) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, false)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- families

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
    model = version = kOverflow;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (KeptOnOverflow(label_names_[i])) values[i] = kOverflow;
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
        if (!KeptOnOverflow(label_names_[i])) key[i] = kOverflow;
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

void FamilyBase::AppendHelpType(std::string* out) const {
  out->append("# HELP ");
  out->append(name_);
  out->push_back(' ');
  internal::AppendEscapedHelp(out, help_);
  out->append("\n# TYPE ");
  out->append(name_);
  out->push_back(' ');
  out->append(TypeName(type_));
  out->push_back('\n');
}

std::vector<prometheus::ClientMetric::Label> FamilyBase::PromLabels(
    const SeriesKey& key) const {
  std::vector<prometheus::ClientMetric::Label> labels;
  labels.reserve(key.values.size());
  for (std::size_t i = 0; i < key.values.size(); ++i) {
    labels.push_back({label_names_[i], key.values[i]});
  }
  return labels;
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

namespace {

void AppendSeriesStart(std::string* out, const std::string& name,
                       const char* suffix, const std::string& labels) {
  out->append(name);
  out->append(suffix);
  if (!labels.empty()) {
    out->push_back('{');
    out->append(labels);
    out->push_back('}');
  }
  out->push_back(' ');
}

void AppendLe(std::string* out, double bound) {
  out->append("le=\"");
  internal::AppendValue(out, bound);
  out->push_back('"');
}

}  // namespace

template <typename T>
void Family<T>::AppendText(std::string* out) const {
  detail::MutexLock lock(mu_);
  if (keys_.empty()) return;
  AppendHelpType(out);
  if constexpr (std::is_same_v<T, Histogram>) {
    std::vector<std::string> les;
    auto render_les = [&les](const std::vector<double>& bounds) {
      les.clear();
      les.reserve(bounds.size() + 1);
      for (double b : bounds) {
        std::string le;
        AppendLe(&le, b);
        les.push_back(std::move(le));
      }
      les.emplace_back("le=\"+Inf\"");
    };
    if (!bounds_.empty()) render_les(bounds_);  // shared by every series
    Histogram::Snapshot snap;
    for (std::size_t s = 0; s < series_.size(); ++s) {
      const std::string& labels = keys_[s].rendered;
      if (bounds_.empty()) render_les(series_[s]->upper_bounds());
      series_[s]->Collect(&snap);
      for (std::size_t b = 0; b < les.size(); ++b) {
        out->append(name_);
        out->append("_bucket{");
        if (!labels.empty()) {
          out->append(labels);
          out->push_back(',');
        }
        out->append(les[b]);
        out->append("} ");
        internal::AppendValue(out, static_cast<double>(snap.cumulative[b]));
        out->push_back('\n');
      }
      AppendSeriesStart(out, name_, "_sum", labels);
      internal::AppendValue(out, snap.sum);
      out->push_back('\n');
      AppendSeriesStart(out, name_, "_count", labels);
      internal::AppendValue(out, static_cast<double>(snap.count));
      out->push_back('\n');
    }
  } else {
    for (std::size_t s = 0; s < series_.size(); ++s) {
      AppendSeriesStart(out, name_, "", keys_[s].rendered);
      internal::AppendValue(out, series_[s]->Value());
      out->push_back('\n');
    }
  }
}

template <typename T>
void Family<T>::AppendPrometheus(
    std::vector<prometheus::MetricFamily>* out) const {
  detail::MutexLock lock(mu_);
  if (keys_.empty()) return;
  prometheus::MetricFamily fam;
  fam.name = name_;
  fam.help = help_;
  fam.type = PromType(type_);
  fam.metric.reserve(series_.size());
  for (std::size_t s = 0; s < series_.size(); ++s) {
    prometheus::ClientMetric m;
    m.label = PromLabels(keys_[s]);
    if constexpr (std::is_same_v<T, Histogram>) {
      Histogram::Snapshot snap = series_[s]->Collect();
      m.histogram.sample_count = snap.count;
      m.histogram.sample_sum = snap.sum;
      for (std::size_t b = 0; b < snap.cumulative.size(); ++b) {
        prometheus::ClientMetric::Bucket bucket;
        bucket.cumulative_count = snap.cumulative[b];
        const auto& bounds = series_[s]->upper_bounds();
        bucket.upper_bound = b < bounds.size()
                                 ? bounds[b]
                                 : std::numeric_limits<double>::infinity();
        m.histogram.bucket.push_back(bucket);
      }
    } else if constexpr (std::is_same_v<T, Counter>) {
      m.counter.value = series_[s]->Value();
    } else {
      m.gauge.value = series_[s]->Value();
    }
    fam.metric.push_back(std::move(m));
  }
  out->push_back(std::move(fam));
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<UpDownGauge>;
template class Family<Histogram>;
template Histogram& Family<Histogram>::Add<Histogram, void>(
    const std::vector<std::string>&, const std::vector<double>&);

// ---------------------------------------------------------------- registry

Registry::Registry() : Registry(Options{}) {}

Registry::Registry(Options options) : options_(options) {
  if (options_.max_series_per_family == 0) {
    throw internal::SetupError("Registry::Options.max_series_per_family",
                               "must be > 0", "0");
  }
  if (options_.max_model_versions == 0) {
    throw internal::SetupError("Registry::Options.max_model_versions",
                               "must be > 0", "0");
  }
}

Registry::~Registry() = default;

template <typename T>
Family<T>& Registry::GetOrAdd(const std::string& name, const std::string& help,
                              MetricType type,
                              const std::vector<std::string>& label_names,
                              std::vector<double> bounds) {
  if (!IsValidMetricName(name)) {
    throw internal::SetupError(
        "metric name", "not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
        name);
  }
  std::set<std::string> seen;
  for (const auto& l : label_names) {
    if (!IsValidLabelName(l)) {
      throw internal::SetupError(
          "metric " + name,
          "not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*"
          ", not starting with __)",
          l);
    }
    if (type == MetricType::kHistogram && l == "le") {
      throw internal::SetupError("metric " + name,
                                 "a histogram may not have a label named le");
    }
    if (!seen.insert(l).second) {
      throw internal::SetupError("metric " + name, "a repeated label name", l);
    }
  }
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
      throw internal::SetupError(
          "metric " + name,
          fmt::format("already registered with another type, other labels "
                      "({}) or other buckets",
                      fmt::join(it->second->label_names(), ", ")));
    }
    return *existing;
  }
  // A histogram's `_bucket`, `_sum` and `_count` samples must not collide
  // with another family's samples.
  for (const char* suffix : kHistogramSuffixes) {
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
  if (model == kOverflow && version == kOverflow) return true;
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

detail::DropSink* Registry::DropsFor(const std::string& raw_model,
                                     const std::string& raw_version) {
  std::string model = internal::SanitizeUtf8(raw_model);
  std::string version = internal::SanitizeUtf8(raw_version);
  if (!AdmitModelVersion(model, version)) {
    model = version = kOverflow;
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
        [&](detail::DropSink*) MLMON_REQUIRES(fam.mu_) {
          fam.series_.push_back(std::make_unique<Counter>(nullptr));
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

std::vector<detail::FamilyBase*> Registry::Families() const {
  detail::MutexLock lock(mu_);
  std::vector<detail::FamilyBase*> out;
  out.reserve(families_.size());
  for (const auto& [name, fam] : families_) out.push_back(fam.get());
  return out;
}

void Registry::WriteText(std::string* out) const {
  // Names written by our families: an attached family taking one is left out.
  std::set<std::string> taken;
  for (const auto* fam : Families()) {
    fam->AppendText(out);
    taken.insert(fam->name());
    if (fam->type() == MetricType::kHistogram) {
      for (const char* suffix : kHistogramSuffixes) {
        taken.insert(fam->name() + suffix);
      }
    }
  }
  std::vector<std::shared_ptr<prometheus::Collectable>> live;
  {
    detail::MutexLock lock(mu_);
    for (const auto& weak : attached_) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  for (const auto& c : live) WriteCollected(c->Collect(), &taken, out);
}

std::string Registry::TextExposition() const {
  std::string out;
  WriteText(&out);
  return out;
}

std::vector<prometheus::MetricFamily> Registry::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  for (const auto* fam : Families()) fam->AppendPrometheus(&out);
  return out;
}

void Registry::Attach(std::weak_ptr<prometheus::Collectable> collectable) {
  detail::MutexLock lock(mu_);
  attached_.push_back(std::move(collectable));
}

// ---------------------------------------------------- prometheus-cpp text

namespace {

void AppendPromLabels(
    std::string* out,
    const std::vector<prometheus::ClientMetric::Label>& labels,
    const char* extra_name, double extra_value, bool has_extra) {
  if (labels.empty() && !has_extra) return;
  out->push_back('{');
  bool first = true;
  for (const auto& l : labels) {
    if (!first) out->push_back(',');
    first = false;
    out->append(l.name);
    out->append("=\"");
    internal::AppendEscapedLabelValue(out, l.value);
    out->push_back('"');
  }
  if (has_extra) {
    if (!first) out->push_back(',');
    out->append(extra_name);
    out->append("=\"");
    internal::AppendValue(out, extra_value);
    out->push_back('"');
  }
  out->push_back('}');
}

void AppendPromSample(std::string* out, const std::string& name,
                      const char* suffix, const prometheus::ClientMetric& m,
                      double value, bool le = false, double le_value = 0) {
  out->append(name);
  out->append(suffix);
  AppendPromLabels(out, m.label, "le", le_value, le);
  out->push_back(' ');
  internal::AppendValue(out, value);
  out->push_back('\n');
}

// The names a family of `type` takes in an exposition: its own (HELP, TYPE)
// and those of its samples.
std::vector<std::string> NamesOf(const std::string& name,
                                 prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Histogram:
      return {name, name + "_bucket", name + "_sum", name + "_count"};
    case prometheus::MetricType::Summary:
      return {name, name + "_sum", name + "_count"};
    default:
      return {name};
  }
}

// The printed label set of a series, sorted by label name, in `key`; false
// if a label name is invalid, repeated or `reserved` (le, quantile).
bool SeriesKeyOf(const std::vector<prometheus::ClientMetric::Label>& labels,
                 const char* reserved, std::string* key) {
  std::vector<std::pair<std::string, std::string>> sorted;
  sorted.reserve(labels.size());
  for (const auto& l : labels) {
    if (!IsValidLabelName(l.name) || l.name == reserved) return false;
    std::string value;
    internal::AppendEscapedLabelValue(&value, l.value);
    sorted.emplace_back(l.name, std::move(value));
  }
  std::sort(sorted.begin(), sorted.end());
  key->clear();
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && sorted[i].first == sorted[i - 1].first) return false;
    key->append(sorted[i].first);
    key->append("=\"");
    key->append(sorted[i].second);
    key->append("\",");
  }
  return true;
}

// Writes `families`, leaving out a family whose names are in `taken` (already
// written by another family) and adding the names of those written.
void WriteCollected(const std::vector<prometheus::MetricFamily>& families,
                    std::set<std::string>* taken, std::string* out) {
  for (const auto& fam : families) {
    if (fam.metric.empty() || !IsValidMetricName(fam.name)) continue;
    const std::vector<std::string> names = NamesOf(fam.name, fam.type);
    if (std::any_of(names.begin(), names.end(), [&](const std::string& n) {
          return taken->count(n) != 0;
        })) {
      continue;
    }
    const char* reserved = fam.type == prometheus::MetricType::Histogram ? "le"
                           : fam.type == prometheus::MetricType::Summary
                               ? "quantile"
                               : "";
    std::set<std::string> series;
    std::string samples;
    for (const auto& m : fam.metric) {
      // A series with an invalid or repeated label name, or one printing the
      // same as an earlier series of the family (e.g. two invalid byte
      // sequences both written as U+FFFD), is left out.
      std::string key;
      if (!SeriesKeyOf(m.label, reserved, &key) ||
          !series.insert(std::move(key)).second) {
        continue;
      }
      switch (fam.type) {
        case prometheus::MetricType::Counter:
          AppendPromSample(&samples, fam.name, "", m, m.counter.value);
          break;
        case prometheus::MetricType::Gauge:
          AppendPromSample(&samples, fam.name, "", m, m.gauge.value);
          break;
        case prometheus::MetricType::Untyped:
          AppendPromSample(&samples, fam.name, "", m, m.untyped.value);
          break;
        case prometheus::MetricType::Histogram: {
          bool has_inf = false;
          for (const auto& b : m.histogram.bucket) {
            has_inf = has_inf || std::isinf(b.upper_bound);
            AppendPromSample(&samples, fam.name, "_bucket", m,
                             static_cast<double>(b.cumulative_count), true,
                             b.upper_bound);
          }
          if (!has_inf) {
            AppendPromSample(&samples, fam.name, "_bucket", m,
                             static_cast<double>(m.histogram.sample_count),
                             true, std::numeric_limits<double>::infinity());
          }
          AppendPromSample(&samples, fam.name, "_sum", m,
                           m.histogram.sample_sum);
          AppendPromSample(&samples, fam.name, "_count", m,
                           static_cast<double>(m.histogram.sample_count));
          break;
        }
        case prometheus::MetricType::Summary: {
          for (const auto& q : m.summary.quantile) {
            samples.append(fam.name);
            AppendPromLabels(&samples, m.label, "quantile", q.quantile, true);
            samples.push_back(' ');
            internal::AppendValue(&samples, q.value);
            samples.push_back('\n');
          }
          AppendPromSample(&samples, fam.name, "_sum", m, m.summary.sample_sum);
          AppendPromSample(&samples, fam.name, "_count", m,
                           static_cast<double>(m.summary.sample_count));
          break;
        }
        default:
          break;
      }
    }
    if (samples.empty()) continue;
    taken->insert(names.begin(), names.end());
    out->append("# HELP ");
    out->append(fam.name);
    out->push_back(' ');
    internal::AppendEscapedHelp(out, fam.help);
    out->append("\n# TYPE ");
    out->append(fam.name);
    switch (fam.type) {
      case prometheus::MetricType::Counter:
        out->append(" counter\n");
        break;
      case prometheus::MetricType::Gauge:
        out->append(" gauge\n");
        break;
      case prometheus::MetricType::Histogram:
        out->append(" histogram\n");
        break;
      case prometheus::MetricType::Summary:
        out->append(" summary\n");
        break;
      default:
        out->append(" untyped\n");
        break;
    }
    out->append(samples);
  }
}

}  // namespace

void WriteText(const std::vector<prometheus::MetricFamily>& families,
               std::string* out) {
  std::set<std::string> taken;
  WriteCollected(families, &taken, out);
}

}  // namespace mlmon
