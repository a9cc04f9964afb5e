// Attacks on segments: label collisions, Redis payload shape and contents,
// a rollout of segments across a fleet, destruction orders, prediction-log
// bounds, the registry's family cap. Each test first reproduced a defect.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "internal/segment_table.h"
#include "mlmon/clock.h"
#include "mlmon/monitor_spec.h"
#include "mlmon/outcome_tracker.h"
#include "mlmon/pending_store_spec.h"
#include "mlmon/prediction_log.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"
#include "mlmon/spec_memory.h"
#include "testing/redis_server.h"

namespace mlmon {
namespace {

// Sum of every sample of `metric` whose line contains `must` (any segment).
double SumOver(const std::string& text, const std::string& metric,
               const std::string& must = "") {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(metric + "{", 0) != 0) continue;
    if (!must.empty() && line.find(must) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

OutcomeSpec Spec(std::size_t max_values) {
  OutcomeSpec s;
  s.thresholds = {0.5};
  s.windows = {};
  s.all_time_window = true;
  s.segments = {"country", max_values};
  return s;
}

// ---------------------------------------------------------------- (3)(4)
// Two distinct byte strings that sanitise to the same label value get two
// table indexes but one series: the second segment's staged series are
// never exposed and its outcomes vanish from every counter.
TEST(SegmentsAttack, InvalidUtf8ValuesCollideAndLoseOutcomes) {
  Registry registry;
  OutcomeTracker t(registry, "m", "1", Spec(5));
  ASSERT_TRUE(t.RecordPrediction("a", 0.9, "\xff"));
  ASSERT_TRUE(t.RecordPrediction("b", 0.9, "\xfe"));
  EXPECT_EQ(t.RecordOutcome("a", 1.0), OutcomeResult::kMatched);
  EXPECT_EQ(t.RecordOutcome("b", 1.0), OutcomeResult::kMatched);
  t.Tick();
  const std::string text = registry.TextExposition();
  // Sum over segment must be the whole model: 2 matched outcomes.
  EXPECT_EQ(SumOver(text, "mlmon_outcomes_total", "result=\"matched\""), 2);
  EXPECT_EQ(
      SumOver(text, "mlmon_confusion_total", "predicted=\"1\",actual=\"1\""),
      2);
}

// A caller's value that is literally "__other__" takes an index of its own
// and is published as segment="__other__"; the real fold part later finds
// that label set taken and stays unexposed: folded outcomes vanish.
TEST(SegmentsAttack, LiteralOtherValueSwallowsTheFoldPart) {
  Registry registry;
  OutcomeTracker t(registry, "m", "1", Spec(2));
  ASSERT_TRUE(t.RecordPrediction("a", 0.9, kSegmentOther));
  t.Tick();  // publishes index 1 as "__other__"
  ASSERT_TRUE(t.RecordPrediction("b", 0.9, "DE"));
  ASSERT_TRUE(t.RecordPrediction("c", 0.9, "FR"));  // folds
  ASSERT_TRUE(t.RecordPrediction("d", 0.9, "IT"));  // folds
  for (const char* id : {"a", "b", "c", "d"}) {
    EXPECT_EQ(t.RecordOutcome(id, 1.0), OutcomeResult::kMatched) << id;
  }
  t.Tick();
  const std::string text = registry.TextExposition();
  EXPECT_EQ(SumOver(text, "mlmon_outcomes_total", "result=\"matched\""), 4);
}

// The same two collisions on the response distribution's counters.
TEST(SegmentsAttack, DistributionCollisionsLosePredictions) {
  Registry registry;
  ResponseSpec rs;
  rs.segments = {"country", 3};
  ResponseDistribution d(registry, "m", "1", rs);
  d.ObserveScore(0.7, {}, "\xff");
  d.ObserveScore(0.7, {}, "\xfe");
  d.Tick();
  d.ObserveScore(0.7, {}, "__other__");
  d.ObserveScore(0.7, {}, "x1");  // folds
  d.ObserveEmpty("\xfd");         // folds (table full)
  d.Tick();
  const std::string text = registry.TextExposition();
  EXPECT_EQ(SumOver(text, "mlmon_predictions_total"), 4);
  EXPECT_EQ(SumOver(text, "mlmon_prediction_score_count"), 4);
  EXPECT_EQ(SumOver(text, "mlmon_empty_responses_total"), 1);
}

// ------------------------------------------------------------------ (2)
// Registry destroyed while segments are staged (some published, some not):
// recording, ticking and destroying the signals afterwards must stay in
// live memory (ASan/LSan).
TEST(SegmentsAttack, RegistryDestroyedBeforeSignalsWithStagedSeries) {
  auto registry = std::make_unique<Registry>();
  auto t = std::make_unique<OutcomeTracker>(*registry, "m", "1", Spec(3));
  ResponseSpec rs;
  rs.segments = {"country", 3};
  auto d = std::make_unique<ResponseDistribution>(*registry, "m", "1", rs);
  ASSERT_TRUE(t->RecordPrediction("a", 0.9, "DE"));
  d->ObserveScore(0.4, "a", "DE");
  t->Tick();
  d->Tick();  // DE published
  ASSERT_TRUE(t->RecordPrediction("b", 0.9, "FR"));
  d->ObserveScore(0.4, "b", "FR");  // FR staged, not published
  registry.reset();
  EXPECT_EQ(t->RecordOutcome("a", 1.0), OutcomeResult::kMatched);
  EXPECT_EQ(t->RecordOutcome("b", 1.0), OutcomeResult::kMatched);
  ASSERT_TRUE(t->RecordPrediction("c", 0.1, "US"));
  ASSERT_TRUE(t->RecordPrediction("e", 0.1, "IT"));  // folds
  d->ObserveScore(0.4, "c", "US");
  d->ObserveScore(0.4, "e", "IT");
  t->Tick();  // publishing FR/US/__other__ fails quietly
  d->Tick();
  t.reset();
  d.reset();
}

TEST(SegmentsAttack, SignalsDestroyedBeforeRegistryThenScrape) {
  Registry registry;
  {
    OutcomeTracker t(registry, "m", "1", Spec(3));
    ASSERT_TRUE(t.RecordPrediction("a", 0.9, "DE"));
    ASSERT_TRUE(t.RecordPrediction("b", 0.9, "FR"));
    EXPECT_EQ(t.RecordOutcome("a", 1.0), OutcomeResult::kMatched);
    t.Tick();
  }
  const std::string text = registry.TextExposition();
  EXPECT_EQ(text.find("segment=\"DE\""), std::string::npos);
  // A second tracker for the same model version re-publishes cleanly.
  OutcomeTracker t2(registry, "m", "1", Spec(3));
  ASSERT_TRUE(t2.RecordPrediction("a", 0.9, "DE"));
  EXPECT_EQ(t2.RecordOutcome("a", 1.0), OutcomeResult::kMatched);
  t2.Tick();
  EXPECT_EQ(SumOver(registry.TextExposition(), "mlmon_outcomes_total",
                    "segment=\"DE\",result=\"matched\""),
            1);
}

// --------------------------------------------------------------- (3)(4)
// max_values = 1 and = 100, 1,000 values, 32/33 bytes, NUL bytes: counts
// add up, exactly max_values + 2 segment labels, __other__ only when used.
TEST(SegmentsAttack, BoundsAndSumsHold) {
  for (std::size_t max : {std::size_t{1}, std::size_t{100}}) {
    Registry registry;
    OutcomeTracker t(registry, "m", "1", Spec(max));
    ASSERT_TRUE(t.RecordPrediction("p0", 0.9, "only"));
    EXPECT_EQ(t.RecordOutcome("p0", 1.0), OutcomeResult::kMatched);
    t.Tick();
    {
      const std::string first = registry.TextExposition();
      const std::size_t at = first.find(",segment=\"__other__\"");
      EXPECT_EQ(at, std::string::npos)
          << first.substr(first.rfind('\n', at) + 1, 160);
    }
    int n = 1;
    for (int i = 0; i < 1000; ++i, ++n) {
      std::string v = "v" + std::to_string(i);
      if (i % 7 == 0) v.push_back('\0');
      if (i % 11 == 0) v.resize(32, 'x');
      if (i % 13 == 0) v.resize(33, 'y');
      const std::string id = "p" + std::to_string(n);
      ASSERT_TRUE(t.RecordPrediction(id, i % 2 ? 0.9 : 0.1, v));
      EXPECT_EQ(t.RecordOutcome(id, 1.0), OutcomeResult::kMatched);
    }
    t.Tick();
    const std::string text = registry.TextExposition();
    EXPECT_EQ(SumOver(text, "mlmon_outcomes_total", "result=\"matched\""), n);
    EXPECT_NE(text.find("segment=\"__other__\""), std::string::npos);
    // Quality of segment="" is the whole model.
    EXPECT_EQ(
        SumOver(text, "mlmon_model_quality", "segment=\"\",metric=\"samples\""),
        n);
  }
}

TEST(SegmentsAttack, MulticlassAndRankingSumsHold) {
  {
    Registry registry;
    OutcomeSpec s = Spec(2);
    s.task = OutcomeSpec::Task::kMulticlass;
    s.classes = {"a", "b", "c"};
    s.thresholds = {};
    OutcomeTracker t(registry, "m", "1", s);
    const char* segs[] = {"", "x", "y", "z", "w"};
    for (int i = 0; i < 50; ++i) {
      const std::string id = "p" + std::to_string(i);
      ASSERT_TRUE(t.RecordPrediction(id, std::string_view("abc" + i % 3, 1),
                                     segs[i % 5]));
      EXPECT_EQ(t.RecordOutcome(id, std::string_view("abc" + (i / 3) % 3, 1)),
                OutcomeResult::kMatched);
    }
    t.Tick();
    const std::string text = registry.TextExposition();
    EXPECT_EQ(SumOver(text, "mlmon_confusion_total"), 50);
    EXPECT_EQ(SumOver(text, "mlmon_outcomes_total", "result=\"matched\""), 50);
  }
  {
    Registry registry;
    OutcomeSpec s = Spec(2);
    s.task = OutcomeSpec::Task::kRanking;
    s.k = {1, 3};
    s.thresholds = {};
    OutcomeTracker t(registry, "m", "1", s);
    const std::string_view items[] = {"i1", "i2", "i3", "i4"};
    const char* segs[] = {"", "x", "y", "z"};
    for (int i = 0; i < 40; ++i) {
      const std::string id = "p" + std::to_string(i);
      ASSERT_TRUE(t.RecordRanking(id, items, 4, segs[i % 4]));
      EXPECT_EQ(t.RecordOutcome(id, items[i % 4]), OutcomeResult::kMatched);
    }
    t.Tick();
    const std::string text = registry.TextExposition();
    EXPECT_EQ(SumOver(text, "mlmon_outcome_rank_count"), 40);
  }
}

// --------------------------------------------------------------- (1) log
TEST(SegmentsAttack, PredictionLogSegmentOf32BytesWithNulAndBadUtf8) {
  Registry registry;
  const std::string dir = ::testing::TempDir() + "seg_attack_log";
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  PredictionLogOptions o;
  o.directory = dir;
  {
    PredictionLog log(registry, "m", "1", o);
    std::string seg(32, '\xff');
    seg[3] = '\0';
    const std::string id(PredictionLog::kMaxIdBytes, 'i');
    EXPECT_TRUE(log.LogPrediction(id, 0.5, PredictionLog::kNow, seg));
    // Longer than a segment value: logged as __other__, where the live
    // path counts it (as the value above, not UTF-8).
    EXPECT_TRUE(
        log.LogPrediction("x", 0.5, PredictionLog::kNow, std::string(33, 'a')));
  }
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    all += std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::size_t others = 0;
  for (std::size_t at = 0;
       (at = all.find("\"segment\":\"__other__\"", at)) != std::string::npos;
       ++at) {
    ++others;
  }
  EXPECT_EQ(others, 2u) << all;
}

// ----------------------------------------------------------- (1) Redis
// A raw RESP client: sends `args`, returns the reply's first bulk payload
// (or the status/error line).
std::string Resp(int port, const std::vector<std::string>& args) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return out;
  }
  std::string req = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& s : args) {
    req += "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
  }
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string buf;
  char c;
  while (recv(fd, &c, 1, 0) == 1) {
    buf += c;
    if (buf.size() >= 2 && buf.compare(buf.size() - 2, 2, "\r\n") == 0) break;
  }
  if (!buf.empty() && buf[0] == '$' && buf != "$-1\r\n") {
    const std::size_t n = std::stoul(buf.substr(1));
    out.resize(n + 2);
    std::size_t got = 0;
    while (got < n + 2) {
      const ssize_t r = recv(fd, &out[got], n + 2 - got, 0);
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(n);
  } else {
    out = buf;
  }
  close(fd);
  return out;
}

OutcomeSpec RedisSpec(const std::string& url, bool segments) {
  OutcomeSpec s;
  s.store.backend = PendingStoreSpec::Backend::kRedis;
  s.store.url = url;
  s.store.key_prefix = "t:";
  s.store.timeout = std::chrono::milliseconds(500);
  s.windows = {};
  if (segments) s.segments = {"country", 4};
  return s;
}

class SegmentsRedisAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisPendingStoreAvailable() ||
        testutil::RedisServerBinary() == nullptr) {
      GTEST_SKIP() << "no redis";
    }
  }
};

