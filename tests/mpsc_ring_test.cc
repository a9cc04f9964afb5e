#include "mlmon/detail/mpsc_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mlmon {
namespace detail {
namespace {

static_assert(noexcept(std::declval<MpscRing<std::string>&>().TryPush(
    std::declval<std::string&&>())));
static_assert(noexcept(std::declval<MpscRing<std::string>&>().TryPop(
    std::declval<std::string*>())));
static_assert(!std::is_copy_constructible_v<MpscRing<int>>);

TEST(MpscRingTest, PopsInPushOrder) {
  MpscRing<int> ring(4);
  EXPECT_EQ(ring.capacity(), 4u);
  int out = -1;
  EXPECT_FALSE(ring.TryPop(&out));
  for (int i = 0; i < 3; ++i) {
    int v = i;
    EXPECT_TRUE(ring.TryPush(std::move(v)));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ring.TryPop(&out));
    EXPECT_EQ(out, i);
  }
  EXPECT_FALSE(ring.TryPop(&out));
  EXPECT_EQ(ring.claimed(), 3u);
  EXPECT_EQ(ring.popped(), 3u);
}

TEST(MpscRingTest, FullRingRefusesAndLeavesValueUntouched) {
  MpscRing<std::string> ring(3);
  for (int i = 0; i < 3; ++i) {
    std::string s(100, static_cast<char>('a' + i));  // heap, not SSO
    EXPECT_TRUE(ring.TryPush(std::move(s)));
  }
  std::string extra(100, 'z');
  EXPECT_FALSE(ring.TryPush(std::move(extra)));
  EXPECT_EQ(extra, std::string(100, 'z'));
  EXPECT_EQ(ring.claimed(), 3u);

  std::string out;
  ASSERT_TRUE(ring.TryPop(&out));
  EXPECT_EQ(out, std::string(100, 'a'));
  EXPECT_TRUE(ring.TryPush(std::move(extra)));  // one slot free again
  EXPECT_FALSE(ring.TryPush(std::string("again")));
  for (char c : {'b', 'c', 'z'}) {
    ASSERT_TRUE(ring.TryPop(&out));
    EXPECT_EQ(out, std::string(100, c));
  }
  EXPECT_FALSE(ring.TryPop(&out));
}

TEST(MpscRingTest, WrapsAroundForManyLaps) {
  MpscRing<std::uint64_t> ring(2);
  std::uint64_t out = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    std::uint64_t a = 2 * i, b = 2 * i + 1;
    ASSERT_TRUE(ring.TryPush(std::move(a)));
    ASSERT_TRUE(ring.TryPush(std::move(b)));
    std::uint64_t c = 7;
    ASSERT_FALSE(ring.TryPush(std::move(c)));
    ASSERT_TRUE(ring.TryPop(&out));
    EXPECT_EQ(out, 2 * i);
    ASSERT_TRUE(ring.TryPop(&out));
    EXPECT_EQ(out, 2 * i + 1);
  }
  EXPECT_EQ(ring.popped(), 2000u);
}

TEST(MpscRingTest, PopLeavesTheSlotOwningNothing) {
  // A popped slot holds a move-constructed-from value, so the next push's
  // move assignment hands the producer back an empty object.
  MpscRing<std::vector<int>> ring(2);
  std::vector<int> out(50, 9);  // *out's old buffer dies on the consumer
  ASSERT_TRUE(ring.TryPush(std::vector<int>(100, 1)));
  ASSERT_TRUE(ring.TryPop(&out));
  EXPECT_EQ(out.size(), 100u);
  ASSERT_TRUE(ring.TryPush(std::vector<int>(10, 2)));
  ASSERT_TRUE(ring.TryPush(std::vector<int>(10, 3)));  // reuses slot 0
  ASSERT_TRUE(ring.TryPop(&out));
  EXPECT_EQ(out, std::vector<int>(10, 2));
  ASSERT_TRUE(ring.TryPop(&out));
  EXPECT_EQ(out, std::vector<int>(10, 3));
}

struct Big {
  int len = 0;
  char bytes[256];
};

