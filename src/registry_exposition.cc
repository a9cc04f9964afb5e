// The exposition of the registry's families: the text format 0.0.4 and
// prometheus-cpp data (`Collect`).

#include <limits>
#include <set>
#include <utility>

#include "internal/metric_catalogue.h"
#include "internal/registry_names.h"
#include "internal/registry_text.h"
#include "internal/text_format.h"
#include "mlmon/registry.h"

namespace mlmon {

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
  if (keys_.size() == free_.size()) return;  // no live series
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
      if (!series_[s]) continue;  // a free slot
      if (!series_[s]) continue;  // a free slot
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
      if (!series_[s]) continue;  // a free slot
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
  if (keys_.size() == free_.size()) return;  // no live series
  prometheus::MetricFamily fam;
  fam.name = name_;
  fam.help = help_;
  fam.type = internal::PromType(type_);
  fam.metric.reserve(series_.size());
  for (std::size_t s = 0; s < series_.size(); ++s) {
    if (!series_[s]) continue;  // a free slot
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

namespace detail {

void FamilyBase::AppendHelpType(std::string* out) const {
  out->append("# HELP ");
  out->append(name_);
  out->push_back(' ');
  internal::AppendEscapedHelp(out, help_);
  out->append("\n# TYPE ");
  out->append(name_);
  out->push_back(' ');
  out->append(internal::ExpositionTypeName(type_));
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

template void Family<Counter>::AppendText(std::string*) const;
template void Family<Gauge>::AppendText(std::string*) const;
template void Family<UpDownGauge>::AppendText(std::string*) const;
template void Family<Histogram>::AppendText(std::string*) const;
template void Family<Counter>::AppendPrometheus(
    std::vector<prometheus::MetricFamily>*) const;
template void Family<Gauge>::AppendPrometheus(
    std::vector<prometheus::MetricFamily>*) const;
template void Family<UpDownGauge>::AppendPrometheus(
    std::vector<prometheus::MetricFamily>*) const;
template void Family<Histogram>::AppendPrometheus(
    std::vector<prometheus::MetricFamily>*) const;

void Registry::WriteText(std::string* out) const {
  // Names written by our families: an attached family taking one is left out.
  std::set<std::string> taken;
  for (const auto* fam : Families()) {
    fam->AppendText(out);
    taken.insert(fam->name());
    if (fam->type() == MetricType::kHistogram) {
      for (const char* suffix : internal::kHistogramSuffixes) {
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
  for (const auto& c : live)
    internal::WriteCollected(c->Collect(), &taken, out);
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

}  // namespace mlmon
