#include "mlmon/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "internal/text_format.h"
#include "mlmon/errors.h"
#include "mlmon/instruments.h"
#include "mlmon/registry.h"
#include "mlmon/status_history.h"

namespace mlmon {
namespace {

constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";
constexpr char kProblemContentType[] = "application/problem+json";
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

using SteadyClock = std::chrono::steady_clock;

// Why a connection or request was shed; index into the shed counters.
enum ShedReason : int {
  kShedHeaderTimeout = 0,
  kShedBodyTimeout,
  kShedEvicted,
  kShedClientLimit,
  kShedHandlerQueueFull,
  kShedReasons,
};
constexpr const char* kShedReasonNames[kShedReasons] = {
    "header_timeout", "body_timeout", "evicted", "client_limit",
    "handler_queue_full"};

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}


// Compares in time that depends only on the lengths, not on the contents
// (credentials must not leak a matching prefix through timing).
bool ConstantTimeEquals(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[v & 63] : '=');
  }
  return out;
}

char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// If `value` is "<scheme> <credentials>" (scheme case-insensitive), sets
// `credentials` to the rest with surrounding blanks trimmed and returns true.
bool StripScheme(std::string_view value, std::string_view scheme,
                 std::string_view* credentials) {
  if (value.size() <= scheme.size() || value[scheme.size()] != ' ') {
    return false;
  }
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (AsciiLower(value[i]) != AsciiLower(scheme[i])) return false;
  }
  std::string_view rest = value.substr(scheme.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) {
    rest.remove_prefix(1);
  }
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) {
    rest.remove_suffix(1);
  }
  *credentials = rest;
  return true;
}

// 413; the connection is closed after it, as the body was not read.
HttpResponse TooLarge(std::size_t limit) {
  HttpResponse response = ProblemResponse(
      413, ReasonPhrase(413),
      fmt::format("request body exceeds the limit of {} bytes", limit));
  response.headers.emplace_back("Connection", "close");
  return response;
}

void NoLog(void*, const char*, va_list) {}

std::int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

// The server's open connections, tracked through libmicrohttpd's connection
// notifications, so that the header and body deadlines and the connection
// limits can be enforced by shutting sockets down (libmicrohttpd then sees
// the end of the stream and closes the connection).
//
// A connection's descriptor stays open from its STARTED notification until
// after its CLOSED notification (libmicrohttpd notifies CLOSED before it
// closes the socket, on every path), and every shutdown() happens under
// `mu_` on a connection still in the table, which CLOSED leaves under the
// same mutex: a descriptor that has been closed and reused is never shut
// down.
class ConnectionTable {
 public:
  enum class Phase {
    kAwaitingRequest,  // reading headers, or idle between requests
    kReadingBody,      // headers complete, body not yet
    kServing,          // request complete: being handled or answered
  };
  struct Conn {
    int fd = -1;
    std::string client;  // peer IP address
    Phase phase = Phase::kAwaitingRequest;
    SteadyClock::time_point deadline;  // of the current waiting phase
    std::uint64_t waiting_since = 0;   // order of entering that phase
    std::size_t slot = 0;              // index in conns_
    bool shed = false;                 // shut down, not yet closed
    // The current request's request line has been parsed.
    std::atomic<bool> request_line{false};
  };

  ConnectionTable(unsigned max_total, unsigned max_per_client,
                  std::chrono::milliseconds header_timeout,
                  std::chrono::milliseconds body_timeout)
      : max_total_(max_total),
        max_per_client_(max_per_client),
        header_timeout_(header_timeout),
        body_timeout_(body_timeout) {}

  // The counters to count sheds in (null entries count nothing); set before
  // the server starts.
  void SetShedCounters(Counter* const counters[kShedReasons]) {
    for (int i = 0; i < kShedReasons; ++i) counters_[i] = counters[i];
  }
  void CountShed(ShedReason reason) noexcept {
    if (counters_[reason] != nullptr) counters_[reason]->Increment();
  }

