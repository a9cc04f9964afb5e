#include "http/connection_table.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

namespace mlmon {
namespace http {
namespace {

std::string ClientAddress(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char text[INET6_ADDRSTRLEN] = "";
  if (info != nullptr && info->client_addr != nullptr) {
    const sockaddr* a = info->client_addr;
    if (a->sa_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr,
                text, sizeof(text));
    } else if (a->sa_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr,
                text, sizeof(text));
    }
  }
  return text;
}

}  // namespace

ConnectionTable::ConnectionTable(unsigned max_total, unsigned max_per_client,
                                 std::chrono::milliseconds header_timeout,
                                 std::chrono::milliseconds body_timeout)
    : max_total_(max_total),
      max_per_client_(max_per_client),
      header_timeout_(header_timeout),
      body_timeout_(body_timeout) {}

void ConnectionTable::SetShedCounters(Counter* const counters[kShedReasons]) {
  for (int i = 0; i < kShedReasons; ++i) counters_[i] = counters[i];
}

ConnectionTable::Conn* ConnectionTable::Open(
    MHD_Connection* connection) noexcept {
  const MHD_ConnectionInfo* fd_info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (fd_info == nullptr) return nullptr;
  const int fd = fd_info->connect_fd;
  try {
    auto conn = std::make_unique<Conn>();
    conn->fd = fd;
    conn->client = ClientAddress(connection);
    detail::MutexLock lock(mu_);
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

void ConnectionTable::Close(Conn* c) noexcept {
  if (c == nullptr) return;
  {
    detail::MutexLock lock(mu_);
    if (!c->shed) Forget(c);
    conns_[c->slot] = conns_.back();
    conns_[c->slot]->slot = c->slot;
    conns_.pop_back();
  }
  delete c;
}

void ConnectionTable::HeadersComplete(Conn* c) noexcept {
  if (c == nullptr) return;
  detail::MutexLock lock(mu_);
  c->phase = Phase::kReadingBody;
  c->deadline = SteadyClock::now() + body_timeout_;
}

void ConnectionTable::Serving(Conn* c) noexcept {
  if (c == nullptr) return;
  detail::MutexLock lock(mu_);
  c->phase = Phase::kServing;
}

void ConnectionTable::RequestDone(Conn* c) noexcept {
  if (c == nullptr) return;
  detail::MutexLock lock(mu_);
  c->phase = Phase::kAwaitingRequest;
  c->deadline = SteadyClock::now() + header_timeout_;
  c->waiting_since = ++sequence_;
  c->request_line.store(false, std::memory_order_relaxed);
}

void ConnectionTable::Reap(SteadyClock::time_point now) noexcept {
  detail::MutexLock lock(mu_);
  for (Conn* c : conns_) {
    if (c->shed || c->phase == Phase::kServing || c->deadline > now) continue;
    Shed(c, c->phase == Phase::kReadingBody ? kShedBodyTimeout
                                            : kShedHeaderTimeout);
  }
}

// Closes the longest-waiting connection without a request in progress (of
// `client` if not null), or `newcomer` if there is none. A candidate that
// began waiting less than kJustArrived ago, has not started a request, and
// whose socket holds bytes libmicrohttpd has not read yet (a client that has
// just sent its request) is passed over for the next one, so that a burst
// of new connections does not close a scrape before its request is read; if
// the kProbes oldest candidates all are, the newcomer is closed. A
// connection that has waited longer (a slowloris trickling its request line)
// is never passed over: under load its trickled bytes are often unread, and
// passing over four of them would close a scraper arriving as the newcomer.
void ConnectionTable::MakeRoom(Conn* newcomer, const std::string* client,
                               ShedReason reason) {
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

void ConnectionTable::Shed(Conn* c, ShedReason reason) noexcept {
  CountShed(reason);  // counted before the client can see the close
  shutdown(c->fd, SHUT_RDWR);
  c->shed = true;
  Forget(c);
}

void ConnectionTable::Forget(Conn* c) noexcept {
  --live_;
  const auto it = clients_.find(c->client);
  if (it != clients_.end() && --it->second == 0) clients_.erase(it);
}

DeadlineReaper::DeadlineReaper(ConnectionTable& table,
                               unsigned header_timeout_ms,
                               unsigned body_timeout_ms)
    : table_(table),
      tick_(std::clamp<unsigned>(
          std::min(header_timeout_ms, body_timeout_ms) / 10, 1, 50)) {}

void DeadlineReaper::Start() {
  thread_.Start(tick_, [this] { table_.Reap(SteadyClock::now()); });
}

}  // namespace http
}  // namespace mlmon
