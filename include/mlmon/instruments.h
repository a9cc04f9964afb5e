#ifndef MLMON_INSTRUMENTS_H_
#define MLMON_INSTRUMENTS_H_

/// \file
/// Counter, Gauge, UpDownGauge and Histogram: the instruments every signal is
/// built from. Recording calls are noexcept, lock-free and allocation-free.

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "mlmon/clock.h"
#include "mlmon/detail/cells.h"
#include "mlmon/detail/exemplar.h"
#include "mlmon/errors.h"

namespace mlmon {

class Counter;

namespace detail {

/// Where an instrument counts what it refused: one counter per reason, bound
/// at set-up (`mlmon_dropped_total{reason}` of the instrument's model).
struct DropSink {
  Counter* by_reason[kNumDropReasons] = {};
  inline void Drop(DropReason reason) noexcept;
};

/// Classifies a value that failed a finiteness check.
inline DropReason NonFiniteReason(double v) noexcept {
  return std::isnan(v) ? DropReason::kNaN : DropReason::kInfinity;
}

}  // namespace detail

/// A monotonically increasing counter, striped per thread.
///
/// Thread safety: thread-safe.
/// Hot path: `Increment()` is noexcept, lock-free and allocation-free.
///
/// **Example**:
///
///     mlmon::Counter requests;
///     requests.Increment();
///     requests.Increment(2.5);
class Counter {
 public:
  /// `drops` (may be null) counts refused increments.
  explicit Counter(detail::DropSink* drops = nullptr)
      : cells_(1), drops_(drops) {}

  /// Adds 1.
  void Increment() noexcept { detail::AddDouble(cells_.ref(), 0, 1.0); }

  /// Adds `v`. A negative, NaN or infinite `v` is dropped and counted.
  void Increment(double v) noexcept {
    if (__builtin_expect(!(v >= 0.0) || v == HUGE_VAL, 0)) {
      Drop(std::isfinite(v) ? DropReason::kNegativeIncrement
                            : detail::NonFiniteReason(v));
      return;
    }
    detail::AddDouble(cells_.ref(), 0, v);
  }

  /// The current total. Off the hot path (sums every thread's stripe).
  double Value() const noexcept { return detail::SumDouble(cells_.ref(), 0); }

  /// `Increment()` with the caller's slot already looked up, for recorders
  /// that update several instruments per call (one look-up for all).
  /// REQUIRES: `slot == detail::CurrentSlot()` on the calling thread.
  void IncrementAt(int slot) noexcept {
    detail::AddDoubleAt(slot, cells_.ref(), 0, 1.0);
  }
  /// Where the counter's cells are (a double in cell 0), for composite
  /// recorders that keep many instruments' refs side by side.
  detail::CellRef cell_ref() const noexcept { return cells_.ref(); }

 private:
  void Drop(DropReason r) noexcept {
    if (drops_ != nullptr) drops_->Drop(r);
  }
  detail::CellBlock cells_;
  detail::DropSink* drops_;
};

inline void detail::DropSink::Drop(DropReason reason) noexcept {
  Counter* c = by_reason[static_cast<int>(reason)];
  if (c != nullptr) c->Increment();
}

/// A value that can go up and down, or be set. One atomic word, not striped:
/// use `UpDownGauge` for values that many threads move at once.
///
/// Thread safety: thread-safe.
/// Hot path: every method is noexcept, lock-free and allocation-free.
class Gauge {
 public:
  explicit Gauge(detail::DropSink* drops = nullptr) : drops_(drops) {}

  /// Sets the value. NaN or infinite values are dropped and counted.
  void Set(double v) noexcept {
    if (!std::isfinite(v)) return Drop(detail::NonFiniteReason(v));
    value_.store(v, std::memory_order_relaxed);
  }
  /// Marks the value as undefined: exported as `NaN`, which PromQL compares
  /// false with everything (no alert fires on it) and Grafana draws as a gap.
  /// For values a window thread computes that can be undefined (a precision
  /// with no positive prediction); not counted as a drop.
  void SetUndefined() noexcept {
    value_.store(std::numeric_limits<double>::quiet_NaN(),
                 std::memory_order_relaxed);
  }
  void Increment(double v = 1.0) noexcept { Add(v); }
  void Decrement(double v = 1.0) noexcept { Add(-v); }
  double Value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  void Add(double v) noexcept {
    if (!std::isfinite(v)) return Drop(detail::NonFiniteReason(v));
    double old = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(old, old + v,
                                         std::memory_order_relaxed)) {
    }
  }
  void Drop(DropReason r) noexcept {
    if (drops_ != nullptr) drops_->Drop(r);
  }
  std::atomic<double> value_{0.0};
  detail::DropSink* drops_;
};

