#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "internal/feature_layout.h"
#include "mlmon/feature_monitor.h"

namespace mlmon {

FeatureVector::FeatureVector(
    std::shared_ptr<const detail::FeatureLayout> layout)
    : layout_(std::move(layout)),
      values_(layout_->num_numeric, 0.0),
      category_ids_(layout_->num_features - layout_->num_numeric, 0),
      set_in_(layout_->num_features, 0) {}

void FeatureVector::Set(FeatureHandle feature, double value) noexcept {
  if (layout_ == nullptr) return;  // moved-from
  const std::uint32_t i = feature.index_;
  if (__builtin_expect(i < layout_->num_numeric, 1)) {
    values_[i] = value;
    MarkSet(i);
    return;
  }
  layout_->Drop(i < layout_->num_features ? DropReason::kInvalidValue
                                          : DropReason::kUnknownName);
}

void FeatureVector::SetCategory(FeatureHandle feature,
                                std::string_view category) noexcept {
  if (layout_ == nullptr) return;
  const detail::FeatureLayout& l = *layout_;
  const std::uint32_t i = feature.index_;
  if (__builtin_expect(i < l.num_numeric || i >= l.num_features, 0)) {
    l.Drop(i < l.num_numeric ? DropReason::kInvalidValue
                             : DropReason::kUnknownName);
    return;
  }
  const std::uint32_t c = i - l.num_numeric;
  const std::int64_t id = l.categories[c].Find(category);
  category_ids_[c] = id < 0 ? l.unseen_id[c] : static_cast<std::uint32_t>(id);
  MarkSet(i);
}

void FeatureVector::Set(std::string_view feature, double value) noexcept {
  if (layout_ == nullptr) return;
  const std::int64_t i = layout_->names.Find(feature);
  Set(i < 0 ? FeatureHandle() : FeatureHandle(static_cast<std::uint32_t>(i)),
      value);
}

void FeatureVector::SetCategory(std::string_view feature,
                                std::string_view category) noexcept {
  if (layout_ == nullptr) return;
  const std::int64_t i = layout_->names.Find(feature);
  SetCategory(
      i < 0 ? FeatureHandle() : FeatureHandle(static_cast<std::uint32_t>(i)),
      category);
}

void FeatureVector::Clear() noexcept {
  if (__builtin_expect(++generation_ == 0, 0)) {
    std::fill(set_in_.begin(), set_in_.end(), std::uint32_t{0});
    generation_ = 1;
  }
}

bool FeatureVector::IsSet(FeatureHandle feature) const noexcept {
  const std::uint32_t i = feature.index_;
  if (layout_ == nullptr || i >= layout_->num_features) return false;
  return set_in_[i] == generation_;
}

}  // namespace mlmon
