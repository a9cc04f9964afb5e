// Abuse test of the embedded HTTP server: real sockets on loopback attack a
// running mlmon::HttpServer while a scraper on 127.0.0.1 fetches /metrics
// and /healthz every 50 ms on a fresh connection. Each attack fails the test
// if the scrapes' p99 latency exceeds 100 ms or any scrape fails.
//
// Attackers bind to other loopback addresses (127.0.0.2, ...) so the
// per-client connection limit applies to them and not to the scraper; the
// SharedAddress test puts them on the scraper's own 127.0.0.1.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http_client.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/http_server.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kScraperHost[] = "127.0.0.1";
constexpr auto kAttackDuration = std::chrono::seconds(6);
constexpr auto kScrapeInterval = milliseconds(50);
constexpr double kP99LimitMs = 100.0;

// Raises the soft fd limit to the hard one: an attack holds 1,000 sockets
// and the server's own ends live in this process too.
void RaiseFdLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// One kind of attacking connection: `head` is sent once after connecting,
// `repeat` every `tick` for as long as the connection lives. Connections
// the server closes are opened again at the next ticks when `reconnect`, at
// most `reconnects_per_tick` a tick (a steady churn rather than bursts).
struct AttackSpec {
  std::vector<std::string> sources;  // loopback addresses to bind, in turn
  int connections = 0;
  std::vector<std::string> heads;  // connection i sends heads[i % size]
  std::string repeat;
  milliseconds tick{200};
  bool reconnect = true;
  int reconnects_per_tick = 1 << 30;
};

// Runs an AttackSpec on one thread with non-blocking sockets and poll().
class Attacker {
 public:
  Attacker(int port, AttackSpec spec) : port_(port), spec_(std::move(spec)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Attacker() { Stop(); }
  Attacker(const Attacker&) = delete;
  Attacker& operator=(const Attacker&) = delete;

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  long opened() const { return opened_.load(); }
  long closed_by_server() const { return closed_.load(); }
  long connect_failures() const { return connect_failures_.load(); }

 private:
  struct Conn {
    int fd = -1;
    std::string out;  // bytes still to send
  };

  void Open(Conn* c, int index) {
    const std::string& source =
        spec_.sources[static_cast<std::size_t>(index) % spec_.sources.size()];
    const int fd =
        socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      ++connect_failures_;
      return;
    }
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(static_cast<std::uint16_t>(port_));
    inet_pton(AF_INET, kScraperHost, &remote.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
        (connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) !=
             0 &&
         errno != EINPROGRESS)) {
      close(fd);
      ++connect_failures_;
      return;
    }
    c->fd = fd;
    c->out = spec_.heads[static_cast<std::size_t>(index) % spec_.heads.size()];
    ++opened_;
  }

  void Drop(Conn* c) {
    close(c->fd);
    c->fd = -1;
    c->out.clear();
    ++closed_;
  }

  // Sends what it can; false if the connection is gone.
  static bool Flush(Conn* c) {
    while (!c->out.empty()) {
      const ssize_t n = send(c->fd, c->out.data(), c->out.size(),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        c->out.erase(0, static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                           errno == EINTR || errno == ENOTCONN)) {
        return true;
      } else {
        return false;
      }
    }
    return true;
  }

  void Run() {
    std::vector<Conn> conns(static_cast<std::size_t>(spec_.connections));
    for (int i = 0; i < spec_.connections; ++i) Open(&conns[i], i);
    std::vector<pollfd> fds;
    std::vector<int> index;
    auto next_tick = Clock::now() + spec_.tick;
    char buffer[16384];
    while (!stop_.load()) {
      fds.clear();
      index.clear();
      for (int i = 0; i < spec_.connections; ++i) {
        if (conns[i].fd < 0) continue;
        short events = POLLIN;
        if (!conns[i].out.empty()) events |= POLLOUT;
        fds.push_back(pollfd{conns[i].fd, events, 0});
        index.push_back(i);
      }
      const auto wait =
          std::chrono::duration_cast<milliseconds>(next_tick - Clock::now());
      poll(fds.data(), fds.size(),
           static_cast<int>(std::clamp<long>(wait.count(), 0, 50)));
      for (std::size_t k = 0; k < fds.size(); ++k) {
        Conn& c = conns[static_cast<std::size_t>(index[k])];
        bool alive = true;
        if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
          for (;;) {
            const ssize_t n = recv(c.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
            if (n > 0) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (n < 0 && errno == EINTR) continue;
            alive = false;  // EOF or reset
            break;
          }
        }
        if (alive && (fds[k].revents & POLLOUT)) alive = Flush(&c);
        if (!alive) Drop(&c);
      }
      if (Clock::now() >= next_tick) {
        next_tick += spec_.tick;
        int reconnects = 0;
        for (int i = 0; i < spec_.connections && !stop_.load(); ++i) {
          Conn& c = conns[static_cast<std::size_t>(i)];
          if (c.fd < 0) {
            if (spec_.reconnect && reconnects < spec_.reconnects_per_tick) {
              ++reconnects;
              Open(&c, i);
            }
            continue;
          }
          if (!spec_.repeat.empty() && c.out.size() < 65536) {
            c.out.append(spec_.repeat);
          }
          if (!Flush(&c)) Drop(&c);
        }
      }
    }
    for (Conn& c : conns) {
      if (c.fd >= 0) close(c.fd);
    }
  }

  const int port_;
  const AttackSpec spec_;
  std::atomic<bool> stop_{false};
  std::atomic<long> opened_{0}, closed_{0}, connect_failures_{0};
  std::thread thread_;
};

