#include "exposition_grammar.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>

namespace mlmon_fuzz {
namespace {

bool IsMetricNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == ':';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsMetricName(std::string_view s) {
  if (s.empty() || !IsMetricNameStart(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsMetricNameStart(c) || IsDigit(c); });
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || s[0] == ':' || !IsMetricNameStart(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (IsMetricNameStart(c) && c != ':') || IsDigit(c);
  });
}

// A sample value: NaN, +Inf, -Inf or a decimal float.
bool ParseFloatToken(std::string_view s, double* out) {
  if (s == "NaN") {
    *out = std::nan("");
    return true;
  }
  if (s == "+Inf") {
    *out = HUGE_VAL;
    return true;
  }
  if (s == "-Inf") {
    *out = -HUGE_VAL;
    return true;
  }
  if (s.empty()) return false;
  bool digit = false;
  for (char c : s) {
    if (IsDigit(c)) {
      digit = true;
    } else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E') {
      return false;
    }
  }
  if (!digit) return false;
  const std::string copy(s);
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
}

bool IsInteger(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

// Unescapes a HELP text (`\\`, `\n`); false on any other escape.
bool UnescapeHelp(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') continue;
    if (i + 1 >= s.size() || (s[i + 1] != '\\' && s[i + 1] != 'n')) {
      return false;
    }
    ++i;
  }
  return true;
}

struct Family {
  std::string type;  // "" until a TYPE line
  bool help = false;
  bool has_samples = false;
  bool ended = false;  // another family's samples came after ours
};

struct HistogramSeries {
  double last_le = -HUGE_VAL;
  double last_count = 0;
  bool seen_bucket = false;
  bool inf_seen = false;
  double inf_count = 0;
  bool count_seen = false;
  double count = 0;
};

class Checker {
 public:
  explicit Checker(std::vector<Sample>* samples) : samples_(samples) {}

