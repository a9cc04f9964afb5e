#include "mlmon/status_history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mlmon/clock.h"
#include "mlmon/errors.h"
#include "mlmon/golden_signals.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"

namespace mlmon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::int64_t kT0 = 1764150000000;  // Unix ms

// Serves `n` requests of `endpoint` that each take `seconds` of fake time;
// the first `failures` of them fail.
void Serve(Endpoint& endpoint, FakeClock& clock, int n, double seconds,
           int failures = 0) {
  for (int i = 0; i < n; ++i) {
    RequestGuard guard(endpoint);
    clock.Advance(std::chrono::duration<double>(seconds));
    if (i < failures) guard.Fail(ErrorReason());
  }
}

// The quality and drift gauges with the label names mlmon's signals use.
struct QualityGauges {
  explicit QualityGauges(Registry& r)
      : quality(r.AddGauge(
            "mlmon_model_quality", "q",
            {"model", "version", "metric", "window", "threshold", "k"})),
        drift(r.AddGauge("mlmon_drift_score", "d",
                         {"model", "version", "signal", "method", "window"})) {}
  Gauge& Quality(const std::string& metric, const std::string& window,
                 const std::string& threshold = "") {
    return quality.Add({"fraud", "1", metric, window, threshold, ""});
  }
  Gauge& Drift(const std::string& signal, const std::string& method,
               const std::string& window, const std::string& model = "fraud") {
    return drift.Add({model, "1", signal, method, window});
  }
  Family<Gauge>& quality;
  Family<Gauge>& drift;
};

class StatusHistoryTest : public ::testing::Test {
 protected:
  StatusHistoryTest()
      : signals_(registry_, "fraud", "1", Options()),
        predict_(signals_.AddEndpoint("predict")),
        explain_(signals_.AddEndpoint("explain")),
        responses_(registry_, "fraud", "1") {}

  GoldenSignalsOptions Options() {
    GoldenSignalsOptions o;
    o.latency_buckets = {0.01, 0.02, 0.05, 0.1};
    o.clock = &clock_;
    return o;
  }

  FakeClock clock_;
  Registry registry_;
  GoldenSignals signals_;
  Endpoint& predict_;
  Endpoint& explain_;
  ResponseDistribution responses_;
};

TEST_F(StatusHistoryTest, FirstSampleHasNoRatesYet) {
  Serve(predict_, clock_, 10, 0.005);
  StatusHistory history(registry_);
  history.Sample(kT0);
  const auto models = history.Models();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].model, "fraud");
  EXPECT_EQ(models[0].version, "1");
  EXPECT_THAT(models[0].unix_millis, ElementsAre(kT0));
  EXPECT_TRUE(std::isnan(models[0].request_rate[0]));
  EXPECT_TRUE(std::isnan(models[0].error_ratio[0]));
  EXPECT_TRUE(std::isnan(models[0].latency_p99_seconds[0]));
  EXPECT_TRUE(std::isnan(models[0].empty_share[0]));
}

