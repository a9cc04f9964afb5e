// `mlmon demo`: the demo model server (tools/demo) in-process, synthetic
// traffic, and a live summary read back from the registry.
#include <mlmon/duration.h>
#include <mlmon/outcome_tracker.h>
#include <mlmon/registry.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <deque>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "duration_option.h"
#include "http_client.h"
#include "internal/metric_catalogue.h"
#include "server.h"
#include "traffic.h"

namespace mlmon_cli {
namespace {

namespace metrics = mlmon::internal::metrics;

std::atomic<bool> g_interrupted{false};
extern "C" void OnSignal(int) { g_interrupted.store(true); }

struct DemoOptions {
  int port = 8080;
  double duration = 120;  // seconds; 0 = until Ctrl-C
  double rate = 200;      // requests per second, all clients together
  int clients = 2;
  double bad_request_share = 0.01;
  double outcome_delay = 2;    // seconds from prediction to outcome
  double outcome_share = 0.9;  // share of predictions whose outcome comes
  std::string model_path;
  std::string config_path;     // monitor.yaml (default: tools/demo's)
  std::string fault = "none";  // see mlmon_demo::Fault
  double fault_after = 0;      // seconds into the run
  std::string emit_training;   // write training lines here and exit
  long emit_count = 20000;
  bool canary = false;         // serve v1 and v2, swap to v2 mid-run
  double canary_share = 0.2;   // share of requests v2 serves before the swap
  std::string prediction_log;  // directory of the prediction log, or empty
  double swap_after = 0;       // seconds; 0: half of duration
};

// What the summary line shows, read from the registry like a scrape would.
struct Totals {
  double ok = 0, error = 0, in_flight = 0, matched = 0;
  double precision = NAN, recall = NAN, auc = NAN;
  std::vector<double> bounds;
  std::vector<double> cumulative;
};

// Counts of one version only when `version` is not empty; the quality
// gauges of `quality_version` only when it is not empty (the champion's when
// two versions serve).
Totals ReadTotals(const mlmon::Registry& registry,
                  const std::string& version = "",
                  const std::string& quality_version = "") {
  Totals t;
  for (const auto& fam : registry.Collect()) {
    for (const auto& m : fam.metric) {
      std::string status;
      bool other_version = false, other_quality = false;
      for (const auto& l : m.label) {
        if (l.name == "status") status = l.value;
        if (l.name != "version") continue;
        other_version = !version.empty() && l.value != version;
        other_quality = !quality_version.empty() && l.value != quality_version;
      }
      if (other_version) continue;
      std::string result, metric, window, threshold;
      for (const auto& l : m.label) {
        if (l.name == "result") result = l.value;
        if (l.name == "metric") metric = l.value;
        if (l.name == "window") window = l.value;
        if (l.name == "threshold") threshold = l.value;
      }
      if (fam.name == metrics::kOutcomesTotal.def.name && result == "matched") {
        t.matched += m.counter.value;
      } else if (fam.name == metrics::kModelQuality.def.name &&
                 window == "1m" && !other_quality) {
        if (metric == "precision" && threshold == "0.5")
          t.precision = m.gauge.value;
        if (metric == "recall" && threshold == "0.5") t.recall = m.gauge.value;
        if (metric == "auc") t.auc = m.gauge.value;
      } else if (fam.name == metrics::kRequestsTotal.def.name) {
        (status == "ok" ? t.ok : t.error) += m.counter.value;
      } else if (fam.name == metrics::kRequestsInFlight.def.name) {
        t.in_flight += m.gauge.value;
      } else if (fam.name == metrics::kRequestDurationSeconds.def.name) {
        // Summed over versions (they share the demo's bounds).
        if (t.bounds.size() != m.histogram.bucket.size()) {
          t.bounds.clear();
          t.cumulative.clear();
          for (const auto& b : m.histogram.bucket) {
            t.bounds.push_back(b.upper_bound);
            t.cumulative.push_back(0);
          }
        }
        for (std::size_t i = 0; i < m.histogram.bucket.size(); ++i) {
          t.cumulative[i] +=
              static_cast<double>(m.histogram.bucket[i].cumulative_count);
        }
      }
    }
  }
  return t;
}

// Quantile over the bucket deltas between two reads, interpolated within the
// bucket like PromQL's histogram_quantile.
double Quantile(double q, const Totals& now, const Totals& before) {
  if (now.cumulative.empty()) return NAN;
  std::vector<double> c = now.cumulative;
  if (before.cumulative.size() == c.size()) {
    for (std::size_t i = 0; i < c.size(); ++i) c[i] -= before.cumulative[i];
  }
  const double total = c.back();
  if (total <= 0) return NAN;
  const double rank = q * total;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c[i] >= rank) {
      if (std::isinf(now.bounds[i])) return now.bounds[i - 1];
      const double lo = i == 0 ? 0 : now.bounds[i - 1];
      const double below = i == 0 ? 0 : c[i - 1];
      const double in_bucket = c[i] - below;
      return lo + (now.bounds[i] - lo) * (rank - below) / in_bucket;
    }
  }
  return NAN;
}

