#include "exposition_checker.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace mlmon {
namespace testutil {
namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 (RFC 3629 table 3-7:
// no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 == 0xE0) {
    n = 3, lo = 0xA0;
  } else if (b0 == 0xED) {
    n = 3, hi = 0x9F;
  } else if (b0 >= 0xE1 && b0 <= 0xEF) {
    n = 3;
  } else if (b0 == 0xF0) {
    n = 4, lo = 0x90;
  } else if (b0 >= 0xF1 && b0 <= 0xF3) {
    n = 4;
  } else if (b0 == 0xF4) {
    n = 4, hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n;
}

bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (!(IsAlpha(c) || c == ':' || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

bool IsLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (!(IsAlpha(c) || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

// `NaN`, `+Inf`, `-Inf` or [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)?
bool ParseValue(std::string_view s, double* out) {
  if (s == "NaN") {
    *out = std::nan("");
    return true;
  }
  if (s == "+Inf" || s == "-Inf") {
    *out = s[0] == '+' ? HUGE_VAL : -HUGE_VAL;
    return true;
  }
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (i != s.size()) return false;
  *out = std::strtod(std::string(s).c_str(), nullptr);
  return true;
}

bool IsTimestamp(std::string_view s) {
  std::size_t i = s.size() > 0 && s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!IsDigit(s[i])) return false;
  }
  return true;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

struct FamilyState {
  std::string type;  // empty: no TYPE line (untyped)
  bool help = false;
  bool samples = false;
  bool closed = false;  // another family's line came after this one's
};

struct HistogramSeries {
  double last_le = -HUGE_VAL;
  double last_count = 0;
  bool any_bucket = false;
  bool inf_seen = false;
  double inf_count = 0;
  bool count_seen = false;
  double count = 0;
  std::size_t line = 0;
};

class Checker {
 public:
  explicit Checker(std::vector<ExpositionSample>* samples)
      : samples_(samples) {}

  std::optional<std::string> Run(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
      if (text[i] == '\0') return Fail(LineOf(text, i), "NUL byte", "");
      const std::size_t n = Utf8Length(text, i);
      if (n == 0) return Fail(LineOf(text, i), "invalid UTF-8", "");
      i += n;
    }
    if (!text.empty() && text.back() != '\n') {
      return Fail(LineOf(text, text.size() - 1), "last line not ended by \\n",
                  "");
    }
    std::size_t start = 0;
    line_no_ = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      ++line_no_;
      line_ = text.substr(start, end - start);
      if (auto problem = Line()) return problem;
      start = end + 1;
    }
    return Finish();
  }

 private:
  static std::size_t LineOf(std::string_view text, std::size_t pos) {
    return 1 + static_cast<std::size_t>(
                   std::count(text.begin(), text.begin() + pos, '\n'));
  }

  std::optional<std::string> Fail(std::size_t line, const std::string& what,
                                  std::string_view text) const {
    std::string msg = "line " + std::to_string(line) + ": " + what;
    if (!text.empty()) {
      msg += ": ";
      msg.append(text.substr(0, 200));
    }
    return msg;
  }
  std::optional<std::string> Fail(const std::string& what) const {
    return Fail(line_no_, what, line_);
  }

  std::optional<std::string> Line() {
    if (line_.empty()) return Fail("empty line");
    if (line_[0] == '#') {
      if (line_.substr(0, 7) == "# HELP ") return Help();
      if (line_.substr(0, 7) == "# TYPE ") return Type();
      return std::nullopt;  // a comment
    }
    return Sample();
  }

  // Moves to family `name`, checking that its lines are contiguous.
  std::optional<std::string> Enter(const std::string& name) {
    if (name == current_) return std::nullopt;
    if (!current_.empty()) families_[current_].closed = true;
    current_ = name;
    if (families_[name].closed) {
      return Fail("lines of family '" + name + "' are not contiguous");
    }
    return std::nullopt;
  }

  std::optional<std::string> Help() {
    std::string_view rest = line_.substr(7);
    const std::size_t sp = rest.find(' ');
    const std::string_view name = rest.substr(0, sp);
    if (!IsMetricName(name)) return Fail("invalid metric name in HELP");
    if (sp == std::string_view::npos) {
      return Fail("HELP line without a space before the text");
    }
    const std::string_view help = rest.substr(sp + 1);
    for (std::size_t i = 0; i < help.size(); ++i) {
      if (help[i] != '\\') continue;
      if (i + 1 == help.size() || (help[i + 1] != '\\' && help[i + 1] != 'n')) {
        return Fail("invalid escape in HELP text");
      }
      ++i;
    }
    const std::string family(name);
    if (auto problem = Enter(family)) return problem;
    FamilyState& f = families_[family];
    if (f.help) return Fail("second HELP line for '" + family + "'");
    if (f.samples) return Fail("HELP after samples of '" + family + "'");
    f.help = true;
    return std::nullopt;
  }

  std::optional<std::string> Type() {
    std::string_view rest = line_.substr(7);
    const std::size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) return Fail("TYPE line without a type");
    const std::string_view name = rest.substr(0, sp);
    const std::string_view type = rest.substr(sp + 1);
    if (!IsMetricName(name)) return Fail("invalid metric name in TYPE");
    if (type != "counter" && type != "gauge" && type != "histogram" &&
        type != "summary" && type != "untyped") {
      return Fail("unknown metric type");
    }
    const std::string family(name);
    if (auto problem = Enter(family)) return problem;
    FamilyState& f = families_[family];
    if (!f.type.empty()) return Fail("second TYPE line for '" + family + "'");
    if (f.samples) return Fail("TYPE after samples of '" + family + "'");
    f.type = std::string(type);
    return std::nullopt;
  }

  // The family a sample named `name` belongs to.
  std::string FamilyOf(const std::string& name) const {
    auto typed = [this](const std::string& n) -> const std::string* {
      auto it = families_.find(n);
      return it == families_.end() || it->second.type.empty()
                 ? nullptr
                 : &it->second.type;
    };
    if (typed(name) != nullptr) return name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (name.size() <= s.size() ||
          name.compare(name.size() - s.size(), s.size(), s) != 0) {
        continue;
      }
      const std::string base = name.substr(0, name.size() - s.size());
      const std::string* type = typed(base);
      if (type == nullptr) continue;
      if (*type == "histogram" || (*type == "summary" && s != "_bucket")) {
        return base;
      }
    }
    return name;
  }

