// `mlmon check-config FILE...`: loads each monitor.yaml exactly as the
// library does and reports the first problem, naming the key and value; then
// estimates the memory its monitors need (without allocating it) and refuses
// a spec over --memory-budget. Several files are checked together as one
// server would host them: every monitor built in one throw-away Registry (no
// server, no threads), so that a model version configured twice or metric
// families that cannot share a registry are reported naming both files, and
// their memory together must fit the budget.
#include <mlmon/errors.h>
#include <mlmon/model_monitor.h>
#include <mlmon/monitor_spec.h>
#include <mlmon/registry.h>
#include <mlmon/spec_memory.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "internal/config_errors.h"

namespace mlmon_cli {
namespace {

// `spec` with the sizes that only scale allocations cut to their smallest
// valid value, as mlmon::ValidateMonitorSpec builds it: the per-file check
// has already refused out-of-range values, so building every file at once
// costs little memory whatever the sizes.
mlmon::MonitorSpec Shrunk(mlmon::MonitorSpec spec) {
  spec.outcome.pending_capacity = 1;
  spec.outcome.slices_per_window = 1;
  spec.outcome.auc_bins = 16;
  spec.distribution.slices_per_window = 1;
  spec.features.slices_per_window = 1;
  // Checked per file already; the throw-away monitors never connect.
  spec.outcome.store.backend = mlmon::PendingStoreSpec::Backend::kMemory;
  return spec;
}

std::string_view WithoutPrefix(std::string_view what) {
  if (what.rfind("mlmon: ", 0) == 0) what.remove_prefix(7);
  return what;
}

// Throws if the monitors of `a` and `b` cannot share one registry.
void BuildPair(const mlmon::MonitorSpec& a, const mlmon::MonitorSpec& b) {
  mlmon::Registry scratch;
  mlmon::ModelMonitor first(scratch, Shrunk(a));
  mlmon::ModelMonitor second(scratch, Shrunk(b));
}

// Every spec (each valid alone) in one registry; the first conflict is
// reported naming the file that cannot join and the file it clashes with.
void CheckTogether(const std::vector<std::string>& paths,
                   const std::vector<mlmon::MonitorSpec>& specs) {
  for (std::size_t j = 0; j < specs.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      if (specs[i].model == specs[j].model &&
          specs[i].version == specs[j].version) {
        throw mlmon::internal::SetupError(
            paths[j], "model '" + specs[j].model + "' version '" +
                          specs[j].version + "' is also configured in " +
                          paths[i] +
                          "; one server hosts each model version once");
      }
    }
  }
  mlmon::Registry scratch;
  std::vector<std::unique_ptr<mlmon::ModelMonitor>> monitors;
  for (std::size_t j = 0; j < specs.size(); ++j) {
    try {
      monitors.push_back(
          std::make_unique<mlmon::ModelMonitor>(scratch, Shrunk(specs[j])));
    } catch (const mlmon::ConfigError& e) {
      // Which earlier file it clashes with: the first that fails in a
      // registry of the two alone.
      std::string with;
      for (std::size_t i = 0; i < j && with.empty(); ++i) {
        try {
          BuildPair(specs[i], specs[j]);
        } catch (const mlmon::ConfigError&) {
          with = paths[i];
        }
      }
      if (with.empty()) {
        for (std::size_t i = 0; i < j; ++i) with += (i ? ", " : "") + paths[i];
      }
      throw mlmon::internal::SetupError(
          paths[j], "cannot share one registry with " + with + ": " +
                        std::string(WithoutPrefix(e.what())));
    }
  }
}

int Run(const std::vector<std::string>& paths, std::uint64_t budget) {
  std::vector<mlmon::MonitorSpec> specs;
  std::uint64_t total = 0;
  try {
    for (const std::string& path : paths) {
      mlmon::MonitorSpec spec = mlmon::LoadMonitorSpec(path);
      // Size first: it needs no allocation, and validating never allocates
      // in proportion to the sizes either.
      mlmon::CheckMemoryBudget(spec, budget);
      mlmon::ValidateMonitorSpec(spec);
      const mlmon::MemoryEstimate estimate = mlmon::EstimateMonitorMemory(spec);
      total = estimate.total_bytes > UINT64_MAX - total
                  ? UINT64_MAX
                  : total + estimate.total_bytes;
      std::printf(
          "%s: ok (model '%s', version '%s'); estimated memory "
          "%s, budget %s\n",
          path.c_str(), spec.model.c_str(), spec.version.c_str(),
          estimate.ToString().c_str(), mlmon::FormatBytes(budget).c_str());
      specs.push_back(std::move(spec));
    }
    if (specs.size() < 2) return 0;
    CheckTogether(paths, specs);
    if (total > budget) {
      throw mlmon::internal::SetupError(
          std::to_string(paths.size()) + " files together",
          "the monitors would need an estimated " + mlmon::FormatBytes(total) +
              ", more than the memory budget of " + mlmon::FormatBytes(budget));
    }
    std::printf(
        "%zu files: ok together in one registry; estimated memory %s, "
        "budget %s\n",
        paths.size(), mlmon::FormatBytes(total).c_str(),
        mlmon::FormatBytes(budget).c_str());
    return 0;
  } catch (const mlmon::ConfigError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

}  // namespace

Command AddCheckConfigCommand(CLI::App& app) {
  struct Options {
    std::vector<std::string> paths;
    std::uint64_t budget = mlmon::kDefaultMemoryBudgetBytes;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "check-config",
      "Validate monitor.yaml files the way the library loads them, and "
      "estimate the memory their monitors need; several files are checked "
      "together, as one server hosting them all");
  sub->add_option("files", o->paths, "monitor.yaml files")->required();
  sub->add_option("--memory-budget", o->budget,
                  "Refuse a spec, or several files together, whose estimated "
                  "memory is above this (bytes, or with a unit: 512MiB, "
                  "2GiB; 1024-based)")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("1GiB");
  return Command{sub, [o] { return Run(o->paths, o->budget); }};
}

}  // namespace mlmon_cli
