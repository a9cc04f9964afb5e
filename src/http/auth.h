#ifndef MLMON_SRC_HTTP_AUTH_H_
#define MLMON_SRC_HTTP_AUTH_H_

// The credentials the server accepts (`Authorization: Bearer <token>` and
// HTTP basic) and the check of a request's Authorization header.

#include <string>
#include <string_view>

#include "mlmon/http_server.h"

namespace mlmon {
namespace http {

// Standard base64 (RFC 4648 section 4: `+/` alphabet, `=` padding).
std::string Base64Encode(std::string_view in);

// Compares in time that depends only on the lengths, not on the contents
// (credentials must not leak a matching prefix through timing).
bool ConstantTimeEquals(std::string_view a, std::string_view b) noexcept;

// If `value` is "<scheme> <credentials>" (scheme case-insensitive, one
// space after it), sets `credentials` to the rest with surrounding spaces
// and tabs trimmed and returns true.
bool StripScheme(std::string_view value, std::string_view scheme,
                 std::string_view* credentials);

// The server's credentials. Basic credentials are compared in their base64
// form: the header's credentials must be exactly the canonical encoding of
// "user:password" (padding included); they are never decoded.
class Authenticator {
 public:
  // An empty `bearer_token` accepts no bearer token; an empty `basic_user`
  // accepts no basic credentials. With neither, every request is accepted.
  Authenticator(std::string bearer_token, const std::string& basic_user,
                const std::string& basic_password);

  // Whether a request whose Authorization header is `header` (null when
  // absent) may use a route that requires auth.
  bool Authorized(const char* header) const;
  // 401 problem+json with one `WWW-Authenticate` challenge per accepted
  // scheme.
  HttpResponse Unauthorized() const;

 private:
  const std::string bearer_token_;
  const std::string expected_basic_;  // base64("user:password"), or ""
};

}  // namespace http
}  // namespace mlmon

#endif  // MLMON_SRC_HTTP_AUTH_H_
