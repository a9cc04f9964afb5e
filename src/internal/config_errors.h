#ifndef MLMON_SRC_INTERNAL_CONFIG_ERRORS_H_
#define MLMON_SRC_INTERNAL_CONFIG_ERRORS_H_

/// \file
/// Set-up steps that let nothing but `mlmon::ConfigError` reach the host.
/// Private to the library (never installed).

#include <fmt/format.h>

#include <exception>
#include <new>
#include <string>

#include "mlmon/errors.h"
#include "spec_checks.h"

namespace mlmon {
namespace internal {

/// Runs the set-up step `f` and returns its result, so that nothing but
/// ConfigError leaves it: a ConfigError passes unchanged, `std::bad_alloc`
/// becomes "<source>: <out_of_memory>" and any other `std::exception`
/// "<source>: <what()>" (cut to 4 * kQuoteBytes bytes by `Excerpt`).
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
    throw ConfigError(fmt::format("{}: {}", source, out_of_memory));
  } catch (const std::exception& e) {
    throw ConfigError(
        fmt::format("{}: {}", source, Excerpt(e.what(), 4 * kQuoteBytes)));
  }
}

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_CONFIG_ERRORS_H_
