#ifndef MLMON_DETAIL_TEXT_FORMAT_H_
#define MLMON_DETAIL_TEXT_FORMAT_H_

/// \file
/// Building blocks of the Prometheus text format 0.0.4 writer.

#include <string>
#include <string_view>

namespace mlmon {
namespace detail {

/// Appends `v` as a label value body: `\`, `"` and newline escaped; invalid
/// UTF-8 replaced by U+FFFD.
void AppendEscapedLabelValue(std::string* out, std::string_view v);
/// Appends `v` as HELP text: `\` and newline escaped; invalid UTF-8 replaced.
void AppendEscapedHelp(std::string* out, std::string_view v);
/// Appends a sample value: integers without exponent, `NaN`, `+Inf`, `-Inf`,
/// otherwise the shortest representation that round-trips.
void AppendValue(std::string* out, double v);
/// Appends `v` as a JSON string literal (quotes included): `"`, `\` and
/// control characters escaped; invalid UTF-8 replaced by U+FFFD.
void AppendJsonString(std::string* out, std::string_view v);
/// True if `v` is valid UTF-8.
bool IsValidUtf8(std::string_view v) noexcept;

}  // namespace detail
}  // namespace mlmon

#endif  // MLMON_DETAIL_TEXT_FORMAT_H_
