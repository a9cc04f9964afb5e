// internal::PeriodicThread, the upkeep loop under Ticker, the HTTP server's
// deadline reaper and its status sampler: it calls its task until stopped,
// survives a throwing task, stops without waiting out the period, and can
// be started again after a stop. Progress is observed through a counter the
// task signals; nothing sleeps.

#include "internal/periodic_thread.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

namespace mlmon {
namespace internal {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

class Calls {
 public:
  void Add() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++n_;
    }
    cv_.notify_all();
  }
  // Whether `n` calls were made within a generous bound for a loaded
  // machine (a passing run returns as soon as they are).
  bool WaitFor(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30),
                        [&] { return n_ >= n; });
  }
  int count() {
    std::lock_guard<std::mutex> lock(mu_);
    return n_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

TEST(PeriodicThreadTest, CallsTheTaskRepeatedly) {
  Calls calls;
  PeriodicThread t;
  t.Start(milliseconds(1), [&] { calls.Add(); });
  EXPECT_TRUE(calls.WaitFor(3));
}

TEST(PeriodicThreadTest, AThrowingTaskIsCalledAgain) {
  Calls calls;
  PeriodicThread t;
  t.Start(milliseconds(1), [&] {
    calls.Add();
    throw std::runtime_error("upkeep failed");
  });
  EXPECT_TRUE(calls.WaitFor(2));
}

// With an hour's period the test would time out if Stop waited for it.
TEST(PeriodicThreadTest, StopDoesNotWaitForThePeriod) {
  Calls calls;
  PeriodicThread t;
  t.Start(hours(1), [&] { calls.Add(); });
  t.Stop();
  EXPECT_EQ(calls.count(), 0) << "called before its first period";
}

TEST(PeriodicThreadTest, NoCallAfterStopAndRestartWorks) {
  Calls calls;
  PeriodicThread t;
  t.Start(milliseconds(1), [&] { calls.Add(); });
  ASSERT_TRUE(calls.WaitFor(1));
  t.Stop();
  const int stopped_at = calls.count();
  t.Stop();  // idempotent
  EXPECT_EQ(calls.count(), stopped_at);
  t.Start(milliseconds(1), [&] { calls.Add(); });
  EXPECT_TRUE(calls.WaitFor(stopped_at + 2));
}

}  // namespace
}  // namespace internal
}  // namespace mlmon
