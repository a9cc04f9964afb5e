#include "mlmon/outcome_tracker.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include "internal/pending_store.h"
#include "internal/spec_checks.h"

namespace mlmon {

namespace {

using Task = OutcomeSpec::Task;
using internal::PendingStore;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kNanosPerSecond = 1000000000;
constexpr std::int64_t kMaxSeconds = internal::kMaxWindowSeconds;  // 10 years
constexpr std::size_t kMaxThresholds = 16;
constexpr std::size_t kMaxWindows = 8;
constexpr std::size_t kMaxPendingCapacity = 100000000;
// Largest payload: ranking, a count and max(k) 32-bit item hashes.
constexpr std::size_t kPayloadBuffer = 4 + 4 * OutcomeSpec::kMaxK;
static_assert(kPayloadBuffer <= PendingStore::kMaxPayloadBytes, "payload");
static_assert(OutcomeTracker::kMaxIdBytes == PendingStore::kMaxIdBytes, "id");

void ValidateSpec(const OutcomeSpec& s, const std::string& model,
                  const Registry& registry) {
  const internal::SpecContext spec("OutcomeSpec", model);
  switch (s.task) {
    case Task::kBinary: {
      if (s.thresholds.empty()) {
        spec.Fail("thresholds is empty; a binary task needs at least one");
      }
      if (s.thresholds.size() > kMaxThresholds) {
        spec.Fail(fmt::format("thresholds has {} values, more than {}",
                              s.thresholds.size(), kMaxThresholds));
      }
      for (std::size_t i = 0; i < s.thresholds.size(); ++i) {
        const double t = s.thresholds[i];
        if (!(t > 0.0 && t < 1.0)) {
          spec.Fail(fmt::format("thresholds[{}] = {} is not in (0, 1)", i, t));
        }
        for (std::size_t j = 0; j < i; ++j) {
          if (s.thresholds[j] == t) {
            spec.Fail(fmt::format("thresholds[{}] = {} is repeated", i, t));
          }
        }
      }
      break;
    }
    case Task::kMulticlass: {
      const std::size_t n = s.classes.size();
      if (n == 0) {
        spec.Fail("classes is empty; a multiclass task needs its classes");
      }
      if (n > OutcomeSpec::kMaxClasses) {
        spec.Fail(fmt::format("classes has {} values, more than {}", n,
                              OutcomeSpec::kMaxClasses));
      }
      std::set<std::string> seen;
      for (std::size_t i = 0; i < n; ++i) {
        if (s.classes[i].empty()) {
          spec.Fail(fmt::format("classes[{}] is empty", i));
        }
        internal::CheckNotRepeated(spec, &seen, fmt::format("classes[{}]", i),
                                   s.classes[i]);
      }
      const std::size_t cap = registry.options().max_series_per_family;
      if (n * n > cap) {
        spec.Fail(
            fmt::format("classes has {} values: {} confusion cells exceed "
                        "Registry::Options::max_series_per_family = {}",
                        n, n * n, cap));
      }
      break;
    }
    case Task::kRanking: {
      if (s.k.empty()) {
        spec.Fail("k is empty; a ranking task needs at least one k");
      }
      for (std::size_t i = 0; i < s.k.size(); ++i) {
        internal::CheckInRange(spec, fmt::format("k[{}]", i), s.k[i], 1,
                               OutcomeSpec::kMaxK);
        for (std::size_t j = 0; j < i; ++j) {
          if (s.k[j] == s.k[i]) {
            spec.Fail(fmt::format("k[{}] = {} is repeated", i, s.k[i]));
          }
        }
      }
      if (!s.rank_buckets.empty()) {
        internal::CheckBuckets(spec, "rank_buckets", s.rank_buckets);
      }
      break;
    }
    case Task::kRegression:
      internal::CheckBuckets(spec, "error_buckets", s.error_buckets);
      break;
    default:
      spec.Fail(fmt::format("task = {} is not a known task",
                            static_cast<int>(s.task)));
  }
  if (s.outcome_ttl.count() <= 0 || s.outcome_ttl.count() > kMaxSeconds) {
    spec.Fail(fmt::format("outcome_ttl = {}s is not in [1s, 3650d]",
                          s.outcome_ttl.count()));
  }
  if (s.max_clock_skew.count() < 0 || s.max_clock_skew.count() > kMaxSeconds) {
    spec.Fail(fmt::format("max_clock_skew = {}s is not in [0s, 3650d]",
                          s.max_clock_skew.count()));
  }
  internal::CheckInRange(spec, "pending_capacity", s.pending_capacity, 1,
                         kMaxPendingCapacity);
  internal::CheckInRange(spec, "slices_per_window", s.slices_per_window, 1,
                         3600);
  internal::CheckWindows(spec, s.windows, kMaxWindows, kMaxSeconds);
  if (s.task == Task::kBinary) {
    internal::CheckInRange(spec, "auc_bins", s.auc_bins, 16, 65536);
    internal::CheckBuckets(spec, "score_buckets", s.score_buckets);
  }
  internal::CheckBuckets(spec, "delay_buckets", s.delay_buckets);
}

std::size_t PayloadBytes(const OutcomeSpec& s) {
  switch (s.task) {
    case Task::kBinary:
    case Task::kRegression:
      return sizeof(double);
    case Task::kMulticlass:
      return sizeof(std::uint32_t);
    case Task::kRanking:
      return 4 + 4 * *std::max_element(s.k.begin(), s.k.end());
  }
  return 8;
}

std::uint32_t ItemHash(std::string_view item) noexcept {
  return static_cast<std::uint32_t>(internal::HashId(item) >> 32);
}

// Floor division and non-negative modulo, REQUIRES: b > 0.
std::int64_t FloorDiv(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}
std::size_t FloorMod(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::size_t>(a - FloorDiv(a, b) * b);
}

// A window: a ring of time slices of running sums.
//
// Thread safety: thread-safe; `mu_` guards the slices. Updates come from
// RecordOutcome callers (one slice update per call), aggregation from Tick.
template <typename Stats>
class WindowRing {
 public:
  WindowRing(std::int64_t window_nanos, std::size_t slices, const Stats& proto)
      : slice_nanos_(std::max<std::int64_t>(
            1, window_nanos / static_cast<std::int64_t>(slices))),
        slices_(slices, Slice{kNever, proto}) {}

