#include "server.h"

#include <simdjson.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mlmon_demo {

namespace {

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

mlmon::HttpServerOptions HttpOptions(int port) {
  mlmon::HttpServerOptions o;
  o.port = port;
  return o;
}

constexpr const char* kFaultNames[] = {
    "none", "unit-change", "aggressive-filter", "broken-dependency",
    "slow", "errors",      "population-shift"};

}  // namespace

const char* FaultName(Fault f) noexcept {
  return kFaultNames[static_cast<int>(f)];
}

std::vector<std::string> FaultNames() {
  return {std::begin(kFaultNames), std::end(kFaultNames)};
}

Fault ParseFault(std::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kFaultNames)); ++i) {
    if (name == kFaultNames[i]) return static_cast<Fault>(i);
  }
  throw std::invalid_argument("unknown fault '" + std::string(name) + "'");
}

std::string DefaultModelPath() {
  if (const char* env = std::getenv("MLMON_DEMO_MODEL")) return env;
  return MLMON_DEMO_DIR "/fraud_model.txt";
}

std::string DefaultMonitorPath() {
  if (const char* env = std::getenv("MLMON_DEMO_MONITOR")) return env;
  return MLMON_DEMO_DIR "/monitor.yaml";
}

ServedVersion::ServedVersion(mlmon::Registry& registry, mlmon::MonitorSpec spec,
                             LogisticModel served_model,
                             const mlmon::Clock* clock,
                             const std::string& log_directory)
    : model(std::move(served_model)),
      monitor(registry, std::move(spec), clock),
      predict(monitor.endpoint("predict")),
      bad_request(predict.BindErrorReason("bad_request")),
      model_error(predict.BindErrorReason("model_error")),
      risky_not_safe(
          monitor.heuristics().AddCheck("risky_transaction_not_safe")) {
  if (!log_directory.empty()) {
    mlmon::PredictionLogOptions o;
    o.directory = log_directory;
    o.prefix = monitor.spec().model + "-" + monitor.spec().version;
    o.clock = clock;
    log = std::make_unique<mlmon::PredictionLog>(registry, monitor.spec().model,
                                                 monitor.spec().version, o);
  }
}

ModelServer::ModelServer(mlmon::Registry& registry, ServerOptions options)
    : options_(std::move(options)),
      registry_(registry),
      http_(HttpOptions(options_.port), registry) {
  if (options_.start_ticker) ticker_ = std::make_unique<mlmon::Ticker>();
  LogisticModel model = LogisticModel::Load(
      options_.model_path.empty() ? DefaultModelPath() : options_.model_path);
  mlmon::MonitorSpec spec = mlmon::LoadMonitorSpec(options_.monitor_path.empty()
                                                       ? DefaultMonitorPath()
                                                       : options_.monitor_path);
  auto routing = std::make_shared<Routing>();
  if (options_.canary) spec.version = options_.champion_version;
  routing->champion = std::make_shared<ServedVersion>(
      registry_, spec, model, options_.clock, options_.prediction_log);
  Serve(routing->champion);
  if (options_.canary) {
    // The challenger: the same spec under its own version, and a "retrain"
    // whose scores differ a little from the champion's.
    mlmon::ShadowComparisonOptions shadow_options;
    shadow_options.thresholds = spec.outcome.thresholds;
    spec.version = options_.challenger_version;
    routing->challenger = std::make_shared<ServedVersion>(
        registry_, spec, model.Perturbed(1.1, 0.2), options_.clock,
        options_.prediction_log);
    Serve(routing->challenger);
    routing->challenger_share = options_.challenger_share;
    routing->shadow = std::make_unique<mlmon::ShadowComparison>(
        registry_, spec.model, options_.champion_version,
        options_.challenger_version, shadow_options);
  }
  champion_ = routing->champion;
  routing_ = std::move(routing);  // before any request thread starts
  mlmon::AddFeedbackRoute(http_, ingest_);
  http_.AddRoute(
      "POST", "/v1/predict",
      [this](const mlmon::HttpRequest& r) { return Predict(r); },
      [] {
        mlmon::RouteOptions o;
        o.max_body_bytes = 64 * 1024;
        return o;
      }());
}

void ModelServer::Serve(std::shared_ptr<ServedVersion> version) {
  // Model-only feedback lines reach every version that holds the id.
  ingest_.AddTracker(version->monitor.outcomes());
  if (ticker_ != nullptr) version->monitor.TickOn(*ticker_);
}

bool ModelServer::has_challenger() const {
  return routing()->challenger != nullptr;
}

