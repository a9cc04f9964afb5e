#ifndef MLMON_SRC_INTERNAL_SPEC_CHECKS_H_
#define MLMON_SRC_INTERNAL_SPEC_CHECKS_H_

/// \file
/// Set-up checks shared by the spec structs of the signals (`OutcomeSpec`,
/// `ResponseSpec`, `FeatureSpec`): every message has the same shape,
///
///     mlmon: <Spec>.<what> (model '<model>')
///
/// so a user can grep for the struct field. Private to the library (never
/// installed). Each check throws `mlmon::ConfigError`; none returns a status.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mlmon {
namespace internal {

/// Which spec (`"OutcomeSpec"`, ...) of which model a check is about.
/// REQUIRES: both outlive the context (it holds references).
class SpecContext {
 public:
  SpecContext(const char* spec, const std::string& model)
      : spec_(spec), model_(model) {}

  /// \throw mlmon::ConfigError "mlmon: <spec>.<what> (model '<model>')".
  [[noreturn]] void Fail(const std::string& what) const;

 private:
  const char* spec_;
  const std::string& model_;
};

/// Histogram bounds (strictly increasing, finite).
/// \throw mlmon::ConfigError "<field>: <ValidateBucketBounds' message>".
void CheckBuckets(const SpecContext& spec, const std::string& field,
                  const std::vector<double>& bounds);

/// \throw mlmon::ConfigError "<field> = <value> is not in [<lo>, <hi>]".
void CheckInRange(const SpecContext& spec, const std::string& field,
                  std::size_t value, std::size_t lo, std::size_t hi);

/// \throw mlmon::ConfigError "<field> = <value> is not >= <min>".
void CheckAtLeast(const SpecContext& spec, const std::string& field,
                  std::size_t value, std::size_t min);

/// A list of names that must be unique: adds `name` to `seen`.
/// \throw mlmon::ConfigError "<field> = '<name>' is repeated" if it was
/// already there.
void CheckNotRepeated(const SpecContext& spec, std::set<std::string>* seen,
                      const std::string& field, const std::string& name);

/// The `windows` list of a spec: at most `max_count` values, each >= 1 s
/// and, when `max_seconds` > 0, <= `max_seconds`, with distinct labels
/// (`FormatDuration`: 60s and 1m are the same window).
/// \throw mlmon::ConfigError "windows has N values, more than <max_count>",
/// "windows[i] = Ns is not in [1s, 3650d]" (`max_seconds` 3650 days; the
/// only bound in use), "windows[i] = Ns is not >= 1s" (no upper bound), or
/// "windows[i] = Ns is repeated".
void CheckWindows(const SpecContext& spec,
                  const std::vector<std::chrono::seconds>& windows,
                  std::size_t max_count, std::int64_t max_seconds);

/// The upper bound of `CheckWindows` for specs that have one: 10 years.
inline constexpr std::int64_t kMaxWindowSeconds = 3650LL * 86400;

/// Longest excerpt of a user's value quoted in a message, in bytes.
inline constexpr std::size_t kQuoteBytes = 80;

/// `s` for a message: itself, or its first `max_bytes` bytes followed by
/// "... (N bytes)".
std::string Excerpt(std::string_view s, std::size_t max_bytes = kQuoteBytes);

/// The whole content of the regular file `path`, read without ever holding
/// more than `max_bytes` + 1 bytes (the file may grow while it is read);
/// `what` names the file in messages ("reference profile"). A FIFO is not
/// waited on.
/// \throw mlmon::ConfigError "<path>: cannot open <what>: <errno text>",
/// "<path>: <what> is not a regular file" (a device such as /dev/zero, a
/// directory, a FIFO), or "<path>: <what> of N bytes, more than the M
/// accepted".
std::string ReadRegularFile(const std::string& path, std::size_t max_bytes,
                            const char* what);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_SPEC_CHECKS_H_
