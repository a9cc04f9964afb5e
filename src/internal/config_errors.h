#ifndef MLMON_SRC_INTERNAL_CONFIG_ERRORS_H_
#define MLMON_SRC_INTERNAL_CONFIG_ERRORS_H_

/// \file
/// Set-up steps that let nothing but `mlmon::ConfigError` reach the host.
/// Private to the library (never installed).

#include <fmt/format.h>

#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "mlmon/errors.h"
#include "spec_checks.h"

namespace mlmon {
namespace internal {

/// The one shape of every set-up error the library raises:
///
///     mlmon: <where>: <what> (<value>)
///
/// `where` names the bad setting as the user wrote it: `<Struct>.<field>`
/// for C++ options (`HttpServerOptions.port`, `OutcomeSpec.windows[1]`),
/// `<file>:<line>: <key path>` for monitor.yaml and `<file>: <key path>`
/// for JSON files. `what` says what is wrong in words, and `value` quotes
/// the value found (cut by `Excerpt`); it is left out when empty.
inline ConfigError SetupError(std::string_view where, std::string_view what,
                              std::string_view value = {}) {
  if (value.empty()) {
    return ConfigError(fmt::format("mlmon: {}: {}", where, what));
  }
  return ConfigError(
      fmt::format("mlmon: {}: {} ({})", where, what, Excerpt(value)));
}

/// Runs the set-up step `f` and returns its result, so that nothing but
/// ConfigError leaves it: a ConfigError passes unchanged, `std::bad_alloc`
/// becomes "mlmon: <source>: <out_of_memory>" and any other
/// `std::exception` "mlmon: <source>: <what()>" (cut to 4 * kQuoteBytes
/// bytes by `Excerpt`).
/// `out_of_memory` says what ran out ("out of memory while reading the
/// reference profile").
template <typename F>
auto OnlyConfigErrors(const std::string& source, const char* out_of_memory,
                      F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const ConfigError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw SetupError(source, out_of_memory);
  } catch (const std::exception& e) {
    throw SetupError(source, Excerpt(e.what(), 4 * kQuoteBytes));
  }
}

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_CONFIG_ERRORS_H_