struct ScrapeStats {
  std::vector<double> latencies_ms;
  int failures = 0;
  std::string first_failure;

  double Percentile(double p) const {
    if (latencies_ms.empty()) return 0;
    std::vector<double> sorted = latencies_ms;
    std::sort(sorted.begin(), sorted.end());
    const auto rank = static_cast<std::size_t>(
        std::min<double>(sorted.size() - 1, p / 100.0 * sorted.size()));
    return sorted[rank];
  }
  double Max() const {
    return latencies_ms.empty()
               ? 0
               : *std::max_element(latencies_ms.begin(), latencies_ms.end());
  }
};

// Fetches /metrics and /healthz alternately every kScrapeInterval, each on a
// new connection from 127.0.0.1, for `duration`. A failed or timed-out
// scrape counts with its elapsed time.
ScrapeStats Scrape(int port, Clock::duration duration) {
  ScrapeStats stats;
  const auto end = Clock::now() + duration;
  auto next = Clock::now();
  for (int i = 0; Clock::now() < end; ++i) {
    const std::string target = i % 2 == 0 ? "/metrics" : "/healthz";
    const auto start = Clock::now();
    const tools::HttpResult r =
        tools::HttpCall(kScraperHost, port, "GET", target, "", {}, 3000);
    const double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    stats.latencies_ms.push_back(ms);
    const bool ok = r.error.empty() && r.status == 200 &&
                    (target == "/healthz"
                         ? r.body == "ok\n"
                         : r.body.find("abuse_up 1\n") != std::string::npos);
    if (!ok) {
      ++stats.failures;
      if (stats.first_failure.empty()) {
        stats.first_failure = target + ": status " + std::to_string(r.status) +
                              " error \"" + r.error + "\" after " +
                              std::to_string(ms) + " ms";
      }
    }
    next += kScrapeInterval;
    std::this_thread::sleep_until(std::max(next, Clock::now()));
  }
  return stats;
}

std::vector<std::string> Sources(int first, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    out.push_back("127.0.0." + std::to_string(first + i));
  }
  return out;
}

class HttpAbuseTest : public ::testing::Test {
 protected:
  void SetUp() override { RaiseFdLimit(); }

  void TearDown() override {
    {
      detail::MutexLock lock(release_mu_);
      release_ = true;
    }
    release_cv_.notify_all();
    if (server_ != nullptr) server_->Stop();
  }

  // Starts a server with the default options (but an ephemeral port) and a
  // host route `POST /v1/predict` whose handler takes 5 s.
  void StartServer(HttpServerOptions options = {}) {
    options.port = 0;
    registry_.AddGauge("abuse_up", "Up.", {}).Add({}).Set(1);
    server_ = std::make_unique<HttpServer>(options, registry_);
    server_->AddRoute("POST", "/v1/predict", [this](const HttpRequest&) {
      detail::MutexLock lock(release_mu_);
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (!release_ && release_cv_.wait_until(lock.native(), until) !=
                              std::cv_status::timeout) {
      }
      HttpResponse response;
      response.body = "{}";
      return response;
    });
    server_->Start();
  }

  // Runs the attack while scraping; prints and checks the figures.
  void RunAttack(const std::string& name, std::vector<AttackSpec> specs) {
    std::vector<std::unique_ptr<Attacker>> attackers;
    for (AttackSpec& spec : specs) {
      attackers.push_back(
          std::make_unique<Attacker>(server_->port(), std::move(spec)));
    }
    const ScrapeStats stats = Scrape(server_->port(), kAttackDuration);
    long opened = 0, closed = 0, failed = 0;
    for (auto& a : attackers) {
      a->Stop();
      opened += a->opened();
      closed += a->closed_by_server();
      failed += a->connect_failures();
    }
    std::printf(
        "[abuse] %-22s scrapes %zu failed %d  p50 %.1f ms  p99 %.1f ms  max "
        "%.1f ms  (attack: %ld connections opened, %ld closed by the server, "
        "%ld connect failures)\n",
        name.c_str(), stats.latencies_ms.size(), stats.failures,
        stats.Percentile(50), stats.Percentile(99), stats.Max(), opened, closed,
        failed);
    const std::string text = registry_.TextExposition();
    for (std::size_t at = text.find("mlmon_http_connections_shed_total{");
         at != std::string::npos;
         at = text.find("mlmon_http_connections_shed_total{", at + 1)) {
      std::printf("        %s\n",
                  text.substr(at, text.find('\n', at) - at).c_str());
    }
    std::fflush(stdout);
    EXPECT_EQ(stats.failures, 0) << stats.first_failure;
    EXPECT_LE(stats.Percentile(99), kP99LimitMs);
    EXPECT_GT(stats.latencies_ms.size(), 40u);
  }

