// Real-time signals (not paired: prometheus-cpp has no equivalent).
//
//   ObserveScore     ResponseDistribution::ObserveScore of a [0,1] score:
//                    20-bucket histogram, 2000 fine bins, class by threshold.
//   ObserveScoreWithId  the same, keeping a 36-byte id as the exemplar.
//   ObserveScoreSegmented  ObserveScore with a segment value (one of 20,
//                    `max_values` 20): the look-up, then that segment's
//                    histogram and class counter.
//   ObserveFeatures  one FeatureMonitor::Observe of a 25-feature vector
//                    (20 numeric with 10 bounds each, 5 categorical with 20
//                    known categories), values set by handle each iteration.
//
// Run: build/bin/mlmon-bench --benchmark_filter='Observe(Score|Features)'

#include <benchmark/benchmark.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "mlmon/feature_monitor.h"
#include "mlmon/reference_profile.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"

namespace {

constexpr std::size_t kValues = 4096;

const std::array<double, kValues>& Scores() {
  static const auto v = [] {
    std::array<double, kValues> a{};
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(0, 1);
    for (double& x : a) x = u(rng);
    return a;
  }();
  return v;
}

void BM_ObserveScore(benchmark::State& state) {
  static mlmon::Registry registry;
  static mlmon::ResponseDistribution dist(registry, "bench", "1",
                                          mlmon::ResponseSpec{});
  const auto& scores = Scores();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 997;
  for (auto _ : state) {
    dist.ObserveScore(scores[i++ & (kValues - 1)]);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ObserveScore)->Threads(1)->Threads(2);

// The same with the prediction id kept as the score bucket's exemplar.
void BM_ObserveScoreWithId(benchmark::State& state) {
  static mlmon::Registry registry;
  static mlmon::ResponseDistribution dist(registry, "bench", "1",
                                          mlmon::ResponseSpec{});
  const auto& scores = Scores();
  const std::string id = "3f1c9a52-7b1e-4c0d-9a7e-" +
                         std::to_string(100000000000 + state.thread_index());
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 997;
  for (auto _ : state) {
    dist.ObserveScore(scores[i++ & (kValues - 1)], id);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ObserveScoreWithId)->Threads(1)->Threads(2);

// With segments: the value's look-up in the segment table, then its own
// histogram and class counter (the fine bins stay the whole model's).
void BM_ObserveScoreSegmented(benchmark::State& state) {
  static mlmon::Registry registry;
  static mlmon::ResponseDistribution dist(registry, "bench", "1", [] {
    mlmon::ResponseSpec spec;
    spec.segments = {"country", 20};
    return spec;
  }());
  static const std::vector<std::string> segments = [] {
    std::vector<std::string> v;
    for (int i = 0; i < 20; ++i) v.push_back("country-" + std::to_string(i));
    return v;
  }();
  const auto& scores = Scores();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 997;
  for (auto _ : state) {
    dist.ObserveScore(scores[i & (kValues - 1)], {}, segments[i % 20]);
    ++i;
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ObserveScoreSegmented)->Threads(1)->Threads(2);

struct FeatureSetup {
  mlmon::Registry registry;
  mlmon::ReferenceProfile profile;
  mlmon::FeatureSpec spec;
  std::unique_ptr<mlmon::FeatureMonitor> monitor;
  std::vector<std::string> categories;
  FeatureSetup() {
    for (int f = 0; f < 20; ++f) {
      mlmon::FeatureSpec::Numeric n;
      n.name = "num" + std::to_string(f);
      n.min = 0;
      n.max = 1000;
      for (int b = 1; b <= 10; ++b) n.buckets.push_back(b * 100.0);
      mlmon::SignalProfile p;
      p.numeric.bounds = n.buckets;
      p.numeric.counts.assign(11, 10.0);
      p.log10.bounds = mlmon::DefaultLog10Bounds();
      p.log10.counts.assign(p.log10.bounds.size() + 1, 1.0);
      profile.signals[n.name] = p;
      spec.numeric.push_back(n);
    }
    for (int c = 0; c < 20; ++c)
      categories.push_back("cat" + std::to_string(c));
    for (int f = 0; f < 5; ++f) {
      mlmon::FeatureSpec::Categorical c;
      c.name = "cat" + std::to_string(f);
      mlmon::SignalProfile p;
      p.type = mlmon::SignalProfile::Type::kCategorical;
      for (const auto& k : categories) p.categories[k] = 5.0;
      profile.signals[c.name] = p;
      spec.categorical.push_back(c);
    }
    monitor = std::make_unique<mlmon::FeatureMonitor>(registry, "bench", "1",
                                                      spec, &profile);
  }
};

void BM_ObserveFeatures(benchmark::State& state) {
  static FeatureSetup setup;
  mlmon::FeatureMonitor& mon = *setup.monitor;
  mlmon::FeatureVector v = mon.NewVector();
  std::vector<mlmon::FeatureHandle> num, cat;
  for (int f = 0; f < 20; ++f)
    num.push_back(mon.Find("num" + std::to_string(f)));
  for (int f = 0; f < 5; ++f)
    cat.push_back(mon.Find("cat" + std::to_string(f)));
  const auto& values = Scores();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 991;
  for (auto _ : state) {
    v.Clear();
    for (std::size_t f = 0; f < num.size(); ++f) {
      v.Set(num[f], values[(i + f) & (kValues - 1)] * 1100.0);
    }
    for (std::size_t f = 0; f < cat.size(); ++f) {
      v.SetCategory(cat[f],
                    setup.categories[(i + f) % setup.categories.size()]);
    }
    mon.Observe(v);
    ++i;
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ObserveFeatures)->Threads(1)->Threads(2);

}  // namespace
