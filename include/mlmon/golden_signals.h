#ifndef MLMON_GOLDEN_SIGNALS_H_
#define MLMON_GOLDEN_SIGNALS_H_

/// \file
/// Golden signals of the serving path: latency, traffic, errors, saturation.

#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/buckets.h"
#include "mlmon/clock.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/registry.h"

namespace mlmon {

class Endpoint;
class RequestGuard;

/// Set-up options of `GoldenSignals`.
struct GoldenSignalsOptions {
  /// Bounds of `mlmon_request_duration_seconds` (seconds).
  std::vector<double> latency_buckets = DefaultLatencyBuckets();
  /// Time source; `SteadyClock` when null. Must outlive the signals.
  const Clock* clock = nullptr;
  /// Keep exemplars on `mlmon_request_duration_seconds`: each bucket's last
  /// request id given to `RequestGuard::SetId`, served under OpenMetrics.
  /// False: `SetId` costs a copy of the id and nothing else.
  bool exemplars = true;
};

/// A bound error reason of one endpoint, for `RequestGuard::Fail()`.
/// Cheap to copy; valid as long as its `GoldenSignals`.
class ErrorReason {
 public:
  ErrorReason() = default;

 private:
  friend class Endpoint;
  friend class RequestGuard;
  explicit ErrorReason(Counter* c) noexcept : counter_(c) {}
  Counter* counter_ = nullptr;
};

/// The instruments of one serving endpoint, bound once at set-up.
///
/// Thread safety: thread-safe.
class Endpoint {
 public:
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  /// Binds `reason` (`mlmon_request_errors_total{reason}`) for this endpoint.
  /// Set-up call.
  /// \throw mlmon::ConfigError if `reason` is empty.
  ErrorReason BindErrorReason(const std::string& reason);

  const std::string& name() const noexcept { return name_; }

 private:
  friend class GoldenSignals;
  friend class RequestGuard;
  Endpoint(internal::SeriesOwner& owner, const std::string& name,
           const GoldenSignalsOptions& options);

  const Clock& clock() const noexcept {
    return clock_ != nullptr ? *clock_ : SteadyClock::Instance();
  }
  std::int64_t Now() const noexcept { return clock().NowNanos(); }

  internal::SeriesOwner& owner_;  // the GoldenSignals'
  std::string model_, version_, name_;
  const Clock* clock_;
  UpDownGauge* in_flight_;
  Histogram* latency_;
  Counter* ok_;
  Counter* error_;
  Counter* exception_;      // reason="exception"
  Counter* generic_error_;  // reason="error"
};

/// Golden signals of one model version: for each endpoint
/// `mlmon_requests_total{endpoint,status}`,
/// `mlmon_request_errors_total{endpoint,reason}`,
/// `mlmon_request_duration_seconds{endpoint}`,
/// `mlmon_requests_in_flight{endpoint}`; and `mlmon_queue_depth`,
/// `mlmon_model_info`. All carry the constant labels `model` and `version`.
///
/// Thread safety: thread-safe. `AddEndpoint()` is a set-up call.
///
/// **Example**:
///
///     mlmon::Registry registry;
///     mlmon::GoldenSignals signals(registry, "fraud", "2024-06-01");
///     mlmon::Endpoint& predict = signals.AddEndpoint("predict");
///     mlmon::ErrorReason timeout = predict.BindErrorReason("timeout");
///     {
///       mlmon::RequestGuard guard(predict);
///       if (!RunModel()) guard.Fail(timeout);
///     }
class GoldenSignals {
 public:
  /// \throw mlmon::ConfigError if `model` is empty or the buckets are bad.
  /// \throw mlmon::ConfigError also if `registry` holds a `GoldenSignals`
  /// of the same model and version.
  GoldenSignals(Registry& registry, std::string model, std::string version,
                GoldenSignalsOptions options = {});
  /// Removes the signals' series from the registry's exposition.
  /// REQUIRES: no call on the signals or an `Endpoint` of theirs runs.
  ~GoldenSignals();
  GoldenSignals(const GoldenSignals&) = delete;
  GoldenSignals& operator=(const GoldenSignals&) = delete;

  /// Binds the instruments of endpoint `name` (same name: same endpoint).
  /// \throw mlmon::ConfigError if `name` is empty.
  Endpoint& AddEndpoint(const std::string& name);

