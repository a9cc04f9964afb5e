#include "mlmon/outcome_tracker.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <utility>

#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"
#include "internal/outcome_spec.h"
#include "internal/pending_store.h"
#include "internal/redis_pending_store.h"
#include "internal/segment_table.h"
#include "internal/series_owner.h"
#include "internal/staged_series.h"
#include "internal/task_quality.h"
#include "mlmon/detail/mutex.h"

namespace mlmon {

namespace {

using Task = OutcomeSpec::Task;
using internal::PendingStore;

constexpr std::int64_t kNanosPerSecond = 1000000000;
// Largest payload: ranking, a count and max(k) 32-bit item hashes, then
// the segment (a Redis store's: its size and bytes).
constexpr std::size_t kPayloadBuffer =
    4 + 4 * OutcomeSpec::kMaxK + 1 + SegmentSpec::kMaxValueBytes;
static_assert(kPayloadBuffer <= PendingStore::kMaxPayloadBytes, "payload");
static_assert(kPayloadBuffer <= internal::TakenPrediction::kMaxPayloadBytes,
              "Redis payload");
static_assert(OutcomeTracker::kMaxIdBytes == PendingStore::kMaxIdBytes, "id");

// Ranking: items kept per prediction, max(k); 0 for the other tasks.
std::size_t MaxK(const OutcomeSpec& s) {
  if (s.task != Task::kRanking) return 0;
  return *std::max_element(s.k.begin(), s.k.end());
}

// Bytes of a prediction's task part in the pending store: the score, the
// class index, or the ranking's kept count and item hashes.
std::size_t TaskPayloadBytes(const OutcomeSpec& s) {
  switch (s.task) {
    case Task::kBinary:
    case Task::kRegression:
      return sizeof(double);
    case Task::kMulticlass:
      return sizeof(std::uint32_t);
    case Task::kRanking:
      return 4 + 4 * MaxK(s);
  }
  return 8;
}

// Bytes of a prediction's segment part, after its task part: none without
// segments; in memory the segment's index; in Redis (read by every replica,
// whose tables number values in their own order) a size byte and the value
// (size kFoldedSegment: a value too long for a series of its own).
constexpr std::uint8_t kFoldedSegment = 0xff;
std::size_t SegmentPayloadBytes(const OutcomeSpec& s) {
  if (!s.segments.enabled()) return 0;
  return s.store.backend == PendingStoreSpec::Backend::kMemory
             ? 1
             : 1 + SegmentSpec::kMaxValueBytes;
}

std::size_t PayloadBytes(const OutcomeSpec& s) {
  return TaskPayloadBytes(s) + SegmentPayloadBytes(s);
}

std::uint32_t ItemHash(std::string_view item) noexcept {
  return static_cast<std::uint32_t>(internal::HashId(item) >> 32);
}

}  // namespace

const char* OutcomeResultName(OutcomeResult r) noexcept {
  switch (r) {
    case OutcomeResult::kMatched:
      return "matched";
    case OutcomeResult::kUnmatched:
      return "unmatched";
    case OutcomeResult::kDuplicate:
      return "duplicate";
    case OutcomeResult::kInvalid:
      return "invalid";
    case OutcomeResult::kUnavailable:
      return "unavailable";
  }
  return "invalid";
}

struct OutcomeTracker::Impl {
  Impl(Registry& registry, std::string model_in, std::string version_in,
       OutcomeSpec spec_in, const Clock* clock_in);

