#include "mlmon/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "mlmon/errors.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace {

using ::mlmon::tools::HttpCall;
using ::mlmon::tools::HttpResult;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kHost[] = "127.0.0.1";

// A raw client socket for requests the HttpCall client will not send.
// Every read is bounded by a receive timeout (shorter than the server's
// default idle timeout of 10 s), so a test never hangs and an EOF is the
// server's own doing.
class RawConnection {
 public:
  explicit RawConnection(int port, int timeout_seconds = 5) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{timeout_seconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  bool Send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n =
          send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads until the peer closes. Returns true on EOF (or reset after
  // data), false on timeout; the bytes read go to `out`.
  bool ReadToEof(std::string* out) {
    char buffer[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n > 0) {
        out->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0) {
        return true;
      } else if (errno == EINTR) {
        continue;
      } else {
        return errno == ECONNRESET;
      }
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

HttpServerOptions Options() {
  HttpServerOptions options;
  options.port = 0;
  return options;
}

HttpResult Get(
    const HttpServer& server, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return HttpCall(kHost, server.port(), "GET", target, "", headers);
}

TEST(HttpServerTest, MetricsServesRegistryText) {
  Registry registry;
  registry.AddCounter("test_jobs_total", "Jobs run.", {"queue"})
      .Add({"a"})
      .Increment(3);
  registry.AddGauge("test_temperature", "Temperature.", {}).Add({}).Set(-1.5);
  HttpServer server(Options(), registry);
  server.Start();

  const HttpResult r = Get(server, "/metrics");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, registry.TextExposition());
  EXPECT_THAT(r.body, HasSubstr("test_jobs_total{queue=\"a\"} 3\n"));
  EXPECT_THAT(r.body, HasSubstr("test_temperature -1.5\n"));
}

TEST(HttpServerTest, MetricsReflectsLaterRecords) {
  Registry registry;
  Counter& c = registry.AddCounter("test_events_total", "Events.", {}).Add({});
  HttpServer server(Options(), registry);
  server.Start();
  c.Increment(2);
  EXPECT_THAT(Get(server, "/metrics").body, HasSubstr("test_events_total 2\n"));
  c.Increment(5);
  EXPECT_THAT(Get(server, "/metrics").body, HasSubstr("test_events_total 7\n"));
}

TEST(HttpServerTest, HealthzAnswersOk) {
  Registry registry;
  HttpServer server(Options(), registry);
  server.Start();
  const HttpResult r = Get(server, "/healthz");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_THAT(r.headers.at("content-type"), StartsWith("text/plain"));
  // The path is matched after percent-decoding.
  EXPECT_EQ(Get(server, "/heal%74hz").body, "ok\n");
}

TEST(HttpServerTest, HeadOnGetRouteSendsHeadersOnly) {
  Registry registry;
  HttpServer server(Options(), registry);
  server.Start();
  const HttpResult r = HttpCall(kHost, server.port(), "HEAD", "/healthz");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers.at("content-length"), "3");
}

TEST(HttpServerTest, UnknownPathIs404Problem) {
  Registry registry;
  HttpServer server(Options(), registry);
  server.Start();
  const HttpResult r = Get(server, "/nope?x=1");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.at("content-type"), "application/problem+json");
  EXPECT_THAT(r.body, HasSubstr("\"type\":\"about:blank\""));
  EXPECT_THAT(r.body, HasSubstr("\"status\":404"));
  EXPECT_THAT(r.body, HasSubstr("/nope"));
  // Exact match only: no prefix matching.
  EXPECT_EQ(Get(server, "/metrics/").status, 404);
  EXPECT_EQ(Get(server, "/metricsx").status, 404);
}

TEST(HttpServerTest, WrongMethodIs405WithAllow) {
  Registry registry;
  HttpServer server(Options(), registry);
  server.AddRoute("POST", "/v1/outcomes",
                  [](const HttpRequest&) { return HttpResponse{}; });
  server.AddRoute("PUT", "/v1/outcomes",
                  [](const HttpRequest&) { return HttpResponse{}; });
  server.Start();

  HttpResult r = HttpCall(kHost, server.port(), "POST", "/metrics", "x");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.at("allow"), "GET, HEAD");
  EXPECT_EQ(r.headers.at("content-type"), "application/problem+json");
  EXPECT_THAT(r.body, HasSubstr("\"status\":405"));

