#ifndef MLMON_HEURISTICS_H_
#define MLMON_HEURISTICS_H_

/// \file
/// Quality heuristics: application-specific checks and values the team
/// registers ("is the user's most-used carousel in the top 3?"), recorded
/// directly on the inference path or computed by callbacks off it.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "mlmon/clock.h"
#include "mlmon/detail/mpsc_ring.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/registry.h"

namespace mlmon {

class Heuristics;
namespace detail {
class RunnerCore;
}  // namespace detail

/// Set-up options of `Heuristics`.
struct HeuristicsOptions {
  /// Bounds of `mlmon_heuristic_value`, shared by every value heuristic.
  ///
  /// The registry keeps one bucket list per family name, so every
  /// `Heuristics` of one `Registry` (all models and versions) must use the
  /// same list; the default suits small counts and ranks (1-based).
  std::vector<double> value_buckets = {0, 1, 2, 3, 4, 5, 10, 20, 50, 100};
};

/// Options of a `HeuristicRunner` (see `Heuristics::MakeRunner`).
struct RunnerOptions {
  /// Pairs the queue holds, in [2, 2^20]. Memory is allocated once, at
  /// construction: `queue_capacity` slots of `std::pair<Request, Response>`
  /// (each rounded up to whole 64-byte cache lines).
  std::size_t queue_capacity = 1024;
  /// Sampling: 1 queues every submitted pair, N queues one in N (the 1st,
  /// (N+1)th, ... call, by an atomic counter). Must be >= 1.
  std::uint64_t sample_every = 1;
  /// A callback that runs longer than this (>= 0) is counted in
  /// `mlmon_hook_slow_total{hook}`; its result is still recorded.
  std::chrono::nanoseconds budget = std::chrono::milliseconds(5);
  /// Times callbacks against `budget`; `SteadyClock` when null. Must outlive
  /// the runner.
  const Clock* clock = nullptr;
};

/// A bound boolean heuristic:
/// `mlmon_heuristic_checks_total{model,version,heuristic,result}` with
/// `result` = `pass` or `fail`.
///
/// Thread safety: thread-safe.
/// Hot path: `Record()` is noexcept, lock-free and allocation-free.
class HeuristicCheck {
 public:
  HeuristicCheck(const HeuristicCheck&) = delete;
  HeuristicCheck& operator=(const HeuristicCheck&) = delete;

  /// Counts one evaluation of the check.
  void Record(bool pass) noexcept { (pass ? pass_ : fail_)->Increment(); }

  const std::string& name() const noexcept { return name_; }

 private:
  friend class Heuristics;
  HeuristicCheck(std::string name, Counter* pass, Counter* fail)
      : name_(std::move(name)), pass_(pass), fail_(fail) {}
  std::string name_;
  Counter* pass_;
  Counter* fail_;
};

/// A bound numeric heuristic: the histogram
/// `mlmon_heuristic_value{model,version,heuristic}` (bounds:
/// `HeuristicsOptions::value_buckets`).
///
/// Thread safety: thread-safe.
/// Hot path: `Observe()` is noexcept, lock-free and allocation-free.
class HeuristicValue {
 public:
  HeuristicValue(const HeuristicValue&) = delete;
  HeuristicValue& operator=(const HeuristicValue&) = delete;

  /// Records one value. NaN (infinite) values are dropped and counted in
  /// `mlmon_dropped_total{reason="nan"}` (`"inf"`).
  void Observe(double value) noexcept { histogram_->Observe(value); }

  const std::string& name() const noexcept { return name_; }

