// `mlmon rules --config monitor.yaml [--out rules.yml]`: the Prometheus rule
// file (recording rules + SLO alerts) of a monitor.yaml.
#include <mlmon/alerting.h>
#include <mlmon/monitor_spec.h>

#include <memory>
#include <string>

#include "commands.h"
#include "output.h"

namespace mlmon_cli {

Command AddRulesCommand(CLI::App& app) {
  struct Options {
    std::string config, out;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "rules",
      "Print the Prometheus recording and alerting rules of a monitor.yaml");
  sub->add_option("--config", o->config,
                  "monitor.yaml (with an slo: section for alerts)")
      ->required();
  sub->add_option("--out", o->out,
                  "write the rule file here instead of stdout");
  return Command{sub, [o] {
                   const mlmon::MonitorSpec spec =
                       mlmon::LoadMonitorSpec(o->config);
                   return WriteOutput(o->out, mlmon::GenerateRules(spec));
                 }};
}

}  // namespace mlmon_cli
