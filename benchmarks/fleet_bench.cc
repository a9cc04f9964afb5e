// Fleet benchmarks: the Redis pending store (not paired: prometheus-cpp has
// no join). Each case starts its own redis-server on a free loopback port
// (no persistence) and kills it at the end; without redis-server, or in a
// build without MLMON_WITH_REDIS, every case is skipped with a message.
//
// Keys are `mlmon:fraud:7:<id>` with 10-digit ids: 24 bytes, the value
// 12 bytes (a binary task: 4 bytes of time, the 8-byte score).
//
//   FleetRecordPrediction_Redis / _Memory
//                     the hot path, `RecordPrediction(id, score)` on one
//                     tracker shared by 1 or 2 threads, CPU time per call,
//                     same ids (a disjoint range per thread). Redis: the
//                     default max_buffered (100,000); every 40,000 calls
//                     per thread the timer stops and `FlushPending` empties
//                     the buffer, so no push finds it full. A refused push
//                     is counted (`dropped`, must be 0). Memory: the store
//                     in cache (capacity 10,000, kept full) and the default
//                     store (1,000,000, kept full: every insert evicts).
//   FleetWrite        predictions one tracker gets written into Redis:
//                     100,000 `RecordPrediction` then `FlushPending`, real
//                     time; items/s = predictions written per second;
//                     `redis_cpu_us`, `client_cpu_us`: CPU microseconds per
//                     prediction of redis-server and of this process.
//   FleetIngest       `POST /v1/outcomes` on a real HttpServer whose ingest
//                     holds a Redis tracker; the predictions were written
//                     beforehand by another tracker in another registry (a
//                     second replica). NDJSON bodies of 1,000 outcomes, one
//                     connection per body, 1 or 2 client threads; real
//                     time, items/s = outcomes joined per second. Every
//                     body must answer 200 with all 1,000 matched.
//   FleetRedisMemory  Redis `used_memory` before and after writing
//                     1,000,000 predictions; bytes per prediction. Arg: id
//                     length (10: 24-byte keys; 36, a UUID: 50-byte keys).
//
// Run: build/bin/mlmon-bench --benchmark_filter=Fleet

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mlmon/errors.h"
#include "mlmon/outcome_tracker.h"
#include "mlmon/pending_store_spec.h"
#include "mlmon/registry.h"
#include "testing/redis_server.h"
#ifdef MLMON_BENCH_WITH_HTTP
#include "http_client.h"
#include "mlmon/feedback_endpoint.h"
#include "mlmon/http_server.h"
#include "mlmon/outcome_ingest.h"
#endif

namespace {

using std::chrono::milliseconds;

constexpr std::uint64_t kIdBase = 1000000000;  // 10-digit ids
constexpr std::size_t kFlushEvery = 40000;     // per thread, < 100,000 / 2
constexpr std::size_t kWriteBatch = 100000;
constexpr std::size_t kBodyLines = 1000;

// A fixed-width decimal id (no allocation in the timed loops); ids longer
// than 10 characters are padded on the left with 'a' (36: UUID-sized).
struct IdMaker {
  explicit IdMaker(std::size_t length = 10) : len(length) {
    for (char& c : buf) c = 'a';
  }
  std::size_t len;
  char buf[64];
  std::string_view operator()(std::uint64_t n) {
    char* p = buf + len;
    for (int i = 0; i < 10; ++i) {
      *--p = static_cast<char>('0' + n % 10);
      n /= 10;
    }
    return std::string_view(buf, len);
  }
};

// Why Redis cases cannot run here, or empty.
std::string RedisMissing() {
  if (!mlmon::RedisPendingStoreAvailable()) {
    return "skipped: mlmon built without MLMON_WITH_REDIS";
  }
  if (mlmon::testutil::RedisServerBinary() == nullptr) {
    return "skipped: redis-server not installed (scripts/deps installs it)";
  }
  return "";
}

mlmon::OutcomeSpec RedisSpec(const std::string& url,
                             std::size_t max_buffered = 100000) {
  mlmon::OutcomeSpec spec;
  spec.store.backend = mlmon::PendingStoreSpec::Backend::kRedis;
  spec.store.url = url;
  spec.store.key_prefix = "mlmon:";
  spec.store.timeout = milliseconds(2000);
  spec.store.max_buffered = max_buffered;
  return spec;
}

// One RESP command over a fresh connection; the reply's raw bytes (enough
// for INFO, FLUSHALL and DBSIZE: the bench needs no client library).
std::optional<std::string> RedisCommand(
    int port, std::initializer_list<std::string> args) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return std::nullopt;
  }
  std::string req = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& s : args) {
    req += "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
  }
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(req.size())) {
    close(fd);
    return std::nullopt;
  }
  shutdown(fd, SHUT_WR);  // the server answers, then sees EOF and closes
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
    reply.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return reply;
}

