#include "internal/pending_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testing/data_gen.h"

namespace mlmon {
namespace internal {
namespace {

using Put = PendingStore::PutStatus;
using Take = PendingStore::TakeStatus;

constexpr std::int64_t kTtl = 1000;

PendingStore::Options Opts(std::size_t capacity, std::size_t shards = 0) {
  PendingStore::Options o;
  o.capacity = capacity;
  o.ttl_nanos = kTtl;
  o.payload_bytes = sizeof(double);
  o.shards = shards;
  return o;
}

PendingStore::PutResult PutScore(PendingStore& s, const std::string& id,
                                 double score, std::int64_t now = 0) {
  return s.Put(id, now, &score);
}

Take TakeScore(PendingStore& s, const std::string& id, double* score = nullptr,
               std::int64_t now = 0) {
  double v = -1;
  std::int64_t created = -1;
  Take t = s.Take(id, now, &v, &created);
  if (score != nullptr) *score = v;
  return t;
}

TEST(PendingStoreTest, TakeMatchesOnceThenReportsDuplicate) {
  PendingStore s(Opts(16));
  EXPECT_EQ(PutScore(s, "a", 0.25).status, Put::kInserted);
  EXPECT_EQ(s.pending(), 1u);
  double score = 0;
  EXPECT_EQ(TakeScore(s, "a", &score), Take::kMatched);
  EXPECT_EQ(score, 0.25);
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(s.size(), 1u);  // the tombstone
  EXPECT_EQ(TakeScore(s, "a"), Take::kDuplicate);
}

TEST(PendingStoreTest, TakeOfUnknownIdIsNotFound) {
  PendingStore s(Opts(16));
  EXPECT_EQ(TakeScore(s, "nope"), Take::kNotFound);
  PutScore(s, "ab", 1);
  EXPECT_EQ(TakeScore(s, "a"), Take::kNotFound);
  EXPECT_EQ(TakeScore(s, "abc"), Take::kNotFound);
}

TEST(PendingStoreTest, HoldsExactlyItsCapacityWhenShardsDoNotDivideIt) {
  // capacity / shards not whole: the shards' capacities must still sum to
  // exactly the capacity. Explicit shard counts above the capacity too.
  struct Case {
    std::size_t capacity, shards;
  };
  for (const Case c :
       {Case{100000, 0}, Case{100001, 0}, Case{4097, 0}, Case{2047, 0},
        Case{1, 0}, Case{10, 64}, Case{3, 4}, Case{65, 64}, Case{127, 64}}) {
    PendingStore s(Opts(c.capacity, c.shards));
    SCOPED_TRACE(testing::Message() << "capacity " << c.capacity << ", "
                                    << s.num_shards() << " shards");
    EXPECT_EQ(s.capacity(), c.capacity);
    EXPECT_LE(s.num_shards(), c.capacity);
    // Enough ids that every shard is filled many times over (the ids are
    // spread over the shards by their hash).
    const std::size_t n = std::max<std::size_t>(4 * c.capacity, 64 * 64);
    std::size_t evicted = 0, most = 0;
    for (std::size_t i = 0; i < n; ++i) {
      evicted += PutScore(s, "k" + std::to_string(i), 0.5).evicted_pending;
      most = std::max(most, s.size());
    }
    EXPECT_EQ(most, c.capacity);
    EXPECT_EQ(s.size(), c.capacity);
    EXPECT_EQ(s.pending(), c.capacity);
    EXPECT_EQ(evicted, n - c.capacity);
  }
}

TEST(PendingStoreTest, FullStoreEvictsOldestEntry) {
  PendingStore s(Opts(4));
  ASSERT_EQ(s.num_shards(), 1u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(PutScore(s, "id" + std::to_string(i), i).evicted_pending);
  }
  auto r = PutScore(s, "id4", 4);
  EXPECT_EQ(r.status, Put::kInserted);
  EXPECT_TRUE(r.evicted_pending);
  EXPECT_EQ(s.pending(), 4u);
  EXPECT_EQ(TakeScore(s, "id0"), Take::kNotFound);
  double score = 0;
  EXPECT_EQ(TakeScore(s, "id1", &score), Take::kMatched);
  EXPECT_EQ(score, 1);
}

TEST(PendingStoreTest, EvictingATombstoneIsNotAPendingEviction) {
  PendingStore s(Opts(2));
  PutScore(s, "a", 1);
  PutScore(s, "b", 2);
  ASSERT_EQ(TakeScore(s, "a"), Take::kMatched);
  auto r = PutScore(s, "c", 3);  // evicts tombstone "a"
  EXPECT_FALSE(r.evicted_pending);
  EXPECT_EQ(TakeScore(s, "a"), Take::kNotFound);  // never matched twice
  EXPECT_EQ(TakeScore(s, "b"), Take::kMatched);
}

TEST(PendingStoreTest, ReplacingAPendingIdKeepsOneEntryWithTheNewPayload) {
  PendingStore s(Opts(8));
  PutScore(s, "a", 1, 0);
  EXPECT_EQ(PutScore(s, "a", 2, 10).status, Put::kReplaced);
  EXPECT_EQ(s.pending(), 1u);
  double score = 0;
  EXPECT_EQ(TakeScore(s, "a", &score, 20), Take::kMatched);
  EXPECT_EQ(score, 2);
}

TEST(PendingStoreTest, PutAfterMatchIsRefusedUntilTheTombstoneExpires) {
  PendingStore s(Opts(8));
  PutScore(s, "a", 1, 0);
  ASSERT_EQ(TakeScore(s, "a", nullptr, 1), Take::kMatched);
  EXPECT_EQ(PutScore(s, "a", 2, 2).status, Put::kAlreadyMatched);
  EXPECT_EQ(PutScore(s, "a", 2, kTtl).status, Put::kInserted);
  EXPECT_EQ(s.pending(), 1u);
}

TEST(PendingStoreTest, TakeAfterTtlReportsExpiredAndRemoves) {
  PendingStore s(Opts(8));
  PutScore(s, "a", 1, 0);
  EXPECT_EQ(TakeScore(s, "a", nullptr, kTtl), Take::kExpired);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(TakeScore(s, "a", nullptr, kTtl), Take::kNotFound);
}

// A full one-shard store against a model of its age list (oldest first):
// random puts of new and known ids, takes, TTL expiry. Every status and
// count must match, so eviction stays FIFO through replacements, tombstones
// and removals in the middle (Put prefetches the next victims it expects).
TEST(PendingStoreTest, FullStoreMatchesAFifoModelUnderMixedOperations) {
  struct Item {
    std::string id;
    std::int64_t created;
    bool pending;
  };
  const std::size_t cap = 8;
  PendingStore s(Opts(cap));
  ASSERT_EQ(s.num_shards(), 1u);
  std::vector<Item> model;  // oldest first
  auto find = [&](const std::string& id) {
    for (std::size_t i = 0; i < model.size(); ++i) {
      if (model[i].id == id) return static_cast<int>(i);
    }
    return -1;
  };
  testutil::DataGen gen(7);
  std::int64_t now = 0;
  int evictions = 0;
  for (int step = 0; step < 20000; ++step) {
    now += static_cast<std::int64_t>(gen.Index(40));
    const std::string id = "id" + std::to_string(gen.Index(24));
    const int i = find(id);
    const std::size_t op = gen.Index(10);
    if (op < 6) {  // put
      const double score = step;
      const auto r = PutScore(s, id, score, now);
      Put want = Put::kInserted;
      bool want_evicted = false, want_expired = false;
      if (i >= 0) {
        Item it = model[static_cast<std::size_t>(i)];
        const bool expired = now - it.created >= kTtl;
        if (!it.pending && !expired) {
          want = Put::kAlreadyMatched;
        } else {
          want = it.pending && !expired ? Put::kReplaced : Put::kInserted;
          want_expired = it.pending && expired;
          model.erase(model.begin() + i);
          model.push_back(Item{id, now, true});
        }
      } else {
        if (model.size() == cap) {
          want_evicted = model.front().pending;
          model.erase(model.begin());
          ++evictions;
        }
        model.push_back(Item{id, now, true});
      }
      ASSERT_EQ(r.status, want) << step;
      ASSERT_EQ(r.evicted_pending, want_evicted) << step;
      ASSERT_EQ(r.expired_pending, want_expired) << step;
    } else if (op < 9) {  // take
      double score = -1;
      const Take t = TakeScore(s, id, &score, now);
      Take want = Take::kNotFound;
      if (i >= 0) {
        Item& it = model[static_cast<std::size_t>(i)];
        if (now - it.created >= kTtl) {
          want = it.pending ? Take::kExpired : Take::kNotFound;
          model.erase(model.begin() + i);
        } else if (!it.pending) {
          want = Take::kDuplicate;
        } else {
          want = Take::kMatched;
          it.pending = false;
        }
      }
      ASSERT_EQ(t, want) << step;
    } else {  // expire
      const auto r = s.Expire(now);
      std::size_t pending = 0, matched = 0;
      while (!model.empty() && now - model.front().created >= kTtl) {
        ++(model.front().pending ? pending : matched);
        model.erase(model.begin());
      }
      ASSERT_EQ(r.pending, pending) << step;
      ASSERT_EQ(r.matched, matched) << step;
    }
    std::size_t pending = 0;
    for (const Item& it : model) pending += it.pending ? 1 : 0;
    ASSERT_EQ(s.size(), model.size()) << step;
    ASSERT_EQ(s.pending(), pending) << step;
  }
  EXPECT_GT(evictions, 1000);  // the full-store path was exercised
}

TEST(PendingStoreTest, ExpireRemovesEntriesPastTtlOldestFirst) {
  PendingStore s(Opts(10000));
  for (int i = 0; i < 1000; ++i) PutScore(s, "old" + std::to_string(i), 0, 0);
  for (int i = 0; i < 10; ++i) PutScore(s, "new" + std::to_string(i), 0, 500);
  ASSERT_EQ(TakeScore(s, "old7", nullptr, 1), Take::kMatched);
  auto r = s.Expire(kTtl - 1);
  EXPECT_EQ(r.pending + r.matched, 0u);
  r = s.Expire(kTtl);
  EXPECT_EQ(r.pending, 999u);  // more than one batch
  EXPECT_EQ(r.matched, 1u);
  EXPECT_EQ(s.size(), 10u);
  EXPECT_EQ(TakeScore(s, "new3", nullptr, kTtl), Take::kMatched);
}

TEST(PendingStoreTest, ManyIdsSurviveRandomRemovals) {
  // Exercises the index's backward-shift deletion under heavy probing.
  // One shard, so the whole capacity is usable (with several shards each
  // holds capacity / shards).
  const int n = 50000;
  PendingStore s(Opts(n, 1));
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back("prediction-" + std::to_string(i * 7919));
    ASSERT_FALSE(PutScore(s, ids.back(), i).evicted_pending) << i;
  }
  EXPECT_EQ(s.pending(), static_cast<std::size_t>(n));
  testutil::DataGen gen(1);
  std::vector<bool> taken(n, false);
  for (int i = 0; i < n / 2; ++i) {
    const int j = static_cast<int>(gen.Index(n));
    double score = -1;
    EXPECT_EQ(TakeScore(s, ids[j], &score),
              taken[j] ? Take::kDuplicate : Take::kMatched);
    if (!taken[j]) {
      EXPECT_EQ(score, j);
    }
    taken[j] = true;
  }
  // Expire everything, then every id is unknown and the store is empty.
  s.Expire(kTtl);
  EXPECT_EQ(s.size(), 0u);
  for (int i = 0; i < n; i += 97) {
    EXPECT_EQ(TakeScore(s, ids[i], nullptr, kTtl), Take::kNotFound);
  }
  // Reuse of the freed entries.
  for (int i = 0; i < n; ++i) PutScore(s, ids[i], -i, kTtl);
  for (int i = 0; i < n; i += 13) {
    double score = 0;
    EXPECT_EQ(TakeScore(s, ids[i], &score, kTtl), Take::kMatched);
    EXPECT_EQ(score, -i);
  }
}

TEST(PendingStoreTest, IdsOfMaxLengthAndBinaryBytesAreDistinct) {
  PendingStore s(Opts(64));
  const std::string a(PendingStore::kMaxIdBytes, 'x');
  std::string b = a;
  b.back() = 'y';
  const std::string with_nul("a\0b", 3);
  PutScore(s, a, 1);
  PutScore(s, b, 2);
  PutScore(s, with_nul, 3);
  double score = 0;
  EXPECT_EQ(TakeScore(s, b, &score), Take::kMatched);
  EXPECT_EQ(score, 2);
  EXPECT_EQ(TakeScore(s, std::string("a\0c", 3)), Take::kNotFound);
  EXPECT_EQ(TakeScore(s, with_nul, &score), Take::kMatched);
  EXPECT_EQ(score, 3);
  EXPECT_EQ(TakeScore(s, a, &score), Take::kMatched);
  EXPECT_EQ(score, 1);
}

TEST(PendingStoreTest, OneMillionEntriesFitIn128MiB) {
  EXPECT_EQ(PendingStore::EntryStride(8), 96u);
  EXPECT_EQ(PendingStore::BytesPerEntry(8), 112u);
  PendingStore s(Opts(1000000));
  EXPECT_EQ(s.num_shards(), 64u);
  EXPECT_LE(s.reserved_bytes(), 128u * 1024 * 1024);
}

TEST(PendingStoreTest, HashSpreadsSimilarIds) {
  std::set<std::uint64_t> hashes;
  std::set<std::uint64_t> top_bits;
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t h = HashId("req-" + std::to_string(i));
    hashes.insert(h);
    top_bits.insert(h >> 58);
  }
  EXPECT_EQ(hashes.size(), 10000u);
  EXPECT_EQ(top_bits.size(), 64u);  // every shard used
  EXPECT_NE(HashId(""), HashId(std::string(1, '\0')));
}

TEST(PendingStoreTest, ConcurrentTakesOfOneIdMatchExactlyOnce) {
  PendingStore s(Opts(4096));
  const int ids = 500, threads = 4;
  for (int i = 0; i < ids; ++i) PutScore(s, "id" + std::to_string(i), i);
  std::atomic<int> matched{0}, duplicate{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < ids; ++i) {
        switch (TakeScore(s, "id" + std::to_string(i))) {
          case Take::kMatched:
            ++matched;
            break;
          case Take::kDuplicate:
            ++duplicate;
            break;
          default:
            ADD_FAILURE();
            break;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(matched.load(), ids);
  EXPECT_EQ(duplicate.load(), ids * (threads - 1));
  EXPECT_EQ(s.pending(), 0u);
}

}  // namespace
}  // namespace internal
}  // namespace mlmon
