#include "mlmon/heuristics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "testing/samples.h"

namespace mlmon {
namespace {

static_assert(noexcept(std::declval<HeuristicCheck&>().Record(true)));
static_assert(noexcept(std::declval<HeuristicValue&>().Observe(1.0)));
static_assert(noexcept(
    std::declval<HeuristicRunner<std::string, std::vector<int>>&>().Submit(
        std::declval<std::string&&>(), std::declval<std::vector<int>&&>())));
static_assert(!std::is_copy_constructible_v<HeuristicCheck>);
static_assert(!std::is_copy_constructible_v<HeuristicValue>);

using testutil::SampleValue;

std::string ThrownMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no ConfigError>";
}

// A one-shot gate a test opens; callbacks wait on it (no sleeping).
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

constexpr char kLabels[] = R"(model="rec",version="v7")";

std::string Check(const std::string& name, const std::string& result) {
  return std::string("mlmon_heuristic_checks_total{") + kLabels +
         ",heuristic=\"" + name + "\",result=\"" + result + "\"}";
}
std::string ValueSeries(const std::string& name, const std::string& suffix,
                        const std::string& extra = "") {
  return std::string("mlmon_heuristic_value") + suffix + "{" + kLabels +
         ",heuristic=\"" + name + "\"" + extra + "}";
}
std::string Dropped(const std::string& reason) {
  return std::string("mlmon_dropped_total{") + kLabels + ",reason=\"" + reason +
         "\"}";
}
std::string Hook(const std::string& family, const std::string& hook) {
  return family + "{" + kLabels + ",hook=\"" + hook + "\"}";
}

// ------------------------------------------------------------- Heuristics

class HeuristicsTest : public ::testing::Test {
 protected:
  Registry registry_;
  Heuristics heuristics_{registry_, "rec", "v7"};
};

TEST_F(HeuristicsTest, ChecksAreCountedExactly) {
  HeuristicCheck& check = heuristics_.AddCheck("in_top3");
  EXPECT_EQ(check.name(), "in_top3");
  for (int i = 0; i < 10; ++i) check.Record(i % 3 == 0);  // 4 pass, 6 fail
  EXPECT_EQ(SampleValue(registry_, Check("in_top3", "pass")), 4);
  EXPECT_EQ(SampleValue(registry_, Check("in_top3", "fail")), 6);
}

TEST_F(HeuristicsTest, BothResultSeriesExistBeforeTheFirstRecord) {
  heuristics_.AddCheck("fresh");
  EXPECT_EQ(SampleValue(registry_, Check("fresh", "pass")), 0);
  EXPECT_EQ(SampleValue(registry_, Check("fresh", "fail")), 0);
}

TEST_F(HeuristicsTest, ValuesAreObservedIntoTheDefaultBuckets) {
  HeuristicValue& rank = heuristics_.AddValue("rank");
  EXPECT_EQ(rank.name(), "rank");
  for (double v : {1.0, 1.0, 2.0, 4.5, 7.0, 1000.0}) rank.Observe(v);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("rank", "_count")), 6);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("rank", "_sum")), 1015.5);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("rank", "_bucket", ",le=\"0\"")),
            0);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("rank", "_bucket", ",le=\"1\"")),
            2);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("rank", "_bucket", ",le=\"3\"")),
            3);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("rank", "_bucket", ",le=\"5\"")),
            4);
  EXPECT_EQ(
      SampleValue(registry_, ValueSeries("rank", "_bucket", ",le=\"10\"")), 5);
  EXPECT_EQ(
      SampleValue(registry_, ValueSeries("rank", "_bucket", ",le=\"100\"")), 5);
  EXPECT_EQ(
      SampleValue(registry_, ValueSeries("rank", "_bucket", ",le=\"+Inf\"")),
      6);
}