  /// `mlmon_queue_depth`, set by the host (e.g. its request queue length).
  Gauge& queue_depth() noexcept { return *queue_depth_; }

  const std::string& model() const noexcept { return model_; }
  const std::string& version() const noexcept { return version_; }

 private:
  // First: destroyed after every instrument it bound.
  std::unique_ptr<internal::SeriesOwner> owner_;
  std::string model_, version_;
  GoldenSignalsOptions options_;
  Gauge* queue_depth_;
  detail::Mutex mu_;
  std::map<std::string, std::unique_ptr<Endpoint>> endpoints_
      MLMON_GUARDED_BY(mu_);
};

/// Measures one inference call: in-flight up on construction; on destruction
/// in-flight down, latency observed, and the request counted as `ok`, or as
/// `error` if `Fail()` was called or an exception is leaving the scope
/// (`reason="exception"`).
///
/// Neither copyable nor movable: it lives on the stack of the call it times.
///
/// `SetId()` names the request (e.g. its prediction id): the latency
/// histogram keeps it as the exemplar of the latency's bucket (the last one
/// per bucket), so a slow bucket leads to one request in the prediction log.
///
/// Thread safety: thread-compatible (one guard belongs to one call).
/// Hot path: constructor, destructor, `Fail()` and `SetId()` are noexcept,
/// lock-free and allocation-free.
class RequestGuard {
 public:
  explicit RequestGuard(Endpoint& endpoint) noexcept
      : endpoint_(endpoint),
        uncaught_(std::uncaught_exceptions()),
        start_(endpoint.Now()) {
    endpoint_.in_flight_->IncrementAt(detail::CurrentSlot());
  }
  ~RequestGuard() {
    const std::int64_t end = endpoint_.Now();
    // One slot look-up for the whole destructor. Not cached from the
    // constructor: the guard may be destroyed on another thread.
    const int slot = detail::CurrentSlot();
    const double seconds = static_cast<double>(end - start_) * 1e-9;
    if (id_size_ == 0) {
      endpoint_.latency_->ObserveAt(slot, seconds);
    } else {
      endpoint_.latency_->ObserveAt(
          slot, seconds, std::string_view(id_, id_size_), endpoint_.clock());
    }
    endpoint_.in_flight_->DecrementAt(slot);
    if (failure_ == nullptr && std::uncaught_exceptions() > uncaught_) {
      failure_ = endpoint_.exception_;
    }
    if (failure_ == nullptr) {
      endpoint_.ok_->IncrementAt(slot);
    } else {
      endpoint_.error_->IncrementAt(slot);
      failure_->IncrementAt(slot);
    }
  }
  RequestGuard(const RequestGuard&) = delete;
  RequestGuard& operator=(const RequestGuard&) = delete;
  RequestGuard(RequestGuard&&) = delete;
  RequestGuard& operator=(RequestGuard&&) = delete;

  /// Marks the call as failed for `reason` (the last call wins). A
  /// default-constructed reason counts as `reason="error"`.
  void Fail(ErrorReason reason) noexcept {
    failure_ =
        reason.counter_ != nullptr ? reason.counter_ : endpoint_.generic_error_;
  }

  /// Names the request for the latency exemplar (the last call wins); the
  /// id is copied, so it need not outlive the call. An id over
  /// `detail::kMaxExemplarIdBytes` (64) bytes gives no exemplar and is
  /// counted in `mlmon_dropped_total{reason="id_too_long"}`; an empty one
  /// gives none. Invalid UTF-8 is repaired (U+FFFD) when served.
  void SetId(std::string_view id) noexcept {
    // One byte beyond the limit is copied, so that the histogram sees the
    // id as too long and counts it.
    const std::size_t n = id.size() < sizeof id_ ? id.size() : sizeof id_;
    if (n != 0) std::memcpy(id_, id.data(), n);
    id_size_ = static_cast<std::uint8_t>(n);
  }

 private:
  Endpoint& endpoint_;
  int uncaught_;
  std::int64_t start_;
  Counter* failure_ = nullptr;
  std::uint8_t id_size_ = 0;
  char id_[detail::kMaxExemplarIdBytes + 1];
};

}  // namespace mlmon

#endif  // MLMON_GOLDEN_SIGNALS_H_
