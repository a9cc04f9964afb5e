#include "http/setup.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "internal/config_errors.h"

namespace mlmon {
namespace http {
namespace {

[[noreturn]] void Invalid(const char* field, std::string_view what,
                          std::string_view value) {
  throw internal::SetupError(fmt::format("{}.{}", kOptionsWhere, field), what,
                             value);
}

void CheckAtLeast(const char* field, unsigned long long value,
                  unsigned long long minimum) {
  if (value < minimum) {
    Invalid(field, fmt::format("must be at least {}", minimum),
            std::to_string(value));
  }
}

}  // namespace

void CheckOptions(const HttpServerOptions& o) {
  in6_addr scratch;
  if (inet_pton(AF_INET, o.bind_address.c_str(), &scratch) != 1 &&
      inet_pton(AF_INET6, o.bind_address.c_str(), &scratch) != 1) {
    Invalid("bind_address", "not an IPv4 or IPv6 literal", o.bind_address);
  }
  if (o.port < 0 || o.port > 65535) {
    Invalid("port", "outside [0, 65535]", std::to_string(o.port));
  }
  CheckAtLeast("threads", o.threads, 1);
  if (o.max_connections < o.threads) {
    Invalid("max_connections",
            fmt::format("below threads, which is {}", o.threads),
            std::to_string(o.max_connections));
  }
  CheckAtLeast("connection_timeout_seconds", o.connection_timeout_seconds, 1);
  CheckAtLeast("header_timeout_ms", o.header_timeout_ms, 10);
  CheckAtLeast("body_timeout_ms", o.body_timeout_ms, 10);
  CheckAtLeast("handler_threads", o.handler_threads, 1);
  if (o.basic_auth_user.empty() && !o.basic_auth_password.empty()) {
    // The password itself is never quoted.
    Invalid("basic_auth_password", "set without basic_auth_user", {});
  }
  if (o.basic_auth_user.find(':') != std::string::npos) {
    Invalid("basic_auth_user", "must not contain ':'", o.basic_auth_user);
  }
  if (o.status_page) {
    CheckAtLeast("status_interval_ms", o.status_interval_ms, 10);
    CheckAtLeast("status_points", o.status_points, 2);
  }
}

std::string Endpoint(const HttpServerOptions& options) {
  return fmt::format("{}:{}", options.bind_address, options.port);
}

int ListenSocket(const HttpServerOptions& options, int* bound_port) {
  sockaddr_storage address{};
  socklen_t address_len;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  const auto port = static_cast<std::uint16_t>(options.port);
  if (inet_pton(AF_INET, options.bind_address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address_len = sizeof(sockaddr_in);
  } else {
    inet_pton(AF_INET6, options.bind_address.c_str(), &v6->sin6_addr);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address_len = sizeof(sockaddr_in6);
  }
  const int fd =
      socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw internal::SetupError(
        "HttpServer::Start",
        fmt::format("cannot create a socket: {}", std::strerror(errno)),
        Endpoint(options));
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (address.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), address_len) != 0 ||
      listen(fd, SOMAXCONN) != 0) {
    const int error = errno;
    close(fd);
    throw internal::SetupError(
        "HttpServer::Start",
        fmt::format("cannot listen: {}", std::strerror(error)),
        Endpoint(options));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  *bound_port = ntohs(bound.ss_family == AF_INET
                          ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                          : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return fd;
}

}  // namespace http
}  // namespace mlmon