// The value written to Redis carries 32 - size bytes of the recording
// thread's stack after the segment: here, the previous prediction's
// segment bytes.
TEST_F(SegmentsRedisAttack, PaddingAfterTheSegmentIsUninitialisedStack) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry r;
  OutcomeTracker t(r, "m", "1", RedisSpec(redis.url(), true));
  ASSERT_TRUE(t.RecordPrediction("x", 0.5, "SECRET-SECRET-SECRET-SECRET-1234"));
  ASSERT_TRUE(t.RecordPrediction("y", 0.5, "DE"));
  ASSERT_TRUE(t.FlushPending(std::chrono::seconds(10)));
  const std::string v = Resp(redis.port(), {"GET", "t:m:1:y"});
  ASSERT_EQ(v.size(), 4u + 8u + 1u + 32u);
  EXPECT_EQ(v[12], 2);
  const std::string pad = v.substr(4 + 8 + 1 + 2);
  EXPECT_EQ(pad, std::string(30, '\0'))
      << "padding bytes leaked into Redis: '" << pad << "'";
}

// Rolling out `segments:` to a fleet: a replica with segments cannot join a
// prediction written by one without (value 12 bytes, not 45), and its take
// (SET ... XX GET) destroys the prediction: the other replica cannot join it
// either.
TEST_F(SegmentsRedisAttack, MixedFleetDuringRolloutLosesOutcomes) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry ra, rb;
  OutcomeTracker old_replica(ra, "m", "1", RedisSpec(redis.url(), false));
  OutcomeTracker new_replica(rb, "m", "1", RedisSpec(redis.url(), true));
  ASSERT_TRUE(old_replica.RecordPrediction("p", 0.9));
  ASSERT_TRUE(old_replica.FlushPending(std::chrono::seconds(10)));
  EXPECT_EQ(new_replica.RecordOutcome("p", 1.0), OutcomeResult::kMatched);
  EXPECT_EQ(old_replica.RecordOutcome("p", 1.0), OutcomeResult::kDuplicate);
  // And the other way round: a prediction with a segment, joined by a
  // replica without segments.
  ASSERT_TRUE(new_replica.RecordPrediction("q", 0.9, "DE"));
  ASSERT_TRUE(new_replica.FlushPending(std::chrono::seconds(10)));
  EXPECT_EQ(old_replica.RecordOutcome("q", 1.0), OutcomeResult::kMatched);
  EXPECT_EQ(new_replica.RecordOutcome("q", 1.0), OutcomeResult::kDuplicate);
}

