#include "mlmon/reference_profile.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "internal/bucket_bounds.h"
#include "internal/config_errors.h"
#include "internal/spec_checks.h"
#include "mlmon/errors.h"

namespace mlmon {
namespace {

using Json = nlohmann::json;

constexpr const char* kFormat = "mlmon-reference/1";
constexpr const char* kNumeric = "numeric";
constexpr const char* kCategorical = "categorical";
// Bounds that went through JSON (or another writer's float formatting) still
// match configured ones within this relative tolerance.
constexpr double kBoundsRelTolerance = 1e-12;

// "[0.1, 0.2, 0.5, ..., 50, 100] (12 values)": long lists shortened.
std::string ShortList(const std::vector<double>& v) {
  constexpr std::size_t kHead = 4, kTail = 2;
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v.size() > kHead + kTail + 1 && i == kHead) {
      s += "..., ";
      i = v.size() - kTail;
    }
    s += fmt::format("{}{}", v[i], i + 1 < v.size() ? ", " : "");
  }
  s += "]";
  if (v.size() > kHead + kTail + 1) s += fmt::format(" ({} values)", v.size());
  return s;
}

std::string TypeName(const Json& j) { return j.type_name(); }

using internal::CheckBucketBounds;
using internal::Excerpt;
using internal::kQuoteBytes;
using internal::OnlyConfigErrors;
using internal::SetupError;

constexpr const char* kOutOfMemory =
    "out of memory while reading the reference profile";

// A JSON value for a message, bounded whatever its size or depth: a string
// quoted (cut to kDescribeBytes, so that the whole description fits in the
// kQuoteBytes that SetupError quotes), a scalar as written, a container by
// its type and size only (never dumped: it may be nested arbitrarily deep).
constexpr std::size_t kDescribeBytes = kQuoteBytes / 2;
std::string Describe(const Json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    const std::string head =
        Json(s.substr(0, kDescribeBytes))
            .dump(-1, ' ', false, Json::error_handler_t::replace);
    return s.size() <= kDescribeBytes
               ? head
               : fmt::format("{}... ({} bytes)", head, s.size());
  }
  if (j.is_array()) return fmt::format("an array of {} values", j.size());
  if (j.is_object()) return fmt::format("an object of {} fields", j.size());
  return j.dump();
}

// Refuses text whose arrays and objects nest deeper than `max_depth`,
// scanning the bytes before any parser sees them (parsers and the
// destruction of their trees recurse on nesting).
void CheckDepth(std::string_view text, std::size_t max_depth,
                const std::string& source) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        throw SetupError(
            source, fmt::format("JSON nested deeper than {} levels", max_depth),
            fmt::format("byte {}", i + 1));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

// Parses the fields of one signal; every message names the source and the
// key path, "<source>: signals.<name>.<field>".
class SignalParser {
 public:
  SignalParser(const std::string& source, const std::string& name)
      : where_(fmt::format("{}: signals.{}", source, Excerpt(name))) {}

  // "<source>: signals.<name>" followed by `field` (".bounds", "[2]", ...).
  std::string Where(std::string_view field = {}) const {
    return where_ + std::string(field);
  }

  [[noreturn]] void Fail(std::string_view field, std::string_view what,
                         std::string_view value = {}) const {
    throw SetupError(Where(field), what, value);
  }

  std::vector<double> Bounds(const Json& j, const char* field) const {
    std::vector<double> out = Numbers(j, field);
    // An empty list is left to the counts check (one count, no bound).
    if (!out.empty()) CheckBucketBounds(Where(Dot(field)), out);
    return out;
  }

  std::vector<double> Counts(const Json& j, const char* field,
                             std::size_t expected,
                             const char* bounds_field) const {
    std::vector<double> out = Numbers(j, field);
    for (std::size_t i = 0; i < out.size(); ++i) {
      CheckCount(out[i], fmt::format(".{}[{}]", field, i));
    }
    if (out.size() != expected) {
      Fail(Dot(field),
           fmt::format("not {} values, one more than {}", expected,
                       bounds_field),
           fmt::format("{} values", out.size()));
    }
    return out;
  }

  void CheckCount(double v, std::string_view field) const {
    if (!std::isfinite(v)) Fail(field, "not finite", fmt::format("{}", v));
    if (v < 0) Fail(field, "negative", fmt::format("{}", v));
  }

  static std::string Dot(std::string_view field) {
    return fmt::format(".{}", field);
  }