// `used_memory` from INFO memory, or -1.
double UsedMemory(int port) {
  const auto r = RedisCommand(port, {"INFO", "memory"});
  if (!r) return -1;
  const std::size_t at = r->find("used_memory:");
  if (at == std::string::npos) return -1;
  return std::strtod(r->c_str() + at + 12, nullptr);
}

// redis-server's CPU time so far (INFO cpu, user + sys seconds), or -1.
double RedisCpuSeconds(int port) {
  const auto r = RedisCommand(port, {"INFO", "cpu"});
  if (!r) return -1;
  const std::size_t u = r->find("used_cpu_user:");
  const std::size_t s = r->find("used_cpu_sys:");
  if (u == std::string::npos || s == std::string::npos) return -1;
  return std::strtod(r->c_str() + u + 14, nullptr) +
         std::strtod(r->c_str() + s + 13, nullptr);
}

// This process' CPU time so far (all threads), in seconds.
double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// A redis-server for one run of a case; null (and the state skipped) if it
// cannot run.
std::unique_ptr<mlmon::testutil::RedisServer> StartRedis(
    benchmark::State& state) {
  const std::string missing = RedisMissing();
  if (!missing.empty()) {
    state.SkipWithError(missing.c_str());
    return nullptr;
  }
  auto server = std::make_unique<mlmon::testutil::RedisServer>();
  if (!server->Start()) {
    state.SkipWithError("redis-server did not start");
    return nullptr;
  }
  return server;
}

// --- hot path --------------------------------------------------------------

// The tracker every thread of one run shares: made by thread 0 before the
// loop (its start is a barrier for all threads), freed by thread 0 after it
// (so is its end). Other threads touch it only inside the loop.
struct Shared {
  std::unique_ptr<mlmon::testutil::RedisServer> redis;
  std::unique_ptr<mlmon::Registry> registry;
  std::unique_ptr<mlmon::OutcomeTracker> tracker;
  std::atomic<std::uint64_t> dropped{0};
};
Shared* g_shared = nullptr;

void RecordLoop(benchmark::State& state, bool flush) {
  IdMaker id;
  std::uint64_t n =
      kIdBase + static_cast<std::uint64_t>(state.thread_index()) * 100000000;
  std::size_t since_flush = 0;
  std::uint64_t refused = 0;
  mlmon::OutcomeTracker* tracker = nullptr;
  for (auto _ : state) {
    if (__builtin_expect(tracker == nullptr, 0)) {
      // After the loop's start barrier: thread 0 has made it (or failed).
      tracker = g_shared->tracker.get();
      if (tracker == nullptr) {
        // Thread 0 failed and frees the shared state: touch nothing more.
        state.SkipWithError("no tracker (see thread 0)");
        return;
      }
    }
    refused += !tracker->RecordPrediction(id(n), (n % 100) * 0.01);
    ++n;
    if (flush && ++since_flush == kFlushEvery) {
      state.PauseTiming();
      tracker->FlushPending(milliseconds(60000));
      since_flush = 0;
      state.ResumeTiming();
    }
  }
  if (g_shared != nullptr) g_shared->dropped.fetch_add(refused);
  state.SetItemsProcessed(state.iterations());
  // The loop's end is a barrier too: thread 0 frees what all shared.
  if (state.thread_index() == 0 && g_shared != nullptr) {
    state.counters["dropped"] = static_cast<double>(g_shared->dropped.load());
    delete g_shared;
    g_shared = nullptr;
  }
}