 private:
  friend class Heuristics;
  HeuristicValue(std::string name, Histogram* histogram)
      : name_(std::move(name)), histogram_(histogram) {}
  std::string name_;
  Histogram* histogram_;
};

template <typename Request, typename Response>
class HeuristicRunner;

/// The quality heuristics of one model version: boolean checks
/// (`mlmon_heuristic_checks_total{heuristic,result}`) and numeric values
/// (`mlmon_heuristic_value{heuristic}`), both with the constant labels
/// `model` and `version`.
///
/// Record them directly on the inference path through the handles that
/// `AddCheck()` / `AddValue()` return, or register callbacks on a
/// `HeuristicRunner` (`MakeRunner()`) that computes them from sampled
/// request/response pairs on a worker thread, off the inference path.
///
/// Heuristic names are the `heuristic` label values: unique within one
/// `Heuristics` across checks and values. Two `Heuristics` of the same model
/// and version in one registry that bind the same name share its series.
///
/// Thread safety: thread-safe. `AddCheck()`, `AddValue()` and `MakeRunner()`
/// are set-up calls (they lock and allocate); the handles they return are
/// valid as long as the `Heuristics`.
///
/// **Example**:
///
///     mlmon::Registry registry;
///     mlmon::Heuristics heuristics(registry, "recommender", "v7");
///     mlmon::HeuristicCheck& in_top3 =
///         heuristics.AddCheck("favourite_carousel_in_top3");
///     mlmon::HeuristicValue& rank =
///         heuristics.AddValue("favourite_carousel_rank");
///     // On the inference thread:
///     in_top3.Record(favourite_rank <= 3);
///     rank.Observe(favourite_rank);
class Heuristics {
 public:
  /// \throw mlmon::ConfigError if `model` is empty, the buckets are invalid,
  /// or the registry holds a `Heuristics` of the same model and version.
  Heuristics(Registry& registry, std::string model, std::string version,
             HeuristicsOptions options = {});
  Heuristics(const Heuristics&) = delete;
  Heuristics& operator=(const Heuristics&) = delete;
  /// Removes the heuristics' series from the registry's exposition.
  /// REQUIRES: no call on it, its checks and values runs, and its runners
  /// are destroyed.
  ~Heuristics();

  /// Binds the boolean heuristic `name`. Set-up call.
  /// \throw mlmon::ConfigError if `name` is empty or already used by a check
  /// or value of this `Heuristics` (the message names it).
  HeuristicCheck& AddCheck(const std::string& name);

  /// Binds the numeric heuristic `name` (bounds:
  /// `HeuristicsOptions::value_buckets`). Set-up call.
  /// \throw mlmon::ConfigError if `name` is empty or already used by a check
  /// or value of this `Heuristics` (the message names it).
  HeuristicValue& AddValue(const std::string& name);

  /// Creates a runner that evaluates callbacks over sampled
  /// `(Request, Response)` pairs on its own worker thread. Set-up call.
  /// REQUIRES: this `Heuristics` outlives the runner.
  /// \throw mlmon::ConfigError if an option is out of range (the message
  /// names it).
  template <typename Request, typename Response>
  std::unique_ptr<HeuristicRunner<Request, Response>> MakeRunner(
      RunnerOptions options = {});

  const std::string& model() const noexcept { return model_; }
  const std::string& version() const noexcept { return version_; }
  Registry& registry() const noexcept { return registry_; }

 private:
  friend class detail::RunnerCore;
  void Reserve(const std::string& name, const char* what) MLMON_REQUIRES(mu_);

  // First: destroyed after every instrument it bound.
  std::unique_ptr<internal::SeriesOwner> owner_;
  Registry& registry_;
  std::string model_, version_;
  std::vector<double> value_buckets_;
  Family<Counter>* checks_family_;
  Family<Histogram>* values_family_;
  detail::Mutex mu_;
  std::map<std::string, std::unique_ptr<HeuristicCheck>> checks_
      MLMON_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<HeuristicValue>> values_
      MLMON_GUARDED_BY(mu_);
};

namespace detail {

/// The non-template half of `HeuristicRunner`: option checks, the worker
/// thread and its wake-up and flush protocol, and the accounting of callback
/// failures and slow calls. Users never use it directly.
///
/// Thread safety: thread-safe, except that destruction must not race with
/// any call.
class RunnerCore {
 public:
  RunnerCore(const RunnerCore&) = delete;
  RunnerCore& operator=(const RunnerCore&) = delete;

