#include "mlmon/golden_signals.h"

#include <fmt/format.h>

#include <chrono>
#include <utility>

#include "internal/bucket_bounds.h"
#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"

namespace mlmon {

namespace {

Family<Counter>& RequestErrors(Registry& r) {
  return internal::AddFamily(r, internal::metrics::kRequestErrorsTotal);
}

}  // namespace

Endpoint::Endpoint(Registry& registry, const std::string& model,
                   const std::string& version, const std::string& name,
                   const GoldenSignalsOptions& options)
    : registry_(registry),
      model_(model),
      version_(version),
      name_(name),
      clock_(options.clock) {
  in_flight_ =
      &internal::AddFamily(registry, internal::metrics::kRequestsInFlight)
           .Add({model, version, name});
  latency_ =
      &internal::AddFamily(registry, internal::metrics::kRequestDurationSeconds,
                           options.latency_buckets)
           .Add({model, version, name});
  auto& requests =
      internal::AddFamily(registry, internal::metrics::kRequestsTotal);
  ok_ = &requests.Add({model, version, name, "ok"});
  error_ = &requests.Add({model, version, name, "error"});
  auto& errors = RequestErrors(registry);
  exception_ = &errors.Add({model, version, name, "exception"});
  generic_error_ = &errors.Add({model, version, name, "error"});
}

ErrorReason Endpoint::BindErrorReason(const std::string& reason) {
  if (reason.empty()) {
    throw internal::SetupError(
        "Endpoint.BindErrorReason",
        fmt::format(
            "the reason must not be empty (endpoint '{}' of model '{}')", name_,
            model_));
  }
  return ErrorReason(
      &RequestErrors(registry_).Add({model_, version_, name_, reason}));
}

GoldenSignals::GoldenSignals(Registry& registry, std::string model,
                             std::string version, GoldenSignalsOptions options)
    : registry_(registry),
      model_(std::move(model)),
      version_(std::move(version)),
      options_(std::move(options)) {
  if (model_.empty()) {
    throw internal::SetupError("GoldenSignals.model", "must not be empty");
  }
  internal::CheckBucketBounds("GoldenSignalsOptions.latency_buckets",
                              options_.latency_buckets);
  queue_depth_ = &internal::AddFamily(registry_, internal::metrics::kQueueDepth)
                      .Add({model_, version_});
  const Clock& clock =
      options_.clock != nullptr ? *options_.clock : SteadyClock::Instance();
  const auto loaded_at = static_cast<long long>(clock.UnixSeconds());
  internal::AddFamily(registry_, internal::metrics::kModelInfo)
      .Add({model_, version_, std::to_string(loaded_at)})
      .Set(1);
  internal::AddFamily(registry_,
                      internal::metrics::kModelLoadedTimestampSeconds)
      .Add({model_, version_})
      .Set(static_cast<double>(loaded_at));
}

Endpoint& GoldenSignals::AddEndpoint(const std::string& name) {
  if (name.empty()) {
    throw internal::SetupError(
        "GoldenSignals.AddEndpoint",
        fmt::format("the endpoint name must not be empty (model '{}')",
                    model_));
  }
  detail::MutexLock lock(mu_);
  auto it = endpoints_.find(name);
  if (it != endpoints_.end()) return *it->second;
  std::unique_ptr<Endpoint> ep(
      new Endpoint(registry_, model_, version_, name, options_));
  Endpoint& ref = *ep;
  endpoints_.emplace(name, std::move(ep));
  return ref;
}

}  // namespace mlmon