void BM_FleetRecordPrediction_Redis(benchmark::State& state) {
  const std::string missing = RedisMissing();
  if (!missing.empty()) {
    state.SkipWithError(missing.c_str());  // every thread: nothing is shared
    return;
  }
  if (state.thread_index() == 0) {
    g_shared = new Shared;
    g_shared->redis = StartRedis(state);
    if (g_shared->redis != nullptr) {
      g_shared->registry = std::make_unique<mlmon::Registry>();
      g_shared->tracker = std::make_unique<mlmon::OutcomeTracker>(
          *g_shared->registry, "fraud", "7", RedisSpec(g_shared->redis->url()));
      // Connected before the timed loop.
      g_shared->tracker->RecordPrediction("0000000000", 0.5);
      if (!g_shared->tracker->FlushPending(milliseconds(5000))) {
        g_shared->tracker.reset();
        state.SkipWithError("first write to redis-server timed out");
      }
    }
  }
  RecordLoop(state, true);
}

// Arg: the store's capacity, filled first (every insert of the loop evicts).
void BM_FleetRecordPrediction_Memory(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_shared = new Shared;
    g_shared->registry = std::make_unique<mlmon::Registry>();
    mlmon::OutcomeSpec spec;
    spec.pending_capacity = static_cast<std::size_t>(state.range(0));
    g_shared->tracker = std::make_unique<mlmon::OutcomeTracker>(
        *g_shared->registry, "fraud", "7", spec);
    IdMaker id;
    for (std::uint64_t i = 0; i < spec.pending_capacity; ++i) {
      g_shared->tracker->RecordPrediction(id(kIdBase * 9 + i), 0.5);
    }
  }
  RecordLoop(state, true);
}

// --- write throughput ------------------------------------------------------

void BM_FleetWrite(benchmark::State& state) {
  auto redis = StartRedis(state);
  if (redis == nullptr) return;
  mlmon::Registry registry;
  mlmon::OutcomeTracker tracker(registry, "fraud", "7",
                                RedisSpec(redis->url(), 2 * kWriteBatch));
  IdMaker id;
  std::uint64_t n = kIdBase, refused = 0;
  const double redis_cpu = RedisCpuSeconds(redis->port());
  const double own_cpu = ProcessCpuSeconds();
  for (auto _ : state) {
    for (std::size_t i = 0; i < kWriteBatch; ++i, ++n) {
      refused += !tracker.RecordPrediction(id(n), (n % 100) * 0.01);
    }
    if (!tracker.FlushPending(milliseconds(60000))) {
      state.SkipWithError("FlushPending timed out");
      break;
    }
  }
  // CPU per prediction written: redis-server's, and this process' (the
  // writer thread, plus ~50 ns of RecordPrediction).
  const double written = static_cast<double>(state.iterations()) *
                         static_cast<double>(kWriteBatch);
  state.counters["redis_cpu_us"] =
      (RedisCpuSeconds(redis->port()) - redis_cpu) * 1e6 / written;
  state.counters["client_cpu_us"] =
      (ProcessCpuSeconds() - own_cpu) * 1e6 / written;
  state.counters["dropped"] = static_cast<double>(refused);
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(kWriteBatch));
}

// --- outcomes joined through POST /v1/outcomes -----------------------------

#ifdef MLMON_BENCH_WITH_HTTP
struct IngestFixture {
  std::unique_ptr<mlmon::testutil::RedisServer> redis;
  // Replica 1 makes the predictions; replica 2 receives the outcomes.
  mlmon::Registry registry1, registry2;
  std::unique_ptr<mlmon::OutcomeTracker> writer, joiner;
  mlmon::OutcomeIngest ingest;
  std::unique_ptr<mlmon::HttpServer> server;
  std::atomic<std::uint64_t> next_block{0};
};
IngestFixture* g_ingest = nullptr;

