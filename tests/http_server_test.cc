#include "mlmon/http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/errors.h"
#include "mlmon/registry.h"
#include "testing/samples.h"

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
  // `source` is the local loopback address to connect from.
  explicit RawConnection(int port, int timeout_seconds = 5,
                         const char* source = nullptr) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{timeout_seconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (source != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      inet_pton(AF_INET, source, &local.sin_addr);
      if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
        return;
      }
    }
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

  // Whether the peer has closed (EOF or reset) within `timeout_ms`; data
  // received before is discarded.
  bool ClosedWithin(int timeout_ms) {
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(timeout_ms);
    char buffer[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
    }
  }

  // Reads one response's status line and headers (up to the blank line).
  std::string ReadHead() {
    std::string out;
    char c;
    while (out.size() < 65536 && out.find("\r\n\r\n") == std::string::npos) {
      if (recv(fd_, &c, 1, 0) != 1) break;
      out.push_back(c);
    }
    return out;
  }

  // Reads `n` bytes (fewer on EOF or timeout).
  std::string ReadExactly(std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = recv(fd_, &out[got], n - got, 0);
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
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
    EXPECT_STREQ(e.what(),
                 "mlmon: HttpServerOptions.bind_address: not an IPv4 or "
                 "IPv6 literal (not-an-ip)");
  }
  options = Options();
  options.port = 70000;
  try {
    HttpServer server(options, registry);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: HttpServerOptions.port: outside [0, 65535] (70000)");
  }
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

// A host handler that reports each call and blocks until opened.
class Gate {
 public:
  HttpHandler Handler() {
    return [this](const HttpRequest&) {
      detail::MutexLock lock(mu_);
      ++started_;
      cv_.notify_all();
      while (!open_) cv_.wait(lock.native());
      HttpResponse response;
      response.body = "done\n";
      return response;
    };
  }
  // Waits (at most 10 s) until `n` calls have started.
  bool WaitStarted(int n) {
    detail::MutexLock lock(mu_);
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started_ < n &&
           cv_.wait_until(lock.native(), until) != std::cv_status::timeout) {
    }
    return started_ >= n;
  }
  void Open() {
    detail::MutexLock lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  detail::Mutex mu_;
  std::condition_variable cv_;
  int started_ MLMON_GUARDED_BY(mu_) = 0;
  bool open_ MLMON_GUARDED_BY(mu_) = false;
};

// Opens the gate when the scope ends, before the server (declared earlier)
// is destroyed, so that stopping it never waits on a closed gate.
class OpenOnExit {
 public:
  explicit OpenOnExit(Gate* gate) : gate_(gate) {}
  ~OpenOnExit() { gate_->Open(); }
  OpenOnExit(const OpenOnExit&) = delete;
  OpenOnExit& operator=(const OpenOnExit&) = delete;

 private:
  Gate* gate_;
};

// The value of mlmon_http_connections_shed_total{reason="<reason>"}; nullopt
// while the server has not shed a connection for that reason.
std::optional<double> Shed(const Registry& registry,
                           const std::string& reason) {
  return testutil::SampleValue(
      registry, "mlmon_http_connections_shed_total{reason=\"" + reason + "\"}");
}

