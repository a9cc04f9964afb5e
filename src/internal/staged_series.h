#ifndef MLMON_SRC_INTERNAL_STAGED_SERIES_H_
#define MLMON_SRC_INTERNAL_STAGED_SERIES_H_

/// \file
/// `StagedSeries`: the series of one segment, made at set-up and recorded
/// into from the start, that enter the exposition once the segment's value is
/// known. Private to the library (never installed).

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mlmon/registry.h"
#include "series_owner.h"

namespace mlmon {
namespace internal {

/// The label index of `segment` in every segmented family of the catalogue
/// (after `model` and `version`).
inline constexpr std::size_t kSegmentLabel = 2;

/// Instruments of one segment index. A segment's value is first seen on the
/// inference path, where no series may be created (that takes locks and
/// allocates), so its instruments are made at set-up without labels and
/// recorded into at once; `Publish` (off the hot path, from `Tick()`) binds
/// them into their families under the value, keeping everything recorded.
///
/// Thread safety: `Stage` is a set-up call; `Publish` must not run
/// concurrently with itself; recording into the staged instruments is
/// thread-safe at any time.
class StagedSeries {
 public:
  explicit StagedSeries(SeriesOwner& owner) : owner_(&owner) {}

  /// A new instrument that `Publish` binds in `family` under `values` with
  /// `values[kSegmentLabel]` set to the segment. `bounds`: a histogram's.
  template <typename T>
  T& Stage(Family<T>& family, std::vector<std::string> values,
           const std::vector<double>* bounds = nullptr);

  /// Binds every staged instrument under `segment`, once (later calls do
  /// nothing). An instrument whose label set is bound already — the
  /// family's overflow series, when the family is full — stays unexposed,
  /// and `Fold` adds a counter's counts to that series (the registry counts
  /// the fold in `mlmon_label_overflow_total`; a histogram's or a gauge's
  /// values are not folded). Never throws: a registry already gone leaves
  /// them unexposed.
  void Publish(const std::string& segment) noexcept;
  bool published() const noexcept { return published_; }
  /// Adds what the unexposed counters recorded since the last call to the
  /// series they fold into. Off the hot path (each `Tick()`).
  void Fold() noexcept;

 private:
  struct Entry {
    virtual ~Entry() = default;
    // Binds the instrument; true if it folds into another series.
    virtual bool Publish(SeriesOwner& owner, const std::string& segment) = 0;
    virtual void Fold() noexcept {}
  };
  template <typename T>
  struct EntryOf final : Entry {
    Family<T>* family;
    std::vector<std::string> values;
    std::unique_ptr<T> instrument;  // until the family takes it
    T* target = nullptr;            // the series it folds into
    double folded = 0;              // counts already added to `target`
    bool Publish(SeriesOwner& owner, const std::string& segment) override {
      values[kSegmentLabel] = segment;
      T* const series = owner.Adopt(*family, values, &instrument);
      if (instrument == nullptr) return false;  // taken: exposed
      target = series;
      return std::is_same_v<T, Counter>;
    }
    void Fold() noexcept override {
      if constexpr (std::is_same_v<T, Counter>) {
        const double now = instrument->Value();
        if (now > folded) target->Increment(now - folded);
        folded = now;
      }
    }
  };

  SeriesOwner* owner_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<Entry*> folding_;  // entries whose counts fold elsewhere
  bool published_ = false;
};

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_STAGED_SERIES_H_
