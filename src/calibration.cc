#include "mlmon/calibration.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "internal/config_errors.h"

namespace mlmon {
namespace {

// numpy.finfo(numpy.float64).resolution, scikit-learn's tie tolerance.
constexpr double kTieEps = 1e-15;

}  // namespace

double CalibrationMap::operator()(double score) const noexcept {
  if (score <= x.front()) return y.front();
  if (score >= x.back()) return y.back();
  // The first knot above the score; the one before it is at or below.
  const std::size_t hi = static_cast<std::size_t>(
      std::upper_bound(x.begin(), x.end(), score) - x.begin());
  const std::size_t lo = hi - 1;
  const double t = (score - x[lo]) / (x[hi] - x[lo]);
  return y[lo] + t * (y[hi] - y[lo]);
}

CalibrationMap FitIsotonic(std::vector<ScoredOutcome> examples) {
  const char* where = "FitIsotonic";
  if (examples.empty()) {
    throw internal::SetupError(where, "no training example with an outcome");
  }
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const ScoredOutcome& e = examples[i];
    if (!std::isfinite(e.score)) {
      throw internal::SetupError(fmt::format("{}: example {}", where, i),
                                 "score not finite",
                                 fmt::format("{}", e.score));
    }
    if (e.outcome != 0.0 && e.outcome != 1.0) {
      throw internal::SetupError(fmt::format("{}: example {}", where, i),
                                 "outcome not 0 or 1",
                                 fmt::format("{}", e.outcome));
    }
  }
  std::sort(examples.begin(), examples.end(),
            [](const ScoredOutcome& a, const ScoredOutcome& b) {
              return a.score < b.score;
            });
  // Equal scores become one point: their mean outcome, weighted by their
  // number. As scikit-learn, scores closer than kTieEps to the first of a
  // group join it.
  struct Block {
    double sum;               // outcome sum, then the mean once pooled
    double weight;            // examples in the block
    std::size_t first, last;  // the distinct scores it covers
  };
  std::vector<double> xs;
  std::vector<Block> blocks;
  for (const ScoredOutcome& e : examples) {
    if (xs.empty() || e.score >= xs.back() + kTieEps) {
      xs.push_back(e.score);
      blocks.push_back({0, 0, xs.size() - 1, xs.size() - 1});
    }
    blocks.back().sum += e.outcome;
    blocks.back().weight += 1;
  }
  // Pool adjacent violators: a stack of blocks with increasing means; a new
  // block merges with the top while the top's mean is not below its own.
  std::vector<Block> stack;
  for (const Block& b : blocks) {
    Block cur = b;
    while (!stack.empty() &&
           stack.back().sum / stack.back().weight >= cur.sum / cur.weight) {
      const Block& top = stack.back();
      cur = {top.sum + cur.sum, top.weight + cur.weight, top.first, cur.last};
      stack.pop_back();
    }
    stack.push_back(cur);
  }
  // One knot per distinct score, then each run of equal values kept by its
  // ends.
  std::vector<double> ys(xs.size());
  for (const Block& b : stack) {
    const double mean = b.sum / b.weight;
    for (std::size_t i = b.first; i <= b.last; ++i) ys[i] = mean;
  }
  CalibrationMap map;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const bool inner = i > 0 && i + 1 < xs.size();
    if (inner && ys[i] == ys[i - 1] && ys[i] == ys[i + 1]) continue;
    map.x.push_back(xs[i]);
    map.y.push_back(ys[i]);
  }
  if (map.x.size() > CalibrationMap::kMaxKnots) {
    throw internal::SetupError(where,
                               fmt::format("the fit has more than {} knots",
                                           CalibrationMap::kMaxKnots),
                               fmt::format("{} knots", map.x.size()));
  }
  return map;
}

void CheckCalibration(const CalibrationMap& map, const std::string& where) {
  if (map.x.size() != map.y.size()) {
    throw internal::SetupError(
        where + ".y", fmt::format("not {} values, as many as x", map.x.size()),
        fmt::format("{} values", map.y.size()));
  }
  if (map.x.size() > CalibrationMap::kMaxKnots) {
    throw internal::SetupError(
        where + ".x",
        fmt::format("more than {} knots", CalibrationMap::kMaxKnots),
        fmt::format("{} knots", map.x.size()));
  }
  for (std::size_t i = 0; i < map.x.size(); ++i) {
    const double x = map.x[i], y = map.y[i];
    const std::string xi = fmt::format("{}.x[{}]", where, i);
    const std::string yi = fmt::format("{}.y[{}]", where, i);
    if (!std::isfinite(x))
      throw internal::SetupError(xi, "not finite", fmt::format("{}", x));
    if (i > 0 && !(x > map.x[i - 1])) {
      throw internal::SetupError(xi, "not above the knot before it",
                                 fmt::format("{}", x));
    }
    if (!(y >= 0 && y <= 1))
      throw internal::SetupError(yi, "not in [0, 1]", fmt::format("{}", y));
    if (i > 0 && y < map.y[i - 1]) {
      throw internal::SetupError(yi, "below the knot before it",
                                 fmt::format("{}", y));
    }
  }
}

}  // namespace mlmon