  r = Get(server, "/v1/outcomes");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.at("allow"), "POST, PUT");
}

TEST(HttpServerTest, RouteSeesMethodPathQueryHeadersAndBody) {
  Registry registry;
  HttpServer server(Options(), registry);
  server.AddRoute("POST", "/echo", [](const HttpRequest& request) {
    HttpResponse response;
    response.status = 201;
    response.content_type = "application/json";
    response.body = request.method + "|" + request.path + "|" + request.query +
                    "|" + request.headers.at("x-trace-id") + "|" + request.body;
    response.headers.emplace_back("X-Answer", "42");
    return response;
  });
  server.Start();
  const HttpResult r =
      HttpCall(kHost, server.port(), "POST", "/echo?a=1&b=%20x", "payload",
               {{"X-Trace-ID", "t1"}});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("x-answer"), "42");
  EXPECT_EQ(r.body, "POST|/echo|a=1&b=%20x|t1|payload");
}

TEST(HttpServerTest, ChunkedBodyUnderLimitIsDelivered) {
  Registry registry;
  HttpServer server(Options(), registry);
  server.AddRoute(
      "POST", "/echo",
      [](const HttpRequest& request) {
        HttpResponse response;
        response.body = request.body;
        return response;
      },
      RouteOptions{16, false});
  server.Start();
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(
      conn.Send("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  std::string response;
  ASSERT_TRUE(conn.ReadToEof(&response));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(response, testing::EndsWith("\r\n\r\nhello world"));
}

TEST(HttpServerTest, OversizedContentLengthIsRefusedBeforeTheBodyIsSent) {
  Registry registry;
  HttpServer server(Options(), registry);
  std::atomic<int> calls{0};
  for (const char* method : {"POST", "PATCH"}) {
    server.AddRoute(
        method, "/upload",
        [&calls](const HttpRequest&) {
          ++calls;
          return HttpResponse{};
        },
        RouteOptions{1024, false});
  }
  server.Start();

  // Headers only, announcing 10 GB: the answer must come without the body.
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(
      conn.Send("POST /upload HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/x-ndjson\r\n"
                "Content-Length: 10000000000\r\n\r\n"));
  std::string response;
  ASSERT_TRUE(conn.ReadToEof(&response)) << "no answer (timeout): " << response;
  EXPECT_THAT(response, StartsWith("HTTP/1.1 413"));
  EXPECT_THAT(response, HasSubstr("application/problem+json"));
  EXPECT_THAT(response, HasSubstr("\"status\":413"));

  // Also for a method other than POST.
  RawConnection patch(server.port());
  ASSERT_TRUE(
      patch.Send("PATCH /upload HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 5000\r\n\r\n"));
  response.clear();
  ASSERT_TRUE(patch.ReadToEof(&response))
      << "no answer (timeout): " << response;
  EXPECT_THAT(response, StartsWith("HTTP/1.1 413"));

  // Same through the client, with an actual body one byte over the limit.
  const HttpResult r =
      HttpCall(kHost, server.port(), "POST", "/upload", std::string(1025, 'x'));
  EXPECT_EQ(r.status, 413);
  // At the limit it is accepted.
  EXPECT_EQ(
      HttpCall(kHost, server.port(), "POST", "/upload", std::string(1024, 'x'))
          .status,
      200);
  EXPECT_EQ(calls.load(), 1);
}

// A server with POST /upload limited to 1 KiB that counts handler calls.
class UploadServer {
 public:
  UploadServer() : server_({}, registry_) {
    for (const char* method : {"POST", "PATCH"}) {
      server_.AddRoute(
          method, "/upload",
          [this](const HttpRequest&) {
            ++calls_;
            return HttpResponse{};
          },
          RouteOptions{1024, false});
    }
    server_.Start();
  }
  int port() const { return server_.port(); }
  int calls() const { return calls_.load(); }
  const HttpServer& server() const { return server_; }

 private:
  Registry registry_;
  HttpServer server_;
  std::atomic<int> calls_{0};
};

TEST(HttpServerTest, ChunkedBodyOverLimitIs413) {
  UploadServer upload;
  RawConnection conn(upload.port());
  ASSERT_TRUE(conn.connected());
  std::string request =
      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) {
    request += "200\r\n" + std::string(512, 'x') + "\r\n";
  }
  request += "0\r\n\r\n";
  ASSERT_TRUE(conn.Send(request));
  std::string response;
  ASSERT_TRUE(conn.ReadToEof(&response)) << "no answer (timeout): " << response;
  EXPECT_THAT(response, StartsWith("HTTP/1.1 413"));
  EXPECT_THAT(response, HasSubstr("\"status\":413"));
  EXPECT_EQ(upload.calls(), 0);
  EXPECT_EQ(Get(upload.server(), "/healthz").status, 200);
}

TEST(HttpServerTest, EndlessChunkedBodyIsCutOff) {
  UploadServer upload;
  RawConnection conn(upload.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(
      conn.Send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                "chunked\r\n\r\n"));
  // 256 KiB and no terminating chunk: the server must stop reading rather
  // than buffer or drain forever. Sends fail once it has closed.
  const std::string chunk = "1000\r\n" + std::string(4096, 'x') + "\r\n";
  for (int i = 0; i < 64 && conn.Send(chunk); ++i) {
  }
  std::string response;
  ASSERT_TRUE(conn.ReadToEof(&response)) << "connection left open";
  EXPECT_THAT(response, Not(HasSubstr("200 OK")));
  EXPECT_EQ(upload.calls(), 0);
  EXPECT_EQ(Get(upload.server(), "/healthz").status, 200);
}

TEST(HttpServerTest, BearerTokenGuardsMetrics) {
  Registry registry;
  HttpServerOptions options = Options();
  options.bearer_token = "s3cr3t-token";
  HttpServer server(options, registry);
  server.AddRoute(
      "GET", "/private", [](const HttpRequest&) { return HttpResponse{}; },
      RouteOptions{0, true});
  server.AddRoute("GET", "/public",
                  [](const HttpRequest&) { return HttpResponse{}; });
  server.Start();

  HttpResult r = Get(server, "/metrics");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers["www-authenticate"], "Bearer realm=\"mlmon\"");
  EXPECT_EQ(r.headers["content-type"], "application/problem+json");
  EXPECT_EQ(Get(server, "/metrics", {{"Authorization", "Bearer wrong"}}).status,
            401);
  EXPECT_EQ(Get(server, "/metrics", {{"Authorization", "Bearer s3cr3t-tokenX"}})
                .status,
            401);
  EXPECT_EQ(
      Get(server, "/metrics", {{"Authorization", "Bearer s3cr3t-toke"}}).status,
      401);
  EXPECT_EQ(Get(server, "/metrics", {{"Authorization", "s3cr3t-token"}}).status,
            401);
  EXPECT_EQ(Get(server, "/metrics", {{"Authorization", "Bearer s3cr3t-token"}})
                .status,
            200);
  EXPECT_EQ(Get(server, "/metrics", {{"Authorization", "bearer s3cr3t-token"}})
                .status,
            200);
  EXPECT_EQ(Get(server, "/private").status, 401);
  EXPECT_EQ(Get(server, "/private", {{"Authorization", "Bearer s3cr3t-token"}})
                .status,
            200);
  EXPECT_EQ(Get(server, "/public").status, 200);
  EXPECT_EQ(Get(server, "/healthz").status, 200);
}