 protected:
  /// The counters of one callback (`hook` label = heuristic name).
  struct HookStats {
    Counter* failures;  // mlmon_hook_failures_total{hook}
    Counter* slow;      // mlmon_hook_slow_total{hook}
  };

  /// \throw mlmon::ConfigError if an option is out of range.
  RunnerCore(Heuristics& heuristics, const RunnerOptions& options);
  virtual ~RunnerCore();

  /// Binds the counters of callback `name`. Set-up call.
  HookStats BindHook(const std::string& name);
  /// \throw mlmon::ConfigError naming `name` if `empty` (no callable).
  void CheckCallable(const std::string& name, bool empty) const;

  /// Start of a callback (the clock's now).
  std::int64_t HookStart() const noexcept { return clock_->NowNanos(); }
  /// End of a callback that started at `start`: counts a slow call, and a
  /// failure (`threw`) in `mlmon_hook_failures_total` and
  /// `mlmon_dropped_total{reason="hook_failure"}`.
  void HookEnd(const HookStats& hook, std::int64_t start, bool threw) noexcept;

  /// Worker: pops and evaluates up to `max` pairs; returns how many.
  virtual std::size_t ProcessSome(std::size_t max) noexcept = 0;
  /// Pairs claimed in the queue so far (`MpscRing::claimed()`).
  virtual std::uint64_t Claimed() const noexcept = 0;

  /// Starts the worker. Called once, by the derived constructor, last.
  void StartWorker();
  /// Stops the worker after it evaluated every queued pair, and joins it.
  /// Called by the derived destructor, first. Idempotent.
  void StopWorker() noexcept;
  /// See `HeuristicRunner::Flush()`.
  void FlushWorker();

  /// Counts a refused pair (`mlmon_dropped_total{reason="queue_full"}`).
  void DropQueueFull() noexcept { drops_->Drop(DropReason::kQueueFull); }

  Heuristics& heuristics_;
  const RunnerOptions options_;
  // Guards the callbacks of the derived runner: held by the worker while it
  // evaluates a batch and by set-up calls that add a callback.
  Mutex hooks_mu_;

 private:
  void WorkerLoop();
  void AddProcessed(std::size_t n);

  const Clock* clock_;
  DropSink* drops_;  // mlmon_dropped_total{model,version,reason}
  Family<Counter>* failures_family_;
  Family<Counter>* slow_family_;

