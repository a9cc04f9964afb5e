#ifndef MLMON_FEATURE_MONITOR_H_
#define MLMON_FEATURE_MONITOR_H_

/// \file
/// Input data monitoring: per-feature missing / NaN / out-of-range /
/// unseen-category rates, feature distributions, and drift of each feature
/// against its reference from training (the check that catches a field that
/// switched from seconds to milliseconds).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/clock.h"
#include "mlmon/reference_profile.h"
#include "mlmon/registry.h"

namespace mlmon {

/// Set-up configuration of a `FeatureMonitor`. Validated by the monitor's
/// constructor.
struct FeatureSpec {
  /// A numeric feature.
  struct Numeric {
    /// Unique among all features of the spec; the `feature` label value.
    /// Non-empty, at most `kMaxNameBytes` bytes of valid UTF-8 without
    /// control characters, not starting with `__`, not ending in `:log10`.
    std::string name;
    /// Valid range [min, max] (inclusive); NaN = unbounded on that side.
    /// REQUIRES: min <= max when both are set.
    double min = std::numeric_limits<double>::quiet_NaN();
    double max = std::numeric_limits<double>::quiet_NaN();
    /// Upper bounds of `mlmon_feature_value` (strictly increasing, finite).
    /// Empty: the reference profile's bounds for this feature (a ConfigError
    /// if there is no reference).
    std::vector<double> buckets;
  };
  /// A categorical feature. Its known categories are the reference's
  /// categories, the `max_categories` most frequent ones (ties by name);
  /// any other value counts as `unseen`.
  struct Categorical {
    std::string name;  ///< as for `Numeric::name`
    /// In [1, kMaxCategories].
    std::size_t max_categories = 100;
  };

  std::vector<Numeric> numeric;
  std::vector<Categorical> categorical;
  /// Windows of the `mlmon_drift_score` gauges: each >= 1 s, distinct labels
  /// (`FormatDuration`), at most 8.
  std::vector<std::chrono::seconds> windows = {std::chrono::minutes(5),
                                               std::chrono::hours(1)};
  /// Snapshots per window, in [1, 3600]: a window is exact to
  /// `window / slices_per_window`.
  std::size_t slices_per_window = 60;
  /// Minimum observations of a drift signal in a window (>= 1) for `Tick()`
  /// to update that signal's `mlmon_drift_score` gauges of that window.
  /// Below it the gauges read `NaN` (undefined: 0 before the first `Tick()`),
  /// so no alert fires and one that fired on busier traffic resolves: on a
  /// handful of values PSI is noise (one empty bin alone costs
  /// about 0.7), which would page on a healthy model right after a restart
  /// or on low traffic. Counted per signal: a numeric feature's value bins,
  /// its `:log10` magnitude bins (non-zero values only), a categorical
  /// feature's categories.
  std::size_t drift_min_samples = 200;

  static constexpr std::size_t kMaxNameBytes = 200;
  static constexpr std::size_t kMaxFeatures = 1024;
  static constexpr std::size_t kMaxCategories = 10000;
};

/// Names one feature of a `FeatureMonitor`; obtained at set-up with
/// `FeatureMonitor::Find()`. A default-constructed handle is invalid.
class FeatureHandle {
 public:
  FeatureHandle() = default;
  bool valid() const noexcept { return index_ != kInvalid; }

 private:
  friend class FeatureMonitor;
  friend class FeatureVector;
  static constexpr std::uint32_t kInvalid = 0xffffffffu;
  explicit FeatureHandle(std::uint32_t index) : index_(index) {}
  std::uint32_t index_ = kInvalid;
};

namespace detail {
struct FeatureLayout;  // immutable name and category tables
                       // (feature_monitor.cc)
}  // namespace detail

/// The inputs of one request: a fixed array of numeric values and category
/// ids plus a presence mark per feature, sized to the monitor's spec. Made
/// once per thread (or per request slot) with `FeatureMonitor::NewVector()`,
/// filled with `Set*`, passed to `FeatureMonitor::Observe()`, and reused
/// after `Clear()` (constant time, whatever the number of features).
///
/// A feature set twice keeps the last value. Mistakes are dropped and
/// counted in `mlmon_dropped_total{model,version,reason}`, never thrown: an
/// invalid handle or unknown feature name (`unknown_name`); a number set on a
/// categorical feature or a category on a numeric one (`invalid_value`).
///
/// Thread safety: thread-compatible (one vector per thread at a time).
/// Hot path: every method but copying is noexcept, lock-free and
/// allocation-free. Name look-ups use tables prebuilt at set-up.
class FeatureVector {
 public:
  /// Sets a numeric feature (NaN and ±Inf are kept and counted as `nan` by
  /// `Observe`).
  void Set(FeatureHandle feature, double value) noexcept;
  /// Sets a categorical feature. A category the reference does not know (or
  /// beyond `max_categories`) is kept as `unseen`.
  void SetCategory(FeatureHandle feature, std::string_view category) noexcept;
  /// By name, for callers that walk a request's fields.
  void Set(std::string_view feature, double value) noexcept;
  void SetCategory(std::string_view feature,
                   std::string_view category) noexcept;
  /// Marks every feature as not set (keeps the storage).
  void Clear() noexcept;
  /// True if `feature` was set since the last `Clear()`.
  bool IsSet(FeatureHandle feature) const noexcept;

 private:
  friend class FeatureMonitor;
  explicit FeatureVector(std::shared_ptr<const detail::FeatureLayout> layout);
  // A plain store (no read-modify-write of a shared bitmap word, so the
  // setters of one request do not wait on each other).
  void MarkSet(std::uint32_t index) noexcept { set_in_[index] = generation_; }

