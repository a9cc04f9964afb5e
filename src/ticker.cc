#include "mlmon/ticker.h"

#include <utility>

namespace mlmon {

Ticker::Ticker(std::chrono::milliseconds period) : period_(period) {
  thread_ = std::thread([this] { Loop(); });
}

Ticker::~Ticker() {
  {
    detail::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Ticker::Add(std::function<void()> task) {
  detail::MutexLock lock(mu_);
  tasks_.push_back(std::move(task));
}

void Ticker::RunOnce() {
  std::vector<std::function<void()>> tasks;
  {
    detail::MutexLock lock(mu_);
    tasks = tasks_;
  }
  for (auto& t : tasks) {
    try {
      t();
    } catch (...) {
      // Upkeep must never take the host down; the next tick retries.
    }
  }
}

// Waits one period (or until stopped) with the lock held, then runs the
// tasks without it, so `Add` and the destructor never wait for a task.
void Ticker::Loop() {
  for (;;) {
    {
      detail::MutexLock lock(mu_);
      const auto deadline = std::chrono::steady_clock::now() + period_;
      while (!stop_) {
        if (cv_.wait_until(lock.native(), deadline) ==
            std::cv_status::timeout) {
          break;
        }
      }
      if (stop_) return;
    }
    RunOnce();
  }
}

}  // namespace mlmon
