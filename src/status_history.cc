#include "mlmon/status_history.h"

#include <fmt/format.h>
#include <prometheus/metric_family.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"
#include "internal/text_format.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/errors.h"
#include "mlmon/monitor_spec.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace {

namespace metrics = internal::metrics;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using ModelKey = std::pair<std::string, std::string>;  // model, version

// What one read of the registry holds for one (model, version).
struct Reading {
  bool has_requests = false;
  double requests = 0, errors = 0;
  bool has_latency = false;
  std::vector<double> bounds;      // upper bounds, +Inf last
  std::vector<double> cumulative;  // summed over endpoints
  bool has_predictions = false;
  double predictions = 0, empty = 0;
  // window -> threshold -> precision; window -> samples.
  std::map<std::string, std::map<std::string, double>> precision;
  std::map<std::string, double> samples;
  // window -> signal -> psi, signals in registry order.
  std::map<std::string, std::vector<std::pair<std::string, double>>> drift;
};

// Seconds of a `window` label, or +Inf for labels that are not durations
// ("all"), so that real windows come first.
double WindowSeconds(const std::string& label) {
  try {
    return static_cast<double>(ParseDuration(label).count());
  } catch (const ConfigError&) {
    return std::numeric_limits<double>::infinity();
  }
}

template <typename Map>
std::string ShortestWindow(const Map& by_window) {
  std::string best;
  double best_seconds = 0;
  for (const auto& entry : by_window) {
    const double s = WindowSeconds(entry.first);
    if (best.empty() || s < best_seconds) {
      best = entry.first;
      best_seconds = s;
    }
  }
  return best;
}

// The q-quantile of a histogram given as cumulative counts per upper bound
// (+Inf last), interpolated linearly within the bucket the rank falls in, as
// PromQL's histogram_quantile: the first bucket starts at 0 (if its bound is
// positive), and a rank in the +Inf bucket gives the highest finite bound.
double HistogramQuantile(double q, const std::vector<double>& bounds,
                         const std::vector<double>& cumulative) {
  if (bounds.size() < 2 || cumulative.size() != bounds.size()) return kNaN;
  const double total = cumulative.back();
  if (!(total > 0)) return kNaN;
  const double rank = q * total;
  std::size_t i = 0;
  while (i + 1 < cumulative.size() && cumulative[i] < rank) ++i;
  if (std::isinf(bounds[i])) return bounds[bounds.size() - 2];
  const double lower = i == 0 ? 0.0 : bounds[i - 1];
  if (i == 0 && bounds[0] <= 0) return bounds[0];
  const double below = i == 0 ? 0.0 : cumulative[i - 1];
  const double in_bucket = cumulative[i] - below;
  if (!(in_bucket > 0)) return bounds[i];
  return lower + (bounds[i] - lower) * (rank - below) / in_bucket;
}

// A fixed-capacity ring of doubles sharing its head with the model's ring of
// timestamps.
using Column = std::vector<double>;

struct NamedColumn {
  std::string name;
  Column values;
};

struct ModelRing {
  std::string model, version;
  std::string quality_window, drift_window;
  std::vector<std::int64_t> times;
  Column rate, error_ratio, p50, p99, empty_share;
  std::vector<NamedColumn> precision, drift;
  std::size_t head = 0;  // index of the next write
  std::size_t size = 0;  // points held
  bool has_previous = false;
  std::int64_t previous_millis = 0;
  Reading previous;
};

void AppendNumber(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  fmt::format_to(std::back_inserter(*out), "{:.6g}", v);
}

void AppendArray(std::string* out, const std::vector<double>& values) {
  out->push_back('[');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out->push_back(',');
    AppendNumber(out, values[i]);
  }
  out->push_back(']');
}

void AppendNamed(std::string* out, const std::vector<StatusSeries>& series) {
  out->push_back('{');
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (i != 0) out->push_back(',');
    internal::AppendJsonString(out, series[i].name);
    out->push_back(':');
    AppendArray(out, series[i].values);
  }
  out->push_back('}');
}

}  // namespace

