#include "internal/pending_store.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mlmon {
namespace internal {

namespace {

constexpr std::uint32_t kNil = 0xffffffffu;

enum EntryState : std::uint8_t { kFree = 0, kPending = 1, kMatchedState = 2 };

// The fixed part of a slab entry; the payload follows at sizeof(Entry).
struct Entry {
  std::int64_t created;  // prediction time (monotonic ns)
  std::uint32_t older;   // age list: next older entry, kNil at the oldest
  std::uint32_t newer;   // age list: next newer entry; free list: next free
  std::uint32_t tag;     // low 32 bits of the id hash (index home = tag&mask)
  std::uint8_t id_len;
  std::uint8_t state;  // EntryState
  char id[PendingStore::kMaxIdBytes];
};
static_assert(sizeof(Entry) == 88, "documented entry size");

// One index slot: 0 in `entry` marks an empty slot, else entry number + 1.
struct IndexSlot {
  std::uint32_t tag;
  std::uint32_t entry;
};
static_assert(sizeof(IndexSlot) == 8, "documented index slot size");

inline std::uint64_t Load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Folded 64x64->128 multiply (the wyhash mixer).
#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 U128;
inline std::uint64_t Mix(std::uint64_t a, std::uint64_t b) noexcept {
  const U128 r = static_cast<U128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}
#else
inline std::uint64_t Mix(std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t x = (a ^ (b >> 29)) * 0x9e3779b97f4a7c15ull;
  x ^= b + 0x632be59bd9b4e019ull + (x << 6) + (x >> 2);
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  return x ^ (x >> 29);
}
#endif

constexpr std::uint64_t kP0 = 0xa0761d6478bd642full;
constexpr std::uint64_t kP1 = 0xe7037ed1a0b428dbull;
constexpr std::uint64_t kP2 = 0x8ebc6af09c88c6e3ull;
constexpr std::uint64_t kP3 = 0x589965cc75374cc3ull;

std::size_t RoundUp8(std::size_t n) noexcept {
  return (n + 7) & ~std::size_t{7};
}

}  // namespace

std::uint64_t HashId(std::string_view id) noexcept {
  const char* p = id.data();
  std::size_t n = id.size();
  std::uint64_t h = kP0 ^ Mix(n ^ kP1, kP2);
  while (n >= 16) {
    h = Mix(Load64(p) ^ kP1, Load64(p + 8) ^ h);
    p += 16;
    n -= 16;
  }
  std::uint64_t a = 0, b = 0;
  if (n >= 8) {
    a = Load64(p);
    p += 8;
    n -= 8;
  }
  if (n > 0) std::memcpy(&b, p, n);
  h = Mix(a ^ kP1, b ^ h ^ kP3);
  return Mix(h ^ kP2, id.size() ^ kP0);
}

void SpinLock::Pause(int spins) noexcept {
  if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  } else {
    std::this_thread::yield();
  }
}

void PendingStore::FreeBlock::operator()(void* p) const noexcept {
  std::free(p);
}

// One block for all shards' slabs and one for all indexes, 2 MiB aligned and,
// on Linux, advised to use transparent huge pages: a join is a few random
// accesses into ~100 MB, and 4 KiB pages would add a TLB miss to each.
std::unique_ptr<unsigned char, PendingStore::FreeBlock>
PendingStore::AllocateBlock(std::size_t bytes) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  const bool huge = bytes >= kHuge;
  const std::size_t align = huge ? kHuge : 64;
  const std::size_t size = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, size);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (huge) madvise(p, size, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
  return std::unique_ptr<unsigned char, FreeBlock>(
      static_cast<unsigned char*>(p));
}

struct alignas(64) PendingStore::Shard {
  SpinLock lock;
  unsigned char* slab = nullptr;  // capacity * stride_, untouched
  IndexSlot* index = nullptr;     // mask + 1 slots, zeroed
  std::uint32_t mask = 0;
  std::uint32_t capacity = 0;  // entries this shard holds at most
  // The fields below and the contents of `slab` and `index` change only
  // under `lock` (the analysis checks the fields; the arrays are reached
  // through ShardOps' raw pointers, which it does not follow).
  std::uint32_t used MLMON_GUARDED_BY(lock) = 0;  // handed out from the slab
  std::uint32_t free_head MLMON_GUARDED_BY(lock) = kNil;
  std::uint32_t oldest MLMON_GUARDED_BY(lock) = kNil;
  std::uint32_t newest MLMON_GUARDED_BY(lock) = kNil;
  // Written under `lock`, read without it by size()/pending().
  std::atomic<std::uint32_t> live{0};
  std::atomic<std::uint32_t> pending{0};
};

