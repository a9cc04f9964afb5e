#include "staged_series.h"

#include <exception>

namespace mlmon {
namespace internal {

template <typename T>
T& StagedSeries::Stage(Family<T>& family, std::vector<std::string> values,
                       const std::vector<double>* bounds) {
  auto entry = std::make_unique<EntryOf<T>>();
  entry->family = &family;
  entry->values = std::move(values);
  if constexpr (std::is_same_v<T, Histogram>) {
    entry->instrument = std::make_unique<Histogram>(*bounds, owner_->drops());
  } else {
    (void)bounds;
    entry->instrument = std::make_unique<T>(owner_->drops());
  }
  T& instrument = *entry->instrument;
  entries_.push_back(std::move(entry));
  return instrument;
}

template Counter& StagedSeries::Stage(Family<Counter>&,
                                      std::vector<std::string>,
                                      const std::vector<double>*);
template Gauge& StagedSeries::Stage(Family<Gauge>&, std::vector<std::string>,
                                    const std::vector<double>*);
template Histogram& StagedSeries::Stage(Family<Histogram>&,
                                        std::vector<std::string>,
                                        const std::vector<double>*);

void StagedSeries::Publish(const std::string& segment) noexcept {
  if (published_) return;
  published_ = true;
  for (const auto& e : entries_) {
    try {
      if (e->Publish(*owner_, segment)) folding_.push_back(e.get());
    } catch (const std::exception&) {
      // The registry is gone, or out of memory: the series stay unexposed.
    }
  }
  Fold();
}

void StagedSeries::Fold() noexcept {
  for (Entry* e : folding_) e->Fold();
}

}  // namespace internal
}  // namespace mlmon
