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

using internal::Excerpt;
using internal::kQuoteBytes;
using internal::OnlyConfigErrors;

constexpr const char* kOutOfMemory =
    "out of memory while reading the reference profile";

// A JSON value for a message, bounded whatever its size or depth: a string
// quoted (cut to kQuoteBytes), a scalar as written, a container by its type
// and size only (never dumped: it may be nested arbitrarily deep).
std::string Describe(const Json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    const std::string head =
        Json(s.substr(0, kQuoteBytes))
            .dump(-1, ' ', false, Json::error_handler_t::replace);
    return s.size() <= kQuoteBytes
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
        throw ConfigError(
            fmt::format("{}: JSON nested deeper than {} levels (byte {})",
                        source, max_depth, i + 1));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

// Parses the fields of one signal; every message names source and signal.
class SignalParser {
 public:
  SignalParser(const std::string& source, const std::string& name)
      : prefix_(fmt::format("{}: signal '{}': ", source, Excerpt(name))) {}

  [[noreturn]] void Fail(const std::string& what) const {
    throw ConfigError(prefix_ + what);
  }

  std::vector<double> Bounds(const Json& j, const char* field) const {
    std::vector<double> out = Numbers(j, field);
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (!std::isfinite(out[i])) {
        Fail(fmt::format("{}[{}] = {} is not finite", field, i, out[i]));
      }
      if (i > 0 && !(out[i] > out[i - 1])) {
        Fail(fmt::format(
            "{} must be strictly increasing: {}[{}] = {} after {}[{}] = {}",
            field, field, i, out[i], field, i - 1, out[i - 1]));
      }
    }
    return out;
  }

  std::vector<double> Counts(const Json& j, const char* field,
                             std::size_t expected,
                             const char* bounds_field) const {
    std::vector<double> out = Numbers(j, field);
    for (std::size_t i = 0; i < out.size(); ++i) {
      CheckCount(out[i], fmt::format("{}[{}]", field, i));
    }
    if (out.size() != expected) {
      Fail(fmt::format("{} has {} values, expected {} ({} + 1)", field,
                       out.size(), expected, bounds_field));
    }
    return out;
  }

  void CheckCount(double v, const std::string& where) const {
    if (!std::isfinite(v)) Fail(fmt::format("{} = {} is not finite", where, v));
    if (v < 0) Fail(fmt::format("{} = {} is negative", where, v));
  }

 private:
  std::vector<double> Numbers(const Json& j, const char* field) const {
    if (!j.is_array()) {
      Fail(fmt::format("{}: expected an array of numbers, got {}", field,
                       TypeName(j)));
    }
    std::vector<double> out;
    out.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_number()) {
        Fail(fmt::format("{}[{}]: expected a number, got {}", field, i,
                         TypeName(j[i])));
      }
      out.push_back(j[i].get<double>());
    }
    return out;
  }

  std::string prefix_;
};

