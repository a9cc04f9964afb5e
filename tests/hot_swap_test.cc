// Hot swap under load: a model version is replaced 100 times while 8
// threads record on it (and on a second model), the HTTP server is scraped,
// feedback is posted and the status sampler runs. Run by CI under ASan and
// TSan too: a destroyed version must leave no series behind and never be
// touched again, and the surviving version's totals must be exact.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "mlmon/feedback_endpoint.h"
#include "mlmon/golden_signals.h"
#include "mlmon/http_server.h"
#include "mlmon/model_monitor.h"
#include "mlmon/outcome_ingest.h"
#include "mlmon/registry.h"
#include "mlmon/ticker.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using tools::HttpCall;
using tools::HttpResult;

MonitorSpec Spec(const std::string& model, const std::string& version) {
  MonitorSpec spec;
  spec.model = model;
  spec.version = version;
  spec.outcome.pending_capacity = 4096;
  return spec;
}

std::string Version(int k) { return "v" + std::to_string(k); }

// Counts what the recording threads did, per version.
struct Tally {
  std::mutex mu;
  std::map<std::string, std::uint64_t> requests;
  std::map<std::string, std::uint64_t> predictions;
};

TEST(HotSwapTest, SwapsUnderLoadLeaveNoSeriesAndLoseNoCount) {
  constexpr int kSwaps = 100;
  constexpr int kRecorders = 8;

  Registry registry;
  OutcomeIngest ingest;
  Ticker ticker(std::chrono::milliseconds(5));
  HttpServerOptions options;
  options.status_interval_ms = 10;
  HttpServer server(options, registry);
  AddFeedbackRoute(server, ingest);
  server.Start();

  // A second model that stays while the first is swapped.
  ModelMonitor eta(registry, Spec("eta", "1"));
  eta.TickOn(ticker);
  ingest.AddTracker(eta.outcomes());

  // Counts versions whose destructor has returned (weak_ptr::expired turns
  // true before the destructor runs).
  std::atomic<int> destroyed{0};
  auto load = [&](int k) {
    return std::shared_ptr<ModelMonitor>(
        new ModelMonitor(registry, Spec("fraud", Version(k))),
        [&destroyed](ModelMonitor* m) {
          delete m;
          destroyed.fetch_add(1);
        });
  };
  std::shared_ptr<ModelMonitor> current = load(0);
  current->TickOn(ticker);
  ingest.AddTracker(current->outcomes());

  std::atomic<bool> stop{false};
  Tally tally;
  std::atomic<std::uint64_t> eta_requests{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kRecorders; ++t) {
    threads.emplace_back([&, t] {
      std::map<std::string, std::uint64_t> requests, predictions;
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        // A request holds the monitor it started with, as a server would.
        std::shared_ptr<ModelMonitor> m = std::atomic_load(&current);
        const std::string id =
            "t" + std::to_string(t) + "-" + std::to_string(n++);
        {
          RequestGuard guard(m->endpoint("predict"));
          if (m->outcomes().RecordPrediction(id, (n % 100) / 100.0)) {
            ++predictions[m->spec().version];
          }
        }
        ++requests[m->spec().version];
        if (n % 4 == 0) {
          RequestGuard other(eta.endpoint("predict"));
          eta_requests.fetch_add(1, std::memory_order_relaxed);
        }
      }
      std::lock_guard<std::mutex> lock(tally.mu);
      for (const auto& [v, c] : requests) tally.requests[v] += c;
      for (const auto& [v, c] : predictions) tally.predictions[v] += c;
    });
  }
  // Scrapes /metrics and the status API.
  std::atomic<int> scrapes{0};
  threads.emplace_back([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      HttpResult r =
          HttpCall("127.0.0.1", server.port(), "GET", "/metrics", "", {});
      EXPECT_EQ(r.status, 200) << r.error;
      HttpResult s =
          HttpCall("127.0.0.1", server.port(), "GET", "/api/v1/status", "", {});
      EXPECT_EQ(s.status, 200) << s.error;
      scrapes.fetch_add(1);
    }
  });
  // Posts feedback naming the model only: it reaches whichever versions
  // are live, or answers unknown model between two of them.
  std::atomic<int> posts{0};
  threads.emplace_back([&] {
    const std::vector<std::pair<std::string, std::string>> ndjson = {
        {"Content-Type", "application/x-ndjson"}};
    std::uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      std::string body;
      for (int i = 0; i < 20; ++i, ++n) {
        body += "{\"id\":\"t" + std::to_string(n % kRecorders) + "-" +
                std::to_string(n / kRecorders) +
                "\",\"outcome\":1,\"model\":\"fraud\"}\n";
      }
      HttpResult r = HttpCall("127.0.0.1", server.port(), "POST",
                              "/v1/outcomes", body, ndjson);
      EXPECT_EQ(r.status, 200) << r.error << r.body;
      posts.fetch_add(1);
    }
  });

  for (int k = 1; k <= kSwaps; ++k) {
    // Load the next version, route traffic to it, let the old one go.
    std::shared_ptr<ModelMonitor> next = load(k);
    next->TickOn(ticker);
    ingest.AddTracker(next->outcomes());
    std::atomic_store(&current, next);
    next.reset();
    // The old version is destroyed when its last request ends.
    while (destroyed.load() < k) std::this_thread::yield();
    const std::string text = registry.TextExposition();
    const std::size_t at = text.find("version=\"" + Version(k - 1) + "\"");
    if (at != std::string::npos) {
      ADD_FAILURE() << "a series of destroyed " << Version(k - 1) << ": "
                    << text.substr(text.rfind('\n', at) + 1, 200);
      break;
    }
    EXPECT_NE(text.find("version=\"" + Version(k) + "\""), std::string::npos);
  }
  stop.store(true);
  for (auto& th : threads) th.join();

  const std::string last = Version(kSwaps);
  const std::string text = registry.TextExposition();
  for (int k = 0; k < kSwaps; ++k) {
    ASSERT_EQ(text.find("version=\"" + Version(k) + "\""), std::string::npos)
        << Version(k);
  }
  // Exact totals for the survivor, and for the model that was never swapped.
  EXPECT_EQ(testutil::SampleValue(
                text, "mlmon_requests_total{model=\"fraud\",version=\"" + last +
                          "\",endpoint=\"predict\",status=\"ok\"}"),
            static_cast<double>(tally.requests[last]));
  EXPECT_EQ(
      testutil::SampleValue(text,
                            "mlmon_requests_total{model=\"eta\",version=\"1\","
                            "endpoint=\"predict\",status=\"ok\"}"),
      static_cast<double>(eta_requests.load()));
  // Feedback joined the survivor's own predictions only.
  const auto matched = testutil::SampleValue(
      text, "mlmon_outcomes_total{model=\"fraud\",version=\"" + last +
                "\",segment=\"\",result=\"matched\"}");
  ASSERT_TRUE(matched.has_value());
  EXPECT_LE(*matched, static_cast<double>(tally.predictions[last]));
  EXPECT_EQ(registry.model_versions(), 2u);  // eta/1 and the survivor
  EXPECT_GT(scrapes.load(), 0);
  EXPECT_GT(posts.load(), 0);
}

}  // namespace
}  // namespace mlmon