// The model's score of a transaction, as the server computes it.
double Score(const mlmon_demo::LogisticModel& model,
             const mlmon_demo::Transaction& t) {
  const double raw[] = {t.amount_usd, t.account_age_days, t.tx_last_24h,
                        t.distance_km, t.session_seconds};
  const char* names[] = {"amount_usd", "account_age_days", "tx_last_24h",
                         "distance_km", "session_seconds"};
  std::vector<double> values(model.features().size(), NAN);
  for (int k = 0; k < 5; ++k) {
    const int i = model.IndexOf(names[k]);
    if (i >= 0) values[static_cast<std::size_t>(i)] = raw[k];
  }
  return model.Score(values.data());
}

// --fault population-shift: the partner's own screen blocks a transaction
// whose risk score (the model's) is at or above this, so the model sees only
// the borderline cases below it.
constexpr double kPartnerScreen = 0.7;

// An outcome the downstream system will report later.
struct Pending {
  std::chrono::steady_clock::time_point due;
  std::string id;
  bool fraud;
};

// Posts the outcomes that are due as one NDJSON batch.
void SendDueOutcomes(int port, std::deque<Pending>* pending, bool all) {
  const auto now = std::chrono::steady_clock::now();
  std::string body;
  while (!pending->empty() && (all || pending->front().due <= now)) {
    body += "{\"id\":\"" + pending->front().id +
            "\",\"outcome\":" + (pending->front().fraud ? "1" : "0") + "}\n";
    pending->pop_front();
  }
  if (body.empty()) return;
  mlmon::tools::HttpCall("127.0.0.1", port, "POST", "/v1/outcomes", body,
                         {{"Content-Type", "application/x-ndjson"}}, 5000);
}

void Client(int index, const DemoOptions& o, int port,
            const std::atomic<bool>& unit_change,
            const std::atomic<bool>& prescreened,
            const mlmon_demo::LogisticModel& screen, std::atomic<bool>& stop) {
  mlmon_demo::TrafficGenerator gen(1000 + static_cast<std::uint64_t>(index));
  std::mt19937_64 rng(77 + static_cast<std::uint64_t>(index));
  std::bernoulli_distribution bad(o.bad_request_share);
  std::bernoulli_distribution reported(o.outcome_share);
  const auto period =
      std::chrono::duration<double>(static_cast<double>(o.clients) / o.rate);
  const auto delay =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(o.outcome_delay));
  std::deque<Pending> pending;
  auto next = std::chrono::steady_clock::now();
  auto next_outcomes = next;
  for (long n = 0; !stop.load(); ++n) {
    const std::string id =
        "c" + std::to_string(index) + "-" + std::to_string(n);
    mlmon_demo::Transaction t = gen.Next();
    // A pre-screened population: the partner blocked what its screen scores
    // high; the next transaction it lets through is sent.
    while (prescreened.load(std::memory_order_relaxed) &&
           Score(screen, t) >= kPartnerScreen) {
      t = gen.Next();
    }
    // The silent failure of the talk: an upstream service starts sending
    // the session length in milliseconds.
    if (unit_change.load(std::memory_order_relaxed))
      t.session_seconds *= 1000.0;
    std::string body = mlmon_demo::TrafficGenerator::PredictBody(id, t);
    if (bad(rng)) body = "{\"id\":\"" + id + "\",\"features\":\"oops\"}";
    auto r =
        mlmon::tools::HttpCall("127.0.0.1", port, "POST", "/v1/predict", body,
                               {{"Content-Type", "application/json"}}, 5000);
    if (r.status == 200 && reported(rng)) {
      pending.push_back(
          {std::chrono::steady_clock::now() + delay, id, t.fraud});
    }
    if (std::chrono::steady_clock::now() >= next_outcomes) {
      SendDueOutcomes(port, &pending, false);
      next_outcomes += std::chrono::milliseconds(500);
    }
    next +=
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    std::this_thread::sleep_until(next);
  }
}