  // Admits a new connection, closing the longest-waiting connection without
  // a request in progress if the connection would exceed a limit (or the
  // new one if there is none). Returns null, having shut the socket down,
  // if it cannot track the connection.
  Conn* Open(MHD_Connection* connection) noexcept {
    const MHD_ConnectionInfo* fd_info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (fd_info == nullptr) return nullptr;
    const int fd = fd_info->connect_fd;
    try {
      auto conn = std::make_unique<Conn>();
      conn->fd = fd;
      conn->client = ClientAddress(connection);
      std::lock_guard<std::mutex> lock(mu_);
      conns_.reserve(conns_.size() + 1);
      unsigned& from_client = clients_[conn->client];
      Conn* c = conn.release();
      c->deadline = SteadyClock::now() + header_timeout_;
      c->waiting_since = ++sequence_;
      c->slot = conns_.size();
      conns_.push_back(c);
      ++from_client;
      ++live_;
      if (live_ > max_total_) MakeRoom(c, nullptr, kShedEvicted);
      // The global eviction may have closed a connection of another client,
      // or this one.
      if (!c->shed && from_client > max_per_client_) {
        MakeRoom(c, &c->client, kShedClientLimit);
      }
      return c;
    } catch (...) {
      shutdown(fd, SHUT_RDWR);  // out of memory: refuse the connection
      return nullptr;
    }
  }

  void Close(Conn* c) noexcept {
    if (c == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!c->shed) Forget(c);
      conns_[c->slot] = conns_.back();
      conns_[c->slot]->slot = c->slot;
      conns_.pop_back();
    }
    delete c;
  }

  static void RequestLineSeen(Conn* c) noexcept {
    if (c != nullptr) c->request_line.store(true, std::memory_order_relaxed);
  }
  void HeadersComplete(Conn* c) noexcept {
    if (c == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    c->phase = Phase::kReadingBody;
    c->deadline = SteadyClock::now() + body_timeout_;
  }
  void Serving(Conn* c) noexcept {
    if (c == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    c->phase = Phase::kServing;
  }
  void RequestDone(Conn* c) noexcept {
    if (c == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    c->phase = Phase::kAwaitingRequest;
    c->deadline = SteadyClock::now() + header_timeout_;
    c->waiting_since = ++sequence_;
    c->request_line.store(false, std::memory_order_relaxed);
  }

  // Shuts down every connection past the deadline of its waiting phase.
  void Reap(SteadyClock::time_point now) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    for (Conn* c : conns_) {
      if (c->shed || c->phase == Phase::kServing || c->deadline > now) continue;
      Shed(c, c->phase == Phase::kReadingBody ? kShedBodyTimeout
                                              : kShedHeaderTimeout);
    }
  }

 private:
  static std::string ClientAddress(MHD_Connection* connection) {
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char text[INET6_ADDRSTRLEN] = "";
    if (info != nullptr && info->client_addr != nullptr) {
      const sockaddr* a = info->client_addr;
      if (a->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr,
                  text, sizeof(text));
      } else if (a->sa_family == AF_INET6) {
        inet_ntop(AF_INET6,
                  &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, text,
                  sizeof(text));
      }
    }
    return text;
  }

  // Closes the longest-waiting connection without a request in progress
  // (of `client` if not null), or `newcomer` if there is none. A candidate
  // that began waiting less than kJustArrived ago, has not started a
  // request, and whose socket holds bytes libmicrohttpd has not read yet (a
  // client that has just sent its request) is passed over for the next
  // one, so that a burst of new connections does not close a scrape before
  // its request is read; if the kProbes oldest candidates all are, the
  // newcomer is closed. A connection that has waited longer (a slowloris
  // trickling its request line) is never passed over: under load its
  // trickled bytes are often unread, and passing over four of them would
  // close a scraper arriving as the newcomer.
  // REQUIRES: mu_ held.
  void MakeRoom(Conn* newcomer, const std::string* client, ShedReason reason) {
    constexpr int kProbes = 4;
    constexpr std::chrono::milliseconds kJustArrived{500};
    const SteadyClock::time_point now = SteadyClock::now();
    const Conn* passed_over[kProbes] = {};
    for (int probe = 0; probe < kProbes; ++probe) {
      Conn* victim = nullptr;
      for (Conn* c : conns_) {
        if (c == newcomer || c->shed || c->phase == Phase::kServing) continue;
        if (client != nullptr && c->client != *client) continue;
        if (std::find(passed_over, passed_over + probe, c) !=
            passed_over + probe) {
          continue;
        }
        if (victim == nullptr || c->waiting_since < victim->waiting_since) {
          victim = c;
        }
      }
      if (victim == nullptr) break;
      int pending = 0;
      if (victim->request_line.load(std::memory_order_relaxed) ||
          victim->phase != Phase::kAwaitingRequest ||
          now - (victim->deadline - header_timeout_) >= kJustArrived ||
          ioctl(victim->fd, FIONREAD, &pending) != 0 || pending == 0) {
        Shed(victim, reason);
        return;
      }
      passed_over[probe] = victim;
    }
    Shed(newcomer, reason);
  }

  // REQUIRES: mu_ held; `c` in the table and not shed.
  void Shed(Conn* c, ShedReason reason) noexcept {
    CountShed(reason);  // counted before the client can see the close
    shutdown(c->fd, SHUT_RDWR);
    c->shed = true;
    Forget(c);
  }

  // Stops counting `c` against the limits. REQUIRES: mu_ held.
  void Forget(Conn* c) noexcept {
    --live_;
    const auto it = clients_.find(c->client);
    if (it != clients_.end() && --it->second == 0) clients_.erase(it);
  }

  const unsigned max_total_;
  const unsigned max_per_client_;
  const std::chrono::milliseconds header_timeout_;
  const std::chrono::milliseconds body_timeout_;
  Counter* counters_[kShedReasons] = {};
  std::mutex mu_;
  std::vector<Conn*> conns_;                           // guarded by mu_
  std::unordered_map<std::string, unsigned> clients_;  // guarded by mu_
  unsigned live_ = 0;           // connections not shed; guarded by mu_
  std::uint64_t sequence_ = 0;  // guarded by mu_
};

}  // namespace