TEST_F(StatusHistoryTest, RatesRatiosAndQuantilesComeFromTheIntervalOnly) {
  // Traffic before the first sample must not count in the first interval.
  Serve(predict_, clock_, 500, 0.09, 100);
  StatusHistory history(registry_);
  history.Sample(kT0);

  // Interval 1 (2 s): 100 requests over two endpoints, 4 failed.
  // Latency: 80 in (0, 0.01], 15 in (0.01, 0.02], 5 in (0.02, 0.05].
  Serve(predict_, clock_, 60, 0.005, 3);
  Serve(explain_, clock_, 20, 0.005, 1);
  Serve(predict_, clock_, 15, 0.015);
  Serve(predict_, clock_, 5, 0.03);
  for (int i = 0; i < 40; ++i) responses_.ObserveScore(0.3);
  for (int i = 0; i < 10; ++i) responses_.ObserveEmpty();
  history.Sample(kT0 + 2000);

  // Interval 2 (0.5 s): 10 requests in (0.05, 0.1], none failed; 8
  // predictions, none empty.
  Serve(explain_, clock_, 10, 0.07);
  for (int i = 0; i < 8; ++i) responses_.ObserveScore(0.9);
  history.Sample(kT0 + 2500);

  const auto m = history.Models().at(0);
  ASSERT_EQ(m.unix_millis.size(), 3u);
  EXPECT_DOUBLE_EQ(m.request_rate[1], 100.0 / 2.0);
  EXPECT_DOUBLE_EQ(m.error_ratio[1], 4.0 / 100.0);
  // histogram_quantile: rank q * 100; linear within the bucket it falls in.
  EXPECT_DOUBLE_EQ(m.latency_p50_seconds[1], 0.0 + 0.01 * (50.0 - 0) / 80.0);
  EXPECT_DOUBLE_EQ(m.latency_p99_seconds[1],
                   0.02 + (0.05 - 0.02) * (99.0 - 95.0) / 5.0);
  EXPECT_DOUBLE_EQ(m.empty_share[1], 10.0 / 40.0);

  EXPECT_DOUBLE_EQ(m.request_rate[2], 10.0 / 0.5);
  EXPECT_DOUBLE_EQ(m.error_ratio[2], 0.0);
  EXPECT_DOUBLE_EQ(m.latency_p50_seconds[2], 0.05 + 0.05 * 5.0 / 10.0);
  EXPECT_DOUBLE_EQ(m.latency_p99_seconds[2], 0.05 + 0.05 * 9.9 / 10.0);
  EXPECT_DOUBLE_EQ(m.empty_share[2], 0.0);
}

TEST_F(StatusHistoryTest, QuantileInTheInfBucketIsTheHighestFiniteBound) {
  StatusHistory history(registry_);
  history.Sample(kT0);
  Serve(predict_, clock_, 98, 0.005);
  Serve(predict_, clock_, 2, 3.0);  // beyond 0.1: the +Inf bucket
  history.Sample(kT0 + 1000);
  const auto m = history.Models().at(0);
  EXPECT_DOUBLE_EQ(m.latency_p99_seconds[1], 0.1);
  EXPECT_DOUBLE_EQ(m.latency_p50_seconds[1], 0.01 * 50.0 / 98.0);
}

TEST_F(StatusHistoryTest, NoTrafficIsNullNotZero) {
  StatusHistory history(registry_);
  history.Sample(kT0);
  history.Sample(kT0 + 1000);
  const auto m = history.Models().at(0);
  ASSERT_EQ(m.unix_millis.size(), 2u);
  EXPECT_DOUBLE_EQ(m.request_rate[1], 0.0);  // defined: no requests came
  EXPECT_TRUE(std::isnan(m.error_ratio[1]));
  EXPECT_TRUE(std::isnan(m.latency_p50_seconds[1]));
  EXPECT_TRUE(std::isnan(m.latency_p99_seconds[1]));
  EXPECT_TRUE(std::isnan(m.empty_share[1]));

  const auto doc = nlohmann::json::parse(history.Json(kT0 + 1500));
  const auto& j = doc["models"][0];
  EXPECT_TRUE(j["error_ratio"][1].is_null());
  EXPECT_TRUE(j["latency_p99_seconds"][1].is_null());
  EXPECT_TRUE(j["empty_share"][1].is_null());
  EXPECT_EQ(j["request_rate"][1], 0);
}