  // Runs `f(stats)` on the slice of `now`, retiring the slice's old contents
  // first if it belongs to an earlier turn of the ring.
  template <typename F>
  void Update(std::int64_t now, F&& f) noexcept {
    const std::int64_t id = FloorDiv(now, slice_nanos_);
    std::lock_guard<std::mutex> lock(mu_);
    Slice& s = slices_[FloorMod(id, Size())];
    if (s.epoch != id) {
      s.stats.Reset();
      s.epoch = id;
    }
    f(s.stats);
  }

  // `*out` = the sum of the slices that are inside the window at `now`.
  void Aggregate(std::int64_t now, Stats* out) {
    const std::int64_t id = FloorDiv(now, slice_nanos_);
    out->Reset();
    std::lock_guard<std::mutex> lock(mu_);
    for (const Slice& s : slices_) {
      if (s.epoch <= id && s.epoch > id - Size()) out->Merge(s.stats);
    }
  }

 private:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
  struct Slice {
    std::int64_t epoch;  // absolute slice number (now / slice_nanos_)
    Stats stats;
  };
  std::int64_t Size() const noexcept {
    return static_cast<std::int64_t>(slices_.size());
  }
  const std::int64_t slice_nanos_;
  std::mutex mu_;
  std::vector<Slice> slices_;  // guarded by mu_
};

template <typename Stats>
struct Window {
  Window(std::int64_t window_nanos, std::size_t slices, const Stats& proto)
      : ring(window_nanos, slices, proto), scratch(proto) {}
  WindowRing<Stats> ring;
  Stats scratch;               // Tick's aggregate (guarded by tick_mu_)
  std::vector<Gauge*> gauges;  // in the task's export order
};

// An undefined value (no samples, no positive prediction, AUC with one
// class) is exported as NaN, never as a fake 0.
void SetQuality(Gauge* g, double v) noexcept {
  if (std::isfinite(v)) {
    g->Set(v);
  } else {
    g->SetUndefined();
  }
}

// Class name -> index, built at set-up; look-ups never allocate.
class ClassIndex {
 public:
  void Build(const std::vector<std::string>& names) {
    names_ = names;
    std::size_t size = 8;
    while (size < 4 * names.size()) size *= 2;
    slots_.assign(size, 0);
    mask_ = size - 1;
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::size_t pos = internal::HashId(names[i]) & mask_;
      while (slots_[pos] != 0) pos = (pos + 1) & mask_;
      slots_[pos] = static_cast<std::uint32_t>(i + 1);
    }
  }
  // The index of `name`, or -1.
  int Find(std::string_view name) const noexcept {
    if (slots_.empty()) return -1;
    for (std::size_t pos = internal::HashId(name) & mask_;;
         pos = (pos + 1) & mask_) {
      const std::uint32_t s = slots_[pos];
      if (s == 0) return -1;
      if (names_[s - 1] == name) return static_cast<int>(s - 1);
    }
  }