// Writes `n` training lines ({"id", "score", "outcome", "features"}) drawn
// from the traffic process and scored by the model, for `mlmon profile`
// (the outcome gives the profile its calibration map).
int EmitTraining(const DemoOptions& o) {
  const mlmon_demo::LogisticModel model = mlmon_demo::LogisticModel::Load(
      o.model_path.empty() ? mlmon_demo::DefaultModelPath() : o.model_path);
  std::FILE* out = std::fopen(o.emit_training.c_str(), "w");
  if (out == nullptr)
    throw std::runtime_error("cannot write '" + o.emit_training + "'");
  mlmon_demo::TrafficGenerator gen(20261126);
  for (long n = 0; n < o.emit_count; ++n) {
    const mlmon_demo::Transaction t = gen.Next();
    const double raw[] = {t.amount_usd, t.account_age_days, t.tx_last_24h,
                          t.distance_km, t.session_seconds};
    std::fprintf(out,
                 "{\"id\":\"train-%ld\",\"score\":%.17g,\"outcome\":%d,"
                 "\"features\":{\"amount_"
                 "usd\":%.17g,"
                 "\"account_age_days\":%.17g,\"tx_last_24h\":%.17g,\"distance_"
                 "km\":%.17g,"
                 "\"session_seconds\":%.17g}}\n",
                 n, Score(model, t), t.fraud ? 1 : 0, raw[0], raw[1], raw[2],
                 raw[3], raw[4]);
  }
  std::fclose(out);
  std::printf("wrote %ld training lines to %s\n", o.emit_count,
              o.emit_training.c_str());
  return 0;
}