HttpResponse ProblemResponse(int status, std::string_view title,
                             std::string_view detail) {
  HttpResponse response;
  response.status = status;
  response.content_type = kProblemContentType;
  std::string& b = response.body;
  b.reserve(64 + title.size() + detail.size());
  b.append("{\"type\":\"about:blank\",\"title\":");
  internal::AppendJsonString(&b, title);
  b.append(fmt::format(",\"status\":{},\"detail\":", status));
  internal::AppendJsonString(&b, detail);
  b.append("}\n");
  return response;
}

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
  struct Route {
    HttpHandler handler;
    RouteOptions options;
    bool inline_handler = false;  // built-in: runs on the I/O thread
  };
  // Per-request state, created by the URI log callback (the first callback
  // of every request) and deleted by the completion callback.
  struct RequestState {
    std::string query;
    const Route* route = nullptr;
    bool started = false;       // prechecks passed or refused
    bool too_large = false;     // a chunked body crossed the limit
    std::size_t discarded = 0;  // body bytes dropped since then
    HttpRequest request;
    ConnectionTable::Conn* conn = nullptr;  // null if untracked
    // A host request handed to the handler pool (the connection suspended
    // until `response` is set; guarded by pool_mu_ while dispatched).
    bool dispatched = false;
    bool has_response = false;
    bool picked_up = false;  // the I/O thread has taken `response`
    HttpResponse response;
  };
  // A host request waiting for a handler thread.
  struct Job {
    MHD_Connection* connection;
    RequestState* state;
  };

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

  void AddRouteInternal(std::string method, std::string path,
                        HttpHandler handler, RouteOptions options,
                        bool inline_handler);
  static ConnectionTable::Conn* ConnOf(MHD_Connection* connection);
  // Hands a complete host request to the handler pool, or answers 503.
  MHD_Result Submit(MHD_Connection* connection, RequestState* state);
  void HandlerLoop();
  void StartWorkers();          // REQUIRES: mu_ held
  void StopWorkers() noexcept;  // REQUIRES: mu_ held
  void ReaperLoop();
  void StartSampler();          // REQUIRES: mu_ held
  void StopSampler() noexcept;  // REQUIRES: mu_ held
  void SamplerLoop();
  // Sample time: the wall clock at construction plus the steady time
  // since, so a wall-clock step back (NTP) cannot freeze the history (it
  // ignores samples not later than the previous one).
  std::int64_t SampleMillis() const {
    return stamp_wall_ms_ + std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - stamp_steady_)
                                .count();
  }

  MHD_Result Handle(MHD_Connection* connection, const char* url,
                    const char* method, const char* upload_data,
                    std::size_t* upload_data_size, RequestState* state);
  // Routes, authenticates and checks the declared body size; returns false
  // and fills `refusal` if the request is refused before its body is read.
  bool Precheck(MHD_Connection* connection, const char* url, const char* method,
                RequestState* state, HttpResponse* refusal) const;
  bool Authorized(MHD_Connection* connection) const;
  HttpResponse Unauthorized() const;
  HttpResponse Dispatch(const RequestState& state) const;
  static MHD_Result Queue(MHD_Connection* connection, HttpResponse response);
  std::string Where() const {
    return fmt::format("{}:{}", options_.bind_address, options_.port);
  }

  const HttpServerOptions options_;
  const Registry& registry_;
  const std::string expected_basic_;  // base64("user:password"), or ""
  // path -> method -> route. Written only while stopped; read-only while the
  // daemon runs (MHD_start_daemon/MHD_stop_daemon order the accesses).
  std::map<std::string, std::map<std::string, Route>> routes_;
  std::mutex mu_;                 // serialises Start/Stop/AddRoute
  MHD_Daemon* daemon_ = nullptr;  // guarded by mu_
  std::atomic<int> port_;
  // The status page's history (null without the page). Its sampler thread
  // runs between Start() and Stop() unless the host replaced the status API.
  std::unique_ptr<StatusHistory> history_;
  bool builtin_status_api_ = false;  // guarded by mu_
  std::thread sampler_;              // guarded by mu_
  std::mutex sampler_mu_;
  std::condition_variable sampler_cv_;
  bool sampler_stop_ = false;  // guarded by sampler_mu_
  // Base of SampleMillis(), fixed at construction (before any thread).
  const std::int64_t stamp_wall_ms_ = UnixMillis();
  const std::chrono::steady_clock::time_point stamp_steady_ =
      std::chrono::steady_clock::now();

  ConnectionTable table_;
  // The handler pool for host routes.
  std::vector<std::thread> workers_;  // guarded by mu_
  std::mutex pool_mu_;
  std::condition_variable jobs_cv_;     // a job queued, or stopping
  std::condition_variable drained_cv_;  // outstanding_ went down
  std::deque<Job> jobs_;                // guarded by pool_mu_
  unsigned running_ = 0;                // handlers running; pool_mu_
  // Dispatched requests not yet completed (their connections suspended, or
  // resumed and answering); guarded by pool_mu_.
  std::size_t outstanding_ = 0;
  bool pool_stop_ = false;  // guarded by pool_mu_
  // The deadline reaper.
  std::thread reaper_;  // guarded by mu_
  std::mutex reaper_mu_;
  std::condition_variable reaper_cv_;
  bool reaper_stop_ = false;  // guarded by reaper_mu_
};

