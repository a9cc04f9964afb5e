#ifndef MLMON_SRC_INTERNAL_SPEC_CHECKS_H_
#define MLMON_SRC_INTERNAL_SPEC_CHECKS_H_

/// \file
/// Set-up checks shared by the spec structs of the signals (`OutcomeSpec`,
/// `ResponseSpec`, `FeatureSpec`): every message has the one shape of
/// `SetupError`,
///
///     mlmon: <Spec>.<field>: <what> (<value>)
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

#include "mlmon/segment_spec.h"

namespace mlmon {
namespace internal {

/// Which spec struct (`"OutcomeSpec"`, ...) a check is about.
/// REQUIRES: `spec` outlives the context.
class SpecContext {
 public:
  explicit constexpr SpecContext(const char* spec) : spec_(spec) {}

  /// "<spec>.<field>".
  std::string Field(std::string_view field) const;
  /// "<spec>.<field>[<i>]".
  std::string Field(std::string_view field, std::size_t i) const;

  /// \throw mlmon::ConfigError "mlmon: <spec>.<field>: <what> (<value>)".
  [[noreturn]] void Fail(std::string_view field, std::string_view what,
                         std::string_view value = {}) const;

 private:
  const char* spec_;
};

/// Histogram bounds (non-empty, finite, strictly increasing), named by the
/// field that holds them (`internal::CheckBucketBounds`).
/// \throw mlmon::ConfigError "mlmon: <spec>.<field>[<i>]: <what> (<value>)".
void CheckBuckets(const SpecContext& spec, std::string_view field,
                  const std::vector<double>& bounds);

/// \throw mlmon::ConfigError "...<field>: not in [<lo>, <hi>] (<value>)".
void CheckInRange(const SpecContext& spec, std::string_view field,
                  std::size_t value, std::size_t lo, std::size_t hi);

/// \throw mlmon::ConfigError "...<field>: not >= <min> (<value>)".
void CheckAtLeast(const SpecContext& spec, std::string_view field,
                  std::size_t value, std::size_t min);

/// The length of a list with at most `max` values.
/// \throw mlmon::ConfigError "...<field>: more than <max> values (<size>)".
void CheckAtMost(const SpecContext& spec, std::string_view field,
                 std::size_t size, std::size_t max);

/// `SegmentSpec` under `<spec>.segments`: a name `[a-zA-Z_][a-zA-Z0-9_]*`
/// when enabled, and `max_values` in [1, `SegmentSpec::kMaxValues`].
/// \throw mlmon::ConfigError naming the field and the value.
void CheckSegments(const SpecContext& spec, const SegmentSpec& segments);

/// A list of names that must be unique: adds `name` to `seen`.
/// \throw mlmon::ConfigError "...<field>: repeated (<name>)" if it was
/// already there.
void CheckNotRepeated(const SpecContext& spec, std::set<std::string>* seen,
                      std::string_view field, const std::string& name);

/// The `windows` list of a spec: at most `max_count` values, each >= 1 s
/// and, when `max_seconds` > 0, <= `max_seconds`, with distinct labels
/// (`FormatDuration`: 60s and 1m are the same window).
/// \throw mlmon::ConfigError "...windows: more than <max_count> values
/// (N)", "...windows[i]: not in [1s, 3650d] (Ns)" (`max_seconds` 3650
/// days; the only bound in use), "...windows[i]: not >= 1s (Ns)" (no upper
/// bound), or "...windows[i]: repeated (Ns)".
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
/// \throw mlmon::ConfigError "mlmon: <path>: cannot open the <what> (<errno
/// text>)", "mlmon: <path>: the <what> is not a regular file" (a device
/// such as /dev/zero, a directory, a FIFO), or "mlmon: <path>: the <what>
/// is more than the M bytes accepted (N bytes)".
std::string ReadRegularFile(const std::string& path, std::size_t max_bytes,
                            const char* what);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_SPEC_CHECKS_H_
