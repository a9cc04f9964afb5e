// The consumer program of both packaging tests (tests/find-package-test links
// an installed or build-tree mlmon package, tests/add-subdirectory-test builds
// mlmon from source): uses mlmon the way a model server does, through the
// public headers and targets only. Exits 0 if the exposition holds what was
// recorded and mlmon/version.h matches the version the build system reports
// (MLMON_EXPECTED_VERSION).

#include <mlmon/mlmon.h>
#ifdef MLMON_CONSUMER_WITH_HTTP
#include <mlmon/http_server.h>
#endif

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

int failures = 0;

void ExpectContains(const std::string& text, const std::string& needle) {
  if (text.find(needle) == std::string::npos) {
    std::fprintf(stderr, "missing from exposition: %s\n", needle.c_str());
    ++failures;
  }
}

}  // namespace

int main() try {
#ifndef MLMON_EXPECTED_VERSION
#error "the consumer project defines MLMON_EXPECTED_VERSION"
#endif
  if (std::strcmp(MLMON_VERSION_STRING, MLMON_EXPECTED_VERSION) != 0) {
    std::fprintf(stderr, "MLMON_VERSION_STRING is %s, the package is %s\n",
                 MLMON_VERSION_STRING, MLMON_EXPECTED_VERSION);
    ++failures;
  }
  const std::string parts = std::to_string(MLMON_VERSION_MAJOR) + "." +
                            std::to_string(MLMON_VERSION_MINOR) + "." +
                            std::to_string(MLMON_VERSION_PATCH);
  if (parts != MLMON_VERSION_STRING) {
    std::fprintf(stderr, "MLMON_VERSION_MAJOR.MINOR.PATCH is %s, not %s\n",
                 parts.c_str(), MLMON_VERSION_STRING);
    ++failures;
  }

  auto registry = std::make_shared<mlmon::Registry>();

  mlmon::Counter& jobs =
      registry->AddCounter("consumer_jobs_total", "Jobs run.", {"queue"})
          .Add({"default"});
  jobs.Increment();

  mlmon::GoldenSignals signals(*registry, "consumer", "1");
  mlmon::Endpoint& predict = signals.AddEndpoint("predict");
  mlmon::ErrorReason timeout = predict.BindErrorReason("timeout");
  { mlmon::RequestGuard guard(predict); }
  {
    mlmon::RequestGuard guard(predict);
    guard.Fail(timeout);
  }

  const std::string text = registry->TextExposition();
  ExpectContains(text, "# TYPE consumer_jobs_total counter");
  ExpectContains(text, "consumer_jobs_total{queue=\"default\"} 1");
  ExpectContains(text,
                 "mlmon_requests_total{model=\"consumer\",version=\"1\","
                 "endpoint=\"predict\",status=\"ok\"} 1");
  ExpectContains(text,
                 "mlmon_request_errors_total{model=\"consumer\",version=\"1\","
                 "endpoint=\"predict\",reason=\"timeout\"} 1");
  ExpectContains(text,
                 "mlmon_request_duration_seconds_count{model=\"consumer\"");

  // The prometheus-cpp side: mlmon's registry is a Collectable.
  const prometheus::Collectable& collectable = *registry;
  std::vector<prometheus::MetricFamily> families = collectable.Collect();
  bool found = false;
  for (const auto& family : families) {
    found = found || family.name == "mlmon_requests_total";
  }
  if (!found) {
    std::fprintf(stderr, "Collect() has no mlmon_requests_total\n");
    ++failures;
  }

#ifdef MLMON_CONSUMER_WITH_HTTP
  // Links libmicrohttpd through mlmon::http; loopback, ephemeral port.
  mlmon::HttpServer server(mlmon::HttpServerOptions{}, *registry);
  server.AddRoute("GET", "/consumer", [](const mlmon::HttpRequest&) {
    return mlmon::HttpResponse{};
  });
  server.Start();
  if (server.port() <= 0) {
    std::fprintf(stderr, "HttpServer bound no port\n");
    ++failures;
  }
  server.Stop();
#endif

  if (failures != 0) {
    std::fprintf(stderr, "%d check(s) failed; exposition:\n%s", failures,
                 text.c_str());
    return 1;
  }
  std::printf("mlmon consumer OK\n");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "exception: %s\n", e.what());
  return 1;
}
