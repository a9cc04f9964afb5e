#ifndef MLMON_DETAIL_MPSC_RING_H_
#define MLMON_DETAIL_MPSC_RING_H_

/// \file
/// A bounded multi-producer single-consumer ring of `T` (Vyukov's bounded
/// queue, with a sequence number per slot). Public because templates that
/// users instantiate (`HeuristicRunner`) push onto it inline; users never call
/// it.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "mlmon/errors.h"

namespace mlmon {
namespace detail {

/// A bounded MPSC ring: any number of threads push, one thread pops. Slots
/// are allocated once, at construction; a push moves the value into a slot,
/// a pop moves it out. A full ring refuses the push instead of waiting.
///
/// The consumer leaves every drained slot holding a *move-constructed-from*
/// `T` (for the standard containers: empty, owning no memory), so a
/// producer's move assignment into the slot frees nothing on the producer's
/// thread and the previous value's memory is released on the consumer's.
///
/// NOTE: a producer preempted between claiming a slot and publishing it holds
/// back the consumer (not other producers) until it resumes; meanwhile the
/// ring may fill and refuse pushes.
///
/// Thread safety: `TryPush()`, `TryPushWith()` and `claimed()` are
/// thread-safe; `TryPop()`, `TryPopWith()` and `popped()` must be called by
/// one thread at a time (the consumer).
/// Destruction must not race with any call.
/// Hot path: `TryPush()` is noexcept, lock-free (one CAS, retried only when
/// another producer wins the same slot), allocation-free, and never blocks.
///
/// **Example**:
///
///     mlmon::detail::MpscRing<std::string> ring(1024);
///     std::string s = "hello";
///     if (!ring.TryPush(std::move(s))) { /* full: s is untouched */ }
///     std::string out;
///     while (ring.TryPop(&out)) Use(out);  // on the consumer thread
template <typename T>
class MpscRing {
  static_assert(std::is_default_constructible_v<T>,
                "MpscRing<T>: T must be default-constructible (slots are "
                "allocated at construction)");
  static_assert(std::is_nothrow_move_assignable_v<T>,
                "MpscRing<T>: T must be nothrow move-assignable (TryPush "
                "moves into a slot and is noexcept)");
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "MpscRing<T>: T must be nothrow move-constructible (TryPop "
                "moves out of a slot and is noexcept)");

 public:
  /// Allocates `capacity` slots (each default-constructs a `T`).
  /// \throw mlmon::ConfigError if `capacity` < 2.
  explicit MpscRing(std::size_t capacity)
      : capacity_(capacity), slots_(MakeSlots(capacity)) {}

  MpscRing(const MpscRing&) = delete;
  MpscRing& operator=(const MpscRing&) = delete;

  /// Moves `value` into the ring and returns true, or returns false, leaving
  /// `value` untouched, if the ring is full.
  bool TryPush(T&& value) noexcept {
    return TryPushWith([&value](T& slot) noexcept { slot = std::move(value); });
  }

  /// Claims a free slot and calls `fill(T&)` on its value in place, then
  /// publishes it; returns false without calling `fill` if the ring is full.
  /// For large trivially copyable records: the producer writes only the
  /// bytes it needs, with no copy through a temporary.
  /// REQUIRES: `fill` does not throw.
  template <typename Fill>
  bool TryPushWith(Fill&& fill) noexcept {
    static_assert(noexcept(fill(std::declval<T&>())),
                  "MpscRing::TryPushWith: the fill function must be noexcept");
    std::uint64_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    Slot* slot;
    for (;;) {
      slot = &slots_[pos % capacity_];
      const std::uint64_t seq = slot->seq.load(std::memory_order_acquire);
      const auto diff =
          static_cast<std::int64_t>(seq) - static_cast<std::int64_t>(pos);
      if (diff == 0) {
        // Free for `pos`: claim it. On failure `pos` is reloaded.
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1,
                                               std::memory_order_relaxed)) {
          break;
        }
      } else if (diff < 0) {
        return false;  // still holds record `pos - capacity`: full
      } else {
        // Another producer claimed `pos` already; catch up.
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
    fill(slot->value);
    slot->seq.store(pos + 1, std::memory_order_release);  // publish
    return true;
  }

