#include "mlmon/detail/cells.h"

#include <fmt/format.h>

#include <map>
#include <new>
#include <vector>

#include "internal/config_errors.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/errors.h"

namespace mlmon {
namespace detail {

std::atomic<Cell*> g_cell_table[kNumSlots][kMaxChunks];

namespace {
// One past the highest exclusive slot ever initialised: scrapes only look at
// slots [0, high water) and the shared slot.
std::atomic<int> g_slot_high_water{0};
}  // namespace

namespace {

// All mutable arena state. Guarded by mu; leaked on purpose so thread_local
// destructors that run after static destruction still find it.
struct Arena {
  Mutex mu;
  // Chunks created (the same in every slot).
  std::size_t num_chunks MLMON_GUARDED_BY(mu) = 0;
  // Bump pointer in the last chunk.
  std::size_t next_free_in_last MLMON_GUARDED_BY(mu) = kChunkCells;
  // Freed ranges, by size.
  std::map<std::size_t, std::vector<CellRef>> free_lists MLMON_GUARDED_BY(mu);
  bool slot_initialised[kNumSlots] MLMON_GUARDED_BY(mu) = {};
  bool slot_leased[kExclusiveSlots] MLMON_GUARDED_BY(mu) = {};
  int leased MLMON_GUARDED_BY(mu) = 0;
};

Arena& GetArena() {
  static Arena* arena = [] {
    auto* a = new Arena;
    MutexLock lock(a->mu);
    a->slot_initialised[kSharedSlot] = true;
    return a;
  }();
  return *arena;
}

// Allocates chunk `c` for slot `s`. REQUIRES: arena.mu held.
bool AllocateChunk(int s, std::size_t c) noexcept {
  Cell* chunk = new (std::nothrow) Cell[kChunkCells];
  if (chunk == nullptr) return false;
  for (std::size_t i = 0; i < kChunkCells; ++i) {
    chunk[i].store(0, std::memory_order_relaxed);
  }
  g_cell_table[s][c].store(chunk, std::memory_order_release);
  return true;
}

// Gives the slot back when its thread exits.
struct SlotLease {
  int slot = -1;
  ~SlotLease() {
    if (slot < 0) return;
    Arena& a = GetArena();
    MutexLock lock(a.mu);
    a.slot_leased[slot] = false;
    --a.leased;
    // Anything this thread records from now on (other thread_local
    // destructors) goes to the shared slot.
    t_slot = kSharedSlot;
  }
};

}  // namespace

int AcquireSlot() noexcept {
  Arena& a = GetArena();
  int chosen = kSharedSlot;
  {
    MutexLock lock(a.mu);
    for (int s = 0; s < kExclusiveSlots; ++s) {
      if (a.slot_leased[s]) continue;
      if (!a.slot_initialised[s]) {
        bool ok = true;
        std::size_t c = 0;
        for (; c < a.num_chunks && ok; ++c) ok = AllocateChunk(s, c);
        if (!ok) break;  // memory is short: use the shared slot
        a.slot_initialised[s] = true;
        if (g_slot_high_water.load(std::memory_order_relaxed) < s + 1) {
          g_slot_high_water.store(s + 1, std::memory_order_release);
        }
      }
      a.slot_leased[s] = true;
      ++a.leased;
      chosen = s;
      break;
    }
  }
  if (chosen != kSharedSlot) {
    static thread_local SlotLease lease;
    lease.slot = chosen;
  }
  t_slot = chosen;
  return chosen;
}

int LeasedSlots() noexcept {
  Arena& a = GetArena();
  MutexLock lock(a.mu);
  return a.leased;
}

CellRef AllocateCells(std::size_t n) {
  if (n == 0 || n > kChunkCells) {
    throw internal::SetupError(
        "Registry",
        fmt::format("an instrument needs 1 to {} cells (too many histogram "
                    "buckets?)",
                    kChunkCells),
        fmt::format("{} cells", n));
  }
  Arena& a = GetArena();
  MutexLock lock(a.mu);
  auto it = a.free_lists.find(n);
  if (it != a.free_lists.end() && !it->second.empty()) {
    CellRef ref = it->second.back();
    it->second.pop_back();
    return ref;  // zeroed when freed
  }
  if (a.next_free_in_last + n > kChunkCells) {
    if (a.num_chunks == kMaxChunks) {
      throw internal::SetupError(
          "Registry", "out of metric cells; too many series",
          fmt::format("{} cells in use", kMaxChunks * kChunkCells));
    }
    std::size_t c = a.num_chunks;
    for (int s = 0; s < kNumSlots; ++s) {
      if (!a.slot_initialised[s]) continue;
      if (!AllocateChunk(s, c)) throw std::bad_alloc();
    }
    ++a.num_chunks;
    a.next_free_in_last = 0;
  }
  CellRef ref{static_cast<std::uint32_t>(a.num_chunks - 1),
              static_cast<std::uint32_t>(a.next_free_in_last)};
  a.next_free_in_last += n;
  return ref;
}

void FreeCells(CellRef ref, std::size_t n) noexcept {
  Arena& a = GetArena();
  MutexLock lock(a.mu);
  for (int s = 0; s < kNumSlots; ++s) {
    if (!a.slot_initialised[s]) continue;
    Cell* base = CellAt(s, ref, 0);
    for (std::size_t i = 0; i < n; ++i)
      base[i].store(0, std::memory_order_relaxed);
  }
  try {
    a.free_lists[n].push_back(ref);
  } catch (...) {
    // Losing a free range only wastes cells; never throw from a destructor.
  }
}

namespace {
template <typename F>
void ForEachSlot(CellRef ref, F&& f) noexcept {
  int hw = g_slot_high_water.load(std::memory_order_acquire);
  for (int s = 0; s < hw; ++s) {
    Cell* chunk = g_cell_table[s][ref.chunk].load(std::memory_order_acquire);
    if (chunk != nullptr) f(chunk + ref.offset);
  }
  f(g_cell_table[kSharedSlot][ref.chunk].load(std::memory_order_acquire) +
    ref.offset);
}
template <typename F>
void ForEachSlotCell(CellRef ref, std::size_t i, F&& f) noexcept {
  ForEachSlot(ref, [&](const Cell* base) {
    f(base[i].load(std::memory_order_relaxed));
  });
}
}  // namespace

std::uint64_t SumInt(CellRef ref, std::size_t i) noexcept {
  std::uint64_t total = 0;
  ForEachSlotCell(ref, i, [&](std::uint64_t v) { total += v; });
  return total;
}

double SumDouble(CellRef ref, std::size_t i) noexcept {
  double total = 0;
  ForEachSlotCell(ref, i, [&](std::uint64_t v) { total += BitsToDouble(v); });
  return total;
}

void SumInts(CellRef ref, std::size_t n, std::uint64_t* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = 0;
  ForEachSlot(ref, [&](const Cell* base) {
    for (std::size_t i = 0; i < n; ++i) {
      out[i] += base[i].load(std::memory_order_relaxed);
    }
  });
}

}  // namespace detail
}  // namespace mlmon
