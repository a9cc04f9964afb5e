// The Redis pending store against a real redis-server (started per test on a
// free loopback port): replicas that share it join each other's predictions
// exactly once, and a server that is down, killed or slow is buffered,
// counted and answered `unavailable`, never a crash or a thrown exception.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "mlmon/errors.h"
#include "mlmon/outcome_ingest.h"
#include "mlmon/outcome_tracker.h"
#include "testing/data_gen.h"
#include "testing/redis_server.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using std::chrono::milliseconds;
using testutil::ExposedValue;

constexpr milliseconds kFlush{10000};

static_assert(noexcept(std::declval<OutcomeTracker&>().RecordPrediction(
                  std::string_view(), 0.5)),
              "RecordPrediction is noexcept whatever the store");

OutcomeSpec RedisSpec(const std::string& url, std::size_t max_buffered = 1000) {
  OutcomeSpec s;
  s.store.backend = PendingStoreSpec::Backend::kRedis;
  s.store.url = url;
  s.store.key_prefix = "t:";
  s.store.max_buffered = max_buffered;
  s.store.timeout = milliseconds(500);
  s.windows = {};
  return s;
}

std::string Series(const char* name, const std::string& model,
                   const std::string& extra = "") {
  return std::string(name) + "{model=\"" + model + "\",version=\"1\"" +
         (extra.empty() ? "" : "," + extra) + "}";
}

double Outcomes(const Registry& r, const std::string& model,
                const char* result) {
  return ExposedValue(
      r, Series("mlmon_outcomes_total", model,
                std::string("segment=\"\",result=\"") + result + "\""));
}

double Cell(const Registry& r, const std::string& model, int predicted,
            int actual) {
  return ExposedValue(r, Series("mlmon_confusion_total", model,
                                "segment=\"\",threshold=\"0.5\",predicted=\"" +
                                    std::to_string(predicted) + "\",actual=\"" +
                                    std::to_string(actual) + "\""));
}

// Sends the outcome until the store answers something else than
// `unavailable` (a reconnect waits out a backoff of at most 5 s), and
// returns that answer.
OutcomeResult OutcomeOnceReachable(OutcomeTracker& t, const std::string& id,
                                   double outcome) {
  OutcomeResult r = OutcomeResult::kUnavailable;
  for (int i = 0; i < 1000 && r == OutcomeResult::kUnavailable; ++i) {
    r = t.RecordOutcome(id, outcome);
    if (r == OutcomeResult::kUnavailable) {
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  return r;
}

// Polls the store's `up` gauge until it reads `want` (at most `tries` x
// 10 ms).
bool UpBecomes(const Registry& r, const std::string& model, double want,
               int tries = 500) {
  for (int i = 0; i < tries; ++i) {
    if (ExposedValue(r, Series("mlmon_pending_store_up", model)) == want) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

class RedisPendingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testutil::RedisServerBinary() == nullptr) {
      GTEST_SKIP() << "redis-server is not installed (scripts/deps)";
    }
  }
};

// Replica A predicts ids a-*, replica B ids b-*; every outcome goes to the
// other replica. Each is matched exactly once fleet-wide, re-sent ones are
// duplicates on either replica, and the confusion cells summed over the two
// replicas equal the cells counted here from the data.
TEST_F(RedisPendingStoreTest, ReplicasJoinEachOthersPredictionsExactlyOnce) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry ra, rb;
  OutcomeTracker a(ra, "m", "1", RedisSpec(redis.url()));
  OutcomeTracker b(rb, "m", "1", RedisSpec(redis.url()));
  testutil::DataGen gen(7);
  struct Pred {
    std::string id;
    double score;
    int label;
  };
  std::vector<Pred> preds;
  for (int i = 0; i < 400; ++i) {
    const double score = gen.Uniform();
    const int label = gen.Uniform() < score ? 1 : 0;
    preds.push_back(
        {(i % 2 == 0 ? "a-" : "b-") + std::to_string(i), score, label});
    OutcomeTracker& t = i % 2 == 0 ? a : b;
    ASSERT_TRUE(t.RecordPrediction(preds.back().id, score));
  }
  ASSERT_TRUE(a.FlushPending(kFlush));
  ASSERT_TRUE(b.FlushPending(kFlush));
  EXPECT_EQ(a.pending(), 0u);

  double expected[2][2] = {{0, 0}, {0, 0}};
  for (std::size_t i = 0; i < preds.size(); ++i) {
    OutcomeTracker& other = i % 2 == 0 ? b : a;
    EXPECT_EQ(other.RecordOutcome(preds[i].id, preds[i].label),
              OutcomeResult::kMatched)
        << preds[i].id;
    expected[preds[i].score >= 0.5 ? 1 : 0][preds[i].label] += 1;
  }
  // Re-sent outcomes: duplicates wherever they land.
  for (std::size_t i = 0; i < 50; ++i) {
    OutcomeTracker& any = i % 3 == 0 ? a : b;
    EXPECT_EQ(any.RecordOutcome(preds[i].id, preds[i].label),
              OutcomeResult::kDuplicate);
  }
  EXPECT_EQ(a.RecordOutcome("never-predicted", 1), OutcomeResult::kUnmatched);

  EXPECT_EQ(Outcomes(ra, "m", "matched") + Outcomes(rb, "m", "matched"), 400);
  EXPECT_EQ(Outcomes(ra, "m", "duplicate") + Outcomes(rb, "m", "duplicate"),
            50);
  EXPECT_EQ(Outcomes(ra, "m", "unmatched"), 1);
  for (int p = 0; p < 2; ++p) {
    for (int y = 0; y < 2; ++y) {
      EXPECT_EQ(Cell(ra, "m", p, y) + Cell(rb, "m", p, y), expected[p][y])
          << "predicted " << p << " actual " << y;
    }
  }
  EXPECT_EQ(ExposedValue(ra, Series("mlmon_pending_store_up", "m")), 1);
}

