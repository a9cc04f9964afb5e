#include "mlmon/heuristics.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>

#include "internal/bucket_bounds.h"
#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"
#include "internal/series_owner.h"

namespace mlmon {

namespace {

// Pairs the worker evaluates before it looks at stop and flush requests.
constexpr std::size_t kBatch = 256;
// The worker polls an empty ring every kMinPoll, backing off to kMaxPoll
// while it stays empty (producers never signal: that could block).
constexpr std::chrono::milliseconds kMinPoll{1};
constexpr std::chrono::milliseconds kMaxPoll{20};
constexpr std::size_t kMaxQueueCapacity = std::size_t{1} << 20;

}  // namespace

// ---------------------------------------------------------------- Heuristics

Heuristics::Heuristics(Registry& registry, std::string model,
                       std::string version, HeuristicsOptions options)
    : registry_(registry),
      model_(std::move(model)),
      version_(std::move(version)) {
  if (model_.empty()) {
    throw internal::SetupError("Heuristics.model", "is empty");
  }
  internal::CheckBucketBounds("HeuristicsOptions.value_buckets",
                              options.value_buckets);
  owner_ = std::make_unique<internal::SeriesOwner>(registry, "Heuristics",
                                                   model_, version_);
  value_buckets_ = std::move(options.value_buckets);
  checks_family_ = &owner_->Register(internal::metrics::kHeuristicChecksTotal);
  values_family_ = &owner_->Register(internal::metrics::kHeuristicValue);
}

Heuristics::~Heuristics() = default;

void Heuristics::Reserve(const std::string& name, const char* what) {
  if (name.empty()) {
    throw internal::SetupError(
        fmt::format("Heuristics: {} name", what),
        fmt::format("is empty for model '{}' version '{}'", model_, version_));
  }
  if (checks_.count(name) != 0 || values_.count(name) != 0) {
    throw internal::SetupError(
        fmt::format("Heuristics: {} name", what),
        fmt::format("is already registered for model '{}' version '{}' as a "
                    "{}; heuristic names must be unique",
                    model_, version_,
                    checks_.count(name) != 0 ? "check" : "value"),
        name);
  }
}

HeuristicCheck& Heuristics::AddCheck(const std::string& name) {
  detail::MutexLock lock(mu_);
  Reserve(name, "check");
  Counter& pass =
      owner_->Add(*checks_family_, {model_, version_, name, "pass"});
  Counter& fail =
      owner_->Add(*checks_family_, {model_, version_, name, "fail"});
  std::unique_ptr<HeuristicCheck> check(new HeuristicCheck(name, &pass, &fail));
  HeuristicCheck& ref = *check;
  checks_.emplace(name, std::move(check));
  return ref;
}

HeuristicValue& Heuristics::AddValue(const std::string& name) {
  detail::MutexLock lock(mu_);
  Reserve(name, "value");
  Histogram& histogram =
      owner_->Add(*values_family_, {model_, version_, name}, value_buckets_);
  std::unique_ptr<HeuristicValue> value(new HeuristicValue(name, &histogram));
  HeuristicValue& ref = *value;
  values_.emplace(name, std::move(value));
  return ref;
}

// ---------------------------------------------------------------- RunnerCore

namespace detail {

RunnerCore::RunnerCore(Heuristics& heuristics, const RunnerOptions& options)
    : heuristics_(heuristics),
      options_(options),
      clock_(options.clock != nullptr ? options.clock
                                      : &SteadyClock::Instance()) {
  if (options_.queue_capacity < 2 ||
      options_.queue_capacity > kMaxQueueCapacity) {
    throw internal::SetupError(
        "RunnerOptions.queue_capacity",
        fmt::format("is not in [2, {}] for model '{}'", kMaxQueueCapacity,
                    heuristics_.model()),
        std::to_string(options_.queue_capacity));
  }
  if (options_.sample_every < 1) {
    throw internal::SetupError(
        "RunnerOptions.sample_every",
        fmt::format("is not >= 1 for model '{}'", heuristics_.model()),
        std::to_string(options_.sample_every));
  }
  if (options_.budget.count() < 0) {
    throw internal::SetupError(
        "RunnerOptions.budget",
        fmt::format("is negative for model '{}'", heuristics_.model()),
        fmt::format("{} ns", options_.budget.count()));
  }
  internal::SeriesOwner& owner = *heuristics_.owner_;
  drops_ = owner.drops();
  failures_family_ = &owner.Register(internal::metrics::kHookFailuresTotal);
  slow_family_ = &owner.Register(internal::metrics::kHookSlowTotal);
}

RunnerCore::~RunnerCore() {
  // The derived destructor stopped the worker; this only covers a derived
  // constructor that threw after StartWorker() (it does not today).
  StopWorker();
}

RunnerCore::HookStats RunnerCore::BindHook(const std::string& name) {
  const std::string& model = heuristics_.model();
  const std::string& version = heuristics_.version();
  internal::SeriesOwner& owner = *heuristics_.owner_;
  return HookStats{&owner.Add(*failures_family_, {model, version, name}),
                   &owner.Add(*slow_family_, {model, version, name})};
}

void RunnerCore::CheckCallable(const std::string& name, bool empty) const {
  if (empty) {
    throw internal::SetupError(
        "HeuristicRunner callback",
        fmt::format("is empty for model '{}' version '{}'", heuristics_.model(),
                    heuristics_.version()),
        name);
  }
}

void RunnerCore::HookEnd(const HookStats& hook, std::int64_t start,
                         bool threw) noexcept {
  const std::int64_t elapsed = clock_->NowNanos() - start;
  if (elapsed > options_.budget.count()) hook.slow->Increment();
  if (threw) {
    hook.failures->Increment();
    drops_->Drop(DropReason::kHookFailure);
  }
}

void RunnerCore::StartWorker() {
  thread_ = std::thread([this] { WorkerLoop(); });
}

void RunnerCore::AddProcessed(std::size_t n) {
  detail::MutexLock lock(mu_);
  processed_ += n;
  done_.notify_all();
}

void RunnerCore::WorkerLoop() {
  std::chrono::milliseconds idle = kMinPoll;
  for (;;) {
    const std::size_t n = ProcessSome(kBatch);
    bool pending_push = false;
    {
      MutexLock lock(mu_);
      if (n > 0) {
        processed_ += n;
        done_.notify_all();
        idle = kMinPoll;
      }
      if (stop_) break;
      if (n > 0) continue;
      if (flush_target_ > processed_) {
        // A Flush() waits for a pair that a producer claimed and has not
        // published yet: it is being moved in right now.
        pending_push = true;
      } else {
        const auto deadline = std::chrono::steady_clock::now() + idle;
        while (!stop_ && flush_target_ <= processed_) {
          if (wake_.wait_until(lock.native(), deadline) ==
              std::cv_status::timeout) {
            break;
          }
        }
        idle = std::min(idle * 2, kMaxPoll);
      }
    }
    if (pending_push) std::this_thread::yield();
  }
  // Stopping: evaluate everything claimed so far. Destruction must not race
  // with Submit(), so nothing is claimed after this.
  const std::uint64_t target = Claimed();
  std::uint64_t processed;
  {
    detail::MutexLock lock(mu_);
    processed = processed_;
  }
  while (processed < target) {
    const std::size_t n = ProcessSome(kBatch);
    if (n == 0) {
      std::this_thread::yield();
      continue;
    }
    processed += n;
    AddProcessed(n);
  }
}

void RunnerCore::StopWorker() noexcept {
  MutexLock stop_lock(stop_mu_);
  {
    detail::MutexLock lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RunnerCore::FlushWorker() {
  // Every pair whose Submit() returned true before this point has a number
  // below `target` (coherence of the ring's claim counter).
  const std::uint64_t target = Claimed();
  MutexLock lock(mu_);
  if (processed_ >= target) return;
  flush_target_ = std::max(flush_target_, target);
  wake_.notify_all();
  while (processed_ < target) done_.wait(lock.native());
}

}  // namespace detail
}  // namespace mlmon