SignalProfile ParseSignal(const std::string& source, const std::string& name,
                          const Json& j) {
  const SignalParser p(source, name);
  if (!j.is_object())
    p.Fail(fmt::format("expected an object, got {}", TypeName(j)));
  const auto type_it = j.find("type");
  if (type_it == j.end())
    p.Fail("type: missing (\"numeric\" or \"categorical\")");
  const std::string type =
      type_it->is_string() ? type_it->get<std::string>() : "";
  SignalProfile s;
  if (type == kNumeric) {
    s.type = SignalProfile::Type::kNumeric;
    for (const auto& [key, value] : j.items()) {
      (void)value;
      if (key != "type" && key != "bounds" && key != "counts" &&
          key != "log10_bounds" && key != "log10_counts") {
        p.Fail(fmt::format("unknown field '{}' for a numeric signal",
                           Excerpt(key)));
      }
    }
    if (!j.contains("bounds")) p.Fail("bounds: missing");
    if (!j.contains("counts")) p.Fail("counts: missing");
    s.numeric.bounds = p.Bounds(j.at("bounds"), "bounds");
    s.numeric.counts = p.Counts(j.at("counts"), "counts",
                                s.numeric.bounds.size() + 1, "bounds");
    const bool has_lb = j.contains("log10_bounds");
    const bool has_lc = j.contains("log10_counts");
    if (has_lb != has_lc) {
      p.Fail(has_lb ? "log10_bounds given without log10_counts"
                    : "log10_counts given without log10_bounds");
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
        p.Fail(fmt::format("unknown field '{}' for a categorical signal",
                           Excerpt(key)));
      }
    }
    if (!j.contains("counts")) p.Fail("counts: missing");
    const Json& counts = j.at("counts");
    if (!counts.is_object()) {
      p.Fail(
          fmt::format("counts: expected an object of category -> count, got {}",
                      TypeName(counts)));
    }
    if (counts.size() > ReferenceProfile::kMaxCategories) {
      p.Fail(fmt::format("counts has {} categories, more than {}",
                         counts.size(), ReferenceProfile::kMaxCategories));
    }
    for (const auto& [category, count] : counts.items()) {
      const std::string where = fmt::format("counts['{}']", Excerpt(category));
      if (category.size() > ReferenceProfile::kMaxCategoryBytes) {
        p.Fail(fmt::format("{}: category name of {} bytes, longer than {}",
                           where, category.size(),
                           ReferenceProfile::kMaxCategoryBytes));
      }
      if (!count.is_number()) {
        p.Fail(fmt::format("{}: expected a number, got {}", where,
                           TypeName(count)));
      }
      const double v = count.get<double>();
      p.CheckCount(v, where);
      s.categories.emplace(category, v);
    }
  } else {
    p.Fail(fmt::format("type: expected \"{}\" or \"{}\", got {}", kNumeric,
                       kCategorical, Describe(*type_it)));
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

std::string ProfileName(const ReferenceProfile& p) {
  return p.model.empty()
             ? std::string("reference profile")
             : fmt::format("reference profile of model '{}'", p.model);
}

const SignalProfile& Find(const ReferenceProfile& p, const std::string& signal,
                          SignalProfile::Type type) {
  const auto it = p.signals.find(signal);
  if (it == p.signals.end()) {
    throw ConfigError(fmt::format("{}: no signal '{}' (it has: {})",
                                  ProfileName(p), signal, SignalNames(p)));
  }
  if (it->second.type != type) {
    const bool numeric = type == SignalProfile::Type::kNumeric;
    throw ConfigError(fmt::format(
        "{}: signal '{}' is {}, expected {}", ProfileName(p), signal,
        numeric ? kCategorical : kNumeric, numeric ? kNumeric : kCategorical));
  }
  return it->second;
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
    throw ConfigError(fmt::format("{}: {} bytes, more than the {} accepted",
                                  source, json.size(),
                                  ReferenceProfile::kMaxBytes));
  }
  CheckDepth(json, ReferenceProfile::kMaxDepth, source);
  Json root;
  try {
    root = Json::parse(json);
  } catch (const Json::exception& e) {
    // parse_error, or out_of_range for a number like 1e999.
    // The library's message quotes the offending token whole.
    throw ConfigError(fmt::format("{}: invalid JSON: {}", source,
                                  Excerpt(e.what(), 4 * kQuoteBytes)));
  }
  if (!root.is_object()) {
    throw ConfigError(fmt::format("{}: expected a JSON object, got {}", source,
                                  TypeName(root)));
  }
  const auto format = root.find("format");
  if (format == root.end()) {
    throw ConfigError(
        fmt::format("{}: format: missing (expected \"{}\")", source, kFormat));
  }
  if (!format->is_string() || format->get<std::string>() != kFormat) {
    throw ConfigError(fmt::format("{}: format: expected \"{}\", got {}", source,
                                  kFormat, Describe(*format)));
  }
  ReferenceProfile profile;
  if (const auto model = root.find("model"); model != root.end()) {
    if (!model->is_string()) {
      throw ConfigError(fmt::format("{}: model: expected a string, got {}",
                                    source, TypeName(*model)));
    }
    profile.model = model->get<std::string>();
  }
  const auto signals = root.find("signals");
  if (signals == root.end()) {
    throw ConfigError(fmt::format("{}: signals: missing", source));
  }
  if (!signals->is_object()) {
    throw ConfigError(fmt::format("{}: signals: expected an object, got {}",
                                  source, TypeName(*signals)));
  }
  for (const auto& [name, value] : signals->items()) {
    profile.signals.emplace(name, ParseSignal(source, name, value));
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
  out += first ? "}\n" : "\n  }\n";
  out += "}\n";
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
    throw ConfigError(fmt::format("{}: cannot write reference profile ({}): {}",
                                  path, what, std::strerror(err)));
  };
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    throw ConfigError(
        fmt::format("{}: cannot write reference profile (create {}): {}", path,
                    tmp, std::strerror(errno)));
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
    throw ConfigError(fmt::format(
        "{}: signal '{}' is binned on bounds {}, but the configured bounds "
        "are {}; rebuild the profile with `mlmon profile`",
        ProfileName(*this), signal, ShortList(s.numeric.bounds),
        ShortList(bounds)));
  }
  return s.numeric;
}

const std::map<std::string, double>& ReferenceProfile::CategoriesFor(
    const std::string& signal) const {
  return Find(*this, signal, SignalProfile::Type::kCategorical).categories;
}

}  // namespace mlmon