PendingStore::PendingStore(const Options& options)
    : payload_bytes_(options.payload_bytes),
      stride_(EntryStride(options.payload_bytes)),
      ttl_(options.ttl_nanos) {
  assert(options.capacity >= 1 && options.ttl_nanos > 0 &&
         options.payload_bytes <= kMaxPayloadBytes);
  std::size_t shards = options.shards;
  if (shards == 0) {
    shards = 1;
    while (shards < 64 && shards * 2 * 1024 <= options.capacity) shards *= 2;
  }
  assert(shards >= 1 && shards <= 64 && (shards & (shards - 1)) == 0);
  // Every shard holds at least one entry.
  while (shards > options.capacity) shards /= 2;
  num_shards_ = shards;
  shard_shift_ = 0;
  while ((std::size_t{1} << shard_shift_) < shards) ++shard_shift_;
  // The capacities sum to exactly options.capacity: the first
  // `capacity % shards` shards hold one entry more than the others.
  const std::size_t base = options.capacity / shards;
  const std::size_t extra = options.capacity % shards;
  capacity_ = options.capacity;
  shard_capacity_ = base + (extra > 0 ? 1 : 0);
  std::size_t slots = 2;
  while (slots < 2 * shard_capacity_) slots *= 2;
  slab_ = AllocateBlock(capacity_ * stride_);
  index_ = AllocateBlock(shards * slots * sizeof(IndexSlot));
  std::memset(index_.get(), 0, shards * slots * sizeof(IndexSlot));
  shards_.reset(new Shard[shards]);
  std::size_t first_entry = 0;
  for (std::size_t s = 0; s < shards; ++s) {
    Shard& sh = shards_[s];
    sh.capacity = static_cast<std::uint32_t>(base + (s < extra ? 1 : 0));
    sh.slab = slab_.get() + first_entry * stride_;
    sh.index = reinterpret_cast<IndexSlot*>(index_.get()) + s * slots;
    sh.mask = static_cast<std::uint32_t>(slots - 1);
    first_entry += sh.capacity;
  }
  assert(first_entry == capacity_);
}

PendingStore::~PendingStore() = default;

std::size_t PendingStore::EntryStride(std::size_t payload_bytes) noexcept {
  return sizeof(Entry) + RoundUp8(payload_bytes);
}

std::size_t PendingStore::reserved_bytes() const noexcept {
  return capacity_ * stride_ +
         num_shards_ * (std::size_t{shards_[0].mask} + 1) * sizeof(IndexSlot);
}

PendingStore::Shard& PendingStore::ShardFor(std::uint64_t hash) const noexcept {
  // Top bits pick the shard; the low 32 bits are the index tag.
  return shards_[shard_shift_ == 0 ? 0 : hash >> (64 - shard_shift_)];
}

namespace {

// Shard-local helpers; every one REQUIRES the shard's lock.
struct ShardOps {
  unsigned char* slab;
  IndexSlot* index;
  std::uint32_t mask;
  std::size_t stride;

  Entry& At(std::uint32_t e) const noexcept {
    return *reinterpret_cast<Entry*>(slab + std::size_t{e} * stride);
  }
  unsigned char* Payload(std::uint32_t e) const noexcept {
    return slab + std::size_t{e} * stride + sizeof(Entry);
  }

  // Index position of `id`, or kNil.
  std::uint32_t Find(std::uint32_t tag, std::string_view id) const noexcept {
    for (std::uint32_t pos = tag & mask;; pos = (pos + 1) & mask) {
      const IndexSlot& s = index[pos];
      if (s.entry == 0) return kNil;
      if (s.tag == tag) {
        const Entry& en = At(s.entry - 1);
        if (en.id_len == id.size() &&
            std::memcmp(en.id, id.data(), id.size()) == 0) {
          return pos;
        }
      }
    }
  }

  void IndexInsert(std::uint32_t tag, std::uint32_t e) const noexcept {
    std::uint32_t pos = tag & mask;
    while (index[pos].entry != 0) pos = (pos + 1) & mask;
    index[pos] = IndexSlot{tag, e + 1};
  }

  // Backward-shift deletion (Knuth's Algorithm R): a later slot moves into
  // the hole unless its home lies cyclically in (hole, slot].
  void IndexErase(std::uint32_t pos) const noexcept {
    std::uint32_t hole = pos;
    for (std::uint32_t j = (hole + 1) & mask; index[j].entry != 0;
         j = (j + 1) & mask) {
      const std::uint32_t home = index[j].tag & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        index[hole] = index[j];
        hole = j;
      }
    }
    index[hole] = IndexSlot{0, 0};
  }

  std::uint32_t IndexPosOf(std::uint32_t e) const noexcept {
    const std::uint32_t tag = At(e).tag;
    std::uint32_t pos = tag & mask;
    while (index[pos].entry != e + 1) pos = (pos + 1) & mask;
    return pos;
  }
};

}  // namespace