TEST_F(HeuristicsTest, NaNValueIsDroppedAndCounted) {
  HeuristicValue& v = heuristics_.AddValue("score_gap");
  v.Observe(std::numeric_limits<double>::quiet_NaN());
  v.Observe(std::numeric_limits<double>::quiet_NaN());
  v.Observe(std::numeric_limits<double>::infinity());
  v.Observe(2.0);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("score_gap", "_count")), 1);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("score_gap", "_sum")), 2);
  EXPECT_EQ(SampleValue(registry_, Dropped("nan")), 2);
  EXPECT_EQ(SampleValue(registry_, Dropped("inf")), 1);
}

TEST_F(HeuristicsTest, CustomBucketsAreUsed) {
  Registry registry;
  Heuristics h(registry, "rec", "v7", HeuristicsOptions{{0.5, 1.5}});
  h.AddValue("x").Observe(1.0);
  EXPECT_EQ(SampleValue(registry, ValueSeries("x", "_bucket", ",le=\"0.5\"")),
            0);
  EXPECT_EQ(SampleValue(registry, ValueSeries("x", "_bucket", ",le=\"1.5\"")),
            1);
}

TEST_F(HeuristicsTest, EmptyNamesThrow) {
  EXPECT_NE(ThrownMessage([&] {
              heuristics_.AddCheck("");
            }).find("mlmon: Heuristics: check name: is empty for model 'rec'"),
            std::string::npos);
  EXPECT_NE(ThrownMessage([&] {
              heuristics_.AddValue("");
            }).find("mlmon: Heuristics: value name: is empty for model 'rec'"),
            std::string::npos);
}

TEST_F(HeuristicsTest, DuplicateNamesThrowNamingThem) {
  heuristics_.AddCheck("in_top3");
  heuristics_.AddValue("rank");
  const std::string a = ThrownMessage([&] { heuristics_.AddCheck("in_top3"); });
  EXPECT_NE(a.find("mlmon: Heuristics: check name: is already registered"),
            std::string::npos)
      << a;
  EXPECT_NE(a.find("(in_top3)"), std::string::npos) << a;
  EXPECT_NE(a.find("as a check"), std::string::npos) << a;
  const std::string b = ThrownMessage([&] { heuristics_.AddCheck("rank"); });
  EXPECT_NE(b.find("(rank)"), std::string::npos) << b;
  EXPECT_NE(b.find("as a value"), std::string::npos) << b;
  const std::string c = ThrownMessage([&] { heuristics_.AddValue("in_top3"); });
  EXPECT_NE(c.find("(in_top3)"), std::string::npos) << c;
}

TEST_F(HeuristicsTest, BadSetUpThrows) {
  Registry registry;
  EXPECT_THROW(Heuristics(registry, "", "v1"), ConfigError);
  EXPECT_THROW(Heuristics(registry, "m", "v1", HeuristicsOptions{{2, 1}}),
               ConfigError);
  EXPECT_THROW(Heuristics(registry, "m", "v1", HeuristicsOptions{{}}),
               ConfigError);
  // Each model brings its own buckets; one Heuristics per model version.
  Heuristics first(registry, "a", "1");
  Heuristics other_buckets(registry, "b", "1", HeuristicsOptions{{1, 2}});
  first.AddValue("v").Observe(0.5);
  other_buckets.AddValue("v").Observe(1.5);
  EXPECT_THROW(Heuristics(registry, "b", "1"), ConfigError);
  const std::string text = registry.TextExposition();
  EXPECT_NE(text.find("mlmon_heuristic_value_bucket{model=\"b\",version=\"1\","
                      "heuristic=\"v\",le=\"2\"} 1"),
            std::string::npos)
      << text;
}

TEST_F(HeuristicsTest, HeaderExampleCompilesAndRecords) {
  mlmon::Registry registry;
  mlmon::Heuristics heuristics(registry, "recommender", "v7");
  mlmon::HeuristicCheck& in_top3 =
      heuristics.AddCheck("favourite_carousel_in_top3");
  mlmon::HeuristicValue& rank = heuristics.AddValue("favourite_carousel_rank");
  const int favourite_rank = 2;
  in_top3.Record(favourite_rank <= 3);
  rank.Observe(favourite_rank);
  EXPECT_EQ(
      SampleValue(registry,
                  "mlmon_heuristic_checks_total{model=\"recommender\","
                  "version=\"v7\",heuristic=\"favourite_carousel_in_top3\","
                  "result=\"pass\"}"),
      1);
}

