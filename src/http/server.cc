// HttpServer: the libmicrohttpd daemon, its callbacks and the routing of
// requests to the built-in and host routes.

#include <fmt/format.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "http/accept.h"
#include "http/auth.h"
#include "http/connection_table.h"
#include "http/handler_pool.h"
#include "http/request_state.h"
#include "http/response.h"
#include "http/setup.h"
#include "http/status_sampler.h"
#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/http_server.h"
#include "mlmon/registry.h"
#include "mlmon/status_history.h"

namespace mlmon {
namespace {

using http::ConnectionTable;
using http::QueueResponse;
using http::ReasonPhrase;
using http::RequestState;
using http::Route;

constexpr char kStatusPagePath[] = "/";
constexpr char kStatusApiPath[] = "/api/v1/status";
// The page is self-contained: the browser may load nothing but the page's
// own inline script and style, and fetch only from this origin.
constexpr char kStatusPagePolicy[] =
    "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
// How much of a chunked body beyond the route's limit is read and discarded
// so that the client still gets a 413; past it the connection is closed.
constexpr std::size_t kMaxDiscardBytes = std::size_t{64} << 10;
// libmicrohttpd's own connection limit, above ours so that connections
// being closed to make room never make it stop accepting.
constexpr unsigned kMhdConnectionHeadroom = 16;

char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

void NoLog(void*, const char*, va_list) {}

// Blocks SIGPIPE in the calling thread for its lifetime and restores the
// previous mask after; threads created meanwhile inherit the blocked mask.
class ScopedBlockSigpipe {
 public:
  ScopedBlockSigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    ok_ = pthread_sigmask(SIG_BLOCK, &set, &old_) == 0;
  }
  ~ScopedBlockSigpipe() {
    if (ok_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedBlockSigpipe(const ScopedBlockSigpipe&) = delete;
  ScopedBlockSigpipe& operator=(const ScopedBlockSigpipe&) = delete;

 private:
  sigset_t old_;
  bool ok_;
};

HttpServerOptions Checked(HttpServerOptions options) {
  http::CheckOptions(options);
  return options;
}

// The per-client limit in effect: 0 or more than the total means the total.
unsigned PerClientLimit(const HttpServerOptions& o) {
  return o.max_connections_per_client == 0 ||
                 o.max_connections_per_client > o.max_connections
             ? o.max_connections
             : o.max_connections_per_client;
}

}  // namespace

class HttpServer::Impl {
 public:
  // `counters_registry` (may be null) gets the server's own counters.
  Impl(HttpServerOptions options, const Registry& registry,
       Registry* counters_registry);
  ~Impl() { Stop(); }

  void AddRoute(std::string method, std::string path, HttpHandler handler,
                RouteOptions options);
  void Start();
  void Stop() noexcept;
  int port() const noexcept { return port_.load(std::memory_order_acquire); }

 private:
  static void* OnUri(void* cls, const char* uri, MHD_Connection* connection);
  static void OnCompleted(void* cls, MHD_Connection* connection, void** con_cls,
                          MHD_RequestTerminationCode code);
  static void OnConnection(void* cls, MHD_Connection* connection,
                           void** socket_context,
                           MHD_ConnectionNotificationCode code);
  static MHD_Result OnAccess(void* cls, MHD_Connection* connection,
                             const char* url, const char* method,
                             const char* version, const char* upload_data,
                             std::size_t* upload_data_size, void** con_cls);
  static ConnectionTable::Conn* ConnOf(MHD_Connection* connection);

  void AddRouteInternal(std::string method, std::string path,
                        HttpHandler handler, RouteOptions options,
                        bool inline_handler);
  void AddBuiltinRoutes();
  void RegisterShedCounters(Registry& registry);
  // Stops the handler pool and the reaper, in that order.
  void StopWorkers() noexcept;

  MHD_Result Handle(MHD_Connection* connection, const char* url,
                    const char* method, const char* upload_data,
                    std::size_t* upload_data_size, RequestState* state);
  // Routes, authenticates and checks the declared body size; returns false
  // and fills `refusal` if the request is refused before its body is read.
  bool Precheck(MHD_Connection* connection, const char* url, const char* method,
                RequestState* state, HttpResponse* refusal) const;

