// mlmon-bench: mlmon's recording hot path and scrape, each case paired with
// what a user writes with plain prometheus-cpp for the same job.
//
// Pairs (`BM_<Case>_Mlmon` / `BM_<Case>_PrometheusCpp`):
//   Guard             one request: two clock reads, in-flight +1/-1, latency
//                     observe (14 default latency bounds), request counter.
//   HistogramObserve  Observe() into 11 buckets, values cycling through a
//                     fixed table of pseudo-random values that hit every
//                     bucket (including +Inf).
//   CounterIncrement  Increment() by 1.
//   Scrape10k         collect + serialise 10,000 counter series to text.
//   ShadowCompare     one shadow comparison of two scores (shadow_bench.cc).
//   ScrapeManyModels  serialise 50 models x 2 versions, and
//   ScrapeOneModel    one model with the same series count
//                     (many_models_bench.cc).
//
// Recording cases run at 1 and 2 threads and report CPU time per operation
// (the sum of every thread's CPU time divided by all threads' iterations).
// As in a real server, the instruments are created once and shared by every
// thread: handles are bound to their labels at set-up on both sides, so no
// case looks up labels in the timed loop.
//
// Both sides pay `benchmark::ClobberMemory()` once per iteration: it stands
// for the request's own work, so the compiler can neither hoist mlmon's
// inline slot look-up out of the loop nor merge iterations.
//
// Run: build/bin/mlmon-bench --benchmark_min_time=0.2
// Ratios: build/bin/mlmon-bench --benchmark_format=json | benchmarks/ratios.py

#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mlmon/buckets.h"
#include "mlmon/golden_signals.h"
#include "mlmon/instruments.h"
#include "mlmon/registry.h"

namespace {

// ------------------------------------------------------------ shared inputs

// 11 bounds, 1 ms to ~1 s: the histogram-observe case.
std::vector<double> ObserveBounds() {
  return mlmon::ExponentialBuckets(0.001, 2.0, 11);  // 0.001 .. 1.024
}

// Log-uniform values over [0.0005, 2): every bucket (and +Inf) is hit, in an
// order the branch predictor cannot learn. Both sides read the same table.
constexpr std::size_t kNumValues = 4096;  // power of two: index & mask
constexpr std::size_t kValueMask = kNumValues - 1;

const std::array<double, kNumValues>& ObserveValues() {
  static const std::array<double, kNumValues> values = [] {
    std::array<double, kNumValues> v{};
    std::mt19937_64 rng(20240601);
    std::uniform_real_distribution<double> exponent(std::log(0.0005),
                                                    std::log(2.0));
    for (double& x : v) x = std::exp(exponent(rng));
    return v;
  }();
  return values;
}

// The same model/version/endpoint labels on both sides of the guard case.
constexpr const char kModel[] = "fraud";
constexpr const char kVersion[] = "2024-06-01";
constexpr const char kEndpoint[] = "predict";

// ------------------------------------------------------------------- guard

// Not a pair: the two clock reads that both guard cases pay, for reference.
void BM_ClockPair(benchmark::State& state) {
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::ClobberMemory();
    const auto end = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(end - start);
  }
}

mlmon::Endpoint& MlmonEndpoint() {
  static mlmon::Registry registry;
  static mlmon::GoldenSignals signals(registry, kModel, kVersion);
  static mlmon::Endpoint& endpoint = signals.AddEndpoint(kEndpoint);
  return endpoint;
}

void BM_Guard_Mlmon(benchmark::State& state) {
  mlmon::Endpoint& endpoint = MlmonEndpoint();
  for (auto _ : state) {
    mlmon::RequestGuard guard(endpoint);
    benchmark::ClobberMemory();  // the request's work
  }
  state.SetItemsProcessed(state.iterations());
}

// The guard naming its request (`SetId`, a UUID-sized id): the latency
// bucket's exemplar. Not paired (prometheus-cpp keeps no exemplars).
void BM_GuardWithId_Mlmon(benchmark::State& state) {
  mlmon::Endpoint& endpoint = MlmonEndpoint();
  const std::string id = "3f1c9a52-7b1e-4c0d-9a7e-" +
                         std::to_string(100000000000 + state.thread_index());
  for (auto _ : state) {
    mlmon::RequestGuard guard(endpoint);
    guard.SetId(id);
    benchmark::ClobberMemory();  // the request's work
  }
  state.SetItemsProcessed(state.iterations());
}