 private:
  std::vector<double> Numbers(const Json& j, const char* field) const {
    if (!j.is_array()) {
      Fail(Dot(field), "expected an array of numbers", TypeName(j));
    }
    std::vector<double> out;
    out.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_number()) {
        Fail(fmt::format(".{}[{}]", field, i), "expected a number",
             TypeName(j[i]));
      }
      out.push_back(j[i].get<double>());
    }
    return out;
  }

  std::string where_;
};

SignalProfile ParseSignal(const std::string& source, const std::string& name,
                          const Json& j) {
  const SignalParser p(source, name);
  if (!j.is_object()) p.Fail({}, "expected an object", TypeName(j));
  const auto type_it = j.find("type");
  if (type_it == j.end()) {
    p.Fail(".type", fmt::format("missing; expected \"{}\" or \"{}\"", kNumeric,
                                kCategorical));
  }
  const std::string type =
      type_it->is_string() ? type_it->get<std::string>() : "";
  SignalProfile s;
  if (type == kNumeric) {
    s.type = SignalProfile::Type::kNumeric;
    for (const auto& [key, value] : j.items()) {
      (void)value;
      if (key != "type" && key != "bounds" && key != "counts" &&
          key != "log10_bounds" && key != "log10_counts") {
        p.Fail(SignalParser::Dot(Excerpt(key)),
               "unknown field of a numeric signal");
      }
    }
    if (!j.contains("bounds")) p.Fail(".bounds", "missing");
    if (!j.contains("counts")) p.Fail(".counts", "missing");
    s.numeric.bounds = p.Bounds(j.at("bounds"), "bounds");
    s.numeric.counts = p.Counts(j.at("counts"), "counts",
                                s.numeric.bounds.size() + 1, "bounds");
    const bool has_lb = j.contains("log10_bounds");
    const bool has_lc = j.contains("log10_counts");
    if (has_lb != has_lc) {
      p.Fail(
          has_lb ? ".log10_bounds" : ".log10_counts",
          has_lb ? "given without log10_counts" : "given without log10_bounds");
    }
    if (has_lb) {
      s.log10.bounds = p.Bounds(j.at("log10_bounds"), "log10_bounds");
      s.log10.counts = p.Counts(j.at("log10_counts"), "log10_counts",
                                s.log10.bounds.size() + 1, "log10_bounds");
    }
  } else if (type == kCategorical) {
    s.type = SignalProfile::Type::kCategorical;
    for (const auto& [key, value] : j.items()) {
      (void)value;
      if (key != "type" && key != "counts") {
        p.Fail(SignalParser::Dot(Excerpt(key)),
               "unknown field of a categorical signal");
      }
    }
    if (!j.contains("counts")) p.Fail(".counts", "missing");
    const Json& counts = j.at("counts");
    if (!counts.is_object()) {
      p.Fail(".counts", "expected an object of category -> count",
             TypeName(counts));
    }
    if (counts.size() > ReferenceProfile::kMaxCategories) {
      p.Fail(".counts",
             fmt::format("more than {} categories",
                         ReferenceProfile::kMaxCategories),
             fmt::format("{} categories", counts.size()));
    }
    for (const auto& [category, count] : counts.items()) {
      const std::string where = fmt::format(".counts.{}", Excerpt(category));
      if (category.size() > ReferenceProfile::kMaxCategoryBytes) {
        p.Fail(where,
               fmt::format("category name longer than {} bytes",
                           ReferenceProfile::kMaxCategoryBytes),
               fmt::format("{} bytes", category.size()));
      }
      if (!count.is_number())
        p.Fail(where, "expected a number", TypeName(count));
      const double v = count.get<double>();
      p.CheckCount(v, where);
      s.categories.emplace(category, v);
    }
  } else {
    p.Fail(".type",
           fmt::format("expected \"{}\" or \"{}\"", kNumeric, kCategorical),
           Describe(*type_it));
  }
  return s;
}

// A count or bound as JSON: integral values as integers ("12", not "12.0"),
// everything else as a double (nlohmann's shortest round-trip form).
Json Number(double v) {
  constexpr double kMaxExact = 9007199254740992.0;  // 2^53
  if (std::isfinite(v) && std::fabs(v) <= kMaxExact && v == std::trunc(v)) {
    return Json(static_cast<std::int64_t>(v));
  }
  return Json(v);  // non-finite is written as null and rejected by Parse
}

Json Numbers(const std::vector<double>& v) {
  Json a = Json::array();
  for (double x : v) a.push_back(Number(x));
  return a;
}

bool SameBounds(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    const double scale = std::max(std::fabs(a[i]), std::fabs(b[i]));
    if (!(std::fabs(a[i] - b[i]) <= kBoundsRelTolerance * scale)) return false;
  }
  return true;
}

