#include "http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace mlmon {
namespace tools {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxResponseBytes = std::size_t{256} << 20;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Owns a socket descriptor.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Milliseconds left until `deadline`, at least 0.
int Remaining(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return static_cast<int>(std::max<long long>(0, left.count()));
}

// Waits for `events` on `fd`; false on timeout or error.
bool Wait(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, Remaining(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

int Connect(const std::string& host, int port, Clock::time_point deadline,
            std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    *error = "resolve " + host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = list; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      int so_error = errno;
      if (errno == EINPROGRESS) {
        so_error = ETIMEDOUT;
        if (Wait(fd, POLLOUT, deadline)) {
          socklen_t len = sizeof(so_error);
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        }
      }
      if (so_error != 0) {
        *error =
            "connect " + host + ":" + service + ": " + std::strerror(so_error);
        close(fd);
        fd = -1;
      }
    }
  }
  freeaddrinfo(list);
  if (fd >= 0) error->clear();
  return fd;
}

// Sends all of `data`; false (with `error`) on failure or timeout.
bool SendAll(int fd, std::string_view data, Clock::time_point deadline,
             std::string* error) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!Wait(fd, POLLOUT, deadline)) {
        *error = "timeout while sending";
        return false;
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      *error = std::string("send: ") + std::strerror(errno);
      return false;
    }
  }
  return true;
}

enum class Parse { kIncomplete, kComplete, kMalformed };

// Decodes a chunked body starting at `in`; kComplete once the last chunk and
// trailers are in.
Parse Dechunk(std::string_view in, std::string* body) {
  body->clear();
  for (;;) {
    const std::size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return Parse::kIncomplete;
    std::string size_text(in.substr(0, eol));
    size_text = size_text.substr(0, size_text.find(';'));
    char* end = nullptr;
    errno = 0;
    const unsigned long long size = std::strtoull(size_text.c_str(), &end, 16);
    if (size_text.empty() || errno != 0 || !Trim(end).empty() ||
        size > kMaxResponseBytes) {
      return Parse::kMalformed;
    }
    in.remove_prefix(eol + 2);
    if (size == 0) {
      // Trailers, then an empty line.
      for (;;) {
        const std::size_t line_end = in.find("\r\n");
        if (line_end == std::string_view::npos) return Parse::kIncomplete;
        if (line_end == 0) return Parse::kComplete;
        in.remove_prefix(line_end + 2);
      }
    }
    if (in.size() < size + 2) return Parse::kIncomplete;
    body->append(in.substr(0, size));
    if (in.substr(size, 2) != "\r\n") return Parse::kMalformed;
    in.remove_prefix(size + 2);
  }
}

// Parses the response in `raw`; `eof` says the peer closed.
Parse ParseResponse(const std::string& raw, bool eof, bool head,
                    HttpResult* result) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t header_end = raw.find("\r\n\r\n", start);
    if (header_end == std::string::npos) return Parse::kIncomplete;
    std::string_view head_text(raw.data() + start, header_end - start);
    const std::size_t line_end = head_text.find("\r\n");
    const std::string_view status_line = head_text.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
      return Parse::kMalformed;
    }
    const std::size_t sp = status_line.find(' ');
    const int status =
        std::atoi(std::string(status_line.substr(sp + 1, 3)).c_str());
    if (status < 100 || status > 999) return Parse::kMalformed;
    start = header_end + 4;
    if (status < 200) continue;  // interim response (e.g. 100 Continue)
    result->status = status;
    result->headers.clear();
    std::string_view rest = line_end == std::string_view::npos
                                ? std::string_view()
                                : head_text.substr(line_end + 2);
    while (!rest.empty()) {
      const std::size_t eol = rest.find("\r\n");
      const std::string_view line = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view()
                                           : rest.substr(eol + 2);
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) return Parse::kMalformed;
      auto [it, inserted] =
          result->headers.emplace(Lower(Trim(line.substr(0, colon))),
                                  std::string(Trim(line.substr(colon + 1))));
      if (!inserted)
        it->second.append(", ").append(Trim(line.substr(colon + 1)));
    }
    break;
  }
  const std::string_view payload(raw.data() + start, raw.size() - start);
  if (head || result->status == 204 || result->status == 304) {
    result->body.clear();
    return Parse::kComplete;
  }
  const auto te = result->headers.find("transfer-encoding");
  if (te != result->headers.end() &&
      Lower(te->second).find("chunked") != std::string::npos) {
    const Parse p = Dechunk(payload, &result->body);
    return p == Parse::kIncomplete && eof ? Parse::kMalformed : p;
  }
  const auto cl = result->headers.find("content-length");
  if (cl != result->headers.end()) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long length =
        std::strtoull(cl->second.c_str(), &end, 10);
    if (cl->second.empty() || errno != 0 || *end != '\0')
      return Parse::kMalformed;
    if (payload.size() < length) {
      result->body.assign(payload);
      return eof ? Parse::kMalformed : Parse::kIncomplete;
    }
    result->body.assign(payload.substr(0, length));
    return Parse::kComplete;
  }
  result->body.assign(payload);
  return eof ? Parse::kComplete : Parse::kIncomplete;
}

}  // namespace

HttpResult HttpCall(
    const std::string& host, int port, const std::string& method,
    const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    int timeout_ms) {
  HttpResult result;
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  const int fd = Connect(host, port, deadline, &result.error);
  if (fd < 0) return result;
  Socket socket(fd);

  std::string request = method + " " + target + " HTTP/1.1\r\n";
  const bool v6 = host.find(':') != std::string::npos;
  request += "Host: " + (v6 ? "[" + host + "]" : host) + ":" +
             std::to_string(port) + "\r\n";
  request += "Connection: close\r\n";
  bool framed = false;
  for (const auto& [name, value] : headers) {
    const std::string lower = Lower(name);
    framed =
        framed || lower == "content-length" || lower == "transfer-encoding";
    request += name + ": " + value + "\r\n";
  }
  if (!framed && (!body.empty() || method == "POST" || method == "PUT" ||
                  method == "PATCH")) {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request += body;
  std::string send_error;
  // A failed send may just mean the server answered early and closed: read
  // its answer before reporting the send error.
  const bool sent = SendAll(fd, request, deadline, &send_error);
  if (!sent) shutdown(fd, SHUT_WR);

  std::string raw;
  char buffer[16384];
  const bool head = method == "HEAD";
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      raw.append(buffer, static_cast<std::size_t>(n));
      if (raw.size() > kMaxResponseBytes) {
        result.error = "response larger than " +
                       std::to_string(kMaxResponseBytes) + " bytes";
        return result;
      }
      const Parse p = ParseResponse(raw, false, head, &result);
      if (p == Parse::kComplete) return result;
      if (p == Parse::kMalformed) {
        result.error = "malformed response";
        return result;
      }
    } else if (n == 0 || (n < 0 && errno == ECONNRESET && !raw.empty())) {
      const Parse p = ParseResponse(raw, true, head, &result);
      if (p != Parse::kComplete) {
        result.error =
            raw.empty()
                ? (sent ? "connection closed before a response" : send_error)
                : "truncated response";
      }
      return result;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!Wait(fd, POLLIN, deadline)) {
        result.error = "timeout after " + std::to_string(timeout_ms) +
                       " ms waiting for the response";
        return result;
      }
    } else if (errno != EINTR) {
      result.error = std::string("recv: ") + std::strerror(errno);
      if (!sent) result.error += " (" + send_error + ")";
      return result;
    }
  }
}

}  // namespace tools
}  // namespace mlmon