// Segments travel with the prediction by value: replica b numbers its
// segments in another order than a (it saw FR first), and a value too long
// for a series of its own stays __other__ wherever the outcome lands.
TEST_F(RedisPendingStoreTest, SegmentsTravelByValue) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry ra, rb;
  OutcomeSpec spec = RedisSpec(redis.url());
  spec.segments = {"country", 2};
  OutcomeTracker a(ra, "m", "1", spec);
  OutcomeTracker b(rb, "m", "1", spec);
  const std::string too_long(SegmentSpec::kMaxValueBytes + 1, 'x');
  ASSERT_TRUE(b.RecordPrediction("b-0", 0.9, "FR"));
  ASSERT_TRUE(a.RecordPrediction("a-0", 0.9, "DE"));
  ASSERT_TRUE(a.RecordPrediction("a-1", 0.9, "FR"));
  ASSERT_TRUE(a.RecordPrediction("a-2", 0.9, "DE"));
  ASSERT_TRUE(a.RecordPrediction("a-3", 0.9, too_long));
  ASSERT_TRUE(a.RecordPrediction("a-4", 0.9));
  ASSERT_TRUE(a.FlushPending(kFlush));
  ASSERT_TRUE(b.FlushPending(kFlush));
  for (const char* id : {"a-0", "a-1", "a-2", "a-3", "a-4", "b-0"}) {
    EXPECT_EQ(b.RecordOutcome(id, 1.0), OutcomeResult::kMatched) << id;
  }
  b.Tick();
  const std::string cell = ",threshold=\"0.5\",predicted=\"1\",actual=\"1\"";
  auto tp = [&](const char* segment) {
    return ExposedValue(
        rb, Series("mlmon_confusion_total", "m",
                   std::string("segment=\"") + segment + "\"" + cell));
  };
  EXPECT_EQ(tp("DE"), 2);
  EXPECT_EQ(tp("FR"), 2);
  EXPECT_EQ(tp("__other__"), 1);
  EXPECT_EQ(tp(""), 1);
}

