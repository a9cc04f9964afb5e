#ifndef MLMON_SRC_HTTP_STATUS_SAMPLER_H_
#define MLMON_SRC_HTTP_STATUS_SAMPLER_H_

// The status page's history and the thread that samples the registry into
// it at a fixed cadence while the server runs.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "internal/periodic_thread.h"
#include "mlmon/status_history.h"

namespace mlmon {

class Registry;

namespace http {

class StatusSampler {
 public:
  StatusSampler(const Registry& registry, std::size_t points,
                unsigned interval_ms);
  ~StatusSampler() { Stop(); }
  StatusSampler(const StatusSampler&) = delete;
  StatusSampler& operator=(const StatusSampler&) = delete;

  // Takes a first sample (the page has a point at once) and starts the
  // thread. \throw std::system_error, or what sampling throws.
  void Start();
  // Stops and joins the thread, if running. Idempotent.
  void Stop() noexcept { thread_.Stop(); }

  // `GET /api/v1/status`: the history as of now.
  std::string Json() const { return history_.Json(SampleMillis()); }

 private:
  // Sample time: the wall clock at construction plus the steady time since,
  // so a wall-clock step back (NTP) cannot freeze the history (it ignores
  // samples not later than the previous one).
  std::int64_t SampleMillis() const;

  StatusHistory history_;
  const std::chrono::milliseconds interval_;
  // Base of SampleMillis(), fixed at construction (before any thread).
  const std::int64_t stamp_wall_ms_;
  const std::chrono::steady_clock::time_point stamp_steady_;
  internal::PeriodicThread thread_;  // started and stopped by the server
};

}  // namespace http
}  // namespace mlmon

#endif  // MLMON_SRC_HTTP_STATUS_SAMPLER_H_
