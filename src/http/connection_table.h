#ifndef MLMON_SRC_HTTP_CONNECTION_TABLE_H_
#define MLMON_SRC_HTTP_CONNECTION_TABLE_H_

// The server's open connections: admission under the connection limits
// (evicting the longest-waiting connection without a request in progress),
// the header and body deadlines, and the thread that enforces them.

#include <microhttpd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "internal/periodic_thread.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/instruments.h"

namespace mlmon {
namespace http {

using SteadyClock = std::chrono::steady_clock;

// Why a connection or request was shed; index into the shed counters
// (`reason` of mlmon_http_connections_shed_total).
enum ShedReason : int {
  kShedHeaderTimeout = 0,
  kShedBodyTimeout,
  kShedEvicted,
  kShedClientLimit,
  kShedHandlerQueueFull,
  kShedReasons,
};
inline constexpr const char* kShedReasonNames[kShedReasons] = {
    "header_timeout", "body_timeout", "evicted", "client_limit",
    "handler_queue_full"};

// The connections, tracked through libmicrohttpd's connection
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
  // One connection. The fields other than `request_line` are read and
  // written under the table's mutex.
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

  // `max_per_client` is the effective per-client limit (at most
  // `max_total`).
  ConnectionTable(unsigned max_total, unsigned max_per_client,
                  std::chrono::milliseconds header_timeout,
                  std::chrono::milliseconds body_timeout);

  // The counters to count sheds in (null entries count nothing); set before
  // the server starts.
  void SetShedCounters(Counter* const counters[kShedReasons]);
  void CountShed(ShedReason reason) noexcept {
    if (counters_[reason] != nullptr) counters_[reason]->Increment();
  }

  // Admits a new connection, closing the longest-waiting connection without
  // a request in progress if the connection would exceed a limit (or the
  // new one if there is none). Returns null, having shut the socket down,
  // if it cannot track the connection.
  Conn* Open(MHD_Connection* connection) noexcept;
  // Forgets `c` (null: nothing) and deletes it.
  void Close(Conn* c) noexcept;

  // The phase changes of a connection's requests; null `c` is ignored.
  static void RequestLineSeen(Conn* c) noexcept {
    if (c != nullptr) c->request_line.store(true, std::memory_order_relaxed);
  }
  void HeadersComplete(Conn* c) noexcept;
  void Serving(Conn* c) noexcept;
  void RequestDone(Conn* c) noexcept;

  // Shuts down every connection past the deadline of its waiting phase.
  void Reap(SteadyClock::time_point now) noexcept;

 private:
  void MakeRoom(Conn* newcomer, const std::string* client, ShedReason reason)
      MLMON_REQUIRES(mu_);
  // REQUIRES: `c` in the table and not shed.
  void Shed(Conn* c, ShedReason reason) noexcept MLMON_REQUIRES(mu_);
  // Stops counting `c` against the limits.
  void Forget(Conn* c) noexcept MLMON_REQUIRES(mu_);

  const unsigned max_total_;
  const unsigned max_per_client_;
  const std::chrono::milliseconds header_timeout_;
  const std::chrono::milliseconds body_timeout_;
  Counter* counters_[kShedReasons] = {};
  detail::Mutex mu_;
  std::vector<Conn*> conns_ MLMON_GUARDED_BY(mu_);
  std::unordered_map<std::string, unsigned> clients_ MLMON_GUARDED_BY(mu_);
  unsigned live_ MLMON_GUARDED_BY(mu_) = 0;  // connections not shed
  std::uint64_t sequence_ MLMON_GUARDED_BY(mu_) = 0;
};

// The thread that enforces the deadlines of a `ConnectionTable`, to within
// a tenth of the shorter one (at most 50 ms late).
class DeadlineReaper {
 public:
  DeadlineReaper(ConnectionTable& table, unsigned header_timeout_ms,
                 unsigned body_timeout_ms);
  ~DeadlineReaper() { Stop(); }
  DeadlineReaper(const DeadlineReaper&) = delete;
  DeadlineReaper& operator=(const DeadlineReaper&) = delete;

  // Starts the thread. REQUIRES: not running. \throw std::system_error.
  void Start();
  // Stops and joins the thread, if running.
  void Stop() noexcept { thread_.Stop(); }

 private:
  ConnectionTable& table_;
  const std::chrono::milliseconds tick_;
  internal::PeriodicThread thread_;  // started and stopped by the server
};

}  // namespace http
}  // namespace mlmon

#endif  // MLMON_SRC_HTTP_CONNECTION_TABLE_H_
