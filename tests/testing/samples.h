#ifndef MLMON_TESTS_TESTING_SAMPLES_H_
#define MLMON_TESTS_TESTING_SAMPLES_H_

// Reading one sample's value out of a text exposition, for tests.

#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "mlmon/registry.h"

namespace mlmon {
namespace testutil {

// Whether `family` (a metric name, or a histogram's `_bucket`, `_count` or
// `_sum` sample) has the `segment` label, third after `model` and `version`
// (`segment=""` for a model without segments): the contract of
// docs/metrics.md, written out here independently of the catalogue.
inline bool HasSegmentLabel(std::string_view family) {
  for (std::string_view suffix : {"_bucket", "_count", "_sum"}) {
    if (family.size() > suffix.size() &&
        family.substr(family.size() - suffix.size()) == suffix) {
      const std::string_view base =
          family.substr(0, family.size() - suffix.size());
      if (base == "mlmon_prediction_score" || base == "mlmon_outcome_score" ||
          base == "mlmon_absolute_error" || base == "mlmon_outcome_rank") {
        return true;
      }
    }
  }
  for (std::string_view f :
       {"mlmon_predictions_total", "mlmon_empty_responses_total",
        "mlmon_prediction_score", "mlmon_outcomes_total",
        "mlmon_confusion_total", "mlmon_outcome_score",
        "mlmon_outcome_brier_total", "mlmon_outcome_log_loss_total",
        "mlmon_absolute_error", "mlmon_squared_error_total",
        "mlmon_absolute_percentage_error_total", "mlmon_outcome_rank",
        "mlmon_outcome_reciprocal_rank_total", "mlmon_model_quality"}) {
    if (family == f) return true;
  }
  return false;
}

// `{model="<model>",version="<version>"` and, for a family with the segment
// label, `,segment=""`: the start of a series' labels, without the brace
// that closes them.
inline std::string ModelLabels(std::string_view family, std::string_view model,
                               std::string_view version) {
  std::string s = "{model=\"" + std::string(model) + "\",version=\"" +
                  std::string(version) + "\"";
  if (HasSegmentLabel(family)) s += ",segment=\"\"";
  return s;
}

// The value of the sample line that starts with `series` -- the metric name
// and its labels exactly as the writer prints them, e.g.
// `mlmon_requests_total{model="m",version="1",status="ok"}` -- followed by a
// space; nullopt if there is no such line. `+Inf`, `-Inf` and `NaN` parse.
inline std::optional<double> SampleValue(std::string_view text,
                                         std::string_view series) {
  std::size_t at = 0;
  while (true) {
    at = text.find(series, at);
    if (at == std::string_view::npos) return std::nullopt;
    const bool line_start = at == 0 || text[at - 1] == '\n';
    const std::size_t end = at + series.size();
    if (line_start && end < text.size() && text[end] == ' ') {
      const std::size_t eol = text.find('\n', end);
      const std::string value(text.substr(
          end + 1, eol == std::string_view::npos ? eol : eol - end - 1));
      char* parsed_to = nullptr;
      const double v = std::strtod(value.c_str(), &parsed_to);
      if (parsed_to == value.c_str()) return std::nullopt;
      return v;
    }
    at = end;
  }
}

// The same, read from a fresh exposition of `registry`.
inline std::optional<double> SampleValue(const Registry& registry,
                                         std::string_view series) {
  return SampleValue(registry.TextExposition(), series);
}

// The value of a sample the test expects to be exposed. A missing series
// adds a test failure naming it and reads as NaN, so that no comparison
// with it passes; use SampleValue where a missing series is a valid answer.
inline double ExposedValue(std::string_view text, std::string_view series) {
  const std::optional<double> v = SampleValue(text, series);
  if (!v) ADD_FAILURE() << "not exposed: " << series;
  return v.value_or(std::numeric_limits<double>::quiet_NaN());
}

inline double ExposedValue(const Registry& registry, std::string_view series) {
  return ExposedValue(registry.TextExposition(), series);
}

}  // namespace testutil
}  // namespace mlmon

#endif  // MLMON_TESTS_TESTING_SAMPLES_H_
