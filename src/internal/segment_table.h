#ifndef MLMON_SRC_INTERNAL_SEGMENT_TABLE_H_
#define MLMON_SRC_INTERNAL_SEGMENT_TABLE_H_

/// \file
/// `SegmentTable`: the segment values one signal has seen, each with a small
/// index, looked up (and added) on the inference path. Private to the
/// library (never installed).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mlmon/segment_spec.h"

namespace mlmon {
namespace internal {

/// Maps segment values to indexes: `kNone` (0) for an empty value, 1 ..
/// `max_values` for the first `max_values` distinct values in the order they
/// were first seen, and `other()` (`max_values + 1`) for every later value
/// and every value that may not have a series (`HasOwnSeries`).
///
/// An open-addressing table of fixed size (4 slots per value, at least 8),
/// allocated at construction; values are never removed, so a value keeps its
/// index for the table's life. A new value claims an empty slot with one
/// compare-and-swap of its tag (a 32-bit hash and a state), copies its bytes
/// and publishes them with a release store. A lookup that meets a slot with
/// its own hash still being written waits for that copy (≤ 32 bytes) — only
/// on the first sightings of a value, at most `max_values` times in the
/// table's life; every other lookup neither waits nor writes.
///
/// Thread safety: thread-safe.
/// Hot path: `Find` is noexcept, lock-free (but for that first-sighting
/// wait) and allocation-free.
class SegmentTable {
 public:
  static constexpr std::uint32_t kNone = 0;

  /// `max_values` in [1, `SegmentSpec::kMaxValues`] (checked by the spec's
  /// validation).
  explicit SegmentTable(std::size_t max_values);
  SegmentTable(const SegmentTable&) = delete;
  SegmentTable& operator=(const SegmentTable&) = delete;

  /// The index of `value`, adding it if it is new and there is room.
  std::uint32_t Find(std::string_view value) noexcept;
  /// The index of `value` if it has one already; `other()` otherwise
  /// (never adds).
  std::uint32_t Peek(std::string_view value) const noexcept;

  /// The value of index `i` in [1, max_values] once it is fully added;
  /// false before. Off the hot path.
  bool ValueOf(std::uint32_t i, std::string* out) const;

  /// Whether `value` may have a series of its own: at most
  /// `SegmentSpec::kMaxValueBytes`, well-formed UTF-8 without control
  /// characters (a value the exposition would print the same as another
  /// must not take a series: its counts would be lost), and not
  /// `__other__` or `__overflow__`. Others count under `other()`.
  static bool HasOwnSeries(std::string_view value) noexcept;

  std::uint32_t other() const noexcept { return max_ + 1; }
  /// `other()`, noting that a value counted there (`Find` notes its own
  /// folds; a caller that folds a value it could not look up calls this).
  std::uint32_t Fold() noexcept {
    if (!other_used_.load(std::memory_order_relaxed)) {
      other_used_.store(true, std::memory_order_relaxed);
    }
    return other();
  }
  /// Whether a value was counted under `other()` (its series are due).
  bool other_used() const noexcept {
    return other_used_.load(std::memory_order_relaxed);
  }
  std::size_t max_values() const noexcept { return max_; }

 private:
  struct Slot {
    // 0: empty; else hash << 32 | state (kWriting, kReady).
    std::atomic<std::uint64_t> tag{0};
    std::atomic<std::uint32_t> index{0};
    std::uint8_t size = 0;
    char bytes[SegmentSpec::kMaxValueBytes] = {};
  };
  static constexpr std::uint64_t kWriting = 1, kReady = 2;

  // The index of `value`: found along its probe sequence (waiting for a
  // copy in progress with its hash), else added in the first empty slot if
  // `add` and there is room, else `other()`.
  std::uint32_t Lookup(std::string_view value, std::uint64_t hash,
                       bool add) noexcept;

  const std::uint32_t max_;
  const std::size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  // Slot of each index 1..max_ (slot + 1; 0 until the value is ready).
  std::unique_ptr<std::atomic<std::uint32_t>[]> slot_of_;
  std::atomic<std::uint32_t> next_{1};
  std::atomic<bool> other_used_{false};
};

/// At a tick: publishes the stage (a `StagedSeries`) of every index whose
/// value `table` now knows and, once a value was folded, `__other__`'s; then
/// folds what the unexposed counters recorded. `stage(i)` is the stage of
/// index i in [1, `table.other()`]. Off the hot path.
template <typename StageOf>
void PublishSegments(const SegmentTable& table, StageOf&& stage) {
  std::string value;
  for (std::uint32_t i = 1; i < table.other(); ++i) {
    if (!stage(i).published() && table.ValueOf(i, &value)) {
      stage(i).Publish(value);
    }
  }
  if (!stage(table.other()).published() && table.other_used()) {
    stage(table.other()).Publish(kSegmentOther);
  }
  for (std::uint32_t i = 1; i <= table.other(); ++i) stage(i).Fold();
}

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_SEGMENT_TABLE_H_