HttpServer::Impl::Impl(HttpServerOptions options, const Registry& registry,
                       Registry* counters_registry)
    : options_(std::move(options)),
      registry_(registry),
      expected_basic_(options_.basic_auth_user.empty()
                          ? std::string()
                          : Base64(options_.basic_auth_user + ":" +
                                   options_.basic_auth_password)),
      port_(options_.port),
      table_(
          options_.max_connections,
          options_.max_connections_per_client == 0 ||
                  options_.max_connections_per_client > options_.max_connections
              ? options_.max_connections
              : options_.max_connections_per_client,
          std::chrono::milliseconds(options_.header_timeout_ms),
          std::chrono::milliseconds(options_.body_timeout_ms)) {
  in6_addr scratch;
  if (inet_pton(AF_INET, options_.bind_address.c_str(), &scratch) != 1 &&
      inet_pton(AF_INET6, options_.bind_address.c_str(), &scratch) != 1) {
    throw ConfigError(fmt::format(
        "HttpServer: bind_address \"{}\" is not an IPv4 or IPv6 literal",
        options_.bind_address));
  }
  if (options_.port < 0 || options_.port > 65535) {
    throw ConfigError(fmt::format("HttpServer: port {} is outside [0, 65535]",
                                  options_.port));
  }
  if (options_.threads == 0) {
    throw ConfigError("HttpServer: threads is 0, need at least 1");
  }
  if (options_.max_connections < options_.threads) {
    throw ConfigError(
        fmt::format("HttpServer: max_connections {} is below threads {}",
                    options_.max_connections, options_.threads));
  }
  if (options_.connection_timeout_seconds == 0) {
    throw ConfigError(
        "HttpServer: connection_timeout_seconds is 0, need at least 1");
  }
  if (options_.header_timeout_ms < 10) {
    throw ConfigError(
        fmt::format("HttpServer: header_timeout_ms {} is below 10",
                    options_.header_timeout_ms));
  }
  if (options_.body_timeout_ms < 10) {
    throw ConfigError(fmt::format("HttpServer: body_timeout_ms {} is below 10",
                                  options_.body_timeout_ms));
  }
  if (options_.handler_threads == 0) {
    throw ConfigError("HttpServer: handler_threads is 0, need at least 1");
  }
  if (options_.basic_auth_user.empty() &&
      !options_.basic_auth_password.empty()) {
    throw ConfigError(
        "HttpServer: basic_auth_password set without "
        "basic_auth_user");
  }
  if (options_.basic_auth_user.find(':') != std::string::npos) {
    throw ConfigError(
        fmt::format("HttpServer: basic_auth_user \"{}\" contains ':'",
                    options_.basic_auth_user));
  }
  if (options_.status_page && options_.status_interval_ms < 10) {
    throw ConfigError(
        fmt::format("HttpServer: status_interval_ms {} is below 10",
                    options_.status_interval_ms));
  }
  if (options_.status_page && options_.status_points < 2) {
    throw ConfigError(fmt::format("HttpServer: status_points {} is below 2",
                                  options_.status_points));
  }
  AddRouteInternal(
      "GET", "/metrics",
      [this](const HttpRequest&) {
        HttpResponse response;
        response.content_type = kMetricsContentType;
        registry_.WriteText(&response.body);
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
  if (options_.status_page) {
    StatusHistoryOptions history_options;
    history_options.points = options_.status_points;
    history_ = std::make_unique<StatusHistory>(registry_, history_options);
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
          response.body = history_->Json(SampleMillis());
          response.headers = {{"Cache-Control", "no-store"},
                              {"X-Content-Type-Options", "nosniff"}};
          return response;
        },
        RouteOptions{0, options_.metrics_require_auth}, true);
    builtin_status_api_ = true;
  }
  if (counters_registry != nullptr) {
    auto& family = counters_registry->AddCounter(
        "mlmon_http_connections_shed_total",
        "Connections the HTTP server closed, and host requests it refused, "
        "to protect its other clients, by reason.",
        {"reason"});
    Counter* counters[kShedReasons];
    for (int i = 0; i < kShedReasons; ++i) {
      counters[i] = &family.Add({kShedReasonNames[i]});
    }
    table_.SetShedCounters(counters);
  }
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
    throw ConfigError(
        fmt::format("HttpServer: empty method for route \"{}\"", path));
  }
  if (path.empty() || path.front() != '/') {
    throw ConfigError(fmt::format(
        "HttpServer: route path \"{}\" does not start with '/'", path));
  }
  if (!handler) {
    throw ConfigError(
        fmt::format("HttpServer: empty handler for {} {}", method, path));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (daemon_ != nullptr) {
    throw ConfigError(
        fmt::format("HttpServer: AddRoute({} {}) after Start()", method, path));
  }
  if (path == kStatusApiPath && method == "GET") builtin_status_api_ = false;
  routes_[std::move(path)][std::move(method)] =
      Route{std::move(handler), options, inline_handler};
}

