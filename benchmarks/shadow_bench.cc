// Shadow comparison, paired with plain prometheus-cpp (see mlmon_bench.cc
// for the pairing rules):
//
//   ShadowCompare  one ShadowComparison::RecordScores of a champion and a
//                  challenger score (binary, default options: threshold 0.5,
//                  10 difference bounds): comparison counter, disagreement
//                  counter when the decisions differ, |difference|
//                  histogram. The prometheus-cpp side does the same with a
//                  Counter, a Counter and a Histogram on the same bounds,
//                  the same comparison written by hand.
//
// Run: build/bin/mlmon-bench --benchmark_filter=ShadowCompare

#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <random>

#include "mlmon/registry.h"
#include "mlmon/shadow_comparison.h"

namespace {

constexpr std::size_t kPairs = 4096;  // power of two: index & mask
constexpr double kThreshold = 0.5;

struct Pair {
  double champion, challenger;
};

// Champion scores uniform on [0, 1], the challenger within ~0.1 of it, so
// both the agreeing and the disagreeing branch are taken, unpredictably.
const std::array<Pair, kPairs>& Pairs() {
  static const auto pairs = [] {
    std::array<Pair, kPairs> a{};
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> u(0, 1);
    std::normal_distribution<double> noise(0, 0.1);
    for (Pair& p : a) {
      p.champion = u(rng);
      p.challenger = std::clamp(p.champion + noise(rng), 0.0, 1.0);
    }
    return a;
  }();
  return pairs;
}

void BM_ShadowCompare_Mlmon(benchmark::State& state) {
  static mlmon::Registry registry;
  static mlmon::ShadowComparison shadow(registry, "fraud", "3", "4",
                                        mlmon::ShadowComparisonOptions{});
  const auto& pairs = Pairs();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 997;
  for (auto _ : state) {
    const Pair& p = pairs[i++ & (kPairs - 1)];
    shadow.RecordScores(p.champion, p.challenger);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

struct PromShadow {
  std::shared_ptr<prometheus::Registry> registry =
      std::make_shared<prometheus::Registry>();
  prometheus::Counter* comparisons = nullptr;
  prometheus::Counter* disagreements = nullptr;
  prometheus::Histogram* difference = nullptr;
};

const PromShadow& PromShadowMetrics() {
  static const PromShadow metrics = [] {
    PromShadow m;
    const prometheus::Labels labels = {
        {"model", "fraud"}, {"version", "3"}, {"challenger", "4"}};
    m.comparisons = &prometheus::BuildCounter()
                         .Name("shadow_comparisons_total")
                         .Help("Requests compared.")
                         .Register(*m.registry)
                         .Add(labels);
    prometheus::Labels at = labels;
    at["threshold"] = "0.5";
    m.disagreements = &prometheus::BuildCounter()
                           .Name("shadow_disagreements_total")
                           .Help("Compared requests whose decisions differ.")
                           .Register(*m.registry)
                           .Add(at);
    m.difference =
        &prometheus::BuildHistogram()
             .Name("shadow_absolute_difference")
             .Help("Absolute difference of the scores.")
             .Register(*m.registry)
             .Add(labels, prometheus::Histogram::BucketBoundaries(
                              mlmon::DefaultShadowDifferenceBuckets()));
    return m;
  }();
  return metrics;
}

void BM_ShadowCompare_PrometheusCpp(benchmark::State& state) {
  const PromShadow& m = PromShadowMetrics();
  const auto& pairs = Pairs();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 997;
  for (auto _ : state) {
    const Pair& p = pairs[i++ & (kPairs - 1)];
    m.comparisons->Increment();
    if ((p.champion >= kThreshold) != (p.challenger >= kThreshold)) {
      m.disagreements->Increment();
    }
    m.difference->Observe(std::fabs(p.champion - p.challenger));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ShadowCompare_Mlmon)->Threads(1)->Threads(2);
BENCHMARK(BM_ShadowCompare_PrometheusCpp)->Threads(1)->Threads(2);

}  // namespace
