// `mlmon demo` in a build without the HTTP server (-DMLMON_WITH_HTTP=OFF):
// the subcommand still exists, so that it explains itself instead of being
// an unknown command, and exits 2 without starting anything.
#include <cstdio>

#include "commands.h"

namespace mlmon_cli {

Command AddDemoCommand(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "demo",
      "Not available: this mlmon was built without the HTTP server "
      "(MLMON_WITH_HTTP=OFF)");
  sub->allow_extras();
  return Command{sub, [] {
                   std::fprintf(stderr,
                                "mlmon: demo: not available in this build: "
                                "it serves the demo model over HTTP, and "
                                "mlmon was built with -DMLMON_WITH_HTTP=OFF\n");
                   return 2;
                 }};
}

}  // namespace mlmon_cli