TEST(HeuristicsConcurrencyTest, ConcurrentRecordsAreCountedExactly) {
  Registry registry;
  Heuristics heuristics(registry, "rec", "v7");
  HeuristicCheck& check = heuristics.AddCheck("c");
  HeuristicValue& value = heuristics.AddValue("v");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        check.Record(i % 2 == 0);
        value.Observe(1.0);
      }
    });
  }
  for (int i = 0; i < 20; ++i) registry.TextExposition();  // scrape meanwhile
  for (auto& t : threads) t.join();
  EXPECT_EQ(SampleValue(registry, Check("c", "pass")), 20000);
  EXPECT_EQ(SampleValue(registry, Check("c", "fail")), 20000);
  EXPECT_EQ(SampleValue(registry, ValueSeries("v", "_count")), 40000);
}

// ------------------------------------------------------------- Runner

struct Req {
  std::string user;
  int favourite = 0;
};
using Resp = std::vector<int>;

class HeuristicRunnerTest : public ::testing::Test {
 protected:
  Registry registry_;
  Heuristics heuristics_{registry_, "rec", "v7"};
};

TEST_F(HeuristicRunnerTest, EveryPairIsEvaluatedOnce) {
  auto runner = heuristics_.MakeRunner<Req, Resp>();
  std::atomic<int> calls{0};
  runner->AddValue("rank", [&](const Req& q, const Resp& r) {
    calls.fetch_add(1);
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (r[i] == q.favourite) return static_cast<double>(i + 1);
    }
    return static_cast<double>(r.size() + 1);
  });
  runner->AddCheck("non_empty",
                   [](const Req&, const Resp& r) { return !r.empty(); });
  for (int i = 0; i < 500; ++i) {
    Req q{"user-" + std::to_string(i), i % 4};
    Resp r = i % 10 == 0 ? Resp{} : Resp{3, 2, 1, 0};
    // Queue capacity 1024 > 500, so every Submit succeeds.
    ASSERT_TRUE(runner->Submit(std::move(q), std::move(r)));
  }
  runner->Flush();
  EXPECT_EQ(calls.load(), 500);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("rank", "_count")), 500);
  // favourite i%4 at rank 4 - i%4 in {3,2,1,0}; empty responses: rank 1.
  EXPECT_EQ(SampleValue(registry_, ValueSeries("rank", "_bucket", ",le=\"1\"")),
            125 + 50);  // favourite 3 (never empty: i odd) + all empty
  EXPECT_EQ(SampleValue(registry_, Check("non_empty", "pass")), 450);
  EXPECT_EQ(SampleValue(registry_, Check("non_empty", "fail")), 50);
  EXPECT_EQ(SampleValue(registry_, Dropped("queue_full")), 0);
  runner->Flush();  // nothing new: returns at once
  EXPECT_EQ(calls.load(), 500);
}

TEST_F(HeuristicRunnerTest, ConcurrentSubmittersAreEvaluatedExactly) {
  auto runner = heuristics_.MakeRunner<Req, Resp>(RunnerOptions{65536});
  runner->AddCheck(
      "even", [](const Req& q, const Resp&) { return q.favourite % 2 == 0; });
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        if (runner->Submit(Req{"u", i}, Resp{i})) accepted.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    runner->Flush();  // flushes while producers run
    registry_.TextExposition();
  }
  for (auto& t : threads) t.join();
  runner->Flush();
  EXPECT_EQ(accepted.load(), 20000);
  EXPECT_EQ(SampleValue(registry_, Check("even", "pass")), 10000);
  EXPECT_EQ(SampleValue(registry_, Check("even", "fail")), 10000);
}

