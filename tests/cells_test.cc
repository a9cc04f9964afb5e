#include "mlmon/detail/cells.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "mlmon/errors.h"

namespace mlmon {
namespace detail {
namespace {

TEST(CellsTest, AllocatedCellsStartAtZero) {
  CellBlock block(16);
  for (std::size_t i = 0; i < 16; ++i) EXPECT_EQ(SumInt(block.ref(), i), 0u);
}

TEST(CellsTest, FreedCellsAreZeroedBeforeReuse) {
  CellRef first;
  {
    CellBlock block(7);
    first = block.ref();
    AddOne(block.ref(), 3);
    AddDouble(block.ref(), 4, 2.5);
    EXPECT_EQ(SumInt(block.ref(), 3), 1u);
  }
  CellBlock again(7);  // same size: reuses the freed range
  EXPECT_EQ(again.ref().chunk, first.chunk);
  EXPECT_EQ(again.ref().offset, first.offset);
  EXPECT_EQ(SumInt(again.ref(), 3), 0u);
  EXPECT_EQ(SumDouble(again.ref(), 4), 0.0);
}

TEST(CellsTest, RejectsRangesLargerThanAChunk) {
  EXPECT_THROW(CellBlock(kChunkCells + 1), ConfigError);
  EXPECT_THROW(CellBlock(0), ConfigError);
}

TEST(CellsTest, EachThreadWritesItsOwnSlotAndSumsAddUp) {
  CellBlock block(2);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        AddOne(block.ref(), 0);
        AddDouble(block.ref(), 1, 0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(SumInt(block.ref(), 0), std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(SumDouble(block.ref(), 1), kThreads * kPerThread * 0.5);
}

TEST(CellsTest, SlotsAreReturnedWhenThreadsExit) {
  // Far more short-lived threads than exclusive slots: leases are recycled,
  // and values written under a recycled lease are kept.
  CellBlock block(1);
  for (int round = 0; round < 3 * kExclusiveSlots; ++round) {
    std::thread([&] { AddOne(block.ref(), 0); }).join();
  }
  EXPECT_EQ(SumInt(block.ref(), 0), 3u * kExclusiveSlots);
  EXPECT_LT(LeasedSlots(), kExclusiveSlots);
}

TEST(CellsTest, ThreadsBeyondExclusiveSlotsShareOneSlotSafely) {
  CellBlock block(1);
  constexpr int kThreads = kExclusiveSlots + 8;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) AddOne(block.ref(), 0);
      // Hold the lease until everyone has written.
      ready.fetch_sub(1);
      while (ready.load() > 0) std::this_thread::yield();
    });
  }
  while (ready.load() < kThreads) std::this_thread::yield();
  go.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(SumInt(block.ref(), 0), std::uint64_t{kThreads} * kPerThread);
}

// SlotCells writes the same cells as the slot-taking functions: in an
// exclusive slot and in the shared one, integer and floating-point cells,
// and a histogram-style pair.
template <bool kExclusive>
void RecordThroughSlotCells(int slot, CellRef ref) {
  const SlotCells<kExclusive> cells(slot);
  cells.AddOne(ref, 0);
  cells.AddDouble(ref, 1, 0.25);
  cells.AddOneAndDouble(ref, 2, 3, 1.5);
  SlotCells<kExclusive>::AddOne(cells.At(ref, 0));
  SlotCells<kExclusive>::AddDouble(cells.At(ref, 1), 0.5);
}

TEST(CellsTest, SlotCellsWriteTheCallersSlot) {
  CellBlock block(4);
  const int slot = CurrentSlot();
  ASSERT_NE(slot, kSharedSlot);
  RecordThroughSlotCells<true>(slot, block.ref());
  EXPECT_EQ(CellAt(slot, block.ref(), 0)->load(), 2u);
  EXPECT_EQ(BitsToDouble(CellAt(slot, block.ref(), 1)->load()), 0.75);
  EXPECT_EQ(CellAt(slot, block.ref(), 2)->load(), 1u);
  EXPECT_EQ(BitsToDouble(CellAt(slot, block.ref(), 3)->load()), 1.5);
  EXPECT_EQ(SumInt(block.ref(), 0), 2u);
  EXPECT_EQ(SumDouble(block.ref(), 3), 1.5);
}

TEST(CellsTest, SharedSlotCellsAreSafeFromManyThreads) {
  CellBlock block(4);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        RecordThroughSlotCells<false>(kSharedSlot, block.ref());
      }
    });
  }
  for (auto& t : threads) t.join();
  const CellRef ref = block.ref();
  const std::uint64_t n = std::uint64_t{kThreads} * kPerThread;
  EXPECT_EQ(CellAt(kSharedSlot, ref, 0)->load(), 2 * n);
  EXPECT_EQ(BitsToDouble(CellAt(kSharedSlot, ref, 1)->load()), 0.75 * n);
  EXPECT_EQ(CellAt(kSharedSlot, ref, 2)->load(), n);
  EXPECT_EQ(BitsToDouble(CellAt(kSharedSlot, ref, 3)->load()), 1.5 * n);
}

}  // namespace
}  // namespace detail
}  // namespace mlmon
