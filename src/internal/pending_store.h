#ifndef MLMON_SRC_INTERNAL_PENDING_STORE_H_
#define MLMON_SRC_INTERNAL_PENDING_STORE_H_

/// \file
/// The bounded, sharded table of predictions waiting for their outcome.
/// Private to the library (never installed).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "mlmon/detail/mutex.h"

namespace mlmon {
namespace internal {

/// Hashes an id (or a ranking item): 64-bit, word at a time, no allocation.
std::uint64_t HashId(std::string_view id) noexcept;

/// A test-and-test-and-set spin lock for critical sections of a few dozen
/// nanoseconds. Spins with a CPU pause, then yields. A capability for
/// clang's -Wthread-safety: the state it protects is `MLMON_GUARDED_BY` it.
///
/// Thread safety: thread-safe.
class MLMON_CAPABILITY("mutex") SpinLock {
 public:
  void lock() noexcept MLMON_ACQUIRE() {
    for (int spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        Pause(++spins);
      }
    }
  }
  void unlock() noexcept MLMON_RELEASE() {
    locked_.store(false, std::memory_order_release);
  }
  /// One step of a spin wait: a CPU pause for the first 64 `spins`, then a
  /// yield (also for other short waits, e.g. `SegmentTable`).
  static void Pause(int spins) noexcept;

 private:
  std::atomic<bool> locked_{false};
};

/// Holds a `SpinLock` for its scope, like `std::lock_guard` (which the
/// analysis cannot see through).
class MLMON_SCOPED_CAPABILITY SpinLockGuard {
 public:
  explicit SpinLockGuard(SpinLock& lock) noexcept MLMON_ACQUIRE(lock)
      : lock_(lock) {
    lock_.lock();
  }
  ~SpinLockGuard() MLMON_RELEASE() { lock_.unlock(); }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

 private:
  SpinLock& lock_;
};

/// Predictions waiting for an outcome, keyed by id, bounded in entries and
/// in time.
///
/// Layout. `shards` independent shards, chosen by the top bits of the id's
/// hash (64 shards by default; fewer for small capacities, so tiny stores
/// still evict in global FIFO order; never more shards than entries). The
/// shard capacities sum to exactly `capacity` (the first `capacity % shards`
/// shards hold one entry more), so the store never holds more than
/// `capacity` entries. Each shard owns
///  - a slab of its `capacity / shards` (+1) fixed-size entries allocated once
///    at construction (pages are touched only as entries are first used;
///    all slabs share one block advised to use transparent huge pages);
///    an entry holds the id inline (at most `kMaxIdBytes`), the prediction
///    time, its place in the shard's age list and an opaque payload of
///    `payload_bytes` (the score, class index or ranking item hashes);
///  - an open-addressing index (linear probing, backward-shift deletion, no
///    tombstones) of power-of-two size >= 2x the entries, whose slots are
///    {32-bit hash tag, entry number}, so a probe touches an entry only on a
///    tag hit;
///  - a doubly linked age list (oldest first) threaded through the entries,
///    used for TTL expiry and for evicting the oldest entry when full. In a
///    full shard every `Put` ends by prefetching what the next eviction
///    reads (the oldest entry's index slot, the entry after it), so an
///    insert into a full store misses mainly on the new id's index slot.
/// Bytes per entry: `BytesPerEntry(payload_bytes)` = 88 + payload rounded
/// up to 8, plus 16 of index: 112 bytes with an 8-byte payload.
///
/// Matched entries stay as *tombstones* until the prediction's TTL ends, so a
/// second outcome for the same id is recognised as a duplicate. Tombstones
/// occupy capacity and are evicted (oldest first) like pending entries; an
/// evicted or expired tombstone makes a late duplicate look unknown, never
/// matched twice.
///
/// Thread safety: thread-safe. Each shard is guarded by a `SpinLock` held
/// for one hash probe plus a copy of at most ~150 bytes (`Put`, `Take`), or
/// for at most `kExpireBatch` removals (`Expire`). Concurrent `Put`/`Take`
/// on one id are serialised by its shard's lock: exactly one `Take` matches.
/// Hot path: `Put()` and `Take()` are noexcept and allocation-free.
class PendingStore {
 public:
  /// Longest id stored. Longer ids are refused by the caller.
  static constexpr std::size_t kMaxIdBytes = 64;
  /// Entries removed per lock hold in `Expire()`.
  /// Small, because a `Put` on the same shard waits for the whole batch:
  /// each removal can cost a few cache misses (~0.3 us), so 64 bounds the
  /// wait to ~20 us.
  static constexpr std::size_t kExpireBatch = 64;
  /// Longest payload.
  static constexpr std::size_t kMaxPayloadBytes = 1024;

