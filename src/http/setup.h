#ifndef MLMON_SRC_HTTP_SETUP_H_
#define MLMON_SRC_HTTP_SETUP_H_

// The server's set-up steps that do not need libmicrohttpd: checking the
// options and binding the listening socket.

#include <string>

#include "mlmon/http_server.h"

namespace mlmon {
namespace http {

// What set-up errors name a setting of the options by.
inline constexpr char kOptionsWhere[] = "HttpServerOptions";

// \throw mlmon::ConfigError naming the first invalid option and its value.
void CheckOptions(const HttpServerOptions& options);

// "<bind_address>:<port>" as configured, for messages.
std::string Endpoint(const HttpServerOptions& options);

// A non-blocking, close-on-exec socket bound to `bind_address:port` and
// listening (SO_REUSEADDR; IPV6_V6ONLY for an IPv6 address); `*bound_port`
// is the port it got. REQUIRES: `CheckOptions(options)` passed.
// \throw mlmon::ConfigError naming the address and the errno text.
int ListenSocket(const HttpServerOptions& options, int* bound_port);

}  // namespace http
}  // namespace mlmon

#endif  // MLMON_SRC_HTTP_SETUP_H_
