// The text writer of prometheus-cpp families: an attached collectable's, and
// `mlmon::WriteText`.

#include "internal/registry_text.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include "internal/text_format.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace internal {

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
    AppendEscapedLabelValue(out, l.value);
    out->push_back('"');
  }
  if (has_extra) {
    if (!first) out->push_back(',');
    out->append(extra_name);
    out->append("=\"");
    AppendValue(out, extra_value);
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
  AppendValue(out, value);
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
    AppendEscapedLabelValue(&value, l.value);
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

bool HasNegativeBound(const prometheus::ClientMetric& m) {
  return std::any_of(m.histogram.bucket.begin(), m.histogram.bucket.end(),
                     [](const auto& b) { return b.upper_bound < 0; });
}

}  // namespace

std::string OpenMetricsCounterBase(const std::string& name) {
  constexpr std::string_view kTotal = "_total";
  if (name.size() > kTotal.size() &&
      name.compare(name.size() - kTotal.size(), kTotal.size(), kTotal) == 0) {
    return name.substr(0, name.size() - kTotal.size());
  }
  return name;
}

std::vector<std::string> OpenMetricsNames(const std::string& name,
                                          prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter: {
      const std::string base = OpenMetricsCounterBase(name);
      return {base, base + "_total", base + "_created"};
    }
    case prometheus::MetricType::Histogram:
      return {name, name + "_bucket", name + "_sum", name + "_count",
              name + "_created"};
    case prometheus::MetricType::Summary:
      return {name, name + "_sum", name + "_count", name + "_created"};
    default:
      return {name};
  }
}

void WriteCollected(const std::vector<prometheus::MetricFamily>& families,
                    std::set<std::string>* taken, std::string* out,
                    bool openmetrics) {
  for (const auto& fam : families) {
    if (fam.metric.empty() || !IsValidMetricName(fam.name)) continue;
    const std::vector<std::string> names =
        openmetrics ? OpenMetricsNames(fam.name, fam.type)
                    : NamesOf(fam.name, fam.type);
    // OpenMetrics names a counter's family without `_total`, its sample
    // with it.
    const std::string family_name =
        openmetrics && fam.type == prometheus::MetricType::Counter
            ? OpenMetricsCounterBase(fam.name)
            : fam.name;
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
          AppendPromSample(&samples, family_name, openmetrics ? "_total" : "",
                           m, m.counter.value);
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
          // OpenMetrics forbids a histogram's sum when a bound is negative,
          // and allows `_count` only next to `_sum`.
          if (!openmetrics || !HasNegativeBound(m)) {
            AppendPromSample(&samples, fam.name, "_sum", m,
                             m.histogram.sample_sum);
            AppendPromSample(&samples, fam.name, "_count", m,
                             static_cast<double>(m.histogram.sample_count));
          }
          break;
        }
        case prometheus::MetricType::Summary: {
          for (const auto& q : m.summary.quantile) {
            samples.append(fam.name);
            AppendPromLabels(&samples, m.label, "quantile", q.quantile, true);
            samples.push_back(' ');
            AppendValue(&samples, q.value);
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
    out->append(family_name);
    out->push_back(' ');
    if (openmetrics) {
      AppendEscapedOpenMetricsHelp(out, fam.help);
    } else {
      AppendEscapedHelp(out, fam.help);
    }
    out->append("\n# TYPE ");
    out->append(family_name);
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
        out->append(openmetrics ? " unknown\n" : " untyped\n");
        break;
    }
    out->append(samples);
  }
}

}  // namespace internal

void WriteText(const std::vector<prometheus::MetricFamily>& families,
               std::string* out) {
  std::set<std::string> taken;
  internal::WriteCollected(families, &taken, out);
}

}  // namespace mlmon
