#ifndef MLMON_BUCKETS_H_
#define MLMON_BUCKETS_H_

/// \file
/// Histogram bucket bounds. Bounds are fixed at set-up and must be the same on
/// every replica, so PromQL can sum histograms across a fleet.

#include <cstddef>
#include <vector>

namespace mlmon {

/// `count` bounds `start, start+width, ...`.
/// \throw mlmon::ConfigError if `count` is 0 or `width` is not > 0.
std::vector<double> LinearBuckets(double start, double width,
                                  std::size_t count);

/// `count` bounds `start, start*factor, ...`.
/// \throw mlmon::ConfigError if `count` is 0, `start` <= 0 or `factor` <= 1.
std::vector<double> ExponentialBuckets(double start, double factor,
                                       std::size_t count);

/// Latency bounds for model serving, in seconds: 0.1 ms to 10 s, so an
/// in-process model answering in tens of microseconds still has a p99 finer
/// than a millisecond (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
/// 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10).
const std::vector<double>& DefaultLatencyBuckets();

}  // namespace mlmon

#endif  // MLMON_BUCKETS_H_