std::string SignalNames(const ReferenceProfile& p) {
  std::string s;
  for (const auto& [name, sig] : p.signals) {
    (void)sig;
    s += (s.empty() ? "'" : ", '") + name + "'";
  }
  return s.empty() ? "none" : s;
}

const SignalProfile& Find(const ReferenceProfile& p, const std::string& signal,
                          SignalProfile::Type type) {
  const auto it = p.signals.find(signal);
  if (it == p.signals.end()) {
    throw SetupError(
        fmt::format("ReferenceProfile.signals.{}", Excerpt(signal)), "missing",
        fmt::format("it has {}", SignalNames(p)));
  }
  if (it->second.type != type) {
    const bool numeric = type == SignalProfile::Type::kNumeric;
    throw SetupError(
        fmt::format("ReferenceProfile.signals.{}.type", Excerpt(signal)),
        fmt::format("not {}", numeric ? kNumeric : kCategorical),
        numeric ? kCategorical : kNumeric);
  }
  return it->second;
}

// `"calibration": {"x": [...], "y": [...]}`, checked knot by knot.
CalibrationMap ParseCalibration(const std::string& source, const Json& j) {
  const std::string where = source + ": calibration";
  if (!j.is_object()) {
    throw SetupError(where, "expected an object {\"x\": [...], \"y\": [...]}",
                     TypeName(j));
  }
  CalibrationMap map;
  for (const auto& [key, value] : j.items()) {
    if (key != "x" && key != "y") {
      throw SetupError(where + "." + Excerpt(key),
                       "unknown field of the calibration");
    }
    if (!value.is_array()) {
      throw SetupError(where + "." + key, "expected an array of numbers",
                       TypeName(value));
    }
    if (value.size() > CalibrationMap::kMaxKnots) {
      throw SetupError(
          where + "." + key,
          fmt::format("more than {} knots", CalibrationMap::kMaxKnots),
          fmt::format("{} values", value.size()));
    }
    std::vector<double>& out = key == "x" ? map.x : map.y;
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_number()) {
        throw SetupError(fmt::format("{}.{}[{}]", where, key, i),
                         "expected a number", Describe(value[i]));
      }
      out.push_back(value[i].get<double>());
    }
  }
  if (!j.contains("x")) throw SetupError(where + ".x", "missing");
  if (!j.contains("y")) throw SetupError(where + ".y", "missing");
  if (map.x.empty()) throw SetupError(where + ".x", "no knots");
  CheckCalibration(map, where);
  return map;
}

}  // namespace

const std::vector<double>& DefaultLog10Bounds() {
  static const std::vector<double> bounds = [] {
    std::vector<double> b;
    for (int e = -9; e <= 12; ++e) b.push_back(static_cast<double>(e));
    return b;
  }();
  return bounds;
}

namespace {

ReferenceProfile ParseChecked(const std::string& json,
                              const std::string& source) {
  if (json.size() > ReferenceProfile::kMaxBytes) {
    throw SetupError(source,
                     fmt::format("more than the {} bytes accepted",
                                 ReferenceProfile::kMaxBytes),
                     fmt::format("{} bytes", json.size()));
  }
  CheckDepth(json, ReferenceProfile::kMaxDepth, source);
  Json root;
  try {
    root = Json::parse(json);
  } catch (const Json::exception& e) {
    // parse_error, or out_of_range for a number like 1e999.
    // The library's message quotes the offending token whole.
    throw SetupError(source, fmt::format("invalid JSON: {}",
                                         Excerpt(e.what(), 4 * kQuoteBytes)));
  }
  if (!root.is_object()) {
    throw SetupError(source, "expected a JSON object", TypeName(root));
  }
  const auto format = root.find("format");
  if (format == root.end()) {
    throw SetupError(source + ": format",
                     fmt::format("missing; expected \"{}\"", kFormat));
  }
  if (!format->is_string() || format->get<std::string>() != kFormat) {
    throw SetupError(source + ": format",
                     fmt::format("expected \"{}\"", kFormat),
                     Describe(*format));
  }
  ReferenceProfile profile;
  if (const auto model = root.find("model"); model != root.end()) {
    if (!model->is_string()) {
      throw SetupError(source + ": model", "expected a string",
                       TypeName(*model));
    }
    profile.model = model->get<std::string>();
  }
  const auto signals = root.find("signals");
  if (signals == root.end()) {
    throw SetupError(source + ": signals", "missing");
  }
  if (!signals->is_object()) {
    throw SetupError(source + ": signals", "expected an object",
                     TypeName(*signals));
  }
  for (const auto& [name, value] : signals->items()) {
    profile.signals.emplace(name, ParseSignal(source, name, value));
  }
  if (const auto cal = root.find("calibration"); cal != root.end()) {
    profile.calibration = ParseCalibration(source, *cal);
  }
  return profile;
}

}  // namespace

