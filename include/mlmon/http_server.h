#ifndef MLMON_HTTP_SERVER_H_
#define MLMON_HTTP_SERVER_H_

/// \file
/// The embedded HTTP endpoint (target `mlmon::http`, libmicrohttpd):
/// `GET /metrics`, `GET /healthz`, the status page (`GET /`,
/// `GET /api/v1/status`) and routes the host adds.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mlmon {

class Registry;

/// One HTTP request as a route handler sees it.
struct HttpRequest {
  std::string method;  ///< e.g. "GET", as sent
  std::string path;    ///< percent-decoded path without the query string
  std::string query;   ///< raw query string after '?', not decoded; "" if none
  /// Request headers; names lower-cased, repeated headers joined with ", ".
  std::map<std::string, std::string> headers;
  std::string body;  ///< at most the route's `max_body_bytes`
};

/// What a route handler answers.
struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  /// Extra response headers, sent in order.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// An RFC 9457 `application/problem+json` response:
/// `{"type":"about:blank","title":...,"status":...,"detail":...}`, with
/// `title` and `detail` JSON-escaped (invalid UTF-8 replaced by U+FFFD).
HttpResponse ProblemResponse(int status, std::string_view title,
                             std::string_view detail);

/// Handles one request. May throw: the server answers 500 problem+json and
/// keeps serving. A host route's handler is called on one of the server's
/// handler threads (`HttpServerOptions::handler_threads`), possibly
/// concurrently with itself: handlers must be thread-safe. A handler that
/// blocks holds one handler thread, never the threads serving `/metrics`.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

/// Per-route limits and policy.
struct RouteOptions {
  /// A larger `Content-Length` is answered 413 before the body is read. A
  /// chunked body is never buffered beyond the limit: it is answered 413 if
  /// it ends within 64 KiB past the limit, else the connection is closed.
  std::size_t max_body_bytes = 1 << 20;
  /// Require the server's bearer token or basic credentials, when configured.
  bool require_auth = false;
};

/// Options of `HttpServer`.
struct HttpServerOptions {
  /// IPv4 or IPv6 literal to listen on.
  std::string bind_address = "127.0.0.1";
  /// 0 picks an ephemeral port; read it back with `HttpServer::port()`.
  int port = 0;
  /// Size of the libmicrohttpd I/O thread pool (at least 1). The built-in
  /// routes (`/metrics`, `/healthz`, `GET /`, `GET /api/v1/status`) run on
  /// these threads; host routes never do (see `handler_threads`).
  unsigned threads = 2;
  /// Open connections at most (at least `threads`). A new connection is
  /// always accepted (it never waits in the listen backlog behind held
  /// connections): when the server is at the limit, the connection that has
  /// waited longest without a request in progress (still sending its
  /// headers or body, or idle between keep-alive requests) is closed to make
  /// room. Connections whose request is being handled or answered are never
  /// closed for room; if all are, the new one is closed. Open descriptors
  /// stay below `2 * max_connections + 16` (closed ones still being torn
  /// down count until libmicrohttpd has closed them).
  unsigned max_connections = 128;
  /// Open connections per client IP address at most; 0 or a value above
  /// `max_connections` means `max_connections`. At the limit a new
  /// connection from that client closes that client's longest-waiting
  /// connection without a request in progress, so one client cannot take
  /// every slot and other clients (the scraper) are not evicted for it.
  unsigned max_connections_per_client = 64;
  /// Milliseconds a connection may take to deliver complete request headers
  /// (at least 10), counted from accept, or on keep-alive from the end of
  /// the previous response. Sending bytes does not extend it: a client
  /// trickling headers (slowloris) is closed when it runs out.
  unsigned header_timeout_ms = 5000;
  /// Milliseconds from complete headers to a complete request body (at
  /// least 10); sending bytes does not extend it.
  unsigned body_timeout_ms = 30000;
  /// A connection on which no byte moves for this many seconds (at least 1)
  /// is closed, e.g. a client that stops reading its response.
  unsigned connection_timeout_seconds = 10;
  /// Threads that run the host routes added with `AddRoute()` (at least 1),
  /// so a slow host handler never holds an I/O thread and the built-in
  /// routes are answered while every handler thread is busy.
  unsigned handler_threads = 2;
  /// Host requests waiting for a handler thread at most; a request beyond
  /// it is answered 503 problem+json with `Retry-After: 1`. Keep
  /// `handler_threads + handler_queue` below `max_connections`: connections
  /// waiting for a handler are not closed to make room.
  std::size_t handler_queue = 64;
  /// If set, `/metrics` (and routes with `require_auth`) need
  /// `Authorization: Bearer <token>`.
  std::string bearer_token;
  /// If `basic_auth_user` is set, HTTP basic credentials are accepted too.
  std::string basic_auth_user, basic_auth_password;
  /// Whether `/metrics` requires auth when credentials are configured (the
  /// status page and its API follow the same rule: they show the same data).
  bool metrics_require_auth = true;
  /// Serve the status page at `GET /` (`StatusPageHtml()`) and its data at
  /// `GET /api/v1/status` (`StatusHistory::Json()`, see docs/status-api.md),
  /// sampled from the registry by a background thread while the server runs.
  bool status_page = true;
  /// Milliseconds between two samples of the status history (at least 10).
  unsigned status_interval_ms = 1000;
  /// Points kept per model (at least 2): `status_points` x
  /// `status_interval_ms` is the span the page shows (600 x 1 s = 10 min).
  std::size_t status_points = 600;
};