class StatusHistory::Impl {
 public:
  Impl(const Registry& registry, const StatusHistoryOptions& options)
      : registry_(registry), options_(options) {}

  void Sample(std::int64_t unix_millis);
  std::vector<ModelStatus> Models() const;
  std::string Json(std::int64_t now_unix_millis) const;

  std::uint64_t samples() const {
    detail::MutexLock lock(mu_);
    return samples_;
  }
  std::size_t dropped_models() const {
    detail::MutexLock lock(mu_);
    return dropped_models_.size();
  }
  std::size_t dropped_series() const {
    detail::MutexLock lock(mu_);
    return dropped_series_.size();
  }

 private:
  std::map<ModelKey, Reading> Read() const;
  ModelRing* Find(const ModelKey& key) MLMON_REQUIRES(mu_);
  void Append(ModelRing* ring, std::int64_t unix_millis, Reading reading)
      MLMON_REQUIRES(mu_);
  NamedColumn* Named(ModelRing* ring, std::vector<NamedColumn>* columns,
                     const std::string& kind, const std::string& name)
      MLMON_REQUIRES(mu_);
  static std::vector<double> Linear(const ModelRing& ring, const Column& c);

  const Registry& registry_;
  const StatusHistoryOptions options_;
  mutable detail::Mutex mu_;
  std::vector<std::unique_ptr<ModelRing>> rings_ MLMON_GUARDED_BY(mu_);
  std::uint64_t samples_ MLMON_GUARDED_BY(mu_) = 0;
  std::int64_t last_millis_ MLMON_GUARDED_BY(mu_) = 0;
  // Distinct keys refused by the caps; at most kMaxDroppedRemembered each,
  // so the counts saturate there.
  std::set<ModelKey> dropped_models_ MLMON_GUARDED_BY(mu_);
  std::set<std::string> dropped_series_ MLMON_GUARDED_BY(mu_);
  static constexpr std::size_t kMaxDroppedRemembered = 1024;
};

std::map<ModelKey, Reading> StatusHistory::Impl::Read() const {
  std::map<ModelKey, Reading> out;
  const std::vector<prometheus::MetricFamily> families = registry_.Collect();
  for (const auto& family : families) {
    const std::string& name = family.name;
    const bool requests = name == metrics::kRequestsTotal.def.name;
    const bool latency = name == metrics::kRequestDurationSeconds.def.name;
    const bool predictions = name == metrics::kPredictionsTotal.def.name;
    const bool empty = name == metrics::kEmptyResponsesTotal.def.name;
    const bool quality = name == metrics::kModelQuality.def.name;
    const bool drift = name == metrics::kDriftScore.def.name;
    // Every model has it: the model shows up before its first endpoint.
    const bool info = name == metrics::kModelInfo.def.name;
    if (!(requests || latency || predictions || empty || quality || drift ||
          info)) {
      continue;
    }
    for (const auto& m : family.metric) {
      ModelKey key;
      std::string status, metric, window, threshold, method, signal, segment;
      for (const auto& l : m.label) {
        if (l.name == "model")
          key.first = l.value;
        else if (l.name == "version")
          key.second = l.value;
        else if (l.name == "status")
          status = l.value;
        else if (l.name == "metric")
          metric = l.value;
        else if (l.name == "window")
          window = l.value;
        else if (l.name == "threshold")
          threshold = l.value;
        else if (l.name == "method")
          method = l.value;
        else if (l.name == "signal")
          signal = l.value;
        else if (l.name == "segment")
          segment = l.value;
      }
      // A segment's quality is its own; the status shows the whole model's
      // (segment=""). Counters add up over segments.
      if (quality && !segment.empty()) continue;
      Reading& r = out[key];
      if (requests) {
        r.has_requests = true;
        r.requests += m.counter.value;
        if (status == "error") r.errors += m.counter.value;
      } else if (latency) {
        const auto& buckets = m.histogram.bucket;
        if (!r.has_latency) {
          r.has_latency = true;
          for (const auto& b : buckets) {
            r.bounds.push_back(b.upper_bound);
            r.cumulative.push_back(static_cast<double>(b.cumulative_count));
          }
        } else if (buckets.size() == r.bounds.size()) {
          // Endpoints of one family share bounds; a series with others
          // (impossible through mlmon's families) is left out.
          bool same = true;
          for (std::size_t i = 0; i < buckets.size(); ++i) {
            same = same && buckets[i].upper_bound == r.bounds[i];
          }
          if (same) {
            for (std::size_t i = 0; i < buckets.size(); ++i) {
              r.cumulative[i] +=
                  static_cast<double>(buckets[i].cumulative_count);
            }
          }
        }
      } else if (predictions) {
        r.has_predictions = true;
        r.predictions += m.counter.value;
      } else if (empty) {
        r.empty += m.counter.value;
      } else if (quality) {
        if (metric == "precision") {
          r.precision[window][threshold] = m.gauge.value;
        } else if (metric == "samples") {
          r.samples[window] = m.gauge.value;
        }
      } else if (drift && method == "psi") {
        r.drift[window].emplace_back(signal, m.gauge.value);
      }
    }
  }
  return out;
}

