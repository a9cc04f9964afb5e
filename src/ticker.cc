#include "mlmon/ticker.h"

#include <utility>

#include "internal/periodic_thread.h"

namespace mlmon {

Ticker::Ticker(std::chrono::milliseconds period)
    : thread_(std::make_unique<internal::PeriodicThread>()) {
  thread_->Start(period, [this] { RunOnce(); });
}

Ticker::~Ticker() { thread_->Stop(); }

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

}  // namespace mlmon
