#ifndef MLMON_TICKER_H_
#define MLMON_TICKER_H_

/// \file
/// `Ticker`: a thread that runs upkeep tasks (`ModelMonitor::Tick` and the
/// like) at a fixed period.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <thread>
#include <vector>

#include "mlmon/detail/mutex.h"

namespace mlmon {

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
  void Loop();
  const std::chrono::milliseconds period_;
  detail::Mutex mu_;
  std::condition_variable cv_;
  bool stop_ MLMON_GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> tasks_ MLMON_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace mlmon

#endif  // MLMON_TICKER_H_