// A foreign/hostile value of the right length: size bytes 33..254 are
// accepted as a 32-byte value (garbage becomes a segment), never read past
// the buffer.
TEST_F(SegmentsRedisAttack, HostileSizeBytes) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry r;
  OutcomeTracker t(r, "m", "1", RedisSpec(redis.url(), true));
  for (int size : {0, 1, 32, 33, 200, 254, 255}) {
    std::string v(4 + 8 + 1 + 32, '\x80');
    std::memset(&v[0], 0, 4);
    const double score = 0.9;
    std::memcpy(&v[4], &score, 8);
    v[12] = static_cast<char>(size);
    const std::string key = "t:m:1:h" + std::to_string(size);
    ASSERT_EQ(Resp(redis.port(), {"SET", key, v}), "+OK\r\n");
    EXPECT_EQ(t.RecordOutcome("h" + std::to_string(size), 1.0),
              OutcomeResult::kMatched)
        << size;
  }
  // Short and long values: unmatched, no crash.
  ASSERT_EQ(Resp(redis.port(), {"SET", "t:m:1:short", std::string(13, 'z')}),
            "+OK\r\n");
  EXPECT_EQ(t.RecordOutcome("short", 1.0), OutcomeResult::kUnmatched);
  t.Tick();
  const std::string text = r.TextExposition();
  std::printf("%s\n", text.substr(0, 0).c_str());
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("mlmon_outcomes_total{", 0) == 0) {
      std::printf("  %s\n", line.c_str());
    }
  }
}

}  // namespace
}  // namespace mlmon