ModelRing* StatusHistory::Impl::Find(const ModelKey& key) {
  for (auto& ring : rings_) {
    if (ring->model == key.first && ring->version == key.second) {
      return ring.get();
    }
  }
  if (rings_.size() >= options_.max_models) {
    if (dropped_models_.size() < kMaxDroppedRemembered) {
      dropped_models_.insert(key);
    }
    return nullptr;
  }
  auto ring = std::make_unique<ModelRing>();
  ring->model = key.first;
  ring->version = key.second;
  const std::size_t n = options_.points;
  ring->times.assign(n, 0);
  for (Column* c : {&ring->rate, &ring->error_ratio, &ring->p50, &ring->p99,
                    &ring->empty_share}) {
    c->assign(n, kNaN);
  }
  rings_.push_back(std::move(ring));
  return rings_.back().get();
}

NamedColumn* StatusHistory::Impl::Named(ModelRing* ring,
                                        std::vector<NamedColumn>* columns,
                                        const std::string& kind,
                                        const std::string& name) {
  for (auto& c : *columns) {
    if (c.name == name) return &c;
  }
  if (columns->size() >= options_.max_series) {
    if (dropped_series_.size() < kMaxDroppedRemembered) {
      dropped_series_.insert(ring->model + "\n" + ring->version + "\n" + kind +
                             "\n" + name);
    }
    return nullptr;
  }
  columns->push_back(NamedColumn{name, Column(options_.points, kNaN)});
  return &columns->back();
}

