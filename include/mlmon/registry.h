#ifndef MLMON_REGISTRY_H_
#define MLMON_REGISTRY_H_

/// \file
/// Metric families and the registry that owns them and exposes them.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mlmon/detail/mutex.h"
#include "mlmon/instruments.h"

namespace mlmon {

class Registry;
namespace internal {
class SeriesOwner;
struct RegistryLink;
}  // namespace internal

/// The exposition type of a family.
enum class MetricType { kCounter, kGauge, kHistogram };

namespace detail {

/// What every family shares; the registry holds families through it.
///
/// Thread safety: thread-safe.
class FamilyBase {
 public:
  virtual ~FamilyBase();
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  MetricType type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept {
    return label_names_;
  }
  /// Distinct label sets bound now (the overflow series included; series
  /// removed with their owner not counted).
  std::size_t size() const;

  /// Appends this family in the Prometheus text format 0.0.4.
  virtual void AppendText(std::string* out) const = 0;
  /// Appends this family in OpenMetrics 1.0 (with histogram exemplars),
  /// without `# EOF` (see `Registry::WriteOpenMetrics`).
  virtual void AppendOpenMetrics(std::string* out) const = 0;
  /// Appends this family as prometheus-cpp data.
  virtual void AppendPrometheus(
      std::vector<prometheus::MetricFamily>* out) const = 0;

 protected:
  struct SeriesKey {
    std::vector<std::string> values;
    std::string rendered;  // `a="x",b="y"` escaped, no braces
    // Owners (`internal::SeriesOwner`) holding the series; it leaves the
    // family when the last one releases it, unless it is pinned (bound by a
    // plain `Add`, whose reference lives as long as the registry).
    std::size_t owners = 0;
    bool pinned = false;
    bool live = false;  // false: a free slot
  };
  FamilyBase(Registry* registry, std::string name, std::string help,
             MetricType type, std::vector<std::string> label_names,
             std::size_t max_series);
  // Finds or creates the series slot for `values`; folds into the overflow
  // series beyond the cap. Calls `make(drops, slot)` (with the family lock
  // held) to build a new instrument in the caller's series vector at `slot`
  // (== its size to append). Counts one owner of the series if `owned`, else
  // pins it. Returns the slot.
  std::size_t FindOrAdd(
      const std::vector<std::string>& values, bool owned,
      const std::function<void(DropSink*, std::size_t)>& make);
  // Drops one owner of the series in `slot`; the last one removes it (and
  // frees its instrument) unless it is pinned.
  void Release(std::size_t slot);
  // Frees the instrument of a removed series (family lock held).
  virtual void FreeSeries(std::size_t slot) MLMON_REQUIRES(mu_) = 0;
  void AppendHelpType(std::string* out) const;
  // The OpenMetrics HELP and TYPE lines under `family_name` (a counter's
  // name without `_total`).
  void AppendOpenMetricsHelpType(std::string* out,
                                 const std::string& family_name) const;
  std::vector<prometheus::ClientMetric::Label> PromLabels(
      const SeriesKey& key) const;

  Registry* registry_;
  std::string name_, help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  std::size_t max_series_;
  const bool internal_;     // the registry's own accounting families
  std::string registrant_;  // "model 'm' version 'v'" or empty (user code)
  mutable detail::Mutex mu_;
  std::map<std::vector<std::string>, std::size_t> index_ MLMON_GUARDED_BY(mu_);
  std::vector<SeriesKey> keys_ MLMON_GUARDED_BY(mu_);  // slots, some free
  std::vector<std::size_t> free_ MLMON_GUARDED_BY(mu_);

 private:
  friend class mlmon::Registry;
  friend class mlmon::internal::SeriesOwner;
  // Removes the series of one model version from the registry's own
  // accounting families (`mlmon_dropped_total`, `mlmon_label_overflow_total`).
  void RemovePair(const std::string& model, const std::string& version);

