#include "response_segments.h"

#include "metric_catalogue.h"

namespace mlmon {
namespace internal {

ResponseSegments::ResponseSegments(SeriesOwner& owner, const std::string& model,
                                   const std::string& version,
                                   const ResponseSpec& spec,
                                   const std::vector<std::string>& bound,
                                   bool threshold_classes, bool unit)
    : table_(spec.segments.max_values) {
  folds_ = &AddFamily(owner, metrics::kSegmentFoldsTotal)
                .Add({model, version, "distribution"});
  auto scores = AddFamily(owner, metrics::kPredictionScore, spec.score_buckets);
  auto predictions = AddFamily(owner, metrics::kPredictionsTotal);
  auto empty = AddFamily(owner, metrics::kEmptyResponsesTotal);
  parts_.resize(table_.other() + 1);
  for (std::size_t i = 1; i < parts_.size(); ++i) {
    auto part = std::make_unique<Part>(owner);
    ResponseSegmentSeries& s = part->series;
    s.score = &scores.StagedIn(&part->stage).Add({model, version, ""});
    if (spec.exemplars) s.score->EnableExemplars();
    auto classes = predictions.StagedIn(&part->stage);
    s.classes.push_back(
        &classes.Add({model, version, "", ResponseDistribution::kOtherClass}));
    for (const std::string& c : bound) {
      s.classes.push_back(&classes.Add({model, version, "", c}));
    }
    if (threshold_classes) {
      s.by_threshold[0] = s.classes[1];
      s.by_threshold[1] = s.classes[unit ? 2 : 1];
    }
    s.empty = &empty.StagedIn(&part->stage).Add({model, version, ""});
    parts_[i] = std::move(part);
  }
}

const ResponseSegmentSeries* ResponseSegments::Find(
    std::string_view segment) noexcept {
  const std::uint32_t i = table_.Find(segment);
  if (i == SegmentTable::kNone) return nullptr;
  if (i == table_.other()) folds_->Increment();
  return &parts_[i]->series;
}

void ResponseSegments::Publish() {
  PublishSegments(
      table_, [this](std::uint32_t i) -> auto& { return parts_[i]->stage; });
}

void ResponseSegments::AddScoreCounts(std::vector<double>* per_bucket) {
  for (std::size_t i = 1; i < parts_.size(); ++i) {
    parts_[i]->series.score->Collect(&snapshot_);
    std::uint64_t previous = 0;
    for (std::size_t b = 0; b < per_bucket->size(); ++b) {
      (*per_bucket)[b] +=
          static_cast<double>(snapshot_.cumulative[b] - previous);
      previous = snapshot_.cumulative[b];
    }
  }
}

}  // namespace internal
}  // namespace mlmon