  // First: destroyed after every instrument it bound.
  internal::SeriesOwner owner;

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
  // A kUnmatched is counted only if `count_unmatched`.
  // With a remote store, `taken` is what the caller took already (null:
  // take it here, one round trip).
  OutcomeResult Join(std::string_view id, double outcome_unix_ts, void* payload,
                     std::int64_t* now, bool count_unmatched,
                     const internal::TakenPrediction* taken) noexcept;
  OutcomeResult JoinRemote(std::string_view id, double outcome_unix_ts,
                           void* payload, bool count_unmatched,
                           const internal::TakenPrediction* taken) noexcept;
  // The refusal of an outcome, without counting anything.
  OutcomeRefusal Check(std::string_view id, bool is_label, double outcome,
                       std::string_view label,
                       double outcome_unix_ts) const noexcept;
  OutcomeResult Unmatched(bool count) noexcept {
    return count ? Count(OutcomeResult::kUnmatched) : OutcomeResult::kUnmatched;
  }
  OutcomeResult Outcome(
      std::string_view id, double outcome, double outcome_unix_ts,
      OutcomeRefusal* why, bool count_unmatched,
      const internal::TakenPrediction* taken = nullptr) noexcept;
  OutcomeResult Outcome(
      std::string_view id, std::string_view label, double outcome_unix_ts,
      OutcomeRefusal* why, bool count_unmatched,
      const internal::TakenPrediction* taken = nullptr) noexcept;
  OutcomeResult Count(OutcomeResult r) noexcept {
    switch (r) {
      case OutcomeResult::kMatched:
        matched->Increment();
        break;
      case OutcomeResult::kUnmatched:
        unmatched->Increment();
        break;
      case OutcomeResult::kDuplicate:
        duplicate->Increment();
        break;
      case OutcomeResult::kInvalid:
        invalid->Increment();
        break;
      case OutcomeResult::kUnavailable:
        unavailable->Increment();
        break;
    }
    return r;
  }
  void NoteOutcomeTime(double unix_ts) noexcept;

  // The task object, as the class of `spec.task`. REQUIRES: `T` is that
  // class (every caller checked `spec.task` first).
  template <typename T>
  T& As() const noexcept {
    return static_cast<T&>(*task);
  }
  // Applies a matched (or self-contained) outcome to the task's metrics and
  // counts it as matched.
  // Applies a matched (or self-contained) outcome of segment `seg` (0:
  // none) to the task's metrics and counts it as matched.
  template <typename T, typename... Args>
  void Apply(std::int64_t now, std::uint32_t seg, Args... args) noexcept {
    if (seg == internal::SegmentTable::kNone) {
      As<T>().Apply(now, true, args...);
      matched->Increment();
      return;
    }
    As<T>().Apply(now, false, args...);  // the whole model's windows
    SegmentPart& part = *parts[seg];
    static_cast<T&>(*part.task).Apply(now, true, args...);
    part.matched->Increment();
  }

  void BindFamilies();
  void StartRemoteStore();
  void Tick();

  const std::string model, version;
  const OutcomeSpec spec;
  const Clock& clock;
  const double max_skew_seconds;
  // Ranking: items kept per prediction, max(k); 0 for other tasks.
  const std::size_t max_k;
  // The in-memory store, or null when predictions wait in Redis.
  std::unique_ptr<PendingStore> store;
  detail::DropSink* drops = nullptr;

  Counter *matched = nullptr, *unmatched = nullptr, *duplicate = nullptr,
          *invalid = nullptr, *expired = nullptr, *evicted = nullptr;
  Counter* unavailable = nullptr;  // Redis store only
  UpDownGauge* pending_gauge = nullptr;
  Histogram* delay = nullptr;
  Gauge* last_outcome = nullptr;
  // Largest outcome time seen (Unix seconds); CAS-maxed by RecordOutcome.
  std::atomic<double> last_outcome_ts{0.0};

  // The task's raw series and quality windows (set up by BindFamilies).
  std::unique_ptr<internal::TaskQuality> task;

  // Segments (empty without): the values seen, and per index 1 ..
  // table.other() the segment's staged series and task.
  struct SegmentPart {
    explicit SegmentPart(internal::SeriesOwner& o) : stage(o) {}
    internal::StagedSeries stage;
    Counter* matched = nullptr;
    std::unique_ptr<internal::TaskQuality> task;
  };
  std::unique_ptr<internal::SegmentTable> segments;
  std::vector<std::unique_ptr<SegmentPart>> parts;  // [0]: null
  Counter* folds = nullptr;
  const std::size_t task_bytes;  // the task part of a payload