  std::optional<std::string> Run(std::string_view text) {
    if (!IsValidUtf8(text)) return std::string("not valid UTF-8");
    if (!text.empty() && text.back() != '\n') {
      return std::string("does not end with a newline");
    }
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t end = text.find('\n', pos);
      ++line_no_;
      const std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      if (auto err = Line(line)) {
        return "line " + std::to_string(line_no_) + ": " + *err + " in '" +
               std::string(line.substr(0, 300)) + "'";
      }
    }
    for (const auto& [key, h] : histograms_) {
      if (!h.inf_seen) return "histogram series without +Inf bucket: " + key;
      if (!h.count_seen) return "histogram series without _count: " + key;
      if (h.count != h.inf_count) {
        return "histogram _count differs from its +Inf bucket: " + key;
      }
    }
    return std::nullopt;
  }

 private:
  std::optional<std::string> Line(std::string_view line) {
    if (line.empty()) return std::string("empty line");
    if (line[0] == '#') return Comment(line);
    return SampleLine(line);
  }

  std::optional<std::string> Comment(std::string_view line) {
    const bool help = line.rfind("# HELP ", 0) == 0;
    const bool type = line.rfind("# TYPE ", 0) == 0;
    if (!help && !type) return std::nullopt;  // a plain comment
    std::string_view rest = line.substr(7);
    const std::size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) return std::string("missing text");
    const std::string_view name = rest.substr(0, sp);
    const std::string_view arg = rest.substr(sp + 1);
    if (!IsMetricName(name)) return std::string("invalid metric name");
    Family& f = families_[std::string(name)];
    if (f.has_samples) return std::string("HELP/TYPE after the samples");
    if (help) {
      if (f.help) return std::string("second HELP");
      f.help = true;
      if (!UnescapeHelp(arg)) return std::string("bad escape in HELP");
      return std::nullopt;
    }
    if (!f.type.empty()) return std::string("second TYPE");
    if (arg != "counter" && arg != "gauge" && arg != "histogram" &&
        arg != "summary" && arg != "untyped") {
      return std::string("unknown TYPE");
    }
    f.type = std::string(arg);
    return std::nullopt;
  }

  std::optional<std::string> SampleLine(std::string_view line) {
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (!IsMetricName(s.name)) return std::string("invalid metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      std::set<std::string> names;
      while (true) {
        if (i >= line.size()) return std::string("unterminated label set");
        if (line[i] == '}') {
          ++i;
          break;
        }
        const std::size_t eq = line.find('=', i);
        if (eq == std::string_view::npos)
          return std::string("label without '='");
        const std::string label(line.substr(i, eq - i));
        if (!IsLabelName(label)) return "invalid label name '" + label + "'";
        if (!names.insert(label).second) return "label '" + label + "' twice";
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') {
          return std::string("label value not quoted");
        }
        ++i;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c != '\\') {
            value.push_back(c);
            continue;
          }
          if (i >= line.size()) break;
          const char e = line[i++];
          if (e == '\\') {
            value.push_back('\\');
          } else if (e == '"') {
            value.push_back('"');
          } else if (e == 'n') {
            value.push_back('\n');
          } else {
            return std::string("bad escape in label value");
          }
        }
        if (!closed) return std::string("unterminated label value");
        s.labels.emplace_back(label, std::move(value));
        if (i < line.size() && line[i] == ',') {
          ++i;
        } else if (i >= line.size() || line[i] != '}') {
          return std::string("expected ',' or '}' after a label");
        }
      }
    }
    if (i >= line.size() || line[i] != ' ') {
      return std::string("expected a space before the value");
    }
    ++i;
    std::string_view rest = line.substr(i);
    const std::size_t sp = rest.find(' ');
    const std::string_view value = rest.substr(0, sp);
    double v = 0;
    if (!ParseFloatToken(value, &v)) return std::string("invalid value");
    if (sp != std::string_view::npos && !IsInteger(rest.substr(sp + 1))) {
      return std::string("invalid timestamp");
    }
    s.value = std::string(value);
    if (auto err = Place(s, v)) return err;
    if (samples_ != nullptr) samples_->push_back(std::move(s));
    return std::nullopt;
  }

  // The family of a sample, contiguity, duplicates, histogram rules.
  std::optional<std::string> Place(const Sample& s, double v) {
    std::string family = s.name;
    std::string suffix;
    if (families_.count(s.name) == 0 || families_[s.name].type.empty()) {
      for (const char* suf : {"_bucket", "_sum", "_count"}) {
        const std::string_view sv(suf);
        if (s.name.size() > sv.size() &&
            s.name.compare(s.name.size() - sv.size(), sv.size(), sv) == 0) {
          const std::string base = s.name.substr(0, s.name.size() - sv.size());
          auto it = families_.find(base);
          if (it != families_.end() && (it->second.type == "histogram" ||
                                        it->second.type == "summary")) {
            family = base;
            suffix = suf;
          }
        }
      }
    }
    Family& f = families_[family];
    if (f.type == "histogram" && suffix.empty()) {
      return std::string("histogram sample without _bucket/_sum/_count");
    }
    if (family != current_) {
      if (f.ended || f.has_samples) {
        return "samples of '" + family + "' are not contiguous";
      }
      if (!current_.empty()) families_[current_].ended = true;
      current_ = family;
    }
    f.has_samples = true;

    auto sorted = s.labels;
    std::sort(sorted.begin(), sorted.end());
    std::string key = s.name;
    for (const auto& [n, val] : sorted) {
      key += '\0' + n + '\0' + val;
    }
    if (!series_.insert(key).second) return std::string("duplicate series");

    if (f.type != "histogram") return std::nullopt;
    std::string hkey = family;
    const std::string* le = nullptr;
    for (const auto& [n, val] : sorted) {
      if (n == "le") {
        le = &val;
        continue;
      }
      hkey += '\0' + n + '\0' + val;
    }
    HistogramSeries& h = histograms_[hkey];
    if (suffix == "_bucket") {
      if (le == nullptr) return std::string("bucket without le");
      double bound = 0;
      if (!ParseFloatToken(*le, &bound) || std::isnan(bound)) {
        return std::string("invalid le");
      }
      if (h.inf_seen) return std::string("bucket after +Inf");
      if (h.seen_bucket && !(bound > h.last_le)) {
        return std::string("le not increasing");
      }
      if (h.seen_bucket && v < h.last_count) {
        return std::string("bucket counts decrease");
      }
      h.seen_bucket = true;
      h.last_le = bound;
      h.last_count = v;
      if (std::isinf(bound) && bound > 0) {
        h.inf_seen = true;
        h.inf_count = v;
      }
    } else if (le != nullptr) {
      return std::string("le on a _sum/_count sample");
    } else if (suffix == "_count") {
      h.count_seen = true;
      h.count = v;
    }
    return std::nullopt;
  }

  std::vector<Sample>* samples_;
  std::size_t line_no_ = 0;
  std::map<std::string, Family> families_;
  std::string current_;
  std::set<std::string> series_;
  std::map<std::string, HistogramSeries> histograms_;
};

}  // namespace

bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      n = 1;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::optional<std::string> CheckExposition(std::string_view text,
                                           std::vector<Sample>* samples) {
  return Checker(samples).Run(text);
}

}  // namespace mlmon_fuzz