  // Guards the fields below. `wake_` wakes the worker (Flush, stop; never
  // producers: they must not block), `done_` wakes Flush() callers.
  Mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  bool stop_ MLMON_GUARDED_BY(mu_) = false;
  // Pairs popped and evaluated.
  std::uint64_t processed_ MLMON_GUARDED_BY(mu_) = 0;
  // Pairs Flush() callers wait for.
  std::uint64_t flush_target_ MLMON_GUARDED_BY(mu_) = 0;
  Mutex stop_mu_;  // serialises StopWorker()
  std::thread thread_;
};

}  // namespace detail

/// Evaluates heuristic callbacks over sampled `(Request, Response)` pairs on
/// a worker thread it owns, off the inference path.
///
/// The inference thread calls `Submit()`, which samples (one in
/// `sample_every`) and moves the pair into a bounded MPSC ring; it never
/// blocks: a full ring drops the pair and counts it in
/// `mlmon_dropped_total{reason="queue_full"}`. The worker polls the ring
/// (waiting on a condition variable with a timeout, 1 ms backing off to
/// 20 ms while idle: producers never notify), and runs every callback on each
/// pair (checks, then values, each in the order they were added), each inside
/// `try { … } catch (...)`.
/// A callback that throws is counted in
/// `mlmon_dropped_total{reason="hook_failure"}` and
/// `mlmon_hook_failures_total{model,version,hook}` (`hook` = the heuristic
/// name), its result is not recorded, and the other callbacks still run. A
/// callback that runs longer than `RunnerOptions::budget` is counted in
/// `mlmon_hook_slow_total{model,version,hook}`; its result is still
/// recorded. A callback is never interrupted: one that blocks stalls the
/// worker, and the ring then fills and drops (counted). The destructor
/// evaluates every queued pair, then joins the worker.
///
/// REQUIRES: `Request` and `Response` are default-constructible and nothrow
/// move-constructible and move-assignable (e.g. `std::string`,
/// `std::vector`, structs of them).
///
/// Thread safety: thread-safe, except that destruction must not race with
/// any call. Callbacks run on the worker thread only, one at a time.
/// Hot path: `Submit()` is noexcept, lock-free and allocation-free (one
/// relaxed counter increment when sampling, and the ring push: a move of the
/// pair, which for standard containers moves pointers and allocates
/// nothing), and never blocks.
///
/// **Example**:
///
///     mlmon::Heuristics heuristics(registry, "recommender", "v7");
///     auto runner = heuristics.MakeRunner<HomeRequest, HomePage>();
///     runner->AddValue("favourite_carousel_rank",
///                      [](const HomeRequest& req, const HomePage& page) {
///                        return RankOf(req.favourite, page);  // 1-based
///                      });
///     runner->AddCheck("favourite_carousel_in_top3",
///                      [](const HomeRequest& req, const HomePage& page) {
///                        return RankOf(req.favourite, page) <= 3;
///                      });
///     // On the inference thread, after the response is sent:
///     runner->Submit(std::move(request), std::move(page));
template <typename Request, typename Response>
class HeuristicRunner final : public detail::RunnerCore {
  static_assert(std::is_default_constructible_v<Request> &&
                    std::is_default_constructible_v<Response>,
                "HeuristicRunner: Request and Response must be "
                "default-constructible");
  static_assert(std::is_nothrow_move_constructible_v<Request> &&
                    std::is_nothrow_move_constructible_v<Response> &&
                    std::is_nothrow_move_assignable_v<Request> &&
                    std::is_nothrow_move_assignable_v<Response>,
                "HeuristicRunner: Request and Response must be nothrow "
                "move-constructible and nothrow move-assignable");

 public:
  using Pair = std::pair<Request, Response>;
  using CheckFn = std::function<bool(const Request&, const Response&)>;
  using ValueFn = std::function<double(const Request&, const Response&)>;

  /// Prefer `Heuristics::MakeRunner()`. Starts the worker thread.
  /// REQUIRES: `heuristics` outlives the runner.
  /// \throw mlmon::ConfigError if an option is out of range (the message
  /// names it).
  explicit HeuristicRunner(Heuristics& heuristics, RunnerOptions options = {})
      : detail::RunnerCore(heuristics, options), ring_(options.queue_capacity) {
    StartWorker();
  }
  /// Evaluates every queued pair, then stops and joins the worker.
  ~HeuristicRunner() override { StopWorker(); }

  /// Adds a boolean heuristic computed by `fn` for every evaluated pair
  /// (`Heuristics::AddCheck(name)`). Pairs evaluated before the call do not
  /// see it. Set-up call; waits for the batch being evaluated.
  /// REQUIRES: not called from a callback of this runner.
  /// \throw mlmon::ConfigError if `name` is empty or already used in the
  /// `Heuristics`, or `fn` is empty.
  void AddCheck(const std::string& name, CheckFn fn) {
    CheckCallable(name, !fn);
    HeuristicCheck& check = heuristics_.AddCheck(name);
    const HookStats stats = BindHook(name);
    detail::MutexLock lock(hooks_mu_);
    checks_.push_back(Check{std::move(fn), &check, stats});
  }

