#ifndef MLMON_TICKER_H_
#define MLMON_TICKER_H_

/// \file
/// `Ticker`: a thread that runs upkeep tasks (`ModelMonitor::Tick` and the
/// like) at a fixed period.

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "mlmon/detail/mutex.h"

namespace mlmon {

namespace internal {
class PeriodicThread;
}  // namespace internal

/// Calls `Tick()`-like upkeep functions every `period` on its own thread (the
/// window ticker: window rotation, expiry, windowed gauges, drift), until
/// destroyed. Exceptions from a task are swallowed (the library never
/// crashes its host).
///
/// Thread safety: thread-safe.
class Ticker {
 public:
  explicit Ticker(std::chrono::milliseconds period = std::chrono::seconds(1));
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  /// Adds a task. The task must stay valid until the ticker is destroyed.
  void Add(std::function<void()> task);
  /// Runs every task once, now, on the caller's thread.
  void RunOnce();

 private:
  detail::Mutex mu_;
  std::vector<std::function<void()>> tasks_ MLMON_GUARDED_BY(mu_);
  // Declared last: destroyed (stopped and joined) first.
  std::unique_ptr<internal::PeriodicThread> thread_;
};

}  // namespace mlmon

#endif  // MLMON_TICKER_H_
