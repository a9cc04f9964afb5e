#include "redis_url.h"

#include <charconv>
#include <fstream>

#include "config_errors.h"

namespace mlmon {
namespace internal {

namespace {

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

std::string RedactRedisUrl(std::string_view url) {
  const std::size_t scheme = url.find("://");
  const std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const std::size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const std::size_t colon = url.find(':', start);
  // redis://user:secret@host keeps the user; redis://secret@host has no user.
  const std::size_t secret =
      colon != std::string_view::npos && colon < at ? colon + 1 : start;
  std::string shown(url.substr(0, secret));
  shown += "***";
  shown += url.substr(at);
  return shown;
}

RedisEndpoint ParseRedisUrl(std::string_view url, std::string_view where) {
  constexpr std::string_view kScheme = "redis://";
  auto fail = [&](std::string_view what) {
    return SetupError(where, what, RedactRedisUrl(url));
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

}  // namespace internal
}  // namespace mlmon
