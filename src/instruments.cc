#include "mlmon/instruments.h"

#include <fmt/format.h>

#include <string>
#include <utility>

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
  }
  return "unknown";
}

void ValidateBucketBounds(const std::vector<double>& b) {
  if (b.empty()) {
    throw internal::SetupError("histogram bounds",
                               "at least one bound is needed (+Inf is "
                               "implicit)");
  }
  for (std::size_t i = 0; i < b.size(); ++i) {
    const std::string where = fmt::format("histogram bounds[{}]", i);
    if (!std::isfinite(b[i])) {
      throw internal::SetupError(where, "must be finite (+Inf is implicit)",
                                 fmt::format("{}", b[i]));
    }
    if (i > 0 && !(b[i] > b[i - 1])) {
      throw internal::SetupError(
          where,
          fmt::format("must be greater than bounds[{}] = {}", i - 1, b[i - 1]),
          fmt::format("{}", b[i]));
    }
  }
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