TEST(MpscRingTest, PushWithFillsInPlaceAndPopWithReadsInPlace) {
  MpscRing<Big> ring(2);
  auto fill = [](const char* text) {
    return [text](Big& b) noexcept {
      b.len = static_cast<int>(std::strlen(text));
      std::memcpy(b.bytes, text, static_cast<std::size_t>(b.len));
    };
  };
  EXPECT_TRUE(ring.TryPushWith(fill("first")));
  EXPECT_TRUE(ring.TryPushWith(fill("second")));
  bool called = false;
  EXPECT_FALSE(ring.TryPushWith([&](Big&) noexcept { called = true; }));
  EXPECT_FALSE(called) << "a full ring must not call the fill function";
  std::vector<std::string> seen;
  auto read = [&](Big& b) {
    seen.emplace_back(b.bytes, static_cast<std::size_t>(b.len));
  };
  EXPECT_TRUE(ring.TryPopWith(read));
  EXPECT_TRUE(ring.TryPushWith(fill("third")));  // the freed slot
  EXPECT_TRUE(ring.TryPopWith(read));
  EXPECT_TRUE(ring.TryPopWith(read));
  EXPECT_FALSE(ring.TryPopWith(read));
  EXPECT_EQ(seen, (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_EQ(ring.claimed(), 3u);
  EXPECT_EQ(ring.popped(), 3u);
}

TEST(MpscRingTest, ThrowingConsumerLeavesTheValueInTheRing) {
  MpscRing<int> ring(4);
  int v = 7;
  ASSERT_TRUE(ring.TryPush(std::move(v)));
  EXPECT_THROW(
      ring.TryPopWith([](int&) { throw std::runtime_error("disk full"); }),
      std::runtime_error);
  EXPECT_EQ(ring.popped(), 0u);
  int out = 0;
  EXPECT_TRUE(ring.TryPop(&out));
  EXPECT_EQ(out, 7);
}

TEST(MpscRingTest, RejectsCapacityBelowTwo) {
  EXPECT_THROW(MpscRing<int>(0), ConfigError);
  try {
    MpscRing<int> ring(1);
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "mlmon: MpscRing.capacity: not >= 2 (1)");
  }
}

// Four producers push distinct values (retrying when full) while one
// consumer pops: every value arrives exactly once, and each producer's values
// arrive in the order it pushed them.
TEST(MpscRingConcurrencyTest, FourProducersDeliverExactMultiset) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 20000;
  MpscRing<std::pair<int, std::string>> ring(64);
  std::atomic<int> full_seen{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&ring, &full_seen, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        std::pair<int, std::string> v(p,
                                      std::to_string(i) + std::string(20, 'x'));
        while (!ring.TryPush(std::move(v))) {
          // Refused: `v` is untouched, retry.
          full_seen.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::yield();
        }
      }
    });
  }
  std::vector<int> next(kProducers, 0);
  std::pair<int, std::string> out;
  int received = 0;
  while (received < kProducers * kPerProducer) {
    if (!ring.TryPop(&out)) {
      std::this_thread::yield();
      continue;
    }
    ++received;
    ASSERT_GE(out.first, 0);
    ASSERT_LT(out.first, kProducers);
    ASSERT_EQ(out.second,
              std::to_string(next[out.first]) + std::string(20, 'x'));
    ++next[out.first];
  }
  for (auto& t : producers) t.join();
  EXPECT_FALSE(ring.TryPop(&out));
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kPerProducer);
  EXPECT_EQ(ring.claimed(),
            static_cast<std::uint64_t>(kProducers) * kPerProducer);
  EXPECT_EQ(ring.popped(), ring.claimed());
}

// Producers that never retry: pushed + refused == attempted, and the
// consumer gets exactly the pushed values.
TEST(MpscRingConcurrencyTest, RefusedPushesAreExactlyTheMissingOnes) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 5000;
  MpscRing<std::uint64_t> ring(16);
  std::atomic<std::uint64_t> pushed_sum{0};
  std::atomic<int> pushed{0};
  std::atomic<bool> done{false};
  std::uint64_t popped_sum = 0;
  int popped = 0;
  std::thread consumer([&] {
    std::uint64_t v;
    for (;;) {
      const bool finished = done.load(std::memory_order_acquire);
      while (ring.TryPop(&v)) {
        popped_sum += v;
        ++popped;
      }
      if (finished) break;
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        std::uint64_t v = static_cast<std::uint64_t>(p) * 1000000 + i;
        const std::uint64_t copy = v;
        if (ring.TryPush(std::move(v))) {
          pushed.fetch_add(1);
          pushed_sum.fetch_add(copy);
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  done.store(true, std::memory_order_release);
  consumer.join();
  EXPECT_EQ(popped, pushed.load());
  EXPECT_EQ(popped_sum, pushed_sum.load());
  EXPECT_EQ(ring.claimed(), static_cast<std::uint64_t>(pushed.load()));
}

}  // namespace
}  // namespace detail
}  // namespace mlmon