int RunDemo(const DemoOptions& o) {
  if (!o.emit_training.empty()) return EmitTraining(o);
  mlmon::Registry registry;
  mlmon_demo::ServerOptions server_options;
  server_options.port = o.port;
  server_options.model_path = o.model_path;
  server_options.monitor_path = o.config_path;
  server_options.canary = o.canary;
  server_options.challenger_share = o.canary_share;
  server_options.prediction_log = o.prediction_log;
  const mlmon_demo::Fault fault = mlmon_demo::ParseFault(o.fault);
  mlmon_demo::ModelServer server(registry, server_options);
  server.Start();
  const int port = server.port();
  std::printf(
      "mlmon demo: model '%s' serving on http://127.0.0.1:%d\n"
      "  status:   http://127.0.0.1:%d/ (charts of the last minutes)\n"
      "  metrics:  curl -s http://127.0.0.1:%d/metrics\n"
      "  predict:  curl -s http://127.0.0.1:%d/v1/predict -d "
      "'{\"id\":\"x\",\"features\":{\"amount_usd\":40}}'\n"
      "  %g requests/s from %d clients, %s; Ctrl-C stops\n",
      server.model().name().c_str(), port, port, port, port, o.rate, o.clients,
      o.duration > 0
          ? ("for " + std::to_string(static_cast<int>(o.duration)) + " s")
                .c_str()
          : "until interrupted");
  // When the challenger takes all traffic (never when 0).
  const double swap_at = !o.canary          ? 0
                         : o.swap_after > 0 ? o.swap_after
                                            : o.duration / 2;
  if (o.canary) {
    char swap_text[64] = "no swap (--swap-after)";
    if (swap_at > 0) {
      std::snprintf(swap_text, sizeof swap_text,
                    "the challenger takes all traffic at t=%gs", swap_at);
    }
    std::printf(
        "  canary: versions %s and %s side by side, %s serves %g%% of the "
        "requests (by id), each request is scored by the other in shadow; "
        "%s\n",
        server_options.champion_version.c_str(),
        server_options.challenger_version.c_str(),
        server_options.challenger_version.c_str(), 100.0 * o.canary_share,
        swap_text);
  }
  std::fflush(stdout);

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::atomic<bool> stop{false};
  std::atomic<bool> unit_change{false};
  std::atomic<bool> prescreened{false};
  const mlmon_demo::LogisticModel screen = mlmon_demo::LogisticModel::Load(
      o.model_path.empty() ? mlmon_demo::DefaultModelPath() : o.model_path);
  bool fault_on = false;
  auto start_fault = [&](double elapsed) {
    fault_on = true;
    if (fault == mlmon_demo::Fault::kUnitChange) {
      unit_change.store(true);
    } else if (fault == mlmon_demo::Fault::kPopulationShift) {
      prescreened.store(true);
    } else {
      server.SetFault(fault);
    }
    std::printf("  t=%5.1fs  fault on: %s\n", elapsed, o.fault.c_str());
    std::fflush(stdout);
  };
  if (fault != mlmon_demo::Fault::kNone && o.fault_after <= 0) start_fault(0);
  std::vector<std::thread> clients;
  for (int i = 0; i < o.clients; ++i) {
    clients.emplace_back(Client, i, std::cref(o), port, std::cref(unit_change),
                         std::cref(prescreened), std::cref(screen),
                         std::ref(stop));
  }
  const auto start = std::chrono::steady_clock::now();
  Totals before = ReadTotals(registry);
  Totals retired;  // counts of an unloaded version (--canary)
  auto last = start;
  while (!g_interrupted.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const bool done = o.duration > 0 && elapsed >= o.duration;
    if (!fault_on && fault != mlmon_demo::Fault::kNone &&
        elapsed >= o.fault_after) {
      start_fault(elapsed);
    }
    if (swap_at > 0 && elapsed >= swap_at && server.has_challenger()) {
      // v1's counts leave the registry with it: keep them for the summary
      // (the few requests v1 still finishes during the swap are not in it).
      const Totals v1 = ReadTotals(registry, server_options.champion_version);
      retired.ok += v1.ok;
      retired.error += v1.error;
      retired.matched += v1.matched;
      server.Promote();
      // The next summary line covers the time since the swap.
      before = ReadTotals(registry);
      last = std::chrono::steady_clock::now();
      std::printf(
          "  t=%5.1fs  swap: %s takes all traffic, %s unloaded (its series "
          "are gone from /metrics)\n",
          std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                        start)
              .count(),
          server_options.challenger_version.c_str(),
          server_options.champion_version.c_str());
      std::fflush(stdout);
    }
    if (now - last >= std::chrono::seconds(1) || done) {
      Totals t = ReadTotals(registry, "", server.monitor().spec().version);
      const double dt = std::chrono::duration<double>(now - last).count();
      const double reqs = (t.ok + t.error) - (before.ok + before.error);
      const double errs = t.error - before.error;
      std::printf(
          "  t=%5.1fs  %6.1f req/s  errors %5.2f%%  p99 %6.2f ms  "
          "outcomes %6g  1m: precision %.3f recall %.3f auc %.3f\n",
          elapsed, reqs / dt, reqs > 0 ? 100.0 * errs / reqs : 0.0,
          1000.0 * Quantile(0.99, t, before), retired.matched + t.matched,
          t.precision, t.recall, t.auc);
      std::fflush(stdout);
      before = std::move(t);
      last = now;
    }
    if (done) break;
  }
  stop.store(true);
  for (auto& c : clients) c.join();
  server.Stop();
  server.monitor().Tick();
  Totals t = ReadTotals(registry);
  std::printf("demo finished: %g requests (%g errors), %g outcomes matched\n",
              retired.ok + retired.error + t.ok + t.error,
              retired.error + t.error, retired.matched + t.matched);
  // Input and output drift against the training profile, shortest window.
  std::string drift;
  const std::string window =
      mlmon::FormatDuration(server.monitor().spec().features.windows.empty()
                                ? std::chrono::seconds(60)
                                : server.monitor().spec().features.windows[0]);
  for (const auto& fam : registry.Collect()) {
    if (fam.name != metrics::kDriftScore.def.name) continue;
    for (const auto& m : fam.metric) {
      std::string signal, method, w;
      for (const auto& l : m.label) {
        if (l.name == "signal") signal = l.value;
        if (l.name == "method") method = l.value;
        if (l.name == "window") w = l.value;
      }
      if (method == "psi" && w == window) {
        char buf[128];
        std::snprintf(buf, sizeof buf, " %s=%.4f", signal.c_str(),
                      m.gauge.value);
        drift += buf;
      }
    }
  }
  std::printf("drift psi (window %s):%s\n", window.c_str(), drift.c_str());
  return 0;
}

}  // namespace

