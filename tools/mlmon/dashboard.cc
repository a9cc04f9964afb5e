// `mlmon dashboard --config monitor.yaml [--out dashboard.json]`: a Grafana
// dashboard over the recording rules of `mlmon rules`.
#include <mlmon/alerting.h>
#include <mlmon/monitor_spec.h>

#include <memory>
#include <string>

#include "commands.h"
#include "output.h"

namespace mlmon_cli {

Command AddDashboardCommand(CLI::App& app) {
  struct Options {
    std::string config, out;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "dashboard", "Print a Grafana dashboard (JSON) for a monitor.yaml");
  sub->add_option("--config", o->config, "monitor.yaml")->required();
  sub->add_option("--out", o->out,
                  "write the dashboard here instead of stdout");
  return Command{sub, [o] {
                   const mlmon::MonitorSpec spec =
                       mlmon::LoadMonitorSpec(o->config);
                   return WriteOutput(o->out, mlmon::GenerateDashboard(spec));
                 }};
}

}  // namespace mlmon_cli