// One body through the ingest: a duplicate within the body, an invalid line
// that must not consume its prediction, and an unknown id.
TEST_F(RedisPendingStoreTest, IngestBodyAccountsEveryLine) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry ra, rb;
  OutcomeTracker a(ra, "m", "1", RedisSpec(redis.url()));
  OutcomeTracker b(rb, "m", "1", RedisSpec(redis.url()));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(a.RecordPrediction("p" + std::to_string(i), 0.9));
  }
  ASSERT_TRUE(a.FlushPending(kFlush));
  OutcomeIngest ingest;
  ingest.AddTracker(b);
  const IngestReport r = ingest.IngestOutcomes(
      "{\"id\":\"p0\",\"outcome\":1}\n"
      "{\"id\":\"p0\",\"outcome\":1}\n"  // duplicate in the same body
      "{\"id\":\"p1\",\"outcome\":7}\n"  // invalid: p1 stays pending
      "{\"id\":\"p1\",\"outcome\":0}\n"  // so this one matches
      "{\"id\":\"zz\",\"outcome\":1}\n"  // never predicted
      "{\"id\":\"p2\",\"outcome\":1}\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.matched, 3u);
  EXPECT_EQ(r.duplicate, 1u);
  EXPECT_EQ(r.invalid, 1u);
  EXPECT_EQ(r.unmatched, 1u);
  EXPECT_EQ(r.unavailable, 0u);
  EXPECT_EQ(r.ToJson().find("retry"), std::string::npos);
  EXPECT_EQ(Cell(rb, "m", 1, 1), 2);
  EXPECT_EQ(Cell(rb, "m", 1, 0), 1);
}

// Champion and challenger both predicted some ids; a model-only line joins
// every version that holds the id, each through its own keys.
TEST_F(RedisPendingStoreTest, VersionsFanOutThroughTheirOwnKeys) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry r1, r2;
  OutcomeTracker v1(r1, "m", "1", RedisSpec(redis.url()));
  OutcomeTracker v2(r1, "m", "2", RedisSpec(redis.url()));
  OutcomeTracker other_v1(r2, "m", "1", RedisSpec(redis.url()));
  OutcomeTracker other_v2(r2, "m", "2", RedisSpec(redis.url()));
  ASSERT_TRUE(v1.RecordPrediction("both", 0.8));
  ASSERT_TRUE(v2.RecordPrediction("both", 0.2));
  ASSERT_TRUE(v1.RecordPrediction("only1", 0.8));
  ASSERT_TRUE(v1.FlushPending(kFlush));
  ASSERT_TRUE(v2.FlushPending(kFlush));
  OutcomeIngest ingest;  // the other replica
  ingest.AddTracker(other_v1);
  ingest.AddTracker(other_v2);
  const IngestReport r = ingest.IngestOutcomes(
      "{\"id\":\"both\",\"outcome\":1}\n{\"id\":\"only1\",\"outcome\":0}\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.matched, 2u);
  EXPECT_EQ(r.version_matches, 3u);
  const std::string v2_matched =
      "mlmon_outcomes_total{model=\"m\",version=\"2\",segment=\"\",result="
      "\"matched\"}";
  const std::string v2_unmatched =
      "mlmon_outcomes_total{model=\"m\",version=\"2\",segment=\"\",result="
      "\"unmatched\"}";
  EXPECT_EQ(ExposedValue(r2, v2_matched), 1);
  EXPECT_EQ(ExposedValue(r2, v2_unmatched), 0);  // a canary that did not
                                                 // predict it counts nothing
}

