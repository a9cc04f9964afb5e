#include "mlmon/instruments.h"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>

#include "internal/bucket_bounds.h"
#include "internal/config_errors.h"

namespace mlmon {

const char* DropReasonName(DropReason reason) noexcept {
  switch (reason) {
    case DropReason::kNaN:
      return "nan";
    case DropReason::kInfinity:
      return "inf";
    case DropReason::kNegativeIncrement:
      return "negative_increment";
    case DropReason::kQueueFull:
      return "queue_full";
    case DropReason::kIdTooLong:
      return "id_too_long";
    case DropReason::kInvalidValue:
      return "invalid_value";
    case DropReason::kUnknownName:
      return "unknown_name";
    case DropReason::kHookFailure:
      return "hook_failure";
    case DropReason::kStoreUnavailable:
      return "store_unavailable";
  }
  return "unknown";
}

namespace internal {

void CheckBucketBounds(std::string_view where, const std::vector<double>& b) {
  if (b.empty()) {
    throw SetupError(where,
                     "empty; at least one bound is needed (+Inf is implicit)");
  }
  for (std::size_t i = 0; i < b.size(); ++i) {
    const std::string at = fmt::format("{}[{}]", where, i);
    if (!std::isfinite(b[i])) {
      throw SetupError(at, "not finite (+Inf is implicit)",
                       fmt::format("{}", b[i]));
    }
    if (i > 0 && !(b[i] > b[i - 1])) {
      throw SetupError(
          at, fmt::format("not greater than the bound before it, {}", b[i - 1]),
          fmt::format("{}", b[i]));
    }
  }
}

}  // namespace internal

void ValidateBucketBounds(const std::vector<double>& b) {
  internal::CheckBucketBounds("histogram bounds", b);
}

namespace {
std::vector<double> Checked(std::vector<double> b) {
  ValidateBucketBounds(b);
  return b;
}
}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds, detail::DropSink* drops)
    : bounds_(Checked(std::move(upper_bounds))),
      num_buckets_(bounds_.size() + 1),
      cells_(num_buckets_ + 1),
      drops_(drops) {}

Histogram::~Histogram() { delete[] exemplars_.load(std::memory_order_acquire); }

void Histogram::EnableExemplars() {
  if (exemplars_enabled()) return;
  auto* slots = new detail::ExemplarSlot[num_buckets_];
  detail::ExemplarSlot* expected = nullptr;
  if (!exemplars_.compare_exchange_strong(expected, slots,
                                          std::memory_order_acq_rel)) {
    delete[] slots;  // another thread enabled them first
  }
}

void Histogram::Collect(Snapshot* out) const {
  out->cumulative.resize(num_buckets_);
  detail::SumInts(cells_.ref(), num_buckets_, out->cumulative.data());
  std::uint64_t running = 0;
  for (auto& c : out->cumulative) {
    running += c;
    c = running;
  }
  out->count = running;
  out->sum = detail::SumDouble(cells_.ref(), num_buckets_);
}

}  // namespace mlmon
