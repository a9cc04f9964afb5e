// `mlmon rules --config monitor.yaml [--out rules.yml]`: the Prometheus rule
// file (recording rules + SLO alerts) of a monitor.yaml.
#include <mlmon/alerting.h>
#include <mlmon/monitor_spec.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include "commands.h"

namespace mlmon_cli {

namespace {

// Writes `text` to stdout, or to `path` through a temporary file renamed into
// place (a reader never sees a half-written file).
int WriteOutput(const std::string& path, const std::string& text) {
  if (path.empty()) {
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() ? 0 : 1;
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write '" + path + "'");
  }
  return 0;
}

}  // namespace

Command AddRulesCommand(CLI::App& app) {
  struct Options {
    std::string config, out;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "rules", "Print the Prometheus recording and alerting rules of a monitor.yaml");
  sub->add_option("--config", o->config, "monitor.yaml (with an slo: section for alerts)")
      ->required();
  sub->add_option("--out", o->out, "write the rule file here instead of stdout");
  return Command{sub, [o] {
                   const mlmon::MonitorSpec spec = mlmon::LoadMonitorSpec(o->config);
                   return WriteOutput(o->out, mlmon::GenerateRules(spec));
                 }};
}

}  // namespace mlmon_cli
