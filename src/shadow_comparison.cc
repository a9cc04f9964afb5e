#include "mlmon/shadow_comparison.h"

#include <fmt/format.h>

#include <string>
#include <utility>

#include "internal/config_errors.h"
#include "internal/metric_catalogue.h"
#include "internal/series_owner.h"
#include "internal/spec_checks.h"

namespace mlmon {

const std::vector<double>& DefaultShadowDifferenceBuckets() {
  static const std::vector<double> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                              0.05,  0.1,    0.25,  0.5,  1};
  return kBounds;
}

namespace {

using Task = ShadowComparisonOptions::Task;

constexpr internal::SpecContext kOptions("ShadowComparisonOptions");

void CheckOptions(const ShadowComparisonOptions& o) {
  if (o.task != Task::kBinary && o.task != Task::kMulticlass &&
      o.task != Task::kRegression) {
    kOptions.Fail("task", "not a task",
                  fmt::format("{}", static_cast<int>(o.task)));
  }
  if (o.task == Task::kBinary) {
    if (o.thresholds.empty()) {
      kOptions.Fail("thresholds", "empty; a binary task needs at least one");
    }
    internal::CheckAtMost(kOptions, "thresholds", o.thresholds.size(),
                          ShadowComparisonOptions::kMaxThresholds);
    for (std::size_t i = 0; i < o.thresholds.size(); ++i) {
      const double t = o.thresholds[i];
      const std::string field = fmt::format("thresholds[{}]", i);
      if (!(t > 0.0 && t < 1.0)) {
        kOptions.Fail(field, "not in (0, 1)", fmt::format("{}", t));
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (o.thresholds[j] == t) {
          kOptions.Fail(field, "repeated", fmt::format("{}", t));
        }
      }
    }
  }
  if (o.task != Task::kMulticlass) {
    internal::CheckBuckets(kOptions, "difference_buckets",
                           o.difference_buckets);
  }
}

}  // namespace

ShadowComparison::ShadowComparison(Registry& registry, std::string model,
                                   std::string version, std::string challenger,
                                   ShadowComparisonOptions options)
    : model_(std::move(model)),
      version_(std::move(version)),
      challenger_(std::move(challenger)),
      task_(options.task) {
  if (model_.empty()) {
    throw internal::SetupError("ShadowComparison.model", "must not be empty");
  }
  if (version_.empty()) {
    throw internal::SetupError("ShadowComparison.version", "must not be empty");
  }
  if (challenger_.empty()) {
    throw internal::SetupError("ShadowComparison.challenger",
                               "must not be empty");
  }
  if (challenger_ == version_) {
    throw internal::SetupError("ShadowComparison.challenger",
                               "is the champion version", challenger_);
  }
  CheckOptions(options);
  if (task_ == Task::kBinary) thresholds_ = std::move(options.thresholds);
  if (task_ != Task::kMulticlass) {
    difference_buckets_ = std::move(options.difference_buckets);
  }
  internal::OnlyConfigErrors("ShadowComparison",
                             "out of memory while binding the series",
                             [&] { Bind(registry); });
}

ShadowComparison::~ShadowComparison() = default;

// Every series of the comparison, bound in one place.
void ShadowComparison::Bind(Registry& registry) {
  namespace m = internal::metrics;
  // One comparison per (model, champion, challenger).
  owner_ = std::make_unique<internal::SeriesOwner>(
      registry, "ShadowComparison against challenger '" + challenger_ + "'",
      model_, version_);
  internal::SeriesOwner& owner = *owner_;
  drops_ = owner.drops();
  const std::vector<std::string> who = {model_, version_, challenger_};
  comparisons_ =
      &internal::AddFamily(owner, m::kShadowComparisonsTotal).Add(who);
  auto disagreements = internal::AddFamily(owner, m::kShadowDisagreementsTotal);
  if (task_ == Task::kBinary) {
    for (const double t : thresholds_) {
      disagreements_.push_back(&disagreements.Add(
          {model_, version_, challenger_, fmt::format("{}", t)}));
    }
  } else if (task_ == Task::kMulticlass) {
    disagreements_.push_back(
        &disagreements.Add({model_, version_, challenger_, ""}));
  }
  if (task_ != Task::kMulticlass) {
    difference_ = &owner.Add(owner.Register(m::kShadowAbsoluteDifference), who,
                             difference_buckets_);
  }
}

void ShadowComparison::RecordScores(double champion,
                                    double challenger) noexcept {
  if (__builtin_expect(!std::isfinite(champion), 0)) {
    drops_->Drop(detail::NonFiniteReason(champion));
    return;
  }
  if (__builtin_expect(!std::isfinite(challenger), 0)) {
    drops_->Drop(detail::NonFiniteReason(challenger));
    return;
  }
  if (__builtin_expect(task_ == Task::kMulticlass, 0)) {
    drops_->Drop(DropReason::kInvalidValue);
    return;
  }
  if (task_ == Task::kBinary &&
      __builtin_expect(!(champion >= 0.0 && champion <= 1.0 &&
                         challenger >= 0.0 && challenger <= 1.0),
                       0)) {
    drops_->Drop(DropReason::kInvalidValue);
    return;
  }
  const double difference = std::fabs(champion - challenger);
  if (__builtin_expect(!std::isfinite(difference), 0)) {
    drops_->Drop(DropReason::kInfinity);
    return;
  }
  const int slot = detail::CurrentSlot();
  comparisons_->IncrementAt(slot);
  const std::size_t n = thresholds_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double t = thresholds_[i];
    if ((champion >= t) != (challenger >= t)) {
      disagreements_[i]->IncrementAt(slot);
    }
  }
  difference_->ObserveAt(slot, difference);
}

void ShadowComparison::RecordLabels(std::string_view champion,
                                    std::string_view challenger) noexcept {
  if (__builtin_expect(
          task_ != Task::kMulticlass || champion.empty() || challenger.empty(),
          0)) {
    drops_->Drop(DropReason::kInvalidValue);
    return;
  }
  const int slot = detail::CurrentSlot();
  comparisons_->IncrementAt(slot);
  if (champion != challenger) disagreements_[0]->IncrementAt(slot);
}

}  // namespace mlmon