// Nobody listens: predictions fill the buffer up to max_buffered and the
// rest are dropped and counted; outcomes are unavailable at once (503 with
// the lines to retry); a server started later receives the buffer and the
// joins work.
TEST_F(RedisPendingStoreTest, DownServerBuffersBoundedThenCatchesUp) {
  testutil::RedisServer redis;  // not started yet
  Registry registry;
  OutcomeTracker t(registry, "m", "1", RedisSpec(redis.url(), 100));
  int accepted = 0;
  std::string first_dropped;
  for (int i = 0; i < 150; ++i) {
    const std::string id = "p" + std::to_string(i);
    if (t.RecordPrediction(id, 0.7)) {
      ++accepted;
    } else if (first_dropped.empty()) {
      first_dropped = id;
    }
  }
  // The writer may move a batch out of the ring between two records, so the
  // accepted ids need not be a prefix.
  ASSERT_FALSE(first_dropped.empty());
  // The ring holds max_buffered minus the writer's batch (50 here), and the
  // writer may or may not have moved a batch out yet: at most 100 in all.
  EXPECT_GE(accepted, 50);
  EXPECT_LE(accepted, 100);
  EXPECT_EQ(t.pending(), static_cast<std::size_t>(accepted));
  EXPECT_EQ(ExposedValue(registry,
                         "mlmon_dropped_total{model=\"m\",version=\"1\","
                         "reason=\"store_unavailable\"}"),
            150 - accepted);
  EXPECT_EQ(t.RecordOutcome("p0", 1), OutcomeResult::kUnavailable);
  OutcomeIngest ingest;
  ingest.AddTracker(t);
  const IngestReport r = ingest.IngestOutcomes(
      "{\"id\":\"p1\",\"outcome\":1}\n{\"id\":\"p2\",\"outcome\":2}\n"
      "{\"id\":\"p3\",\"outcome\":0}\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.unavailable, 2u);
  EXPECT_EQ(r.invalid, 1u);  // refused before any look-up
  EXPECT_EQ(r.retry, (std::vector<std::size_t>{1, 3}));
  EXPECT_NE(r.ToJson().find("\"unavailable\":2,\"retry\":[1,3]"),
            std::string::npos)
      << r.ToJson();
  EXPECT_EQ(Outcomes(registry, "m", "unavailable"), 3);
  EXPECT_EQ(ExposedValue(registry, Series("mlmon_pending_store_up", "m")), 0);
  EXPECT_GE(ExposedValue(registry, Series("mlmon_pending_store_errors_total",
                                          "m", "op=\"connect\"")),
            1);

  ASSERT_TRUE(redis.Start());
  ASSERT_TRUE(t.FlushPending(kFlush));  // after the writer's backoff
  EXPECT_EQ(t.pending(), 0u);
  // The take connection retries after its own backoff (at most 5 s).
  EXPECT_EQ(OutcomeOnceReachable(t, "p0", 1), OutcomeResult::kMatched);
  EXPECT_EQ(t.RecordOutcome("p1", 1), OutcomeResult::kMatched);
  EXPECT_EQ(t.RecordOutcome(first_dropped, 1), OutcomeResult::kUnmatched);
  EXPECT_EQ(ExposedValue(registry, Series("mlmon_pending_store_up", "m")), 1);
}

// The server dies under an open connection (SIGKILL): the next writes and
// takes fail on a reset socket. No SIGPIPE reaches the process (this test
// would die of it), nothing throws, and after a restart the store works
// again.
TEST_F(RedisPendingStoreTest, KilledServerIsSurvivedAndRejoined) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry registry;
  OutcomeTracker t(registry, "m", "1", RedisSpec(redis.url()));
  ASSERT_TRUE(t.RecordPrediction("before", 0.4));
  ASSERT_TRUE(t.FlushPending(kFlush));
  ASSERT_EQ(t.RecordOutcome("before", 0), OutcomeResult::kMatched);

  redis.Kill();
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(t.RecordPrediction("during" + std::to_string(i), 0.6));
  }
  EXPECT_FALSE(t.FlushPending(milliseconds(300)));
  EXPECT_EQ(t.RecordOutcome("before", 0), OutcomeResult::kUnavailable);
  // The take connection is seen closed before use and replaced, so the
  // failure counts as a connect error (a take sent on it would count as a
  // take error); either way it is counted.
  EXPECT_GE(
      ExposedValue(registry, Series("mlmon_pending_store_errors_total", "m",
                                    "op=\"connect\"")) +
          ExposedValue(registry, Series("mlmon_pending_store_errors_total", "m",
                                        "op=\"take\"")),
      1);

  ASSERT_TRUE(redis.Start());  // same port, empty: "before" is gone
  ASSERT_TRUE(t.FlushPending(kFlush));
  EXPECT_EQ(OutcomeOnceReachable(t, "during7", 1), OutcomeResult::kMatched);
}