TEST_F(StatusHistoryTest, PrecisionAndDriftComeFromTheShortestWindow) {
  QualityGauges g(registry_);
  // "1d" sorts before "1h" and "2m" before "90s": only durations decide.
  g.Quality("precision", "1d", "0.5").Set(0.6);
  g.Quality("precision", "1h", "0.5").Set(0.8);
  g.Quality("precision", "1h", "0.9").Set(0.95);
  g.Quality("recall", "1h", "0.5").Set(0.1);
  Gauge& samples = g.Quality("samples", "1h");
  g.Quality("samples", "1d").Set(100);
  g.Quality("precision", "all", "0.5").Set(0.1);
  g.Drift("session_seconds", "psi", "2m").Set(0.01);
  g.Drift("session_seconds", "psi", "90s").Set(0.4);
  g.Drift("session_seconds", "js", "90s").Set(0.3);
  g.Drift("score", "psi", "90s").Set(0.02);

  StatusHistory history(registry_);
  history.Sample(kT0);  // no outcome in the 1h window yet
  samples.Set(12);
  history.Sample(kT0 + 1000);

  const auto m = history.Models().at(0);
  EXPECT_EQ(m.quality_window, "1h");
  EXPECT_EQ(m.drift_window, "90s");
  ASSERT_EQ(m.precision.size(), 2u);
  EXPECT_EQ(m.precision[0].name, "0.5");
  EXPECT_EQ(m.precision[1].name, "0.9");
  // The gauge reads 0.8 but the window had no samples: undefined.
  EXPECT_TRUE(std::isnan(m.precision[0].values[0]));
  EXPECT_DOUBLE_EQ(m.precision[0].values[1], 0.8);
  EXPECT_DOUBLE_EQ(m.precision[1].values[1], 0.95);
  ASSERT_EQ(m.drift_psi.size(), 2u);
  std::vector<std::string> names{m.drift_psi[0].name, m.drift_psi[1].name};
  EXPECT_THAT(names,
              ::testing::UnorderedElementsAre("session_seconds", "score"));
  for (const auto& s : m.drift_psi) {
    EXPECT_DOUBLE_EQ(s.values[1], s.name == "score" ? 0.02 : 0.4);
  }
}

TEST_F(StatusHistoryTest, RingKeepsTheNewestPoints) {
  StatusHistoryOptions o;
  o.points = 3;
  StatusHistory history(registry_, o);
  for (int i = 0; i < 5; ++i) {
    Serve(predict_, clock_, i + 1, 0.005);
    history.Sample(kT0 + 1000 * i);
  }
  const auto m = history.Models().at(0);
  EXPECT_THAT(m.unix_millis, ElementsAre(kT0 + 2000, kT0 + 3000, kT0 + 4000));
  // Interval i served i + 1 requests in one second.
  EXPECT_THAT(m.request_rate, ElementsAre(3.0, 4.0, 5.0));
  EXPECT_EQ(history.samples(), 5u);
}

TEST_F(StatusHistoryTest, TimeThatDoesNotAdvanceIsIgnored) {
  StatusHistory history(registry_);
  history.Sample(kT0);
  history.Sample(kT0);
  history.Sample(kT0 - 5000);
  Serve(predict_, clock_, 10, 0.005);
  history.Sample(kT0 + 1000);
  const auto m = history.Models().at(0);
  EXPECT_THAT(m.unix_millis, ElementsAre(kT0, kT0 + 1000));
  EXPECT_DOUBLE_EQ(m.request_rate[1], 10.0);
  EXPECT_EQ(history.samples(), 2u);
}

TEST_F(StatusHistoryTest, ModelsAndSeriesAreCapped) {
  GoldenSignals other(registry_, "other", "7", Options());
  QualityGauges g(registry_);
  g.Drift("a", "psi", "1m").Set(0.1);
  g.Drift("b", "psi", "1m").Set(0.2);
  g.Drift("c", "psi", "1m").Set(0.3);
  StatusHistoryOptions o;
  o.max_models = 1;
  o.max_series = 2;
  StatusHistory history(registry_, o);
  history.Sample(kT0);
  history.Sample(kT0 + 1000);
  const auto models = history.Models();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].drift_psi.size(), 2u);
  EXPECT_EQ(history.dropped_models(), 1u);
  EXPECT_EQ(history.dropped_series(), 1u);
  const auto doc = nlohmann::json::parse(history.Json(kT0));
  EXPECT_EQ(doc["dropped_models"], 1);
  EXPECT_EQ(doc["dropped_series"], 1);
}