  /// Adds a numeric heuristic computed by `fn` for every evaluated pair
  /// (`Heuristics::AddValue(name)`); a NaN result is dropped and counted.
  /// Set-up call; waits for the batch being evaluated.
  /// REQUIRES: not called from a callback of this runner.
  /// \throw mlmon::ConfigError if `name` is empty or already used in the
  /// `Heuristics`, or `fn` is empty.
  void AddValue(const std::string& name, ValueFn fn) {
    CheckCallable(name, !fn);
    HeuristicValue& value = heuristics_.AddValue(name);
    const HookStats stats = BindHook(name);
    detail::MutexLock lock(hooks_mu_);
    values_.push_back(Value{std::move(fn), &value, stats});
  }

  /// Samples the pair and moves it into the queue. Returns true if it was
  /// queued; false if it was not sampled or the queue was full (counted in
  /// `mlmon_dropped_total{reason="queue_full"}`). When false, `request` and
  /// `response` are left holding their values.
  bool Submit(Request&& request, Response&& response) noexcept {
    if (sample_every_ > 1 &&
        sample_counter_.fetch_add(1, std::memory_order_relaxed) %
                sample_every_ !=
            0) {
      return false;
    }
    Pair pair(std::move(request), std::move(response));
    if (__builtin_expect(ring_.TryPush(std::move(pair)), 1)) return true;
    // Full: the ring left `pair` untouched; give the values back, so nothing
    // is freed on this thread.
    request = std::move(pair.first);
    response = std::move(pair.second);
    DropQueueFull();
    return false;
  }

  /// Blocks until every pair whose `Submit()` returned true before the call
  /// has been evaluated and its results recorded. Off the hot path.
  /// REQUIRES: not called from a callback (it would wait for itself).
  void Flush() { FlushWorker(); }

 private:
  struct Check {
    CheckFn fn;
    HeuristicCheck* check;
    HookStats stats;
  };
  struct Value {
    ValueFn fn;
    HeuristicValue* value;
    HookStats stats;
  };

  std::size_t ProcessSome(std::size_t max) noexcept override {
    detail::MutexLock lock(hooks_mu_);
    Pair pair;
    std::size_t n = 0;
    while (n < max && ring_.TryPop(&pair)) {
      ++n;
      for (Check& c : checks_) {
        bool pass = false;
        bool threw = false;
        const std::int64_t start = HookStart();
        try {
          pass = c.fn(pair.first, pair.second);
        } catch (...) {
          threw = true;
        }
        HookEnd(c.stats, start, threw);
        if (!threw) c.check->Record(pass);
      }
      for (Value& v : values_) {
        double result = 0.0;
        bool threw = false;
        const std::int64_t start = HookStart();
        try {
          result = v.fn(pair.first, pair.second);
        } catch (...) {
          threw = true;
        }
        HookEnd(v.stats, start, threw);
        if (!threw) v.value->Observe(result);
      }
    }
    return n;
  }

  std::uint64_t Claimed() const noexcept override { return ring_.claimed(); }

  detail::MpscRing<Pair> ring_;
  const std::uint64_t sample_every_ = options_.sample_every;
  // Calls of Submit() so far (only when sampling). Its own cache line: every
  // inference thread increments it; relaxed, it only picks one in N.
  alignas(64) std::atomic<std::uint64_t> sample_counter_{0};
  std::vector<Check> checks_ MLMON_GUARDED_BY(hooks_mu_);
  std::vector<Value> values_ MLMON_GUARDED_BY(hooks_mu_);
};

template <typename Request, typename Response>
std::unique_ptr<HeuristicRunner<Request, Response>> Heuristics::MakeRunner(
    RunnerOptions options) {
  return std::make_unique<HeuristicRunner<Request, Response>>(*this, options);
}

}  // namespace mlmon

#endif  // MLMON_HEURISTICS_H_
