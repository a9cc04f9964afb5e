// `mlmon check-config FILE`: loads monitor.yaml exactly as the library does
// and reports the first problem, naming the key and value.
#include <mlmon/monitor_spec.h>

#include <cstdio>
#include <string>

#include "commands.h"

namespace mlmon_cli {

Command AddCheckConfigCommand(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "check-config", "Validate a monitor.yaml the way the library loads it");
  sub->add_option("file", *path, "monitor.yaml")->required();
  return Command{sub, [path] {
                   try {
                     mlmon::MonitorSpec spec = mlmon::LoadMonitorSpec(*path);
                     mlmon::ValidateMonitorSpec(spec);
                     std::printf("%s: ok (model '%s', version '%s')\n",
                                 path->c_str(), spec.model.c_str(),
                                 spec.version.c_str());
                     return 0;
                   } catch (const mlmon::ConfigError& e) {
                     std::fprintf(stderr, "%s\n", e.what());
                     return 1;
                   }
                 }};
}

}  // namespace mlmon_cli