// A destroyed model version leaves the history at the next sample and frees
// its place under max_models for the next version of a hot swap.
TEST_F(StatusHistoryTest, DestroyedVersionsLeaveAndFreeTheirPlace) {
  StatusHistoryOptions o;
  o.max_models = 2;
  StatusHistory history(registry_, o);
  for (int v = 2; v <= 6; ++v) {
    {
      GoldenSignals version(registry_, "canary", std::to_string(v), Options());
      history.Sample(kT0 + v * 2000);
      std::set<std::string> shown;
      for (const auto& m : history.Models())
        shown.insert(m.model + "/" + m.version);
      EXPECT_EQ(shown, (std::set<std::string>{"canary/" + std::to_string(v),
                                              "fraud/1"}));
    }
    history.Sample(kT0 + v * 2000 + 1000);
    const auto models = history.Models();
    ASSERT_EQ(models.size(), 1u);
    EXPECT_EQ(models[0].model, "fraud");
  }
  EXPECT_EQ(history.dropped_models(), 0u);
}

// The server reads its clock, then a sampler thread adds a sample before
// the document is built: now_ms is that sample's time, never before it.
TEST_F(StatusHistoryTest, NowIsNeverBeforeTheNewestSample) {
  StatusHistory history(registry_);
  history.Sample(kT0);
  history.Sample(kT0 + 1000);
  const auto doc = nlohmann::json::parse(history.Json(kT0 + 998));
  EXPECT_EQ(doc["now_ms"], kT0 + 1000);
  const auto later = nlohmann::json::parse(history.Json(kT0 + 1500));
  EXPECT_EQ(later["now_ms"], kT0 + 1500);
}

TEST_F(StatusHistoryTest, JsonHoldsTheSameValuesAsModels) {
  QualityGauges g(registry_);
  g.Quality("precision", "5m", "0.5").Set(0.75);
  g.Quality("samples", "5m").Set(4);
  g.Drift("amount_usd", "psi", "5m").Set(0.123456789);
  StatusHistory history(registry_);
  history.Sample(kT0);
  Serve(predict_, clock_, 30, 0.015, 3);
  for (int i = 0; i < 3; ++i) responses_.ObserveScore(0.1);
  history.Sample(kT0 + 1000);

  const auto doc = nlohmann::json::parse(history.Json(kT0 + 1234));
  EXPECT_EQ(doc["schema"], 1);
  EXPECT_EQ(doc["now_ms"], kT0 + 1234);
  EXPECT_EQ(doc["capacity"], 600);
  EXPECT_EQ(doc["samples"], 2);
  ASSERT_EQ(doc["models"].size(), 1u);
  const auto& j = doc["models"][0];
  const auto m = history.Models().at(0);
  EXPECT_EQ(j["model"], "fraud");
  EXPECT_EQ(j["version"], "1");
  EXPECT_EQ(j["quality_window"], "5m");
  EXPECT_EQ(j["drift_window"], "5m");
  EXPECT_EQ(j["t"], nlohmann::json({kT0, kT0 + 1000}));
  auto near = [](const nlohmann::json& v, double want) {
    return v.is_number() &&
           std::fabs(v.get<double>() - want) <= 1e-5 * std::fabs(want);
  };
  for (const char* key : {"request_rate", "error_ratio", "latency_p50_seconds",
                          "latency_p99_seconds", "empty_share"}) {
    ASSERT_EQ(j[key].size(), 2u) << key;
    EXPECT_TRUE(j[key][0].is_null()) << key;
  }
  EXPECT_TRUE(near(j["request_rate"][1], 30.0));
  EXPECT_TRUE(near(j["error_ratio"][1], 0.1));
  EXPECT_TRUE(near(j["latency_p50_seconds"][1], m.latency_p50_seconds[1]));
  EXPECT_TRUE(near(j["latency_p50_seconds"][1], 0.01 + 0.01 * 15.0 / 30.0));
  EXPECT_TRUE(near(j["empty_share"][1], 0.0) || j["empty_share"][1] == 0);
  EXPECT_TRUE(near(j["precision"]["0.5"][1], 0.75));
  EXPECT_TRUE(near(j["drift_psi"]["amount_usd"][1], 0.123456789));
}