// Age-list and slab management; every function requires the shard's lock.
// (Templates, so they can take the private Shard type.)
namespace {

template <typename ShardT>
ShardOps OpsFor(ShardT& sh, std::size_t stride) noexcept {
  return ShardOps{sh.slab, sh.index, sh.mask, stride};
}

template <typename ShardT>
void UnlinkAge(ShardT& sh, const ShardOps& ops, std::uint32_t e) noexcept
    MLMON_REQUIRES(sh.lock) {
  Entry& en = ops.At(e);
  if (en.older != kNil)
    ops.At(en.older).newer = en.newer;
  else
    sh.oldest = en.newer;
  if (en.newer != kNil)
    ops.At(en.newer).older = en.older;
  else
    sh.newest = en.older;
}

template <typename ShardT>
void AppendAge(ShardT& sh, const ShardOps& ops, std::uint32_t e) noexcept
    MLMON_REQUIRES(sh.lock) {
  Entry& en = ops.At(e);
  en.older = sh.newest;
  en.newer = kNil;
  if (sh.newest != kNil)
    ops.At(sh.newest).newer = e;
  else
    sh.oldest = e;
  sh.newest = e;
}

// Removes entry `e` (index, age list) and puts it on the free list.
// Returns true if it was pending.
template <typename ShardT>
bool RemoveEntry(ShardT& sh, const ShardOps& ops, std::uint32_t e,
                 std::uint32_t index_pos) noexcept MLMON_REQUIRES(sh.lock) {
  Entry& en = ops.At(e);
  const bool was_pending = en.state == kPending;
  ops.IndexErase(index_pos);
  UnlinkAge(sh, ops, e);
  en.state = kFree;
  en.newer = sh.free_head;
  sh.free_head = e;
  sh.live.store(sh.live.load(std::memory_order_relaxed) - 1,
                std::memory_order_relaxed);
  if (was_pending) {
    sh.pending.store(sh.pending.load(std::memory_order_relaxed) - 1,
                     std::memory_order_relaxed);
  }
  return was_pending;
}

// When the shard is full, the next Put of a new id evicts `sh.oldest`:
// it reads that entry, probes the index for it and clears the `older` link
// of the entry after it. Those are three cache misses, and the last two
// wait for the first. Eviction is FIFO, so the next victims are known: this
// starts loading, for the next Put into the shard, the oldest entry's index
// slot and both cache lines of the entry after it (the victim after next,
// overwritten when it is evicted). The oldest entry itself was loaded this
// way by the previous Put, so reading its tag and link here is a cache hit
// in steady state (a miss only after a Take or Expire changed the order).
// Only hints: nothing here changes the shard.
// Always inlined: GCC 12 finds an out-of-line function that only loads and
// prefetches "pure" and deletes the calls (their result is unused).
template <typename ShardT>
__attribute__((always_inline)) inline void PrefetchNextVictims(
    const ShardT& sh, const ShardOps& ops) noexcept MLMON_REQUIRES(sh.lock) {
  const std::uint32_t v = sh.oldest;
  if (v == kNil) return;
  const Entry& en = ops.At(v);
  __builtin_prefetch(&ops.index[en.tag & ops.mask]);
  if (en.newer != kNil) {
    const unsigned char* next = ops.slab + std::size_t{en.newer} * ops.stride;
    __builtin_prefetch(next);
    __builtin_prefetch(next + ops.stride - 1);
  }
}

}  // namespace

void PendingStore::Prefetch(std::uint64_t hash) const noexcept {
  const Shard& sh = ShardFor(hash);
  // index and mask are fixed at construction: reading them unlocked is safe.
  __builtin_prefetch(&sh.index[static_cast<std::uint32_t>(hash) & sh.mask]);
}