/// An HTTP/1.1 server on libmicrohttpd (internal epoll thread pool) that
/// serves `GET /metrics` from a `Registry` (Prometheus text 0.0.4),
/// `GET /healthz` (`ok`), the status page (`GET /` and `GET /api/v1/status`,
/// unless `status_page` is false), and routes added with `AddRoute()`.
///
/// With the status page on, `Start()` also starts one thread that samples
/// the registry into a `StatusHistory` every `status_interval_ms` (off the
/// inference path: it reads the registry as a scrape does); `Stop()` joins
/// it. A host route on `/api/v1/status` replaces the built-in one, and then
/// no sampling thread is started.
///
/// Host routes run on `handler_threads` threads of their own, fed by a
/// queue of `handler_queue` requests; the built-in routes run on the I/O
/// threads and are answered whatever the host handlers do.
///
/// Protection against clients that hold connections: request headers and
/// bodies have deadlines a client cannot extend by trickling bytes
/// (`header_timeout_ms`, `body_timeout_ms`), each client IP address has a
/// connection limit (`max_connections_per_client`), and a new connection is
/// never refused or left in the listen backlog while the server holds
/// connections without a request in progress (`max_connections`). When the
/// server is constructed with a non-const `Registry`, what it sheds is
/// counted there in `mlmon_http_connections_shed_total{reason}`
/// (docs/metrics.md).
///
/// Routes match the exact path (query string excluded). A known path with
/// another method gets 405 with `Allow`; an unknown path 404; a body over the
/// route's limit 413; a missing or wrong credential 401 with
/// `WWW-Authenticate`; conflicting `Content-Length` headers 400; a full
/// handler queue 503 with `Retry-After`; a throwing handler 500. Error bodies
/// are `application/problem+json`. `HEAD` is answered by `GET` routes. The
/// server never writes to stderr and never raises SIGPIPE.
///
/// Thread safety: thread-safe after `Start()`; `AddRoute()` only before
/// `Start()`. The registry must outlive the server.
///
/// **Example**:
///
///     mlmon::Registry registry;
///     mlmon::HttpServer server({}, registry);
///     server.Start();
///     int port = server.port();  // scrape http://127.0.0.1:<port>/metrics
class HttpServer {
 public:
  /// \throw mlmon::ConfigError naming the value if an option is invalid
  /// (address not an IP literal, port out of range, zero threads,
  /// `max_connections < threads`, zero timeout, header or body timeout
  /// below 10 ms, zero handler threads, basic password without user,
  /// `status_interval_ms` below 10, `status_points` below 2).
  HttpServer(HttpServerOptions options, const Registry& registry);
  /// As above, and registers the server's own counter
  /// `mlmon_http_connections_shed_total{reason}` in `registry` (reasons
  /// `header_timeout`, `body_timeout`, `evicted`, `client_limit`,
  /// `handler_queue_full`).
  /// \throw mlmon::ConfigError also if that name is registered otherwise.
  HttpServer(HttpServerOptions options, Registry& registry);
  /// Stops the server.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Serves `handler` for `method` on the exact `path`; replaces an existing
  /// route with the same method and path (the built-in ones included).
  /// REQUIRES: the server is not running.
  /// \throw mlmon::ConfigError if the server is running, `method` is empty
  /// or `path` does not start with '/'.
  void AddRoute(std::string method, std::string path, HttpHandler handler,
                RouteOptions options = {});

  /// Binds and starts serving.
  /// \throw mlmon::ConfigError naming `address:port` if the socket cannot be
  /// bound (e.g. port in use) or the server cannot start, or if it is
  /// already running.
  void Start();
  /// Stops accepting, answers queued host requests 503, waits for the host
  /// handlers already running to return, closes the socket and every
  /// connection, and joins the server's threads. Idempotent.
  void Stop() noexcept;

  /// The bound port while running (the ephemeral one if `port` was 0), the
  /// configured port otherwise.
  int port() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlmon

#endif  // MLMON_HTTP_SERVER_H_