namespace mlmon {
namespace {

// Memory of the worst legal segmented multiclass spec (estimate only).
TEST(SegmentsAttack, WorstCaseMulticlassSegmentMemory) {
  MonitorSpec spec;
  spec.model = "m";
  spec.outcome.task = OutcomeSpec::Task::kMulticlass;
  for (std::size_t i = 0; i < OutcomeSpec::kMaxClasses; ++i) {
    spec.outcome.classes.push_back("c" + std::to_string(i));
  }
  spec.outcome.thresholds = {};
  spec.segments = {"country", SegmentSpec::kMaxValues};
  const MemoryEstimate e = EstimateMonitorMemory(spec);
  std::printf("%s\n", e.ToString().c_str());
}

}  // namespace
}  // namespace mlmon

namespace mlmon {
namespace {

// Ticks of the tracker and of the distribution on two threads (both publish
// into shared families), a scraper, and recorders meeting fresh values
// (folding past max_values) with outcomes joined on another thread. TSan.
TEST(SegmentsAttack, TwoTickersScraperRecordersAndJoiners) {
  Registry registry;
  OutcomeSpec spec = Spec(8);
  spec.windows = {std::chrono::seconds(60)};
  OutcomeTracker t(registry, "m", "1", spec);
  ResponseSpec rs;
  rs.segments = {"country", 8};
  rs.windows = {std::chrono::seconds(60)};
  ResponseDistribution d(registry, "m", "1", rs);
  constexpr int kN = 2000;
  std::atomic<bool> done{false};
  std::atomic<int> recorded{0};
  std::thread tick_t([&] {
    while (!done.load()) t.Tick();
  });
  std::thread tick_d([&] {
    while (!done.load()) d.Tick();
  });
  std::thread scrape([&] {
    while (!done.load()) (void)registry.TextExposition();
  });
  std::thread recorder([&] {
    for (int i = 0; i < kN; ++i) {
      const std::string seg = "v" + std::to_string(i % 40);
      const std::string id = "p" + std::to_string(i);
      ASSERT_TRUE(t.RecordPrediction(id, 0.75, seg));
      d.ObserveScore(0.75, id, seg);
      d.ObserveEmpty(seg);
      recorded.store(i + 1, std::memory_order_release);
    }
  });
  std::thread joiner([&] {
    for (int i = 0; i < kN; ++i) {
      while (recorded.load(std::memory_order_acquire) <= i) {
        std::this_thread::yield();
      }
      ASSERT_EQ(t.RecordOutcome("p" + std::to_string(i), 1.0),
                OutcomeResult::kMatched);
    }
  });
  recorder.join();
  joiner.join();
  done.store(true);
  tick_t.join();
  tick_d.join();
  scrape.join();
  t.Tick();
  d.Tick();
  const std::string text = registry.TextExposition();
  EXPECT_EQ(SumOver(text, "mlmon_outcomes_total", "result=\"matched\""), kN);
  EXPECT_EQ(SumOver(text, "mlmon_predictions_total"), kN);
  EXPECT_EQ(SumOver(text, "mlmon_empty_responses_total"), kN);
  EXPECT_EQ(SumOver(text, "mlmon_prediction_score_count"), kN);
}

}  // namespace
}  // namespace mlmon

