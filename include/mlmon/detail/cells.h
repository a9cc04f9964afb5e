#ifndef MLMON_DETAIL_CELLS_H_
#define MLMON_DETAIL_CELLS_H_

/// \file
/// Per-thread striped storage behind every counter and histogram.
///
/// Public because instrument hot paths are inline; users never call it.
///
/// Memory protocol. Storage is a table `table[slot][chunk]` of 64-bit atomic
/// cells. An instrument owns a range of cells (`CellRef`) that exists in every
/// slot. A thread leases one *exclusive* slot on its first recording call and
/// gives it back when it exits; while it holds the lease no other thread
/// writes that slot's cells, so a recording call is a relaxed load plus a
/// relaxed store (no locked instruction, no cache line shared with another
/// writer). Threads beyond `kExclusiveSlots` share slot `kSharedSlot`, which
/// is written with read-modify-write atomics. Lease hand-over goes through a
/// mutex, so the next owner sees the previous owner's last stores. A scrape
/// sums a range over all slots with relaxed loads: every cell only grows (or,
/// for up/down gauges, only its owner moves it), and scrapes are serialised,
/// so each summed value is monotonic for monotonic instruments.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mlmon {
namespace detail {

/// Cells per chunk (32 KiB per chunk per slot).
inline constexpr std::size_t kChunkCells = 4096;
/// Chunks per slot: caps the cells of one process at kChunkCells*kMaxChunks.
inline constexpr std::size_t kMaxChunks = 4096;
/// Threads that get a slot of their own.
inline constexpr int kExclusiveSlots = 64;
/// The slot shared (with atomic read-modify-write) by all further threads.
inline constexpr int kSharedSlot = kExclusiveSlots;
inline constexpr int kNumSlots = kExclusiveSlots + 1;

using Cell = std::atomic<std::uint64_t>;

/// A range of cells, valid in every slot.
struct CellRef {
  std::uint32_t chunk = 0;
  std::uint32_t offset = 0;
};

/// table[slot][chunk]: null until the chunk exists and the slot was used.
extern std::atomic<Cell*> g_cell_table[kNumSlots][kMaxChunks];

/// This thread's slot, or -1 before its first recording call. Constant
/// initialised, so access needs no TLS wrapper call.
#if defined(__GNUC__)
__attribute__((tls_model("initial-exec")))
#endif
inline thread_local int t_slot = -1;

/// Leases a slot for the calling thread (first call on a thread only). Takes
/// a mutex and may allocate the slot's chunks; falls back to the shared slot
/// when all exclusive slots are taken or memory is short.
int AcquireSlot() noexcept;

inline int CurrentSlot() noexcept {
  int s = t_slot;
  if (__builtin_expect(s < 0, 0)) s = AcquireSlot();
  return s;
}

inline double BitsToDouble(std::uint64_t b) noexcept {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}
inline std::uint64_t DoubleToBits(double d) noexcept {
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

inline Cell* CellAt(int slot, CellRef ref, std::size_t i) noexcept {
  return g_cell_table[slot][ref.chunk].load(std::memory_order_relaxed) +
         ref.offset + i;
}

// The write protocol, for one cell. Every recording call of the library
// ends in one of these two functions. `exclusive`: the cell is in the
// calling thread's leased slot. Callers that know the slot kind at compile
// time (`SlotCells`) pass a constant, and the branch folds away.

/// Adds 1 to integer cell `c`.
inline void AddOneToCell(bool exclusive, Cell* c) noexcept {
  if (exclusive) {
    c->store(c->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  } else {
    c->fetch_add(1, std::memory_order_relaxed);
  }
}

/// Adds `v` to floating-point cell `c`.
inline void AddDoubleToCell(bool exclusive, Cell* c, double v) noexcept {
  if (exclusive) {
    c->store(DoubleToBits(BitsToDouble(c->load(std::memory_order_relaxed)) + v),
             std::memory_order_relaxed);
  } else {
    std::uint64_t old = c->load(std::memory_order_relaxed);
    while (!c->compare_exchange_weak(old, DoubleToBits(BitsToDouble(old) + v),
                                     std::memory_order_relaxed)) {
    }
  }
}

/// Adds 1 to integer cell `i` of `ref` in slot `s`.
/// REQUIRES: `s` is the calling thread's slot (`CurrentSlot()`).
inline void AddOneAt(int s, CellRef ref, std::size_t i) noexcept {
  AddOneToCell(s != kSharedSlot, CellAt(s, ref, i));
}

/// Adds `v` to floating-point cell `i` of `ref` in slot `s`.
/// REQUIRES: `s` is the calling thread's slot.
inline void AddDoubleAt(int s, CellRef ref, std::size_t i, double v) noexcept {
  AddDoubleToCell(s != kSharedSlot, CellAt(s, ref, i), v);
}

/// Adds 1 to integer cell `i` and `v` to floating-point cell `j` of `ref` in
/// slot `s` (histogram observe). REQUIRES: `s` is the calling thread's slot.
inline void AddOneAndDoubleAt(int s, CellRef ref, std::size_t i, std::size_t j,
                              double v) noexcept {
  Cell* base = CellAt(s, ref, 0);
  const bool exclusive = s != kSharedSlot;
  AddOneToCell(exclusive, base + i);
  AddDoubleToCell(exclusive, base + j, v);
}

/// One thread's cells, for recorders that update many instruments per call
/// (`FeatureMonitor::Observe`): the slot is looked up once, its row of
/// chunks is held, and the slot kind is a template parameter, so each write
/// is the bare protocol of its kind with no per-cell test. The caller tests
/// the kind once:
///
///     const int slot = CurrentSlot();
///     if (slot != kSharedSlot) Record(SlotCells<true>(slot));
///     else Record(SlotCells<false>(slot));
///
/// REQUIRES: `slot` is the calling thread's slot, exclusive iff
/// `kExclusive`.
template <bool kExclusive>
class SlotCells {
 public:
  explicit SlotCells(int slot) noexcept : row_(g_cell_table[slot]) {}

  /// Cell `i` of `ref` in this slot.
  Cell* At(CellRef ref, std::size_t i = 0) const noexcept {
    return row_[ref.chunk].load(std::memory_order_relaxed) + ref.offset + i;
  }
  /// Adds 1 to integer cell `c` (from `At`).
  static void AddOne(Cell* c) noexcept { AddOneToCell(kExclusive, c); }
  /// Adds `v` to floating-point cell `c` (from `At`).
  static void AddDouble(Cell* c, double v) noexcept {
    AddDoubleToCell(kExclusive, c, v);
  }
  /// Adds 1 to integer cell `i` of `ref`.
  void AddOne(CellRef ref, std::size_t i) const noexcept { AddOne(At(ref, i)); }
  /// Adds `v` to floating-point cell `i` of `ref`.
  void AddDouble(CellRef ref, std::size_t i, double v) const noexcept {
    AddDouble(At(ref, i), v);
  }
  /// Adds 1 to integer cell `i` and `v` to floating-point cell `j` of `ref`
  /// (a histogram observation).
  void AddOneAndDouble(CellRef ref, std::size_t i, std::size_t j,
                       double v) const noexcept {
    Cell* base = At(ref);
    AddOne(base + i);
    AddDouble(base + j, v);
  }

 private:
  std::atomic<Cell*>* row_;
};

/// The same, in the caller's slot.
inline void AddOne(CellRef ref, std::size_t i) noexcept {
  AddOneAt(CurrentSlot(), ref, i);
}
inline void AddDouble(CellRef ref, std::size_t i, double v) noexcept {
  AddDoubleAt(CurrentSlot(), ref, i, v);
}
inline void AddOneAndDouble(CellRef ref, std::size_t i, std::size_t j,
                            double v) noexcept {
  AddOneAndDoubleAt(CurrentSlot(), ref, i, j, v);
}

/// Sum of integer cell `i` over all slots. Off the hot path.
std::uint64_t SumInt(CellRef ref, std::size_t i) noexcept;
/// Sum of floating-point cell `i` over all slots. Off the hot path.
double SumDouble(CellRef ref, std::size_t i) noexcept;
/// Sums integer cells [0, n) over all slots into out[0..n). Off the hot path.
void SumInts(CellRef ref, std::size_t n, std::uint64_t* out) noexcept;

/// Allocates `n` zeroed cells in every slot. Set-up only.
/// \throw mlmon::ConfigError if `n` exceeds kChunkCells or cells run out.
CellRef AllocateCells(std::size_t n);
/// Returns cells for reuse (zeroed again). REQUIRES: no thread records to them.
void FreeCells(CellRef ref, std::size_t n) noexcept;

/// A range of cells owned by one instrument (RAII, move-only).
class CellBlock {
 public:
  explicit CellBlock(std::size_t n) : ref_(AllocateCells(n)), n_(n) {}
  ~CellBlock() {
    if (n_ != 0) FreeCells(ref_, n_);
  }
  CellBlock(const CellBlock&) = delete;
  CellBlock& operator=(const CellBlock&) = delete;
  CellRef ref() const noexcept { return ref_; }
  std::size_t size() const noexcept { return n_; }

 private:
  CellRef ref_;
  std::size_t n_;
};

/// Number of exclusive slots currently leased (for tests and docs).
int LeasedSlots() noexcept;

}  // namespace detail
}  // namespace mlmon

#endif  // MLMON_DETAIL_CELLS_H_
