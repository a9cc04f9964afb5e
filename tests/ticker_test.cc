// Ticker: runs its tasks on its own thread every period, swallows their
// exceptions, and stops when destroyed. The thread is observed through a
// condition variable the tasks signal; nothing sleeps.

#include "mlmon/ticker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mlmon {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

// Counts calls and lets the test wait for a count.
class CallLog {
 public:
  void Record(const std::string& name) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(name);
      threads_.push_back(std::this_thread::get_id());
    }
    cv_.notify_all();
  }
  // Whether `n` calls were recorded within `timeout` (a generous bound for
  // a loaded machine; a passing run returns as soon as they are).
  bool WaitFor(std::size_t n, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return calls_.size() >= n; });
  }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<std::thread::id> threads() {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> calls_;
  std::vector<std::thread::id> threads_;
};

// A period of hours: the background thread never ticks during the test, so
// RunOnce alone is observed.
TEST(TickerTest, RunOnceRunsEveryTaskInOrderOnTheCaller) {
  CallLog log;
  Ticker ticker(hours(1));
  ticker.Add([&] { log.Record("a"); });
  ticker.Add([&] { log.Record("b"); });
  ticker.RunOnce();
  EXPECT_EQ(log.calls(), (std::vector<std::string>{"a", "b"}));
  for (const auto& id : log.threads())
    EXPECT_EQ(id, std::this_thread::get_id());
  ticker.RunOnce();
  EXPECT_EQ(log.calls(), (std::vector<std::string>{"a", "b", "a", "b"}));
}

TEST(TickerTest, NoTasksIsANoOp) {
  Ticker ticker(hours(1));
  ticker.RunOnce();
}

// A throwing task neither escapes nor stops the tasks after it.
TEST(TickerTest, ExceptionsFromATaskAreSwallowed) {
  CallLog log;
  Ticker ticker(hours(1));
  ticker.Add([] { throw std::runtime_error("upkeep failed"); });
  ticker.Add([] { throw 42; });  // not even a std::exception
  ticker.Add([&] { log.Record("after"); });
  EXPECT_NO_THROW(ticker.RunOnce());
  EXPECT_EQ(log.calls(), std::vector<std::string>{"after"});
}

// With a 1 ms period the thread ticks repeatedly, on a thread that is not
// the test's, including tasks added after it started.
TEST(TickerTest, TheThreadTicksEveryPeriod) {
  CallLog log;
  Ticker ticker(milliseconds(1));
  ticker.Add([&] { log.Record("tick"); });
  ASSERT_TRUE(log.WaitFor(3, std::chrono::seconds(60)))
      << "3 ticks of 1 ms did not happen within a minute";
  for (const auto& id : log.threads())
    EXPECT_NE(id, std::this_thread::get_id());
}

// The destructor wakes the thread out of its wait: with an hour's period
// the test would time out if it waited for the period.
TEST(TickerTest, DestructionDoesNotWaitForThePeriod) {
  CallLog log;
  {
    Ticker ticker(hours(1));
    ticker.Add([&] { log.Record("tick"); });
  }
  EXPECT_TRUE(log.calls().empty()) << "ticked before its period";
}

// After destruction the thread has stopped: no task runs later.
TEST(TickerTest, NoTickAfterDestruction) {
  CallLog log;
  {
    Ticker ticker(milliseconds(1));
    ticker.Add([&] { log.Record("tick"); });
    ASSERT_TRUE(log.WaitFor(1, std::chrono::seconds(60)));
  }
  const std::size_t at_exit = log.calls().size();
  // Nothing can call Record any more: the thread was joined.
  EXPECT_FALSE(log.WaitFor(at_exit + 1, std::chrono::seconds(0)));
}

}  // namespace
}  // namespace mlmon
