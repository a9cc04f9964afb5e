// mlmon-example-server: a model server monitored by mlmon, on the public API
// only (mlmon::mlmon, mlmon::http). It hosts one model version per
// `--config` file (monitor.yaml), all in one mlmon::Registry: one
// ModelMonitor each, one OutcomeIngest holding every outcome tracker, one
// HttpServer and one Ticker.
//
// POST /v1/predict scores a request: {"id": "...", "features": {...}} with
// an optional "model" (and "version") naming the model version to use;
// without "model" the first --config's model answers, without "version" the
// first --config of that model. An unknown model is answered 404. Each call
// runs under a RequestGuard of that model's `predict` endpoint (latency,
// traffic, errors, in-flight), its inputs are checked, its score joins the
// output distribution and waits for its outcome, which POST /v1/outcomes
// delivers (each line names its model). /metrics, /healthz and the status
// page share the port. The stand-in model gives every model the same
// logistic score; a regression model reports it as its value, and a
// multiclass or ranking config is refused at start-up.
//
// Each request's id names it in the latency histogram
// (`RequestGuard::SetId`) and the score histogram (`ObserveScore(score,
// id)`): a scraper asking for OpenMetrics gets the last id of each bucket as
// an exemplar. With --prediction-log DIR every prediction is also written to
// DIR/<model>-<version>-predictions.ndjson (`mlmon::PredictionLog`), so an
// exemplar's id leads from a slow or odd bucket to the exact prediction.
//
// Without --port it scores one request per model and exits (a self-test
// that binds no port); with --port P (0: any free port) it serves until
// SIGINT/SIGTERM.
//
//   build/bin/mlmon-example-server --port 8080
//       --config examples/model_server/monitor.yaml --config eta.yaml
//   (one command line)
//   curl -s localhost:8080/v1/predict -d
//   '{"id":"t1","model":"fraud","features":{"amount_usd":30}}'
//   curl -s localhost:8080/v1/outcomes -d
//   '{"id":"t1","outcome":0,"model":"fraud"}' curl -s localhost:8080/metrics
//
// `mlmon demo` serves a trained model under synthetic traffic and reproduces
// failures (tools/demo); this file is the part to copy into a server.

#include <mlmon/feedback_endpoint.h>
#include <mlmon/http_server.h>
#include <mlmon/mlmon.h>
#include <simdjson.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

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

// One hosted model version: its monitor, the handles bound at start-up and
// its prediction log (null without --prediction-log).
struct HostedModel {
  HostedModel(mlmon::Registry& registry, mlmon::MonitorSpec spec,
              const std::string& log_directory)
      : monitor(registry, std::move(spec)),
        predict(monitor.endpoint("predict")),
        bad_request(predict.BindErrorReason("bad_request")) {
    if (!log_directory.empty()) {
      mlmon::PredictionLogOptions o;
      o.directory = log_directory;
      o.prefix = monitor.spec().model + "-" + monitor.spec().version;
      log = std::make_unique<mlmon::PredictionLog>(
          registry, monitor.spec().model, monitor.spec().version, o);
    }
  }

  mlmon::ModelMonitor monitor;
  mlmon::Endpoint& predict;
  mlmon::ErrorReason bad_request;
  std::unique_ptr<mlmon::PredictionLog> log;
};

mlmon::MonitorSpec LoadSpec(const std::string& path) {
  mlmon::MonitorSpec spec = mlmon::LoadMonitorSpec(path);
  using Task = mlmon::OutcomeSpec::Task;
  if (spec.outcome.task != Task::kBinary &&
      spec.outcome.task != Task::kRegression) {
    throw std::runtime_error(path +
                             ": the example's stand-in model scores binary "
                             "and regression models only");
  }
  return spec;
}

// Everything bound once at start-up; Predict() runs on the handler threads.
// Members are destroyed in reverse order: the ticker and the server stop
// before the ingest and the monitors they call go away.
class Server {
 public:
  Server(mlmon::Registry& registry, const std::vector<std::string>& configs,
         int port, const std::string& log_directory)
      : http_(
            [port] {
              mlmon::HttpServerOptions o;
              o.port = port;
              return o;
            }(),
            registry) {
    for (const std::string& path : configs) {
      models_.push_back(std::make_unique<HostedModel>(registry, LoadSpec(path),
                                                      log_directory));
      ingest_.AddTracker(models_.back()->monitor.outcomes());
    }
    mlmon::AddFeedbackRoute(http_, ingest_);  // POST /v1/outcomes
    http_.AddRoute("POST", "/v1/predict",
                   [this](const mlmon::HttpRequest& r) { return Predict(r); });
  }

  // Starts the threads: windows and drift move only when ticked, once a
  // second while serving. Call with SIGINT/SIGTERM blocked.
  void Start() {
    ticker_ = std::make_unique<mlmon::Ticker>();
    for (auto& m : models_) {
      mlmon::ModelMonitor* monitor = &m->monitor;
      ticker_->Add([monitor] { monitor->Tick(); });
    }
    http_.Start();
  }
  void Stop() noexcept {
    http_.Stop();
    ticker_.reset();
  }
  int port() const noexcept { return http_.port(); }
  const std::vector<std::unique_ptr<HostedModel>>& models() const noexcept {
    return models_;
  }

