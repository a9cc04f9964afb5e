#include "periodic_thread.h"

#include <utility>

namespace mlmon {
namespace internal {

void PeriodicThread::Start(std::chrono::steady_clock::duration period,
                           std::function<void()> task) {
  {
    detail::MutexLock lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread(
      [this, period, task = std::move(task)] { Loop(period, task); });
}

void PeriodicThread::Stop() noexcept {
  if (!thread_.joinable()) return;
  {
    detail::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  try {
    thread_.join();
  } catch (...) {
    // join() throws when called from the task itself (forbidden, see the
    // header) or when the thread is not joinable (checked above).
  }
}

bool PeriodicThread::StoppedBy(std::chrono::steady_clock::time_point until) {
  detail::MutexLock lock(mu_);
  while (!stop_ &&
         cv_.wait_until(lock.native(), until) != std::cv_status::timeout) {
  }
  return stop_;
}

void PeriodicThread::Loop(std::chrono::steady_clock::duration period,
                          const std::function<void()>& task) {
  auto next = std::chrono::steady_clock::now() + period;
  while (!StoppedBy(next)) {
    try {
      task();
    } catch (...) {
      // Upkeep must never take the host down; the next period retries.
    }
    next += period;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + period;
  }
}

}  // namespace internal
}  // namespace mlmon
