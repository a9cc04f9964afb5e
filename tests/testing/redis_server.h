#ifndef MLMON_TESTS_TESTING_REDIS_SERVER_H_
#define MLMON_TESTS_TESTING_REDIS_SERVER_H_

// A real redis-server for tests: started on a free loopback port, without
// persistence, and killed by the destructor. Tests skip when the binary is
// missing (scripts/deps installs it).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace mlmon {
namespace testutil {

inline const char* RedisServerBinary() {
  static const char* const kPaths[] = {"/usr/bin/redis-server",
                                       "/usr/local/bin/redis-server"};
  for (const char* p : kPaths) {
    if (access(p, X_OK) == 0) return p;
  }
  return nullptr;
}

// A loopback port nobody listens on right now.
inline int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

inline bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

class RedisServer {
 public:
  explicit RedisServer(int port = 0)
      : port_(port == 0 ? FreeLoopbackPort() : port) {}
  ~RedisServer() { Kill(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts the server (with `extra` arguments, e.g. {"--requirepass", "s"})
  // and waits until it accepts connections; false if it does not.
  bool Start(const std::vector<std::string>& extra = {}) {
    const char* bin = RedisServerBinary();
    if (bin == nullptr) return false;
    std::vector<std::string> args = {
        bin,          "--port",       std::to_string(port_),
        "--bind",     "127.0.0.1",    "--save",
        "",           "--appendonly", "no",
        "--loglevel", "warning",      "--logfile",
        "/dev/null"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin, argv.data());
      _exit(127);
    }
    // Readiness poll: the server's start-up takes milliseconds.
    for (int i = 0; i < 500; ++i) {
      if (Accepts(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // Kills the server at once (SIGKILL): what a crash looks like.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Sends one inline command (e.g. "CONFIG SET maxmemory 1") on a fresh
  // connection and returns the first line of the reply ("+OK"), or "" if
  // the server could not be reached.
  std::string Command(const std::string& command) const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    std::string reply;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      const std::string line = command + "\r\n";
      if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(line.size())) {
        char c;
        while (recv(fd, &c, 1, 0) == 1 && c != '\r') reply += c;
      }
    }
    close(fd);
    return reply;
  }

  int port() const { return port_; }
  std::string url(int db = 0) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" +
           std::to_string(db);
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

}  // namespace testutil
}  // namespace mlmon

#endif  // MLMON_TESTS_TESTING_REDIS_SERVER_H_
