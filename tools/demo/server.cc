#include "server.h"

#include <simdjson.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <thread>
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
    "slow", "errors"};

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

ModelServer::ModelServer(mlmon::Registry& registry, ServerOptions options)
    : model_(LogisticModel::Load(options.model_path.empty()
                                     ? DefaultModelPath()
                                     : options.model_path)),
      monitor_(registry,
               mlmon::LoadMonitorSpec(options.monitor_path.empty()
                                          ? DefaultMonitorPath()
                                          : options.monitor_path),
               options.clock),
      predict_(monitor_.endpoint("predict")),
      bad_request_(predict_.BindErrorReason("bad_request")),
      model_error_(predict_.BindErrorReason("model_error")),
      http_(HttpOptions(options.port), registry) {
  risky_not_safe_ =
      &monitor_.heuristics().AddCheck("risky_transaction_not_safe");
  ingest_.AddTracker(monitor_.outcomes());
  mlmon::AddFeedbackRoute(http_, ingest_);
  if (options.start_ticker) {
    ticker_ = std::make_unique<mlmon::Ticker>();
    ticker_->Add([this] { monitor_.Tick(); });
  }
  http_.AddRoute(
      "POST", "/v1/predict",
      [this](const mlmon::HttpRequest& r) { return Predict(r); },
      [] {
        mlmon::RouteOptions o;
        o.max_body_bytes = 64 * 1024;
        return o;
      }());
}

mlmon::HttpResponse ModelServer::Predict(const mlmon::HttpRequest& request) {
  mlmon::RequestGuard guard(predict_);
  auto bad = [&](const std::string& detail) {
    guard.Fail(bad_request_);
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
  std::string id;
  std::vector<double> values(model_.features().size(),
                             std::numeric_limits<double>::quiet_NaN());
  // Input monitoring: one vector per request here for brevity; a server that
  // cares about allocations keeps one per worker thread (NewVector once).
  mlmon::FeatureVector inputs = monitor_.features().NewVector();
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
        int i = model_.IndexOf(name);
        if (i >= 0) values[static_cast<std::size_t>(i)] = v;
        inputs.Set(name, v);  // an unknown name is counted, not thrown
      }
    }
  }
  if (id.empty()) return bad("missing 'id'");
  if (!has_features) return bad("missing 'features'");
  const Fault fault = this->fault();
  const std::uint64_t n = requests_.fetch_add(1, std::memory_order_relaxed);
  if (fault == Fault::kSlow) {  // the demo's slow feature store
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  if (fault == Fault::kErrors && n % 4 == 0) {
    guard.Fail(model_error_);
    return mlmon::ProblemResponse(500, "Model backend failed",
                                  "the scoring backend did not answer");
  }
  double score = model_.Score(values.data());
  // The demo's broken dependency: classes in the other order.
  if (fault == Fault::kBrokenDependency) score = 1.0 - score;
  monitor_.features().Observe(inputs);          // missing / range / drift
  monitor_.distribution().ObserveScore(score);  // score histogram, drift
  // Keep the prediction until its outcome arrives (POST /v1/outcomes).
  monitor_.outcomes().RecordPrediction(id, score);
  // Post-filter (business rule): transactions below the minimum review
  // amount get no score back. An empty response is counted: a filter that
  // turns aggressive shows as a rising empty share.
  const double min_review_usd = fault == Fault::kAggressiveFilter ? 100.0 : 1.0;
  const int amount = model_.IndexOf("amount_usd");
  const bool filtered =
      amount >= 0 && values[static_cast<std::size_t>(amount)] < min_review_usd;
  if (filtered) monitor_.distribution().ObserveEmpty();
  // A quality heuristic from the fraud team: a transaction from a brand-new
  // account far from home should never look perfectly safe.
  const int age = model_.IndexOf("account_age_days");
  const int dist = model_.IndexOf("distance_km");
  if (age >= 0 && dist >= 0 && values[static_cast<std::size_t>(age)] < 7 &&
      values[static_cast<std::size_t>(dist)] > 500) {
    risky_not_safe_->Record(score >= 0.01);
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
