#include "mlmon/monitor_spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "internal/bucket_bounds.h"
#include "internal/config_errors.h"
#include "internal/slo_catalogue.h"
#include "internal/spec_checks.h"
#include "mlmon/duration.h"

namespace mlmon {

namespace {

using internal::Excerpt;
using internal::OnlyConfigErrors;
using internal::SetupError;

// What a spec names when its set-up runs out of memory.
constexpr const char* kOutOfMemory = "out of memory";

// "1", "-2.5", "1e8": decimal notation only (no hex, no leading or trailing
// space, no inf or nan).
bool IsDecimalNumber(const std::string& s) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t n = digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    n += digits();
  }
  if (n == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// The text of a positive duration, or nullopt (see ParseDuration).
std::optional<std::chrono::seconds> DurationOf(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  const std::string_view digits = text.substr(0, i), unit = text.substr(i);
  // Whole seconds only: "ms" is a flag unit, not a monitor.yaml one.
  const double unit_seconds = unit == "ms" ? 0 : DurationUnitSeconds(unit);
  const auto mult = static_cast<long long>(unit_seconds);
  if (digits.empty() || digits.size() > 12 || mult == 0) return std::nullopt;
  const long long n = std::stoll(std::string(digits));
  if (n <= 0) return std::nullopt;
  return std::chrono::seconds(n * mult);
}

constexpr const char* kNotADuration =
    "not a positive duration like 45s, 30m, 12h, 7d or 2w";

// Errors name "<file>:<line>: <key path>", e.g.
// "mlmon: monitor.yaml:12: windows: expected a list of durations".
class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& key,
                         std::string_view what,
                         std::string_view value = {}) const {
    throw SetupError(Where(node, key), what, value);
  }

  // "<file>:<line>: <key path>".
  std::string Where(const YAML::Node& node, const std::string& key) const {
    const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    return fmt::format("{}:{}: {}", source_, line, Excerpt(key));
  }

  // The name of a mapping key; `parent` ("slo.", "" at the top) prefixes it
  // in messages. A key that is a list or a mapping (`? [a, b]: 1`) is
  // refused.
  std::string Key(const YAML::Node& k, const std::string& parent) const {
    if (!k.IsScalar()) {
      Fail(k, parent + "?",
           "a key must be a plain name, not a list or a mapping");
    }
    return k.Scalar();
  }

  std::string Scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) Fail(n, key, "expected a single value");
    return n.Scalar();
  }

  double Number(const YAML::Node& n, const std::string& key) const {
    const std::string s = Scalar(n, key);
    char* end = nullptr;
    errno = 0;
    const double v = IsDecimalNumber(s) ? std::strtod(s.c_str(), &end) : 0;
    if (!IsDecimalNumber(s) || end != s.c_str() + s.size() || errno == ERANGE ||
        !std::isfinite(v)) {
      Fail(n, key, "not a finite number", s);
    }
    return v;
  }

  // Integer keys accept decimal notation with an integral value, exponent
  // included ("1000000" or "1e6"), up to 1e15; the range of each key is
  // checked where the spec is used.
  std::size_t Count(const YAML::Node& n, const std::string& key) const {
    const double v = Number(n, key);
    if (v < 0 || v != std::floor(v) || v > 1e15) {
      Fail(n, key, "not a non-negative integer", Scalar(n, key));
    }
    return static_cast<std::size_t>(v);
  }

  // A count that must be >= 1.
  std::size_t PositiveCount(const YAML::Node& n, const std::string& key) const {
    const double v = Number(n, key);
    if (v < 1 || v != std::floor(v) || v > 1e15) {
      Fail(n, key, "not an integer >= 1", Scalar(n, key));
    }
    return static_cast<std::size_t>(v);
  }

  std::vector<double> Numbers(const YAML::Node& n,
                              const std::string& key) const {
    if (!n.IsSequence()) Fail(n, key, "expected a list of numbers");
    std::vector<double> out;
    for (const auto& e : n) out.push_back(Number(e, key));
    return out;
  }

  std::vector<std::string> Strings(const YAML::Node& n,
                                   const std::string& key) const {
    if (!n.IsSequence()) Fail(n, key, "expected a list");
    std::vector<std::string> out;
    for (const auto& e : n) out.push_back(Scalar(e, key));
    return out;
  }

  std::chrono::seconds Duration(const YAML::Node& n,
                                const std::string& key) const {
    const std::string s = Scalar(n, key);
    const auto d = DurationOf(s);
    if (!d) Fail(n, key, kNotADuration, s);
    return *d;
  }

  std::vector<double> Buckets(const YAML::Node& n,
                              const std::string& key) const {
    std::vector<double> b = Numbers(n, key);
    internal::CheckBucketBounds(Where(n, key), b);
    return b;
  }

 private:
  std::string source_;
};

