// Histogram exemplars (detail::ExemplarSlot, Histogram::EnableExemplars),
// their ids from RequestGuard::SetId and ResponseDistribution::ObserveScore,
// and the OpenMetrics exposition that serves them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <type_traits>

#include "mlmon/detail/exemplar.h"
#include "mlmon/golden_signals.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"

namespace mlmon {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

static_assert(noexcept(std::declval<RequestGuard&>().SetId("x")));
static_assert(noexcept(std::declval<ResponseDistribution&>().ObserveScore(
    0.5, std::string_view("x"))));
static_assert(noexcept(std::declval<Histogram&>().ObserveAt(
    0, 1.0, std::string_view("x"), std::declval<const Clock&>())));
static_assert(noexcept(std::declval<detail::ExemplarSlot&>().TryWrite(
    std::string_view("x"), 1.0, 2.0)));

TEST(ExemplarSlotTest, EmptyUntilWrittenThenHoldsTheLastWrite) {
  detail::ExemplarSlot slot;
  detail::ExemplarValue v;
  EXPECT_FALSE(slot.Read(&v));
  EXPECT_EQ(v.id_size, 0u);
  ASSERT_TRUE(slot.TryWrite("first-id-longer-than-eight", 0.25, 1.5));
  ASSERT_TRUE(slot.TryWrite("p-2", 0.75, 2.5));
  ASSERT_TRUE(slot.Read(&v));
  EXPECT_EQ(v.Id(), "p-2");
  EXPECT_EQ(v.value, 0.75);
  EXPECT_EQ(v.unix_seconds, 2.5);
  const std::string longest(detail::kMaxExemplarIdBytes, 'z');
  ASSERT_TRUE(slot.TryWrite(longest, 1, 2));
  ASSERT_TRUE(slot.Read(&v));
  EXPECT_EQ(v.Id(), longest);
}

TEST(HistogramExemplarTest, LastIdPerBucketOnlyWhenEnabled) {
  FakeClock clock(0, 1000.0);
  Histogram plain({1, 2});
  plain.ObserveAt(detail::CurrentSlot(), 0.5, "a", clock);
  detail::ExemplarValue v;
  EXPECT_FALSE(plain.exemplars_enabled());
  EXPECT_FALSE(plain.ReadExemplar(0, &v));
  EXPECT_EQ(plain.Collect().count, 1u);  // still observed

  Histogram h({1, 2});
  h.EnableExemplars();
  h.EnableExemplars();  // idempotent
  const int slot = detail::CurrentSlot();
  h.ObserveAt(slot, 0.5, "a", clock);
  clock.Advance(std::chrono::seconds(2));
  h.ObserveAt(slot, 0.7, "b", clock);  // same bucket: replaces "a"
  h.ObserveAt(slot, 1.5, "c", clock);
  h.ObserveAt(slot, 9.0, "", clock);  // no id: no exemplar
  ASSERT_TRUE(h.ReadExemplar(0, &v));
  EXPECT_EQ(v.Id(), "b");
  EXPECT_EQ(v.value, 0.7);
  EXPECT_EQ(v.unix_seconds, 1002.0);
  ASSERT_TRUE(h.ReadExemplar(1, &v));
  EXPECT_EQ(v.Id(), "c");
  EXPECT_FALSE(h.ReadExemplar(2, &v));   // +Inf: observed without an id
  EXPECT_FALSE(h.ReadExemplar(99, &v));  // no such bucket
  EXPECT_EQ(h.Collect().count, 4u);
}

TEST(HistogramExemplarTest, TooLongIdIsDroppedAndCountedNotTheObservation) {
  Registry registry;
  FakeClock clock;
  detail::DropSink* drops = registry.DropsFor("m", "1");
  Histogram h({1}, drops);
  h.EnableExemplars();
  const int slot = detail::CurrentSlot();
  h.ObserveAt(slot, 0.5, std::string(detail::kMaxExemplarIdBytes, 'k'), clock);
  h.ObserveAt(slot, 0.6, std::string(detail::kMaxExemplarIdBytes + 1, 'x'),
              clock);
  detail::ExemplarValue v;
  ASSERT_TRUE(h.ReadExemplar(0, &v));
  EXPECT_EQ(v.Id(), std::string(64, 'k'));  // the too-long id did not land
  EXPECT_EQ(h.Collect().count, 2u);
  EXPECT_THAT(
      registry.TextExposition(),
      HasSubstr(
          R"(mlmon_dropped_total{model="m",version="1",reason="id_too_long"} 1)"));
}

TEST(RequestGuardExemplarTest, SetIdMakesTheLatencyBucketsExemplar) {
  Registry registry;
  FakeClock clock(0, 1700000000.0);
  GoldenSignalsOptions options;
  options.clock = &clock;
  options.latency_buckets = {0.1, 1};
  GoldenSignals signals(registry, "m", "1", options);
  Endpoint& ep = signals.AddEndpoint("predict");
  {
    RequestGuard guard(ep);
    std::string id = "req-42";
    guard.SetId(id);
    id.assign("overwritten");  // the guard keeps its own copy
    clock.Advance(std::chrono::milliseconds(250));
  }
  {
    RequestGuard guard(ep);  // no id: no exemplar
    clock.Advance(std::chrono::milliseconds(50));
  }
  {
    RequestGuard guard(ep);
    guard.SetId(std::string(65, 'x'));  // too long: dropped, counted
    clock.Advance(std::chrono::seconds(3));
  }
  const std::string om = registry.OpenMetricsExposition();
  EXPECT_THAT(
      om, HasSubstr(
              "mlmon_request_duration_seconds_bucket{model=\"m\",version=\"1\","
              "endpoint=\"predict\",le=\"1\"} 2 # {id=\"req-42\"} 0.25 "
              "1700000000.25\n"));
  EXPECT_THAT(om, HasSubstr("endpoint=\"predict\",le=\"0.1\"} 1\n"));
  EXPECT_THAT(om, HasSubstr("endpoint=\"predict\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(om, HasSubstr("reason=\"id_too_long\"} 1\n"));
}

TEST(RequestGuardExemplarTest, ExemplarsCanBeTurnedOff) {
  Registry registry;
  GoldenSignalsOptions options;
  options.exemplars = false;
  GoldenSignals signals(registry, "m", "1", options);
  Endpoint& ep = signals.AddEndpoint("predict");
  {
    RequestGuard guard(ep);
    guard.SetId("req-1");
  }
  EXPECT_THAT(registry.OpenMetricsExposition(), Not(HasSubstr("req-1")));
}

TEST(ResponseDistributionExemplarTest, ScoreBucketKeepsThePredictionId) {
  Registry registry;
  FakeClock clock(0, 1700000000.0);
  ResponseSpec spec;
  spec.score_buckets = {0.5, 1};
  ResponseDistribution d(registry, "m", "1", spec, nullptr, &clock);
  d.ObserveScore(0.25, "p-1");
  d.ObserveScore(0.5, "p-2");  // == the bound: bucket le="0.5"
  d.ObserveScore(0.75, "p-3");
  d.ObserveScore(0.8);
  d.ObserveScore(2.0, "p-bad");  // outside [0, 1]: dropped whole
  Registry other;
  ResponseSpec regression;
  regression.value_range = ResponseSpec::ValueRange::kUnbounded;
  regression.score_buckets = {-1, 0, 1};
  ResponseDistribution r(other, "r", "1", regression, nullptr, &clock);
  r.ObserveScore(-3.5, "neg-1");
  const std::string om = registry.OpenMetricsExposition();
  const std::string om_r = other.OpenMetricsExposition();
  EXPECT_THAT(
      om, HasSubstr("{model=\"m\",version=\"1\",segment=\"\",le=\"0.5\"} 2 # "
                    "{id=\"p-2\"} 0.5 1700000000\n"));
  EXPECT_THAT(om,
              HasSubstr("{model=\"m\",version=\"1\",segment=\"\",le=\"1\"} 4 # "
                        "{id=\"p-3\"} 0.75 1700000000\n"));
  EXPECT_THAT(om, Not(HasSubstr("p-bad")));
  EXPECT_THAT(
      om_r, HasSubstr("{model=\"r\",version=\"1\",segment=\"\",le=\"-1\"} 1 # "
                      "{id=\"neg-1\"} -3.5 1700000000\n"));
  // A histogram with a negative bound has neither _sum nor _count under
  // OpenMetrics; its +Inf bucket is the count.
  EXPECT_THAT(om_r, Not(HasSubstr("mlmon_prediction_score_sum{")));
  EXPECT_THAT(om_r, Not(HasSubstr("mlmon_prediction_score_count{")));
  EXPECT_THAT(
      om_r,
      HasSubstr("{model=\"r\",version=\"1\",segment=\"\",le=\"+Inf\"} 1\n"));
  EXPECT_THAT(om, HasSubstr("mlmon_prediction_score_sum{model=\"m\""));
  EXPECT_THAT(other.TextExposition(),
              HasSubstr("mlmon_prediction_score_sum{model=\"r\""));
}

TEST(OpenMetricsTest, WholeExpositionOfASmallRegistry) {
  Registry registry;
  registry.AddCounter("app_jobs_total", "Jobs \"run\".\\", {"queue"})
      .Add({"a"})
      .Increment(3);
  registry.AddCounter("app_ticks", "Ticks.", {}).Add({}).Increment();
  registry.AddGauge("app_temp", "Temp.", {}).Add({}).Set(-1.5);
  Histogram& h =
      registry.AddHistogram("app_latency", "Latency.", {}, {0.5}).Add({});
  h.EnableExemplars();
  FakeClock clock(0, 12.5);
  h.ObserveAt(detail::CurrentSlot(), 0.25,
              std::string_view("q\"b\\s\nn\xff\0", 9), clock);
  h.ObserveAt(detail::CurrentSlot(), 2, "", clock);
  std::string want =
      "# HELP app_jobs Jobs \\\"run\\\".\\\\\n"
      "# TYPE app_jobs counter\n"
      "app_jobs_total{queue=\"a\"} 3\n"
      "# HELP app_latency Latency.\n"
      "# TYPE app_latency histogram\n"
      // \xff and the NUL byte each become U+FFFD.
      "app_latency_bucket{le=\"0.5\"} 1 # {id=\"q\\\"b\\\\s\\nn\xEF\xBF\xBD"
      "\xEF\xBF\xBD\"}"
      " 0.25 12.5\n"
      "app_latency_bucket{le=\"+Inf\"} 2\n"
      "app_latency_count 2\n"
      "app_latency_sum 2.25\n"
      "# HELP app_temp Temp.\n"
      "# TYPE app_temp gauge\n"
      "app_temp -1.5\n"
      "# HELP app_ticks Ticks.\n"
      "# TYPE app_ticks counter\n"
      "app_ticks_total 1\n"
      // The registry's own drop counters (families without model/version
      // count their drops under model="", version="").
      "# HELP mlmon_dropped Values the library refused on the hot path, by "
      "reason.\n"
      "# TYPE mlmon_dropped counter\n";
  for (const char* reason :
       {"nan", "inf", "negative_increment", "queue_full", "id_too_long",
        "invalid_value", "unknown_name", "hook_failure", "store_unavailable"}) {
    want +=
        std::string("mlmon_dropped_total{model=\"\",version=\"\",reason=\"") +
        reason + "\"} 0\n";
  }
  want += "# EOF\n";
  EXPECT_EQ(registry.OpenMetricsExposition(), want);
}

TEST(OpenMetricsTest, AFamilyWhoseNamesClashIsLeftOut) {
  Registry registry;
  registry.AddGauge("app_x", "A gauge.", {}).Add({}).Set(1);
  registry.AddCounter("app_x_total", "Clashes with the gauge.", {})
      .Add({})
      .Increment();
  registry.AddCounter("app_y", "Counter y.", {}).Add({}).Increment(2);
  registry.AddCounter("app_y_total", "Same family y.", {}).Add({}).Increment(5);
  const std::string om = registry.OpenMetricsExposition();
  EXPECT_THAT(om, HasSubstr("app_x 1\n"));
  EXPECT_THAT(om, Not(HasSubstr("app_x_total")));
  EXPECT_THAT(om, HasSubstr("app_y_total 2\n"));
  EXPECT_THAT(om, Not(HasSubstr("app_y_total 5")));
  EXPECT_THAT(om, EndsWith("# EOF\n"));
  // The text format keeps all four.
  const std::string text = registry.TextExposition();
  EXPECT_THAT(text, HasSubstr("app_x_total 1\n"));
  EXPECT_THAT(text, HasSubstr("app_y_total 5\n"));
}

}  // namespace
}  // namespace mlmon