ReferenceProfile ReferenceProfile::Parse(const std::string& json,
                                         const std::string& source) {
  return OnlyConfigErrors(source, kOutOfMemory,
                          [&] { return ParseChecked(json, source); });
}

ReferenceProfile ReferenceProfile::Load(const std::string& path) {
  return OnlyConfigErrors(path, kOutOfMemory, [&] {
    return ParseChecked(
        internal::ReadRegularFile(path, kMaxBytes, "reference profile"), path);
  });
}

std::string ReferenceProfile::ToJson() const {
  // Stable order: format, model, signals by name; in a signal: type, then
  // the arrays. One array per line keeps the file readable and diffable.
  std::string out = "{\n";
  out += fmt::format("  \"format\": {},\n", Json(kFormat).dump());
  out += fmt::format("  \"model\": {},\n", Json(model).dump());
  out += "  \"signals\": {";
  bool first = true;
  for (const auto& [name, s] : signals) {
    out += first ? "\n" : ",\n";
    first = false;
    out += fmt::format("    {}: {{\n", Json(name).dump());
    if (s.type == SignalProfile::Type::kCategorical) {
      Json counts = Json::object();  // std::map order: sorted by category
      for (const auto& [category, count] : s.categories) {
        counts[category] = Number(count);
      }
      out += fmt::format("      \"type\": \"{}\",\n", kCategorical);
      out += fmt::format("      \"counts\": {}\n", counts.dump());
    } else {
      out += fmt::format("      \"type\": \"{}\",\n", kNumeric);
      out += fmt::format("      \"bounds\": {},\n",
                         Numbers(s.numeric.bounds).dump());
      out +=
          fmt::format("      \"counts\": {}", Numbers(s.numeric.counts).dump());
      if (!s.log10.bounds.empty() || !s.log10.counts.empty()) {
        out += fmt::format(",\n      \"log10_bounds\": {},\n",
                           Numbers(s.log10.bounds).dump());
        out += fmt::format("      \"log10_counts\": {}",
                           Numbers(s.log10.counts).dump());
      }
      out += "\n";
    }
    out += "    }";
  }
  out += first ? "}" : "\n  }";
  if (!calibration.empty()) {
    out += ",\n  \"calibration\": {\n";
    out += fmt::format("    \"x\": {},\n", Json(calibration.x).dump());
    out += fmt::format("    \"y\": {}\n", Json(calibration.y).dump());
    out += "  }";
  }
  out += "\n}\n";
  return out;
}

void ReferenceProfile::Save(const std::string& path) const {
  const std::string text = ToJson();
  // A unique temporary next to the target, so rename() is atomic (same file
  // system) and concurrent writers never share one.
  static std::atomic<unsigned> counter{0};
  const std::string tmp =
      fmt::format("{}.tmp.{}.{}", path, static_cast<long>(::getpid()),
                  counter.fetch_add(1, std::memory_order_relaxed));
  const auto fail = [&](const char* what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw SetupError(
        path,
        fmt::format("cannot write the reference profile: {} failed", what),
        std::strerror(err));
  };
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    throw SetupError(path,
                     fmt::format("cannot write the reference profile: cannot "
                                 "create {}",
                                 tmp),
                     std::strerror(errno));
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      errno = err;
      fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    fail("fsync");
  }
  if (::close(fd) != 0) fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
}

const BinnedCounts& ReferenceProfile::NumericFor(
    const std::string& signal, const std::vector<double>& bounds) const {
  const SignalProfile& s = Find(*this, signal, SignalProfile::Type::kNumeric);
  if (!SameBounds(s.numeric.bounds, bounds)) {
    throw SetupError(
        fmt::format("ReferenceProfile.signals.{}.bounds", Excerpt(signal)),
        fmt::format("not the configured bounds {}; rebuild the profile with "
                    "`mlmon profile`",
                    ShortList(bounds)),
        ShortList(s.numeric.bounds));
  }
  return s.numeric;
}

const std::map<std::string, double>& ReferenceProfile::CategoriesFor(
    const std::string& signal) const {
  return Find(*this, signal, SignalProfile::Type::kCategorical).categories;
}

}  // namespace mlmon