/// A gauge that only moves by `Add()`, striped per thread like `Counter`
/// (e.g. requests in flight: each thread adds 1 and later -1).
///
/// Thread safety: thread-safe.
/// Hot path: `Add()`, `Increment()`, `Decrement()` are noexcept, lock-free and
/// allocation-free.
class UpDownGauge {
 public:
  explicit UpDownGauge(detail::DropSink* drops = nullptr)
      : cells_(1), drops_(drops) {}
  void Add(double v) noexcept {
    if (!std::isfinite(v)) {
      if (drops_ != nullptr) drops_->Drop(detail::NonFiniteReason(v));
      return;
    }
    detail::AddDouble(cells_.ref(), 0, v);
  }
  void Increment() noexcept { detail::AddDouble(cells_.ref(), 0, 1.0); }
  void Decrement() noexcept { detail::AddDouble(cells_.ref(), 0, -1.0); }
  double Value() const noexcept { return detail::SumDouble(cells_.ref(), 0); }

  /// `Increment()` and `Decrement()` with the caller's slot already looked
  /// up (see `Counter::IncrementAt`).
  /// REQUIRES: `slot == detail::CurrentSlot()` on the calling thread.
  void IncrementAt(int slot) noexcept {
    detail::AddDoubleAt(slot, cells_.ref(), 0, 1.0);
  }
  void DecrementAt(int slot) noexcept {
    detail::AddDoubleAt(slot, cells_.ref(), 0, -1.0);
  }

 private:
  detail::CellBlock cells_;
  detail::DropSink* drops_;
};

