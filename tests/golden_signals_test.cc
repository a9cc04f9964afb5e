#include "mlmon/golden_signals.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

#include "testing/samples.h"

namespace mlmon {
namespace {

using std::chrono::milliseconds;

static_assert(noexcept(RequestGuard(std::declval<Endpoint&>())));
static_assert(std::is_nothrow_destructible_v<RequestGuard>);
static_assert(noexcept(std::declval<RequestGuard&>().Fail(ErrorReason())));
static_assert(!std::is_copy_constructible_v<RequestGuard>);
static_assert(!std::is_move_constructible_v<RequestGuard>);

using testutil::SampleValue;

class GoldenSignalsTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  Registry registry_;
  GoldenSignals signals_{registry_, "fraud", "v7",
                         GoldenSignalsOptions{{0.01, 0.1, 1}, &clock_}};
  Endpoint& predict_ = signals_.AddEndpoint("predict");
  const std::string labels_ =
      R"(model="fraud",version="v7",endpoint="predict")";
};

TEST_F(GoldenSignalsTest, GuardCountsOkRequestAndObservesLatency) {
  {
    RequestGuard guard(predict_);
    EXPECT_EQ(
        SampleValue(registry_, "mlmon_requests_in_flight{" + labels_ + "}"), 1);
    clock_.Advance(milliseconds(50));
  }
  EXPECT_EQ(SampleValue(registry_, "mlmon_requests_in_flight{" + labels_ + "}"),
            0);
  EXPECT_EQ(SampleValue(registry_,
                        "mlmon_requests_total{" + labels_ + R"(,status="ok"})"),
            1);
  EXPECT_EQ(SampleValue(registry_, "mlmon_requests_total{" + labels_ +
                                       R"(,status="error"})"),
            0);
  EXPECT_EQ(SampleValue(registry_, "mlmon_request_duration_seconds_bucket{" +
                                       labels_ + R"(,le="0.01"})"),
            0);
  EXPECT_EQ(SampleValue(registry_, "mlmon_request_duration_seconds_bucket{" +
                                       labels_ + R"(,le="0.1"})"),
            1);
  EXPECT_DOUBLE_EQ(
      SampleValue(registry_,
                  "mlmon_request_duration_seconds_sum{" + labels_ + "}")
          .value_or(-1),
      0.05);
}

TEST_F(GoldenSignalsTest, FailWithBoundReasonCountsError) {
  ErrorReason timeout = predict_.BindErrorReason("timeout");
  {
    RequestGuard guard(predict_);
    guard.Fail(timeout);
  }
  EXPECT_EQ(SampleValue(registry_, "mlmon_requests_total{" + labels_ +
                                       R"(,status="error"})"),
            1);
  EXPECT_EQ(SampleValue(registry_,
                        "mlmon_requests_total{" + labels_ + R"(,status="ok"})"),
            0);
  EXPECT_EQ(SampleValue(registry_, "mlmon_request_errors_total{" + labels_ +
                                       R"(,reason="timeout"})"),
            1);
}

TEST_F(GoldenSignalsTest, DefaultReasonCountsAsError) {
  {
    RequestGuard guard(predict_);
    guard.Fail(ErrorReason());
  }
  EXPECT_EQ(SampleValue(registry_, "mlmon_request_errors_total{" + labels_ +
                                       R"(,reason="error"})"),
            1);
}

TEST_F(GoldenSignalsTest, ExceptionLeavingTheScopeCountsAsException) {
  try {
    RequestGuard guard(predict_);
    clock_.Advance(milliseconds(2));
    throw std::runtime_error("model blew up");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(SampleValue(registry_, "mlmon_requests_total{" + labels_ +
                                       R"(,status="error"})"),
            1);
  EXPECT_EQ(SampleValue(registry_, "mlmon_request_errors_total{" + labels_ +
                                       R"(,reason="exception"})"),
            1);
  EXPECT_EQ(SampleValue(registry_, "mlmon_request_duration_seconds_count{" +
                                       labels_ + "}"),
            1);
  EXPECT_EQ(SampleValue(registry_, "mlmon_requests_in_flight{" + labels_ + "}"),
            0);
}

TEST_F(GoldenSignalsTest, GuardInsideCatchHandlerIsNotAnException) {
  // A guard created while an exception is already in flight (e.g. in a
  // destructor during unwinding) must not blame that exception on itself.
  struct Unwinder {
    Endpoint& ep;
    ~Unwinder() { RequestGuard guard(ep); }
  };
  try {
    Unwinder u{predict_};
    throw 1;
  } catch (int) {
  }
  EXPECT_EQ(SampleValue(registry_,
                        "mlmon_requests_total{" + labels_ + R"(,status="ok"})"),
            1);
}

TEST_F(GoldenSignalsTest, QueueDepthAndModelInfo) {
  signals_.queue_depth().Set(12);
  EXPECT_EQ(SampleValue(registry_,
                        R"(mlmon_queue_depth{model="fraud",version="v7"})"),
            12);
  EXPECT_EQ(
      SampleValue(
          registry_,
          R"(mlmon_model_info{model="fraud",version="v7",loaded_at="1700000000"})"),
      1);
}

// The load time as a value (for `time() - x`): the injected clock's Unix
// time at construction, in whole seconds like `loaded_at`, not moving after.
TEST(GoldenSignalsModelAgeTest, LoadedTimestampIsTheClockAtConstruction) {
  FakeClock clock(0, 1234567890.75);
  Registry registry;
  GoldenSignalsOptions options;
  options.clock = &clock;
  GoldenSignals signals(registry, "eta", "2", options);
  clock.Advance(std::chrono::hours(5));
  const std::string text = registry.TextExposition();
  EXPECT_EQ(SampleValue(text, R"(mlmon_model_loaded_timestamp_seconds{)"
                              R"(model="eta",version="2"})"),
            1234567890);
  EXPECT_EQ(SampleValue(text, R"(mlmon_model_info{model="eta",version="2",)"
                              R"(loaded_at="1234567890"})"),
            1);
}

TEST_F(GoldenSignalsTest, SameEndpointNameGivesSameEndpoint) {
  EXPECT_EQ(&signals_.AddEndpoint("predict"), &predict_);
  EXPECT_NE(&signals_.AddEndpoint("explain"), &predict_);
}

TEST_F(GoldenSignalsTest, TwoModelsShareFamiliesWithDifferentLabels) {
  GoldenSignals other(registry_, "ranker", "1",
                      GoldenSignalsOptions{{0.01, 0.1, 1}, &clock_});
  Endpoint& ep = other.AddEndpoint("predict");
  { RequestGuard g(ep); }
  EXPECT_EQ(
      SampleValue(
          registry_,
          R"(mlmon_requests_total{model="ranker",version="1",endpoint="predict",status="ok"})"),
      1);
  EXPECT_EQ(SampleValue(registry_,
                        "mlmon_requests_total{" + labels_ + R"(,status="ok"})"),
            0);
}

TEST(GoldenSignalsSetupTest, BadSetupFailsFast) {
  Registry r;
  EXPECT_THROW(GoldenSignals(r, "", "1"), ConfigError);
  EXPECT_THROW(
      GoldenSignals(r, "m", "1", GoldenSignalsOptions{{1, 0.5}, nullptr}),
      ConfigError);
  GoldenSignals s(r, "m", "1");
  EXPECT_THROW(s.AddEndpoint(""), ConfigError);
  EXPECT_THROW(s.AddEndpoint("p").BindErrorReason(""), ConfigError);
}

std::string SetupMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no ConfigError";
}

TEST(GoldenSignalsSetupTest, MessagesNameTheSetting) {
  Registry r;
  EXPECT_EQ(SetupMessage([&] { GoldenSignals(r, "", "1"); }),
            "mlmon: GoldenSignals.model: must not be empty");
  GoldenSignals s(r, "m", "1");
  EXPECT_EQ(SetupMessage([&] { s.AddEndpoint(""); }),
            "mlmon: GoldenSignals.AddEndpoint: the endpoint name must not be "
            "empty (model 'm')");
  EXPECT_EQ(SetupMessage([&] { s.AddEndpoint("p").BindErrorReason(""); }),
            "mlmon: Endpoint.BindErrorReason: the reason must not be empty "
            "(endpoint 'p' of model 'm')");
  EXPECT_EQ(
      SetupMessage([&] {
        GoldenSignals(r, "m2", "1", GoldenSignalsOptions{{1, 0.5}, nullptr});
      }),
      "mlmon: GoldenSignalsOptions.latency_buckets[1]: not greater than the "
      "bound before it, 1 (0.5)");
}

}  // namespace
}  // namespace mlmon