PendingStore::PutResult PendingStore::Put(std::string_view id, std::uint64_t h,
                                          std::int64_t now_nanos,
                                          const void* payload) noexcept {
  assert(!id.empty() && id.size() <= kMaxIdBytes);
  assert(h == HashId(id));
  const auto tag = static_cast<std::uint32_t>(h);
  Shard& sh = ShardFor(h);
  const ShardOps ops = OpsFor(sh, stride_);
  PutResult result;
  SpinLockGuard lock(sh.lock);
  const std::uint32_t pos = ops.Find(tag, id);
  if (pos != kNil) {
    const std::uint32_t e = sh.index[pos].entry - 1;
    Entry& en = ops.At(e);
    const bool expired = now_nanos - en.created >= ttl_;
    if (en.state == kMatchedState && !expired) {
      result.status = PutStatus::kAlreadyMatched;
      return result;
    }
    if (en.state == kPending) {
      result.status = expired ? PutStatus::kInserted : PutStatus::kReplaced;
      result.expired_pending = expired;
    } else {  // an expired tombstone: a fresh prediction
      result.status = PutStatus::kInserted;
      en.state = kPending;
      sh.pending.store(sh.pending.load(std::memory_order_relaxed) + 1,
                       std::memory_order_relaxed);
    }
    en.created = now_nanos;
    std::memcpy(ops.Payload(e), payload, payload_bytes_);
    UnlinkAge(sh, ops, e);
    AppendAge(sh, ops, e);
    if (sh.free_head == kNil && sh.used == sh.capacity) {
      PrefetchNextVictims(sh, ops);
    }
    return result;
  }
  std::uint32_t e;
  if (sh.free_head != kNil) {
    e = sh.free_head;
    sh.free_head = ops.At(e).newer;
  } else if (sh.used < sh.capacity) {
    e = sh.used++;
  } else {
    e = sh.oldest;  // full: evict the oldest entry of this shard
    result.evicted_pending = RemoveEntry(sh, ops, e, ops.IndexPosOf(e));
    sh.free_head = ops.At(e).newer;  // pop `e` back off the free list
  }
  Entry& en = ops.At(e);
  en.created = now_nanos;
  en.tag = tag;
  en.id_len = static_cast<std::uint8_t>(id.size());
  en.state = kPending;
  std::memcpy(en.id, id.data(), id.size());
  std::memcpy(ops.Payload(e), payload, payload_bytes_);
  ops.IndexInsert(tag, e);
  AppendAge(sh, ops, e);
  sh.live.store(sh.live.load(std::memory_order_relaxed) + 1,
                std::memory_order_relaxed);
  sh.pending.store(sh.pending.load(std::memory_order_relaxed) + 1,
                   std::memory_order_relaxed);
  if (sh.free_head == kNil && sh.used == sh.capacity) {
    PrefetchNextVictims(sh, ops);  // the next new id will evict
  }
  result.status = PutStatus::kInserted;
  return result;
}

PendingStore::TakeStatus PendingStore::Take(
    std::string_view id, std::uint64_t h, std::int64_t now_nanos,
    void* payload_out, std::int64_t* created_nanos) noexcept {
  assert(!id.empty() && id.size() <= kMaxIdBytes);
  assert(h == HashId(id));
  const auto tag = static_cast<std::uint32_t>(h);
  Shard& sh = ShardFor(h);
  const ShardOps ops = OpsFor(sh, stride_);
  SpinLockGuard lock(sh.lock);
  const std::uint32_t pos = ops.Find(tag, id);
  if (pos == kNil) return TakeStatus::kNotFound;
  const std::uint32_t e = sh.index[pos].entry - 1;
  Entry& en = ops.At(e);
  if (now_nanos - en.created >= ttl_) {
    return RemoveEntry(sh, ops, e, pos) ? TakeStatus::kExpired
                                        : TakeStatus::kNotFound;
  }
  if (en.state == kMatchedState) return TakeStatus::kDuplicate;
  std::memcpy(payload_out, ops.Payload(e), payload_bytes_);
  *created_nanos = en.created;
  en.state = kMatchedState;
  sh.pending.store(sh.pending.load(std::memory_order_relaxed) - 1,
                   std::memory_order_relaxed);
  return TakeStatus::kMatched;
}

PendingStore::ExpireResult PendingStore::Expire(
    std::int64_t now_nanos) noexcept {
  ExpireResult result;
  for (std::size_t s = 0; s < num_shards_; ++s) {
    Shard& sh = shards_[s];
    const ShardOps ops = OpsFor(sh, stride_);
    bool more = true;
    while (more) {
      SpinLockGuard lock(sh.lock);
      more = false;
      for (std::size_t n = 0; n < kExpireBatch; ++n) {
        const std::uint32_t e = sh.oldest;
        if (e == kNil || now_nanos - ops.At(e).created < ttl_) break;
        if (RemoveEntry(sh, ops, e, ops.IndexPosOf(e))) {
          ++result.pending;
        } else {
          ++result.matched;
        }
        // The next removal's misses start loading now (FIFO order), which
        // shortens the lock hold that a RecordPrediction may wait on.
        PrefetchNextVictims(sh, ops);
        more = n + 1 == kExpireBatch;
      }
    }
  }
  return result;
}

std::size_t PendingStore::size() const noexcept {
  std::size_t n = 0;
  for (std::size_t s = 0; s < num_shards_; ++s) {
    n += shards_[s].live.load(std::memory_order_relaxed);
  }
  return n;
}

std::size_t PendingStore::pending() const noexcept {
  std::size_t n = 0;
  for (std::size_t s = 0; s < num_shards_; ++s) {
    n += shards_[s].pending.load(std::memory_order_relaxed);
  }
  return n;
}

}  // namespace internal
}  // namespace mlmon