  const HttpServerOptions options_;
  const Registry& registry_;
  const http::Authenticator auth_;
  // path -> method -> route. Written only while stopped (under mu_);
  // read-only while the daemon runs, without mu_ (MHD_start_daemon and
  // MHD_stop_daemon order the accesses).
  std::map<std::string, std::map<std::string, Route>> routes_;
  detail::Mutex mu_;  // serialises Start/Stop/AddRoute
  MHD_Daemon* daemon_ MLMON_GUARDED_BY(mu_) = nullptr;
  std::atomic<int> port_;
  // The status page's history (null without the page). Its sampler thread
  // runs between Start() and Stop() unless the host replaced the status API.
  std::unique_ptr<http::StatusSampler> status_;
  bool builtin_status_api_ MLMON_GUARDED_BY(mu_) = false;

  ConnectionTable table_;
  http::DeadlineReaper reaper_;
  http::HandlerPool pool_;  // runs the host routes
};

HttpServer::Impl::Impl(HttpServerOptions options, const Registry& registry,
                       Registry* counters_registry)
    : options_(Checked(std::move(options))),
      registry_(registry),
      auth_(options_.bearer_token, options_.basic_auth_user,
            options_.basic_auth_password),
      port_(options_.port),
      table_(options_.max_connections, PerClientLimit(options_),
             std::chrono::milliseconds(options_.header_timeout_ms),
             std::chrono::milliseconds(options_.body_timeout_ms)),
      reaper_(table_, options_.header_timeout_ms, options_.body_timeout_ms),
      pool_(options_.handler_threads, options_.handler_queue, table_) {
  AddBuiltinRoutes();
  if (counters_registry != nullptr) RegisterShedCounters(*counters_registry);
}

void HttpServer::Impl::AddBuiltinRoutes() {
  AddRouteInternal(
      "GET", "/metrics",
      [this](const HttpRequest& request) {
        HttpResponse response;
        const auto accept = request.headers.find("accept");
        if (http::NegotiateMetricsFormat(accept == request.headers.end()
                                             ? std::string_view()
                                             : accept->second) ==
            http::MetricsFormat::kOpenMetrics) {
          response.content_type = http::kOpenMetricsContentType;
          registry_.WriteOpenMetrics(&response.body);
        } else {
          response.content_type = http::kTextContentType;
          registry_.WriteText(&response.body);
        }
        // Caches must key the answer on the Accept header.
        response.headers = {{"Vary", "Accept"}};
        return response;
      },
      RouteOptions{0, options_.metrics_require_auth}, true);
  AddRouteInternal(
      "GET", "/healthz",
      [](const HttpRequest&) {
        HttpResponse response;
        response.body = "ok\n";
        return response;
      },
      RouteOptions{0, false}, true);
  if (!options_.status_page) return;
  status_ = std::make_unique<http::StatusSampler>(
      registry_, options_.status_points, options_.status_interval_ms);
  AddRouteInternal(
      "GET", kStatusPagePath,
      [](const HttpRequest&) {
        HttpResponse response;
        response.content_type = "text/html; charset=utf-8";
        response.body = std::string(StatusPageHtml());
        response.headers = {{"Content-Security-Policy", kStatusPagePolicy},
                            {"X-Content-Type-Options", "nosniff"},
                            {"Referrer-Policy", "no-referrer"},
                            {"Cache-Control", "no-cache"}};
        return response;
      },
      RouteOptions{0, options_.metrics_require_auth}, true);
  AddRouteInternal(
      "GET", kStatusApiPath,
      [this](const HttpRequest&) {
        HttpResponse response;
        response.content_type = "application/json";
        response.body = status_->Json();
        response.headers = {{"Cache-Control", "no-store"},
                            {"X-Content-Type-Options", "nosniff"}};
        return response;
      },
      RouteOptions{0, options_.metrics_require_auth}, true);
  detail::MutexLock lock(mu_);
  builtin_status_api_ = true;
}

void HttpServer::Impl::RegisterShedCounters(Registry& registry) {
  auto& family = internal::AddFamily(
      registry, internal::metrics::kHttpConnectionsShedTotal);
  Counter* counters[http::kShedReasons];
  for (int i = 0; i < http::kShedReasons; ++i) {
    counters[i] = &family.Add({http::kShedReasonNames[i]});
  }
  table_.SetShedCounters(counters);
}

void HttpServer::Impl::AddRoute(std::string method, std::string path,
                                HttpHandler handler, RouteOptions options) {
  AddRouteInternal(std::move(method), std::move(path), std::move(handler),
                   options, false);
}

void HttpServer::Impl::AddRouteInternal(std::string method, std::string path,
                                        HttpHandler handler,
                                        RouteOptions options,
                                        bool inline_handler) {
  if (method.empty()) {
    throw internal::SetupError("HttpServer::AddRoute",
                               "empty method for the route", path);
  }
  if (path.empty() || path.front() != '/') {
    throw internal::SetupError("HttpServer::AddRoute",
                               "route path does not start with '/'", path);
  }
  if (!handler) {
    throw internal::SetupError("HttpServer::AddRoute",
                               "empty handler for the route",
                               fmt::format("{} {}", method, path));
  }
  detail::MutexLock lock(mu_);
  if (daemon_ != nullptr) {
    throw internal::SetupError("HttpServer::AddRoute",
                               "called while the server is running",
                               fmt::format("{} {}", method, path));
  }
  if (path == kStatusApiPath && method == "GET") builtin_status_api_ = false;
  routes_[std::move(path)][std::move(method)] =
      Route{std::move(handler), options, inline_handler};
}

void HttpServer::Impl::Start() {
  detail::MutexLock lock(mu_);
  if (daemon_ != nullptr) {
    throw internal::SetupError(
        "HttpServer::Start", "already running",
        fmt::format("{}:{}", options_.bind_address, port()));
  }
  // Bind the socket ourselves: errors name the address and errno.
  int bound_port = 0;
  const int fd = http::ListenSocket(options_, &bound_port);

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME;
  flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES
               ? MHD_USE_EPOLL
               : MHD_USE_AUTO;
  if (options_.bind_address.find(':') != std::string::npos) {
    flags |= MHD_USE_IPv6;
  }
  MHD_Daemon* daemon = nullptr;
  {
    // MHD sends with MSG_NOSIGNAL on Linux; blocking SIGPIPE in the threads
    // it creates (they inherit our mask) covers every other platform path,
    // and host handlers that write to sockets of their own.
    ScopedBlockSigpipe block_sigpipe;
    try {
      reaper_.Start();
      pool_.Start();
    } catch (const std::exception& e) {
      StopWorkers();
      close(fd);
      throw internal::SetupError(
          "HttpServer::Start",
          fmt::format("cannot start the handler threads: {}", e.what()),
          http::Endpoint(options_));
    }
    daemon = MHD_start_daemon(
        flags, 0, nullptr, nullptr, &Impl::OnAccess, this,
        MHD_OPTION_EXTERNAL_LOGGER, &NoLog, nullptr, MHD_OPTION_LISTEN_SOCKET,
        static_cast<MHD_socket>(fd), MHD_OPTION_THREAD_POOL_SIZE,
        static_cast<unsigned>(options_.threads > 1 ? options_.threads : 0),
        MHD_OPTION_CONNECTION_LIMIT,
        2 * options_.max_connections + kMhdConnectionHeadroom,
        MHD_OPTION_CONNECTION_TIMEOUT, options_.connection_timeout_seconds,
        MHD_OPTION_NOTIFY_CONNECTION, &Impl::OnConnection, this,
        MHD_OPTION_URI_LOG_CALLBACK, &Impl::OnUri, this,
        MHD_OPTION_NOTIFY_COMPLETED, &Impl::OnCompleted, this, MHD_OPTION_END);
  }
  if (daemon == nullptr) {
    StopWorkers();
    close(fd);
    throw internal::SetupError(
        "HttpServer::Start",
        fmt::format("libmicrohttpd failed to start (threads {}, "
                    "max_connections {})",
                    options_.threads, options_.max_connections),
        http::Endpoint(options_));
  }
  daemon_ = daemon;
  port_.store(bound_port, std::memory_order_release);
  if (status_ == nullptr || !builtin_status_api_) return;
  try {
    status_->Start();
  } catch (const std::exception& e) {
    StopWorkers();
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
    port_.store(options_.port, std::memory_order_release);
    throw internal::SetupError(
        "HttpServer::Start",
        fmt::format("cannot start the status sampler: {}", e.what()),
        http::Endpoint(options_));
  }
}

void HttpServer::Impl::Stop() noexcept {
  detail::MutexLock lock(mu_);
  if (daemon_ == nullptr) return;
  // libmicrohttpd must not be stopped with a suspended connection: answer
  // and resume every dispatched request first.
  StopWorkers();
  MHD_stop_daemon(daemon_);  // joins the threads and closes the socket
  daemon_ = nullptr;
  if (status_ != nullptr) status_->Stop();
  port_.store(options_.port, std::memory_order_release);
}

void HttpServer::Impl::StopWorkers() noexcept {
  pool_.Stop();
  reaper_.Stop();
}

ConnectionTable::Conn* HttpServer::Impl::ConnOf(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info == nullptr
             ? nullptr
             : static_cast<ConnectionTable::Conn*>(info->socket_context);
}

void HttpServer::Impl::OnConnection(void* cls, MHD_Connection* connection,
                                    void** socket_context,
                                    MHD_ConnectionNotificationCode code) {
  auto* self = static_cast<Impl*>(cls);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    *socket_context = self->table_.Open(connection);
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    self->table_.Close(static_cast<ConnectionTable::Conn*>(*socket_context));
    *socket_context = nullptr;
  }
}

void* HttpServer::Impl::OnUri(void*, const char* uri,
                              MHD_Connection* connection) {
  ConnectionTable::RequestLineSeen(ConnOf(connection));
  auto* state = new (std::nothrow) RequestState;
  if (state != nullptr) {
    const char* q = std::strchr(uri, '?');
    if (q != nullptr) state->query = q + 1;
  }
  return state;
}

void HttpServer::Impl::OnCompleted(void* cls, MHD_Connection* connection,
                                   void** con_cls, MHD_RequestTerminationCode) {
  auto* self = static_cast<Impl*>(cls);
  auto* state = static_cast<RequestState*>(*con_cls);
  // A dispatched request: the handler's response has been sent (or the
  // connection closed).
  if (state != nullptr) self->pool_.Completed(*state);
  delete state;
  *con_cls = nullptr;
  self->table_.RequestDone(ConnOf(connection));
}

MHD_Result HttpServer::Impl::OnAccess(void* cls, MHD_Connection* connection,
                                      const char* url, const char* method,
                                      const char* /*version*/,
                                      const char* upload_data,
                                      std::size_t* upload_data_size,
                                      void** con_cls) {
  auto* state = static_cast<RequestState*>(*con_cls);
  if (state == nullptr) return MHD_NO;  // out of memory: close
  try {
    return static_cast<Impl*>(cls)->Handle(connection, url, method, upload_data,
                                           upload_data_size, state);
  } catch (...) {
    return MHD_NO;  // e.g. bad_alloc: close the connection, keep serving
  }
}

MHD_Result HttpServer::Impl::Handle(MHD_Connection* connection, const char* url,
                                    const char* method, const char* upload_data,
                                    std::size_t* upload_data_size,
                                    RequestState* state) {
  if (!state->started) {
    state->started = true;
    state->conn = ConnOf(connection);
    table_.HeadersComplete(state->conn);
    HttpResponse refusal;
    if (!Precheck(connection, url, method, state, &refusal)) {
      table_.Serving(state->conn);
      return QueueResponse(connection, std::move(refusal));
    }
    return MHD_YES;  // MHD answers `Expect: 100-continue` and reads the body
  }
  if (*upload_data_size != 0) {
    const std::size_t size = *upload_data_size;
    *upload_data_size = 0;
    const std::size_t limit = state->route->options.max_body_bytes;
    if (!state->too_large && size <= limit - state->request.body.size()) {
      state->request.body.append(upload_data, size);
      return MHD_YES;
    }
    // A chunked body crossed the limit. MHD cannot answer in the middle of a
    // body: discard a bounded overshoot so the 413 can be sent when the body
    // ends, and beyond that close the connection without an answer.
    if (!state->too_large) {
      state->too_large = true;
      state->request.body = std::string();
    }
    state->discarded += size;
    return state->discarded <= kMaxDiscardBytes ? MHD_YES : MHD_NO;
  }
  if (state->dispatched) {
    // Resumed by the handler pool: answer with the handler's response.
    HttpResponse response;
    if (!pool_.TakeResponse(state, &response)) return MHD_YES;
    return QueueResponse(connection, std::move(response));
  }
  table_.Serving(state->conn);
  if (state->too_large) {
    return QueueResponse(connection,
                         http::TooLarge(state->route->options.max_body_bytes));
  }
  if (state->route->inline_handler) {
    return QueueResponse(connection, http::Dispatch(*state));
  }
  return pool_.Submit(connection, state);
}

bool HttpServer::Impl::Precheck(MHD_Connection* connection, const char* url,
                                const char* method, RequestState* state,
                                HttpResponse* refusal) const {
  HttpRequest& request = state->request;
  request.method = method;
  request.path = url;
  request.query = std::move(state->query);
  const auto path_it = routes_.find(request.path);
  if (path_it == routes_.end()) {
    *refusal =
        ProblemResponse(404, ReasonPhrase(404),
                        fmt::format("no route for path \"{}\"", request.path));
    return false;
  }
  const auto& methods = path_it->second;
  auto route_it = methods.find(request.method);
  if (route_it == methods.end() && request.method == "HEAD") {
    route_it = methods.find("GET");
  }
  if (route_it == methods.end()) {
    std::string allow;
    for (const auto& [name, route] : methods) {
      if (!allow.empty()) allow.append(", ");
      allow.append(name);
      if (name == "GET" && methods.count("HEAD") == 0) allow.append(", HEAD");
    }
    *refusal = ProblemResponse(
        405, ReasonPhrase(405),
        fmt::format("method {} not allowed on \"{}\"; allowed: {}",
                    request.method, request.path, allow));
    refusal->headers.emplace_back("Allow", std::move(allow));
    return false;
  }
  state->route = &route_it->second;
  if (state->route->options.require_auth &&
      !auth_.Authorized(MHD_lookup_connection_value(
          connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION))) {
    *refusal = auth_.Unauthorized();
    return false;
  }
  MHD_get_connection_values(
      connection, MHD_HEADER_KIND,
      [](void* cls, MHD_ValueKind, const char* key,
         const char* value) -> MHD_Result {
        auto* headers = static_cast<std::map<std::string, std::string>*>(cls);
        std::string name(key);
        std::transform(name.begin(), name.end(), name.begin(), AsciiLower);
        auto [it, inserted] = headers->emplace(std::move(name), value);
        if (!inserted) it->second.append(", ").append(value);
        return MHD_YES;
      },
      &request.headers);
  const auto length_it = request.headers.find("content-length");
  if (length_it != request.headers.end() &&
      length_it->second.find(',') != std::string::npos) {
    // Repeated Content-Length: the body's end is ambiguous (RFC 9112 6.3).
    *refusal = ProblemResponse(400, ReasonPhrase(400),
                               "more than one Content-Length header");
    refusal->headers.emplace_back("Connection", "close");
    return false;
  }
  const char* length = MHD_lookup_connection_value(
      connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (length != nullptr) {
    // MHD has already rejected a malformed Content-Length with 400.
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(length, &end, 10);
    if (errno == ERANGE || n > state->route->options.max_body_bytes) {
      *refusal = http::TooLarge(state->route->options.max_body_bytes);
      return false;
    }
    request.body.reserve(static_cast<std::size_t>(n));
  }
  return true;
}

HttpServer::HttpServer(HttpServerOptions options, const Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(options), registry, nullptr)) {}

HttpServer::HttpServer(HttpServerOptions options, Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(options), registry, &registry)) {}

HttpServer::~HttpServer() = default;

void HttpServer::AddRoute(std::string method, std::string path,
                          HttpHandler handler, RouteOptions options) {
  impl_->AddRoute(std::move(method), std::move(path), std::move(handler),
                  options);
}

void HttpServer::Start() { impl_->Start(); }

void HttpServer::Stop() noexcept { impl_->Stop(); }

int HttpServer::port() const noexcept { return impl_->port(); }

}  // namespace mlmon
