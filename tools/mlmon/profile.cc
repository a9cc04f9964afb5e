// `mlmon profile`: builds a reference profile (the training distribution of
// the score and of every configured feature) from NDJSON lines such as
//   {"id": "t1", "score": 0.12, "features": {"amount_usd": 31.5, "country":
//   "DE"}}
// ("value" instead of "score" for regression models). A binary model's
// lines may carry "outcome" (0 or 1, or false/true): the profile then holds
// the score's calibration map, an isotonic fit of outcome on score.
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
#include "line_reader.h"

namespace mlmon_cli {
namespace {

namespace od = simdjson::ondemand;

struct ProfileOptions {
  std::string config, input, out;
  std::size_t auto_bins = 10;
  std::size_t max_line_bytes = kDefaultMaxLineBytes;
  std::string max_invalid = "0";
};

// A JSON token for a message, cut to 80 bytes.
std::string Token(od::value& v) {
  std::string_view raw = v.raw_json_token();
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' ||
                          raw.back() == '\r' || raw.back() == '\n')) {
    raw.remove_suffix(1);
  }
  if (raw.size() > 80) return std::string(raw.substr(0, 80)) + "...";
  return std::string(raw);
}

// A finite number, or a message naming the value (1e999, "NaN", true).
std::string FiniteNumber(od::value& v, double* out) {
  od::json_type t;
  if (v.type().get(t) != simdjson::SUCCESS) return "malformed value";
  if (t != od::json_type::number) {
    return Token(v) + " is not a number";
  }
  if (v.get_double().get(*out) != simdjson::SUCCESS || !std::isfinite(*out)) {
    return Token(v) + " is not a finite number";
  }
  return {};
}

// What one line contributes, kept apart until the whole line is valid.
struct LineValues {
  std::vector<double> scores;
  bool has_outcome = false;
  double outcome = 0;
  std::vector<std::pair<const std::string*, double>> numeric;
  std::vector<std::pair<const std::string*, std::string>> categorical;
};

// True when the document has been consumed.
bool AtEnd(od::document& doc) {
  const char* at = nullptr;
  return doc.current_location().get(at) == simdjson::OUT_OF_BOUNDS;
}

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
std::vector<double> QuantileBounds(std::vector<double> values,
                                   std::size_t bins) {
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

// Parses one NDJSON line into `*values`; returns why it is refused, or "".
std::string ParseLine(
    const std::string& line, od::parser& parser,
    const std::set<std::string>& numeric_names,
    const std::set<std::string>& categorical_names,
    const std::map<std::string, std::map<std::string, double>>& categorical,
    LineValues* values) {
  values->scores.clear();
  values->has_outcome = false;
  values->numeric.clear();
  values->categorical.clear();
  simdjson::padded_string padded(line);
  od::document doc;
  od::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) {
    return "not a JSON object";
  }
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return "malformed line";
    if (key == "score" || key == "value") {
      od::value v;
      if (field.value().get(v)) return "malformed line";
      if (v.is_null()) continue;  // no score on this line
      double d = 0;
      const std::string why = FiniteNumber(v, &d);
      if (!why.empty()) return std::string(key) + ": " + why;
      values->scores.push_back(d);
    } else if (key == "outcome") {
      od::value v;
      if (field.value().get(v)) return "malformed line";
      if (v.is_null()) continue;  // no outcome on this line
      od::json_type t;
      if (v.type().get(t)) return "malformed line";
      bool b = false;
      if (t == od::json_type::boolean) {
        if (v.get_bool().get(b)) return "malformed line";
        values->outcome = b ? 1 : 0;
      } else {
        double d = 0;
        const std::string why = FiniteNumber(v, &d);
        if (!why.empty()) return "outcome: " + why;
        if (d != 0 && d != 1) return "outcome: " + Token(v) + " is not 0 or 1";
        values->outcome = d;
      }
      values->has_outcome = true;
    } else if (key == "features") {
      od::object features;
      if (field.value().get_object().get(features)) {
        return "features: not a JSON object";
      }
      for (auto f : features) {
        std::string_view name;
        if (f.unescaped_key().get(name)) return "malformed line";
        od::value v;
        if (f.value().get(v)) return "malformed line";
        od::json_type t;
        if (v.type().get(t)) return "malformed line";
        if (t == od::json_type::null) continue;  // missing
        const std::string n(name);
        if (const auto it = numeric_names.find(n); it != numeric_names.end()) {
          double d = 0;
          const std::string why = FiniteNumber(v, &d);
          if (!why.empty()) return "feature '" + n + "': " + why;
          values->numeric.emplace_back(&*it, d);
        } else if (const auto ct = categorical_names.find(n);
                   ct != categorical_names.end() &&
                   t == od::json_type::string) {
          std::string_view s;
          if (v.get_string().get(s) != simdjson::SUCCESS)
            return "malformed line";
          if (s.size() > mlmon::ReferenceProfile::kMaxCategoryBytes) {
            return "feature '" + n + "': category of " +
                   std::to_string(s.size()) + " bytes, longer than " +
                   std::to_string(mlmon::ReferenceProfile::kMaxCategoryBytes);
          }
          const auto seen = categorical.find(n);
          const std::size_t known =
              seen == categorical.end() ? 0 : seen->second.size();
          if (known >= mlmon::ReferenceProfile::kMaxCategories &&
              seen->second.count(std::string(s)) == 0) {
            return "feature '" + n + "': more than " +
                   std::to_string(mlmon::ReferenceProfile::kMaxCategories) +
                   " distinct categories";
          }
          values->categorical.emplace_back(&*ct, std::string(s));
        }
      }
    }
  }
  if (!AtEnd(doc)) return "trailing characters after the object";
  return {};
}

