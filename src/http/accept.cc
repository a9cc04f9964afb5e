#include "http/accept.h"

#include <cstddef>

namespace mlmon {
namespace http {

namespace {

constexpr std::string_view kWhitespace = " \t";

std::string_view Trim(std::string_view s) noexcept {
  const std::size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  const std::size_t e = s.find_last_not_of(kWhitespace);
  return s.substr(b, e - b + 1);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A parameter value without its quotes (a quoted value is taken as is,
// without unescaping: the values compared here need no escapes).
std::string_view Unquote(std::string_view v) noexcept {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    return v.substr(1, v.size() - 2);
  }
  return v;
}

// RFC 9110 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"], in thousandths;
// -1 if malformed.
int ParseQ(std::string_view v) noexcept {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  int q = (v[0] - '0') * 1000;
  if (v.size() == 1) return q;
  if (v[1] != '.' || v.size() > 5) return -1;
  int scale = 100;
  for (std::size_t i = 2; i < v.size(); ++i, scale /= 10) {
    if (v[i] < '0' || v[i] > '9') return -1;
    q += (v[i] - '0') * scale;
  }
  return q <= 1000 ? q : -1;
}

struct Format {
  std::string_view type, subtype, version;
  int quality = 0;       // thousandths
  int specificity = -1;  // of the range that set `quality`; -1: none
};

// Applies one media range to `f`.
void Apply(std::string_view range, Format* formats, int n) noexcept {
  const std::size_t semi = range.find(';');
  const std::string_view media = Trim(range.substr(0, semi));
  const std::size_t slash = media.find('/');
  if (slash == std::string_view::npos) return;
  const std::string_view type = Trim(media.substr(0, slash));
  const std::string_view subtype = Trim(media.substr(slash + 1));
  if (type.empty() || subtype.empty()) return;
  int q = 1000;
  std::string_view version;
  bool has_version = false;
  std::string_view params =
      semi == std::string_view::npos ? std::string_view() : range.substr(semi);
  while (!params.empty()) {
    params.remove_prefix(1);  // ';'
    const std::size_t next = params.find(';');
    const std::string_view param = params.substr(0, next);
    params = next == std::string_view::npos ? std::string_view()
                                            : params.substr(next);
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = Trim(param.substr(0, eq));
    const std::string_view value = Unquote(Trim(param.substr(eq + 1)));
    if (EqualsIgnoreCase(name, "q")) {
      q = ParseQ(value);
      if (q < 0) return;  // malformed: the range is ignored
    } else if (EqualsIgnoreCase(name, "version")) {
      version = value;
      has_version = true;
    }
  }
  for (int i = 0; i < n; ++i) {
    Format& f = formats[i];
    int specificity;
    if (type == "*" && subtype == "*") {
      specificity = 0;
    } else if (EqualsIgnoreCase(type, f.type) && subtype == "*") {
      specificity = 1;
    } else if (EqualsIgnoreCase(type, f.type) &&
               EqualsIgnoreCase(subtype, f.subtype)) {
      if (has_version && version != f.version) continue;
      specificity = has_version ? 3 : 2;
    } else {
      continue;
    }
    if (specificity > f.specificity) {
      f.specificity = specificity;
      f.quality = q;
    }
  }
}

}  // namespace

MetricsFormat NegotiateMetricsFormat(std::string_view accept) noexcept {
  Format formats[2] = {{"text", "plain", "0.0.4"},
                       {"application", "openmetrics-text", "1.0.0"}};
  Format& text = formats[0];
  Format& om = formats[1];
  // Media ranges are separated by commas outside quoted strings.
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= accept.size(); ++i) {
    if (i < accept.size()) {
      const char c = accept[i];
      if (c == '"') quoted = !quoted;
      if (c != ',' || quoted) continue;
    }
    Apply(accept.substr(start, i - start), formats, 2);
    start = i + 1;
  }
  if (om.quality <= 0) return MetricsFormat::kText;
  if (om.quality > text.quality) return MetricsFormat::kOpenMetrics;
  if (om.quality == text.quality && om.specificity > text.specificity) {
    return MetricsFormat::kOpenMetrics;
  }
  return MetricsFormat::kText;
}

}  // namespace http
}  // namespace mlmon