namespace mlmon {
namespace {

// Ranking with max(k) = 100, a Redis store and segments: the payload is
// 4 + 4 * 100 + 1 + 32 = 437 bytes, past the 404 bytes of a ring record's
// payload and of TakenPrediction::payload. Enqueue writes 33 bytes into the
// next ring slot (its sequence number); TakeMany writes 33 bytes past a
// stack TakenPrediction (ASan: stack-buffer-overflow).
class SegmentsRedisOverflow : public SegmentsRedisAttack {};

TEST_F(SegmentsRedisOverflow, RankingK100WithSegmentsOverflowsPayload) {
  testutil::RedisServer redis;
  ASSERT_TRUE(redis.Start());
  Registry r;
  OutcomeSpec s = RedisSpec(redis.url(), true);
  s.task = OutcomeSpec::Task::kRanking;
  s.k = {1, 100};
  s.thresholds = {};
  OutcomeTracker t(r, "m", "1", s);
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) names.push_back("item" + std::to_string(i));
  std::vector<std::string_view> items(names.begin(), names.end());
  const std::string seg(32, 'S');
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(t.RecordRanking("r" + std::to_string(i), items.data(),
                                items.size(), seg));
  }
  EXPECT_TRUE(t.FlushPending(std::chrono::seconds(5)))
      << "ring corrupted: records never drained";
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(t.RecordOutcome("r" + std::to_string(i), items[3]),
              OutcomeResult::kMatched)
        << i;
  }
  t.Tick();
}

}  // namespace
}  // namespace mlmon