void BM_FleetIngest(benchmark::State& state) {
  const std::string missing = RedisMissing();
  if (!missing.empty()) {
    state.SkipWithError(missing.c_str());
    return;
  }
  if (state.thread_index() == 0) {
    g_ingest = new IngestFixture;
    g_ingest->redis = StartRedis(state);
    if (g_ingest->redis != nullptr) {
      const mlmon::OutcomeSpec spec = RedisSpec(g_ingest->redis->url());
      g_ingest->writer = std::make_unique<mlmon::OutcomeTracker>(
          g_ingest->registry1, "fraud", "7", spec);
      g_ingest->joiner = std::make_unique<mlmon::OutcomeTracker>(
          g_ingest->registry2, "fraud", "7", spec);
      g_ingest->ingest.AddTracker(*g_ingest->joiner);
      mlmon::HttpServerOptions options;
      options.threads = 2;
      g_ingest->server =
          std::make_unique<mlmon::HttpServer>(options, g_ingest->registry2);
      mlmon::AddFeedbackRoute(*g_ingest->server, g_ingest->ingest);
      g_ingest->server->Start();
    }
  }
  // Every thread waits here for the fixture (the loop's start is a barrier).
  IdMaker id;
  std::string body, expect;
  expect = "\"matched\":" + std::to_string(kBodyLines) + ",";
  for (auto _ : state) {
    if (g_ingest->server == nullptr) {
      // Thread 0 could not start the fixture (and frees it): stop here.
      if (state.thread_index() != 0) state.SkipWithError("no fixture");
      return;
    }
    state.PauseTiming();
    // A block of ids of its own: predicted by replica 1 and written.
    const std::uint64_t first =
        kIdBase + g_ingest->next_block.fetch_add(1) * kBodyLines;
    body.clear();
    for (std::uint64_t k = first; k < first + kBodyLines; ++k) {
      const std::string_view pid = id(k);
      g_ingest->writer->RecordPrediction(pid, (k % 100) * 0.01);
      body += "{\"id\":\"";
      body += pid;
      body += (k % 7) == 0 ? "\",\"outcome\":1}\n" : "\",\"outcome\":0}\n";
    }
    g_ingest->writer->FlushPending(milliseconds(60000));
    state.ResumeTiming();
    auto r = mlmon::tools::HttpCall("127.0.0.1", g_ingest->server->port(),
                                    "POST", "/v1/outcomes", body,
                                    {{"Content-Type", "application/x-ndjson"}});
    if (r.status != 200 || r.body.find(expect) == std::string::npos) {
      state.SkipWithError(("ingest failed: " + std::to_string(r.status) + " " +
                           r.error + r.body.substr(0, 200))
                              .c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(kBodyLines));
  if (state.thread_index() == 0) {
    g_ingest->server.reset();
    delete g_ingest;
    g_ingest = nullptr;
  }
}
#endif

// --- Redis memory per pending prediction ----------------------------------

// Arg: id length. Writes 1,000,000 predictions (in blocks the buffer holds)
// and reports Redis' used_memory growth per prediction.
void BM_FleetRedisMemory(benchmark::State& state) {
  constexpr std::size_t kN = 1000000;
  auto redis = StartRedis(state);
  if (redis == nullptr) return;
  const auto id_len = static_cast<std::size_t>(state.range(0));
  double before = 0, after = 0;
  std::uint64_t refused = 0;
  for (auto _ : state) {
    mlmon::Registry registry;
    mlmon::OutcomeTracker tracker(registry, "fraud", "7",
                                  RedisSpec(redis->url(), 2 * kWriteBatch));
    // Connected (one key written, then removed) before the first reading.
    tracker.RecordPrediction(std::string(id_len, 'x'), 0.5);
    tracker.FlushPending(milliseconds(5000));
    RedisCommand(redis->port(), {"FLUSHALL"});
    before = UsedMemory(redis->port());
    IdMaker id(id_len);
    for (std::size_t i = 0; i < kN; ++i) {
      refused += !tracker.RecordPrediction(id(kIdBase + i), 0.25);
      if ((i + 1) % kWriteBatch == 0) tracker.FlushPending(milliseconds(60000));
    }
    tracker.FlushPending(milliseconds(60000));
    after = UsedMemory(redis->port());
  }
  if (before < 0 || after < 0) {
    state.SkipWithError("INFO memory failed");
    return;
  }
  const std::string key_prefix = "mlmon:fraud:7:";
  state.counters["key_bytes"] = static_cast<double>(key_prefix.size() + id_len);
  state.counters["bytes_per_prediction"] = (after - before) / kN;
  state.counters["dropped"] = static_cast<double>(refused);
}

BENCHMARK(BM_FleetRecordPrediction_Redis)
    ->Iterations(400000)
    ->Threads(1)
    ->Threads(2);
BENCHMARK(BM_FleetRecordPrediction_Memory)
    ->Arg(10000)
    ->Arg(1000000)
    ->Iterations(400000)
    ->Threads(1)
    ->Threads(2);
BENCHMARK(BM_FleetWrite)->UseRealTime()->Unit(benchmark::kMillisecond);
#ifdef MLMON_BENCH_WITH_HTTP
BENCHMARK(BM_FleetIngest)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Threads(1)
    ->Threads(2);
#endif
BENCHMARK(BM_FleetRedisMemory)
    ->Arg(10)
    ->Arg(36)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
