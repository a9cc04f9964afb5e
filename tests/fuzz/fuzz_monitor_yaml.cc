// Fuzzes `monitor.yaml` parsing: `ParseMonitorSpec` on arbitrary bytes, then
// `ValidateMonitorSpec` (which builds the monitors on a scratch registry) on
// what parsed. The contract: a bad file is a `mlmon::ConfigError` naming the
// bad value; any other exception, or a crash, is a finding (abort).
//
// Before validation the sizes that only cost memory (pending store, window
// slices, fine bins) are capped, so one input cannot allocate gigabytes
// legitimately; a spec without a reference profile is validated only (a
// `reference:` path would read the file system).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "mlmon/errors.h"
#include "mlmon/monitor_spec.h"

namespace {

[[noreturn]] void Fail(const char* what, const char* detail) {
  std::fprintf(stderr, "fuzz_monitor_yaml: %s: %s\n", what, detail);
  std::fflush(stderr);
  std::abort();
}

// MLMON_FUZZ_SKIP_VALIDATE=1: parse only (several times the executions).
bool ValidateEnabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("MLMON_FUZZ_SKIP_VALIDATE");
    return v == nullptr || std::string_view(v) != "1";
  }();
  return enabled;
}

void CapSizes(mlmon::MonitorSpec* spec) {
  auto cap = [](std::size_t* v, std::size_t max) { *v = std::min(*v, max); };
  cap(&spec->outcome.pending_capacity, 1024);
  cap(&spec->outcome.slices_per_window, 60);
  cap(&spec->outcome.auc_bins, 1024);
  cap(&spec->distribution.slices_per_window, 60);
  cap(&spec->distribution.fine_bins, 512);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  mlmon::MonitorSpec spec;
  try {
    spec = mlmon::ParseMonitorSpec(yaml, "fuzz.yaml");
  } catch (const mlmon::ConfigError&) {
    return 0;
  } catch (const std::exception& e) {
    Fail("ParseMonitorSpec threw a non-ConfigError exception", e.what());
  } catch (...) {
    Fail("ParseMonitorSpec threw a non-std::exception", "");
  }
  if (spec.model.empty()) Fail("a spec without a model was accepted", "");
  if (!spec.reference_path.empty() || !ValidateEnabled()) return 0;
  CapSizes(&spec);
  try {
    mlmon::ValidateMonitorSpec(spec);
  } catch (const mlmon::ConfigError&) {
  } catch (const std::exception& e) {
    Fail("ValidateMonitorSpec threw a non-ConfigError exception", e.what());
  } catch (...) {
    Fail("ValidateMonitorSpec threw a non-std::exception", "");
  }
  return 0;
}