void ModelServer::Promote() {
  std::shared_ptr<const Routing> old = routing();
  if (old->challenger == nullptr) return;
  auto next = std::make_shared<Routing>();
  next->champion = old->challenger;
  const std::weak_ptr<ServedVersion> retired = old->champion;
  champion_ = next->champion;
  std::atomic_store(&routing_, std::shared_ptr<const Routing>(std::move(next)));
  // The old routing (shadow comparison first, then the old champion) goes
  // with the last request that still holds it.
  old.reset();
  while (!retired.expired()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

namespace {

// Which version serves a request: a stable hash of its id (FNV-1a), so a
// given id always goes to the same version.
bool ToChallenger(std::string_view id, double share) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return static_cast<double>(h % 10000) < share * 10000.0;
}

}  // namespace

mlmon::HttpResponse ModelServer::Predict(const mlmon::HttpRequest& request) {
  // Held to the end of the request: the versions it uses stay loaded.
  const std::shared_ptr<const Routing> routing = this->routing();
  ServedVersion* serving = nullptr;
  std::optional<mlmon::RequestGuard> guard;
  std::string id;
  // Without a challenger the version is known up front and the whole request
  // is timed; with one it depends on the id, so timing starts once it is read.
  auto route = [&] {
    if (guard) return;
    serving = routing->champion.get();
    if (routing->challenger != nullptr && !id.empty() &&
        ToChallenger(id, routing->challenger_share)) {
      serving = routing->challenger.get();
    }
    guard.emplace(serving->predict);
  };
  if (routing->challenger == nullptr) route();
  auto bad = [&](const std::string& detail) {
    route();
    guard->Fail(serving->bad_request);
    return mlmon::ProblemResponse(400, "Bad prediction request", detail);
  };
  // One parser per server thread: parsing allocates only while it grows.
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string body(request.body);
  simdjson::ondemand::document doc;
  if (parser.iterate(body).get(doc) != simdjson::SUCCESS) {
    return bad("body is not JSON");
  }
  simdjson::ondemand::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) {
    return bad("body must be a JSON object");
  }
  const LogisticModel& model = routing->champion->model;  // same features
  std::vector<double> values(model.features().size(),
                             std::numeric_limits<double>::quiet_NaN());
  // The feature values by name, for the serving version's input monitoring.
  std::vector<std::pair<std::string, double>> named;
  bool has_features = false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return bad("malformed key");
    }
    if (key == "id") {
      std::string_view v;
      if (field.value().get_string().get(v) != simdjson::SUCCESS || v.empty()) {
        return bad("'id' must be a non-empty string");
      }
      id.assign(v);
    } else if (key == "features") {
      simdjson::ondemand::object features;
      if (field.value().get_object().get(features) != simdjson::SUCCESS) {
        return bad("'features' must be an object of numbers");
      }
      has_features = true;
      for (auto f : features) {
        std::string_view name;
        double v;
        if (f.unescaped_key().get(name) != simdjson::SUCCESS ||
            f.value().get_double().get(v) != simdjson::SUCCESS) {
          return bad("feature values must be numbers");
        }
        int i = model.IndexOf(name);
        if (i >= 0) values[static_cast<std::size_t>(i)] = v;
        named.emplace_back(name, v);
      }
    }
  }
  if (id.empty()) return bad("missing 'id'");
  if (!has_features) return bad("missing 'features'");
  route();
  guard->SetId(id);  // the latency exemplar: this request, if slow
  mlmon::ModelMonitor& monitor = serving->monitor;
  // Input monitoring: one vector per request here for brevity; a server that
  // cares about allocations keeps one per worker thread (NewVector once).
  mlmon::FeatureVector inputs = monitor.features().NewVector();
  for (const auto& [name, v] : named) {
    inputs.Set(name, v);  // an unknown name is counted, not thrown
  }
  const Fault fault = this->fault();
  const std::uint64_t n = requests_.fetch_add(1, std::memory_order_relaxed);
  if (fault == Fault::kSlow) {  // the demo's slow feature store
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  if (fault == Fault::kErrors && n % 4 == 0) {
    guard->Fail(serving->model_error);
    return mlmon::ProblemResponse(500, "Model backend failed",
                                  "the scoring backend did not answer");
  }
  double score = serving->model.Score(values.data());
  // The demo's broken dependency: classes in the other order.
  if (fault == Fault::kBrokenDependency) score = 1.0 - score;
  if (routing->challenger != nullptr) {
    // Shadow: the other version scores the same request; only the serving
    // version's score is answered and recorded for its outcome.
    ServedVersion* other = serving == routing->champion.get()
                               ? routing->challenger.get()
                               : routing->champion.get();
    double other_score = other->model.Score(values.data());
    if (fault == Fault::kBrokenDependency) other_score = 1.0 - other_score;
    if (serving == routing->champion.get()) {
      routing->shadow->RecordScores(score, other_score);
    } else {
      routing->shadow->RecordScores(other_score, score);
    }
  }
  monitor.features().Observe(inputs);  // missing / range / drift
  // Score histogram (the id is the bucket's exemplar), drift.
  monitor.distribution().ObserveScore(score, id);
  // Keep the prediction until its outcome arrives (POST /v1/outcomes).
  monitor.outcomes().RecordPrediction(id, score);
  if (serving->log != nullptr) serving->log->LogPrediction(id, score);
  // Post-filter (business rule): transactions below the minimum review
  // amount get no score back. An empty response is counted: a filter that
  // turns aggressive shows as a rising empty share.
  const double min_review_usd = fault == Fault::kAggressiveFilter ? 100.0 : 1.0;
  const int amount = model.IndexOf("amount_usd");
  const bool filtered =
      amount >= 0 && values[static_cast<std::size_t>(amount)] < min_review_usd;
  if (filtered) monitor.distribution().ObserveEmpty();
  // A quality heuristic from the fraud team: a transaction from a brand-new
  // account far from home should never look perfectly safe.
  const int age = model.IndexOf("account_age_days");
  const int dist = model.IndexOf("distance_km");
  if (age >= 0 && dist >= 0 && values[static_cast<std::size_t>(age)] < 7 &&
      values[static_cast<std::size_t>(dist)] > 500) {
    serving->risky_not_safe.Record(score >= 0.01);
  }
  mlmon::HttpResponse response;
  response.content_type = "application/json";
  response.body = "{\"id\":";
  AppendJsonString(&response.body, id);
  if (filtered) {
    response.body.append(
        ",\"score\":null,\"filtered\":\"below_min_review_amount\"}");
    return response;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, ",\"score\":%.17g}", score);
  response.body.append(buf);
  return response;
}

}  // namespace mlmon_demo