TEST_F(HeuristicRunnerTest, SamplesExactlyOneInN) {
  auto runner = heuristics_.MakeRunner<Req, Resp>(RunnerOptions{1024, 5});
  std::vector<int> seen;  // worker only, read after Flush
  runner->AddCheck("c", [&](const Req& q, const Resp&) {
    seen.push_back(q.favourite);
    return true;
  });
  int accepted = 0;
  for (int i = 0; i < 103; ++i) {
    Req q{"u", i};
    if (runner->Submit(std::move(q), Resp{})) {
      ++accepted;
    } else {
      EXPECT_EQ(q.favourite, i);  // not sampled: left untouched
      EXPECT_EQ(q.user, "u");
    }
  }
  runner->Flush();
  EXPECT_EQ(accepted, 21);  // calls 0, 5, ..., 100
  ASSERT_EQ(seen.size(), 21u);
  for (int k = 0; k < 21; ++k) EXPECT_EQ(seen[k], 5 * k);
  EXPECT_EQ(SampleValue(registry_, Check("c", "pass")), 21);
  EXPECT_EQ(SampleValue(registry_, Dropped("queue_full")), 0);  // not a drop
}

TEST_F(HeuristicRunnerTest, ThrowingCallbackIsCountedAndOthersStillRun) {
  auto runner = heuristics_.MakeRunner<Req, Resp>();
  runner->AddCheck("fragile", [](const Req& q, const Resp&) -> bool {
    if (q.favourite % 3 == 0) throw std::runtime_error("boom");
    if (q.favourite % 3 == 1) throw 42;  // not a std::exception
    return true;
  });
  runner->AddValue("fragile_value", [](const Req& q, const Resp&) -> double {
    if (q.favourite % 2 == 0) throw std::out_of_range("no");
    return 1.0;
  });
  runner->AddCheck("robust", [](const Req&, const Resp&) { return true; });
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(runner->Submit(Req{"u", i}, Resp{}));  // serving continues
  }
  runner->Flush();
  // fragile: 10 + 10 throw, 10 pass; fragile_value: 15 throw, 15 observed.
  EXPECT_EQ(SampleValue(registry_, Check("fragile", "pass")), 10);
  EXPECT_EQ(SampleValue(registry_, Check("fragile", "fail")), 0);
  EXPECT_EQ(
      SampleValue(registry_, Hook("mlmon_hook_failures_total", "fragile")), 20);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("fragile_value", "_count")), 15);
  EXPECT_EQ(SampleValue(registry_,
                        Hook("mlmon_hook_failures_total", "fragile_value")),
            15);
  EXPECT_EQ(SampleValue(registry_, Dropped("hook_failure")), 35);
  EXPECT_EQ(SampleValue(registry_, Check("robust", "pass")), 30);
  EXPECT_EQ(SampleValue(registry_, Hook("mlmon_hook_failures_total", "robust")),
            0);
  // The runner keeps working after failures.
  ASSERT_TRUE(runner->Submit(Req{"u", 5}, Resp{}));
  runner->Flush();
  EXPECT_EQ(SampleValue(registry_, Check("robust", "pass")), 31);
}

TEST_F(HeuristicRunnerTest, SlowCallbackIsCountedAndItsResultRecorded) {
  FakeClock clock;
  RunnerOptions options;
  options.budget = std::chrono::milliseconds(5);
  options.clock = &clock;
  auto runner = heuristics_.MakeRunner<Req, Resp>(options);
  runner->AddValue("slow_value", [&](const Req& q, const Resp&) {
    // Every third call "takes" 6 ms; 5 ms exactly is within budget.
    clock.Advance(std::chrono::milliseconds(q.favourite % 3 == 0 ? 6 : 5));
    return 1.0;
  });
  runner->AddCheck("fast", [](const Req&, const Resp&) { return true; });
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(runner->Submit(Req{"u", i}, Resp{}));
  runner->Flush();
  EXPECT_EQ(SampleValue(registry_, Hook("mlmon_hook_slow_total", "slow_value")),
            3);
  EXPECT_EQ(SampleValue(registry_, ValueSeries("slow_value", "_count")), 9);
  EXPECT_EQ(SampleValue(registry_, Hook("mlmon_hook_slow_total", "fast")), 0);
  EXPECT_EQ(
      SampleValue(registry_, Hook("mlmon_hook_failures_total", "slow_value")),
      0);
  EXPECT_EQ(SampleValue(registry_, Dropped("hook_failure")), 0);
}