TEST(StatusHistoryJsonTest, EscapesModelNames) {
  Registry registry;
  GoldenSignals signals(registry, "a\"b\\c\n", "v\x01");
  signals.AddEndpoint("predict");
  StatusHistory history(registry);
  history.Sample(kT0);
  const std::string json = history.Json(kT0);
  const auto doc = nlohmann::json::parse(json);
  EXPECT_EQ(doc["models"][0]["model"], "a\"b\\c\n");
  EXPECT_EQ(doc["models"][0]["version"], "v\x01");
}

TEST(StatusHistoryJsonTest, EmptyRegistryHasNoModels) {
  Registry registry;
  StatusHistory history(registry);
  const auto doc = nlohmann::json::parse(history.Json(kT0));
  EXPECT_TRUE(doc["models"].is_array());
  EXPECT_TRUE(doc["models"].empty());
  EXPECT_EQ(doc["samples"], 0);
}

TEST(StatusHistoryOptionsTest, RejectsZeroBounds) {
  Registry registry;
  StatusHistoryOptions o;
  o.points = 1;
  EXPECT_THROW(StatusHistory(registry, o), ConfigError);
  o = {};
  o.max_models = 0;
  EXPECT_THROW(StatusHistory(registry, o), ConfigError);
  o = {};
  o.max_series = 0;
  EXPECT_THROW(StatusHistory(registry, o), ConfigError);
  try {
    o = {};
    o.points = 0;
    StatusHistory h(registry, o);
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: StatusHistoryOptions.points: must be at least 2 (0)");
  }
}

TEST(StatusPageHtmlTest, IsSelfContained) {
  const std::string html(StatusPageHtml());
  EXPECT_THAT(html, ::testing::StartsWith("<!doctype html>"));
  EXPECT_THAT(html, HasSubstr("</html>"));
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  // The only href is the empty inline icon (no favicon request).
  std::size_t at = 0, hrefs = 0;
  while ((at = html.find("href=", at)) != std::string::npos) {
    EXPECT_EQ(html.compare(at, 13, "href=\"data:,\""), 0)
        << html.substr(at, 40);
    ++hrefs;
    ++at;
  }
  EXPECT_EQ(hrefs, 1u);
  // It reads its data from the relative status API.
  EXPECT_THAT(html, HasSubstr("\"api/v1/status\""));
  for (const char* id : {"chart-", "data-points"}) {
    EXPECT_THAT(html, HasSubstr(id));
  }
}

// Writers record while a sampler samples and readers render: the TSan build
// checks the locking; the invariant checked here is that every model's
// vectors stay the same length as its timestamps.
TEST(StatusHistoryConcurrencyTest, SampleAndJsonWhileRecording) {
  Registry registry;
  GoldenSignals signals(registry, "fraud", "1");
  Endpoint& predict = signals.AddEndpoint("predict");
  StatusHistoryOptions o;
  o.points = 50;
  StatusHistory history(registry, o);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        RequestGuard guard(predict);
      }
    });
  }
  std::thread reader([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const auto doc = nlohmann::json::parse(history.Json(kT0));
      ASSERT_TRUE(doc["models"].is_array());
    }
  });
  for (int i = 0; i < 200; ++i) {
    history.Sample(kT0 + i);
    for (const auto& m : history.Models()) {
      ASSERT_EQ(m.request_rate.size(), m.unix_millis.size());
      ASSERT_EQ(m.latency_p99_seconds.size(), m.unix_millis.size());
      for (double r : m.request_rate) EXPECT_TRUE(std::isnan(r) || r >= 0);
    }
  }
  stop.store(true);
  for (auto& t : writers) t.join();
  reader.join();
  EXPECT_EQ(history.Models().at(0).unix_millis.size(), 50u);
}

}  // namespace
}  // namespace mlmon
