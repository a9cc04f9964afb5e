// `mlmon profile`: builds a reference profile (the training distribution of
// the score and of every configured feature) from NDJSON lines such as
//   {"id": "t1", "score": 0.12, "features": {"amount_usd": 31.5, "country": "DE"}}
// ("value" instead of "score" for regression models).
#include <mlmon/monitor_spec.h>
#include <mlmon/reference_profile.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"

namespace mlmon_cli {
namespace {

namespace od = simdjson::ondemand;

struct ProfileOptions {
  std::string config, input, out;
  std::size_t auto_bins = 10;
};

// Histogram semantics: the first bound >= v, or the +Inf bucket.
std::size_t BinOf(const std::vector<double>& bounds, double v) {
  return static_cast<std::size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
}

mlmon::BinnedCounts Bin(const std::vector<double>& bounds,
                        const std::vector<double>& values) {
  mlmon::BinnedCounts b;
  b.bounds = bounds;
  b.counts.assign(bounds.size() + 1, 0.0);
  for (double v : values) b.counts[BinOf(bounds, v)] += 1;
  return b;
}

// Quantile bounds (distinct, strictly increasing) for a feature without
// configured buckets.
std::vector<double> QuantileBounds(std::vector<double> values, std::size_t bins) {
  std::vector<double> bounds;
  if (values.empty()) return {0.0};
  std::sort(values.begin(), values.end());
  for (std::size_t i = 1; i < bins; ++i) {
    const double q = values[(values.size() - 1) * i / bins];
    if (bounds.empty() || q > bounds.back()) bounds.push_back(q);
  }
  if (bounds.empty()) bounds.push_back(values.front());
  return bounds;
}

int RunProfile(const ProfileOptions& o) {
  const mlmon::MonitorSpec spec = mlmon::LoadMonitorSpec(o.config);
  std::ifstream in(o.input, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + o.input + "'");
  std::map<std::string, std::vector<double>> numeric;
  std::map<std::string, std::map<std::string, double>> categorical;
  std::set<std::string> numeric_names, categorical_names;
  for (const auto& f : spec.features.numeric) numeric_names.insert(f.name);
  for (const auto& f : spec.features.categorical) categorical_names.insert(f.name);
  std::vector<double> scores;

  od::parser parser;
  std::string line;
  std::size_t line_no = 0, bad = 0, used = 0;
  auto complain = [&](const std::string& why) {
    if (++bad <= 20) {
      std::fprintf(stderr, "%s:%zu: %s\n", o.input.c_str(), line_no, why.c_str());
    }
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    simdjson::padded_string padded(line);
    od::document doc;
    od::object obj;
    if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) {
      complain("not a JSON object");
      continue;
    }
    bool ok = true;
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) { ok = false; break; }
      if (key == "score" || key == "value") {
        double v;
        if (field.value().get_double().get(v) == simdjson::SUCCESS && std::isfinite(v)) {
          scores.push_back(v);
        }
      } else if (key == "features") {
        od::object features;
        if (field.value().get_object().get(features)) { ok = false; break; }
        for (auto f : features) {
          std::string_view name;
          if (f.unescaped_key().get(name)) { ok = false; break; }
          const std::string n(name);
          od::value v;
          if (f.value().get(v)) { ok = false; break; }
          od::json_type t;
          if (v.type().get(t)) { ok = false; break; }
          if (numeric_names.count(n) != 0 && t == od::json_type::number) {
            double d;
            if (v.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d)) {
              numeric[n].push_back(d);
            }
          } else if (categorical_names.count(n) != 0 && t == od::json_type::string) {
            std::string_view s;
            if (v.get_string().get(s) == simdjson::SUCCESS) categorical[n][std::string(s)] += 1;
          }
        }
        if (!ok) break;
      }
    }
    if (!ok) {
      complain("malformed line");
      continue;
    }
    ++used;
  }

  mlmon::ReferenceProfile profile;
  profile.model = spec.model;
  if (!scores.empty()) {
    mlmon::SignalProfile score;
    score.numeric = Bin(spec.distribution.score_buckets, scores);
    profile.signals["score"] = std::move(score);
  }
  for (const auto& f : spec.features.numeric) {
    const std::vector<double>& values = numeric[f.name];
    mlmon::SignalProfile p;
    p.numeric = Bin(f.buckets.empty() ? QuantileBounds(values, o.auto_bins) : f.buckets,
                    values);
    std::vector<double> magnitudes;
    for (double v : values) {
      // The same decade the live FeatureMonitor observes.
      if (v != 0) magnitudes.push_back(mlmon::MagnitudeDecade(v));
    }
    p.log10 = Bin(mlmon::DefaultLog10Bounds(), magnitudes);
    profile.signals[f.name] = std::move(p);
  }
  for (const auto& f : spec.features.categorical) {
    mlmon::SignalProfile p;
    p.type = mlmon::SignalProfile::Type::kCategorical;
    p.categories = categorical[f.name];
    profile.signals[f.name] = std::move(p);
  }
  if (o.out.empty()) {
    std::printf("%s\n", profile.ToJson().c_str());
  } else {
    profile.Save(o.out);
  }
  std::fprintf(stderr, "profiled %zu lines (%zu refused): %zu scores, %zu numeric and %zu categorical features\n",
               used, bad, scores.size(), spec.features.numeric.size(),
               spec.features.categorical.size());
  return used == 0 ? 1 : 0;
}

}  // namespace

Command AddProfileCommand(CLI::App& app) {
  auto o = std::make_shared<ProfileOptions>();
  CLI::App* sub = app.add_subcommand(
      "profile", "Build a reference profile (training distribution) from NDJSON lines");
  sub->add_option("--config", o->config, "monitor.yaml")->required();
  sub->add_option("--input", o->input,
                  "NDJSON lines with \"score\" (or \"value\") and a \"features\" object")
      ->required();
  sub->add_option("--out", o->out, "reference.json (default: stdout)");
  sub->add_option("--auto-bins", o->auto_bins,
                  "Quantile bins for numeric features without configured buckets")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  return Command{sub, [o] { return RunProfile(*o); }};
}

}  // namespace mlmon_cli