  struct Options {
    std::size_t capacity = 1000000;  ///< entries in total (>= 1)
    std::int64_t ttl_nanos = 0;      ///< entry lifetime (> 0)
    std::size_t payload_bytes = 8;   ///< opaque payload per entry
    std::size_t shards = 0;  ///< power of two <= 64 (halved while more than
                             ///< capacity); 0 = automatic
  };

  enum class PutStatus {
    kInserted,        ///< a new pending entry
    kReplaced,        ///< the id was pending: payload and time replaced
    kAlreadyMatched,  ///< the id already has its outcome: nothing changed
  };
  struct PutResult {
    PutStatus status = PutStatus::kInserted;
    bool evicted_pending = false;  ///< a pending entry was evicted for room
    bool expired_pending = false;  ///< the id's old, expired entry was reused
  };

  enum class TakeStatus {
    kMatched,    ///< pending: payload copied out, entry now a tombstone
    kNotFound,   ///< no entry (never seen, evicted, or tombstone expired)
    kDuplicate,  ///< already matched
    kExpired,    ///< pending but past its TTL: removed
  };

  struct ExpireResult {
    std::size_t pending = 0;  ///< pending entries expired
    std::size_t matched = 0;  ///< tombstones removed
  };

  /// REQUIRES: valid options (the caller validates them).
  explicit PendingStore(const Options& options);
  ~PendingStore();
  PendingStore(const PendingStore&) = delete;
  PendingStore& operator=(const PendingStore&) = delete;

  /// Stores a pending prediction for `id` made at `now_nanos`.
  /// REQUIRES: 0 < id.size() <= kMaxIdBytes; `payload` has payload_bytes.
  PutResult Put(std::string_view id, std::int64_t now_nanos,
                const void* payload) noexcept {
    return Put(id, HashId(id), now_nanos, payload);
  }
  /// The same with `hash == HashId(id)` computed by the caller (who may have
  /// called `Prefetch(hash)` and done other work meanwhile).
  PutResult Put(std::string_view id, std::uint64_t hash, std::int64_t now_nanos,
                const void* payload) noexcept;

  /// Starts loading the index cache line a Put/Take of `hash` probes first,
  /// so the miss overlaps with the caller's work (e.g. reading the clock).
  void Prefetch(std::uint64_t hash) const noexcept;

  /// Matches `id`. On kMatched copies the payload to `payload_out` and the
  /// prediction time to `*created_nanos`.
  /// REQUIRES: 0 < id.size() <= kMaxIdBytes.
  TakeStatus Take(std::string_view id, std::int64_t now_nanos,
                  void* payload_out, std::int64_t* created_nanos) noexcept {
    return Take(id, HashId(id), now_nanos, payload_out, created_nanos);
  }
  TakeStatus Take(std::string_view id, std::uint64_t hash,
                  std::int64_t now_nanos, void* payload_out,
                  std::int64_t* created_nanos) noexcept;

  /// Removes every entry whose TTL ended at or before `now_nanos`, oldest
  /// first, `kExpireBatch` per lock hold.
  ExpireResult Expire(std::int64_t now_nanos) noexcept;

  /// Entries (pending and tombstones) and pending entries right now.
  std::size_t size() const noexcept;
  std::size_t pending() const noexcept;

  std::size_t num_shards() const noexcept { return num_shards_; }
  /// Entries held at most: exactly `Options::capacity`.
  std::size_t capacity() const noexcept { return capacity_; }
  /// Entries the largest shard holds at most.
  std::size_t shard_capacity() const noexcept { return shard_capacity_; }
  std::size_t payload_bytes() const noexcept { return payload_bytes_; }
  /// Bytes reserved (slabs plus indexes), whether touched or not.
  std::size_t reserved_bytes() const noexcept;

  /// Slab bytes of one entry with this payload (without its index share).
  static std::size_t EntryStride(std::size_t payload_bytes) noexcept;
  /// Slab plus index bytes per entry at the index's nominal 2x sizing.
  static std::size_t BytesPerEntry(std::size_t payload_bytes) noexcept {
    return EntryStride(payload_bytes) + 2 * 8;
  }

 private:
  struct Shard;
  struct FreeBlock {
    void operator()(void* p) const noexcept;
  };
  static std::unique_ptr<unsigned char, FreeBlock> AllocateBlock(
      std::size_t bytes);
  Shard& ShardFor(std::uint64_t hash) const noexcept;

  std::size_t num_shards_;
  unsigned shard_shift_;  // hash >> shard_shift_ = shard (64 - log2 shards)
  std::size_t capacity_;
  std::size_t shard_capacity_;  // of the largest shard
  std::size_t payload_bytes_;
  std::size_t stride_;
  std::int64_t ttl_;
  std::unique_ptr<unsigned char, FreeBlock> slab_;   // all shards' entries
  std::unique_ptr<unsigned char, FreeBlock> index_;  // all shards' indexes
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_PENDING_STORE_H_
