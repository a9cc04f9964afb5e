#include "duration_option.h"

#include <cstdio>
#include <string>

#include "mlmon/duration.h"

namespace mlmon_cli {

std::optional<double> ParseFlagSeconds(std::string_view text) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t from = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    return i - from;
  };
  const std::size_t whole = digits();
  std::size_t fraction = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    fraction = digits();
    if (fraction == 0) return std::nullopt;  // "5." is a typo, not 5 s
  }
  // Twelve digits of seconds are far above the limit already; longer runs
  // are refused before std::stod could overflow.
  if (whole == 0 || whole > 12 || fraction > 9) return std::nullopt;
  const std::string_view unit = text.substr(i);
  const double mult = mlmon::DurationUnitSeconds(unit);
  if (mult == 0) return std::nullopt;
  const double seconds = std::stod(std::string(text.substr(0, i))) * mult;
  if (seconds > kMaxFlagSeconds) return std::nullopt;
  return seconds;
}

CLI::Validator DurationSeconds() {
  return CLI::Validator(
      [](std::string& text) {
        const std::optional<double> s = ParseFlagSeconds(text);
        if (!s) {
          return "'" + text +
                 "' is not a duration: a number with a unit ms, s, m, h, d "
                 "or w (250ms, 40s, 5m), or a bare number of seconds, at "
                 "most 365d";
        }
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", *s);
        text = buf;
        return std::string();
      },
      "DURATION");
}

}  // namespace mlmon_cli