  std::optional<std::string> Sample() {
    std::size_t i = 0;
    while (i < line_.size() && !IsBlank(line_[i]) && line_[i] != '{') ++i;
    const std::string name(line_.substr(0, i));
    if (!IsMetricName(name)) return Fail("invalid metric name");
    std::vector<std::pair<std::string, std::string>> labels;
    ExpositionSample sample;
    sample.name = name;
    if (i < line_.size() && line_[i] == '{') {
      ++i;
      while (true) {
        if (i < line_.size() && line_[i] == '}') {
          ++i;
          break;
        }
        std::size_t j = i;
        while (j < line_.size() && line_[j] != '=') ++j;
        const std::string label(line_.substr(i, j - i));
        if (!IsLabelName(label)) return Fail("invalid label name");
        if (label.compare(0, 2, "__") == 0) {
          return Fail("reserved label name '" + label + "'");
        }
        if (j + 1 >= line_.size() || line_[j + 1] != '"') {
          return Fail("label value not quoted");
        }
        i = j + 2;
        std::string value;  // escaped form, which is canonical
        std::string unescaped;
        bool closed = false;
        while (i < line_.size()) {
          const char c = line_[i];
          if (c == '"') {
            closed = true;
            ++i;
            break;
          }
          if (c == '\\') {
            if (i + 1 >= line_.size() ||
                (line_[i + 1] != '\\' && line_[i + 1] != '"' &&
                 line_[i + 1] != 'n')) {
              return Fail("invalid escape in label value");
            }
            value.append(line_.substr(i, 2));
            unescaped.push_back(line_[i + 1] == 'n' ? '\n' : line_[i + 1]);
            i += 2;
            continue;
          }
          value.push_back(c);
          unescaped.push_back(c);
          ++i;
        }
        if (!closed) return Fail("unterminated label value");
        for (const auto& [other, ignored] : labels) {
          if (other == label) return Fail("label '" + label + "' repeated");
        }
        labels.emplace_back(label, std::move(value));
        sample.labels.emplace_back(label, std::move(unescaped));
        if (i < line_.size() && line_[i] == ',') {
          ++i;
        } else if (i >= line_.size() || line_[i] != '}') {
          return Fail("expected ',' or '}' after a label");
        }
      }
    }
    // Fields are separated by exactly one space, as mlmon writes them.
    std::vector<std::string_view> fields;
    while (i < line_.size()) {
      if (line_[i] != ' ') {
        return Fail("expected one space before the value or timestamp");
      }
      ++i;
      if (i == line_.size()) return Fail("trailing blank");
      if (IsBlank(line_[i])) return Fail("more than one blank between fields");
      const std::size_t start = i;
      while (i < line_.size() && !IsBlank(line_[i])) ++i;
      fields.push_back(line_.substr(start, i - start));
    }
    if (fields.empty()) return Fail("sample without a value");
    if (fields.size() > 2) return Fail("unexpected field after timestamp");
    double value = 0;
    if (!ParseValue(fields[0], &value)) return Fail("unparseable value");
    if (fields.size() == 2 && !IsTimestamp(fields[1])) {
      return Fail("invalid timestamp");
    }

    const std::string family = FamilyOf(name);
    if (auto problem = Enter(family)) return problem;
    FamilyState& f = families_[family];
    f.samples = true;
    if (f.type == "histogram" && name == family) {
      return Fail("histogram sample without _bucket, _sum or _count suffix");
    }

    std::sort(labels.begin(), labels.end());
    std::string key = name + "{";
    std::string key_without_le = family + "{";
    const std::string* le = nullptr;
    for (const auto& [label, v] : labels) {
      key += label + "=\"" + v + "\",";
      if (label == "le") {
        le = &v;
      } else {
        key_without_le += label + "=\"" + v + "\",";
      }
    }
    key += "}";
    key_without_le += "}";
    if (!series_.insert(key).second) return Fail("duplicate series");

    if (f.type == "histogram") {
      if (le != nullptr && name != family + "_bucket") {
        return Fail("'le' on a histogram _sum or _count sample");
      }
      HistogramSeries& h = histograms_[key_without_le];
      h.line = line_no_;
      if (name == family + "_bucket") {
        double bound = 0;
        if (le == nullptr) return Fail("histogram bucket without 'le'");
        if (!ParseValue(*le, &bound) || std::isnan(bound)) {
          return Fail("invalid 'le' value");
        }
        if (h.any_bucket && !(bound > h.last_le)) {
          return Fail("histogram bounds not increasing");
        }
        if (h.any_bucket && value < h.last_count) {
          return Fail("histogram bucket counts decreasing");
        }
        h.any_bucket = true;
        h.last_le = bound;
        h.last_count = value;
        if (std::isinf(bound) && bound > 0) {
          h.inf_seen = true;
          h.inf_count = value;
        }
      } else if (name == family + "_count") {
        h.count_seen = true;
        h.count = value;
      }
    }
    if (samples_ != nullptr) {
      sample.value = std::string(fields[0]);
      samples_->push_back(std::move(sample));
    }
    return std::nullopt;
  }

  std::optional<std::string> Finish() const {
    for (const auto& [series, h] : histograms_) {
      if (!h.inf_seen) {
        return Fail(h.line, "histogram series without an le=\"+Inf\" bucket",
                    series);
      }
      if (!h.count_seen) {
        return Fail(h.line, "histogram series without a _count", series);
      }
      if (h.count != h.inf_count) {
        return Fail(h.line, "histogram _count differs from the +Inf bucket",
                    series);
      }
    }
    return std::nullopt;
  }

  std::vector<ExpositionSample>* samples_;
  std::size_t line_no_ = 0;
  std::string_view line_;
  std::string current_;
  std::map<std::string, FamilyState> families_;
  std::set<std::string> series_;
  std::map<std::string, HistogramSeries> histograms_;
};

}  // namespace

std::optional<std::string> CheckExposition(
    std::string_view text, std::vector<ExpositionSample>* samples) {
  return Checker(samples).Run(text);
}

bool IsValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = Utf8Length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace testutil
}  // namespace mlmon
