#ifndef MLMON_SRC_INTERNAL_REDIS_URL_H_
#define MLMON_SRC_INTERNAL_REDIS_URL_H_

/// \file
/// The address and credentials of a Redis server, from the settings of a
/// pending store. Private to the library (never installed); needs no
/// hiredis, so a spec can be checked in any build.

#include <string>
#include <string_view>

namespace mlmon {
namespace internal {

/// Where a Redis server is, parsed from `redis://[[user]:password@]host
/// [:port][/db]`.
struct RedisEndpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;      ///< empty: the default user
  std::string password;  ///< empty: no AUTH
};

/// `url` with its password replaced by `***`, for messages and logs.
std::string RedactRedisUrl(std::string_view url);

/// Parses `url`; `where` names the setting in the error, which shows the
/// URL without its password.
/// \throw mlmon::ConfigError naming the bad part, e.g.
/// "mlmon: OutcomeSpec.store.url: port not in [1, 65535] (redis://h:0)".
RedisEndpoint ParseRedisUrl(std::string_view url, std::string_view where);

/// The first line of `path` (the password of
/// `PendingStoreSpec::password_file`). \throw mlmon::ConfigError if it cannot
/// be read or is empty.
std::string ReadPasswordFile(const std::string& path, std::string_view where);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_REDIS_URL_H_
