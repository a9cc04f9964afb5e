#include "mlmon/duration.h"

#include <fmt/format.h>

#include "internal/config_errors.h"
#include "mlmon/errors.h"

namespace mlmon {

std::string FormatDuration(std::chrono::seconds d) {
  const long long s = d.count();
  if (s <= 0) {
    throw internal::SetupError("FormatDuration", "not a positive duration",
                               fmt::format("{}s", s));
  }
  if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

double DurationUnitSeconds(std::string_view unit) noexcept {
  if (unit.empty() || unit == "s") return 1;
  if (unit == "ms") return 0.001;
  if (unit == "m") return 60;
  if (unit == "h") return 3600;
  if (unit == "d") return 86400;
  if (unit == "w") return 7 * 86400;
  return 0;
}

}  // namespace mlmon