 protected:
  // Removes the series in `slot` and frees it.
  void RemoveSlot(std::size_t slot) MLMON_REQUIRES(mu_);
};

}  // namespace detail

/// A metric family: one metric name, one set of label names, many series.
///
/// `Add()` is a set-up call that returns a stable reference (a handle) to the
/// series for a label set; keep it and record through it on the hot path.
/// Distinct label sets are capped (`Registry::Options::max_series_per_family`,
/// default 1000); beyond the cap `Add()` returns one `__overflow__` series and
/// counts the fold in `mlmon_label_overflow_total{metric}`. Distinct
/// `model`/`version` pairs are capped registry-wide
/// (`Registry::Options::max_model_versions`, default 64) likewise.
///
/// Series bound by `Add()` live as long as the registry. The signals bind
/// theirs through an owner (one per signal, `internal::SeriesOwner`), and a
/// series leaves the family when every owner that bound it is destroyed.
///
/// Label values are stored as they are printed: each byte that is not part of
/// well-formed UTF-8, and each NUL, becomes U+FFFD (`internal::SanitizeUtf8`),
/// so `Add({"\xff"})` and `Add({"\xfe"})` return the same series.
///
/// Thread safety: thread-safe.
template <typename T>
class Family final : public detail::FamilyBase {
 public:
  /// Returns the series for `label_values`, creating it on first use.
  /// \throw mlmon::ConfigError if the number of values does not match the
  /// family's label names.
  T& Add(const std::vector<std::string>& label_values);

  /// Histograms only: the series for `label_values` with its own `bounds`
  /// (families made by the 3-argument `AddHistogram`, whose series each have
  /// their bounds, e.g. one per feature); on a family with fixed bounds,
  /// `bounds` must equal them.
  /// \throw mlmon::ConfigError if the bounds are invalid or differ from the
  /// family's or from the existing series' bounds.
  template <typename U = T,
            typename = std::enable_if_t<std::is_same_v<U, Histogram>>>
  T& Add(const std::vector<std::string>& label_values,
         const std::vector<double>& bounds);

  void AppendText(std::string* out) const override;
  void AppendOpenMetrics(std::string* out) const override;
  void AppendPrometheus(
      std::vector<prometheus::MetricFamily>* out) const override;

 private:
  friend class Registry;
  friend class internal::SeriesOwner;
  Family(Registry* registry, std::string name, std::string help,
         MetricType type, std::vector<std::string> label_names,
         std::size_t max_series, std::vector<double> bounds = {})
      : FamilyBase(registry, std::move(name), std::move(help), type,
                   std::move(label_names), max_series),
        bounds_(std::move(bounds)) {}
  // Binds the series; `owned`: counted as one owner's (else pinned).
  // Returns the instrument and its slot.
  std::pair<T*, std::size_t> AddWithBounds(
      const std::vector<std::string>& label_values,
      const std::vector<double>* bounds, bool owned);
  // Binds the series for `label_values` to the caller's instrument `*inst`,
  // made before its labels were known (segments, `internal::StagedSeries`),
  // counted as one owner's. Takes `*inst` when the series is new; leaves it
  // (and returns the existing instrument) when the label set, or the
  // overflow series it folds into, exists already.
  std::pair<T*, std::size_t> AdoptSeries(
      const std::vector<std::string>& label_values, std::unique_ptr<T>* inst);
  void FreeSeries(std::size_t slot) override MLMON_REQUIRES(mu_);
  // Puts a new instrument in `slot` (== series_.size() to append).
  void Place(std::size_t slot, std::unique_ptr<T> series) MLMON_REQUIRES(mu_);
  std::vector<double> bounds_;  // histograms: empty = bounds per series
  std::vector<std::unique_ptr<T>> series_ MLMON_GUARDED_BY(mu_);
};

/// Owns metric families and exposes them: as Prometheus text
/// (`WriteText`) and as a `prometheus::Collectable`, so a user's
/// `prometheus::Exposer` can serve mlmon metrics. A user's own
/// `prometheus::Registry` can be attached and is then served by mlmon's
/// endpoint too.
///
/// Families are get-or-create by name: asking again for a name with the same
/// type, label names (and bounds) returns the same family, so several models
/// share `mlmon_requests_total` with different `model` labels.
///
/// A family of the metric catalogue holds each series with its own histogram
/// bounds, so models with different buckets share one family.
///
/// Lifetime. Series bound with `Family::Add` live as long as the registry.
/// The signals (`GoldenSignals`, `OutcomeTracker`, ..., `ModelMonitor`) bind
/// theirs through an owner, and destroying a signal removes its series from
/// the exposition and frees them (series another live signal still holds
/// stay). A registry holds at most one signal of each kind per (`model`,
/// `version`): a second is a `ConfigError`. A signal may outlive its
/// registry: the registry's destructor then hands its families to the live
/// signals, which free them with the last of them, so a late recording call
/// writes into live memory; a `HttpServer` or `StatusHistory` serving the
/// registry must still be destroyed before it.
///
/// Thread safety: thread-safe.
///
/// **Example**:
///
///     auto registry = std::make_shared<mlmon::Registry>();
///     auto& family = registry->AddCounter("app_jobs_total", "Jobs run.",
///                                         {"queue"});
///     mlmon::Counter& jobs = family.Add({"default"});
///     jobs.Increment();
///     std::string text = registry->TextExposition();
class Registry : public prometheus::Collectable {
 public:
  struct Options {
    /// Distinct label sets per family before folding into `__overflow__`.
    std::size_t max_series_per_family = 1000;
    /// Distinct (`model`, `version`) label pairs in the whole registry. The
    /// pair of a series is the value of its family's `model` label and of its
    /// `version` label (`""` for one the family does not have); the empty pair
    /// is not counted. Beyond the cap, a series of a new pair is bound with
    /// `model="__overflow__"` and `version="__overflow__"` (its other labels
    /// kept), and each such bind adds 1 to
    /// `mlmon_label_overflow_total{model="__overflow__",
    /// version="__overflow__",metric="<family>"}`. With both caps every
    /// family holds at most `max_series_per_family + max_model_versions + 2`
    /// series (the per-family cap keeps `model` and `version`, so without
    /// this cap each new pair would add a series to every family). 64 pairs
    /// is 32 models each in the middle of a rollout; a server hosting more
    /// raises it. Must be > 0.
    std::size_t max_model_versions = 64;
  };

