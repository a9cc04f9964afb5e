#include "redis_connection.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>
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

}  // namespace

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

bool RedisConnection::IdleAndOpen() const noexcept {
  if (context_ == nullptr || sdslen(context_->obuf) > 0) return false;
  pollfd p{};
  p.fd = context_->fd;
  p.events = POLLIN;
  int n;
  do {
    n = poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n == 0;
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

bool RedisConnection::Flush() noexcept {
  if (context_ == nullptr) return false;
  SigpipeBlock no_sigpipe;
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) {
      Fail("write");
      return false;
    }
  }
  return true;
}

RedisReplyPtr RedisConnection::Read() noexcept {
  if (context_ == nullptr) return nullptr;
  redisReply* raw = nullptr;
  int status;
  // hiredis writes the whole output buffer before it waits for a reply
  // (not when one is parsed already): only then can the read raise SIGPIPE.
  if (sdslen(context_->obuf) > 0) {
    SigpipeBlock no_sigpipe;
    status = redisGetReply(context_, reinterpret_cast<void**>(&raw));
  } else {
    status = redisGetReply(context_, reinterpret_cast<void**>(&raw));
  }
  if (status != REDIS_OK || raw == nullptr) {
    if (raw != nullptr) freeReplyObject(raw);
    Fail("read");
    return nullptr;
  }
  return RedisReplyPtr(raw);
}

}  // namespace internal
}  // namespace mlmon