// What a prometheus-cpp user writes for the same four golden signals.
struct PromGuardMetrics {
  std::shared_ptr<prometheus::Registry> registry =
      std::make_shared<prometheus::Registry>();
  prometheus::Gauge* in_flight = nullptr;
  prometheus::Histogram* latency = nullptr;
  prometheus::Counter* ok = nullptr;
};

const PromGuardMetrics& PromGuard() {
  static const PromGuardMetrics metrics = [] {
    PromGuardMetrics m;
    const prometheus::Labels labels = {
        {"model", kModel}, {"version", kVersion}, {"endpoint", kEndpoint}};
    m.in_flight = &prometheus::BuildGauge()
                       .Name("requests_in_flight")
                       .Help("Requests being served right now.")
                       .Register(*m.registry)
                       .Add(labels);
    m.latency = &prometheus::BuildHistogram()
                     .Name("request_duration_seconds")
                     .Help("Time to serve a request, in seconds.")
                     .Register(*m.registry)
                     .Add(labels, prometheus::Histogram::BucketBoundaries(
                                      mlmon::DefaultLatencyBuckets()));
    prometheus::Labels ok_labels = labels;
    ok_labels["status"] = "ok";
    m.ok = &prometheus::BuildCounter()
                .Name("requests_total")
                .Help("Requests served, by endpoint and status.")
                .Register(*m.registry)
                .Add(ok_labels);
    return m;
  }();
  return metrics;
}

void BM_Guard_PrometheusCpp(benchmark::State& state) {
  const PromGuardMetrics& m = PromGuard();
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    m.in_flight->Increment();
    benchmark::ClobberMemory();  // the request's work
    const auto end = std::chrono::steady_clock::now();
    m.latency->Observe(std::chrono::duration<double>(end - start).count());
    m.in_flight->Decrement();
    m.ok->Increment();
  }
  state.SetItemsProcessed(state.iterations());
}

// -------------------------------------------------------- histogram observe

mlmon::Histogram& MlmonObserveHistogram() {
  static mlmon::Registry registry;
  static mlmon::Histogram& histogram =
      registry
          .AddHistogram("bench_observe_seconds", "Observe benchmark.",
                        {"model"}, ObserveBounds())
          .Add({kModel});
  return histogram;
}

