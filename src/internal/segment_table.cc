#include "segment_table.h"

#include <cstring>

#include "pending_store.h"
#include "text_format.h"

namespace mlmon {
namespace internal {

namespace {

constexpr std::uint64_t kHashMask = 0xffffffff00000000ull;
constexpr std::uint64_t kStateMask = 3;

std::size_t SlotCount(std::size_t max_values) {
  std::size_t n = 8;
  while (n < 4 * max_values) n *= 2;
  return n;
}

}  // namespace

SegmentTable::SegmentTable(std::size_t max_values)
    : max_(static_cast<std::uint32_t>(max_values)),
      mask_(SlotCount(max_values) - 1),
      slots_(std::make_unique<Slot[]>(mask_ + 1)),
      slot_of_(std::make_unique<std::atomic<std::uint32_t>[]>(max_values)) {
  for (std::size_t i = 0; i < max_values; ++i) {
    slot_of_[i].store(0, std::memory_order_relaxed);
  }
}

std::uint32_t SegmentTable::Find(std::string_view value) noexcept {
  if (value.empty()) return kNone;
  if (value.size() > SegmentSpec::kMaxValueBytes) return Fold();
  const std::uint32_t i = Lookup(value, HashId(value), /*add=*/true);
  return i == other() ? Fold() : i;
}

std::uint32_t SegmentTable::Peek(std::string_view value) const noexcept {
  if (value.empty()) return kNone;
  if (value.size() > SegmentSpec::kMaxValueBytes) return other();
  // Without `add`, Lookup writes nothing.
  return const_cast<SegmentTable*>(this)->Lookup(value, HashId(value),
                                                 /*add=*/false);
}

std::uint32_t SegmentTable::Lookup(std::string_view value, std::uint64_t hash,
                                   bool add) noexcept {
  const std::uint64_t hi = hash & kHashMask;
  std::size_t i = hash & mask_;
  for (std::size_t probes = 0; probes <= mask_; ++probes, i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    std::uint64_t t = s.tag.load(std::memory_order_acquire);
    if (t == 0) {
      // Values are never removed: a value present is met before any empty
      // slot of its probe sequence, so this one is new.
      if (!add || next_.load(std::memory_order_relaxed) > max_ ||
          !HasOwnSeries(value)) {
        return other();
      }
      std::uint64_t expected = 0;
      if (s.tag.compare_exchange_strong(expected, hi | kWriting,
                                        std::memory_order_acquire)) {
        s.size = static_cast<std::uint8_t>(value.size());
        std::memcpy(s.bytes, value.data(), value.size());
        // Racing first sightings of different values may all pass the
        // room check above; those numbered past max_ map to other().
        const std::uint32_t n = next_.fetch_add(1, std::memory_order_relaxed);
        const std::uint32_t index = n <= max_ ? n : other();
        s.index.store(index, std::memory_order_relaxed);
        s.tag.store(hi | kReady, std::memory_order_release);
        if (n <= max_) {
          slot_of_[n - 1].store(static_cast<std::uint32_t>(i + 1),
                                std::memory_order_release);
        }
        return index;
      }
      t = expected;  // another thread claimed the slot: look at its value
    }
    if ((t & kHashMask) != hi) continue;
    for (int spins = 0; (t & kStateMask) == kWriting; ++spins) {
      SpinLock::Pause(spins);
      t = s.tag.load(std::memory_order_acquire);
    }
    if (s.size == value.size() &&
        std::memcmp(s.bytes, value.data(), value.size()) == 0) {
      return s.index.load(std::memory_order_relaxed);
    }
  }
  return other();
}

bool SegmentTable::HasOwnSeries(std::string_view value) noexcept {
  if (value.size() > SegmentSpec::kMaxValueBytes) return false;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return IsValidUtf8(value) && value != kSegmentOther &&
         value != "__overflow__";
}

bool SegmentTable::ValueOf(std::uint32_t i, std::string* out) const {
  if (i == kNone || i > max_) return false;
  const std::uint32_t slot = slot_of_[i - 1].load(std::memory_order_acquire);
  if (slot == 0) return false;
  const Slot& s = slots_[slot - 1];
  out->assign(s.bytes, s.size);
  return true;
}

}  // namespace internal
}  // namespace mlmon