  Registry registry_;
  std::unique_ptr<HttpServer> server_;
  detail::Mutex release_mu_;
  std::condition_variable release_cv_;
  bool release_ MLMON_GUARDED_BY(release_mu_) = false;
};

// `connections` connections from `sources` that never send a byte; 100 of
// them are closed and opened again every 100 ms tick (1,000 new connections
// a second).
AttackSpec IdleChurn(std::vector<std::string> sources, int connections) {
  AttackSpec idle;
  idle.sources = std::move(sources);
  idle.connections = connections;
  idle.heads = {""};
  idle.tick = milliseconds(100);
  idle.reconnects_per_tick = 100;
  return idle;
}

const std::string kSlowlorisHead =
    "GET /metrics HTTP/1.1\r\nHost: attacker\r\nX-Padding: ";

TEST_F(HttpAbuseTest, FiveHundredIdleConnections) {
  StartServer();
  RunAttack("500 idle", {IdleChurn(Sources(2, 1), 500)});
}

TEST_F(HttpAbuseTest, TwoHundredSlowlorisConnections) {
  StartServer();
  AttackSpec slowloris;
  slowloris.sources = Sources(2, 1);
  slowloris.connections = 200;
  slowloris.heads = {kSlowlorisHead};
  slowloris.repeat = "a";  // one byte per tick, headers never complete
  slowloris.tick = milliseconds(200);
  RunAttack("200 slowloris", {slowloris});
}

TEST_F(HttpAbuseTest, ThousandConnectionsOpenedAndHeld) {
  StartServer();
  // 20 addresses, 50 connections each.
  RunAttack("1000 held", {IdleChurn(Sources(2, 20), 1000)});
}

TEST_F(HttpAbuseTest, SlowHostHandlersOnEveryWorker) {
  StartServer();
  // Far more concurrent 5 s requests than there are workers of any kind:
  // every worker busy, every queue slot taken, the rest refused or waiting.
  AttackSpec slow;
  slow.sources = Sources(2, 2);
  slow.connections = 100;
  slow.heads = {
      "POST /v1/predict HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\n{}"};
  slow.tick = milliseconds(100);
  RunAttack("5 s host handlers", {slow});
}

TEST_F(HttpAbuseTest, OversizedAndMalformedBodies) {
  StartServer();
  std::string chunk(4096, 'x');
  AttackSpec bad;
  bad.sources = Sources(2, 4);
  bad.connections = 40;
  bad.heads = {
      // Bad chunk size.
      "POST /v1/predict HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
      "\r\nzz\r\nxx\r\n0\r\n\r\n",
      // A chunk size that overflows.
      "POST /v1/predict HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
      "\r\nffffffffffffffffffff\r\nxx\r\n",
      // Content-Length far over the route's limit.
      "POST /v1/predict HTTP/1.1\r\nHost: a\r\nContent-Length: "
      "99999999999999\r\n\r\nxx",
      // Content-Length that is not a number.
      "POST /v1/predict HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n",
      // Content-Length that lies: 1000 announced, 10 sent, then silence.
      "POST /v1/predict HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n"
      "0123456789",
      // A body on /metrics, whose limit is 0.
      "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
      // Two Content-Lengths that disagree.
      "POST /v1/predict HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n"
      "Content-Length: 3\r\n\r\n{}",
  };
  bad.tick = milliseconds(100);
  // A chunked body that never ends, one 4 KiB chunk per connection per tick.
  AttackSpec endless;
  endless.sources = Sources(6, 2);
  endless.connections = 10;
  endless.heads = {
      "POST /v1/predict HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
      "\r\n",
      "GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"};
  endless.repeat = "1000\r\n" + chunk + "\r\n";
  endless.tick = milliseconds(20);
  RunAttack("bad bodies", {bad, endless});
}

TEST_F(HttpAbuseTest, SharedAddressGlobalEviction) {
  // No per-client limit below the global one: the attackers on the
  // scraper's own address fill every slot, and each scrape gets in by
  // closing the longest-idle attacker. They open and hold their
  // connections without reconnecting: new connections from the scraper's
  // own address flooding in faster than requests are read could close a
  // scrape, and no server can tell those apart from the scraper.
  HttpServerOptions options;
  options.max_connections_per_client = 0;
  StartServer(options);
  AttackSpec idle;
  idle.sources = {"127.0.0.1"};
  idle.connections = 300;
  idle.heads = {""};
  idle.tick = milliseconds(250);
  idle.reconnect = false;
  AttackSpec slowloris = idle;
  slowloris.connections = 200;
  slowloris.heads = {kSlowlorisHead};
  slowloris.repeat = "a";
  slowloris.tick = milliseconds(200);
  RunAttack("shared 127.0.0.1", {idle, slowloris});
}

}  // namespace
}  // namespace mlmon
