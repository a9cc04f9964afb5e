#ifndef MLMON_TOOLS_MLMON_COMMANDS_H_
#define MLMON_TOOLS_MLMON_COMMANDS_H_

// Subcommands of the `mlmon` tool. Each Add*Command registers its options on
// `app` and returns the flag-holder the main function runs when chosen.

#include <CLI/CLI.hpp>
#include <functional>

namespace mlmon_cli {

/// A registered subcommand: run it when `sub->parsed()`.
struct Command {
  CLI::App* sub = nullptr;
  std::function<int()> run;
};

Command AddDemoCommand(CLI::App& app);
Command AddCheckConfigCommand(CLI::App& app);
Command AddReplayCommand(CLI::App& app);
Command AddProfileCommand(CLI::App& app);
Command AddRulesCommand(CLI::App& app);
Command AddDashboardCommand(CLI::App& app);

}  // namespace mlmon_cli

#endif  // MLMON_TOOLS_MLMON_COMMANDS_H_
