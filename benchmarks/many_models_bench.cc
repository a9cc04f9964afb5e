// Scrape of many models in one registry, paired with plain prometheus-cpp
// (see mlmon_bench.cc for the pairing rules):
//
//   ScrapeManyModels  `Registry::WriteText` of 50 models x 2 versions, each a
//                     `ModelMonitor` of a small spec built in code: golden
//                     signals with one endpoint ("predict"), outcome
//                     tracking and the response distribution (binary,
//                     default buckets), no features.
//   ScrapeOneModel    the same number of series in one `ModelMonitor`: the
//                     same spec with more endpoints, and extra bound classes
//                     for the remainder. The set-up counts the sample lines
//                     of both expositions and stops with an error unless
//                     they are equal.
//
// Every monitor gets a little traffic first (requests, scores, predictions
// and outcomes, then a tick), so the values are not all zero. The
// prometheus-cpp side of each pair is a registry built from mlmon's own
// exposition (the same families, label sets, bucket bounds and values),
// serialised with `TextSerializer().Serialize(registry->Collect())`.
//
// Run: build/bin/mlmon-bench --benchmark_filter='Scrape(ManyModels|OneModel)'

#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "mlmon/model_monitor.h"
#include "mlmon/monitor_spec.h"
#include "mlmon/registry.h"

namespace {

constexpr int kModels = 50;
constexpr int kVersions = 2;
constexpr int kMonitors = kModels * kVersions;

mlmon::MonitorSpec SmallSpec(std::string model, std::string version,
                             int endpoints, int extra_classes) {
  mlmon::MonitorSpec spec;
  spec.model = std::move(model);
  spec.version = std::move(version);
  spec.endpoints.clear();
  spec.endpoints.push_back("predict");
  for (int e = 1; e < endpoints; ++e) {
    spec.endpoints.push_back("endpoint_" + std::to_string(e));
  }
  if (extra_classes > 0) {
    spec.distribution.classes = {"0", "1"};
    for (int c = 0; c < extra_classes; ++c) {
      spec.distribution.classes.push_back("class_" + std::to_string(c));
    }
  }
  spec.outcome.pending_capacity = 1000;
  return spec;
}

// A little traffic on every endpoint, then a tick.
void Exercise(mlmon::ModelMonitor& monitor) {
  int n = 0;
  for (const std::string& name : monitor.spec().endpoints) {
    mlmon::Endpoint& endpoint = monitor.endpoint(name);
    for (int i = 0; i < 20; ++i, ++n) {
      mlmon::RequestGuard guard(endpoint);
      const double score = ((n * 37) % 100) * 0.01;
      monitor.distribution().ObserveScore(score);
      const std::string id = "p-" + std::to_string(n);
      monitor.outcomes().RecordPrediction(id, score);
      if (n % 2 == 0) {
        (void)monitor.outcomes().RecordOutcome(id, n % 3 == 0 ? 1.0 : 0.0);
      }
    }
  }
  monitor.Tick();
}

mlmon::Registry::Options ManyOptions() {
  mlmon::Registry::Options options;
  options.max_model_versions = kMonitors + 8;
  options.max_series_per_family = 100000;
  return options;
}

// A registry with the monitors that fill it, kept alive together.
struct MlmonSide {
  std::unique_ptr<mlmon::Registry> registry;
  std::vector<std::unique_ptr<mlmon::ModelMonitor>> monitors;
};

std::size_t CountSeries(const mlmon::Registry& registry) {
  std::string text;
  registry.WriteText(&text);
  std::size_t series = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') ++series;
  }
  return series;
}

MlmonSide OneModel(int endpoints, int extra_classes) {
  MlmonSide side;
  side.registry = std::make_unique<mlmon::Registry>(ManyOptions());
  side.monitors.push_back(std::make_unique<mlmon::ModelMonitor>(
      *side.registry, SmallSpec("model_00", "1", endpoints, extra_classes)));
  Exercise(*side.monitors.back());
  return side;
}

const MlmonSide& ManyModels() {
  static const MlmonSide side = [] {
    MlmonSide s;
    s.registry = std::make_unique<mlmon::Registry>(ManyOptions());
    for (int m = 0; m < kModels; ++m) {
      const std::string model =
          std::string(m < 10 ? "model_0" : "model_") + std::to_string(m);
      for (int v = 1; v <= kVersions; ++v) {
        s.monitors.push_back(std::make_unique<mlmon::ModelMonitor>(
            *s.registry, SmallSpec(model, std::to_string(v), 1, 0)));
        Exercise(*s.monitors.back());
      }
    }
    return s;
  }();
  return side;
}

// One model with as many series as ManyModels(): endpoints from the
// per-endpoint series count, the remainder as extra classes (one
// `mlmon_predictions_total` series each). Empty registry if no match.
const MlmonSide& OneModelMatching() {
  static const MlmonSide side = [] {
    const std::size_t target = CountSeries(*ManyModels().registry);
    const std::size_t one = CountSeries(*OneModel(1, 0).registry);
    const std::size_t per_endpoint =
        CountSeries(*OneModel(2, 0).registry) - one;
    const int endpoints = 1 + static_cast<int>((target - one) / per_endpoint);
    for (int extra = 0; extra <= static_cast<int>(per_endpoint) + 2; ++extra) {
      MlmonSide s = OneModel(endpoints, extra);
      const std::size_t series = CountSeries(*s.registry);
      if (series == target) return s;
      if (series > target) break;
    }
    return MlmonSide{};
  }();
  return side;
}