constexpr char kHealthzRequest[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
constexpr char kBlockRequest[] =
    "POST /block HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";

// Options with one I/O thread (it accepts in connection order) and the given
// connection limits.
HttpServerOptions ConnectionLimitOptions(int max_connections,
                                         int max_connections_per_client) {
  HttpServerOptions options = Options();
  options.threads = 1;
  options.max_connections = max_connections;
  options.max_connections_per_client = max_connections_per_client;
  return options;
}

// A started server with `options` whose route POST /block is held by `gate`.
std::unique_ptr<HttpServer> StartWithGate(const HttpServerOptions& options,
                                          Registry& registry, Gate* gate) {
  auto server = std::make_unique<HttpServer>(options, registry);
  server->AddRoute("POST", "/block", gate->Handler());
  server->Start();
  return server;
}

// A POST /block on `port` made on another thread (20 s timeout).
std::future<HttpResult> PostBlockAsync(int port) {
  return std::async(std::launch::async, [port] {
    return HttpCall(kHost, port, "POST", "/block", "", {}, 20000);
  });
}

// What happened to a connection that trickled bytes: whether the server
// closed it, and how long after the start.
struct TrickleResult {
  bool closed = false;
  std::chrono::steady_clock::duration elapsed{};
};

// Sends one byte on `c` every 50 ms until the server closes it or 10 s have
// passed since `start`.
TrickleResult TrickleUntilClosed(RawConnection& c,
                                 std::chrono::steady_clock::time_point start) {
  TrickleResult result;
  while (!result.closed &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    result.closed = !c.Send("a") || c.ClosedWithin(50);
  }
  result.elapsed = std::chrono::steady_clock::now() - start;
  return result;
}

TEST(HttpServerTest, NewConnectionAtTheLimitClosesTheLongestWaitingOne) {
  Registry registry;
  registry.AddGauge("test_up", "Up.", {}).Add({}).Set(1);
  HttpServer server(ConnectionLimitOptions(2, 0), registry);
  server.Start();

  // Both slots taken by clients that never send a byte.
  RawConnection idle1(server.port()), idle2(server.port());
  ASSERT_TRUE(idle1.connected());
  ASSERT_TRUE(idle2.connected());
  // A scrape is still admitted at once: the oldest idle client makes room.
  const HttpResult r =
      HttpCall(kHost, server.port(), "GET", "/metrics", "", {}, 2000);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("test_up 1\n"));
  EXPECT_TRUE(idle1.ClosedWithin(5000));
  // The younger idle client was not closed: it can still make a request.
  ASSERT_TRUE(idle2.Send(kHealthzRequest));
  EXPECT_THAT(idle2.ReadHead(), StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(Shed(registry, "evicted"), 1);
}

TEST(HttpServerTest, EvictionSparesARequestInFlight) {
  Registry registry;
  Gate gate;
  const auto server =
      StartWithGate(ConnectionLimitOptions(2, 0), registry, &gate);
  OpenOnExit opener(&gate);

  // The oldest connection has a request in flight; a younger one is idle.
  RawConnection busy(server->port());
  ASSERT_TRUE(busy.Send(kBlockRequest));
  ASSERT_TRUE(gate.WaitStarted(1));
  RawConnection idle(server->port());
  ASSERT_TRUE(idle.connected());
  // The new connection closes the idle one, not the older busy one.
  const HttpResult r =
      HttpCall(kHost, server->port(), "GET", "/healthz", "", {}, 2000);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(idle.ClosedWithin(5000));
  gate.Open();
  EXPECT_THAT(busy.ReadHead(), StartsWith("HTTP/1.1 200"));
  EXPECT_GE(Shed(registry, "evicted"), 1);
}

TEST(HttpServerTest, NewcomerIsClosedWhenEveryConnectionHasARequestInFlight) {
  Registry registry;
  Gate gate;
  HttpServerOptions options = ConnectionLimitOptions(2, 0);
  options.handler_threads = 2;
  const auto server = StartWithGate(options, registry, &gate);
  OpenOnExit opener(&gate);

  RawConnection busy1(server->port()), busy2(server->port());
  ASSERT_TRUE(busy1.Send(kBlockRequest));
  ASSERT_TRUE(busy2.Send(kBlockRequest));
  ASSERT_TRUE(gate.WaitStarted(2));
  // Nothing can be closed for room: the newcomer is.
  RawConnection newcomer(server->port());
  EXPECT_TRUE(newcomer.ClosedWithin(5000));
  gate.Open();
  EXPECT_THAT(busy1.ReadHead(), StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(busy2.ReadHead(), StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(Shed(registry, "evicted"), 1);
}

TEST(HttpServerTest, PerClientLimitClosesThatClientsOldestConnection) {
  Registry registry;
  HttpServer server(ConnectionLimitOptions(16, 2), registry);
  server.Start();

  RawConnection a1(server.port(), 5, "127.0.0.2");
  RawConnection a2(server.port(), 5, "127.0.0.2");
  RawConnection b1(server.port(), 5, "127.0.0.3");
  ASSERT_TRUE(a1.connected());
  ASSERT_TRUE(a2.connected());
  ASSERT_TRUE(b1.connected());
  // A third connection from 127.0.0.2 closes that client's oldest one...
  RawConnection a3(server.port(), 5, "127.0.0.2");
  ASSERT_TRUE(a3.connected());
  EXPECT_TRUE(a1.ClosedWithin(5000));
  // ...and no one else's, although b1 is older.
  for (RawConnection* c : {&a2, &a3, &b1}) {
    ASSERT_TRUE(c->Send(kHealthzRequest));
    EXPECT_THAT(c->ReadHead(), StartsWith("HTTP/1.1 200"));
  }
  EXPECT_EQ(Get(server, "/healthz").status, 200);
  EXPECT_EQ(Shed(registry, "client_limit"), 1);
  EXPECT_EQ(Shed(registry, "evicted"), 0);
}

TEST(HttpServerTest, HeaderDeadlineClosesATricklerThatKeepsSending) {
  Registry registry;
  HttpServerOptions options = Options();
  options.header_timeout_ms = 300;
  options.connection_timeout_seconds = 30;  // the idle timeout is not it
  HttpServer server(options, registry);
  server.Start();

  RawConnection c(server.port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Trickle: "));
  // One more header byte every 50 ms, never the end of the headers.
  const TrickleResult t = TrickleUntilClosed(c, start);
  EXPECT_TRUE(t.closed);
  EXPECT_GE(t.elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(t.elapsed, std::chrono::seconds(10));
  EXPECT_EQ(Shed(registry, "header_timeout"), 1);
}

TEST(HttpServerTest, HeaderDeadlineRestartsAfterEachResponse) {
  Registry registry;
  HttpServerOptions options = Options();
  options.header_timeout_ms = 300;
  options.connection_timeout_seconds = 30;
  HttpServer server(options, registry);
  server.Start();

  // A keep-alive client gets several answers, each well within the
  // deadline, then goes quiet and is closed after the deadline.
  RawConnection c(server.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(kHealthzRequest));
    ASSERT_THAT(c.ReadHead(), StartsWith("HTTP/1.1 200"));
    ASSERT_EQ(c.ReadExactly(3), "ok\n");
  }
  const auto quiet = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedWithin(10000));
  EXPECT_GE(std::chrono::steady_clock::now() - quiet,
            std::chrono::milliseconds(200));
  EXPECT_EQ(Shed(registry, "header_timeout"), 1);
}

TEST(HttpServerTest, BodyDeadlineClosesATricklingBody) {
  Registry registry;
  HttpServerOptions options = Options();
  options.body_timeout_ms = 300;
  options.connection_timeout_seconds = 30;
  HttpServer server(options, registry);
  server.AddRoute("POST", "/echo", [](const HttpRequest& request) {
    HttpResponse response;
    response.body = request.body;
    return response;
  });
  server.Start();

  RawConnection c(server.port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
  // One body byte every 50 ms, never the whole body.
  const TrickleResult t = TrickleUntilClosed(c, start);
  EXPECT_TRUE(t.closed);
  EXPECT_GE(t.elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(t.elapsed, std::chrono::seconds(10));
  EXPECT_EQ(Shed(registry, "body_timeout"), 1);
  EXPECT_EQ(Shed(registry, "header_timeout"), 0);
  // A body sent at once is answered.
  const HttpResult r = HttpCall(kHost, server.port(), "POST", "/echo", "hi");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi");
}

TEST(HttpServerTest, FullHandlerQueueAnswers503WithRetryAfter) {
  Registry registry;
  Gate gate;
  HttpServerOptions options = Options();
  options.handler_threads = 1;
  options.handler_queue = 1;
  const auto server = StartWithGate(options, registry, &gate);
  OpenOnExit opener(&gate);

  auto running = PostBlockAsync(server->port());
  ASSERT_TRUE(gate.WaitStarted(1));
  // Of two more, one waits in the queue and the other is refused at once.
  auto second = PostBlockAsync(server->port());
  auto third = PostBlockAsync(server->port());
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::future<HttpResult>* refused = nullptr;
  while (refused == nullptr && std::chrono::steady_clock::now() < deadline) {
    if (second.wait_for(std::chrono::milliseconds(10)) ==
        std::future_status::ready) {
      refused = &second;
    } else if (third.wait_for(std::chrono::milliseconds(10)) ==
               std::future_status::ready) {
      refused = &third;
    }
  }
  ASSERT_NE(refused, nullptr);
  const HttpResult r = refused->get();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.count("retry-after") ? r.headers.at("retry-after") : "",
            "1");
  EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "",
            "application/problem+json");
  // The built-in routes are answered while every handler thread is busy.
  EXPECT_EQ(Get(*server, "/metrics").status, 200);
  EXPECT_EQ(Get(*server, "/healthz").status, 200);
  gate.Open();
  EXPECT_EQ(running.get().status, 200);
  EXPECT_EQ((refused == &second ? third : second).get().status, 200);
  EXPECT_EQ(Shed(registry, "handler_queue_full"), 1);
}

TEST(HttpServerTest, StopWithHandlersRunningAndQueuedReturns) {
  Registry registry;
  Gate gate;
  HttpServerOptions options = Options();
  options.handler_threads = 1;
  options.handler_queue = 4;
  const auto server = StartWithGate(options, registry, &gate);
  OpenOnExit opener(&gate);
  const int port = server->port();

  auto running = PostBlockAsync(port);
  ASSERT_TRUE(gate.WaitStarted(1));
  auto queued = PostBlockAsync(port);
  auto stopper = std::async(std::launch::async, [&] { server->Stop(); });
  // The request that did not start is answered 503 while the running
  // handler still blocks the stop.
  const HttpResult q = queued.get();
  EXPECT_EQ(q.status, 503) << q.error;
  EXPECT_EQ(q.headers.count("retry-after") ? q.headers.at("retry-after") : "",
            "1");
  EXPECT_EQ(stopper.wait_for(std::chrono::milliseconds(0)),
            std::future_status::timeout);
  gate.Open();
  ASSERT_EQ(stopper.wait_for(std::chrono::seconds(20)),
            std::future_status::ready);
  // The running handler finished and its answer was sent.
  EXPECT_EQ(running.get().status, 200);
  EXPECT_NE(HttpCall(kHost, port, "GET", "/healthz", "", {}, 2000).error, "");
  // Restartable, with a working handler pool.
  server->Start();
  EXPECT_EQ(HttpCall(kHost, server->port(), "POST", "/block").status, 200);
  server->Stop();
}

TEST(HttpServerTest, RepeatedContentLengthIsRefused) {
  Registry registry;
  HttpServer server(Options(), registry);
  std::atomic<int> calls{0};
  server.AddRoute("POST", "/echo", [&calls](const HttpRequest&) {
    ++calls;
    return HttpResponse{};
  });
  server.Start();
  RawConnection c(server.port());
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
             "Content-Length: 3\r\n\r\n{}"));
  EXPECT_THAT(c.ReadHead(), StartsWith("HTTP/1.1 400"));
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServerTest, NoShedCounterWithAConstRegistry) {
  Registry registry;
  const Registry& read_only = registry;
  HttpServer server(Options(), read_only);
  server.Start();
  EXPECT_EQ(Get(server, "/healthz").status, 200);
  EXPECT_EQ(Shed(registry, "evicted"), std::nullopt);
}

TEST(HttpServerTest, InvalidDeadlinesAndHandlerThreadsAreRefused) {
  Registry registry;
  HttpServerOptions options = Options();
  options.header_timeout_ms = 9;
  EXPECT_THROW(HttpServer(options, registry), ConfigError);
  options = Options();
  options.body_timeout_ms = 0;
  EXPECT_THROW(HttpServer(options, registry), ConfigError);
  options = Options();
  options.handler_threads = 0;
  try {
    HttpServer server(options, registry);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: HttpServerOptions.handler_threads: must be at "
                 "least 1 (0)");
  }
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
