#ifndef MLMON_SRC_INTERNAL_REDIS_CONNECTION_H_
#define MLMON_SRC_INTERNAL_REDIS_CONNECTION_H_

/// \file
/// One blocking connection to a Redis server (hiredis), with pipelining, a
/// bound on every connect and round trip, and no SIGPIPE. Private to the
/// library (never installed); compiled only with hiredis.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "redis_url.h"

struct redisContext;
struct redisReply;

namespace mlmon {
namespace internal {

/// A reply of the server; null when the round trip failed.
struct RedisReplyFree {
  void operator()(redisReply* r) const noexcept;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyFree>;

/// A connection that (re)connects on demand. Commands are appended to an
/// output buffer, then `Read` flushes it and returns the replies in order:
/// a pipeline of n commands costs one round trip.
///
/// Every blocking step (connect, AUTH, SELECT, each read or write) is bounded
/// by `timeout`. While a call writes to the socket (a connect, the first
/// read after appends), SIGPIPE is blocked in the calling thread and one it
/// raised is consumed, so a server that closes the socket never kills the
/// host.
///
/// Thread safety: not thread-safe; one thread at a time (the owner locks).
class RedisConnection {
 public:
  RedisConnection(RedisEndpoint endpoint, std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Connects (AUTH, SELECT) unless connected; false on failure, with
  /// `error()` set.
  bool Connect() noexcept;
  bool connected() const noexcept { return context_ != nullptr; }
  /// True if connected, with no command unsent, and the server has not
  /// closed the socket (nothing to read on it: no end of file, error or
  /// stray data). For a connection whose replies were all read; costs one
  /// poll(2), no round trip.
  bool IdleAndOpen() const noexcept;
  /// Drops the connection (and anything buffered).
  void Close() noexcept;

  /// Appends one command of `argc` binary-safe arguments. False (the
  /// connection closed) if it could not be formatted.
  /// REQUIRES: connected().
  bool Append(int argc, const char** argv, const std::size_t* lengths) noexcept;
  /// Writes what was appended, without waiting for replies; false (the
  /// connection closed) on a failure.
  bool Flush() noexcept;
  /// Flushes what was appended and reads the next reply; null on a failure
  /// (timeout, reset), after which the connection is closed.
  RedisReplyPtr Read() noexcept;

  /// The last failure, e.g. "connect 127.0.0.1:6390: Connection refused".
  const std::string& error() const noexcept { return error_; }

 private:
  void Fail(std::string_view what) noexcept;

  const RedisEndpoint endpoint_;
  const std::chrono::milliseconds timeout_;
  redisContext* context_ = nullptr;
  std::string error_;
};

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_REDIS_CONNECTION_H_
