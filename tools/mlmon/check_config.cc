// `mlmon check-config FILE`: loads monitor.yaml exactly as the library does
// and reports the first problem, naming the key and value; then estimates
// the memory the monitors need (without allocating it) and refuses a spec
// over --memory-budget.
#include <mlmon/monitor_spec.h>
#include <mlmon/spec_memory.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "commands.h"

namespace mlmon_cli {

Command AddCheckConfigCommand(CLI::App& app) {
  struct Options {
    std::string path;
    std::uint64_t budget = mlmon::kDefaultMemoryBudgetBytes;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "check-config",
      "Validate a monitor.yaml the way the library loads it, and estimate "
      "the memory its monitors need");
  sub->add_option("file", o->path, "monitor.yaml")->required();
  sub->add_option("--memory-budget", o->budget,
                  "Refuse a spec whose estimated memory is above this (bytes, "
                  "or with a unit: 512MiB, 2GiB; 1024-based)")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("1GiB");
  return Command{
      sub, [o] {
        try {
          const mlmon::MonitorSpec spec = mlmon::LoadMonitorSpec(o->path);
          // Size first: it needs no allocation, and validating
          // never allocates in proportion to the sizes either.
          mlmon::CheckMemoryBudget(spec, o->budget);
          mlmon::ValidateMonitorSpec(spec);
          std::printf(
              "%s: ok (model '%s', version '%s'); estimated memory "
              "%s, budget %s\n",
              o->path.c_str(), spec.model.c_str(), spec.version.c_str(),
              mlmon::EstimateMonitorMemory(spec).ToString().c_str(),
              mlmon::FormatBytes(o->budget).c_str());
          return 0;
        } catch (const mlmon::ConfigError& e) {
          std::fprintf(stderr, "%s\n", e.what());
          return 1;
        }
      }};
}

}  // namespace mlmon_cli