  mlmon::HttpResponse Predict(const mlmon::HttpRequest& request) {
    thread_local simdjson::ondemand::parser parser;
    simdjson::padded_string body(request.body);
    simdjson::ondemand::document doc;
    const bool parsed = parser.iterate(body).get(doc) == simdjson::SUCCESS;
    std::string_view model_name, version;
    if (parsed &&
        doc["model"].get_string().get(model_name) == simdjson::SUCCESS) {
      if (doc["version"].get_string().get(version) != simdjson::SUCCESS) {
        version = {};
      }
    }
    HostedModel* model = Find(model_name, version);
    if (model == nullptr) {
      return mlmon::ProblemResponse(
          404, "Unknown model",
          "no model '" + std::string(model_name) +
              (version.empty() ? "" : "' version '" + std::string(version)) +
              "' is hosted here");
    }
    mlmon::RequestGuard guard(model->predict);
    auto bad = [&](const char* detail) {
      guard.Fail(model->bad_request);
      return mlmon::ProblemResponse(400, "Bad prediction request", detail);
    };
    std::string_view id;
    simdjson::ondemand::object features;
    if (!parsed || doc["id"].get_string().get(id) != simdjson::SUCCESS ||
        id.empty()) {
      return bad("expected {\"id\": \"...\", \"features\": {...}}");
    }
    const std::string request_id(id);  // `id` points into the parser
    guard.SetId(request_id);           // the latency exemplar (copied)
    if (doc["features"].get_object().get(features) != simdjson::SUCCESS) {
      return bad("'features' must be an object of numbers");
    }
    mlmon::ModelMonitor& monitor = model->monitor;
    double values[kFeatures];
    for (double& v : values) v = NAN;
    // One vector per request for brevity; a server that cares about
    // allocations keeps one per worker thread and model.
    mlmon::FeatureVector inputs = monitor.features().NewVector();
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
    monitor.features().Observe(inputs);                      // inputs
    monitor.distribution().ObserveScore(score, request_id);  // output drift
    monitor.outcomes().RecordPrediction(request_id, score);  // joins outcomes
    if (model->log != nullptr) model->log->LogPrediction(request_id, score);
    mlmon::HttpResponse response;
    response.content_type = "application/json";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", score);
    // The ids, model names and versions the self-test and curl send need no
    // JSON escaping; a real server escapes them.
    response.body = "{\"id\":\"" + request_id + "\",\"model\":\"" +
                    monitor.spec().model + "\",\"version\":\"" +
                    monitor.spec().version + "\",\"score\":" + buf + "}";
    return response;
  }

 private:
  // The model version a request names; the first hosted model when it names
  // none, the first version of the model when it names no version.
  HostedModel* Find(std::string_view model, std::string_view version) const {
    if (model.empty()) return models_.front().get();
    for (const auto& m : models_) {
      const mlmon::MonitorSpec& spec = m->monitor.spec();
      if (spec.model == model && (version.empty() || spec.version == version))
        return m.get();
    }
    return nullptr;
  }

  std::vector<std::unique_ptr<HostedModel>> models_;
  mlmon::OutcomeIngest ingest_;
  mlmon::HttpServer http_;
  std::unique_ptr<mlmon::Ticker> ticker_;  // from Start()
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "mlmon-example-server: a model server monitored by mlmon, hosting one "
      "model version per --config file"};
  int port = -1;
  std::vector<std::string> configs = {MLMON_EXAMPLE_DIR "/monitor.yaml"};
  app.add_option("--port", port,
                 "Serve on this port (0: any free port) until SIGINT/SIGTERM; "
                 "without it, score one request per model and exit")
      ->check(CLI::Range(0, 65535));
  std::string log_directory;
  app.add_option("--prediction-log", log_directory,
                 "Write each model version's predictions to "
                 "DIR/<model>-<version>-predictions.ndjson")
      ->check(CLI::ExistingDirectory);
  app.add_option("--config", configs,
                 "monitor.yaml of a model version to host; repeat for "
                 "several (default: the example's monitor.yaml)")
      ->check(CLI::ExistingFile)
      ->take_all();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const bool serve = port >= 0;
  // Every thread inherits the signal mask of the thread that starts it:
  // block SIGINT/SIGTERM before any (the ticker, the HTTP server's), so that
  // only sigwait below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (serve) pthread_sigmask(SIG_BLOCK, &set, nullptr);
  try {
    mlmon::Registry registry;
    Server server(registry, configs, serve ? port : 0, log_directory);
    if (!serve) {  // self-test: no port bound, no thread started
      bool ok = true;
      for (const auto& m : server.models()) {
        mlmon::HttpRequest r;
        r.body =
            R"({"id":"self-test","model":")" + m->monitor.spec().model +
            R"(","version":")" + m->monitor.spec().version +
            R"(","features":{"amount_usd":25,"account_age_days":900,"distance_km":5}})";
        const mlmon::HttpResponse resp = server.Predict(r);
        std::printf("%d %s\n", resp.status, resp.body.c_str());
        ok = ok && resp.status == 200;
      }
      return ok ? 0 : 1;
    }
    server.Start();
    std::printf(
        "serving %zu model version(s) on http://127.0.0.1:%d (POST "
        "/v1/predict, POST /v1/outcomes, GET /metrics)\n",
        server.models().size(), server.port());
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
