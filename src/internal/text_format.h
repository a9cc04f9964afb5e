#ifndef MLMON_SRC_INTERNAL_TEXT_FORMAT_H_
#define MLMON_SRC_INTERNAL_TEXT_FORMAT_H_

/// \file
/// Building blocks of the Prometheus text format 0.0.4 writer.

#include <string>
#include <string_view>

namespace mlmon {
namespace internal {

/// Returns `v` with each byte that does not belong to a well-formed UTF-8
/// sequence (a stray or truncated byte, an overlong form, a UTF-16 surrogate,
/// a code point above U+10FFFF), and each NUL byte, replaced by U+FFFD.
/// Idempotent. The text writers print exactly this text (escaped), so two
/// strings print the same if and only if they are equal after `SanitizeUtf8`;
/// the registry applies it to label values and HELP text at registration.
std::string SanitizeUtf8(std::string_view v);
/// Appends `v` as a label value body: `\`, `"` and newline escaped; invalid
/// UTF-8 and NUL replaced by U+FFFD (as `SanitizeUtf8`).
void AppendEscapedLabelValue(std::string* out, std::string_view v);
/// Appends `v` as HELP text: `\` and newline escaped; invalid UTF-8 and NUL
/// replaced by U+FFFD (as `SanitizeUtf8`).
void AppendEscapedHelp(std::string* out, std::string_view v);
/// Appends `v` as OpenMetrics HELP text: `\`, `"` and newline escaped (the
/// escaping of a label value); invalid UTF-8 and NUL replaced by U+FFFD.
void AppendEscapedOpenMetricsHelp(std::string* out, std::string_view v);
/// Appends a sample value: integers without exponent, `NaN`, `+Inf`, `-Inf`,
/// otherwise the shortest representation that round-trips.
void AppendValue(std::string* out, double v);
/// Appends `v` as a JSON string literal (quotes included): `"`, `\` and
/// control characters escaped; invalid UTF-8 replaced by U+FFFD.
void AppendJsonString(std::string* out, std::string_view v);
/// True if `v` is valid UTF-8.
bool IsValidUtf8(std::string_view v) noexcept;

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_TEXT_FORMAT_H_
