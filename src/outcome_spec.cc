#include "internal/outcome_spec.h"

#include <fmt/format.h>

#include <set>
#include <string>
#include <string_view>

#include "internal/bucket_bounds.h"
#include "internal/config_errors.h"
#include "internal/spec_checks.h"  // kMaxWindowSeconds
#include "mlmon/duration.h"

namespace mlmon {

const std::vector<double>& DefaultOutcomeDelayBuckets() {
  static const std::vector<double> kBounds = {
      1,        10,       60,        300,   900,       3600,
      3 * 3600, 6 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400};
  return kBounds;
}

const std::vector<double>& DefaultOutcomeScoreBuckets() {
  static const std::vector<double> kBounds = {
      0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
      0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1};
  return kBounds;
}

const std::vector<double>& DefaultAbsoluteErrorBuckets() {
  static const std::vector<double> kBounds = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
      2.5,   5,      10,    25,   50,    100,  250, 500,  1000};
  return kBounds;
}

namespace internal {
namespace {

using Task = OutcomeSpec::Task;

constexpr std::int64_t kMaxSeconds = kMaxWindowSeconds;  // 3650 days

// "OutcomeSpec.<field>" or "OutcomeSpec.<field>[<i>]".
std::string Field(std::string_view field) {
  return fmt::format("OutcomeSpec.{}", field);
}
std::string Field(std::string_view field, std::size_t i) {
  return fmt::format("OutcomeSpec.{}[{}]", field, i);
}

[[noreturn]] void Fail(const std::string& where, std::string_view what,
                       const std::string& value = {}) {
  throw SetupError(where, what, value);
}

void CheckRange(std::string_view field, std::size_t value, std::size_t lo,
                std::size_t hi) {
  if (value < lo || value > hi) {
    Fail(Field(field), fmt::format("not in [{}, {}]", lo, hi),
         std::to_string(value));
  }
}

// Histogram bounds, named by the field that holds them.
void CheckBuckets(std::string_view field, const std::vector<double>& bounds) {
  CheckBucketBounds(Field(field), bounds);
}

void CheckBinary(const OutcomeSpec& s) {
  if (s.thresholds.empty()) {
    Fail(Field("thresholds"), "empty; a binary task needs at least one");
  }
  if (s.thresholds.size() > kMaxThresholds) {
    Fail(Field("thresholds"),
         fmt::format("more than {} values", kMaxThresholds),
         std::to_string(s.thresholds.size()));
  }
  for (std::size_t i = 0; i < s.thresholds.size(); ++i) {
    const double t = s.thresholds[i];
    if (!(t > 0.0 && t < 1.0)) {
      Fail(Field("thresholds", i), "not in (0, 1)", fmt::format("{}", t));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (s.thresholds[j] == t) {
        Fail(Field("thresholds", i), "repeated", fmt::format("{}", t));
      }
    }
  }
}

void CheckMulticlass(const OutcomeSpec& s, const Registry& registry) {
  const std::size_t n = s.classes.size();
  if (n == 0) {
    Fail(Field("classes"), "empty; a multiclass task needs its classes");
  }
  if (n > OutcomeSpec::kMaxClasses) {
    Fail(Field("classes"),
         fmt::format("more than {} values", OutcomeSpec::kMaxClasses),
         std::to_string(n));
  }
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < n; ++i) {
    if (s.classes[i].empty()) Fail(Field("classes", i), "empty");
    if (!seen.insert(s.classes[i]).second) {
      Fail(Field("classes", i), "repeated", s.classes[i]);
    }
  }
  const std::size_t cap = registry.options().max_series_per_family;
  if (n * n > cap) {
    Fail(Field("classes"),
         fmt::format("{} confusion cells exceed "
                     "Registry::Options::max_series_per_family = {}",
                     n * n, cap),
         fmt::format("{} values", n));
  }
}

void CheckRanking(const OutcomeSpec& s) {
  if (s.k.empty()) Fail(Field("k"), "empty; a ranking task needs at least one");
  for (std::size_t i = 0; i < s.k.size(); ++i) {
    if (s.k[i] < 1 || s.k[i] > OutcomeSpec::kMaxK) {
      Fail(Field("k", i), fmt::format("not in [1, {}]", OutcomeSpec::kMaxK),
           std::to_string(s.k[i]));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (s.k[j] == s.k[i]) {
        Fail(Field("k", i), "repeated", std::to_string(s.k[i]));
      }
    }
  }
  if (!s.rank_buckets.empty()) CheckBuckets("rank_buckets", s.rank_buckets);
}

// A duration in [lo, 3650d].
void CheckSeconds(std::string_view field, std::chrono::seconds value,
                  std::int64_t lo, const char* range) {
  const auto v = static_cast<std::int64_t>(value.count());
  if (v < lo || v > kMaxSeconds) {
    Fail(Field(field), fmt::format("not in {}", range), fmt::format("{}s", v));
  }
}

void CheckWindows(const std::vector<std::chrono::seconds>& windows) {
  if (windows.size() > kMaxOutcomeWindows) {
    Fail(Field("windows"),
         fmt::format("more than {} values", kMaxOutcomeWindows),
         std::to_string(windows.size()));
  }
  std::set<std::string> labels;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const auto w = static_cast<std::int64_t>(windows[i].count());
    if (w <= 0 || w > kMaxSeconds) {
      Fail(Field("windows", i), "not in [1s, 3650d]", fmt::format("{}s", w));
    }
    // 60s and 1m are the same window: the same `window` label.
    if (!labels.insert(FormatDuration(windows[i])).second) {
      Fail(Field("windows", i), "repeated", fmt::format("{}s", w));
    }
  }
}

}  // namespace

void ValidateOutcomeSpec(const OutcomeSpec& s, const Registry& registry) {
  switch (s.task) {
    case Task::kBinary:
      CheckBinary(s);
      break;
    case Task::kMulticlass:
      CheckMulticlass(s, registry);
      break;
    case Task::kRanking:
      CheckRanking(s);
      break;
    case Task::kRegression:
      CheckBuckets("error_buckets", s.error_buckets);
      break;
    default:
      Fail(Field("task"), "not a known task",
           std::to_string(static_cast<int>(s.task)));
  }
  CheckSeconds("outcome_ttl", s.outcome_ttl, 1, "[1s, 3650d]");
  CheckSeconds("max_clock_skew", s.max_clock_skew, 0, "[0s, 3650d]");
  CheckRange("pending_capacity", s.pending_capacity, 1, kMaxPendingCapacity);
  CheckRange("slices_per_window", s.slices_per_window, 1, 3600);
  CheckWindows(s.windows);
  if (s.task == Task::kBinary) {
    CheckRange("auc_bins", s.auc_bins, 16, 65536);
    CheckBuckets("score_buckets", s.score_buckets);
  }
  CheckBuckets("delay_buckets", s.delay_buckets);
}

}  // namespace internal
}  // namespace mlmon