  // The index of `segment`, counting a fold into `__other__`.
  std::uint32_t SegmentIndex(std::string_view segment) noexcept {
    const std::uint32_t i = segments->Find(segment);
    if (i == segments->other()) folds->Increment();
    return i;
  }
  // Stores a prediction: `task_payload` and, with segments, `segment`.
  bool StoreWith(std::string_view id, const void* task_payload,
                 std::string_view segment) noexcept;
  // The segment index of a taken payload's segment part.
  std::uint32_t SegmentOf(const unsigned char* part) noexcept;
  // Binds the series of segments first seen since the last call.
  void PublishSegments();
  // Serialises Tick: expiry, then the quality of the windows at one `now`.
  detail::Mutex tick_mu;

  // Redis store: last, so its writer thread stops before anything it
  // reports to is destroyed.
  std::unique_ptr<internal::RemotePendingStore> remote;
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
  if (model.empty()) {
    throw internal::SetupError("OutcomeTracker.model", "must not be empty");
  }
  internal::ValidateOutcomeSpec(s, registry);
  return s;
}

}  // namespace

OutcomeTracker::Impl::Impl(Registry& registry, std::string model_in,
                           std::string version_in, OutcomeSpec spec_in,
                           const Clock* clock_in)
    : owner(registry, "OutcomeTracker", model_in, version_in),
      model(std::move(model_in)),
      version(std::move(version_in)),
      spec(Validated(spec_in, model, registry)),
      clock(clock_in != nullptr ? *clock_in : SteadyClock::Instance()),
      max_skew_seconds(static_cast<double>(spec.max_clock_skew.count())),
      max_k(MaxK(spec)),
      task_bytes(TaskPayloadBytes(spec)) {
  if (spec.store.backend == PendingStoreSpec::Backend::kMemory) {
    store = std::make_unique<PendingStore>(StoreOptions(spec));
  }
  BindFamilies();
  if (spec.store.backend == PendingStoreSpec::Backend::kRedis) {
    StartRemoteStore();
  }
}

void OutcomeTracker::Impl::StartRemoteStore() {
  using internal::AddFamily;
  namespace metrics = internal::metrics;
  const std::vector<std::string> values = {model, version};
  auto errors = AddFamily(owner, metrics::kPendingStoreErrorsTotal);
  internal::RemoteStoreSeries series;
  series.up = &AddFamily(owner, metrics::kPendingStoreUp).Add(values);
  series.buffered = pending_gauge;
  series.connect_errors = &errors.Add({model, version, "connect"});
  series.write_errors = &errors.Add({model, version, "write"});
  series.take_errors = &errors.Add({model, version, "take"});
  series.drops = drops;
  internal::RemoteStoreOptions o;
  o.url = spec.store.url;
  o.password_file = spec.store.password_file;
  o.key_prefix = spec.store.key_prefix;
  o.model = model;
  o.version = version;
  o.ttl =
      std::chrono::duration_cast<std::chrono::milliseconds>(spec.outcome_ttl);
  o.timeout = spec.store.timeout;
  o.max_buffered = spec.store.max_buffered;
  o.payload_bytes = PayloadBytes(spec);
  // A replica with other `segments:` (a rollout) wrote the other size.
  o.other_payload_bytes =
      spec.segments.enabled()
          ? TaskPayloadBytes(spec)
          : TaskPayloadBytes(spec) + 1 + SegmentSpec::kMaxValueBytes;
  remote = internal::MakeRedisPendingStore(o, series);
}