void StatusHistory::Impl::Append(ModelRing* ring, std::int64_t unix_millis,
                                 Reading r) {
  const std::size_t at = ring->head;
  ring->times[at] = unix_millis;
  // Every column gets a value at `at`: NaN unless defined below.
  for (Column* c : {&ring->rate, &ring->error_ratio, &ring->p50, &ring->p99,
                    &ring->empty_share}) {
    (*c)[at] = kNaN;
  }
  for (auto* named : {&ring->precision, &ring->drift}) {
    for (auto& c : *named) c.values[at] = kNaN;
  }

  if (ring->has_previous) {
    const Reading& p = ring->previous;
    const double seconds =
        static_cast<double>(unix_millis - ring->previous_millis) / 1000.0;
    if (r.has_requests && p.has_requests) {
      const double requests = r.requests - p.requests;
      const double errors = r.errors - p.errors;
      if (requests >= 0 && errors >= 0 && seconds > 0) {
        ring->rate[at] = requests / seconds;
        if (requests > 0) ring->error_ratio[at] = errors / requests;
      }
    }
    if (r.has_latency && p.has_latency && r.bounds == p.bounds) {
      std::vector<double> delta(r.cumulative.size());
      bool valid = true;
      for (std::size_t i = 0; i < delta.size(); ++i) {
        delta[i] = r.cumulative[i] - p.cumulative[i];
        valid = valid && delta[i] >= 0;
      }
      if (valid) {
        ring->p50[at] = HistogramQuantile(0.5, r.bounds, delta);
        ring->p99[at] = HistogramQuantile(0.99, r.bounds, delta);
      }
    }
    if (r.has_predictions && p.has_predictions) {
      const double predictions = r.predictions - p.predictions;
      const double empty = r.empty - p.empty;
      if (predictions > 0 && empty >= 0) {
        ring->empty_share[at] = empty / predictions;
      }
    }
  }

  ring->quality_window = ShortestWindow(r.precision);
  if (!ring->quality_window.empty()) {
    const auto samples = r.samples.find(ring->quality_window);
    const bool no_outcomes =
        samples != r.samples.end() && !(samples->second > 0);
    for (const auto& [threshold, value] : r.precision[ring->quality_window]) {
      NamedColumn* c = Named(ring, &ring->precision, "precision", threshold);
      if (c != nullptr && !no_outcomes) c->values[at] = value;
    }
  }
  ring->drift_window = ShortestWindow(r.drift);
  if (!ring->drift_window.empty()) {
    for (const auto& [signal, value] : r.drift[ring->drift_window]) {
      NamedColumn* c = Named(ring, &ring->drift, "drift", signal);
      if (c != nullptr) c->values[at] = value;
    }
  }

  ring->head = (at + 1) % options_.points;
  ring->size = std::min(ring->size + 1, options_.points);
  ring->has_previous = true;
  ring->previous_millis = unix_millis;
  ring->previous = std::move(r);
}

void StatusHistory::Impl::Sample(std::int64_t unix_millis) {
  // Read without the lock: a slow registry never blocks readers of Json().
  std::map<ModelKey, Reading> readings = Read();
  detail::MutexLock lock(mu_);
  if (samples_ > 0 && unix_millis <= last_millis_) return;
  ++samples_;
  last_millis_ = unix_millis;
  // A model version whose series left the registry (its monitor was
  // destroyed) leaves the history and frees its place under max_models.
  rings_.erase(
      std::remove_if(rings_.begin(), rings_.end(),
                     [&readings](const std::unique_ptr<ModelRing>& r) {
                       return readings.count({r->model, r->version}) == 0;
                     }),
      rings_.end());
  for (auto& [key, reading] : readings) {
    ModelRing* ring = Find(key);
    if (ring != nullptr) Append(ring, unix_millis, std::move(reading));
  }
}

std::vector<double> StatusHistory::Impl::Linear(const ModelRing& ring,
                                                const Column& c) {
  std::vector<double> out;
  out.reserve(ring.size);
  const std::size_t n = c.size();
  const std::size_t start = (ring.head + n - ring.size) % n;
  for (std::size_t i = 0; i < ring.size; ++i) out.push_back(c[(start + i) % n]);
  return out;
}

