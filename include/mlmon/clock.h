#ifndef MLMON_CLOCK_H_
#define MLMON_CLOCK_H_

/// \file
/// An injectable clock so tests never sleep.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mlmon {

/// A source of monotonic time in nanoseconds.
///
/// Thread safety: implementations must be thread-safe; `NowNanos()` is called
/// from inference threads and must be noexcept, lock-free and allocation-free.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Monotonic time, in nanoseconds since an arbitrary epoch.
  virtual std::int64_t NowNanos() const noexcept = 0;
  /// Wall-clock time in seconds since the Unix epoch (for timestamps that are
  /// exported, e.g. `mlmon_last_outcome_timestamp_seconds`).
  virtual double UnixSeconds() const noexcept = 0;
};

/// `std::chrono::steady_clock` (and `system_clock` for Unix time).
///
/// Thread safety: thread-safe.
class SteadyClock final : public Clock {
 public:
  std::int64_t NowNanos() const noexcept override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  double UnixSeconds() const noexcept override {
    return std::chrono::duration<double>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  /// The process-wide instance used when no clock is injected.
  static const SteadyClock& Instance() noexcept {
    static const SteadyClock clock;
    return clock;
  }
};

/// A clock that only moves when told to. For tests.
///
/// Thread safety: thread-safe.
///
/// **Example**:
///
///     mlmon::FakeClock clock;
///     clock.Advance(std::chrono::milliseconds(5));
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t start_nanos = 0, double unix_start = 1.7e9)
      : nanos_(start_nanos), unix_start_(unix_start), start_(start_nanos) {}
  std::int64_t NowNanos() const noexcept override {
    return nanos_.load(std::memory_order_relaxed);
  }
  double UnixSeconds() const noexcept override {
    return unix_start_ + static_cast<double>(NowNanos() - start_) / 1e9;
  }
  /// Moves time forward by `d`.
  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> d) noexcept {
    nanos_.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(),
        std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t> nanos_;
  double unix_start_;
  std::int64_t start_;
};

}  // namespace mlmon

#endif  // MLMON_CLOCK_H_
