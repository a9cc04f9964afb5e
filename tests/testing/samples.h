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