void BM_HistogramObserve_Mlmon(benchmark::State& state) {
  mlmon::Histogram& histogram = MlmonObserveHistogram();
  const double* values = ObserveValues().data();
  std::size_t i = 0;
  for (auto _ : state) {
    histogram.Observe(values[i++ & kValueMask]);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

prometheus::Histogram& PromObserveHistogram() {
  static auto registry = std::make_shared<prometheus::Registry>();
  static prometheus::Histogram& histogram =
      prometheus::BuildHistogram()
          .Name("bench_observe_seconds")
          .Help("Observe benchmark.")
          .Register(*registry)
          .Add({{"model", kModel}},
               prometheus::Histogram::BucketBoundaries(ObserveBounds()));
  return histogram;
}

void BM_HistogramObserve_PrometheusCpp(benchmark::State& state) {
  prometheus::Histogram& histogram = PromObserveHistogram();
  const double* values = ObserveValues().data();
  std::size_t i = 0;
  for (auto _ : state) {
    histogram.Observe(values[i++ & kValueMask]);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

// -------------------------------------------------------- counter increment

mlmon::Counter& MlmonCounter() {
  static mlmon::Registry registry;
  static mlmon::Counter& counter =
      registry.AddCounter("bench_events_total", "Counter benchmark.", {"model"})
          .Add({kModel});
  return counter;
}

void BM_CounterIncrement_Mlmon(benchmark::State& state) {
  mlmon::Counter& counter = MlmonCounter();
  for (auto _ : state) {
    counter.Increment();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

prometheus::Counter& PromCounter() {
  static auto registry = std::make_shared<prometheus::Registry>();
  static prometheus::Counter& counter = prometheus::BuildCounter()
                                            .Name("bench_events_total")
                                            .Help("Counter benchmark.")
                                            .Register(*registry)
                                            .Add({{"model", kModel}});
  return counter;
}

void BM_CounterIncrement_PrometheusCpp(benchmark::State& state) {
  prometheus::Counter& counter = PromCounter();
  for (auto _ : state) {
    counter.Increment();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

// --------------------------------------------------------- scrape 10k series
//
// Shape (same on both sides): one counter family `bench_requests_total` with
// labels model, version, endpoint, status; model and version fixed, 2,500
// endpoints x 4 statuses = 10,000 series, each holding an integer count
// (1..997). mlmon adds its own 8 `mlmon_dropped_total` series for the
// model/version pair (all 0): 10,008 lines of samples against 10,000.

constexpr int kScrapeEndpoints = 2500;
constexpr const char* kStatuses[] = {"ok", "error", "timeout", "rejected"};
constexpr int kScrapeSeries = kScrapeEndpoints * 4;

std::string ScrapeEndpoint(int e) { return "endpoint_" + std::to_string(e); }
double ScrapeValue(int series) { return 1 + (series * 7919) % 997; }

mlmon::Registry& MlmonScrapeRegistry() {
  static mlmon::Registry* registry = [] {
    mlmon::Registry::Options options;
    options.max_series_per_family = kScrapeSeries;
    auto* r = new mlmon::Registry(options);
    auto& family =
        r->AddCounter("bench_requests_total", "Requests served, by endpoint.",
                      {"model", "version", "endpoint", "status"});
    int series = 0;
    for (int e = 0; e < kScrapeEndpoints; ++e) {
      for (const char* status : kStatuses) {
        family.Add({kModel, kVersion, ScrapeEndpoint(e), status})
            .Increment(ScrapeValue(series++));
      }
    }
    return r;
  }();
  return *registry;
}

void BM_Scrape10k_Mlmon(benchmark::State& state) {
  const mlmon::Registry& registry = MlmonScrapeRegistry();
  std::string text;
  for (auto _ : state) {
    text.clear();  // a server reuses its buffer
    registry.WriteText(&text);
    benchmark::DoNotOptimize(text.data());
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = static_cast<double>(text.size());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(text.size()));
}

std::shared_ptr<prometheus::Registry> PromScrapeRegistry() {
  static std::shared_ptr<prometheus::Registry> registry = [] {
    auto r = std::make_shared<prometheus::Registry>();
    auto& family = prometheus::BuildCounter()
                       .Name("bench_requests_total")
                       .Help("Requests served, by endpoint.")
                       .Register(*r);
    int series = 0;
    for (int e = 0; e < kScrapeEndpoints; ++e) {
      for (const char* status : kStatuses) {
        family
            .Add({{"model", kModel},
                  {"version", kVersion},
                  {"endpoint", ScrapeEndpoint(e)},
                  {"status", status}})
            .Increment(ScrapeValue(series++));
      }
    }
    return r;
  }();
  return registry;
}

void BM_Scrape10k_PrometheusCpp(benchmark::State& state) {
  const std::shared_ptr<prometheus::Registry> registry = PromScrapeRegistry();
  const prometheus::TextSerializer serializer;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = serializer.Serialize(registry->Collect());
    benchmark::DoNotOptimize(text.data());
    benchmark::ClobberMemory();
    bytes = text.size();
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(bytes));
}

// ------------------------------------------------------------ registration

#define MLMON_RECORDING_BENCHMARK(fn) BENCHMARK(fn)->Threads(1)->Threads(2)

BENCHMARK(BM_ClockPair);
MLMON_RECORDING_BENCHMARK(BM_Guard_Mlmon);
MLMON_RECORDING_BENCHMARK(BM_Guard_PrometheusCpp);
MLMON_RECORDING_BENCHMARK(BM_GuardWithId_Mlmon);
MLMON_RECORDING_BENCHMARK(BM_HistogramObserve_Mlmon);
MLMON_RECORDING_BENCHMARK(BM_HistogramObserve_PrometheusCpp);
MLMON_RECORDING_BENCHMARK(BM_CounterIncrement_Mlmon);
MLMON_RECORDING_BENCHMARK(BM_CounterIncrement_PrometheusCpp);
BENCHMARK(BM_Scrape10k_Mlmon)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Scrape10k_PrometheusCpp)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