int RunProfile(const ProfileOptions& o) {
  const mlmon::MonitorSpec spec = mlmon::LoadMonitorSpec(o.config);
  std::map<std::string, std::vector<double>> numeric;
  std::map<std::string, std::map<std::string, double>> categorical;
  std::set<std::string> numeric_names, categorical_names;
  for (const auto& f : spec.features.numeric) numeric_names.insert(f.name);
  for (const auto& f : spec.features.categorical)
    categorical_names.insert(f.name);
  std::vector<double> scores;
  const bool binary = spec.outcome.task == mlmon::OutcomeSpec::Task::kBinary;
  std::vector<mlmon::ScoredOutcome> outcomes;  // binary: lines with both

  const InvalidLimit limit = InvalidLimit::Parse(o.max_invalid);
  LineReader reader(o.input, o.max_line_bytes);
  InvalidLines invalid(o.input);
  od::parser parser;
  std::string line;
  bool too_long = false;
  std::size_t lines = 0, used = 0;
  LineValues line_values;
  while (reader.Next(&line, &too_long)) {
    if (too_long) {
      ++lines;
      invalid.Add(reader.line_no(), "line longer than --max-line-bytes " +
                                        std::to_string(o.max_line_bytes));
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++lines;
    const std::string why =
        ParseLine(line, parser, numeric_names, categorical_names, categorical,
                  &line_values);
    if (!why.empty()) {
      invalid.Add(reader.line_no(), why);
      continue;
    }
    scores.insert(scores.end(), line_values.scores.begin(),
                  line_values.scores.end());
    if (binary && line_values.has_outcome && !line_values.scores.empty()) {
      outcomes.push_back({line_values.scores.back(), line_values.outcome});
    }
    for (const auto& [name, v] : line_values.numeric) {
      numeric[*name].push_back(v);
    }
    for (const auto& [name, c] : line_values.categorical) {
      categorical[*name][c] += 1;
    }
    ++used;
  }
  invalid.Finish();
  const std::size_t bad = invalid.count();

  if (!WithinInvalidLimit(o.input, bad, lines, limit)) return 1;
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
    p.numeric =
        Bin(f.buckets.empty() ? QuantileBounds(values, o.auto_bins) : f.buckets,
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
  if (!outcomes.empty()) profile.calibration = mlmon::FitIsotonic(outcomes);
  if (o.out.empty()) {
    std::printf("%s\n", profile.ToJson().c_str());
  } else {
    profile.Save(o.out);
  }
  std::fprintf(stderr,
               "profiled %zu lines (%zu refused): %zu scores, %zu numeric and "
               "%zu categorical features, calibration from %zu outcomes (%zu "
               "knots)\n",
               used, bad, scores.size(), spec.features.numeric.size(),
               spec.features.categorical.size(), outcomes.size(),
               profile.calibration.x.size());
  return used == 0 ? 1 : 0;
}

}  // namespace

Command AddProfileCommand(CLI::App& app) {
  auto o = std::make_shared<ProfileOptions>();
  CLI::App* sub = app.add_subcommand(
      "profile",
      "Build a reference profile (training distribution) from NDJSON lines");
  sub->add_option("--config", o->config, "monitor.yaml")->required();
  sub->add_option(
         "--input", o->input,
         "NDJSON lines with \"score\" (or \"value\"), a \"features\" object "
         "and, for a binary model's calibration map, \"outcome\" (0 or 1)")
      ->required();
  sub->add_option("--out", o->out, "reference.json (default: stdout)");
  AddInputLimitOptions(sub, &o->max_line_bytes, &o->max_invalid, "0");
  sub->add_option(
         "--auto-bins", o->auto_bins,
         "Quantile bins for numeric features without configured buckets")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  return Command{sub, [o] { return RunProfile(*o); }};
}

}  // namespace mlmon_cli