TEST_F(HeuristicRunnerTest, CallbackBlockedPastItsBudgetIsCountedSlow) {
  // A callback really blocked (on a gate the test opens), budget 0.
  RunnerOptions options;
  options.budget = std::chrono::nanoseconds(0);
  auto runner = heuristics_.MakeRunner<Req, Resp>(options);
  Gate entered, release;
  runner->AddCheck("blocked", [&](const Req&, const Resp&) {
    entered.Open();
    release.Wait();
    return true;
  });
  ASSERT_TRUE(runner->Submit(Req{"u", 1}, Resp{}));
  entered.Wait();
  release.Open();
  runner->Flush();
  EXPECT_EQ(SampleValue(registry_, Hook("mlmon_hook_slow_total", "blocked")),
            1);
  EXPECT_EQ(SampleValue(registry_, Check("blocked", "pass")), 1);
}

TEST_F(HeuristicRunnerTest, FullQueueDropsAndCountsExactlyWithoutBlocking) {
  auto runner = heuristics_.MakeRunner<Req, Resp>(RunnerOptions{8});
  Gate entered, release;
  std::atomic<int> calls{0};
  runner->AddCheck("c", [&](const Req& q, const Resp&) {
    calls.fetch_add(1);
    if (q.favourite == -1) {
      entered.Open();
      release.Wait();  // the worker is stuck here: nothing more is popped
    }
    return true;
  });
  ASSERT_TRUE(runner->Submit(Req{"first", -1}, Resp{}));
  entered.Wait();  // popped: the ring is empty, the worker blocked
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(runner->Submit(Req{"u", i}, Resp{i})) << i;
  }
  for (int i = 0; i < 5; ++i) {
    Req q{std::string(64, 'q'), 100 + i};
    Resp r(32, i);
    EXPECT_FALSE(runner->Submit(std::move(q), std::move(r)));
    // Refused: the caller keeps its values.
    EXPECT_EQ(q.user, std::string(64, 'q'));
    EXPECT_EQ(q.favourite, 100 + i);
    EXPECT_EQ(r, Resp(32, i));
  }
  EXPECT_EQ(SampleValue(registry_, Dropped("queue_full")), 5);
  release.Open();
  runner->Flush();
  EXPECT_EQ(calls.load(), 9);
  EXPECT_EQ(SampleValue(registry_, Check("c", "pass")), 9);
  EXPECT_EQ(SampleValue(registry_, Dropped("queue_full")), 5);
}

TEST_F(HeuristicRunnerTest, DestructionDrainsTheQueue) {
  auto runner = heuristics_.MakeRunner<Req, Resp>();
  Gate release;
  runner->AddCheck("c", [&](const Req&, const Resp&) {
    release.Wait();
    return true;
  });
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(runner->Submit(Req{"u", i}, Resp{}));
  }
  // Callbacks block until the gate opens, which happens only once the
  // destroying thread is launched, so pairs are normally still queued when
  // the destructor runs; either way (no Flush) all 300 must be evaluated.
  std::thread destroy([&] { runner.reset(); });
  release.Open();
  destroy.join();
  EXPECT_EQ(SampleValue(registry_, Check("c", "pass")), 300);
}

