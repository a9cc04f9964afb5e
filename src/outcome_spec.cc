#include "internal/outcome_spec.h"

#include <fmt/format.h>

#include <set>
#include <string>
#include <string_view>

#include "internal/redis_url.h"
#include "internal/spec_checks.h"

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

constexpr SpecContext kSpec("OutcomeSpec");

void CheckBinary(const OutcomeSpec& s) {
  if (s.thresholds.empty()) {
    kSpec.Fail("thresholds", "empty; a binary task needs at least one");
  }
  CheckAtMost(kSpec, "thresholds", s.thresholds.size(), kMaxThresholds);
  for (std::size_t i = 0; i < s.thresholds.size(); ++i) {
    const double t = s.thresholds[i];
    const std::string field = fmt::format("thresholds[{}]", i);
    if (!(t > 0.0 && t < 1.0)) {
      kSpec.Fail(field, "not in (0, 1)", fmt::format("{}", t));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (s.thresholds[j] == t) {
        kSpec.Fail(field, "repeated", fmt::format("{}", t));
      }
    }
  }
}

void CheckMulticlass(const OutcomeSpec& s, const Registry& registry) {
  const std::size_t n = s.classes.size();
  if (n == 0) {
    kSpec.Fail("classes", "empty; a multiclass task needs its classes");
  }
  CheckAtMost(kSpec, "classes", n, OutcomeSpec::kMaxClasses);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string field = fmt::format("classes[{}]", i);
    if (s.classes[i].empty()) kSpec.Fail(field, "empty");
    CheckNotRepeated(kSpec, &seen, field, s.classes[i]);
  }
  const std::size_t cap = registry.options().max_series_per_family;
  if (n * n > cap) {
    kSpec.Fail("classes",
               fmt::format("{} confusion cells exceed "
                           "Registry::Options::max_series_per_family = {}",
                           n * n, cap),
               fmt::format("{} values", n));
  }
}

void CheckRanking(const OutcomeSpec& s) {
  if (s.k.empty()) kSpec.Fail("k", "empty; a ranking task needs at least one");
  for (std::size_t i = 0; i < s.k.size(); ++i) {
    const std::string field = fmt::format("k[{}]", i);
    CheckInRange(kSpec, field, s.k[i], 1, OutcomeSpec::kMaxK);
    for (std::size_t j = 0; j < i; ++j) {
      if (s.k[j] == s.k[i]) {
        kSpec.Fail(field, "repeated", std::to_string(s.k[i]));
      }
    }
  }
  if (!s.rank_buckets.empty()) {
    CheckBuckets(kSpec, "rank_buckets", s.rank_buckets);
  }
}

// A duration in [lo, 3650d].
void CheckSeconds(std::string_view field, std::chrono::seconds value,
                  std::int64_t lo, const char* range) {
  const auto v = static_cast<std::int64_t>(value.count());
  if (v < lo || v > kMaxWindowSeconds) {
    kSpec.Fail(field, fmt::format("not in {}", range), fmt::format("{}s", v));
  }
}

// With segments, the series of the busiest family (confusion cells or
// quality gauges) of every segment value, `__other__` and the whole model
// must fit the registry's per-family cap: past it they would fold into
// `__overflow__` and a segment would silently miss from the exposition.
void CheckSegmentSeries(const OutcomeSpec& s, const Registry& registry) {
  if (!s.segments.enabled()) return;
  const std::size_t windows = s.windows.size() + (s.all_time_window ? 1 : 0);
  std::size_t confusion = 0, quality = 0;  // per segment
  switch (s.task) {
    case Task::kBinary:
      confusion = 4 * s.thresholds.size();
      quality = windows * (4 * s.thresholds.size() + 4);
      break;
    case Task::kMulticlass:
      confusion = s.classes.size() * s.classes.size();
      quality = windows * 5;
      break;
    case Task::kRegression:
      quality = windows * 4;
      break;
    case Task::kRanking:
      quality = windows * (2 * s.k.size() + 2);
      break;
  }
  const std::size_t per_segment = std::max(confusion, quality);
  const std::size_t total = (s.segments.max_values + 2) * per_segment;
  const std::size_t cap = registry.options().max_series_per_family;
  if (total > cap) {
    kSpec.Fail("segments.max_values",
               fmt::format("{} segments (with __other__ and \"\") x {} series "
                           "exceed Registry::Options::max_series_per_family = "
                           "{}",
                           s.segments.max_values + 2, per_segment, cap),
               std::to_string(s.segments.max_values));
  }
}

}  // namespace

void ValidatePendingStoreSpec(const PendingStoreSpec& st) {
  using Backend = PendingStoreSpec::Backend;
  if (st.backend != Backend::kMemory && st.backend != Backend::kRedis) {
    kSpec.Fail("store.backend", "not memory or redis",
               std::to_string(static_cast<int>(st.backend)));
  }
  if (st.backend != Backend::kRedis) return;
  ParseRedisUrl(st.url, "OutcomeSpec.store.url");
  CheckAtMost(kSpec, "store.key_prefix", st.key_prefix.size(),
              kMaxStoreKeyPrefixBytes);
  const auto ms = st.timeout.count();
  if (ms < 1 || ms > 60000) {
    kSpec.Fail("store.timeout", "not in [1ms, 60s]", fmt::format("{}ms", ms));
  }
  CheckInRange(kSpec, "store.max_buffered", st.max_buffered, 1,
               kMaxStoreBuffered);
}

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
      CheckBuckets(kSpec, "error_buckets", s.error_buckets);
      break;
    default:
      kSpec.Fail("task", "not a known task",
                 std::to_string(static_cast<int>(s.task)));
  }
  CheckSeconds("outcome_ttl", s.outcome_ttl, 1, "[1s, 3650d]");
  CheckSeconds("max_clock_skew", s.max_clock_skew, 0, "[0s, 3650d]");
  CheckInRange(kSpec, "pending_capacity", s.pending_capacity, 1,
               kMaxPendingCapacity);
  CheckInRange(kSpec, "slices_per_window", s.slices_per_window, 1, 3600);
  CheckWindows(kSpec, s.windows, kMaxOutcomeWindows, kMaxWindowSeconds);
  if (s.task == Task::kBinary) {
    CheckInRange(kSpec, "auc_bins", s.auc_bins, 16, 65536);
    CheckBuckets(kSpec, "score_buckets", s.score_buckets);
  }
  CheckBuckets(kSpec, "delay_buckets", s.delay_buckets);
  CheckSegments(kSpec, s.segments);
  CheckSegmentSeries(s, registry);
  ValidatePendingStoreSpec(s.store);
}

}  // namespace internal
}  // namespace mlmon
