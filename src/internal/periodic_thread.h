#ifndef MLMON_SRC_INTERNAL_PERIODIC_THREAD_H_
#define MLMON_SRC_INTERNAL_PERIODIC_THREAD_H_

/// \file
/// A background thread that runs one task at a fixed cadence until it is
/// stopped: `Ticker` and the upkeep loops of the HTTP server (deadline
/// reaper, status sampler). Private to the library (never installed).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <thread>

#include "mlmon/detail/mutex.h"

namespace mlmon {
namespace internal {

class PeriodicThread {
 public:
  PeriodicThread() = default;
  /// Stops and joins the thread, if running.
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  /// Starts a thread that calls `task` every `period` (the first call one
  /// period after Start) until Stop(). The cadence is fixed: a slow task
  /// delays the next call, and after a stall (a suspended process) the
  /// calls resume one period later instead of catching up in a burst.
  /// Whatever `task` throws is dropped; the next period calls it again.
  /// REQUIRES: not running. \throw std::system_error if no thread starts.
  void Start(std::chrono::steady_clock::duration period,
             std::function<void()> task);

  /// Wakes the thread, waits for a running task to return and joins it.
  /// Idempotent; Start may be called again afterwards. Must not be called
  /// from the task itself (the thread cannot join itself).
  void Stop() noexcept;

 private:
  // Waits until `until` or Stop; true when stopped.
  bool StoppedBy(std::chrono::steady_clock::time_point until);
  void Loop(std::chrono::steady_clock::duration period,
            const std::function<void()>& task);

  std::thread thread_;  // started and joined by the owner's thread only
  detail::Mutex mu_;
  std::condition_variable cv_;
  bool stop_ MLMON_GUARDED_BY(mu_) = false;
};

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_PERIODIC_THREAD_H_