void HttpServer::Impl::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (daemon_ != nullptr) {
    throw ConfigError(fmt::format("HttpServer: already running on {}:{}",
                                  options_.bind_address, port()));
  }
  // Bind the socket ourselves: errors name the address and errno.
  sockaddr_storage address{};
  socklen_t address_len;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  const auto port = static_cast<std::uint16_t>(options_.port);
  if (inet_pton(AF_INET, options_.bind_address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address_len = sizeof(sockaddr_in);
  } else {
    inet_pton(AF_INET6, options_.bind_address.c_str(), &v6->sin6_addr);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address_len = sizeof(sockaddr_in6);
  }
  const int fd =
      socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw ConfigError(
        fmt::format("HttpServer: cannot create a socket for {}: {}", Where(),
                    std::strerror(errno)));
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (address.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), address_len) != 0 ||
      listen(fd, SOMAXCONN) != 0) {
    const int error = errno;
    close(fd);
    throw ConfigError(fmt::format("HttpServer: cannot listen on {}: {}",
                                  Where(), std::strerror(error)));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  const int bound_port =
      ntohs(bound.ss_family == AF_INET
                ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME;
  flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES
               ? MHD_USE_EPOLL
               : MHD_USE_AUTO;
  if (address.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  MHD_Daemon* daemon = nullptr;
  {
    // MHD sends with MSG_NOSIGNAL on Linux; blocking SIGPIPE in the threads
    // it creates (they inherit our mask) covers every other platform path,
    // and host handlers that write to sockets of their own.
    ScopedBlockSigpipe block_sigpipe;
    try {
      StartWorkers();
    } catch (const std::exception& e) {
      StopWorkers();
      close(fd);
      throw ConfigError(
          fmt::format("HttpServer: cannot start the handler threads on {}: {}",
                      Where(), e.what()));
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
    throw ConfigError(fmt::format(
        "HttpServer: libmicrohttpd failed to start on {} (threads {}, "
        "max_connections {})",
        Where(), options_.threads, options_.max_connections));
  }
  daemon_ = daemon;
  port_.store(bound_port, std::memory_order_release);
  try {
    StartSampler();
  } catch (const std::exception& e) {
    StopWorkers();
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
    port_.store(options_.port, std::memory_order_release);
    throw ConfigError(
        fmt::format("HttpServer: cannot start the status sampler on {}: {}",
                    Where(), e.what()));
  }
}

void HttpServer::Impl::Stop() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (daemon_ == nullptr) return;
  // libmicrohttpd must not be stopped with a suspended connection: answer
  // and resume every dispatched request first.
  StopWorkers();
  MHD_stop_daemon(daemon_);  // joins the threads and closes the socket
  daemon_ = nullptr;
  StopSampler();
  port_.store(options_.port, std::memory_order_release);
}

void HttpServer::Impl::StartWorkers() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    pool_stop_ = false;
  }
  {
    std::lock_guard<std::mutex> lock(reaper_mu_);
    reaper_stop_ = false;
  }
  reaper_ = std::thread([this] { ReaperLoop(); });
  workers_.reserve(options_.handler_threads);
  for (unsigned i = 0; i < options_.handler_threads; ++i) {
    workers_.emplace_back([this] { HandlerLoop(); });
  }
}