// Threads record on one replica while bodies are ingested on another; then
// two threads send the same outcomes at once: each id is matched exactly
// once and is a duplicate for the other thread (run under TSan in CI).
TEST_F(RedisPendingStoreTest, ConcurrentRecordingAndRacingOutcomes) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry ra, rb;
  OutcomeTracker a(ra, "m", "1", RedisSpec(redis.url(), 100000));
  OutcomeTracker b(rb, "m", "1", RedisSpec(redis.url(), 100000));
  OutcomeIngest ingest;
  ingest.AddTracker(b);
  constexpr int kThreads = 4, kPerThread = 1000;
  std::atomic<bool> recording{true};
  std::thread ingester([&] {
    while (recording.load()) {
      (void)ingest.IngestOutcomes("{\"id\":\"nobody\",\"outcome\":1}\n",
                                  BodyFormat::kNdjson);
      b.Tick();
    }
  });
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&a, t] {
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_TRUE(a.RecordPrediction(
            "t" + std::to_string(t) + "-" + std::to_string(i), 0.75));
      }
    });
  }
  for (std::thread& p : producers) p.join();
  recording = false;
  ingester.join();
  ASSERT_TRUE(a.FlushPending(kFlush));

  std::string body;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      body += "{\"id\":\"t" + std::to_string(t) + "-" + std::to_string(i) +
              "\",\"outcome\":1}\n";
    }
  }
  IngestReport r1, r2;
  std::thread s1(
      [&] { r1 = ingest.IngestOutcomes(body, BodyFormat::kNdjson); });
  std::thread s2(
      [&] { r2 = ingest.IngestOutcomes(body, BodyFormat::kNdjson); });
  s1.join();
  s2.join();
  EXPECT_EQ(r1.matched + r2.matched, std::size_t{kThreads * kPerThread});
  EXPECT_EQ(r1.duplicate + r2.duplicate, std::size_t{kThreads * kPerThread});
  EXPECT_EQ(r1.unavailable + r2.unavailable, 0u);
  EXPECT_EQ(Cell(rb, "m", 1, 1), kThreads * kPerThread);
}

// AUTH with a password file; a wrong password never connects.
TEST_F(RedisPendingStoreTest, PasswordFileAndWrongPassword) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start({"--requirepass", "s3cret"}));
  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/mlmon_redis_good", bad = dir + "/mlmon_bad";
  std::ofstream(good) << "s3cret\n";
  std::ofstream(bad) << "wrong\n";
  Registry registry;
  OutcomeSpec ok = RedisSpec(redis.url(3));
  ok.store.password_file = good;
  OutcomeTracker t(registry, "m", "1", ok);
  ASSERT_TRUE(t.RecordPrediction("x", 0.9));
  ASSERT_TRUE(t.FlushPending(kFlush));
  EXPECT_EQ(t.RecordOutcome("x", 1), OutcomeResult::kMatched);

  OutcomeSpec wrong = RedisSpec(redis.url(3));
  wrong.store.password_file = bad;
  OutcomeTracker w(registry, "w", "1", wrong);
  EXPECT_EQ(w.RecordOutcome("x", 1), OutcomeResult::kUnavailable);
  EXPECT_EQ(ExposedValue(registry, Series("mlmon_pending_store_up", "w")), 0);
}

// A server that answers but refuses writes (out of memory under
// `noeviction`) is no store: refused predictions are dropped and counted,
// `up` reads 0 although PING would succeed, outcomes are answered
// `unavailable`; once it takes writes again, `up` returns without traffic
// (the idle writer's probe) and joins resume.
TEST_F(RedisPendingStoreTest, RefusingServerIsNotUp) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start({"--maxmemory-policy", "noeviction"}));
  Registry registry;
  OutcomeTracker t(registry, "m", "1", RedisSpec(redis.url()));
  ASSERT_TRUE(t.RecordPrediction("kept", 0.8));
  ASSERT_TRUE(t.FlushPending(kFlush));
  ASSERT_TRUE(UpBecomes(registry, "m", 1));

  ASSERT_EQ(redis.Command("CONFIG SET maxmemory 1"), "+OK");
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(t.RecordPrediction("refused" + std::to_string(i), 0.3));
  }
  ASSERT_TRUE(t.FlushPending(kFlush));  // resolved: refused and counted
  EXPECT_EQ(ExposedValue(registry,
                         "mlmon_dropped_total{model=\"m\","
                         "version=\"1\",reason=\"store_"
                         "unavailable\"}"),
            5);
  EXPECT_GE(ExposedValue(registry, Series("mlmon_pending_store_errors_total",
                                          "m", "op=\"write\"")),
            5);
  EXPECT_TRUE(UpBecomes(registry, "m", 0));
  // The take is refused too: retry later, nothing was taken.
  EXPECT_EQ(t.RecordOutcome("kept", 1), OutcomeResult::kUnavailable);
  // The idle probe (once a second) keeps `up` at 0 while the server
  // refuses.
  EXPECT_FALSE(UpBecomes(registry, "m", 1, 150));

  ASSERT_EQ(redis.Command("CONFIG SET maxmemory 0"), "+OK");
  EXPECT_TRUE(UpBecomes(registry, "m", 1));
  EXPECT_EQ(OutcomeOnceReachable(t, "kept", 1), OutcomeResult::kMatched);
  EXPECT_EQ(t.RecordOutcome("refused0", 1), OutcomeResult::kUnmatched);
}