std::vector<std::chrono::seconds> Durations(const Parser& p,
                                            const YAML::Node& v,
                                            const std::string& key) {
  if (!v.IsSequence()) p.Fail(v, key, "expected a list of durations");
  std::vector<std::chrono::seconds> out;
  for (const auto& e : v) out.push_back(p.Duration(e, key));
  return out;
}

void ParseDistribution(const Parser& p, const YAML::Node& node, ResponseSpec* d,
                       bool* value_range_set, bool* estimate_thresholds_set) {
  if (!node.IsMap()) p.Fail(node, "distribution", "expected a mapping");
  for (const auto& kv : node) {
    const std::string k = p.Key(kv.first, "distribution.");
    const std::string key = "distribution." + k;
    const YAML::Node& v = kv.second;
    if (k == "value_range") {
      const std::string s = p.Scalar(v, key);
      if (s == "unit_interval") {
        d->value_range = ResponseSpec::ValueRange::kUnitInterval;
      } else if (s == "unbounded") {
        d->value_range = ResponseSpec::ValueRange::kUnbounded;
      } else {
        p.Fail(v, key, "not unit_interval or unbounded", s);
      }
      *value_range_set = true;
    } else if (k == "buckets") {
      d->score_buckets = p.Buckets(v, key);
    } else if (k == "classes") {
      d->classes = p.Strings(v, key);
    } else if (k == "decision_threshold") {
      d->decision_threshold = p.Number(v, key);
    } else if (k == "items_buckets") {
      d->items_buckets = p.Buckets(v, key);
    } else if (k == "windows") {
      d->windows = Durations(p, v, key);
    } else if (k == "slices_per_window") {
      d->slices_per_window = p.Count(v, key);
    } else if (k == "fine_bins") {
      d->fine_bins = p.Count(v, key);
    } else if (k == "drift_min_samples") {
      d->drift_min_samples = p.PositiveCount(v, key);
    } else if (k == "estimate_thresholds") {
      d->estimate_thresholds = p.Numbers(v, key);
      *estimate_thresholds_set = true;
    } else {
      p.Fail(kv.first, key, "unknown key");
    }
  }
}

void ParseFeatures(const Parser& p, const YAML::Node& node, FeatureSpec* f) {
  if (!node.IsMap()) p.Fail(node, "features", "expected a mapping");
  for (const auto& kv : node) {
    const std::string k = p.Key(kv.first, "features.");
    const std::string key = "features." + k;
    const YAML::Node& v = kv.second;
    if (k == "numeric" || k == "categorical") {
      if (!v.IsSequence()) p.Fail(v, key, "expected a list of features");
      for (const auto& item : v) {
        if (!item.IsMap()) p.Fail(item, key, "expected {name: ..., ...}");
        std::string name;
        FeatureSpec::Numeric num;
        FeatureSpec::Categorical cat;
        for (const auto& fkv : item) {
          const std::string fk = p.Key(fkv.first, key + ".");
          const std::string fkey = key + "." + fk;
          if (fk == "name") {
            name = p.Scalar(fkv.second, fkey);
          } else if (k == "numeric" && fk == "min") {
            num.min = p.Number(fkv.second, fkey);
          } else if (k == "numeric" && fk == "max") {
            num.max = p.Number(fkv.second, fkey);
          } else if (k == "numeric" && fk == "buckets") {
            num.buckets = p.Buckets(fkv.second, fkey);
          } else if (k == "categorical" && fk == "max_categories") {
            cat.max_categories = p.Count(fkv.second, fkey);
          } else {
            p.Fail(fkv.first, fkey, "unknown key");
          }
        }
        if (name.empty()) p.Fail(item, key + ".name", "is required");
        if (k == "numeric") {
          num.name = name;
          f->numeric.push_back(std::move(num));
        } else {
          cat.name = name;
          f->categorical.push_back(std::move(cat));
        }
      }
    } else if (k == "windows") {
      f->windows = Durations(p, v, key);
    } else if (k == "slices_per_window") {
      f->slices_per_window = p.Count(v, key);
    } else if (k == "drift_min_samples") {
      f->drift_min_samples = p.PositiveCount(v, key);
    } else {
      p.Fail(kv.first, key, "unknown key");
    }
  }
}