std::vector<ModelStatus> StatusHistory::Impl::Models() const {
  detail::MutexLock lock(mu_);
  std::vector<ModelStatus> out;
  out.reserve(rings_.size());
  for (const auto& ring : rings_) {
    ModelStatus s;
    s.model = ring->model;
    s.version = ring->version;
    s.quality_window = ring->quality_window;
    s.drift_window = ring->drift_window;
    const std::size_t n = ring->times.size();
    const std::size_t start = (ring->head + n - ring->size) % n;
    for (std::size_t i = 0; i < ring->size; ++i) {
      s.unix_millis.push_back(ring->times[(start + i) % n]);
    }
    s.request_rate = Linear(*ring, ring->rate);
    s.error_ratio = Linear(*ring, ring->error_ratio);
    s.latency_p50_seconds = Linear(*ring, ring->p50);
    s.latency_p99_seconds = Linear(*ring, ring->p99);
    s.empty_share = Linear(*ring, ring->empty_share);
    for (const auto& c : ring->precision) {
      s.precision.push_back(StatusSeries{c.name, Linear(*ring, c.values)});
    }
    for (const auto& c : ring->drift) {
      s.drift_psi.push_back(StatusSeries{c.name, Linear(*ring, c.values)});
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string StatusHistory::Impl::Json(std::int64_t now_unix_millis) const {
  const std::vector<ModelStatus> models = Models();
  // A sample taken between the caller's reading of its clock and this
  // snapshot is newer than `now_unix_millis`: "now" is never before it.
  for (const ModelStatus& s : models) {
    if (!s.unix_millis.empty()) {
      now_unix_millis = std::max(now_unix_millis, s.unix_millis.back());
    }
  }
  std::string out;
  {
    detail::MutexLock lock(mu_);
    fmt::format_to(std::back_inserter(out),
                   "{{\"schema\":1,\"now_ms\":{},\"capacity\":{},"
                   "\"samples\":{},\"dropped_models\":{},"
                   "\"dropped_series\":{},\"models\":[",
                   now_unix_millis, options_.points, samples_,
                   dropped_models_.size(), dropped_series_.size());
  }
  for (std::size_t m = 0; m < models.size(); ++m) {
    const ModelStatus& s = models[m];
    if (m != 0) out.push_back(',');
    out.append("{\"model\":");
    internal::AppendJsonString(&out, s.model);
    out.append(",\"version\":");
    internal::AppendJsonString(&out, s.version);
    out.append(",\"quality_window\":");
    internal::AppendJsonString(&out, s.quality_window);
    out.append(",\"drift_window\":");
    internal::AppendJsonString(&out, s.drift_window);
    out.append(",\"t\":[");
    for (std::size_t i = 0; i < s.unix_millis.size(); ++i) {
      if (i != 0) out.push_back(',');
      fmt::format_to(std::back_inserter(out), "{}", s.unix_millis[i]);
    }
    out.append("],\"request_rate\":");
    AppendArray(&out, s.request_rate);
    out.append(",\"error_ratio\":");
    AppendArray(&out, s.error_ratio);
    out.append(",\"latency_p50_seconds\":");
    AppendArray(&out, s.latency_p50_seconds);
    out.append(",\"latency_p99_seconds\":");
    AppendArray(&out, s.latency_p99_seconds);
    out.append(",\"empty_share\":");
    AppendArray(&out, s.empty_share);
    out.append(",\"precision\":");
    AppendNamed(&out, s.precision);
    out.append(",\"drift_psi\":");
    AppendNamed(&out, s.drift_psi);
    out.push_back('}');
  }
  out.append("]}\n");
  return out;
}

StatusHistory::StatusHistory(const Registry& registry,
                             StatusHistoryOptions options)
    : options_(options) {
  if (options_.points < 2) {
    throw internal::SetupError("StatusHistoryOptions.points",
                               "must be at least 2",
                               std::to_string(options_.points));
  }
  if (options_.max_models == 0) {
    throw internal::SetupError("StatusHistoryOptions.max_models",
                               "must be at least 1", "0");
  }
  if (options_.max_series == 0) {
    throw internal::SetupError("StatusHistoryOptions.max_series",
                               "must be at least 1", "0");
  }
  impl_ = std::make_unique<Impl>(registry, options_);
}

StatusHistory::~StatusHistory() = default;

void StatusHistory::Sample(std::int64_t unix_millis) {
  impl_->Sample(unix_millis);
}

std::vector<ModelStatus> StatusHistory::Models() const {
  return impl_->Models();
}

std::string StatusHistory::Json(std::int64_t now_unix_millis) const {
  return impl_->Json(now_unix_millis);
}

std::uint64_t StatusHistory::samples() const { return impl_->samples(); }

std::size_t StatusHistory::dropped_models() const {
  return impl_->dropped_models();
}

std::size_t StatusHistory::dropped_series() const {
  return impl_->dropped_series();
}

}  // namespace mlmon