TEST_F(HeuristicRunnerTest, BadOptionsThrowNamingTheField) {
  auto make = [&](RunnerOptions o) {
    return ThrownMessage([&] { heuristics_.MakeRunner<Req, Resp>(o); });
  };
  EXPECT_NE(
      make(RunnerOptions{1})
          .find("mlmon: RunnerOptions.queue_capacity: is not in [2, 1048576] "
                "for model 'rec' (1)"),
      std::string::npos);
  EXPECT_NE(make(RunnerOptions{(1u << 20) + 1}).find("queue_capacity"),
            std::string::npos);
  EXPECT_NE(make(RunnerOptions{16, 0})
                .find("mlmon: RunnerOptions.sample_every: is not >= 1 "
                      "for model 'rec' (0)"),
            std::string::npos);
  EXPECT_NE(
      make(RunnerOptions{16, 1, std::chrono::nanoseconds(-1)})
          .find("mlmon: RunnerOptions.budget: is negative for model 'rec' "
                "(-1 ns)"),
      std::string::npos);
}

TEST_F(HeuristicRunnerTest, BadCallbacksThrowNamingThem) {
  auto runner = heuristics_.MakeRunner<Req, Resp>();
  EXPECT_NE(
      ThrownMessage([&] { runner->AddCheck("c", nullptr); })
          .find("mlmon: HeuristicRunner callback: is empty for model 'rec' "
                "version 'v7' (c)"),
      std::string::npos);
  // The failed call did not take the name.
  runner->AddCheck("c", [](const Req&, const Resp&) { return true; });
  EXPECT_NE(ThrownMessage([&] {
              runner->AddValue("c",
                               [](const Req&, const Resp&) { return 1.0; });
            })
                .find("is already registered for model 'rec' version 'v7' "
                      "as a check; heuristic names must be unique (c)"),
            std::string::npos);
  // Names are shared with directly recorded heuristics.
  EXPECT_THROW(heuristics_.AddCheck("c"), ConfigError);
  heuristics_.AddValue("direct");
  EXPECT_THROW(
      runner->AddCheck("direct", [](const Req&, const Resp&) { return true; }),
      ConfigError);
  EXPECT_THROW(
      runner->AddCheck("", [](const Req&, const Resp&) { return true; }),
      ConfigError);
}

// The type of the header example.
struct HomeRequest {
  std::string user;
  std::string favourite;
};
using HomePage = std::vector<std::string>;
double RankOf(const std::string& favourite, const HomePage& page) {
  for (std::size_t i = 0; i < page.size(); ++i) {
    if (page[i] == favourite) return static_cast<double>(i + 1);
  }
  return static_cast<double>(page.size() + 1);
}

TEST(HeuristicRunnerExampleTest, HeaderExampleCompilesAndRecords) {
  mlmon::Registry registry;
  mlmon::Heuristics heuristics(registry, "recommender", "v7");
  auto runner = heuristics.MakeRunner<HomeRequest, HomePage>();
  runner->AddValue("favourite_carousel_rank",
                   [](const HomeRequest& req, const HomePage& page) {
                     return RankOf(req.favourite, page);  // 1-based
                   });
  runner->AddCheck("favourite_carousel_in_top3",
                   [](const HomeRequest& req, const HomePage& page) {
                     return RankOf(req.favourite, page) <= 3;
                   });
  HomeRequest request{"u1", "comedy"};
  HomePage page{"news", "drama", "comedy", "kids"};
  EXPECT_TRUE(runner->Submit(std::move(request), std::move(page)));
  runner->Flush();
  EXPECT_EQ(
      SampleValue(registry,
                  "mlmon_heuristic_value_sum{model=\"recommender\","
                  "version=\"v7\",heuristic=\"favourite_carousel_rank\"}"),
      3);
  EXPECT_EQ(
      SampleValue(registry,
                  "mlmon_heuristic_checks_total{model=\"recommender\","
                  "version=\"v7\",heuristic=\"favourite_carousel_in_top3\","
                  "result=\"pass\"}"),
      1);
}

}  // namespace
}  // namespace mlmon
