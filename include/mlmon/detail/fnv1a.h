#ifndef MLMON_DETAIL_FNV1A_H_
#define MLMON_DETAIL_FNV1A_H_

/// \file
/// 64-bit FNV-1a, the hash of the prediction log's sampling decision
/// (`PredictionLog::IdHash`). Public because that decision is inline and its
/// values are part of the log's behaviour: an id is sampled the same way by
/// every replica and every version. Users never call it directly.

#include <cstdint>
#include <string_view>

namespace mlmon {
namespace detail {

inline constexpr std::uint64_t kFnv1aOffsetBasis = 14695981039346656037ull;
inline constexpr std::uint64_t kFnv1aPrime = 1099511628211ull;

/// FNV-1a of the bytes of `s`: for each byte, xor it in, then multiply by the
/// prime (mod 2^64).
constexpr std::uint64_t Fnv1a64(std::string_view s) noexcept {
  std::uint64_t h = kFnv1aOffsetBasis;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnv1aPrime;
  }
  return h;
}

}  // namespace detail
}  // namespace mlmon

#endif  // MLMON_DETAIL_FNV1A_H_