Command AddDemoCommand(CLI::App& app) {
  auto opts = std::make_shared<DemoOptions>();
  CLI::App* sub = app.add_subcommand(
      "demo",
      "Serve the demo fraud model, drive synthetic traffic at it "
      "and print a live summary");
  sub->add_option("--port", opts->port, "Port to serve on (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  sub->add_option("--duration", opts->duration,
                  "How long to run: 40s, 5m, 250ms; a bare number is "
                  "seconds (0: until Ctrl-C)")
      ->capture_default_str()
      ->transform(DurationSeconds());
  sub->add_option("--rate", opts->rate, "Requests per second")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--clients", opts->clients, "Concurrent clients")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  sub->add_option("--model", opts->model_path, "Model file (fraud_model.txt)");
  sub->add_option("--config", opts->config_path,
                  "monitor.yaml of the model (default: the demo's)")
      ->check(CLI::ExistingFile);
  sub->add_option("--fault", opts->fault,
                  "Failure to reproduce: none; unit-change (session length "
                  "sent in milliseconds); aggressive-filter (post-filter "
                  "empties most responses); broken-dependency (scores "
                  "inverted, precision collapses once outcomes arrive); slow "
                  "(+150 ms per request); errors (1 request in 4 fails); "
                  "population-shift (traffic pre-screened by a partner: "
                  "only borderline cases reach the model)")
      ->capture_default_str()
      ->check(CLI::IsMember(mlmon_demo::FaultNames()));
  sub->add_option("--fault-after", opts->fault_after,
                  "How long into the run the fault starts (30s, 2m; a bare "
                  "number is seconds)")
      ->capture_default_str()
      ->transform(DurationSeconds());
  sub->add_option(
      "--emit-training", opts->emit_training,
      "Write training lines (for mlmon profile) to this file and exit");
  sub->add_option("--emit-count", opts->emit_count, "Lines for --emit-training")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--outcome-delay", opts->outcome_delay,
                  "How long after a prediction its outcome is posted (2s, "
                  "500ms; a bare number is seconds)")
      ->capture_default_str()
      ->transform(DurationSeconds());
  sub->add_option("--outcome-share", opts->outcome_share,
                  "Share of predictions whose outcome is ever posted")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--prediction-log", opts->prediction_log,
                  "Existing directory where the server logs every prediction "
                  "(<model>-<version>-predictions.ndjson): the ids the "
                  "exemplars of /metrics (OpenMetrics) name")
      ->check(CLI::ExistingDirectory);
  sub->add_flag("--canary", opts->canary,
                "Serve the model as v1 and a slightly different v2 side by "
                "side (each with its own metrics, shadow comparison of "
                "every request), then swap: v2 takes all traffic and v1 is "
                "unloaded mid-run");
  sub->add_option("--canary-share", opts->canary_share,
                  "With --canary: share of the requests v2 serves before the "
                  "swap")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--swap-after", opts->swap_after,
                  "With --canary: how long into the run v2 takes all traffic "
                  "(30s, 2m; a bare number is seconds; 0: half of "
                  "--duration, never if that is 0)")
      ->capture_default_str()
      ->transform(DurationSeconds());
  return Command{sub, [opts] { return RunDemo(*opts); }};
}

}  // namespace mlmon_cli
