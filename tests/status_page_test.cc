// The status page routes of mlmon::HttpServer: GET / and GET /api/v1/status,
// their sampler thread, and how they give way to the host's routes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "http_client.h"
#include "mlmon/errors.h"
#include "mlmon/golden_signals.h"
#include "mlmon/http_server.h"
#include "mlmon/registry.h"
#include "mlmon/status_history.h"

namespace mlmon {
namespace {

using ::mlmon::tools::HttpCall;
using ::mlmon::tools::HttpResult;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kHost[] = "127.0.0.1";

HttpResult Get(const HttpServer& server, const std::string& path,
               const std::string& method = "GET") {
  return HttpCall(kHost, server.port(), method, path, "", {}, 5000);
}

HttpServerOptions FastSampling() {
  HttpServerOptions o;
  o.status_interval_ms = 10;
  return o;
}

// Polls the live server's status API until `done(doc)` holds or 20 s pass
// (an integration test: the sampler runs on real time).
nlohmann::json PollStatus(
    const HttpServer& server,
    const std::function<bool(const nlohmann::json&)>& done) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  nlohmann::json doc;
  do {
    const HttpResult r = Get(server, "/api/v1/status");
    if (r.status == 200) {
      doc = nlohmann::json::parse(r.body);
      if (done(doc)) return doc;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  ADD_FAILURE() << "status never got there; last document: " << doc.dump();
  return doc;
}

std::size_t Points(const nlohmann::json& doc) {
  return doc["models"].empty() ? 0 : doc["models"][0]["t"].size();
}

TEST(StatusPageTest, ServesTheSelfContainedPageAtRoot) {
  Registry registry;
  HttpServer server({}, registry);
  server.Start();
  const HttpResult r = Get(server, "/");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.headers.at("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.body, std::string(StatusPageHtml()));
  EXPECT_EQ(r.body.find("http://"), std::string::npos);
  EXPECT_EQ(r.body.find("https://"), std::string::npos);
  EXPECT_EQ(r.body.find(" src="), std::string::npos);
  // The browser itself refuses anything but inline code and same-origin
  // fetches.
  const std::string csp = r.headers.at("content-security-policy");
  EXPECT_THAT(csp, HasSubstr("default-src 'none'"));
  EXPECT_THAT(csp, HasSubstr("connect-src 'self'"));
  EXPECT_EQ(r.headers.at("x-content-type-options"), "nosniff");
}

TEST(StatusPageTest, HeadOfRootHasHeadersOnly) {
  Registry registry;
  HttpServer server({}, registry);
  server.Start();
  const HttpResult r = Get(server, "/", "HEAD");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.headers.at("content-type"), "text/html; charset=utf-8");
  EXPECT_TRUE(r.body.empty());
  const HttpResult api = Get(server, "/api/v1/status", "HEAD");
  EXPECT_EQ(api.status, 200) << api.error;
  EXPECT_EQ(api.headers.at("content-type"), "application/json");
}

TEST(StatusPageTest, StatusApiSamplesTheLiveRegistry) {
  Registry registry;
  GoldenSignals signals(registry, "fraud", "3");
  Endpoint& predict = signals.AddEndpoint("predict");
  HttpServer server(FastSampling(), registry);
  server.Start();

  // Start() takes a first sample at once.
  HttpResult r = Get(server, "/api/v1/status");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("cache-control"), "no-store");
  nlohmann::json doc = nlohmann::json::parse(r.body);
  EXPECT_EQ(doc["schema"], 1);
  EXPECT_EQ(doc["capacity"], 600);
  ASSERT_EQ(doc["models"].size(), 1u);
  EXPECT_EQ(doc["models"][0]["model"], "fraud");
  EXPECT_EQ(doc["models"][0]["version"], "3");
  EXPECT_GE(Points(doc), 1u);

  // Requests recorded now show up as a positive rate in a later point.
  for (int i = 0; i < 50; ++i) RequestGuard guard(predict);
  doc = PollStatus(server, [](const nlohmann::json& d) {
    for (const auto& v : d["models"][0]["request_rate"]) {
      if (v.is_number() && v.get<double>() > 0) return true;
    }
    return false;
  });
  const auto& m = doc["models"][0];
  EXPECT_EQ(m["request_rate"].size(), m["t"].size());
  // Strictly increasing timestamps, close to the server's clock.
  for (std::size_t i = 1; i < m["t"].size(); ++i) {
    EXPECT_LT(m["t"][i - 1].get<std::int64_t>(), m["t"][i].get<std::int64_t>());
  }
  EXPECT_LE(m["t"].back().get<std::int64_t>(),
            doc["now_ms"].get<std::int64_t>());
}

TEST(StatusPageTest, HistoryIsBoundedByStatusPoints) {
  Registry registry;
  GoldenSignals signals(registry, "fraud", "1");
  HttpServerOptions o = FastSampling();
  o.status_points = 4;
  HttpServer server(o, registry);
  server.Start();
  const nlohmann::json doc = PollStatus(
      server, [](const nlohmann::json& d) { return d["samples"] >= 8; });
  EXPECT_EQ(doc["capacity"], 4);
  EXPECT_EQ(Points(doc), 4u);
}

TEST(StatusPageTest, StopJoinsTheSamplerAndStartRestartsIt) {
  Registry registry;
  GoldenSignals signals(registry, "fraud", "1");
  HttpServer server(FastSampling(), registry);
  server.Start();
  const nlohmann::json before = PollStatus(
      server, [](const nlohmann::json& d) { return Points(d) >= 3; });
  server.Stop();
  server.Stop();
  // A sampler thread still attached would make this Start() terminate the
  // process (std::thread assigned over a joinable one).
  server.Start();
  // The first read after the restart: the history survived it, and its
  // sample count is where a restarted sampler must go on from.
  const nlohmann::json first = PollStatus(
      server, [](const nlohmann::json& d) { return d["samples"] >= 1; });
  EXPECT_GE(Points(first), Points(before));
  const auto restarted_at = first["samples"].get<std::int64_t>();
  // Only a running sampler thread adds samples after that.
  const nlohmann::json doc = PollStatus(server, [&](const nlohmann::json& d) {
    return d["samples"].get<std::int64_t>() >= restarted_at + 3;
  });
  EXPECT_GE(doc["samples"].get<std::int64_t>(), restarted_at + 3);
  server.Stop();
}

TEST(StatusPageTest, DisabledStatusPageIsNotFound) {
  Registry registry;
  HttpServerOptions o;
  o.status_page = false;
  o.status_interval_ms = 0;  // not checked when the page is off
  HttpServer server(o, registry);
  server.Start();
  EXPECT_EQ(Get(server, "/").status, 404);
  EXPECT_EQ(Get(server, "/api/v1/status").status, 404);
  EXPECT_EQ(Get(server, "/metrics").status, 200);
}

TEST(StatusPageTest, HostRoutesReplaceTheBuiltInOnes) {
  Registry registry;
  HttpServer server(FastSampling(), registry);
  server.AddRoute("GET", "/", [](const HttpRequest&) {
    HttpResponse response;
    response.body = "host home\n";
    return response;
  });
  server.Start();
  HttpResult r = Get(server, "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "host home\n");
  // The API is still the built-in one.
  r = Get(server, "/api/v1/status");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["schema"], 1);
  server.Stop();

  HttpServer other(FastSampling(), registry);
  other.AddRoute("GET", "/api/v1/status", [](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "application/json";
    response.body = "{\"host\":true}";
    return response;
  });
  other.Start();
  EXPECT_EQ(Get(other, "/api/v1/status").body, "{\"host\":true}");
  EXPECT_EQ(Get(other, "/").status, 200);  // the page, reading the host's API
}

TEST(StatusPageTest, FollowsTheMetricsAuthPolicy) {
  Registry registry;
  HttpServerOptions o;
  o.bearer_token = "s3cret";
  HttpServer server(o, registry);
  server.Start();
  EXPECT_EQ(Get(server, "/").status, 401);
  EXPECT_EQ(Get(server, "/api/v1/status").status, 401);
  const HttpResult r = HttpCall(kHost, server.port(), "GET", "/api/v1/status",
                                "", {{"Authorization", "Bearer s3cret"}}, 5000);
  EXPECT_EQ(r.status, 200);
  server.Stop();

  o.metrics_require_auth = false;
  HttpServer open(o, registry);
  open.Start();
  EXPECT_EQ(Get(open, "/").status, 200);
}

TEST(StatusPageTest, RejectsBadStatusOptions) {
  Registry registry;
  HttpServerOptions o;
  o.status_interval_ms = 9;
  try {
    HttpServer server(o, registry);
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: HttpServerOptions.status_interval_ms: must be at "
                 "least 10 (9)");
  }
  o = {};
  o.status_points = 1;
  try {
    HttpServer server(o, registry);
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: HttpServerOptions.status_points: must be at least "
                 "2 (1)");
  }
}

}  // namespace
}  // namespace mlmon