  Registry();
  explicit Registry(Options options);
  ~Registry() override;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// \throw mlmon::ConfigError on an invalid metric or label name, a name
  /// already registered with another type or other label names, or a name
  /// that is a histogram's `<name>_bucket`, `_sum` or `_count` (either way
  /// round).
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              const std::vector<std::string>& label_names);
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          const std::vector<std::string>& label_names);
  /// A gauge family whose series are striped `UpDownGauge`s.
  Family<UpDownGauge>& AddUpDownGauge(
      const std::string& name, const std::string& help,
      const std::vector<std::string>& label_names);
  /// \throw mlmon::ConfigError also on invalid bounds (see Histogram).
  Family<Histogram>& AddHistogram(const std::string& name,
                                  const std::string& help,
                                  const std::vector<std::string>& label_names,
                                  std::vector<double> upper_bounds);
  /// A histogram family whose series each bring their bounds
  /// (`Family<Histogram>::Add(labels, bounds)`).
  Family<Histogram>& AddHistogram(const std::string& name,
                                  const std::string& help,
                                  const std::vector<std::string>& label_names);

  /// Appends every family, then every attached prometheus-cpp collectable,
  /// in the Prometheus text format 0.0.4. Safe to call while recording.
  void WriteText(std::string* out) const;
  /// `WriteText` into a new string.
  std::string TextExposition() const;

  /// Appends every family, then every attached collectable, in OpenMetrics
  /// 1.0, ending with `# EOF`. Histograms carry their buckets' exemplars
  /// (`Histogram::EnableExemplars`). A counter's family is named without
  /// `_total` and its sample with it; a histogram with a negative bound has
  /// neither `_sum` (the format forbids it) nor `_count` (allowed only with
  /// `_sum`; its `+Inf` bucket is the count). A family one of whose OpenMetrics
  /// names (its family name, or a sample name: `_total`, `_created`,
  /// `_bucket`, `_count`, `_sum`) an earlier family in name order took is
  /// left out (e.g. counter `x_total` after gauge `x`); it stays in the text
  /// format. Safe to call while recording.
  void WriteOpenMetrics(std::string* out) const;
  /// `WriteOpenMetrics` into a new string.
  std::string OpenMetricsExposition() const;

  /// prometheus::Collectable.
  std::vector<prometheus::MetricFamily> Collect() const override;

  /// Serves `collectable` (e.g. a user's `prometheus::Registry`) through
  /// `WriteText` as long as it is alive. `WriteText` leaves out a family
  /// whose name (or a histogram's sample name) an earlier family wrote, and a
  /// series with an invalid or repeated label name or that prints the same
  /// as an earlier series of its family (values are repaired as
  /// `internal::SanitizeUtf8` does), so the exposition never repeats a series.
  void Attach(std::weak_ptr<prometheus::Collectable> collectable);

  /// The drop counters (`mlmon_dropped_total{model,version,reason}`) for a
  /// model. Set-up call; the result lives as long as the registry. A pair
  /// beyond `Options::max_model_versions` gets the `__overflow__` pair's.
  detail::DropSink* DropsFor(const std::string& model,
                             const std::string& version);

  /// Distinct (`model`, `version`) pairs bound so far (at most
  /// `Options::max_model_versions`; the `__overflow__` pair not counted).
  std::size_t model_versions() const;

  const Options& options() const noexcept { return options_; }

 private:
  template <typename T>
  friend class Family;
  friend class detail::FamilyBase;
  friend class internal::SeriesOwner;
  struct PairState {
    std::size_t owners = 0;  // live `internal::SeriesOwner`s of the pair
    bool pinned = false;     // a plain `Add` or `DropsFor` bound the pair
  };
  template <typename T>
  Family<T>& GetOrAdd(const std::string& name, const std::string& help,
                      MetricType type,
                      const std::vector<std::string>& label_names,
                      std::vector<double> bounds,
                      const std::string& registrant = {});
  // Owners: claims (`kind`, model, version) for one `internal::SeriesOwner`.
  // \throw mlmon::ConfigError if another owner of that kind holds it.
  void Claim(const std::string& kind, const std::string& model,
             const std::string& version);
  // Ends a claim; the pair's last one removes its accounting series and
  // frees its place under `max_model_versions` (unless pinned).
  void Unclaim(const std::string& kind, const std::string& model,
               const std::string& version);
  void PinPair(const std::string& model, const std::string& version);
  // `DropsFor` without pinning (for owners and for binding instruments).
  detail::DropSink* SinkFor(const std::string& model,
                            const std::string& version);
  void CountOverflow(const std::string& model, const std::string& version,
                     const std::string& metric);
  // True if the pair has (or now gets) its own series; false if it must fold
  // into the `__overflow__` pair because `max_model_versions` is reached.
  bool AdmitModelVersion(const std::string& model, const std::string& version);
  std::vector<detail::FamilyBase*> Families() const;

  Options options_;
  mutable detail::Mutex mu_;
  std::map<std::string, std::unique_ptr<detail::FamilyBase>> families_
      MLMON_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>,
           std::unique_ptr<detail::DropSink>>
      drops_ MLMON_GUARDED_BY(mu_);
  std::vector<std::weak_ptr<prometheus::Collectable>> attached_
      MLMON_GUARDED_BY(mu_);
  std::set<std::pair<std::string, std::string>> model_versions_
      MLMON_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, PairState> pairs_
      MLMON_GUARDED_BY(mu_);
  std::set<std::vector<std::string>> claims_ MLMON_GUARDED_BY(mu_);
  // Shared with the owners, so that they can tell whether the registry is
  // still alive.
  std::shared_ptr<internal::RegistryLink> link_;
};

/// True if `name` is a valid Prometheus metric name
/// (`[a-zA-Z_:][a-zA-Z0-9_:]*`), for callers built without exceptions.
bool IsValidMetricName(const std::string& name) noexcept;
/// True if `name` is a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not
/// starting with `__`).
bool IsValidLabelName(const std::string& name) noexcept;

/// Writes prometheus-cpp families in the text format 0.0.4, with mlmon's
/// escaping and UTF-8 repair, leaving out what would repeat a family or a
/// series (as `Registry::Attach` describes).
void WriteText(const std::vector<prometheus::MetricFamily>& families,
               std::string* out);

}  // namespace mlmon

#endif  // MLMON_REGISTRY_H_