TEST(HttpServerTest, BasicAuthGuardsMetrics) {
  Registry registry;
  HttpServerOptions options = Options();
  options.basic_auth_user = "alice";
  options.basic_auth_password = "wonder land";
  HttpServer server(options, registry);
  server.Start();

  HttpResult r = Get(server, "/metrics");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.headers["www-authenticate"], StartsWith("Basic realm="));
  // base64("alice:wrong")
  EXPECT_EQ(
      Get(server, "/metrics", {{"Authorization", "Basic YWxpY2U6d3Jvbmc="}})
          .status,
      401);
  // A bearer token is not accepted when only basic auth is configured.
  EXPECT_EQ(Get(server, "/metrics",
                {{"Authorization", "Bearer YWxpY2U6d29uZGVyIGxhbmQ="}})
                .status,
            401);
  // base64("alice:wonder land")
  r = Get(server, "/metrics",
          {{"Authorization", "Basic YWxpY2U6d29uZGVyIGxhbmQ="}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"],
            "text/plain; version=0.0.4; charset=utf-8");
}

TEST(HttpServerTest, MetricsCanBeLeftOpenWhenAuthIsConfigured) {
  Registry registry;
  HttpServerOptions options = Options();
  options.bearer_token = "t";
  options.metrics_require_auth = false;
  HttpServer server(options, registry);
  server.Start();
  EXPECT_EQ(Get(server, "/metrics").status, 200);
}

