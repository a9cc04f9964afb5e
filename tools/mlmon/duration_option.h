#ifndef MLMON_TOOLS_MLMON_DURATION_OPTION_H_
#define MLMON_TOOLS_MLMON_DURATION_OPTION_H_

// Duration flags of the `mlmon` tool, in the units of monitor.yaml.

#include <CLI/CLI.hpp>
#include <optional>
#include <string_view>

namespace mlmon_cli {

/// The longest duration a flag takes: 365 days.
inline constexpr double kMaxFlagSeconds = 365.0 * 86400.0;

/// Seconds of a duration flag's text: a number with one of the units of
/// monitor.yaml (`s`, `m`, `h`, `d`, `w`: `40s`, `5m`, `12h`) or `ms`
/// (`250ms`); a bare number is seconds, as the flags always took (`40`,
/// `0.5`). The number is decimal digits with an optional fraction (`1.5m`);
/// zero is allowed (each flag says what 0 means). nullopt for anything else,
/// a negative number, or more than kMaxFlagSeconds.
std::optional<double> ParseFlagSeconds(std::string_view text);

/// A CLI11 transform for a `double` seconds option: accepts what
/// ParseFlagSeconds accepts and hands the option its seconds; anything else
/// is a usage error "<flag>: <text>: not a duration ...".
CLI::Validator DurationSeconds();

}  // namespace mlmon_cli

#endif  // MLMON_TOOLS_MLMON_DURATION_OPTION_H_