  std::shared_ptr<const detail::FeatureLayout> layout_;
  std::vector<double> values_;               // by numeric index
  std::vector<std::uint32_t> category_ids_;  // by categorical index
  // By feature index: the generation in which the feature was last set; it
  // is set iff that is `generation_`. `Clear()` starts a new generation
  // (and wipes the marks once every 2^32 - 1 clears, when it wraps).
  std::vector<std::uint32_t> set_in_;
  std::uint32_t generation_ = 1;
};

/// Monitors the input features of one model version. Exports (all with
/// labels `model`, `version`):
///
/// - `mlmon_feature_values_total{feature,status}`: one per feature and
///   request. Numeric statuses `ok`, `missing` (not set), `nan` (NaN or
///   ±Inf), `out_of_range` (outside [min, max]); categorical `ok`,
///   `missing`, `unseen` (not among the known categories; without a reference
///   there are no known categories and every set value counts `ok`).
/// - `mlmon_feature_value{feature}`: histogram of each numeric feature on its
///   own bounds. `ok` and `out_of_range` values are observed, `missing` and
///   `nan` are not.
/// - `mlmon_feature_magnitude{feature}`: histogram of
///   log10(|x|) of the same values, x != 0, on `DefaultLog10Bounds()`. The
///   same on every feature and replica, so a unit change (x1000 moves every
///   value 3 decades) shows whatever the feature's configured bounds are.
/// - `mlmon_drift_score{signal,method,window}`, set by `Tick()` when a
///   reference is given: for a numeric feature, `signal="<feature>"` with
///   methods `psi`, `js`, `linf`, `ks` over the value histogram in the
///   window vs the reference counts, and `signal="<feature>:log10"` over the
///   magnitude histogram vs the reference's `log10` counts (when the profile
///   has them); for a categorical feature, `signal="<feature>"`, methods
///   `psi`, `js` and `linf` (not `ks`: categories have no order) over the
///   category proportions (known categories, plus one `unseen` bin whose
///   reference share is the reference mass beyond `max_categories`, 0 when
///   nothing was capped). A window in which a
///   signal had fewer than `FeatureSpec::drift_min_samples` observations
///   (200 by default; none at all included) sets that signal's gauges of
///   that window to `NaN` (undefined).
/// - for each drift signal (`<feature>` and `<feature>:log10`; a
///   categorical feature's bins are its known categories, then `unseen`),
///   `mlmon_drift_bin_observations_total{signal,bin}`, the observations in
///   each bin of the reference (not cumulative; advanced by `Tick()` to the
///   counts the in-process drift reads), and `mlmon_drift_reference_share`,
///   the reference's share of each bin: the inputs of the fleet-wide drift
///   rules of `mlmon rules` (docs/metrics.md).
///
/// Windows come from cumulative reads taken by `Tick()`
/// (`internal::WindowSnapshots`): the hot path never rotates anything.
///
/// Thread safety: thread-safe.
/// Hot path: `Observe()` (and `FeatureVector::Set*`) are noexcept,
/// lock-free and allocation-free, and look up no labels. `Tick()` and the
/// scrape take a mutex never taken by `Observe()`.
///
/// **Example**:
///
///     mlmon::Registry registry;
///     mlmon::FeatureSpec spec;
///     spec.numeric.push_back({"amount_usd", 0, 1e6, {1, 10, 100, 1000}});
///     spec.categorical.push_back({"country"});
///     auto profile = mlmon::ReferenceProfile::Load("fraud.reference.json");
///     mlmon::FeatureMonitor features(registry, "fraud", "v7", spec, &profile);
///     mlmon::FeatureHandle amount = features.Find("amount_usd");
///     mlmon::FeatureVector in = features.NewVector();  // once per thread
///     // per request:
///     in.Clear();
///     in.Set(amount, 42.5);
///     in.SetCategory("country", "DE");
///     features.Observe(in);
///     // window thread, every few seconds:
///     features.Tick();
class FeatureMonitor {
 public:
  /// `reference` is read in the constructor only (it may be destroyed
  /// afterwards). `clock` (SteadyClock when null) must outlive the monitor.
  /// \throw mlmon::ConfigError naming the feature and field: a bad
  /// `FeatureSpec` value; a numeric feature without buckets and without a
  /// reference; with a reference, a feature missing from it, of the other
  /// type, binned on other bounds, with log10 counts on other bounds than
  /// `DefaultLog10Bounds()`, or without any reference observation. Also if
  /// `model` is empty or the registry refuses a family.
  FeatureMonitor(Registry& registry, std::string model, std::string version,
                 FeatureSpec spec, const ReferenceProfile* reference = nullptr,
                 const Clock* clock = nullptr);
  ~FeatureMonitor();
  FeatureMonitor(const FeatureMonitor&) = delete;
  FeatureMonitor& operator=(const FeatureMonitor&) = delete;

  /// The handle of feature `name`; invalid if the spec has no such feature.
  FeatureHandle Find(std::string_view name) const;
  /// A new, empty input vector for this monitor (allocates: set-up).
  /// The vector stays usable after the monitor is gone, but must only be
  /// passed to the monitor that made it.
  FeatureVector NewVector() const;

  /// Counts and observes one request's features. A vector made by another
  /// monitor is dropped and counted (`invalid_value`).
  void Observe(const FeatureVector& features) noexcept;

  /// Off the hot path (the window thread, every few seconds): reads the
  /// cumulative counts, advances the windows and recomputes the drift
  /// gauges.
  void Tick();

  const FeatureSpec& spec() const noexcept;
  const std::string& model() const noexcept;
  const std::string& version() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlmon

#endif  // MLMON_FEATURE_MONITOR_H_
