#ifndef MLMON_PENDING_STORE_SPEC_H_
#define MLMON_PENDING_STORE_SPEC_H_

/// \file
/// Where an `OutcomeTracker` keeps the predictions that wait for their
/// outcome: in the process (the default), or in a Redis server shared by
/// every replica of a fleet, so that an outcome reaching any replica joins
/// the prediction another replica made (docs/fleet.md).

#include <chrono>
#include <cstddef>
#include <string>

namespace mlmon {

/// Set-up configuration of the pending store (`OutcomeSpec::store`,
/// `pending_store:` in monitor.yaml). Validated by the tracker's
/// constructor.
struct PendingStoreSpec {
  enum class Backend {
    kMemory,  ///< a bounded table in this process
    kRedis,   ///< a Redis server shared by the fleet
  };
  Backend backend = Backend::kMemory;

  /// Redis: `redis://[[user]:password@]host[:port][/db]` (port 6379 and db 0
  /// by default). TLS and Unix sockets are not supported.
  std::string url = "redis://127.0.0.1:6379/0";
  /// Redis: a file whose first line is the password (for `AUTH`); empty:
  /// the password of the URL, if any. Read once, at set-up.
  std::string password_file;
  /// Redis: prefix of every key, `<prefix><model>:<version>:<id>`; at most
  /// 64 bytes.
  std::string key_prefix = "mlmon:";
  /// Redis: bound of one connection attempt and of one round trip, in
  /// [1 ms, 60 s].
  std::chrono::milliseconds timeout{200};
  /// Redis: predictions held in this process while they wait to be written
  /// (or while Redis is unreachable), in [1, 1e7]; beyond it they are
  /// dropped and counted (`mlmon_dropped_total{reason="store_unavailable"}`).
  std::size_t max_buffered = 100000;
};

/// `"memory"` or `"redis"`.
const char* PendingStoreBackendName(PendingStoreSpec::Backend backend) noexcept;

/// Whether this build of mlmon can use Redis (built with hiredis).
bool RedisPendingStoreAvailable() noexcept;

}  // namespace mlmon

#endif  // MLMON_PENDING_STORE_SPEC_H_
