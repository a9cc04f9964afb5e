#include "http/auth.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "http/response.h"

namespace mlmon {
namespace http {
namespace {

char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string Base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[v & 63] : '=');
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

bool StripScheme(std::string_view value, std::string_view scheme,
                 std::string_view* credentials) {
  if (value.size() <= scheme.size() || value[scheme.size()] != ' ') {
    return false;
  }
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (AsciiLower(value[i]) != AsciiLower(scheme[i])) return false;
  }
  std::string_view rest = value.substr(scheme.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) {
    rest.remove_prefix(1);
  }
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) {
    rest.remove_suffix(1);
  }
  *credentials = rest;
  return true;
}

Authenticator::Authenticator(std::string bearer_token,
                             const std::string& basic_user,
                             const std::string& basic_password)
    : bearer_token_(std::move(bearer_token)),
      expected_basic_(basic_user.empty()
                          ? std::string()
                          : Base64Encode(basic_user + ":" + basic_password)) {}

bool Authenticator::Authorized(const char* header) const {
  if (bearer_token_.empty() && expected_basic_.empty()) return true;
  if (header == nullptr) return false;
  std::string_view credentials;
  if (!bearer_token_.empty() && StripScheme(header, "Bearer", &credentials)) {
    return ConstantTimeEquals(credentials, bearer_token_);
  }
  if (!expected_basic_.empty() && StripScheme(header, "Basic", &credentials)) {
    return ConstantTimeEquals(credentials, expected_basic_);
  }
  return false;
}

HttpResponse Authenticator::Unauthorized() const {
  HttpResponse response =
      ProblemResponse(401, ReasonPhrase(401), "missing or invalid credentials");
  if (!bearer_token_.empty()) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"mlmon\"");
  }
  if (!expected_basic_.empty()) {
    response.headers.emplace_back("WWW-Authenticate",
                                  "Basic realm=\"mlmon\", charset=\"UTF-8\"");
  }
  return response;
}

}  // namespace http
}  // namespace mlmon