// The families of every task, then the task's own (`MakeTaskQuality`).
void OutcomeTracker::Impl::BindFamilies() {
  using internal::AddFamily;
  namespace metrics = internal::metrics;
  const std::vector<std::string> values = {model, version};
  auto with = [&](const char* extra) {
    return std::vector<std::string>{model, version, "", extra};
  };
  drops = owner.drops();

  auto outcomes = AddFamily(owner, metrics::kOutcomesTotal);
  matched = &outcomes.Add(with("matched"));
  unmatched = &outcomes.Add(with("unmatched"));
  duplicate = &outcomes.Add(with("duplicate"));
  invalid = &outcomes.Add(with("invalid"));
  if (spec.store.backend == PendingStoreSpec::Backend::kRedis) {
    unavailable = &outcomes.Add(with("unavailable"));
  }
  expired = &AddFamily(owner, metrics::kPredictionsExpiredTotal).Add(values);
  evicted = &AddFamily(owner, metrics::kPendingEvictedTotal).Add(values);
  pending_gauge = &AddFamily(owner, metrics::kPendingPredictions).Add(values);
  delay = &AddFamily(owner, metrics::kOutcomeDelaySeconds, spec.delay_buckets)
               .Add(values);
  last_outcome =
      &AddFamily(owner, metrics::kLastOutcomeTimestampSeconds).Add(values);

  auto confusion = AddFamily(owner, metrics::kConfusionTotal);
  auto quality = AddFamily(owner, metrics::kModelQuality);
  task = internal::MakeTaskQuality(
      {owner, model, version, spec, confusion, quality});
  if (!spec.segments.enabled()) return;
  folds = &AddFamily(owner, metrics::kSegmentFoldsTotal)
               .Add({model, version, "outcomes"});
  segments = std::make_unique<internal::SegmentTable>(spec.segments.max_values);
  parts.resize(segments->other() + 1);
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto part = std::make_unique<SegmentPart>(owner);
    part->matched =
        &outcomes.StagedIn(&part->stage).Add({model, version, "", "matched"});
    internal::TaskSetup setup{owner, model, version, spec, confusion, quality};
    setup.stage = &part->stage;
    part->task = internal::MakeTaskQuality(setup);
    parts[i] = std::move(part);
  }
}

bool OutcomeTracker::Impl::StoreWith(std::string_view id,
                                     const void* task_payload,
                                     std::string_view segment) noexcept {
  if (segments == nullptr) return Store(id, task_payload);
  alignas(8) unsigned char buf[kPayloadBuffer];
  std::memcpy(buf, task_payload, task_bytes);
  const std::uint32_t index = SegmentIndex(segment);
  unsigned char* part = buf + task_bytes;
  if (remote == nullptr) {
    part[0] = static_cast<unsigned char>(index);
    return Store(id, buf);
  }
  // The whole part is written: no byte of the stack reaches Redis.
  std::memset(part, 0, 1 + SegmentSpec::kMaxValueBytes);
  if (segment.size() > SegmentSpec::kMaxValueBytes) {
    part[0] = kFoldedSegment;
  } else {
    part[0] = static_cast<unsigned char>(segment.size());
    std::memcpy(part + 1, segment.data(), segment.size());
  }
  return Store(id, buf);
}

std::uint32_t OutcomeTracker::Impl::SegmentOf(
    const unsigned char* part) noexcept {
  if (segments == nullptr) return internal::SegmentTable::kNone;
  if (remote == nullptr) return part[0];
  // kFoldedSegment, or a size no mlmon writes.
  if (part[0] > SegmentSpec::kMaxValueBytes) return segments->Fold();
  return segments->Find(
      std::string_view(reinterpret_cast<const char*>(part + 1), part[0]));
}

void OutcomeTracker::Impl::PublishSegments() {
  if (segments == nullptr) return;
  internal::PublishSegments(
      *segments, [this](std::uint32_t i) -> auto& { return parts[i]->stage; });
}