void ScrapeMlmon(benchmark::State& state, const MlmonSide& side) {
  if (!side.registry) {
    state.SkipWithError("no one-model registry with the same series count");
    return;
  }
  std::string text;
  for (auto _ : state) {
    text.clear();  // a server reuses its buffer
    side.registry->WriteText(&text);
    benchmark::DoNotOptimize(text.data());
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = static_cast<double>(text.size());
  state.counters["series"] = static_cast<double>(CountSeries(*side.registry));
  state.counters["endpoints"] =
      static_cast<double>(side.monitors.front()->spec().endpoints.size());
  state.counters["classes"] = static_cast<double>(
      side.monitors.front()->spec().distribution.classes.size());
}

void BM_ScrapeManyModels_Mlmon(benchmark::State& state) {
  ScrapeMlmon(state, ManyModels());
}

void BM_ScrapeOneModel_Mlmon(benchmark::State& state) {
  ScrapeMlmon(state, OneModelMatching());
}

// ------------------------------------------- prometheus-cpp from the text

using Labels = std::map<std::string, std::string>;

// `name{a="x",b="y"} value` -> name, labels, value. mlmon escapes `\`, `"`
// and newline in label values.
bool ParseSample(const std::string& line, std::string* name, Labels* labels,
                 double* value) {
  std::size_t i = line.find_first_of("{ ");
  if (i == std::string::npos) return false;
  *name = line.substr(0, i);
  labels->clear();
  if (line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t eq = line.find('=', i);
      const std::string key = line.substr(i, eq - i);
      std::string val;
      std::size_t j = eq + 2;  // past ="
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          val += line[j] == 'n' ? '\n' : line[j];
        } else {
          val += line[j];
        }
      }
      (*labels)[key] = val;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    ++i;  // past }
  }
  *value = std::strtod(line.c_str() + i, nullptr);
  return true;
}

struct HistogramSeries {
  std::vector<double> bounds;
  std::vector<double> cumulative;  // the finite buckets, then +Inf
  double sum = 0;
};

std::shared_ptr<prometheus::Registry> PromFromText(const std::string& text) {
  auto registry = std::make_shared<prometheus::Registry>();
  std::map<std::string, std::string> help, type;
  std::vector<std::string> order;
  // Family -> label set -> value (or histogram).
  std::map<std::string, std::vector<std::pair<Labels, double>>> values;
  std::map<std::string, std::map<Labels, HistogramSeries>> histograms;
  std::string family;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      const std::size_t sp = line.find(' ', 7);
      help[line.substr(7, sp - 7)] = line.substr(sp + 1);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::size_t sp = line.find(' ', 7);
      family = line.substr(7, sp - 7);
      type[family] = line.substr(sp + 1);
      order.push_back(family);
      continue;
    }
    std::string name;
    Labels labels;
    double value = 0;
    if (line.empty() || line[0] == '#' ||
        !ParseSample(line, &name, &labels, &value)) {
      continue;
    }
    if (type[family] != "histogram") {
      values[family].emplace_back(labels, value);
      continue;
    }
    const std::string suffix = name.substr(family.size());
    std::string le;
    if (suffix == "_bucket") {
      le = labels["le"];
      labels.erase("le");
    }
    HistogramSeries& h = histograms[family][labels];
    if (suffix == "_bucket") {
      if (le != "+Inf") h.bounds.push_back(std::strtod(le.c_str(), nullptr));
      h.cumulative.push_back(value);
    } else if (suffix == "_sum") {
      h.sum = value;
    }
  }
  for (const std::string& f : order) {
    const std::string& t = type[f];
    if (t == "counter") {
      auto& fam =
          prometheus::BuildCounter().Name(f).Help(help[f]).Register(*registry);
      for (const auto& [labels, value] : values[f]) {
        fam.Add(labels).Increment(value);
      }
    } else if (t == "histogram") {
      auto& fam = prometheus::BuildHistogram().Name(f).Help(help[f]).Register(
          *registry);
      for (const auto& [labels, h] : histograms[f]) {
        std::vector<double> increments(h.cumulative.size());
        for (std::size_t b = 0; b < h.cumulative.size(); ++b) {
          increments[b] = h.cumulative[b] - (b ? h.cumulative[b - 1] : 0);
        }
        fam.Add(labels, h.bounds).ObserveMultiple(increments, h.sum);
      }
    } else {  // gauge (and anything untyped)
      auto& fam =
          prometheus::BuildGauge().Name(f).Help(help[f]).Register(*registry);
      for (const auto& [labels, value] : values[f]) fam.Add(labels).Set(value);
    }
  }
  return registry;
}

void ScrapePrometheusCpp(benchmark::State& state, const MlmonSide& side) {
  if (!side.registry) {
    state.SkipWithError("no one-model registry with the same series count");
    return;
  }
  std::string source;
  side.registry->WriteText(&source);
  const std::shared_ptr<prometheus::Registry> registry = PromFromText(source);
  const prometheus::TextSerializer serializer;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = serializer.Serialize(registry->Collect());
    benchmark::DoNotOptimize(text.data());
    benchmark::ClobberMemory();
    bytes = text.size();
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

void BM_ScrapeManyModels_PrometheusCpp(benchmark::State& state) {
  ScrapePrometheusCpp(state, ManyModels());
}

void BM_ScrapeOneModel_PrometheusCpp(benchmark::State& state) {
  ScrapePrometheusCpp(state, OneModelMatching());
}

BENCHMARK(BM_ScrapeManyModels_Mlmon)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ScrapeManyModels_PrometheusCpp)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ScrapeOneModel_Mlmon)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ScrapeOneModel_PrometheusCpp)->Unit(benchmark::kMicrosecond);

}  // namespace