namespace mlmon {
namespace {

// Segments whose series hit the family cap: Adopt finds the overflow series
// taken, the staged instruments stay unexposed, and their outcomes are in
// no series at all (the sum over segment is not the whole model).
// (One model alone past the cap is refused at set-up; two that each fit
// fill the family together.) The counters of the segments that find the
// family full fold into its overflow series: no outcome is lost.
TEST(SegmentsAttack, FamilyCapLosesSegmentOutcomes) {
  Registry::Options o;
  o.max_series_per_family = 40;
  Registry registry(o);
  OutcomeSpec spec = Spec(5);
  spec.all_time_window = false;  // 7 segments x 4 cells = 28 each
  OutcomeTracker t(registry, "m", "1", spec);
  OutcomeTracker t2(registry, "m2", "1", spec);
  for (int i = 0; i < 6; ++i) {
    for (OutcomeTracker* tracker : {&t, &t2}) {
      const std::string id = "p" + std::to_string(i);
      ASSERT_TRUE(tracker->RecordPrediction(id, 0.9, "v" + std::to_string(i)));
      EXPECT_EQ(tracker->RecordOutcome(id, 1.0), OutcomeResult::kMatched);
    }
  }
  t.Tick();
  t2.Tick();
  // Recorded after the segments were published: folded at the next tick.
  ASSERT_TRUE(t2.RecordPrediction("late", 0.9, "v5"));
  EXPECT_EQ(t2.RecordOutcome("late", 1.0), OutcomeResult::kMatched);
  t2.Tick();
  const std::string text = registry.TextExposition();
  EXPECT_EQ(SumOver(text, "mlmon_outcomes_total", "result=\"matched\""), 13);
  // mlmon_confusion_total has 4 series per segment: it reaches the cap,
  // whose overflow series has threshold, predicted and actual
  // "__overflow__"; every cell of the one threshold, overflow included.
  EXPECT_EQ(SumOver(text, "mlmon_confusion_total", ""), 13);
  // And never two series with the same labels.
  std::set<std::string> series;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_TRUE(series.insert(line.substr(0, line.rfind(' '))).second)
        << "repeated " << line;
  }
}

}  // namespace
}  // namespace mlmon

#include "mlmon/alerting.h"
#include "mlmon/errors.h"

namespace mlmon {
namespace {

// README: "With slo.max_segment_gap the rules page when the best and the
// worst segment's precision or recall drift apart." Nothing reads the field.
TEST(SegmentsAttack, MaxSegmentGapIsNotImplemented) {
  std::string error;
  try {
    const MonitorSpec parsed = ParseMonitorSpec(
        "model: m\ntask: binary\nsegments: {name: country}\n"
        "slo: {max_segment_gap: 0.2}\n");
    (void)parsed;
  } catch (const ConfigError& e) {
    error = e.what();
  }
  EXPECT_EQ(error, "") << "monitor.yaml cannot set it";
  MonitorSpec spec;
  spec.model = "m";
  spec.segments = {"country", 20};
  const std::string without = GenerateRules(spec);
  spec.slo.max_segment_gap = 0.2;
  EXPECT_TRUE(GenerateRules(spec) != without) << "the C++ field is ignored";
}

}  // namespace
}  // namespace mlmon
