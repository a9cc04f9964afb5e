// The OpenMetrics 1.0 exposition of the registry's families, with the
// exemplars of their histograms' buckets.

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "internal/metric_catalogue.h"
#include "internal/registry_text.h"
#include "internal/text_format.h"
#include "mlmon/registry.h"

namespace mlmon {

namespace {

// `name<suffix>{labels[,extra]} ` (the braces only when there are labels).
void AppendSeries(std::string* out, const std::string& name, const char* suffix,
                  const std::string& labels, const std::string& extra = {}) {
  out->append(name);
  out->append(suffix);
  if (!labels.empty() || !extra.empty()) {
    out->push_back('{');
    out->append(labels);
    if (!labels.empty() && !extra.empty()) out->push_back(',');
    out->append(extra);
    out->push_back('}');
  }
  out->push_back(' ');
}

// ` # {id="..."} value timestamp`: the id escaped as a label value (invalid
// UTF-8 and NUL repaired to U+FFFD, so at most kMaxExemplarIdBytes
// characters, within the format's 128 for the label set).
void AppendExemplar(std::string* out, const detail::ExemplarValue& e) {
  out->append(" # {id=\"");
  internal::AppendEscapedLabelValue(out, e.Id());
  out->append("\"} ");
  internal::AppendValue(out, e.value);
  out->push_back(' ');
  internal::AppendValue(out, e.unix_seconds);
}

}  // namespace

template <typename T>
void Family<T>::AppendOpenMetrics(std::string* out) const {
  detail::MutexLock lock(mu_);
  if (keys_.size() == free_.size()) return;  // no live series
  const std::string family_name = type_ == MetricType::kCounter
                                      ? internal::OpenMetricsCounterBase(name_)
                                      : name_;
  AppendOpenMetricsHelpType(out, family_name);
  if constexpr (std::is_same_v<T, Histogram>) {
    Histogram::Snapshot snap;
    detail::ExemplarValue exemplar;
    for (std::size_t s = 0; s < series_.size(); ++s) {
      if (!series_[s]) continue;  // a free slot
      const Histogram& h = *series_[s];
      const std::string& labels = keys_[s].rendered;
      const std::vector<double>& bounds = h.upper_bounds();
      h.Collect(&snap);
      for (std::size_t b = 0; b < snap.cumulative.size(); ++b) {
        std::string le = "le=\"";
        if (b < bounds.size()) {
          internal::AppendValue(&le, bounds[b]);
        } else {
          le.append("+Inf");
        }
        le.push_back('"');
        AppendSeries(out, name_, "_bucket", labels, le);
        internal::AppendValue(out, static_cast<double>(snap.cumulative[b]));
        if (h.ReadExemplar(b, &exemplar)) AppendExemplar(out, exemplar);
        out->push_back('\n');
      }
      // The format forbids the sum of a histogram with a negative bound, and
      // allows `_count` only next to `_sum` (the +Inf bucket is the count).
      if (bounds.front() >= 0) {
        AppendSeries(out, name_, "_count", labels);
        internal::AppendValue(out, static_cast<double>(snap.count));
        out->push_back('\n');
        AppendSeries(out, name_, "_sum", labels);
        internal::AppendValue(out, snap.sum);
        out->push_back('\n');
      }
    }
  } else {
    const char* suffix = type_ == MetricType::kCounter ? "_total" : "";
    for (std::size_t s = 0; s < series_.size(); ++s) {
      if (!series_[s]) continue;  // a free slot
      AppendSeries(out, family_name, suffix, keys_[s].rendered);
      internal::AppendValue(out, series_[s]->Value());
      out->push_back('\n');
    }
  }
}

namespace detail {

void FamilyBase::AppendOpenMetricsHelpType(
    std::string* out, const std::string& family_name) const {
  out->append("# HELP ");
  out->append(family_name);
  out->push_back(' ');
  internal::AppendEscapedOpenMetricsHelp(out, help_);
  out->append("\n# TYPE ");
  out->append(family_name);
  out->push_back(' ');
  out->append(internal::ExpositionTypeName(type_));
  out->push_back('\n');
}

}  // namespace detail

template void Family<Counter>::AppendOpenMetrics(std::string*) const;
template void Family<Gauge>::AppendOpenMetrics(std::string*) const;
template void Family<UpDownGauge>::AppendOpenMetrics(std::string*) const;
template void Family<Histogram>::AppendOpenMetrics(std::string*) const;

void Registry::WriteOpenMetrics(std::string* out) const {
  // A family's OpenMetrics names; the first family in name order keeps a
  // name, a later one taking any of its names is left out.
  std::set<std::string> taken;
  for (const auto* fam : Families()) {
    const std::vector<std::string> names = internal::OpenMetricsNames(
        fam->name(), internal::PromType(fam->type()));
    if (std::any_of(names.begin(), names.end(), [&](const std::string& n) {
          return taken.count(n) != 0;
        })) {
      continue;
    }
    fam->AppendOpenMetrics(out);
    taken.insert(names.begin(), names.end());
  }
  std::vector<std::shared_ptr<prometheus::Collectable>> live;
  {
    detail::MutexLock lock(mu_);
    for (const auto& weak : attached_) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  for (const auto& c : live) {
    internal::WriteCollected(c->Collect(), &taken, out, true);
  }
  out->append("# EOF\n");
}

std::string Registry::OpenMetricsExposition() const {
  std::string out;
  WriteOpenMetrics(&out);
  return out;
}

}  // namespace mlmon
