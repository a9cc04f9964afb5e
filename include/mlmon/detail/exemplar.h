#ifndef MLMON_DETAIL_EXEMPLAR_H_
#define MLMON_DETAIL_EXEMPLAR_H_

/// \file
/// The last exemplar of one histogram bucket: an id (e.g. a request or
/// prediction id), the observed value and its Unix time.
///
/// Public because `Histogram`'s recording calls are inline; users never call
/// it.
///
/// Memory protocol: a seqlock whose payload is atomic words, so every access
/// is an atomic one and the protocol is data-race-free as the C++ memory
/// model (and TSan) defines it. `seq` is even when the slot is stable, odd
/// while a writer fills it.
/// - A writer takes the slot with one compare-and-swap of `seq` from an even
///   value to the next odd one (acquire: its payload stores stay after it).
///   If `seq` is odd, or the CAS fails, another writer holds the slot and this
///   writer gives up: the exemplar is dropped, never waited for (the
///   observation itself is counted elsewhere). It stores the payload words
///   (release: a reader that sees one of them also sees the odd `seq`) and
///   releases the slot with `seq + 2` (release).
/// - A reader loads `seq` (acquire), the payload words (acquire: the second
///   load of `seq` stays after them), then `seq` again; equal even values
///   mean the payload is one writer's. It retries a bounded number of times
///   and otherwise reports no exemplar for that scrape. No fence is used
///   (GCC's ThreadSanitizer does not support them); on x86 these release
///   stores and acquire loads are plain moves.
/// Recording is wait-free (one CAS, a dozen stores, one release store) and
/// allocation-free.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace mlmon {
namespace detail {

/// Longest id an exemplar keeps, in bytes. A longer id is not truncated (a
/// cut id would point at another prediction or none): its exemplar is dropped
/// and counted (`id_too_long`). 64 bytes are at most 64 UTF-8 characters, so
/// `id="<64 characters>"` stays within OpenMetrics' limit of 128 characters
/// for an exemplar's label set.
inline constexpr std::size_t kMaxExemplarIdBytes = 64;

/// A copy of one exemplar, as a reader sees it.
struct ExemplarValue {
  char id[kMaxExemplarIdBytes];
  std::size_t id_size = 0;  ///< 0: no exemplar
  double value = 0.0;
  double unix_seconds = 0.0;
  std::string_view Id() const noexcept { return {id, id_size}; }
};

/// One bucket's last exemplar: 96 bytes of atomics, 128 with the alignment
/// that keeps two buckets' slots off one cache line.
class alignas(64) ExemplarSlot {
 public:
  static constexpr std::size_t kIdWords = kMaxExemplarIdBytes / 8;
  /// Attempts a reader makes before it reports no exemplar.
  static constexpr int kReadAttempts = 16;

  /// Stores an exemplar unless another writer holds the slot (then returns
  /// false and stores nothing). REQUIRES: `id.size()` in
  /// [1, `kMaxExemplarIdBytes`].
  bool TryWrite(std::string_view id, double value,
                double unix_seconds) noexcept {
    std::uint64_t s = seq_.load(std::memory_order_relaxed);
    if ((s & 1) != 0 ||
        !seq_.compare_exchange_strong(s, s + 1, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      return false;
    }
    std::uint64_t words[kIdWords] = {};
    std::memcpy(words, id.data(), id.size());
    const std::size_t used = (id.size() + 7) / 8;
    for (std::size_t i = 0; i < used; ++i) {
      id_[i].store(words[i], std::memory_order_release);
    }
    size_.store(id.size(), std::memory_order_release);
    value_.store(Bits(value), std::memory_order_release);
    unix_.store(Bits(unix_seconds), std::memory_order_release);
    seq_.store(s + 2, std::memory_order_release);
    return true;
  }

  /// Copies the exemplar into `out`; false (and `out->id_size == 0`) if the
  /// slot never held one or no stable copy was read in `kReadAttempts`.
  bool Read(ExemplarValue* out) const noexcept {
    out->id_size = 0;
    for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
      const std::uint64_t before = seq_.load(std::memory_order_acquire);
      if (before == 0) return false;  // never written
      if ((before & 1) != 0) continue;
      std::uint64_t words[kIdWords];
      const std::uint64_t size = size_.load(std::memory_order_acquire);
      const std::size_t used =
          size <= kMaxExemplarIdBytes ? (size + 7) / 8 : kIdWords;
      for (std::size_t i = 0; i < used; ++i) {
        words[i] = id_[i].load(std::memory_order_acquire);
      }
      const std::uint64_t value = value_.load(std::memory_order_acquire);
      const std::uint64_t when = unix_.load(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) != before) continue;
      if (size == 0 || size > kMaxExemplarIdBytes) return false;
      std::memcpy(out->id, words, size);
      out->id_size = size;
      out->value = FromBits(value);
      out->unix_seconds = FromBits(when);
      return true;
    }
    return false;
  }

 private:
  static std::uint64_t Bits(double d) noexcept {
    std::uint64_t b;
    std::memcpy(&b, &d, sizeof b);
    return b;
  }
  static double FromBits(std::uint64_t b) noexcept {
    double d;
    std::memcpy(&d, &b, sizeof d);
    return d;
  }

  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> size_{0};
  std::atomic<std::uint64_t> value_{0};
  std::atomic<std::uint64_t> unix_{0};
  std::atomic<std::uint64_t> id_[kIdWords] = {};
};

}  // namespace detail
}  // namespace mlmon

#endif  // MLMON_DETAIL_EXEMPLAR_H_
