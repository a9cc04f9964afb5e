// Writers run while the test scrapes and checks invariants (in the style of
// client_golang's TestHistogramAtomicObserve). Run under -fsanitize=thread by
// `scripts/test --sanitize=thread`.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mlmon/golden_signals.h"
#include "mlmon/registry.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using testutil::SampleValue;

constexpr int kWriters = 4;
constexpr int kPerWriter = 20000;

TEST(HistogramConcurrencyTest, SnapshotIsConsistentUnderConcurrentObserve) {
  Histogram h({1, 2, 3, 4});
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) h.Observe((i + w) % 6);
    });
  }
  std::thread scraper([&] {
    Histogram::Snapshot prev;
    prev.cumulative.assign(5, 0);
    Histogram::Snapshot s;
    while (!done.load()) {
      h.Collect(&s);
      ASSERT_EQ(s.count, s.cumulative.back());
      for (std::size_t b = 1; b < s.cumulative.size(); ++b) {
        ASSERT_LE(s.cumulative[b - 1], s.cumulative[b]);
      }
      ASSERT_GE(s.count, prev.count);
      for (std::size_t b = 0; b < s.cumulative.size(); ++b) {
        ASSERT_GE(s.cumulative[b], prev.cumulative[b]);  // never decrease
      }
      prev = s;
    }
  });
  for (auto& t : writers) t.join();
  done.store(true);
  scraper.join();
  auto s = h.Collect();
  EXPECT_EQ(s.count, std::uint64_t{kWriters} * kPerWriter);
  // Exact sum: each writer observes (i+w)%6 for i in [0, kPerWriter).
  double expected = 0;
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kPerWriter; ++i) expected += (i + w) % 6;
  }
  EXPECT_EQ(s.sum, expected);
}

// Writers record exemplars whose id encodes the value and time they carry;
// the scraper reads every bucket's exemplar and OpenMetrics text meanwhile.
// A torn read (id of one write, value of another) fails the check, and
// TSan reports any unsynchronised access.
TEST(ExemplarConcurrencyTest, ReadersNeverSeeATornExemplar) {
  Histogram h({1, 2, 3, 4});
  h.EnableExemplars();
  FakeClock clock;
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      const int slot = detail::CurrentSlot();
      char id[detail::kMaxExemplarIdBytes];
      for (int i = 0; i < kPerWriter; ++i) {
        const int v = (i + w) % 6;
        // Ids of 3 to 64 bytes, so that their lengths differ too.
        const int pad = 1 + (i % 40);
        const int n = std::snprintf(id, sizeof id, "%d-%d-%0*d", v, w, pad, i);
        h.ObserveAt(slot, v, std::string_view(id, static_cast<std::size_t>(n)),
                    clock);
      }
    });
  }
  std::atomic<long> seen{0};
  std::thread scraper([&] {
    detail::ExemplarValue e;
    while (!done.load()) {
      for (std::size_t b = 0; b < 5; ++b) {
        if (!h.ReadExemplar(b, &e)) continue;
        const std::string id(e.Id());
        // The value the id names, and that value's bucket.
        ASSERT_EQ(std::to_string(static_cast<int>(e.value)),
                  id.substr(0, id.find('-')))
            << id;
        ASSERT_EQ(h.BucketOf(e.value), b) << id;
        ASSERT_EQ(e.unix_seconds, clock.UnixSeconds());
        seen.fetch_add(1);
      }
    }
  });
  for (auto& t : writers) t.join();
  done.store(true);
  scraper.join();
  EXPECT_EQ(h.Collect().count, std::uint64_t{kWriters} * kPerWriter);
  // Every bucket ends with an exemplar of its own values.
  detail::ExemplarValue e;
  for (std::size_t b = 0; b < 5; ++b) {
    ASSERT_TRUE(h.ReadExemplar(b, &e)) << b;
    EXPECT_EQ(h.BucketOf(e.value), b);
  }
}

