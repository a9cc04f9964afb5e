#include "internal/text_format.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <iterator>

namespace mlmon {
namespace internal {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if (b1 < lo || b1 > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xBF) return 0;
  }
  return len;
}

template <bool kLabel>
void AppendEscaped(std::string* out, std::string_view v) {
  std::size_t i = 0;
  while (i < v.size()) {
    const char c = v[i];
    if (static_cast<unsigned char>(c) < 0x80) {
      if (c == '\\') {
        out->append("\\\\");
      } else if (c == '\n') {
        out->append("\\n");
      } else if (kLabel && c == '"') {
        out->append("\\\"");
      } else if (c == '\0') {
        out->append(kReplacement);
      } else {
        out->push_back(c);
      }
      ++i;
      continue;
    }
    std::size_t len = Utf8SequenceLength(v, i);
    if (len == 0) {
      out->append(kReplacement);
      ++i;
    } else {
      out->append(v.data() + i, len);
      i += len;
    }
  }
}

}  // namespace

std::string SanitizeUtf8(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  std::size_t i = 0;
  while (i < v.size()) {
    const std::size_t len = v[i] == '\0' ? 0 : Utf8SequenceLength(v, i);
    if (len == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(v.data() + i, len);
      i += len;
    }
  }
  return out;
}

void AppendEscapedLabelValue(std::string* out, std::string_view v) {
  AppendEscaped<true>(out, v);
}

void AppendEscapedHelp(std::string* out, std::string_view v) {
  AppendEscaped<false>(out, v);
}

void AppendEscapedOpenMetricsHelp(std::string* out, std::string_view v) {
  AppendEscaped<true>(out, v);
}

void AppendJsonString(std::string* out, std::string_view v) {
  out->push_back('"');
  std::size_t i = 0;
  while (i < v.size()) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c >= 0x80) {
      const std::size_t len = Utf8SequenceLength(v, i);
      if (len == 0) {
        out->append(kReplacement);
        ++i;
      } else {
        out->append(v.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          fmt::format_to(std::back_inserter(*out), "\\u{:04x}", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

bool IsValidUtf8(std::string_view v) noexcept {
  for (std::size_t i = 0; i < v.size();) {
    std::size_t len = Utf8SequenceLength(v, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void AppendValue(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  // Integers up to 2^53 are exact in a double: print them as integers.
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    fmt::format_int f(static_cast<std::int64_t>(v));
    out->append(f.data(), f.size());
    return;
  }
  fmt::format_to(std::back_inserter(*out), "{}", v);
}

}  // namespace internal
}  // namespace mlmon
