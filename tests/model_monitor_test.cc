// ModelMonitor: the signals of a spec, bound under its model and version
// labels and driven by the injected clock; and set-up, where whatever goes
// wrong while the signals are built reaches the host as a
// mlmon::ConfigError (the README's `catch (const mlmon::ConfigError&)` is
// all a host needs), never another exception.

#include "mlmon/model_monitor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "counting_new.h"
#include "mlmon/clock.h"
#include "mlmon/errors.h"
#include "mlmon/registry.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

MonitorSpec BinarySpec(std::size_t pending_capacity) {
  MonitorSpec spec;
  spec.model = "fraud";
  spec.version = "1";
  spec.outcome.pending_capacity = pending_capacity;
  return spec;
}

// Refuses large allocations of this thread while in scope.
class RefuseAllocationsAbove {
 public:
  explicit RefuseAllocationsAbove(std::size_t bytes) {
    mlmon_test::t_fail_above = bytes;
  }
  ~RefuseAllocationsAbove() { mlmon_test::t_fail_above = 0; }
};

TEST(ModelMonitorSetUpTest, BuildsWithAValidSpec) {
  Registry registry;
  ModelMonitor monitor(registry, BinarySpec(1000));
  EXPECT_NE(registry.TextExposition().find("mlmon_pending_predictions"),
            std::string::npos);
}

// Every endpoint of the spec is bound at construction (its series exist
// before any request) with the spec's model and version labels.
TEST(ModelMonitorTest, BindsTheSpecsEndpointsUnderItsLabels) {
  Registry registry;
  MonitorSpec spec = BinarySpec(1000);
  spec.version = "v7";
  spec.endpoints = {"predict", "explain"};
  ModelMonitor monitor(registry, spec);
  for (const char* endpoint : {"predict", "explain"}) {
    EXPECT_EQ(testutil::SampleValue(
                  registry, std::string("mlmon_requests_total{model=\"fraud\","
                                        "version=\"v7\",endpoint=\"") +
                                endpoint + "\",status=\"ok\"}"),
              0.0)
        << endpoint;
  }
  EXPECT_EQ(monitor.spec().version, "v7");
  EXPECT_EQ(&monitor.endpoint("predict"), &monitor.endpoint("predict"));
}

// The injected clock times requests: 250 ms of fake time is a latency of
// exactly 0.25 s, with no wall-clock time passing.
TEST(ModelMonitorTest, RequestLatencyUsesTheInjectedClock) {
  Registry registry;
  FakeClock clock;
  ModelMonitor monitor(registry, BinarySpec(1000), &clock);
  {
    RequestGuard guard(monitor.endpoint("predict"));
    clock.Advance(std::chrono::milliseconds(250));
  }
  const std::string labels = R"({model="fraud",version="1",endpoint="predict")";
  EXPECT_EQ(testutil::SampleValue(
                registry, "mlmon_request_duration_seconds_sum" + labels + "}"),
            0.25);
  EXPECT_EQ(testutil::SampleValue(
                registry, "mlmon_requests_total" + labels + R"(,status="ok"})"),
            1.0);
}

// Tick() is the upkeep of the outcome tracker: a prediction older than
// outcome_ttl on the injected clock expires at the next tick, not before.
TEST(ModelMonitorTest, TickExpiresPredictionsOnTheInjectedClock) {
  Registry registry;
  FakeClock clock;
  MonitorSpec spec = BinarySpec(1000);
  spec.outcome.outcome_ttl = std::chrono::hours(1);
  ModelMonitor monitor(registry, spec, &clock);
  const std::string pending =
      R"(mlmon_pending_predictions{model="fraud",version="1"})";
  const std::string expired =
      R"(mlmon_predictions_expired_total{model="fraud",version="1"})";
  ASSERT_TRUE(monitor.outcomes().RecordPrediction("tx-1", 0.9));
  monitor.Tick();
  EXPECT_EQ(testutil::SampleValue(registry, pending), 1.0);
  clock.Advance(std::chrono::minutes(59));
  monitor.Tick();
  EXPECT_EQ(testutil::SampleValue(registry, pending), 1.0) << "expired early";
  clock.Advance(std::chrono::minutes(2));
  monitor.Tick();
  EXPECT_EQ(testutil::SampleValue(registry, pending), 0.0);
  EXPECT_EQ(testutil::SampleValue(registry, expired), 1.0);
}

// The messages of set-up failures name ModelMonitor.
TEST(ModelMonitorSetUpTest, ReferenceThatCannotBeReadIsAConfigError) {
  Registry registry;
  MonitorSpec spec = BinarySpec(1000);
  spec.reference_path = "/nonexistent/reference.json";
  try {
    ModelMonitor monitor(registry, spec);
    FAIL() << "a missing reference profile was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/reference.json"),
              std::string::npos)
        << e.what();
  }
}

// Outcome windows the host cannot allocate (AUC bins for every slice):
// std::bad_alloc from deep inside the tracker becomes a ConfigError that
// says what to check.
TEST(ModelMonitorSetUpTest, OutOfMemoryIsAConfigError) {
  Registry registry;
  MonitorSpec spec = BinarySpec(1000);
  spec.outcome.auc_bins = 65536;
  spec.outcome.slices_per_window = 3600;
  RefuseAllocationsAbove refuse(64 << 10);
  try {
    ModelMonitor monitor(registry, spec);
    FAIL() << "65536 AUC bins x 3600 slices were built with allocations "
              "over 64 KiB refused";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("mlmon: ModelMonitor: out of memory", 0), 0u) << what;
    EXPECT_NE(what.find("pending_capacity"), std::string::npos) << what;
  } catch (const std::exception& e) {
    FAIL() << "not a ConfigError: " << e.what();
  }
}

// A bad value is still reported by the check that found it, not rewrapped.
TEST(ModelMonitorSetUpTest, ValidationErrorsPassThroughUnchanged) {
  Registry registry;
  try {
    ModelMonitor monitor(registry, BinarySpec(0));
    FAIL() << "pending_capacity 0 accepted";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("pending_capacity"), std::string::npos) << what;
    EXPECT_EQ(what.find("out of memory"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace mlmon