void HttpServer::Impl::StopWorkers() noexcept {
  std::deque<Job> queued;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    pool_stop_ = true;
    queued.swap(jobs_);
    for (Job& job : queued) {
      try {
        job.state->response =
            ProblemResponse(503, ReasonPhrase(503), "the server is stopping");
        job.state->response.headers.emplace_back("Retry-After", "1");
      } catch (...) {
        job.state->response = HttpResponse{503, "", "", {}};
      }
      job.state->has_response = true;
    }
  }
  jobs_cv_.notify_all();
  for (Job& job : queued) MHD_resume_connection(job.connection);
  for (std::thread& worker : workers_) {
    try {
      worker.join();  // after the handler it runs, if any, returns
    } catch (...) {
    }
  }
  workers_.clear();
  {
    // Wait until every dispatched request has completed: its connection is
    // out of suspension and its response sent (bounded: a client that does
    // not read may not hold up the stop).
    std::unique_lock<std::mutex> lock(pool_mu_);
    drained_cv_.wait_for(lock, std::chrono::seconds(5),
                         [this] { return outstanding_ == 0; });
  }
  {
    std::lock_guard<std::mutex> lock(reaper_mu_);
    reaper_stop_ = true;
  }
  reaper_cv_.notify_all();
  if (reaper_.joinable()) {
    try {
      reaper_.join();
    } catch (...) {
    }
  }
}

