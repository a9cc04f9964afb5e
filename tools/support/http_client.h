#ifndef MLMON_TOOLS_SUPPORT_HTTP_CLIENT_H_
#define MLMON_TOOLS_SUPPORT_HTTP_CLIENT_H_

/// \file
/// A minimal blocking HTTP/1.1 client over POSIX sockets, for tests and the
/// `mlmon` tool. Not part of the library; no dependency on mlmon.

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mlmon {
namespace tools {

/// The outcome of one `HttpCall`.
struct HttpResult {
  int status = 0;  ///< 0 if no complete status line was received
  /// Response headers; names lower-cased, repeated headers joined with ", ".
  std::map<std::string, std::string> headers;
  std::string body;   ///< de-chunked
  std::string error;  ///< empty on success; otherwise what went wrong
};

/// Sends one request with `Connection: close` and reads the response
/// (`Content-Length`, chunked, or until EOF). Adds `Host` and, unless
/// `headers` has `Content-Length` or `Transfer-Encoding`, a `Content-Length`
/// for a non-empty body (or for POST/PUT/PATCH). If the server answers before
/// the whole body is sent (e.g. 413), the answer is still returned.
///
/// The whole call (resolve excluded) is bounded by `timeout_ms`; on timeout,
/// connection failure or a malformed response it returns with `error` set
/// (and whatever was parsed so far). Never throws on I/O errors, never raises
/// SIGPIPE.
///
/// Thread safety: thread-safe (no shared state).
HttpResult HttpCall(
    const std::string& host, int port, const std::string& method,
    const std::string& target, const std::string& body = "",
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    int timeout_ms = 10000);

}  // namespace tools
}  // namespace mlmon

#endif  // MLMON_TOOLS_SUPPORT_HTTP_CLIENT_H_