// The directory of `source` (for relative paths in the file), or "".
std::string DirectoryOf(const std::string& source) {
  const auto slash = source.rfind('/');
  return slash == std::string::npos ? "" : source.substr(0, slash + 1);
}

// `segments: {name: country, max_values: 20}`.
void ParseSegments(const Parser& p, const YAML::Node& node, SegmentSpec* seg) {
  const std::string top = "segments";
  if (!node.IsMap()) p.Fail(node, top, "expected a mapping {name, max_values}");
  for (const auto& kv : node) {
    const std::string k = p.Key(kv.first, top + ".");
    const std::string key = top + "." + k;
    if (k == "name") {
      seg->name = p.Scalar(kv.second, key);
      if (seg->name.empty()) p.Fail(kv.second, key, "must not be empty");
    } else if (k == "max_values") {
      seg->max_values = p.PositiveCount(kv.second, key);
    } else {
      p.Fail(kv.first, key, "unknown key");
    }
  }
  if (seg->name.empty()) p.Fail(node, top + ".name", "is required");
  // The same checks as the signals' (internal::CheckSegments), here with
  // the file's line.
  bool ok = true;
  for (std::size_t i = 0; i < seg->name.size(); ++i) {
    const char c = seg->name[i];
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                (i > 0 && c >= '0' && c <= '9'));
  }
  if (!ok) {
    p.Fail(node["name"], top + ".name", "not [a-zA-Z_][a-zA-Z0-9_]*",
           seg->name);
  }
  if (seg->max_values > SegmentSpec::kMaxValues) {
    p.Fail(node["max_values"], top + ".max_values",
           fmt::format("more than {}", SegmentSpec::kMaxValues),
           std::to_string(seg->max_values));
  }
}

// `pending_store: memory`, or a mapping with `backend: redis` and its
// settings; file paths are resolved against the YAML file's directory.
void ParsePendingStore(const Parser& p, const YAML::Node& node,
                       const std::string& dir, PendingStoreSpec* st) {
  const std::string top = "pending_store";
  auto backend = [&](const YAML::Node& n, const std::string& key) {
    const std::string b = p.Scalar(n, key);
    if (b == "memory") return PendingStoreSpec::Backend::kMemory;
    if (b == "redis") return PendingStoreSpec::Backend::kRedis;
    p.Fail(n, key, "not memory or redis", b);
  };
  if (node.IsScalar()) {
    st->backend = backend(node, top);
    return;
  }
  if (!node.IsMap()) p.Fail(node, top, "expected memory, or a mapping");
  bool has_backend = false;
  for (const auto& kv : node) {
    const std::string k = p.Key(kv.first, top + ".");
    const std::string key = top + "." + k;
    const YAML::Node& v = kv.second;
    if (k == "backend") {
      st->backend = backend(v, key);
      has_backend = true;
    } else if (k == "url") {
      st->url = p.Scalar(v, key);
    } else if (k == "password_file") {
      const std::string path = p.Scalar(v, key);
      if (path.empty()) p.Fail(v, key, "must not be empty");
      st->password_file = path[0] == '/' ? path : dir + path;
    } else if (k == "key_prefix") {
      st->key_prefix = p.Scalar(v, key);
    } else if (k == "timeout") {
      const std::string t = p.Scalar(v, key);
      std::size_t i = 0;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
      const double unit_ms = DurationUnitSeconds(t.substr(i)) * 1000.0;
      const long long n = i == 0 || i > 9 ? 0 : std::stoll(t.substr(0, i));
      if (n == 0 || !(unit_ms >= 1) || unit_ms != std::floor(unit_ms)) {
        p.Fail(v, key, "not a duration like 200ms, 2s or 1m", t);
      }
      st->timeout =
          std::chrono::milliseconds(n * static_cast<long long>(unit_ms));
    } else if (k == "max_buffered") {
      st->max_buffered = p.PositiveCount(v, key);
    } else {
      p.Fail(kv.first, key, "unknown key");
    }
  }
  if (!has_backend) p.Fail(node, top + ".backend", "missing (memory or redis)");
}

