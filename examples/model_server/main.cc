// mlmon-example-server: a model server monitored by mlmon, on the public API
// only (mlmon::mlmon, mlmon::http). POST /v1/predict scores a transaction;
// each call runs under a RequestGuard (latency, traffic, errors, in-flight),
// its inputs are checked, its score joins the output distribution and waits
// for its outcome, which POST /v1/outcomes delivers; /metrics, /healthz and
// the status page share the port. Without arguments it scores one
// transaction and exits (a self-test that binds no port); with --port P it
// serves until SIGINT/SIGTERM.
//
//   build/bin/mlmon-example-server --port 8080
//   curl -s localhost:8080/v1/predict -d
//   '{"id":"t1","features":{"amount_usd":30}}' curl -s
//   localhost:8080/v1/outcomes -d '{"id":"t1","outcome":0,"model":"fraud"}'
//   curl -s localhost:8080/metrics
//
// `mlmon demo` serves a trained model under synthetic traffic and reproduces
// failures (tools/demo); this file is the part to copy into a server.

#include <mlmon/feedback_endpoint.h>
#include <mlmon/http_server.h>
#include <mlmon/mlmon.h>
#include <simdjson.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

namespace {

// The model: a stand-in for yours. A logistic score over three features
// (log1p of each); a missing feature contributes nothing.
struct Weight {
  std::string_view feature;
  double weight;
};
constexpr double kBias = -2.5;
constexpr Weight kWeights[] = {
    {"amount_usd", 0.6}, {"account_age_days", -0.5}, {"distance_km", 0.4}};
constexpr int kFeatures =
    static_cast<int>(sizeof kWeights / sizeof kWeights[0]);

double Score(const double (&values)[kFeatures]) {
  double z = kBias;
  for (int i = 0; i < kFeatures; ++i) {
    if (!std::isnan(values[i])) {
      z += kWeights[i].weight * std::log1p(std::fmax(values[i], 0.0));
    }
  }
  return 1.0 / (1.0 + std::exp(-z));
}

// Everything bound once at start-up; Predict() runs on the handler threads.
class Server {
 public:
  Server(mlmon::Registry& registry, int port)
      : monitor_(registry,
                 mlmon::LoadMonitorSpec(MLMON_EXAMPLE_DIR "/monitor.yaml")),
        predict_(monitor_.endpoint("predict")),
        bad_request_(predict_.BindErrorReason("bad_request")),
        http_(
            [port] {
              mlmon::HttpServerOptions o;
              o.port = port;
              return o;
            }(),
            registry) {
    ingest_.AddTracker(monitor_.outcomes());
    mlmon::AddFeedbackRoute(http_, ingest_);  // POST /v1/outcomes
    http_.AddRoute("POST", "/v1/predict",
                   [this](const mlmon::HttpRequest& r) { return Predict(r); });
  }

  // Windows and drift move only when ticked: once a second while serving.
  void Start() {
    ticker_.Add([this] { monitor_.Tick(); });
    http_.Start();
  }
  void Stop() noexcept { http_.Stop(); }
  int port() const noexcept { return http_.port(); }

  mlmon::HttpResponse Predict(const mlmon::HttpRequest& request) {
    mlmon::RequestGuard guard(predict_);
    auto bad = [&](const char* detail) {
      guard.Fail(bad_request_);
      return mlmon::ProblemResponse(400, "Bad prediction request", detail);
    };
    thread_local simdjson::ondemand::parser parser;
    simdjson::padded_string body(request.body);
    simdjson::ondemand::document doc;
    std::string_view id;
    simdjson::ondemand::object features;
    if (parser.iterate(body).get(doc) != simdjson::SUCCESS ||
        doc["id"].get_string().get(id) != simdjson::SUCCESS || id.empty()) {
      return bad("expected {\"id\": \"...\", \"features\": {...}}");
    }
    const std::string request_id(id);  // `id` points into the parser
    if (doc["features"].get_object().get(features) != simdjson::SUCCESS) {
      return bad("'features' must be an object of numbers");
    }
    double values[kFeatures];
    for (double& v : values) v = NAN;
    // One vector per request for brevity; a server that cares about
    // allocations keeps one per worker thread.
    mlmon::FeatureVector inputs = monitor_.features().NewVector();
    for (auto field : features) {
      std::string_view name;
      double v;
      if (field.unescaped_key().get(name) != simdjson::SUCCESS ||
          field.value().get_double().get(v) != simdjson::SUCCESS) {
        return bad("feature values must be numbers");
      }
      for (int i = 0; i < kFeatures; ++i) {
        if (kWeights[i].feature == name) values[i] = v;
      }
      inputs.Set(name, v);  // an undeclared name is counted, not thrown
    }
    const double score = Score(values);
    monitor_.features().Observe(inputs);                      // inputs
    monitor_.distribution().ObserveScore(score);              // output drift
    monitor_.outcomes().RecordPrediction(request_id, score);  // joins outcomes
    mlmon::HttpResponse response;
    response.content_type = "application/json";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", score);
    // The ids the self-test and curl send need no JSON escaping; a real
    // server escapes them.
    response.body = "{\"id\":\"" + request_id + "\",\"score\":" + buf + "}";
    return response;
  }

 private:
  mlmon::ModelMonitor monitor_;
  mlmon::Endpoint& predict_;
  mlmon::ErrorReason bad_request_;
  mlmon::OutcomeIngest ingest_;
  mlmon::HttpServer http_;
  mlmon::Ticker ticker_;
};

}  // namespace

int main(int argc, char** argv) {
  int port = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--port P]\n", argv[0]);
      return 2;
    }
  }
  try {
    mlmon::Registry registry;
    Server server(registry, port < 0 ? 0 : port);
    if (port < 0) {  // self-test: no port bound
      mlmon::HttpRequest r;
      r.body =
          R"({"id":"self-test","features":{"amount_usd":25,"account_age_days":900,"distance_km":5}})";
      mlmon::HttpResponse resp = server.Predict(r);
      std::printf("%d %s\n", resp.status, resp.body.c_str());
      return resp.status == 200 ? 0 : 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // server threads inherit it
    server.Start();
    std::printf(
        "serving on http://127.0.0.1:%d (POST /v1/predict, "
        "POST /v1/outcomes, GET /metrics)\n",
        server.port());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    server.Stop();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlmon-example-server: %s\n", e.what());
    return 1;
  }
}
