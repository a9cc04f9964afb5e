// The README's "Instrument your server in ten lines", compiled and run by the
// test example.ten_lines: every line of that README block is in this file
// (tests/readme_ten_lines_test.py checks it). The program serves on an
// ephemeral loopback port, scores a few requests with a toy model, feeds
// their outcomes, then scrapes its own /metrics over HTTP and checks what the
// ten lines promised is there.

#include <arpa/inet.h>
#include <mlmon/http_server.h>
#include <mlmon/model_monitor.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Request {
  std::string id;
  double amount;
};

struct ToyModel {
  double Predict(const Request& r) const { return r.amount > 100 ? 0.9 : 0.1; }
};

// GET path over a plain socket: the scrape a Prometheus server would do.
std::string HttpGet(int port, const char* path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        std::string("GET ") + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
        response.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  return response;
}

}  // namespace

int main() {
  if (::chdir(MLMON_TEN_LINES_DIR) != 0) return 2;  // where monitor.yaml is
  const ToyModel model;
  mlmon::HttpServerOptions options;  // 127.0.0.1, an ephemeral port
  std::vector<Request> requests;
  for (int i = 0; i < 100; ++i)
    requests.push_back({"r" + std::to_string(i), i * 3.0});

  // --- the ten lines (laid out as the README quotes them) -------------------
  // clang-format off
  mlmon::Registry registry;                                   // start-up
  mlmon::ModelMonitor monitor(registry, mlmon::LoadMonitorSpec("monitor.yaml"));
  mlmon::Endpoint& predict = monitor.endpoint("predict");
  mlmon::Ticker ticker;  ticker.Add([&] { monitor.Tick(); }); // windows, drift
  mlmon::HttpServer http(options, registry);  http.Start();   // GET /metrics

  for (const Request& request : requests) {
    mlmon::RequestGuard guard(predict);                         // per request
    double score = model.Predict(request);                      // your model
    monitor.distribution().ObserveScore(score);                 // output drift
    monitor.outcomes().RecordPrediction(request.id, score);     // join outcomes
  }
  // clang-format on
  // -------------------------------------------------------------------------

  // The true outcomes arrive later (here from C++; usually POST /v1/outcomes).
  int matched = 0;
  for (const Request& request : requests) {
    const mlmon::OutcomeResult r = monitor.outcomes().RecordOutcome(
        request.id, request.amount > 150 ? 1.0 : 0.0);
    matched += r == mlmon::OutcomeResult::kMatched;
  }
  if (matched != 100) {
    std::printf("%d of 100 outcomes matched\n", matched);
    return 1;
  }
  ticker.RunOnce();
  const std::string scrape = HttpGet(http.port(), "/metrics");
  const char* expected[] = {
      "mlmon_requests_total{model=\"toy\",version=\"1\",endpoint=\"predict\","
      "status=\"ok\"} 100",
      "mlmon_request_duration_seconds_count{model=\"toy\",version=\"1\","
      "endpoint=\"predict\"} 100",
      "mlmon_predictions_total{model=\"toy\",version=\"1\",segment=\"\",class="
      "\"1\"} 66",
      "mlmon_outcomes_total{model=\"toy\",version=\"1\",segment=\"\",result="
      "\"matched\"} "
      "100",
  };
  int missing = 0;
  for (const char* line : expected) {
    if (scrape.find(line) == std::string::npos) {
      std::printf("missing from /metrics: %s\n", line);
      ++missing;
    }
  }
  if (missing != 0) {
    std::printf("--- scrape ---\n%s\n", scrape.c_str());
    return 1;
  }
  std::printf(
      "ten lines: /metrics on port %d has requests, latency, "
      "predictions and matched outcomes\n",
      http.port());
  return 0;
}