OutcomeSpec::Task ParseTask(const Parser& p, const YAML::Node& n) {
  const std::string s = p.Scalar(n, "task");
  if (s == "binary") return OutcomeSpec::Task::kBinary;
  if (s == "multiclass") return OutcomeSpec::Task::kMulticlass;
  if (s == "regression") return OutcomeSpec::Task::kRegression;
  if (s == "ranking") return OutcomeSpec::Task::kRanking;
  p.Fail(n, "task", "not one of binary, multiclass, regression, ranking", s);
}

SloSpec::Precision ParsePrecision(const Parser& p, const YAML::Node& v,
                                  const std::string& key) {
  if (!v.IsMap()) {
    p.Fail(v, key,
           "expected {threshold: ..., value: ..., window: ..., min_samples: "
           "...}");
  }
  SloSpec::Precision prec;
  bool has_value = false;
  for (const auto& pkv : v) {
    const std::string pk = p.Key(pkv.first, key + ".");
    const std::string pkey = key + "." + pk;
    if (pk == "threshold") {
      prec.threshold = p.Number(pkv.second, pkey);
    } else if (pk == "value") {
      prec.value = p.Number(pkv.second, pkey);
      if (prec.value < 0 || prec.value > 1) {
        p.Fail(pkv.second, pkey, "not in [0, 1]",
               fmt::format("{}", prec.value));
      }
      if (prec.value == 0)
        p.Fail(pkv.second, pkey, "can never be violated", "0");
      has_value = true;
    } else if (pk == "window") {
      prec.window = p.Duration(pkv.second, pkey);
    } else if (pk == "min_samples") {
      prec.min_samples = p.PositiveCount(pkv.second, pkey);
    } else {
      p.Fail(pkv.first, pkey, "unknown key");
    }
  }
  if (!has_value) p.Fail(v, key + ".value", "is required");
  return prec;
}

// "latency_p99_seconds, error_ratio, ...": the keys of the SLO catalogue.
std::string ObjectiveKeys() {
  std::string keys;
  std::set<std::string> seen;  // rows sharing a key list it once
  for (const internal::SloObjective& o : internal::SloCatalogue()) {
    if (!seen.insert(o.key).second) continue;
    if (!keys.empty()) keys += ", ";
    keys += o.key;
  }
  return keys;
}

// One objective of the SLO catalogue, into its `SloSpec` field.
void ParseObjective(const Parser& p, const internal::SloObjective& o,
                    const YAML::Node& v, const std::string& key, SloSpec* slo) {
  switch (o.value) {
    case internal::SloValue::kRatio:
    case internal::SloValue::kOpenRatio:
    case internal::SloValue::kPositive: {
      const double x = p.Number(v, key);
      if (const char* problem = internal::NumberProblem(o.value, x)) {
        p.Fail(v, key, problem, fmt::format("{}", x));
      }
      slo->*o.number = x;
      break;
    }
    case internal::SloValue::kDuration:
      slo->*o.duration = p.Duration(v, key);
      break;
    case internal::SloValue::kPrecision:
      slo->min_precision = ParsePrecision(p, v, key);
      break;
  }
}

// The `slo:` section. Values are checked here (with their line); checks that
// need the rest of the spec (thresholds, task) are in ValidateSloSpec.
void ParseSlo(const Parser& p, const YAML::Node& node, SloSpec* slo) {
  if (!node.IsMap()) p.Fail(node, "slo", "expected a mapping");
  const auto slo_key = [&p](const YAML::Node& k, const std::string& key) {
    const std::string name = p.Key(k, "slo.");
    if (internal::FindSlo(name) == nullptr) {
      p.Fail(k, key,
             fmt::format("not one of the objectives {}", ObjectiveKeys()),
             name);
    }
    return name;
  };
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string k = p.Key(kv.first, "slo.");
    const std::string key = "slo." + k;
    const YAML::Node& v = kv.second;
    if (!seen.insert(k).second) p.Fail(kv.first, key, "given twice");
    if (const internal::SloObjective* o = internal::FindSlo(k)) {
      ParseObjective(p, *o, v, key, slo);
    } else if (k == "for") {
      if (v.IsScalar()) {
        slo->for_duration = p.Duration(v, key);
      } else if (v.IsMap()) {
        for (const auto& fkv : v) {
          const std::string fk = p.Key(fkv.first, key + ".");
          const std::string fkey = key + "." + fk;
          if (fk == "default") {
            slo->for_duration = p.Duration(fkv.second, fkey);
          } else {
            slo->for_overrides[slo_key(fkv.first, fkey)] =
                p.Duration(fkv.second, fkey);
          }
        }
      } else {
        p.Fail(v, key,
               "expected a duration or {default: 5m, <objective>: 30m}");
      }
    } else if (k == "severity") {
      if (!v.IsMap()) p.Fail(v, key, "expected {<objective>: page|ticket}");
      for (const auto& skv : v) {
        const std::string skey = key + "." + p.Key(skv.first, key + ".");
        const std::string name = slo_key(skv.first, skey);
        const std::string level = p.Scalar(skv.second, skey);
        if (level != "page" && level != "ticket") {
          p.Fail(skv.second, skey, "not page or ticket", level);
        }
        slo->severity[name] = level;
      }
    } else if (k == "runbook_url") {
      slo->runbook_url = p.Scalar(v, key);
      if (slo->runbook_url.empty()) p.Fail(v, key, "must not be empty");
    } else {
      p.Fail(kv.first, key, "unknown key");
    }
  }
}

}  // namespace