TEST(HttpServerTest, InvalidHandlerResponseIs500) {
  Registry registry;
  HttpServer server(Options(), registry);
  server.AddRoute("GET", "/bad-header", [](const HttpRequest&) {
    HttpResponse response;
    response.headers.emplace_back("X-Split", "a\r\nInjected: yes");
    return response;
  });
  server.AddRoute("GET", "/bad-status", [](const HttpRequest&) {
    HttpResponse response;
    response.status = 42;
    return response;
  });
  server.Start();
  HttpResult r = Get(server, "/bad-header");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.headers.count("injected"), 0u);
  EXPECT_THAT(r.body, HasSubstr("X-Split"));
  EXPECT_EQ(Get(server, "/bad-status").status, 500);
}

TEST(HttpServerTest, HandlerExceptionIs500AndServerKeepsServing) {
  Registry registry;
  HttpServer server(Options(), registry);
  server.AddRoute("GET", "/boom", [](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("model \"m\" exploded");
  });
  server.AddRoute("GET", "/boom-int",
                  [](const HttpRequest&) -> HttpResponse { throw 42; });
  server.Start();

  HttpResult r = Get(server, "/boom");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.headers.at("content-type"), "application/problem+json");
  EXPECT_THAT(r.body, HasSubstr("model \\\"m\\\" exploded"));
  EXPECT_EQ(Get(server, "/boom-int").status, 500);
  r = Get(server, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST(HttpServerTest, PortInUseThrowsConfigErrorNamingThePort) {
  Registry registry;
  HttpServer first(Options(), registry);
  first.Start();
  const int port = first.port();

  HttpServerOptions options = Options();
  options.port = port;
  HttpServer second(options, registry);
  try {
    second.Start();
    FAIL() << "Start() on a port in use did not throw";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("127.0.0.1:" + std::to_string(port)));
  }
  EXPECT_EQ(Get(first, "/healthz").status, 200);
}

TEST(HttpServerTest, InvalidOptionsThrowConfigError) {
  Registry registry;
  HttpServerOptions options = Options();
  options.bind_address = "not-an-ip";
  try {
    HttpServer server(options, registry);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not-an-ip"));
  }
  options = Options();
  options.port = 70000;
  EXPECT_THROW(HttpServer(options, registry), ConfigError);
  options = Options();
  options.threads = 4;
  options.max_connections = 2;
  EXPECT_THROW(HttpServer(options, registry), ConfigError);
  options = Options();
  options.connection_timeout_seconds = 0;
  EXPECT_THROW(HttpServer(options, registry), ConfigError);

  HttpServer server(Options(), registry);
  EXPECT_THROW(
      server.AddRoute("GET", "relative",
                      [](const HttpRequest&) { return HttpResponse{}; }),
      ConfigError);
  server.Start();
  EXPECT_THROW(
      server.AddRoute("GET", "/late",
                      [](const HttpRequest&) { return HttpResponse{}; }),
      ConfigError);
  EXPECT_THROW(server.Start(), ConfigError);
}

