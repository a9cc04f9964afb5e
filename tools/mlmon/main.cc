// mlmon: the command-line companion of the mlmon library.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <vector>

#include "commands.h"
#include "mlmon/errors.h"
#include "mlmon/version.h"

int main(int argc, char** argv) {
  CLI::App app{"mlmon " MLMON_VERSION_STRING
               ": monitor ML models in production with Prometheus"};
  app.require_subcommand(1);
  app.set_version_flag("--version", MLMON_VERSION_STRING);
  std::vector<mlmon_cli::Command> commands;
  commands.push_back(mlmon_cli::AddDemoCommand(app));
  commands.push_back(mlmon_cli::AddReplayCommand(app));
  commands.push_back(mlmon_cli::AddProfileCommand(app));
  commands.push_back(mlmon_cli::AddCheckConfigCommand(app));
  commands.push_back(mlmon_cli::AddRulesCommand(app));
  commands.push_back(mlmon_cli::AddDashboardCommand(app));
  app.footer(
      "Exit status: 0 ok, 1 the command failed (check-config found a "
      "problem), 2 a usage error or a configuration the command cannot "
      "load.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with status 0; every other parse
    // error is a usage error, exit 2 after CLI11's message naming the flag.
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (auto& c : commands) {
      if (c.sub->parsed()) return c.run();
    }
  } catch (const mlmon::ConfigError& e) {
    // Already "mlmon: <where>: <what> (<value>)".
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlmon: %s\n", e.what());
    return 1;
  }
  return 0;
}