  /// Moves the oldest published value into `*out` and returns true, or
  /// returns false if the ring is empty or its oldest claimed value is not
  /// published yet (`claimed() > popped()` tells the two apart).
  /// REQUIRES: called by the consumer only; `out` is not null.
  bool TryPop(T* out) noexcept {
    return TryPopWith([out](T& value) noexcept {
      // Move-construct out of the slot so the slot is left owning nothing,
      // then hand the value over; `*out`'s previous value dies here, on the
      // consumer thread.
      T taken(std::move(value));
      *out = std::move(taken);
    });
  }

  /// Calls `consume(T&)` on the oldest published value in place, then frees
  /// its slot and returns true; returns false (without calling `consume`)
  /// if the ring is empty or its oldest claimed value is not published yet.
  /// If `consume` throws, the value stays in the ring (the next call sees it
  /// again) and the exception propagates.
  /// REQUIRES: called by the consumer only.
  template <typename Consume>
  bool TryPopWith(Consume&& consume) {
    Slot& slot = slots_[dequeue_pos_ % capacity_];
    if (slot.seq.load(std::memory_order_acquire) != dequeue_pos_ + 1) {
      return false;
    }
    consume(slot.value);
    slot.seq.store(dequeue_pos_ + capacity_, std::memory_order_release);
    ++dequeue_pos_;
    return true;
  }

  /// Pushes that claimed a slot so far (published, or being published).
  /// Every `TryPush()` that returned true before this call is counted.
  std::uint64_t claimed() const noexcept {
    return enqueue_pos_.load(std::memory_order_acquire);
  }
  /// Values popped so far. REQUIRES: called by the consumer only.
  std::uint64_t popped() const noexcept { return dequeue_pos_; }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  // Memory protocol. For the value numbered `pos` (claimed from
  // enqueue_pos_), slot `pos % capacity_` has:
  //   seq == pos             free: the producer of `pos` may claim it;
  //   seq == pos + 1         published: the consumer may pop value `pos`;
  //   seq == pos + capacity  popped: free for value `pos + capacity`.
  // (capacity >= 2 keeps "published" and "free for the next lap" distinct.)
  // A producer acquire-loads `seq == pos`, which synchronises with the
  // consumer's release store of it, so the consumer's move out of the slot
  // happened before the producer's move in; it claims `pos` with a relaxed
  // CAS on enqueue_pos_ (the CAS only arbitrates ownership between
  // producers; the payload is ordered by `seq`), moves the value in with
  // plain stores, then release-stores `pos + 1`. The consumer acquire-loads
  // `pos + 1` (so it sees the payload), moves it out, then release-stores
  // `pos + capacity`. `seq < pos` means the slot still holds the value of the
  // previous lap: the ring is full, and the producer returns false.
  // Each slot has its own cache line(s), so a producer filling one slot does
  // not share a line with the consumer draining the previous one.
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> seq{0};
    T value{};
  };

  static std::unique_ptr<Slot[]> MakeSlots(std::size_t capacity) {
    if (capacity < 2) {
      throw ConfigError("mlmon: MpscRing.capacity: not >= 2 (" +
                        std::to_string(capacity) + ")");
    }
    std::unique_ptr<Slot[]> slots(new Slot[capacity]);
    for (std::size_t i = 0; i < capacity; ++i) {
      slots[i].seq.store(i, std::memory_order_relaxed);  // free for lap 0
    }
    return slots;
  }

  const std::size_t capacity_;
  const std::unique_ptr<Slot[]> slots_;
  // Next value number to claim; written by producers only (relaxed CAS, see
  // the protocol above). Its own cache line: every producer writes it.
  alignas(64) std::atomic<std::uint64_t> enqueue_pos_{0};
  // Next value number to pop; consumer only, so a plain integer. Its own
  // cache line, away from the producers' counter.
  alignas(64) std::uint64_t dequeue_pos_ = 0;
};

}  // namespace detail
}  // namespace mlmon

#endif  // MLMON_DETAIL_MPSC_RING_H_
