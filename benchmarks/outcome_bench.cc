// Outcome monitoring benchmarks (not paired: prometheus-cpp has no join).
//
//   RecordPrediction  one binary prediction into a store of 1M capacity that
//                     is kept full (steady state: every insert evicts the
//                     oldest entry), ids "p-<n>".
//   RecordPredictionSegmented
//                     RecordPrediction with a segment value (one of 20,
//                     `max_values` 20), store of 10k kept full: the look-up
//                     and the segment byte stored with the prediction.
//   RecordPredictionThreads
//                     the same call at 1 and 2 threads on one shared
//                     tracker (store of 10k, kept full), each thread with
//                     its own ids: CPU time per call, so contention would
//                     show as a higher figure.
//   RecordOutcome     the join: outcomes for predictions recorded (untimed)
//                     just before, in batches of 1,000; items/s = joins/s.
//   HttpIngest        POST /v1/outcomes over loopback, NDJSON batches of
//                     1,000 outcomes, one connection per batch, on a server
//                     with 2 threads; items/s = outcomes/s end to end.
//
// Run: build/bin/mlmon-bench --benchmark_filter='Record|Ingest'

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "mlmon/outcome_tracker.h"
#include "mlmon/registry.h"
#ifdef MLMON_BENCH_WITH_HTTP
#include "http_client.h"
#include "mlmon/feedback_endpoint.h"
#include "mlmon/http_server.h"
#include "mlmon/outcome_ingest.h"
#endif

namespace {

constexpr std::size_t kBatch = 1000;

// "p-<n>" into a fixed buffer: no allocation (and no printf, which would
// cost more than the call measured) in the timed loop.
struct IdMaker {
  char buf[32];
  std::string_view operator()(std::uint64_t n) {
    char* end = buf + sizeof buf;
    char* p = end;
    do {
      *--p = static_cast<char>('0' + n % 10);
      n /= 10;
    } while (n != 0);
    *--p = '-';
    *--p = 'p';
    return std::string_view(p, static_cast<std::size_t>(end - p));
  }
};

mlmon::OutcomeSpec BenchSpec(std::size_t capacity = 1000000) {
  mlmon::OutcomeSpec spec;
  spec.pending_capacity = capacity;
  return spec;
}

// Arg: store capacity. 1M: the store (~108 MB) is far bigger than the caches
// and every insert evicts (the worst case). 10k: it fits in cache.
void BM_RecordPrediction(benchmark::State& state) {
  const auto capacity = static_cast<std::size_t>(state.range(0));
  mlmon::Registry registry;
  mlmon::OutcomeTracker tracker(registry, "bench", "1", BenchSpec(capacity));
  IdMaker id;
  std::uint64_t n = 0;
  // Fill to capacity first: the timed loop runs at steady state.
  for (; n < capacity; ++n) tracker.RecordPrediction(id(n), 0.5);
  for (auto _ : state) {
    benchmark::DoNotOptimize(tracker.RecordPrediction(id(n), (n % 100) * 0.01));
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RecordPredictionSegmented(benchmark::State& state) {
  mlmon::Registry registry;
  mlmon::OutcomeSpec spec = BenchSpec(10000);
  if (state.range(0) != 0) spec.segments = {"country", 20};
  mlmon::OutcomeTracker tracker(registry, "bench", "1", spec);
  std::vector<std::string> segments;
  for (int i = 0; i < 20; ++i)
    segments.push_back("country-" + std::to_string(i));
  IdMaker id;
  std::uint64_t n = 0;
  for (; n < 10000; ++n) tracker.RecordPrediction(id(n), 0.5, segments[n % 20]);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        tracker.RecordPrediction(id(n), (n % 100) * 0.01, segments[n % 20]));
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}

// One tracker shared by every thread of the run, as in a server.
mlmon::OutcomeTracker& SharedTracker() {
  static mlmon::Registry registry;
  static mlmon::OutcomeTracker tracker(registry, "bench", "1",
                                       BenchSpec(10000));
  return tracker;
}

void BM_RecordPredictionThreads(benchmark::State& state) {
  mlmon::OutcomeTracker& tracker = SharedTracker();
  IdMaker id;
  // Disjoint id ranges per thread and per run.
  static std::atomic<std::uint64_t> next_range{0};
  std::uint64_t n = next_range.fetch_add(1) << 40;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tracker.RecordPrediction(id(n), (n % 100) * 0.01));
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RecordOutcome(benchmark::State& state) {
  mlmon::Registry registry;
  mlmon::OutcomeTracker tracker(registry, "bench", "1", BenchSpec());
  IdMaker id;
  std::uint64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::uint64_t first = n;
    for (std::size_t i = 0; i < kBatch; ++i, ++n) {
      tracker.RecordPrediction(id(n), (n % 100) * 0.01);
    }
    state.ResumeTiming();
    for (std::uint64_t k = first; k < n; ++k) {
      benchmark::DoNotOptimize(
          tracker.RecordOutcome(id(k), (k % 7) == 0 ? 1.0 : 0.0));
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

#ifdef MLMON_BENCH_WITH_HTTP
void BM_HttpIngest(benchmark::State& state) {
  mlmon::Registry registry;
  mlmon::OutcomeTracker tracker(registry, "bench", "1", BenchSpec());
  mlmon::OutcomeIngest ingest;
  ingest.AddTracker(tracker);
  mlmon::HttpServer server(mlmon::HttpServerOptions{}, registry);
  mlmon::AddFeedbackRoute(server, ingest);
  server.Start();
  IdMaker id;
  std::uint64_t n = 0;
  std::string body;
  for (auto _ : state) {
    state.PauseTiming();
    body.clear();
    for (std::size_t i = 0; i < kBatch; ++i, ++n) {
      const std::string_view pid = id(n);
      tracker.RecordPrediction(pid, (n % 100) * 0.01);
      body += "{\"id\":\"";
      body += pid;
      body += (n % 7) == 0 ? "\",\"outcome\":1}\n" : "\",\"outcome\":0}\n";
    }
    state.ResumeTiming();
    auto r = mlmon::tools::HttpCall("127.0.0.1", server.port(), "POST",
                                    "/v1/outcomes", body,
                                    {{"Content-Type", "application/x-ndjson"}});
    if (r.status != 200) {
      state.SkipWithError(("ingest failed: " + r.error + r.body).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_HttpIngest)->UseRealTime()->Unit(benchmark::kMicrosecond);
#endif

BENCHMARK(BM_RecordPrediction)->Arg(1000000)->Arg(10000);
// Arg 0: segments off (the same call, the value ignored); 1: on.
BENCHMARK(BM_RecordPredictionSegmented)->Arg(0)->Arg(1);
BENCHMARK(BM_RecordPredictionThreads)->Threads(1)->Threads(2);
BENCHMARK(BM_RecordOutcome)->Unit(benchmark::kMicrosecond);

}  // namespace
