// ModelMonitor set-up: whatever goes wrong while the signals are built, the
// host sees a mlmon::ConfigError (the README's `catch (const
// mlmon::ConfigError&)` is all a host needs), never another exception.

#include "mlmon/model_monitor.h"

#include <gtest/gtest.h>

#include <string>

#include "counting_new.h"
#include "mlmon/errors.h"
#include "mlmon/registry.h"

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
    EXPECT_NE(what.find("out of memory"), std::string::npos) << what;
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
