#ifndef MLMON_TICKER_H_
#define MLMON_TICKER_H_

/// \file
/// `Ticker`: a thread that runs upkeep tasks (`ModelMonitor::Tick` and the
/// like) at a fixed period.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

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
  struct State;

 public:
  /// Keeps a task scheduled while it lives (`AddScoped`). Destroying it
  /// removes the task and waits for a run in progress to finish, so that
  /// what the task uses may be destroyed right after; it may outlive the
  /// ticker. REQUIRES: not destroyed from inside a task of the same ticker.
  class Registration {
   public:
    Registration() = default;
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&& other) noexcept;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();
    /// Removes the task now (as the destructor does). Idempotent.
    void Reset();

   private:
    friend class Ticker;
    Registration(std::shared_ptr<State> state, std::uint64_t id)
        : state_(std::move(state)), id_(id) {}
    std::shared_ptr<State> state_;
    std::uint64_t id_ = 0;
  };

  explicit Ticker(std::chrono::milliseconds period = std::chrono::seconds(1));
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  /// Adds a task for the ticker's lifetime. The task must stay valid until
  /// the ticker is destroyed; for a task on an object that may go first
  /// (a model unloaded at run time), use `AddScoped`.
  void Add(std::function<void()> task);
  /// Adds a task until the returned registration is destroyed.
  [[nodiscard]] Registration AddScoped(std::function<void()> task);
  /// Runs every task once, now, on the caller's thread.
  void RunOnce();

 private:
  struct State {
    detail::Mutex mu;
    std::map<std::uint64_t, std::shared_ptr<std::function<void()>>> tasks
        MLMON_GUARDED_BY(mu);
    std::uint64_t next_id MLMON_GUARDED_BY(mu) = 1;
    // Held while tasks run: a registration being removed waits on it.
    detail::Mutex run_mu;
  };
  std::shared_ptr<State> state_;
  // Declared last: destroyed (stopped and joined) first.
  std::unique_ptr<internal::PeriodicThread> thread_;
};

}  // namespace mlmon

#endif  // MLMON_TICKER_H_
