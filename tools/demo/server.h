#ifndef MLMON_TOOLS_DEMO_SERVER_H_
#define MLMON_TOOLS_DEMO_SERVER_H_

// The model server of `mlmon demo`: POST /v1/predict scores a transaction
// with the fraud model; every call is wrapped in an mlmon::RequestGuard and
// every prediction recorded for its outcome; POST /v1/outcomes takes the
// outcomes; /metrics and /healthz are served on the same port by
// mlmon::HttpServer. It can reproduce the failures of `mlmon demo --fault`.
// As a canary (`mlmon demo --canary`) it serves two versions of the model
// side by side, compares them in shadow and promotes the challenger at run
// time. Built on the public API only (mlmon::mlmon, mlmon::http).

#include <mlmon/feedback_endpoint.h>
#include <mlmon/http_server.h>
#include <mlmon/model_monitor.h>
#include <mlmon/outcome_ingest.h>
#include <mlmon/prediction_log.h>
#include <mlmon/registry.h>
#include <mlmon/shadow_comparison.h>
#include <mlmon/ticker.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model.h"

namespace mlmon_demo {

/// A silent failure the demo reproduces (`mlmon demo --fault`). None of them
/// raises a latency or error alert by itself except `kSlow` and `kErrors`.
enum class Fault {
  kNone,
  /// Upstream sends the session length in milliseconds (client side: the
  /// server sees the inputs change).
  kUnitChange,
  /// The post-filter's minimum review amount is read in cents as dollars
  /// (100 instead of 1): most responses come back empty.
  kAggressiveFilter,
  /// An unpinned label-encoder upgrade flipped the class order: the model
  /// returns P(legitimate) where P(fraud) was expected.
  kBrokenDependency,
  /// A feature-store lookup on the request path now takes 150 ms.
  kSlow,
  /// The model backend fails one request in four (HTTP 500).
  kErrors,
  /// A new partner's traffic arrives pre-screened: its own fraud filter
  /// (a risk score like ours) blocks the obvious fraud, so what reaches the
  /// model are the borderline cases (client side: the population changes,
  /// the model does not).
  kPopulationShift,
};

/// "none", "unit-change", "aggressive-filter", "broken-dependency", "slow",
/// "errors", "population-shift".
const char* FaultName(Fault f) noexcept;
/// Every FaultName, in enum order (for command-line checks).
std::vector<std::string> FaultNames();
/// \throw std::invalid_argument naming `name` if it is not a FaultName.
Fault ParseFault(std::string_view name);

struct ServerOptions {
  int port = 0;
  std::string model_path;    // fraud_model.txt (default: DefaultModelPath())
  std::string monitor_path;  // monitor.yaml (default: DefaultMonitorPath())
  const mlmon::Clock* clock = nullptr;
  /// Tick the windowed gauges on a background thread every second.
  bool start_ticker = true;
  /// Serve a challenger next to the model: `champion_version` (the model
  /// file and monitor.yaml) and `challenger_version` (the same spec with the
  /// version changed, the model slightly perturbed), each with its own
  /// monitor in the one registry. A request whose id hashes into
  /// `challenger_share` is served by the challenger; every request is scored
  /// by the other version too and compared (`mlmon::ShadowComparison`).
  bool canary = false;
  double challenger_share = 0.2;
  std::string champion_version = "v1";
  std::string challenger_version = "v2";
  /// Non-empty: an existing directory where each version logs its
  /// predictions (`<model>-<version>-predictions.ndjson`), the prediction
  /// log the exemplars' ids lead to.
  std::string prediction_log;
};

/// One served model version: the model, its monitor and the handles the
/// request path uses.
struct ServedVersion {
  ServedVersion(mlmon::Registry& registry, mlmon::MonitorSpec spec,
                LogisticModel model, const mlmon::Clock* clock,
                const std::string& log_directory);
  LogisticModel model;
  mlmon::ModelMonitor monitor;
  mlmon::Endpoint& predict;
  mlmon::ErrorReason bad_request;
  mlmon::ErrorReason model_error;
  mlmon::HeuristicCheck& risky_not_safe;
  std::unique_ptr<mlmon::PredictionLog> log;  // null: no prediction log
};

/// What requests are routed by. Swapped as a whole; a request keeps the
/// snapshot it started with, so a version lives until its last request ends.
struct Routing {
  std::shared_ptr<ServedVersion> champion;
  std::shared_ptr<ServedVersion> challenger;  // null: the champion only
  double challenger_share = 0;
  // Last: destroyed first, before the champion it counts drops in.
  std::unique_ptr<mlmon::ShadowComparison> shadow;
};

/// Thread safety: thread-safe after Start().
class ModelServer {
 public:
  /// \throw std::runtime_error (bad model file), mlmon::ConfigError.
  ModelServer(mlmon::Registry& registry, ServerOptions options);
  /// \throw mlmon::ConfigError naming the port if it cannot be bound.
  void Start() { http_.Start(); }
  void Stop() noexcept { http_.Stop(); }
  int port() const noexcept { return http_.port(); }
  /// The serving champion's model and monitor. Valid until the next
  /// Promote().
  const LogisticModel& model() const noexcept { return champion_->model; }
  mlmon::ModelMonitor& monitor() noexcept { return champion_->monitor; }
  /// Canary: true while the challenger is served next to the champion.
  bool has_challenger() const;

  /// Canary: the challenger takes all traffic and the champion is unloaded
  /// (its monitor destroyed, its series gone from the registry) as soon as
  /// the requests it serves end; this call waits for that. No-op without a
  /// challenger. Call from one thread.
  void Promote();

  /// Switches the reproduced failure (the demo turns it on mid-run).
  void SetFault(Fault f) noexcept {
    fault_.store(f, std::memory_order_relaxed);
  }
  Fault fault() const noexcept {
    return fault_.load(std::memory_order_relaxed);
  }

  /// Scores one request body (the route handler, usable without HTTP).
  mlmon::HttpResponse Predict(const mlmon::HttpRequest& request);

 private:
  void Serve(std::shared_ptr<ServedVersion> version);
  std::shared_ptr<const Routing> routing() const {
    return std::atomic_load(&routing_);
  }

  const ServerOptions options_;
  mlmon::Registry& registry_;
  std::atomic<Fault> fault_{Fault::kNone};
  std::atomic<std::uint64_t> requests_{0};
  // Destroyed after every version: trackers leave it as they are destroyed.
  mlmon::OutcomeIngest ingest_;
  std::unique_ptr<mlmon::Ticker> ticker_;
  // The champion, for the owner's thread (model(), monitor()).
  std::shared_ptr<ServedVersion> champion_;
  // Read and replaced with std::atomic_load / std::atomic_store.
  std::shared_ptr<const Routing> routing_;
  // First destroyed: no request runs once it is gone.
  mlmon::HttpServer http_;
};

/// Default model file: $MLMON_DEMO_MODEL, else the source tree's copy.
std::string DefaultModelPath();
/// Default monitor.yaml: $MLMON_DEMO_MONITOR, else the source tree's copy.
std::string DefaultMonitorPath();

}  // namespace mlmon_demo

#endif  // MLMON_TOOLS_DEMO_SERVER_H_
