#ifndef MLMON_TOOLS_DEMO_SERVER_H_
#define MLMON_TOOLS_DEMO_SERVER_H_

// The model server of `mlmon demo`: POST /v1/predict scores a transaction
// with the fraud model; every call is wrapped in an mlmon::RequestGuard and
// every prediction recorded for its outcome; POST /v1/outcomes takes the
// outcomes; /metrics and /healthz are served on the same port by
// mlmon::HttpServer. It can reproduce the failures of `mlmon demo --fault`.
// Built on the public API only (mlmon::mlmon, mlmon::http).

#include <mlmon/feedback_endpoint.h>
#include <mlmon/http_server.h>
#include <mlmon/model_monitor.h>
#include <mlmon/outcome_ingest.h>
#include <mlmon/registry.h>

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
};

/// "none", "unit-change", "aggressive-filter", "broken-dependency", "slow",
/// "errors".
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
  const LogisticModel& model() const noexcept { return model_; }
  mlmon::ModelMonitor& monitor() noexcept { return monitor_; }

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
  LogisticModel model_;
  mlmon::ModelMonitor monitor_;
  mlmon::Endpoint& predict_;
  mlmon::ErrorReason bad_request_;
  mlmon::ErrorReason model_error_;
  std::atomic<Fault> fault_{Fault::kNone};
  std::atomic<std::uint64_t> requests_{0};
  mlmon::HeuristicCheck* risky_not_safe_ = nullptr;
  mlmon::OutcomeIngest ingest_;
  mlmon::HttpServer http_;
  std::unique_ptr<mlmon::Ticker> ticker_;
};

/// Default model file: $MLMON_DEMO_MODEL, else the source tree's copy.
std::string DefaultModelPath();
/// Default monitor.yaml: $MLMON_DEMO_MONITOR, else the source tree's copy.
std::string DefaultMonitorPath();

}  // namespace mlmon_demo

#endif  // MLMON_TOOLS_DEMO_SERVER_H_
