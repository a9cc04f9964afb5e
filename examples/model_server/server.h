#ifndef MLMON_EXAMPLES_MODEL_SERVER_SERVER_H_
#define MLMON_EXAMPLES_MODEL_SERVER_SERVER_H_

// The example model server: POST /v1/predict scores a transaction with the
// fraud model; every call is wrapped in an mlmon::RequestGuard; /metrics and
// /healthz are served on the same port by mlmon::HttpServer.

#include <mlmon/golden_signals.h>
#include <mlmon/http_server.h>
#include <mlmon/registry.h>

#include <memory>
#include <string>

#include "model.h"

namespace mlmon_example {

struct ServerOptions {
  int port = 0;
  std::string model_path;   // fraud_model.txt
  std::string version = "1";
  const mlmon::Clock* clock = nullptr;
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
  mlmon::GoldenSignals& signals() noexcept { return signals_; }

  /// Scores one request body (the route handler, usable without HTTP).
  mlmon::HttpResponse Predict(const mlmon::HttpRequest& request);

 private:
  LogisticModel model_;
  mlmon::GoldenSignals signals_;
  mlmon::Endpoint& predict_;
  mlmon::ErrorReason bad_request_;
  mlmon::HttpServer http_;
};

/// Default model file: $MLMON_EXAMPLE_MODEL, else the source tree's copy.
std::string DefaultModelPath();

}  // namespace mlmon_example

#endif  // MLMON_EXAMPLES_MODEL_SERVER_SERVER_H_