/// A fixed-bucket histogram whose `Observe()` never locks or allocates.
///
/// Exemplars (opt-in, `EnableExemplars()`): each bucket keeps the last id
/// observed into it with an id (`ObserveAt(slot, value, id, clock)`), with
/// the value and its Unix time, for the OpenMetrics exposition. A histogram
/// without them pays nothing; one with them pays, per observation with an id,
/// one compare-and-swap and a dozen relaxed stores into the bucket's slot
/// (`detail::ExemplarSlot`). An exemplar is only ever dropped, never waited
/// for: when another thread is writing the same bucket's slot, and when the id
/// is longer than `detail::kMaxExemplarIdBytes` (counted `id_too_long`; the
/// observation is counted either way).
///
/// Inference threads call `Observe()` while the scrape thread calls
/// `Collect()`. Each snapshot is consistent: `count` is derived from the
/// bucket counts, so it always equals the `+Inf` cumulative count, and the
/// cumulative counts never decrease from one bucket to the next. The sum is
/// read separately and may trail the counts by observations in flight.
///
/// Thread safety: thread-safe.
/// Hot path: `Observe()` is noexcept, lock-free and allocation-free.
///
/// **Example**:
///
///     mlmon::Histogram h({0.005, 0.01, 0.025});
///     h.Observe(0.007);
class Histogram {
 public:
  /// A consistent view of the histogram.
  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  ///< one per bound, then +Inf
    std::uint64_t count = 0;                ///< == cumulative.back()
    double sum = 0.0;
  };

  /// \throw mlmon::ConfigError if `upper_bounds` is empty, not strictly
  /// increasing, or holds a NaN or infinite value.
  explicit Histogram(std::vector<double> upper_bounds,
                     detail::DropSink* drops = nullptr);
  ~Histogram();
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  /// Gives every bucket an exemplar slot (96 bytes each). Set-up call;
  /// idempotent, and safe while other threads record or collect.
  void EnableExemplars();
  bool exemplars_enabled() const noexcept {
    return exemplars_.load(std::memory_order_acquire) != nullptr;
  }
  /// The last exemplar of bucket `bucket` (`upper_bounds().size()` for
  /// +Inf); false if it has none or exemplars are not enabled. Off the hot
  /// path.
  bool ReadExemplar(std::size_t bucket,
                    detail::ExemplarValue* out) const noexcept {
    const detail::ExemplarSlot* slots =
        exemplars_.load(std::memory_order_acquire);
    if (slots == nullptr || bucket >= num_buckets_) {
      out->id_size = 0;
      return false;
    }
    return slots[bucket].Read(out);
  }

  /// Records one observation into the first bucket whose upper bound is
  /// >= `value`. NaN or infinite values are dropped and counted.
  void Observe(double value) noexcept {
    if (__builtin_expect(!std::isfinite(value), 0)) {
      if (drops_ != nullptr) drops_->Drop(detail::NonFiniteReason(value));
      return;
    }
    detail::AddOneAndDouble(cells_.ref(), BucketIndex(value), num_buckets_,
                            value);
  }

  /// Fills `out` (reusing its storage). Off the hot path.
  void Collect(Snapshot* out) const;
  Snapshot Collect() const {
    Snapshot s;
    Collect(&s);
    return s;
  }

  const std::vector<double>& upper_bounds() const noexcept { return bounds_; }

 private:
  // Index of the first bound >= v (bounds.size() for the +Inf bucket): a
  // branch-free binary search, so the cost depends only on the number of
  // bounds, not on the value.
  std::size_t BucketIndex(double v) const noexcept {
    const double* base = bounds_.data();
    std::size_t len = bounds_.size();
    while (len > 1) {
      const std::size_t half = len / 2;
      base += (base[half - 1] < v) ? half : 0;
      len -= half;
    }
    return static_cast<std::size_t>(base - bounds_.data()) + (*base < v);
  }

 public:
  /// `Observe()` with the caller's slot already looked up (see
  /// `Counter::IncrementAt`). REQUIRES: `slot == detail::CurrentSlot()`.
  void ObserveAt(int slot, double value) noexcept {
    if (__builtin_expect(!std::isfinite(value), 0)) {
      if (drops_ != nullptr) drops_->Drop(detail::NonFiniteReason(value));
      return;
    }
    detail::AddOneAndDoubleAt(slot, cells_.ref(), BucketIndex(value),
                              num_buckets_, value);
  }

  /// `ObserveAt()` that also keeps `id` as the exemplar of the value's
  /// bucket, stamped with `clock.UnixSeconds()` (read only when the exemplar
  /// is kept). An empty `id`, or exemplars not enabled: a plain `ObserveAt`.
  void ObserveAt(int slot, double value, std::string_view id,
                 const Clock& clock) noexcept {
    if (__builtin_expect(!std::isfinite(value), 0)) {
      if (drops_ != nullptr) drops_->Drop(detail::NonFiniteReason(value));
      return;
    }
    const std::size_t bucket = BucketIndex(value);
    detail::AddOneAndDoubleAt(slot, cells_.ref(), bucket, num_buckets_, value);
    RecordExemplar(bucket, value, id, clock);
  }

  /// Keeps `id` as the exemplar of `bucket` (see `ObserveAt` with an id),
  /// for a caller that counted the observation itself (`ObserveBucketAt`).
  /// REQUIRES: `bucket` is the bucket of the finite `value`.
  void RecordExemplar(std::size_t bucket, double value, std::string_view id,
                      const Clock& clock) noexcept {
    detail::ExemplarSlot* slots = exemplars_.load(std::memory_order_acquire);
    if (slots == nullptr || id.empty()) return;
    if (__builtin_expect(id.size() > detail::kMaxExemplarIdBytes, 0)) {
      if (drops_ != nullptr) drops_->Drop(DropReason::kIdTooLong);
      return;
    }
    slots[bucket].TryWrite(id, value, clock.UnixSeconds());
  }

  /// `ObserveAt()` for a caller that already knows the bucket (e.g. from a
  /// finer binning of its own). REQUIRES: `value` is finite and `bucket` is
  /// the index of the first bound >= value (`upper_bounds().size()` for
  /// +Inf); `slot == detail::CurrentSlot()`.
  void ObserveBucketAt(int slot, std::size_t bucket, double value) noexcept {
    detail::AddOneAndDoubleAt(slot, cells_.ref(), bucket, num_buckets_, value);
  }
  /// The bucket `Observe(value)` would use (bounds.size() for +Inf).
  std::size_t BucketOf(double value) const noexcept {
    return BucketIndex(value);
  }
  /// Cell layout, for composite recorders: bucket counts (integers) in cells
  /// [0, bounds + 1), the sum (a double) in cell `bounds + 1`.
  detail::CellRef cell_ref() const noexcept { return cells_.ref(); }

 private:
  std::vector<double> bounds_;
  std::size_t num_buckets_;  // bounds + the +Inf bucket; cell index of sum
  detail::CellBlock cells_;  // [bucket counts..., sum]
  detail::DropSink* drops_;
  // One slot per bucket once `EnableExemplars()` ran; owned.
  std::atomic<detail::ExemplarSlot*> exemplars_{nullptr};
};

/// Checks histogram bounds. \throw mlmon::ConfigError naming the bad bound.
void ValidateBucketBounds(const std::vector<double>& upper_bounds);

}  // namespace mlmon

#endif  // MLMON_INSTRUMENTS_H_