void HttpServer::Impl::HandlerLoop() {
  std::unique_lock<std::mutex> lock(pool_mu_);
  for (;;) {
    jobs_cv_.wait(lock, [this] { return pool_stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping
    const Job job = jobs_.front();
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    HttpResponse response;
    try {
      response = Dispatch(*job.state);
    } catch (...) {
      response = HttpResponse{500, "", "", {}};  // out of memory
    }
    lock.lock();
    job.state->response = std::move(response);
    job.state->has_response = true;
    --running_;
    lock.unlock();
    MHD_resume_connection(job.connection);
    lock.lock();
  }
}

void HttpServer::Impl::ReaperLoop() {
  // Deadlines are enforced to within a tenth of the shorter one (at most
  // 50 ms late).
  const auto tick = std::chrono::milliseconds(std::clamp<unsigned>(
      std::min(options_.header_timeout_ms, options_.body_timeout_ms) / 10, 1,
      50));
  std::unique_lock<std::mutex> lock(reaper_mu_);
  while (!reaper_cv_.wait_for(lock, tick, [this] { return reaper_stop_; })) {
    lock.unlock();
    table_.Reap(SteadyClock::now());
    lock.lock();
  }
}

MHD_Result HttpServer::Impl::Submit(MHD_Connection* connection,
                                    RequestState* state) {
  bool stopping;
  {
    std::unique_lock<std::mutex> lock(pool_mu_);
    stopping = pool_stop_;
    const std::size_t idle = options_.handler_threads - running_;
    if (!pool_stop_ && jobs_.size() < options_.handler_queue + idle) {
      // Suspended before it is queued, so a handler thread cannot resume
      // it first; the handler threads take pool_mu_ to pop.
      jobs_.push_back(Job{connection, state});
      MHD_suspend_connection(connection);
      state->dispatched = true;
      ++outstanding_;
      lock.unlock();
      jobs_cv_.notify_one();
      return MHD_YES;
    }
  }
  if (stopping) {
    HttpResponse refusal =
        ProblemResponse(503, ReasonPhrase(503), "the server is stopping");
    refusal.headers.emplace_back("Retry-After", "1");
    return Queue(connection, std::move(refusal));
  }
  table_.CountShed(kShedHandlerQueueFull);
  HttpResponse busy = ProblemResponse(
      503, ReasonPhrase(503),
      fmt::format("every handler thread is busy and the queue of {} is "
                  "full; retry later",
                  options_.handler_queue));
  busy.headers.emplace_back("Retry-After", "1");
  return Queue(connection, std::move(busy));
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

void HttpServer::Impl::StartSampler() {
  if (history_ == nullptr || !builtin_status_api_) return;
  history_->Sample(SampleMillis());  // the page has a first point at once
  {
    std::lock_guard<std::mutex> lock(sampler_mu_);
    sampler_stop_ = false;
  }
  sampler_ = std::thread([this] { SamplerLoop(); });
}

void HttpServer::Impl::StopSampler() noexcept {
  if (!sampler_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(sampler_mu_);
    sampler_stop_ = true;
  }
  sampler_cv_.notify_all();
  try {
    sampler_.join();
  } catch (...) {
    // join() throws only if the thread is not joinable (checked above).
  }
}

void HttpServer::Impl::SamplerLoop() {
  const auto interval = std::chrono::milliseconds(options_.status_interval_ms);
  auto next = std::chrono::steady_clock::now() + interval;
  std::unique_lock<std::mutex> lock(sampler_mu_);
  while (
      !sampler_cv_.wait_until(lock, next, [this] { return sampler_stop_; })) {
    lock.unlock();
    try {
      history_->Sample(SampleMillis());
    } catch (...) {
      // e.g. bad_alloc: skip this point, keep sampling.
    }
    lock.lock();
    // A fixed cadence; after a stall (suspended process), no burst.
    next += interval;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + interval;
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
  if (state != nullptr && state->dispatched) {
    // The handler's response has been sent (or the connection closed).
    bool drained;
    {
      std::lock_guard<std::mutex> lock(self->pool_mu_);
      drained = --self->outstanding_ == 0;
    }
    if (drained) self->drained_cv_.notify_all();
  }
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
      return Queue(connection, std::move(refusal));
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
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (!state->has_response || state->picked_up) return MHD_YES;
      response = std::move(state->response);
      state->picked_up = true;
    }
    return Queue(connection, std::move(response));
  }
  table_.Serving(state->conn);
  if (state->too_large) {
    return Queue(connection, TooLarge(state->route->options.max_body_bytes));
  }
  if (state->route->inline_handler) {
    return Queue(connection, Dispatch(*state));
  }
  return Submit(connection, state);
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
  if (state->route->options.require_auth && !Authorized(connection)) {
    *refusal = Unauthorized();
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
      *refusal = TooLarge(state->route->options.max_body_bytes);
      return false;
    }
    request.body.reserve(static_cast<std::size_t>(n));
  }
  return true;
}

bool HttpServer::Impl::Authorized(MHD_Connection* connection) const {
  if (options_.bearer_token.empty() && expected_basic_.empty()) return true;
  const char* header = MHD_lookup_connection_value(
      connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (header == nullptr) return false;
  std::string_view credentials;
  if (!options_.bearer_token.empty() &&
      StripScheme(header, "Bearer", &credentials)) {
    return ConstantTimeEquals(credentials, options_.bearer_token);
  }
  if (!expected_basic_.empty() && StripScheme(header, "Basic", &credentials)) {
    return ConstantTimeEquals(credentials, expected_basic_);
  }
  return false;
}

HttpResponse HttpServer::Impl::Unauthorized() const {
  HttpResponse response =
      ProblemResponse(401, ReasonPhrase(401), "missing or invalid credentials");
  if (!options_.bearer_token.empty()) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"mlmon\"");
  }
  if (!expected_basic_.empty()) {
    response.headers.emplace_back("WWW-Authenticate",
                                  "Basic realm=\"mlmon\", charset=\"UTF-8\"");
  }
  return response;
}