// Keys that are not the store's: a key of another type under the store's
// prefix is `unmatched` (no retry can change it), not a store failure.
TEST_F(RedisPendingStoreTest, ForeignKeyOfAnotherTypeIsUnmatched) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  ASSERT_EQ(redis.Command("LPUSH t:m:1:listed x"), ":1");
  Registry registry;
  OutcomeTracker t(registry, "m", "1", RedisSpec(redis.url()));
  EXPECT_EQ(t.RecordOutcome("listed", 1), OutcomeResult::kUnmatched);
  EXPECT_EQ(ExposedValue(registry, Series("mlmon_pending_store_errors_total",
                                          "m", "op=\"take\"")),
            0);
  EXPECT_TRUE(UpBecomes(registry, "m", 1));
}

// The server closes the store's idle connections (CLIENT KILL here; its
// `timeout` setting or a restart alike): the next outcome is joined on a
// new connection instead of failing on the dead one.
TEST_F(RedisPendingStoreTest, ConnectionClosedByTheServerIsReplaced) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry registry;
  OutcomeTracker t(registry, "m", "1", RedisSpec(redis.url()));
  ASSERT_TRUE(t.RecordPrediction("a", 0.9));
  ASSERT_TRUE(t.RecordPrediction("b", 0.1));
  ASSERT_TRUE(t.FlushPending(kFlush));
  ASSERT_EQ(t.RecordOutcome("a", 1), OutcomeResult::kMatched);
  ASSERT_NE(redis.Command("CLIENT KILL TYPE normal").find(":"),
            std::string::npos);
  EXPECT_EQ(t.RecordOutcome("b", 0), OutcomeResult::kMatched);
  EXPECT_EQ(ExposedValue(registry, Series("mlmon_pending_store_errors_total",
                                          "m", "op=\"take\"")),
            0);
}

TEST(RedisPendingStoreSetupTest, BadSettingsNameTheField) {
  if (!RedisPendingStoreAvailable()) GTEST_SKIP() << "built without Redis";
  Registry registry;
  auto expect_error = [&](OutcomeSpec s, const std::string& want) {
    try {
      OutcomeTracker t(registry, "m", "1", std::move(s));
      ADD_FAILURE() << "no error; wanted " << want;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos)
          << e.what();
    }
  };
  OutcomeSpec s = RedisSpec("http://127.0.0.1:6379");
  expect_error(s, "OutcomeSpec.store.url: not a redis:// URL");
  s = RedisSpec("redis://127.0.0.1:0/0");
  expect_error(s, "OutcomeSpec.store.url: port not in [1, 65535]");
  s = RedisSpec("redis://127.0.0.1:6379/x");
  expect_error(s, "database is not a non-negative integer");
  s = RedisSpec("redis:///0");
  expect_error(s, "no host");
  s = RedisSpec("redis://127.0.0.1");
  s.store.password_file = "/nonexistent/password";
  expect_error(s, "OutcomeSpec.store.password_file: cannot read");
  s = RedisSpec("redis://127.0.0.1");
  s.store.timeout = milliseconds(0);
  expect_error(s, "OutcomeSpec.store.timeout: not in [1ms, 60s] (0ms)");
  s = RedisSpec("redis://127.0.0.1", 0);
  expect_error(s, "OutcomeSpec.store.max_buffered");
  s = RedisSpec("redis://127.0.0.1");
  s.store.key_prefix.assign(65, 'k');
  expect_error(s, "OutcomeSpec.store.key_prefix");
}

}  // namespace
}  // namespace mlmon