TEST(ExemplarConcurrencyTest, GuardsWithIdsWhileScrapingOpenMetrics) {
  Registry registry;
  GoldenSignals signals(registry, "m", "1");
  Endpoint& ep = signals.AddEndpoint("predict");
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter / 4; ++i) {
        RequestGuard g(ep);
        g.SetId("w" + std::to_string(w) + "-" + std::to_string(i));
      }
    });
  }
  std::thread scraper([&] {
    while (!done.load()) {
      const std::string om = registry.OpenMetricsExposition();
      ASSERT_EQ(om.compare(om.size() - 6, 6, "# EOF\n"), 0);
    }
  });
  for (auto& t : writers) t.join();
  done.store(true);
  scraper.join();
  EXPECT_NE(registry.OpenMetricsExposition().find("# {id=\"w"),
            std::string::npos);
}

TEST(CounterConcurrencyTest, CountersNeverDecreaseAndTotalsAreExact) {
  Counter c;
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < kPerWriter; ++i) c.Increment();
    });
  }
  std::thread scraper([&] {
    double prev = 0;
    while (!done.load()) {
      double v = c.Value();
      ASSERT_GE(v, prev);
      prev = v;
    }
  });
  for (auto& t : writers) t.join();
  done.store(true);
  scraper.join();
  EXPECT_EQ(c.Value(), double{kWriters} * kPerWriter);
}

TEST(RequestGuardConcurrencyTest, ScrapesStayConsistentWhileServing) {
  Registry registry;
  GoldenSignals signals(registry, "m", "1");
  Endpoint& ep = signals.AddEndpoint("predict");
  ErrorReason bad = ep.BindErrorReason("bad_input");
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < kPerWriter / 4; ++i) {
        RequestGuard g(ep);
        if (i % 10 == 0) g.Fail(bad);
      }
    });
  }
  std::thread scraper([&] {
    while (!done.load()) {
      std::string text = registry.TextExposition();
      ASSERT_NE(text.find("mlmon_requests_total"), std::string::npos);
      auto families = registry.Collect();
      for (const auto& f : families) {
        for (const auto& m : f.metric) {
          if (f.type == prometheus::MetricType::Histogram) {
            ASSERT_EQ(m.histogram.sample_count,
                      m.histogram.bucket.back().cumulative_count);
          }
        }
      }
    }
  });
  for (auto& t : writers) t.join();
  done.store(true);
  scraper.join();
  const std::string text = registry.TextExposition();
  const int total = kWriters * (kPerWriter / 4);
  const int errors = kWriters * ((kPerWriter / 4 + 9) / 10);
  EXPECT_EQ(
      SampleValue(
          text,
          R"(mlmon_requests_total{model="m",version="1",endpoint="predict",status="ok"})"),
      total - errors)
      << text;
  EXPECT_EQ(
      SampleValue(
          text,
          R"(mlmon_request_errors_total{model="m",version="1",endpoint="predict",reason="bad_input"})"),
      errors);
  EXPECT_EQ(
      SampleValue(
          text,
          R"(mlmon_request_duration_seconds_count{model="m",version="1",endpoint="predict"})"),
      total);
  EXPECT_EQ(
      SampleValue(
          text,
          R"(mlmon_requests_in_flight{model="m",version="1",endpoint="predict"})"),
      0);
}

TEST(RegistryConcurrencyTest, SetupAndScrapeRaceSafely) {
  Registry registry;
  std::atomic<bool> done{false};
  std::thread adder([&] {
    for (int i = 0; i < 500; ++i) {
      auto& f =
          registry.AddCounter("race_total", "R.", {"model", "version", "i"});
      f.Add({"m", "1", std::to_string(i)}).Increment();
    }
    done.store(true);
  });
  while (!done.load()) {
    std::string text = registry.TextExposition();
    (void)text;
  }
  adder.join();
  EXPECT_EQ(
      SampleValue(registry, R"(race_total{model="m",version="1",i="499"})"), 1);
}

}  // namespace
}  // namespace mlmon
