#include "mlmon/golden_signals.h"

#include <fmt/format.h>

#include <chrono>
#include <utility>

#include "internal/bucket_bounds.h"
#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"
#include "internal/series_owner.h"

namespace mlmon {

namespace {

internal::OwnedFamily<Counter> RequestErrors(internal::SeriesOwner& owner) {
  return internal::AddFamily(owner, internal::metrics::kRequestErrorsTotal);
}

}  // namespace

Endpoint::Endpoint(internal::SeriesOwner& owner, const std::string& name,
                   const GoldenSignalsOptions& options)
    : owner_(owner),
      model_(owner.model()),
      version_(owner.version()),
      name_(name),
      clock_(options.clock) {
  const std::string& model = model_;
  const std::string& version = version_;
  in_flight_ = &internal::AddFamily(owner, internal::metrics::kRequestsInFlight)
                    .Add({model, version, name});
  latency_ =
      &internal::AddFamily(owner, internal::metrics::kRequestDurationSeconds,
                           options.latency_buckets)
           .Add({model, version, name});
  if (options.exemplars) latency_->EnableExemplars();
  auto requests = internal::AddFamily(owner, internal::metrics::kRequestsTotal);
  ok_ = &requests.Add({model, version, name, "ok"});
  error_ = &requests.Add({model, version, name, "error"});
  auto errors = RequestErrors(owner);
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
      &RequestErrors(owner_).Add({model_, version_, name_, reason}));
}

GoldenSignals::GoldenSignals(Registry& registry, std::string model,
                             std::string version, GoldenSignalsOptions options)
    : model_(std::move(model)),
      version_(std::move(version)),
      options_(std::move(options)) {
  if (model_.empty()) {
    throw internal::SetupError("GoldenSignals.model", "must not be empty");
  }
  internal::CheckBucketBounds("GoldenSignalsOptions.latency_buckets",
                              options_.latency_buckets);
  owner_ = std::make_unique<internal::SeriesOwner>(registry, "GoldenSignals",
                                                   model_, version_);
  queue_depth_ = &internal::AddFamily(*owner_, internal::metrics::kQueueDepth)
                      .Add({model_, version_});
  const Clock& clock =
      options_.clock != nullptr ? *options_.clock : SteadyClock::Instance();
  const auto loaded_at = static_cast<long long>(clock.UnixSeconds());
  internal::AddFamily(*owner_, internal::metrics::kModelInfo)
      .Add({model_, version_, std::to_string(loaded_at)})
      .Set(1);
  internal::AddFamily(*owner_, internal::metrics::kModelLoadedTimestampSeconds)
      .Add({model_, version_})
      .Set(static_cast<double>(loaded_at));
}

GoldenSignals::~GoldenSignals() = default;

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
  std::unique_ptr<Endpoint> ep(new Endpoint(*owner_, name, options_));
  Endpoint& ref = *ep;
  endpoints_.emplace(name, std::move(ep));
  return ref;
}

}  // namespace mlmon