HttpResponse HttpServer::Impl::Dispatch(const RequestState& state) const {
  try {
    return state.route->handler(state.request);
  } catch (const std::exception& e) {
    return ProblemResponse(
        500, ReasonPhrase(500),
        fmt::format("handler for {} {} failed: {}", state.request.method,
                    state.request.path, e.what()));
  } catch (...) {
    return ProblemResponse(
        500, ReasonPhrase(500),
        fmt::format("handler for {} {} failed", state.request.method,
                    state.request.path));
  }
}

MHD_Result HttpServer::Impl::Queue(MHD_Connection* connection,
                                   HttpResponse response) {
  // Hand the body to MHD without copying; MHD frees it with the response.
  auto* body = new std::string(std::move(response.body));
  MHD_Response* r = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(),
      [](void* cls) { delete static_cast<std::string*>(cls); }, body);
  if (r == nullptr) {
    delete body;
    return MHD_NO;
  }
  const char* bad_header = nullptr;
  if (!response.content_type.empty() &&
      MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                              response.content_type.c_str()) != MHD_YES) {
    bad_header = MHD_HTTP_HEADER_CONTENT_TYPE;
  }
  for (const auto& [name, value] : response.headers) {
    if (bad_header == nullptr &&
        MHD_add_response_header(r, name.c_str(), value.c_str()) != MHD_YES) {
      bad_header = name.c_str();
    }
  }
  if (bad_header != nullptr) {
    // E.g. a handler set Content-Length or a value with a newline.
    HttpResponse error = ProblemResponse(
        500, ReasonPhrase(500),
        fmt::format("handler returned an invalid \"{}\" header", bad_header));
    MHD_destroy_response(r);
    return Queue(connection, std::move(error));
  }
  const bool valid_status = response.status >= 100 && response.status <= 999;
  const MHD_Result result = MHD_queue_response(
      connection, static_cast<unsigned>(valid_status ? response.status : 500),
      r);
  MHD_destroy_response(r);
  return result;
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
