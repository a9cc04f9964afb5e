#ifndef MLMON_SRC_INTERNAL_SERIES_OWNER_H_
#define MLMON_SRC_INTERNAL_SERIES_OWNER_H_

/// \file
/// `SeriesOwner`: the series one signal binds in a registry, removed from the
/// exposition when the signal is destroyed. Private (never installed).

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "metric_catalogue.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace internal {

class StagedSeries;

/// What a registry shares with its owners: whether it is still alive. The
/// registry's destructor clears `registry` under `mu`; an owner releases its
/// series under `mu` only while it is set.
struct RegistryLink {
  detail::Mutex mu;
  Registry* registry MLMON_GUARDED_BY(mu) = nullptr;
  std::size_t owners MLMON_GUARDED_BY(mu) = 0;
  // A registry destroyed while owners live hands its families and drop
  // counters here: they go with the last owner (the link's last holder).
  std::vector<std::unique_ptr<detail::FamilyBase>> orphans MLMON_GUARDED_BY(mu);
  std::vector<std::unique_ptr<detail::DropSink>> orphan_drops
      MLMON_GUARDED_BY(mu);
};

/// One signal's hold on a registry: claims (`kind`, `model`, `version`) so
/// that a second signal of the same kind for the same model version is a
/// `ConfigError`, binds series on the signal's behalf and, when destroyed,
/// releases them: a series nobody else holds leaves the exposition and is
/// freed. Declare it before every member holding an instrument it bound, so
/// that it is destroyed after them.
///
/// Thread safety: thread-safe.
class SeriesOwner {
 public:
  /// \throw mlmon::ConfigError if a `kind` signal of `model` `version`
  /// exists in `registry`.
  SeriesOwner(Registry& registry, std::string kind, std::string model,
              std::string version);
  ~SeriesOwner();
  SeriesOwner(const SeriesOwner&) = delete;
  SeriesOwner& operator=(const SeriesOwner&) = delete;

  /// Binds the series of `family` for `values`. Set-up call.
  /// \throw mlmon::ConfigError as `Family::Add`, or if the registry is gone.
  template <typename T>
  T& Add(Family<T>& family, const std::vector<std::string>& values);
  /// A histogram series with its own `bounds`.
  Histogram& Add(Family<Histogram>& family,
                 const std::vector<std::string>& values,
                 const std::vector<double>& bounds);

  /// Binds the series of `family` for `values` to `*inst`, an instrument
  /// made before its labels were known (`StagedSeries`). Off the hot path.
  /// Returns the family's instrument for `values`: `*inst` itself if the
  /// family took it (then `*inst` is null), or the series bound already
  /// under the label set or the overflow series it folds into (then `*inst`
  /// stays the caller's, unexposed, and the owner holds that series as its
  /// own until it is destroyed).
  /// \throw mlmon::ConfigError if the registry is gone.
  template <typename T>
  T* Adopt(Family<T>& family, const std::vector<std::string>& values,
           std::unique_ptr<T>* inst);

  /// Registers (or finds) the family of a catalogue row; histogram families
  /// hold series with bounds of their own. Set-up call.
  /// \throw mlmon::ConfigError if the name is registered with another type
  /// or other labels (naming both registrants), or the registry is gone.
  template <typename T>
  Family<T>& Register(const MetricOf<T>& m);

  /// The drop counters of the owner's model version.
  detail::DropSink* drops();

  /// \throw mlmon::ConfigError if the registry is gone.
  Registry& registry() const;
  const std::string& model() const noexcept { return model_; }
  const std::string& version() const noexcept { return version_; }
  /// "model 'm' version 'v'": how set-up errors name the owner.
  std::string Describe() const;

 private:
  template <typename T>
  T& Bind(Family<T>& family, const std::vector<std::string>& values,
          const std::vector<double>* bounds);

  std::shared_ptr<RegistryLink> link_;
  std::string kind_, model_, version_;
  detail::Mutex mu_;
  std::vector<std::pair<detail::FamilyBase*, std::size_t>> bound_
      MLMON_GUARDED_BY(mu_);
};

/// A catalogue family seen through one owner (or none: series bound for the
/// registry's lifetime), with the histogram bounds its series get.
template <typename T>
class OwnedFamily {
 public:
  OwnedFamily(Family<T>& family, SeriesOwner* owner,
              std::vector<double> bounds = {})
      : family_(&family), owner_(owner), bounds_(std::move(bounds)) {}
  /// Binds the series for `values`, or stages it in `stage` (see
  /// `StagedIn`). Set-up call.
  T& Add(const std::vector<std::string>& values) const;
  /// This family with its series staged in `stage` (null: bound at once):
  /// they enter the exposition when the stage is published under a segment.
  OwnedFamily StagedIn(StagedSeries* stage) const {
    OwnedFamily f = *this;
    f.stage_ = stage;
    return f;
  }

 private:
  Family<T>* family_;
  SeriesOwner* owner_;
  std::vector<double> bounds_;
  StagedSeries* stage_ = nullptr;
};

/// Registers (or finds) a catalogue family and binds through `owner`.
OwnedFamily<Counter> AddFamily(SeriesOwner& owner, const MetricOf<Counter>& m);
OwnedFamily<Gauge> AddFamily(SeriesOwner& owner, const MetricOf<Gauge>& m);
OwnedFamily<UpDownGauge> AddFamily(SeriesOwner& owner,
                                   const MetricOf<UpDownGauge>& m);
/// Histogram series on `upper_bounds` (other owners' series of the family
/// may have other bounds).
/// \throw mlmon::ConfigError on invalid bounds.
OwnedFamily<Histogram> AddFamily(SeriesOwner& owner,
                                 const MetricOf<Histogram>& m,
                                 std::vector<double> upper_bounds);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_SERIES_OWNER_H_