bool OutcomeTracker::Impl::Store(std::string_view id,
                                 const void* payload) noexcept {
  if (remote != nullptr) {
    const double unix_now = clock.UnixSeconds();
    const auto created = static_cast<std::uint32_t>(
        unix_now > 0 ? std::min(unix_now, 4294967295.0) : 0.0);
    if (remote->Enqueue(id, created, payload)) return true;
    Drop(DropReason::kStoreUnavailable);
    return false;
  }
  const std::uint64_t h = internal::HashId(id);
  store->Prefetch(h);  // the index miss overlaps with the clock read
  const std::int64_t now = Now();
  const PendingStore::PutResult r = store->Put(id, h, now, payload);
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

OutcomeResult OutcomeTracker::Impl::JoinRemote(
    std::string_view id, double outcome_unix_ts, void* payload,
    bool count_unmatched, const internal::TakenPrediction* taken) noexcept {
  internal::TakenPrediction own;
  if (taken == nullptr) {
    remote->TakeMany(&id, 1, &own);
    taken = &own;
  }
  switch (taken->status) {
    case internal::RemoteTake::kNotFound:
      return Unmatched(count_unmatched);
    case internal::RemoteTake::kDuplicate:
      return Count(OutcomeResult::kDuplicate);
    case internal::RemoteTake::kUnavailable:
      return Count(OutcomeResult::kUnavailable);
    case internal::RemoteTake::kMatched:
      break;
  }
  std::memcpy(payload, taken->payload, PayloadBytes(spec));
  const double unix_now = clock.UnixSeconds();
  const double when = std::isnan(outcome_unix_ts) ? unix_now : outcome_unix_ts;
  const double d = when - static_cast<double>(taken->created_unix_seconds);
  delay->Observe(d > 0 ? d : 0.0);
  NoteOutcomeTime(when);
  return OutcomeResult::kMatched;
}

OutcomeResult OutcomeTracker::Impl::Join(
    std::string_view id, double outcome_unix_ts, void* payload,
    std::int64_t* now, bool count_unmatched,
    const internal::TakenPrediction* taken) noexcept {
  if (remote != nullptr) {
    *now = Now();
    return JoinRemote(id, outcome_unix_ts, payload, count_unmatched, taken);
  }
  const std::uint64_t h = internal::HashId(id);
  store->Prefetch(h);
  *now = Now();
  std::int64_t created = 0;
  switch (store->Take(id, h, *now, payload, &created)) {
    case PendingStore::TakeStatus::kNotFound:
      return Unmatched(count_unmatched);
    case PendingStore::TakeStatus::kDuplicate:
      return Count(OutcomeResult::kDuplicate);
    case PendingStore::TakeStatus::kExpired:
      expired->Increment();
      pending_gauge->Decrement();
      return Unmatched(count_unmatched);
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

void OutcomeTracker::Impl::Tick() {
  detail::MutexLock lock(tick_mu);
  const std::int64_t now = Now();
  if (store != nullptr) {
    const PendingStore::ExpireResult ex = store->Expire(now);
    if (ex.pending > 0) {
      expired->Increment(static_cast<double>(ex.pending));
      pending_gauge->Add(-static_cast<double>(ex.pending));
    }
  }
  const double last = last_outcome_ts.load(std::memory_order_relaxed);
  if (last > 0) last_outcome->Set(last);
  task->Publish(now);
  PublishSegments();
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (parts[i]->stage.published()) parts[i]->task->Publish(now);
  }
}

OutcomeTracker::OutcomeTracker(Registry& registry, std::string model,
                               std::string version, OutcomeSpec spec,
                               const Clock* clock)
    : impl_(std::make_unique<Impl>(registry, std::move(model),
                                   std::move(version), std::move(spec), clock)),
      link_(std::make_shared<Link>()) {
  detail::WriterLock lock(link_->mu);
  link_->tracker = this;
}

OutcomeTracker::~OutcomeTracker() {
  detail::WriterLock lock(link_->mu);  // waits for lines being applied
  link_->tracker = nullptr;
}

bool OutcomeTracker::RecordPrediction(std::string_view id, double score,
                                      std::string_view segment) noexcept {
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
  return m.StoreWith(id, &score, segment);
}

bool OutcomeTracker::RecordPrediction(std::string_view id,
                                      std::string_view predicted_class,
                                      std::string_view segment) noexcept {
  Impl& m = *impl_;
  if (!m.PredictionIdOk(id)) return false;
  if (m.spec.task != Task::kMulticlass) {
    m.Drop(DropReason::kInvalidValue);
    return false;
  }
  const std::int64_t c =
      m.As<internal::MulticlassTask>().ClassOf(predicted_class);
  if (c < 0) {
    m.Drop(DropReason::kUnknownName);
    return false;
  }
  const auto payload = static_cast<std::uint32_t>(c);
  return m.StoreWith(id, &payload, segment);
}

bool OutcomeTracker::RecordRanking(std::string_view id,
                                   const std::string_view* items, std::size_t n,
                                   std::string_view segment) noexcept {
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
  return m.StoreWith(id, buf, segment);
}

OutcomeResult OutcomeTracker::RecordOutcome(std::string_view id, double outcome,
                                            double outcome_unix_ts,
                                            OutcomeRefusal* why) noexcept {
  return impl_->Outcome(id, outcome, outcome_unix_ts, why, true);
}

OutcomeResult OutcomeTracker::TryRecordOutcome(std::string_view id,
                                               double outcome,
                                               double outcome_unix_ts,
                                               OutcomeRefusal* why) noexcept {
  return impl_->Outcome(id, outcome, outcome_unix_ts, why, false);
}

OutcomeResult OutcomeTracker::RecordOutcome(std::string_view id,
                                            std::string_view label,
                                            double outcome_unix_ts,
                                            OutcomeRefusal* why) noexcept {
  return impl_->Outcome(id, label, outcome_unix_ts, why, true);
}

OutcomeResult OutcomeTracker::TryRecordOutcome(std::string_view id,
                                               std::string_view label,
                                               double outcome_unix_ts,
                                               OutcomeRefusal* why) noexcept {
  return impl_->Outcome(id, label, outcome_unix_ts, why, false);
}

bool OutcomeTracker::UsesRemoteStore() const noexcept {
  return impl_->remote != nullptr;
}

bool OutcomeTracker::WouldJoin(std::string_view id, bool is_label,
                               double outcome, std::string_view label,
                               double outcome_unix_ts) const noexcept {
  return impl_->Check(id, is_label, outcome, label, outcome_unix_ts) ==
         OutcomeRefusal::kNone;
}

void OutcomeTracker::TakePending(const std::string_view* ids, std::size_t n,
                                 internal::TakenPrediction* out) noexcept {
  impl_->remote->TakeMany(ids, n, out);
}

OutcomeResult OutcomeTracker::TryRecordTaken(
    std::string_view id, bool is_label, double outcome, std::string_view label,
    double outcome_unix_ts, OutcomeRefusal* why,
    const internal::TakenPrediction* taken) noexcept {
  return is_label
             ? impl_->Outcome(id, label, outcome_unix_ts, why, false, taken)
             : impl_->Outcome(id, outcome, outcome_unix_ts, why, false, taken);
}

OutcomeRefusal OutcomeTracker::Impl::Check(
    std::string_view id, bool is_label, double outcome, std::string_view label,
    double outcome_unix_ts) const noexcept {
  if (id.empty()) return OutcomeRefusal::kEmptyId;
  if (id.size() > kMaxIdBytes) return OutcomeRefusal::kIdTooLong;
  if (!std::isnan(outcome_unix_ts)) {
    if (!std::isfinite(outcome_unix_ts) || outcome_unix_ts < 0) {
      return OutcomeRefusal::kBadTime;
    }
    if (outcome_unix_ts > clock.UnixSeconds() + max_skew_seconds) {
      return OutcomeRefusal::kFutureTime;
    }
  }
  const Task kind = spec.task;
  bool fits = false;
  if (is_label) {
    fits = kind == Task::kRanking ||
           (kind == Task::kMulticlass &&
            As<internal::MulticlassTask>().ClassOf(label) >= 0);
  } else {
    fits = (kind == Task::kBinary && (outcome == 0.0 || outcome == 1.0)) ||
           (kind == Task::kRegression && std::isfinite(outcome));
  }
  return fits ? OutcomeRefusal::kNone : OutcomeRefusal::kBadValue;
}

void OutcomeTracker::CountUnmatchedOutcome() noexcept {
  impl_->Count(OutcomeResult::kUnmatched);
}

OutcomeResult OutcomeTracker::Impl::Outcome(
    std::string_view id, double outcome, double outcome_unix_ts,
    OutcomeRefusal* why, bool count_unmatched,
    const internal::TakenPrediction* taken) noexcept {
  Impl& m = *this;
  const Task kind = m.spec.task;
  if (why != nullptr) *why = OutcomeRefusal::kNone;
  const OutcomeRefusal refusal = m.CheckOutcome(id, outcome_unix_ts);
  if (refusal != OutcomeRefusal::kNone) return m.Refuse(refusal, why);
  if (!((kind == Task::kBinary && (outcome == 0.0 || outcome == 1.0)) ||
        (kind == Task::kRegression && std::isfinite(outcome)))) {
    return m.Refuse(OutcomeRefusal::kBadValue, why);
  }
  alignas(8) unsigned char buf[kPayloadBuffer];
  std::int64_t now = 0;
  const OutcomeResult r =
      m.Join(id, outcome_unix_ts, buf, &now, count_unmatched, taken);
  if (r != OutcomeResult::kMatched) return r;
  double predicted = 0;
  std::memcpy(&predicted, buf, sizeof(predicted));
  const std::uint32_t seg = m.SegmentOf(buf + m.task_bytes);
  if (kind == Task::kBinary) {
    m.Apply<internal::BinaryTask>(now, seg, predicted, outcome == 1.0);
  } else {
    m.Apply<internal::RegressionTask>(now, seg, predicted, outcome);
  }
  return r;
}

OutcomeResult OutcomeTracker::Impl::Outcome(
    std::string_view id, std::string_view label, double outcome_unix_ts,
    OutcomeRefusal* why, bool count_unmatched,
    const internal::TakenPrediction* taken) noexcept {
  Impl& m = *this;
  const Task kind = m.spec.task;
  if (why != nullptr) *why = OutcomeRefusal::kNone;
  const OutcomeRefusal refusal = m.CheckOutcome(id, outcome_unix_ts);
  if (refusal != OutcomeRefusal::kNone) return m.Refuse(refusal, why);
  std::int64_t now = 0;
  if (kind == Task::kMulticlass) {
    const std::int64_t actual = m.As<internal::MulticlassTask>().ClassOf(label);
    if (actual < 0) return m.Refuse(OutcomeRefusal::kBadValue, why);
    alignas(8) unsigned char buf[kPayloadBuffer];
    const OutcomeResult r =
        m.Join(id, outcome_unix_ts, buf, &now, count_unmatched, taken);
    if (r == OutcomeResult::kMatched) {
      std::uint32_t predicted = 0;
      std::memcpy(&predicted, buf, sizeof(predicted));
      m.Apply<internal::MulticlassTask>(now, m.SegmentOf(buf + m.task_bytes),
                                        std::size_t{predicted},
                                        static_cast<std::size_t>(actual));
    }
    return r;
  }
  if (kind == Task::kRanking) {
    alignas(8) unsigned char buf[kPayloadBuffer];
    const OutcomeResult r =
        m.Join(id, outcome_unix_ts, buf, &now, count_unmatched, taken);
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
    m.Apply<internal::RankingTask>(now, m.SegmentOf(buf + m.task_bytes), rank);
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
    m.Apply<internal::BinaryTask>(now, internal::SegmentTable::kNone, score,
                                  outcome == 1.0);
    return OutcomeResult::kMatched;
  }
  if (task == Task::kRegression && std::isfinite(score) &&
      std::isfinite(outcome)) {
    m.NoteOutcomeTime(m.clock.UnixSeconds());
    m.Apply<internal::RegressionTask>(now, internal::SegmentTable::kNone, score,
                                      outcome);
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
  const auto& classes = m.As<internal::MulticlassTask>();
  const std::int64_t p = classes.ClassOf(predicted_class);
  const std::int64_t a = classes.ClassOf(actual_class);
  if (p < 0 || a < 0) return m.Count(OutcomeResult::kInvalid);
  m.NoteOutcomeTime(m.clock.UnixSeconds());
  m.Apply<internal::MulticlassTask>(m.Now(), internal::SegmentTable::kNone,
                                    static_cast<std::size_t>(p),
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
  m.Apply<internal::RankingTask>(m.Now(), internal::SegmentTable::kNone, rank);
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
  const Impl& m = *impl_;
  return m.remote != nullptr ? m.remote->buffered() : m.store->pending();
}
std::size_t OutcomeTracker::pending_store_bytes() const noexcept {
  const Impl& m = *impl_;
  return m.remote != nullptr ? m.remote->reserved_bytes()
                             : m.store->reserved_bytes();
}
bool OutcomeTracker::FlushPending(std::chrono::milliseconds timeout) noexcept {
  return impl_->remote == nullptr || impl_->remote->Flush(timeout);
}
const OutcomeSpec& OutcomeTracker::spec() const noexcept { return impl_->spec; }
const std::string& OutcomeTracker::model() const noexcept {
  return impl_->model;
}
const std::string& OutcomeTracker::version() const noexcept {
  return impl_->version;
}

}  // namespace mlmon
