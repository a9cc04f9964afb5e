#include "mlmon/buckets.h"

#include <fmt/format.h>

#include <cmath>

#include "internal/config_errors.h"
#include "mlmon/errors.h"

namespace mlmon {

std::vector<double> LinearBuckets(double start, double width,
                                  std::size_t count) {
  if (count == 0 || !(width > 0) || !std::isfinite(start) ||
      !std::isfinite(width)) {
    throw internal::SetupError(
        "LinearBuckets", "needs count > 0 and a finite width > 0",
        fmt::format("start={}, width={}, count={}", start, width, count));
  }
  std::vector<double> b(count);
  for (std::size_t i = 0; i < count; ++i) {
    b[i] = start + width * static_cast<double>(i);
  }
  return b;
}

std::vector<double> ExponentialBuckets(double start, double factor,
                                       std::size_t count) {
  if (count == 0 || !(start > 0) || !(factor > 1) || !std::isfinite(start) ||
      !std::isfinite(factor)) {
    throw internal::SetupError(
        "ExponentialBuckets", "needs count > 0, start > 0 and factor > 1",
        fmt::format("start={}, factor={}, count={}", start, factor, count));
  }
  std::vector<double> b(count);
  double v = start;
  for (std::size_t i = 0; i < count; ++i, v *= factor) b[i] = v;
  return b;
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
  return kBounds;
}

}  // namespace mlmon