 private:
  std::vector<std::string> names_;
  std::vector<std::uint32_t> slots_;
  std::size_t mask_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------
// Helpers and pure functions.

const char* OutcomeResultName(OutcomeResult r) noexcept {
  switch (r) {
    case OutcomeResult::kMatched: return "matched";
    case OutcomeResult::kUnmatched: return "unmatched";
    case OutcomeResult::kDuplicate: return "duplicate";
    case OutcomeResult::kInvalid: return "invalid";
  }
  return "invalid";
}

const std::vector<double>& DefaultOutcomeDelayBuckets() {
  static const std::vector<double> kBounds = {
      1, 10, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400,
      3 * 86400, 7 * 86400};
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

std::size_t AucBin(double score, std::size_t bins) noexcept {
  if (!(score > 0.0)) return 0;
  if (!(score < 1.0)) return bins - 1;
  const double z = std::log(score) - std::log1p(-score);
  const double x = (z + kAucLogitRange) / (2 * kAucLogitRange) *
                   static_cast<double>(bins);
  if (!(x > 0.0)) return 0;
  if (x >= static_cast<double>(bins)) return bins - 1;
  return static_cast<std::size_t>(x);
}

double AucFromBins(const std::uint64_t* positive, const std::uint64_t* negative,
                   std::size_t bins) noexcept {
  double pairs_ordered = 0;  // positive above negative; ties (same bin) half
  double neg_below = 0, pos_total = 0;
  for (std::size_t b = 0; b < bins; ++b) {
    const auto p = static_cast<double>(positive[b]);
    const auto n = static_cast<double>(negative[b]);
    pairs_ordered += p * (neg_below + 0.5 * n);
    neg_below += n;
    pos_total += p;
  }
  if (pos_total == 0 || neg_below == 0) return kNaN;
  return pairs_ordered / (pos_total * neg_below);
}

BinaryStats::BinaryStats(std::vector<double> thresholds_in,
                         std::size_t auc_bins)
    : thresholds(std::move(thresholds_in)),
      confusion(thresholds.size()),
      positive_bins(auc_bins, 0),
      negative_bins(auc_bins, 0) {}

void BinaryStats::Add(double score, bool actual) noexcept {
  for (std::size_t i = 0; i < thresholds.size(); ++i) {
    Confusion& c = confusion[i];
    if (score >= thresholds[i]) {
      ++(actual ? c.tp : c.fp);
    } else {
      ++(actual ? c.fn : c.tn);
    }
  }
  if (!positive_bins.empty()) {
    ++(actual ? positive_bins : negative_bins)[AucBin(score,
                                                      positive_bins.size())];
  }
  const double d = (actual ? 1.0 : 0.0) - score;
  brier_sum += d * d;
  const double p = std::min(std::max(score, kLogLossEps), 1.0 - kLogLossEps);
  log_loss_sum -= actual ? std::log(p) : std::log(1.0 - p);
  ++count;
}

void BinaryStats::Merge(const BinaryStats& o) noexcept {
  assert(o.confusion.size() == confusion.size() &&
         o.positive_bins.size() == positive_bins.size());
  for (std::size_t i = 0; i < confusion.size(); ++i) {
    confusion[i].tp += o.confusion[i].tp;
    confusion[i].fp += o.confusion[i].fp;
    confusion[i].fn += o.confusion[i].fn;
    confusion[i].tn += o.confusion[i].tn;
  }
  for (std::size_t b = 0; b < positive_bins.size(); ++b) {
    positive_bins[b] += o.positive_bins[b];
    negative_bins[b] += o.negative_bins[b];
  }
  brier_sum += o.brier_sum;
  log_loss_sum += o.log_loss_sum;
  count += o.count;
}

void BinaryStats::Reset() noexcept {
  std::fill(confusion.begin(), confusion.end(), Confusion{});
  std::fill(positive_bins.begin(), positive_bins.end(), 0);
  std::fill(negative_bins.begin(), negative_bins.end(), 0);
  brier_sum = log_loss_sum = 0;
  count = 0;
}

namespace {

double Ratio(std::uint64_t a, std::uint64_t b) noexcept {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}
// scikit-learn's F-score with beta = 1 and zero_division = 0.
double F1(double precision, double recall) noexcept {
  const double denom = precision + recall;
  return denom == 0 ? 0.0 : 2 * precision * recall / denom;
}

}  // namespace

BinaryQuality QualityFromStats(const BinaryStats& s) {
  BinaryQuality q;
  q.count = s.count;
  const bool any = s.count > 0;
  for (std::size_t i = 0; i < s.thresholds.size(); ++i) {
    const BinaryStats::Confusion& c = s.confusion[i];
    BinaryQuality::AtThreshold t{s.thresholds[i], kNaN, kNaN, kNaN, kNaN};
    if (any) {
      t.precision = Ratio(c.tp, c.tp + c.fp);
      t.recall = Ratio(c.tp, c.tp + c.fn);
      t.f1 = F1(t.precision, t.recall);
      t.accuracy = Ratio(c.tp + c.tn, s.count);
    }
    q.at_threshold.push_back(t);
  }
  const auto n = static_cast<double>(s.count);
  q.brier = any ? s.brier_sum / n : kNaN;
  q.log_loss = any ? s.log_loss_sum / n : kNaN;
  q.auc = AucFromBins(s.positive_bins.data(), s.negative_bins.data(),
                      s.positive_bins.size());
  return q;
}

void RegressionStats::Add(double predicted, double actual) noexcept {
  const double e = std::fabs(actual - predicted);
  abs_sum += e;
  sq_sum += e * e;
  ape_sum += e / std::max(std::fabs(actual), DBL_EPSILON);
  ++count;
}

void RegressionStats::Merge(const RegressionStats& o) noexcept {
  abs_sum += o.abs_sum;
  sq_sum += o.sq_sum;
  ape_sum += o.ape_sum;
  count += o.count;
}

RegressionQuality QualityFromStats(const RegressionStats& s) {
  if (s.count == 0) return RegressionQuality{kNaN, kNaN, kNaN, 0};
  const auto n = static_cast<double>(s.count);
  return RegressionQuality{s.abs_sum / n, std::sqrt(s.sq_sum / n),
                           s.ape_sum / n, s.count};
}

MulticlassStats::MulticlassStats(std::size_t num_classes)
    : tp(num_classes, 0), fp(num_classes, 0), fn(num_classes, 0) {}

void MulticlassStats::Add(std::size_t predicted, std::size_t actual) noexcept {
  assert(predicted < tp.size() && actual < tp.size());
  if (predicted == actual) {
    ++tp[actual];
    ++correct;
  } else {
    ++fp[predicted];
    ++fn[actual];
  }
  ++count;
}

void MulticlassStats::Merge(const MulticlassStats& o) noexcept {
  for (std::size_t c = 0; c < tp.size(); ++c) {
    tp[c] += o.tp[c];
    fp[c] += o.fp[c];
    fn[c] += o.fn[c];
  }
  correct += o.correct;
  count += o.count;
}

void MulticlassStats::Reset() noexcept {
  std::fill(tp.begin(), tp.end(), 0);
  std::fill(fp.begin(), fp.end(), 0);
  std::fill(fn.begin(), fn.end(), 0);
  correct = count = 0;
}

MulticlassQuality QualityFromStats(const MulticlassStats& s) {
  if (s.count == 0) return MulticlassQuality{kNaN, kNaN, kNaN, kNaN, 0};
  double p_sum = 0, r_sum = 0, f_sum = 0;
  std::size_t present = 0;
  for (std::size_t c = 0; c < s.tp.size(); ++c) {
    if (s.tp[c] + s.fp[c] + s.fn[c] == 0) continue;  // never seen
    const double p = Ratio(s.tp[c], s.tp[c] + s.fp[c]);
    const double r = Ratio(s.tp[c], s.tp[c] + s.fn[c]);
    p_sum += p;
    r_sum += r;
    f_sum += F1(p, r);
    ++present;
  }
  const auto m = static_cast<double>(present);
  return MulticlassQuality{Ratio(s.correct, s.count), p_sum / m, r_sum / m,
                           f_sum / m, s.count};
}

RankingStats::RankingStats(std::vector<std::size_t> k_in)
    : k(std::move(k_in)), hits(k.size(), 0) {}

void RankingStats::Add(std::size_t rank) noexcept {
  std::size_t max_k = 0;
  for (std::size_t i = 0; i < k.size(); ++i) {
    if (rank >= 1 && rank <= k[i]) ++hits[i];
    max_k = std::max(max_k, k[i]);
  }
  if (rank >= 1 && rank <= max_k) {
    reciprocal_rank_sum += 1.0 / static_cast<double>(rank);
  }
  ++count;
}

void RankingStats::Merge(const RankingStats& o) noexcept {
  for (std::size_t i = 0; i < hits.size(); ++i) hits[i] += o.hits[i];
  reciprocal_rank_sum += o.reciprocal_rank_sum;
  count += o.count;
}

void RankingStats::Reset() noexcept {
  std::fill(hits.begin(), hits.end(), 0);
  reciprocal_rank_sum = 0;
  count = 0;
}

RankingQuality QualityFromStats(const RankingStats& s) {
  RankingQuality q;
  q.count = s.count;
  for (std::uint64_t h : s.hits) {
    q.hit_rate.push_back(s.count == 0 ? kNaN : Ratio(h, s.count));
  }
  q.mrr = s.count == 0 ? kNaN
                       : s.reciprocal_rank_sum / static_cast<double>(s.count);
  return q;
}

// ---------------------------------------------------------------------------
// The tracker.

struct OutcomeTracker::Impl {
  Impl(Registry& registry, std::string model_in, std::string version_in,
       OutcomeSpec spec_in, const Clock* clock_in);

  std::int64_t Now() const noexcept { return clock.NowNanos(); }
  void Drop(DropReason r) noexcept { drops->Drop(r); }

  // Checks a prediction id; counts the drop.
  bool PredictionIdOk(std::string_view id) noexcept {
    if (__builtin_expect(id.empty(), 0)) {
      Drop(DropReason::kInvalidValue);
      return false;
    }
    if (__builtin_expect(id.size() > kMaxIdBytes, 0)) {
      Drop(DropReason::kIdTooLong);
      return false;
    }
    return true;
  }
  // Checks an outcome's id and time; counts an id too long as a drop.
  OutcomeRefusal CheckOutcome(std::string_view id,
                              double outcome_unix_ts) noexcept {
    if (id.empty()) return OutcomeRefusal::kEmptyId;
    if (id.size() > kMaxIdBytes) {
      Drop(DropReason::kIdTooLong);
      return OutcomeRefusal::kIdTooLong;
    }
    if (std::isnan(outcome_unix_ts)) return OutcomeRefusal::kNone;
    if (!std::isfinite(outcome_unix_ts) || outcome_unix_ts < 0) {
      return OutcomeRefusal::kBadTime;
    }
    if (outcome_unix_ts > clock.UnixSeconds() + max_skew_seconds) {
      return OutcomeRefusal::kFutureTime;
    }
    return OutcomeRefusal::kNone;
  }
  // Counts a refused outcome and tells the caller why.
  OutcomeResult Refuse(OutcomeRefusal reason, OutcomeRefusal* why) noexcept {
    if (why != nullptr) *why = reason;
    return Count(OutcomeResult::kInvalid);
  }

  bool Store(std::string_view id, const void* payload) noexcept;
  // Takes `id` out of the store; kMatched fills `payload` and accounts the
  // delay. Other results are counted here.
  OutcomeResult Join(std::string_view id, double outcome_unix_ts,
                     void* payload, std::int64_t* now) noexcept;
  OutcomeResult Count(OutcomeResult r) noexcept {
    switch (r) {
      case OutcomeResult::kMatched: matched->Increment(); break;
      case OutcomeResult::kUnmatched: unmatched->Increment(); break;
      case OutcomeResult::kDuplicate: duplicate->Increment(); break;
      case OutcomeResult::kInvalid: invalid->Increment(); break;
    }
    return r;
  }
  void NoteOutcomeTime(double unix_ts) noexcept;

  void ApplyBinary(std::int64_t now, double score, bool actual) noexcept;
  void ApplyRegression(std::int64_t now, double predicted,
                       double actual) noexcept;
  void ApplyMulticlass(std::int64_t now, std::size_t predicted,
                       std::size_t actual) noexcept;
  void ApplyRanking(std::int64_t now, std::size_t rank) noexcept;

  void BindFamilies(Registry& registry);
  void Tick();

  const std::string model, version;
  const OutcomeSpec spec;
  const Clock& clock;
  const double max_skew_seconds;
  PendingStore store;
  detail::DropSink* drops = nullptr;

  Counter *matched = nullptr, *unmatched = nullptr, *duplicate = nullptr,
          *invalid = nullptr, *expired = nullptr, *evicted = nullptr;
  UpDownGauge* pending_gauge = nullptr;
  Histogram* delay = nullptr;
  Gauge* last_outcome = nullptr;
  // Largest outcome time seen (Unix seconds); CAS-maxed by RecordOutcome.
  std::atomic<double> last_outcome_ts{0.0};

  // Binary: per threshold, cells [predicted * 2 + actual].
  std::vector<std::array<Counter*, 4>> binary_confusion;
  Histogram* score_by_actual[2] = {nullptr, nullptr};
  // Regression.
  Histogram* abs_error = nullptr;
  Counter* sq_error = nullptr;
  // Multiclass: cells [predicted * C + actual].
  ClassIndex classes;
  std::vector<Counter*> class_confusion;
  // Ranking.
  std::size_t max_k = 0;
  Histogram* rank = nullptr;

  std::vector<std::unique_ptr<Window<BinaryStats>>> binary_windows;
  std::vector<std::unique_ptr<Window<RegressionStats>>> regression_windows;
  std::vector<std::unique_ptr<Window<MulticlassStats>>> multiclass_windows;
  std::vector<std::unique_ptr<Window<RankingStats>>> ranking_windows;
  std::mutex tick_mu;  // serialises Tick
};

namespace {

PendingStore::Options StoreOptions(const OutcomeSpec& s) {
  PendingStore::Options o;
  o.capacity = s.pending_capacity;
  o.ttl_nanos = s.outcome_ttl.count() * kNanosPerSecond;
  o.payload_bytes = PayloadBytes(s);
  return o;
}

const OutcomeSpec& Validated(const OutcomeSpec& s, const std::string& model,
                             const Registry& registry) {
  if (model.empty()) throw ConfigError("mlmon: model name must not be empty");
  ValidateSpec(s, model, registry);
  return s;
}

}  // namespace

OutcomeTracker::Impl::Impl(Registry& registry, std::string model_in,
                           std::string version_in, OutcomeSpec spec_in,
                           const Clock* clock_in)
    : model(std::move(model_in)),
      version(std::move(version_in)),
      spec(Validated(spec_in, model, registry)),
      clock(clock_in != nullptr ? *clock_in : SteadyClock::Instance()),
      max_skew_seconds(static_cast<double>(spec.max_clock_skew.count())),
      store(StoreOptions(spec)) {
  BindFamilies(registry);
}

void OutcomeTracker::Impl::BindFamilies(Registry& registry) {
  const std::vector<std::string> mv = {"model", "version"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> v = {model, version};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  auto names = [&](std::vector<std::string> extra) {
    std::vector<std::string> v = mv;
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  drops = registry.DropsFor(model, version);

  auto& outcomes = registry.AddCounter(
      "mlmon_outcomes_total",
      "Outcomes received, by join result (matched, unmatched, duplicate, "
      "invalid).",
      names({"result"}));
  matched = &outcomes.Add(with({"matched"}));
  unmatched = &outcomes.Add(with({"unmatched"}));
  duplicate = &outcomes.Add(with({"duplicate"}));
  invalid = &outcomes.Add(with({"invalid"}));
  expired = &registry
                 .AddCounter("mlmon_predictions_expired_total",
                             "Predictions whose outcome did not arrive within "
                             "the TTL.",
                             mv)
                 .Add(with({}));
  evicted = &registry
                 .AddCounter("mlmon_pending_evicted_total",
                             "Pending predictions evicted because the pending "
                             "store was full.",
                             mv)
                 .Add(with({}));
  pending_gauge = &registry
                       .AddUpDownGauge("mlmon_pending_predictions",
                                       "Predictions waiting for an outcome.",
                                       mv)
                       .Add(with({}));
  delay = &registry
               .AddHistogram("mlmon_outcome_delay_seconds",
                             "Time from prediction to outcome, in seconds.",
                             mv, spec.delay_buckets)
               .Add(with({}));
  last_outcome = &registry
                      .AddGauge("mlmon_last_outcome_timestamp_seconds",
                                "Unix time of the latest outcome received.",
                                mv)
                      .Add(with({}));

  auto& confusion = registry.AddCounter(
      "mlmon_confusion_total",
      "Matched outcomes by predicted and actual class. Binary: per decision "
      "threshold (score >= threshold is positive), classes \"0\" and \"1\"; "
      "multiclass: threshold is empty.",
      names({"threshold", "predicted", "actual"}));
  auto& quality = registry.AddGauge(
      "mlmon_model_quality",
      "Model quality over a sliding window, recomputed by Tick(). Labels that "
      "do not apply are empty; undefined values (no samples) are 0.",
      names({"metric", "window", "threshold", "k"}));
  auto q = [&](const std::string& metric, const std::string& window,
               const std::string& threshold = "", const std::string& k = "") {
    return &quality.Add(with({metric, window, threshold, k}));
  };
  // The windows to export: the configured sliding ones, and "all" (one
  // slice that never retires) when asked for, as `mlmon replay` does.
  struct WindowDef {
    std::string label;
    std::int64_t nanos;
    std::size_t slices;
  };
  std::vector<WindowDef> defs;
  for (const auto& w : spec.windows) {
    defs.push_back({FormatDuration(w),
                    static_cast<std::int64_t>(w.count()) * kNanosPerSecond,
                    spec.slices_per_window});
  }
  if (spec.all_time_window) {
    defs.push_back({"all", std::numeric_limits<std::int64_t>::max() / 2, 1});
  }

  switch (spec.task) {
    case Task::kBinary: {
      std::vector<std::string> tl;
      for (double t : spec.thresholds) {
        tl.push_back(fmt::format("{}", t));
        std::array<Counter*, 4> cells{};
        for (int p = 0; p < 2; ++p) {
          for (int a = 0; a < 2; ++a) {
            cells[p * 2 + a] = &confusion.Add(
                with({tl.back(), std::to_string(p), std::to_string(a)}));
          }
        }
        binary_confusion.push_back(cells);
      }
      auto& scores = registry.AddHistogram(
          "mlmon_outcome_score",
          "Scores of matched binary predictions, by actual class.",
          names({"actual"}), spec.score_buckets);
      score_by_actual[0] = &scores.Add(with({"0"}));
      score_by_actual[1] = &scores.Add(with({"1"}));
      const BinaryStats proto(spec.thresholds, spec.auc_bins);
      for (const WindowDef& def : defs) {
        auto w = std::make_unique<Window<BinaryStats>>(def.nanos,
                                                       def.slices, proto);
        const std::string& wl = def.label;
        for (const std::string& t : tl) {
          for (const char* m : {"precision", "recall", "f1", "accuracy"}) {
            w->gauges.push_back(q(m, wl, t));
          }
        }
        for (const char* m : {"auc", "brier", "log_loss", "samples"}) {
          w->gauges.push_back(q(m, wl));
        }
        binary_windows.push_back(std::move(w));
      }
      break;
    }
    case Task::kRegression: {
      abs_error = &registry
                       .AddHistogram("mlmon_absolute_error",
                                     "Absolute error of matched regression "
                                     "predictions (MAE = sum / count).",
                                     mv, spec.error_buckets)
                       .Add(with({}));
      sq_error = &registry
                      .AddCounter("mlmon_squared_error_total",
                                  "Sum of squared errors of matched regression "
                                  "predictions.",
                                  mv)
                      .Add(with({}));
      for (const WindowDef& def : defs) {
        auto w = std::make_unique<Window<RegressionStats>>(
            def.nanos, def.slices, RegressionStats());
        const std::string& wl = def.label;
        for (const char* m : {"mae", "rmse", "mape", "samples"}) {
          w->gauges.push_back(q(m, wl));
        }
        regression_windows.push_back(std::move(w));
      }
      break;
    }
    case Task::kMulticlass: {
      classes.Build(spec.classes);
      const std::size_t n = spec.classes.size();
      class_confusion.resize(n * n);
      for (std::size_t p = 0; p < n; ++p) {
        for (std::size_t a = 0; a < n; ++a) {
          class_confusion[p * n + a] =
              &confusion.Add(with({"", spec.classes[p], spec.classes[a]}));
        }
      }
      const MulticlassStats proto(n);
      for (const WindowDef& def : defs) {
        auto w = std::make_unique<Window<MulticlassStats>>(def.nanos,
                                                           def.slices, proto);
        const std::string& wl = def.label;
        for (const char* m :
             {"accuracy", "precision", "recall", "f1", "samples"}) {
          w->gauges.push_back(q(m, wl));
        }
        multiclass_windows.push_back(std::move(w));
      }
      break;
    }
    case Task::kRanking: {
      max_k = *std::max_element(spec.k.begin(), spec.k.end());
      std::vector<double> bounds = spec.rank_buckets;
      if (bounds.empty()) {
        for (std::size_t r = 1; r <= max_k; ++r) {
          bounds.push_back(static_cast<double>(r));
        }
      }
      rank = &registry
                  .AddHistogram("mlmon_outcome_rank",
                                "Rank of the true item in matched rankings "
                                "(max(k)+1 when it was not in the kept list).",
                                mv, bounds)
                  .Add(with({}));
      const RankingStats proto(spec.k);
      for (const WindowDef& def : defs) {
        auto w = std::make_unique<Window<RankingStats>>(def.nanos,
                                                        def.slices, proto);
        const std::string& wl = def.label;
        for (std::size_t k : spec.k) {
          w->gauges.push_back(q("hit_rate", wl, "", std::to_string(k)));
        }
        w->gauges.push_back(q("mrr", wl));
        w->gauges.push_back(q("samples", wl));
        ranking_windows.push_back(std::move(w));
      }
      break;
    }
  }
}

bool OutcomeTracker::Impl::Store(std::string_view id,
                                 const void* payload) noexcept {
  const std::uint64_t h = internal::HashId(id);
  store.Prefetch(h);  // the index miss overlaps with the clock read
  const std::int64_t now = Now();
  const PendingStore::PutResult r = store.Put(id, h, now, payload);
  if (r.status == PendingStore::PutStatus::kAlreadyMatched) {
    Drop(DropReason::kInvalidValue);
    return false;
  }
  if (r.status == PendingStore::PutStatus::kInserted) {
    pending_gauge->Increment();
  }
  if (r.expired_pending) {
    expired->Increment();
    pending_gauge->Decrement();
  }
  if (r.evicted_pending) {
    evicted->Increment();
    pending_gauge->Decrement();
  }
  return true;
}

void OutcomeTracker::Impl::NoteOutcomeTime(double unix_ts) noexcept {
  double seen = last_outcome_ts.load(std::memory_order_relaxed);
  while (unix_ts > seen) {
    if (last_outcome_ts.compare_exchange_weak(seen, unix_ts,
                                              std::memory_order_relaxed)) {
      last_outcome->Set(unix_ts);  // a racing larger value is set by Tick
      return;
    }
  }
}

OutcomeResult OutcomeTracker::Impl::Join(std::string_view id,
                                         double outcome_unix_ts, void* payload,
                                         std::int64_t* now) noexcept {
  const std::uint64_t h = internal::HashId(id);
  store.Prefetch(h);
  *now = Now();
  std::int64_t created = 0;
  switch (store.Take(id, h, *now, payload, &created)) {
    case PendingStore::TakeStatus::kNotFound:
      return Count(OutcomeResult::kUnmatched);
    case PendingStore::TakeStatus::kDuplicate:
      return Count(OutcomeResult::kDuplicate);
    case PendingStore::TakeStatus::kExpired:
      expired->Increment();
      pending_gauge->Decrement();
      return Count(OutcomeResult::kUnmatched);
    case PendingStore::TakeStatus::kMatched:
      break;
  }
  pending_gauge->Decrement();
  const double age = static_cast<double>(*now - created) * 1e-9;
  const double unix_now = clock.UnixSeconds();
  double d = age, when = unix_now;
  if (!std::isnan(outcome_unix_ts)) {
    d = outcome_unix_ts - (unix_now - age);  // outcome time - prediction time
    when = outcome_unix_ts;
  }
  delay->Observe(d > 0 ? d : 0.0);
  NoteOutcomeTime(when);
  return OutcomeResult::kMatched;  // counted by the caller once applied
}

void OutcomeTracker::Impl::ApplyBinary(std::int64_t now, double score,
                                       bool actual) noexcept {
  const int a = actual ? 1 : 0;
  for (std::size_t i = 0; i < binary_confusion.size(); ++i) {
    const int p = score >= spec.thresholds[i] ? 1 : 0;
    binary_confusion[i][p * 2 + a]->Increment();
  }
  score_by_actual[a]->Observe(score);
  for (auto& w : binary_windows) {
    w->ring.Update(now, [&](BinaryStats& s) { s.Add(score, actual); });
  }
  matched->Increment();
}

void OutcomeTracker::Impl::ApplyRegression(std::int64_t now, double predicted,
                                           double actual) noexcept {
  const double e = std::fabs(actual - predicted);
  abs_error->Observe(e);
  sq_error->Increment(e * e);
  for (auto& w : regression_windows) {
    w->ring.Update(now,
                   [&](RegressionStats& s) { s.Add(predicted, actual); });
  }
  matched->Increment();
}

void OutcomeTracker::Impl::ApplyMulticlass(std::int64_t now,
                                           std::size_t predicted,
                                           std::size_t actual) noexcept {
  class_confusion[predicted * spec.classes.size() + actual]->Increment();
  for (auto& w : multiclass_windows) {
    w->ring.Update(now,
                   [&](MulticlassStats& s) { s.Add(predicted, actual); });
  }
  matched->Increment();
}

void OutcomeTracker::Impl::ApplyRanking(std::int64_t now,
                                        std::size_t r) noexcept {
  rank->Observe(static_cast<double>(r == 0 ? max_k + 1 : r));
  for (auto& w : ranking_windows) {
    w->ring.Update(now, [&](RankingStats& s) { s.Add(r); });
  }
  matched->Increment();
}

void OutcomeTracker::Impl::Tick() {
  std::lock_guard<std::mutex> lock(tick_mu);
  const std::int64_t now = Now();
  const PendingStore::ExpireResult ex = store.Expire(now);
  if (ex.pending > 0) {
    expired->Increment(static_cast<double>(ex.pending));
    pending_gauge->Add(-static_cast<double>(ex.pending));
  }
  const double last = last_outcome_ts.load(std::memory_order_relaxed);
  if (last > 0) last_outcome->Set(last);

  for (auto& w : binary_windows) {
    w->ring.Aggregate(now, &w->scratch);
    const BinaryQuality bq = QualityFromStats(w->scratch);
    std::size_t g = 0;
    for (const auto& t : bq.at_threshold) {
      for (double v : {t.precision, t.recall, t.f1, t.accuracy}) {
        SetQuality(w->gauges[g++], v);
      }
    }
    for (double v : {bq.auc, bq.brier, bq.log_loss,
                     static_cast<double>(bq.count)}) {
      SetQuality(w->gauges[g++], v);
    }
  }
  for (auto& w : regression_windows) {
    w->ring.Aggregate(now, &w->scratch);
    const RegressionQuality rq = QualityFromStats(w->scratch);
    std::size_t g = 0;
    for (double v : {rq.mae, rq.rmse, rq.mape, static_cast<double>(rq.count)}) {
      SetQuality(w->gauges[g++], v);
    }
  }
  for (auto& w : multiclass_windows) {
    w->ring.Aggregate(now, &w->scratch);
    const MulticlassQuality mq = QualityFromStats(w->scratch);
    std::size_t g = 0;
    for (double v : {mq.accuracy, mq.macro_precision, mq.macro_recall,
                     mq.macro_f1, static_cast<double>(mq.count)}) {
      SetQuality(w->gauges[g++], v);
    }
  }
  for (auto& w : ranking_windows) {
    w->ring.Aggregate(now, &w->scratch);
    const RankingQuality rq = QualityFromStats(w->scratch);
    std::size_t g = 0;
    for (double v : rq.hit_rate) SetQuality(w->gauges[g++], v);
    SetQuality(w->gauges[g++], rq.mrr);
    SetQuality(w->gauges[g++], static_cast<double>(rq.count));
  }
}

OutcomeTracker::OutcomeTracker(Registry& registry, std::string model,
                               std::string version, OutcomeSpec spec,
                               const Clock* clock)
    : impl_(std::make_unique<Impl>(registry, std::move(model),
                                   std::move(version), std::move(spec),
                                   clock)) {}

OutcomeTracker::~OutcomeTracker() = default;

bool OutcomeTracker::RecordPrediction(std::string_view id,
                                      double score) noexcept {
  Impl& m = *impl_;
  if (!m.PredictionIdOk(id)) return false;
  const Task task = m.spec.task;
  if (__builtin_expect(!std::isfinite(score), 0)) {
    m.Drop(detail::NonFiniteReason(score));
    return false;
  }
  if ((task == Task::kBinary && !(score >= 0.0 && score <= 1.0)) ||
      (task != Task::kBinary && task != Task::kRegression)) {
    m.Drop(DropReason::kInvalidValue);
    return false;
  }
  return m.Store(id, &score);
}

bool OutcomeTracker::RecordPrediction(
    std::string_view id, std::string_view predicted_class) noexcept {
  Impl& m = *impl_;
  if (!m.PredictionIdOk(id)) return false;
  if (m.spec.task != Task::kMulticlass) {
    m.Drop(DropReason::kInvalidValue);
    return false;
  }
  const int c = m.classes.Find(predicted_class);
  if (c < 0) {
    m.Drop(DropReason::kUnknownName);
    return false;
  }
  const auto payload = static_cast<std::uint32_t>(c);
  return m.Store(id, &payload);
}

bool OutcomeTracker::RecordRanking(std::string_view id,
                                   const std::string_view* items,
                                   std::size_t n) noexcept {
  Impl& m = *impl_;
  if (!m.PredictionIdOk(id)) return false;
  if (m.spec.task != Task::kRanking || (items == nullptr && n > 0)) {
    m.Drop(DropReason::kInvalidValue);
    return false;
  }
  alignas(8) unsigned char buf[kPayloadBuffer];
  const auto kept = static_cast<std::uint32_t>(std::min(n, m.max_k));
  std::memcpy(buf, &kept, 4);
  for (std::uint32_t i = 0; i < kept; ++i) {
    const std::uint32_t h = ItemHash(items[i]);
    std::memcpy(buf + 4 + 4 * i, &h, 4);
  }
  return m.Store(id, buf);
}

OutcomeResult OutcomeTracker::RecordOutcome(std::string_view id, double outcome,
                                            double outcome_unix_ts,
                                            OutcomeRefusal* why) noexcept {
  Impl& m = *impl_;
  const Task task = m.spec.task;
  if (why != nullptr) *why = OutcomeRefusal::kNone;
  const OutcomeRefusal refusal = m.CheckOutcome(id, outcome_unix_ts);
  if (refusal != OutcomeRefusal::kNone) return m.Refuse(refusal, why);
  if (!((task == Task::kBinary && (outcome == 0.0 || outcome == 1.0)) ||
        (task == Task::kRegression && std::isfinite(outcome)))) {
    return m.Refuse(OutcomeRefusal::kBadValue, why);
  }
  double predicted = 0;
  std::int64_t now = 0;
  const OutcomeResult r = m.Join(id, outcome_unix_ts, &predicted, &now);
  if (r != OutcomeResult::kMatched) return r;
  if (task == Task::kBinary) {
    m.ApplyBinary(now, predicted, outcome == 1.0);
  } else {
    m.ApplyRegression(now, predicted, outcome);
  }
  return r;
}

OutcomeResult OutcomeTracker::RecordOutcome(std::string_view id,
                                            std::string_view label,
                                            double outcome_unix_ts,
                                            OutcomeRefusal* why) noexcept {
  Impl& m = *impl_;
  const Task task = m.spec.task;
  if (why != nullptr) *why = OutcomeRefusal::kNone;
  const OutcomeRefusal refusal = m.CheckOutcome(id, outcome_unix_ts);
  if (refusal != OutcomeRefusal::kNone) return m.Refuse(refusal, why);
  std::int64_t now = 0;
  if (task == Task::kMulticlass) {
    const int actual = m.classes.Find(label);
    if (actual < 0) return m.Refuse(OutcomeRefusal::kBadValue, why);
    std::uint32_t predicted = 0;
    const OutcomeResult r = m.Join(id, outcome_unix_ts, &predicted, &now);
    if (r == OutcomeResult::kMatched) {
      m.ApplyMulticlass(now, predicted, static_cast<std::size_t>(actual));
    }
    return r;
  }
  if (task == Task::kRanking) {
    alignas(8) unsigned char buf[kPayloadBuffer];
    const OutcomeResult r = m.Join(id, outcome_unix_ts, buf, &now);
    if (r != OutcomeResult::kMatched) return r;
    std::uint32_t kept = 0;
    std::memcpy(&kept, buf, 4);
    const std::uint32_t want = ItemHash(label);
    std::size_t rank = 0;
    for (std::uint32_t i = 0; i < kept && rank == 0; ++i) {
      std::uint32_t h;
      std::memcpy(&h, buf + 4 + 4 * i, 4);
      if (h == want) rank = i + 1;
    }
    m.ApplyRanking(now, rank);
    return r;
  }
  return m.Refuse(OutcomeRefusal::kBadValue, why);
}

OutcomeResult OutcomeTracker::RecordLabeled(double score,
                                            double outcome) noexcept {
  Impl& m = *impl_;
  const Task task = m.spec.task;
  const std::int64_t now = m.Now();
  if (task == Task::kBinary && score >= 0.0 && score <= 1.0 &&
      (outcome == 0.0 || outcome == 1.0)) {
    m.NoteOutcomeTime(m.clock.UnixSeconds());
    m.ApplyBinary(now, score, outcome == 1.0);
    return OutcomeResult::kMatched;
  }
  if (task == Task::kRegression && std::isfinite(score) &&
      std::isfinite(outcome)) {
    m.NoteOutcomeTime(m.clock.UnixSeconds());
    m.ApplyRegression(now, score, outcome);
    return OutcomeResult::kMatched;
  }
  return m.Count(OutcomeResult::kInvalid);
}

OutcomeResult OutcomeTracker::RecordLabeled(
    std::string_view predicted_class, std::string_view actual_class) noexcept {
  Impl& m = *impl_;
  if (m.spec.task != Task::kMulticlass) {
    return m.Count(OutcomeResult::kInvalid);
  }
  const int p = m.classes.Find(predicted_class);
  const int a = m.classes.Find(actual_class);
  if (p < 0 || a < 0) return m.Count(OutcomeResult::kInvalid);
  m.NoteOutcomeTime(m.clock.UnixSeconds());
  m.ApplyMulticlass(m.Now(), static_cast<std::size_t>(p),
                    static_cast<std::size_t>(a));
  return OutcomeResult::kMatched;
}

OutcomeResult OutcomeTracker::RecordLabeledRanking(
    const std::string_view* items, std::size_t n,
    std::string_view chosen) noexcept {
  Impl& m = *impl_;
  if (m.spec.task != Task::kRanking || (items == nullptr && n > 0)) {
    return m.Count(OutcomeResult::kInvalid);
  }
  std::size_t rank = 0;
  for (std::size_t i = 0; i < std::min(n, m.max_k) && rank == 0; ++i) {
    if (items[i] == chosen) rank = i + 1;
  }
  m.NoteOutcomeTime(m.clock.UnixSeconds());
  m.ApplyRanking(m.Now(), rank);
  return OutcomeResult::kMatched;
}

void OutcomeTracker::CountInvalidOutcome() noexcept {
  impl_->Count(OutcomeResult::kInvalid);
}

void OutcomeTracker::Tick() { impl_->Tick(); }

double OutcomeTracker::UnixNow() const noexcept {
  return impl_->clock.UnixSeconds();
}
std::size_t OutcomeTracker::pending() const noexcept {
  return impl_->store.pending();
}
std::size_t OutcomeTracker::pending_store_bytes() const noexcept {
  return impl_->store.reserved_bytes();
}
const OutcomeSpec& OutcomeTracker::spec() const noexcept { return impl_->spec; }
const std::string& OutcomeTracker::model() const noexcept {
  return impl_->model;
}
const std::string& OutcomeTracker::version() const noexcept {
  return impl_->version;
}

}  // namespace mlmon
