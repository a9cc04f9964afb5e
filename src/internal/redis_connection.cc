#include "redis_connection.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <utility>

#include "config_errors.h"

namespace mlmon {
namespace internal {

namespace {

// Blocks SIGPIPE in this thread for its scope. A write to a socket the
// server closed raises SIGPIPE in the writing thread; while blocked it stays
// pending instead of killing the process, and is consumed here unless it was
// pending already (then it belongs to someone else).
class SigpipeBlock {
 public:
  SigpipeBlock() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

bool ParseInt(std::string_view s, int lo, int hi, int* out) {
  int v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() ||
      v < lo || v > hi) {
    return false;
  }
  *out = v;
  return true;
}

}  // namespace

RedisEndpoint ParseRedisUrl(std::string_view url, std::string_view where) {
  constexpr std::string_view kScheme = "redis://";
  auto fail = [&](std::string_view what) {
    return SetupError(where, what, url);
  };
  if (url.substr(0, kScheme.size()) != kScheme) {
    throw fail(
        "not a redis:// URL (rediss:// and unix sockets are not "
        "supported)");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint e;
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      e.password = std::string(userinfo);  // redis://secret@host
    } else {
      e.user = std::string(userinfo.substr(0, colon));
      e.password = std::string(userinfo.substr(colon + 1));
    }
  }
  const std::size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !ParseInt(db, 0, 1 << 20, &e.db)) {
      throw fail("database is not a non-negative integer");
    }
  }
  // host, host:port, [v6], [v6]:port (a bare v6 address has no port).
  std::string_view port;
  bool has_port = false;
  if (!hostport.empty() && hostport.front() == '[') {
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) throw fail("unclosed '[' in the host");
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty() && after.front() != ':') throw fail("bad host");
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
    hostport = hostport.substr(1, close - 1);
  } else if (hostport.find(':') == hostport.rfind(':') &&
             hostport.find(':') != std::string_view::npos) {
    has_port = true;
    port = hostport.substr(hostport.find(':') + 1);
    hostport = hostport.substr(0, hostport.find(':'));
  }
  if (has_port && !ParseInt(port, 1, 65535, &e.port)) {
    throw fail("port not in [1, 65535]");
  }
  if (hostport.empty()) throw fail("no host");
  e.host = std::string(hostport);
  return e;
}

std::string ReadPasswordFile(const std::string& path, std::string_view where) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    throw SetupError(where, "cannot read the password file", path);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    throw SetupError(where, "the password file's first line is empty", path);
  }
  return line;
}

void RedisReplyFree::operator()(redisReply* r) const noexcept {
  freeReplyObject(r);
}

RedisConnection::RedisConnection(RedisEndpoint endpoint,
                                 std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout) {}

RedisConnection::~RedisConnection() { Close(); }

void RedisConnection::Close() noexcept {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

void RedisConnection::Fail(std::string_view what) noexcept {
  try {
    error_ = fmt::format("{} {}:{}: {}", what, endpoint_.host, endpoint_.port,
                         context_ != nullptr && context_->errstr[0] != '\0'
                             ? context_->errstr
                             : "failed");
  } catch (...) {
    error_.clear();  // out of memory: the counters still tell
  }
  Close();
}

bool RedisConnection::Connect() noexcept {
  if (context_ != nullptr) return true;
  SigpipeBlock no_sigpipe;
  const timeval tv = ToTimeval(timeout_);
  context_ =
      redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv);
  if (context_ == nullptr || context_->err != 0) {
    Fail("connect");
    return false;
  }
  if (redisSetTimeout(context_, tv) != REDIS_OK) {
    Fail("connect");
    return false;
  }
  redisEnableKeepAlive(context_);
  auto command = [&](std::initializer_list<std::string_view> args) {
    const char* argv[3];
    std::size_t lens[3];
    int n = 0;
    for (std::string_view a : args) {
      argv[n] = a.data();
      lens[n] = a.size();
      ++n;
    }
    if (redisAppendCommandArgv(context_, n, argv, lens) != REDIS_OK) {
      return false;
    }
    redisReply* raw = nullptr;
    if (redisGetReply(context_, reinterpret_cast<void**>(&raw)) != REDIS_OK) {
      return false;
    }
    RedisReplyPtr reply(raw);
    return reply != nullptr && reply->type != REDIS_REPLY_ERROR;
  };
  if (!endpoint_.password.empty()) {
    const bool ok = endpoint_.user.empty()
                        ? command({"AUTH", endpoint_.password})
                        : command({"AUTH", endpoint_.user, endpoint_.password});
    if (!ok) {
      Fail("AUTH");
      return false;
    }
  }
  if (endpoint_.db != 0) {
    char db[16];
    const auto r = std::to_chars(db, db + sizeof db, endpoint_.db);
    if (!command({"SELECT", std::string_view(db, r.ptr - db)})) {
      Fail("SELECT");
      return false;
    }
  }
  return true;
}

bool RedisConnection::Append(int argc, const char** argv,
                             const std::size_t* lengths) noexcept {
  if (context_ == nullptr) return false;
  if (redisAppendCommandArgv(context_, argc, argv, lengths) != REDIS_OK) {
    Fail("append");
    return false;
  }
  return true;
}

RedisReplyPtr RedisConnection::Read() noexcept {
  if (context_ == nullptr) return nullptr;
  SigpipeBlock no_sigpipe;
  redisReply* raw = nullptr;
  if (redisGetReply(context_, reinterpret_cast<void**>(&raw)) != REDIS_OK ||
      raw == nullptr) {
    if (raw != nullptr) freeReplyObject(raw);
    Fail("read");
    return nullptr;
  }
  return RedisReplyPtr(raw);
}

}  // namespace internal
}  // namespace mlmon