std::chrono::seconds ParseDuration(std::string_view text) {
  const auto d = DurationOf(text);
  if (!d) throw SetupError("ParseDuration", kNotADuration, text);
  return *d;
}

namespace {

// Most nodes visited when checking a document's shape: more than a 1 MiB
// file holds without aliases, so only alias expansion ("billion laughs")
// reaches it.
constexpr std::size_t kMaxVisitedNodes = 1000000;

// Refuses a document nested deeper than kMaxMonitorSpecDepth or expanding
// (through aliases) to more than kMaxVisitedNodes nodes. Iterative: the
// check itself never recurses.
void CheckShape(const YAML::Node& root, const std::string& source) {
  std::vector<std::pair<YAML::Node, std::size_t>> stack;
  stack.emplace_back(root, 1);
  std::size_t visited = 0;
  while (!stack.empty()) {
    auto [node, depth] = std::move(stack.back());
    stack.pop_back();
    if (++visited > kMaxVisitedNodes) {
      throw SetupError(source,
                       fmt::format("more than {} values: aliases expanding "
                                   "without bound?",
                                   kMaxVisitedNodes));
    }
    if (depth > kMaxMonitorSpecDepth) {
      const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
      throw SetupError(
          fmt::format("{}:{}", source, line),
          fmt::format("nested deeper than {} levels", kMaxMonitorSpecDepth));
    }
    if (node.IsSequence()) {
      for (const auto& e : node) stack.emplace_back(e, depth + 1);
    } else if (node.IsMap()) {
      for (const auto& kv : node) {
        stack.emplace_back(kv.first, depth + 1);
        stack.emplace_back(kv.second, depth + 1);
      }
    }
  }
}

MonitorSpec ParseMonitorSpecUnchecked(std::string_view yaml,
                                      const std::string& source) {
  if (yaml.size() > kMaxMonitorSpecBytes) {
    throw SetupError(
        source,
        fmt::format("more than the {} bytes accepted", kMaxMonitorSpecBytes),
        fmt::format("{} bytes", yaml.size()));
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::DeepRecursion& e) {
    throw SetupError(
        fmt::format("{}:{}", source, e.mark.line + 1),
        fmt::format("nested deeper than {} levels", kMaxMonitorSpecDepth));
  } catch (const YAML::Exception& e) {
    throw SetupError(fmt::format("{}:{}", source, e.mark.line + 1),
                     "invalid YAML", e.msg);
  }
  CheckShape(root, source);
  if (!root.IsMap()) {
    throw SetupError(source,
                     "expected a mapping of keys such as model: and task:");
  }
  Parser p(source);
  MonitorSpec spec;
  spec.source = source;
  OutcomeSpec& o = spec.outcome;
  bool has_model = false;
  bool value_range_set = false;
  bool estimate_thresholds_set = false;
  std::set<std::string> seen;
  for (const auto& kv : root) {
    const std::string key = p.Key(kv.first, "");
    const YAML::Node& v = kv.second;
    if (!seen.insert(key).second) p.Fail(kv.first, key, "given twice");
    if (key == "model") {
      spec.model = p.Scalar(v, key);
      if (spec.model.empty()) p.Fail(v, key, "must not be empty");
      has_model = true;
    } else if (key == "version") {
      spec.version = p.Scalar(v, key);
    } else if (key == "endpoints") {
      spec.endpoints = p.Strings(v, key);
    } else if (key == "latency_buckets") {
      spec.latency_buckets = p.Buckets(v, key);
    } else if (key == "task") {
      o.task = ParseTask(p, v);
    } else if (key == "thresholds") {
      o.thresholds = p.Numbers(v, key);
    } else if (key == "classes") {
      o.classes = p.Strings(v, key);
    } else if (key == "k") {
      if (!v.IsSequence()) p.Fail(v, key, "expected a list of integers");
      o.k.clear();
      for (const auto& e : v) o.k.push_back(p.Count(e, key));
    } else if (key == "outcome_ttl") {
      o.outcome_ttl = p.Duration(v, key);
    } else if (key == "max_clock_skew") {
      o.max_clock_skew = p.Duration(v, key);
    } else if (key == "pending_capacity") {
      o.pending_capacity = p.Count(v, key);
    } else if (key == "segments") {
      ParseSegments(p, v, &spec.segments);
    } else if (key == "pending_store") {
      ParsePendingStore(p, v, DirectoryOf(source), &o.store);
    } else if (key == "windows") {
      if (!v.IsSequence()) p.Fail(v, key, "expected a list of durations");
      o.windows.clear();
      for (const auto& e : v) o.windows.push_back(p.Duration(e, key));
    } else if (key == "slices_per_window") {
      o.slices_per_window = p.Count(v, key);
    } else if (key == "auc_bins") {
      o.auc_bins = p.Count(v, key);
    } else if (key == "delay_buckets") {
      o.delay_buckets = p.Buckets(v, key);
    } else if (key == "score_buckets") {
      o.score_buckets = p.Buckets(v, key);
    } else if (key == "error_buckets") {
      o.error_buckets = p.Buckets(v, key);
    } else if (key == "rank_buckets") {
      o.rank_buckets = p.Buckets(v, key);
    } else if (key == "reference") {
      const std::string path = p.Scalar(v, key);
      if (path.empty()) p.Fail(v, key, "must not be empty");
      spec.reference_path = path[0] == '/' ? path : DirectoryOf(source) + path;
    } else if (key == "distribution") {
      ParseDistribution(p, v, &spec.distribution, &value_range_set,
                        &estimate_thresholds_set);
    } else if (key == "features") {
      ParseFeatures(p, v, &spec.features);
    } else if (key == "slo") {
      ParseSlo(p, v, &spec.slo);
    } else if (key == "heuristics") {
      if (!v.IsMap()) p.Fail(v, key, "expected a mapping");
      for (const auto& hkv : v) {
        const std::string hk = p.Key(hkv.first, "heuristics.");
        if (hk == "value_buckets") {
          spec.heuristic_value_buckets =
              p.Buckets(hkv.second, "heuristics." + hk);
        } else {
          p.Fail(hkv.first, "heuristics." + hk, "unknown key");
        }
      }
    } else {
      p.Fail(kv.first, key, "unknown key");
    }
  }
  // Defaults that follow the task: regression values are unbounded, and a
  // multiclass model counts its predicted classes.
  if (!value_range_set && o.task != OutcomeSpec::Task::kBinary) {
    spec.distribution.value_range = ResponseSpec::ValueRange::kUnbounded;
  }
  // A binary model's estimate is at its decision thresholds.
  if (!estimate_thresholds_set && o.task == OutcomeSpec::Task::kBinary) {
    spec.distribution.estimate_thresholds = o.thresholds;
  }
  o.segments = spec.segments;
  spec.distribution.segments = spec.segments;
  if (spec.distribution.classes.empty() &&
      o.task == OutcomeSpec::Task::kMulticlass) {
    spec.distribution.classes = o.classes;
  }
  if (!has_model) {
    throw SetupError(source + ": model", "is required");
  }
  return spec;
}

}  // namespace

MonitorSpec ParseMonitorSpec(std::string_view yaml, const std::string& source) {
  return OnlyConfigErrors(source, kOutOfMemory, [&] {
    return ParseMonitorSpecUnchecked(yaml, source);
  });
}

MonitorSpec LoadMonitorSpec(const std::string& path) {
  return OnlyConfigErrors(path, kOutOfMemory, [&] {
    return ParseMonitorSpecUnchecked(
        internal::ReadRegularFile(path, kMaxMonitorSpecBytes, "config file"),
        path);
  });
}

}  // namespace mlmon
