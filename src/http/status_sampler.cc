#include "http/status_sampler.h"

namespace mlmon {
namespace http {
namespace {

std::int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusHistoryOptions HistoryOptions(std::size_t points) {
  StatusHistoryOptions options;
  options.points = points;
  return options;
}

}  // namespace

StatusSampler::StatusSampler(const Registry& registry, std::size_t points,
                             unsigned interval_ms)
    : history_(registry, HistoryOptions(points)),
      interval_(interval_ms),
      stamp_wall_ms_(UnixMillis()),
      stamp_steady_(std::chrono::steady_clock::now()) {}

std::int64_t StatusSampler::SampleMillis() const {
  return stamp_wall_ms_ + std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - stamp_steady_)
                              .count();
}

void StatusSampler::Start() {
  history_.Sample(SampleMillis());
  {
    detail::MutexLock lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void StatusSampler::Stop() noexcept {
  if (!thread_.joinable()) return;
  {
    detail::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  try {
    thread_.join();
  } catch (...) {
    // join() throws only if the thread is not joinable (checked above).
  }
}

void StatusSampler::Loop() {
  auto next = std::chrono::steady_clock::now() + interval_;
  for (;;) {
    {
      detail::MutexLock lock(mu_);
      while (!stop_ &&
             cv_.wait_until(lock.native(), next) != std::cv_status::timeout) {
      }
      if (stop_) return;
    }
    try {
      history_.Sample(SampleMillis());
    } catch (...) {
      // e.g. bad_alloc: skip this point, keep sampling.
    }
    // A fixed cadence; after a stall (suspended process), no burst.
    next += interval_;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + interval_;
  }
}

}  // namespace http
}  // namespace mlmon
