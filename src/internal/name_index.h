#ifndef MLMON_SRC_INTERNAL_NAME_INDEX_H_
#define MLMON_SRC_INTERNAL_NAME_INDEX_H_

/// \file
/// `NameTable`: an immutable map from a name to its index in a list, built at
/// set-up and looked up on the hot path without allocating. The one look-up
/// table of the library: feature names and categories, class names of a
/// classifier's outcomes and of its responses. Private (never installed).

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace mlmon {
namespace internal {

// --------------------------------------------------------------- key tables
//
// Names and categories are looked up on the hot path (`SetCategory`, and
// `Set(name)`), so the table is flat and the common case is branch-light: a
// key of at most 16 bytes is fully described by its length and two
// (overlapping) words, which both hash it and compare it, with no byte loop
// and no memcmp call. Longer keys hash 16-byte blocks and compare with memcmp.

inline std::uint64_t Load64(const char* p) noexcept {
  std::uint64_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}
inline std::uint64_t Load32(const char* p) noexcept {
  std::uint32_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

// Two words -> a hash whose low bits (the table index) depend on every
// input bit: multiply (low bits of a product depend on low input bits
// only), then fold the high half down. Good enough for a table at most half
// full; keys are not adversarial (the vocabulary comes from the reference).
inline std::uint64_t Mix(std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t h = (a ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
  h ^= (b ^ 0x94d049bb133111ebull) * 0xd6e8feb86659fd93ull;
  return h ^ (h >> 32) ^ (h >> 47);
}

// The words that represent a key of at most 16 bytes exactly: with its
// length, (a, b) determine every byte (the loads overlap for short keys).
struct ShortWords {
  std::uint64_t a, b;
};
inline ShortWords WordsOf(const char* p, std::size_t n) noexcept {
  if (n >= 8) return {Load64(p), Load64(p + n - 8)};
  if (n >= 4) return {Load32(p), Load32(p + n - 4)};
  if (n > 0) {
    const auto c = [p](std::size_t i) {
      return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i]));
    };
    return {c(0) | (c(n / 2) << 8) | (c(n - 1) << 16), 0};
  }
  return {0, 0};
}

constexpr std::size_t kShortKey = 16;

inline std::uint64_t HashLong(const char* p, std::size_t n) noexcept {
  std::uint64_t h = n;
  std::size_t i = 0;
  for (; i + 16 < n; i += 16) h = Mix(h ^ Load64(p + i), Load64(p + i + 8));
  return Mix(h ^ Load64(p + n - 16), Load64(p + n - 8));  // n > 16
}

// An immutable open-addressing (linear probing) table from a key to its
// index in the build order. Built at set-up; `Find` allocates nothing.
class NameTable {
 public:
  NameTable() : slots_(1), mask_(0) {}
  explicit NameTable(const std::vector<std::string>& keys) {
    std::size_t cap = 2;
    while (cap < 2 * keys.size()) cap *= 2;  // load factor <= 1/2
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const std::string& k : keys) {
      if (k.size() > kShortKey) long_chars_ += k;
    }
    std::size_t long_offset = 0;
    for (std::uint32_t i = 0; i < keys.size(); ++i) {
      const std::string& k = keys[i];
      Slot slot;
      slot.len = static_cast<std::uint32_t>(k.size());
      slot.index_plus_one = i + 1;
      std::uint64_t h;
      if (k.size() <= kShortKey) {
        const ShortWords w = WordsOf(k.data(), k.size());
        slot.a = w.a;
        slot.b = w.b;
        h = Mix(w.a ^ k.size(), w.b);
      } else {
        h = HashLong(k.data(), k.size());
        slot.a = h;
        slot.b = long_offset;
        long_offset += k.size();
      }
      std::size_t s = h & mask_;
      while (slots_[s].index_plus_one != 0) s = (s + 1) & mask_;
      slots_[s] = slot;
    }
  }
  // The index of `key`, or -1. Inline: called per request by SetCategory.
  __attribute__((always_inline)) std::int64_t Find(
      std::string_view key) const noexcept {
    const std::size_t n = key.size();
    if (__builtin_expect(n > kShortKey, 0)) return FindLong(key);
    const ShortWords w = WordsOf(key.data(), n);
    const Slot* const slots = slots_.data();
    for (std::size_t s = Mix(w.a ^ n, w.b) & mask_;; s = (s + 1) & mask_) {
      const Slot& slot = slots[s];
      if (slot.index_plus_one == 0) return -1;
      // Length and both words equal: the same bytes.
      if (((slot.len ^ n) | (slot.a ^ w.a) | (slot.b ^ w.b)) == 0) {
        return slot.index_plus_one - 1;
      }
    }
  }

 private:
  __attribute__((noinline)) std::int64_t FindLong(
      std::string_view key) const noexcept {
    const std::size_t n = key.size();
    const std::uint64_t h = HashLong(key.data(), n);
    for (std::size_t s = h & mask_;; s = (s + 1) & mask_) {
      const Slot& slot = slots_[s];
      if (slot.index_plus_one == 0) return -1;
      if (slot.len == n && slot.a == h &&
          std::memcmp(long_chars_.data() + slot.b, key.data(), n) == 0) {
        return slot.index_plus_one - 1;
      }
    }
  }

  // Short key: its words. Long key: a = hash, b = offset in long_chars_.
  struct Slot {
    std::uint64_t a = 0, b = 0;
    std::uint32_t len = 0;
    std::uint32_t index_plus_one = 0;  // 0 = empty
  };
  std::vector<Slot> slots_;  // never full: at least one empty slot
  std::size_t mask_;
  std::string long_chars_;  // keys longer than kShortKey, concatenated
};

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_NAME_INDEX_H_