TEST(HttpServerTest, IdleConnectionsBeyondTheLimitDoNotStarveAScrape) {
  Registry registry;
  registry.AddGauge("test_up", "Up.", {}).Add({}).Set(1);
  HttpServerOptions options = Options();
  options.threads = 1;
  options.max_connections = 2;
  options.connection_timeout_seconds = 1;
  HttpServer server(options, registry);
  server.Start();

  // Occupy every connection slot with clients that never send a byte.
  RawConnection idle1(server.port()), idle2(server.port());
  ASSERT_TRUE(idle1.connected());
  ASSERT_TRUE(idle2.connected());
  // The limit holds: a quick scrape does not get in while they are open.
  const HttpResult quick =
      HttpCall(kHost, server.port(), "GET", "/metrics", "", {}, 200);
  EXPECT_NE(quick.error, "") << "connection limit not enforced";
  // A patient scrape gets in once the idle clients time out.
  const HttpResult r =
      HttpCall(kHost, server.port(), "GET", "/metrics", "", {}, 10000);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("test_up 1\n"));
  // And the idle clients were dropped by the server (EOF, not our timeout).
  std::string ignored;
  EXPECT_TRUE(idle1.ReadToEof(&ignored));
  EXPECT_TRUE(idle2.ReadToEof(&ignored));
  EXPECT_EQ(ignored, "");
}

TEST(HttpServerTest, ServesOnIpv6Loopback) {
  Registry registry;
  HttpServerOptions options = Options();
  options.bind_address = "::1";
  HttpServer server(options, registry);
  try {
    server.Start();
  } catch (const ConfigError& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  const HttpResult r = HttpCall("::1", server.port(), "GET", "/healthz");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.body, "ok\n");
}

TEST(HttpServerTest, EphemeralPortIsReported) {
  Registry registry;
  HttpServer server(Options(), registry);
  EXPECT_EQ(server.port(), 0);
  server.Start();
  EXPECT_GT(server.port(), 0);
  EXPECT_LE(server.port(), 65535);
  EXPECT_EQ(Get(server, "/healthz").status, 200);
}

TEST(HttpServerTest, StopThenDestructionIsClean) {
  Registry registry;
  auto server = std::make_unique<HttpServer>(Options(), registry);
  server->Start();
  const int port = server->port();
  ASSERT_EQ(HttpCall(kHost, port, "GET", "/healthz").status, 200);
  server->Stop();
  server->Stop();  // idempotent
  const HttpResult r = HttpCall(kHost, port, "GET", "/healthz", "", {}, 2000);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error, "");
  // Restartable after Stop().
  server->Start();
  EXPECT_EQ(HttpCall(kHost, server->port(), "GET", "/healthz").status, 200);
  server->Stop();
  server.reset();
}

TEST(HttpServerTest, DestructionStopsARunningServer) {
  Registry registry;
  int port = 0;
  {
    HttpServer server(Options(), registry);
    server.Start();
    port = server.port();
    ASSERT_EQ(HttpCall(kHost, port, "GET", "/healthz").status, 200);
  }
  EXPECT_NE(HttpCall(kHost, port, "GET", "/healthz", "", {}, 2000).error, "");
}

TEST(HttpServerTest, ConcurrentScrapesWhileRecording) {
  Registry registry;
  Counter& c = registry.AddCounter("test_ops_total", "Ops.", {}).Add({});
  HttpServerOptions options = Options();
  options.threads = 4;
  HttpServer server(options, registry);
  server.Start();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    while (!done.load()) c.Increment();
  });
  std::vector<std::thread> scrapers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    scrapers.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        const HttpResult r = Get(server, "/metrics");
        if (r.status == 200 &&
            r.body.find("test_ops_total ") != std::string::npos) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : scrapers) t.join();
  done = true;
  writer.join();
  EXPECT_EQ(ok.load(), 80);
}

TEST(HttpServerTest, ProblemResponseIsEscapedJson) {
  const HttpResponse r =
      ProblemResponse(400, "Bad \"input\"", "line 2\n\\ \x01 \xff caf\xc3\xa9");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(r.body,
            "{\"type\":\"about:blank\",\"title\":\"Bad \\\"input\\\"\","
            "\"status\":400,\"detail\":\"line 2\\n\\\\ \\u0001 \xef\xbf\xbd "
            "caf\xc3\xa9\"}\n");
}

}  // namespace
}  // namespace mlmon
