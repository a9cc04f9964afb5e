// mlmon-example-server: a fraud model behind POST /v1/predict, monitored by
// mlmon. Without arguments it scores one transaction and exits (a self-test
// that binds no port); with --port P it serves until SIGINT/SIGTERM.
//
//   build/bin/mlmon-example-server --port 8080
//   curl -s localhost:8080/v1/predict -d '{"id":"t1","features":{"amount_usd":30}}'
//   curl -s localhost:8080/metrics

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "server.h"

int main(int argc, char** argv) {
  int port = -1;
  std::string model_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
      model_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--port P] [--model FILE]\n", argv[0]);
      return 2;
    }
  }
  try {
    mlmon::Registry registry;
    mlmon_example::ServerOptions options;
    options.port = port < 0 ? 0 : port;
    options.model_path = model_path;
    options.start_ticker = port >= 0;
    mlmon_example::ModelServer server(registry, options);
    if (port < 0) {  // self-test: no port bound
      mlmon::HttpRequest r;
      r.body = R"({"id":"self-test","features":{"amount_usd":25,"account_age_days":900,"tx_last_24h":1,"distance_km":5,"session_seconds":320}})";
      mlmon::HttpResponse resp = server.Predict(r);
      std::printf("%d %s\n", resp.status, resp.body.c_str());
      return resp.status == 200 ? 0 : 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // server threads inherit it
    server.Start();
    std::printf("serving model '%s' on http://127.0.0.1:%d (POST /v1/predict, "
                "GET /metrics)\n",
                server.model().name().c_str(), server.port());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    server.Stop();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlmon-example-server: %s\n", e.what());
    return 1;
  }
}
