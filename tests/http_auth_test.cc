// The HTTP server's credential check (src/http/auth.h) on its own: base64
// against RFC 4648 and RFC 7617 vectors, bearer and basic headers accepted
// and refused, and the 401 challenges. Expected encodings were computed
// independently (Python's base64 module), not with the code under test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "http/auth.h"

namespace mlmon {
namespace http {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(Base64EncodeTest, Rfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64EncodeTest, Rfc7617ExampleAndBinaryBytes) {
  EXPECT_EQ(Base64Encode("Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  // High bytes, and the two non-alphanumeric digits '+' and '/'.
  EXPECT_EQ(Base64Encode("\xff\xfe"), "//4=");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64Encode(std::string(1, '\0')), "AA==");
  EXPECT_EQ(Base64Encode("caf\xc3\xa9:\xe2\x98\x83"), "Y2Fmw6k64piD");
}

TEST(ConstantTimeEqualsTest, EqualOnlyForTheSameBytes) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("s3cret", "s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("s3cret", "s3creT"));  // last byte
  EXPECT_FALSE(ConstantTimeEquals("s3cret", "X3cret"));  // first byte
  EXPECT_FALSE(ConstantTimeEquals("s3cret", "s3cre"));   // a prefix
  EXPECT_FALSE(ConstantTimeEquals("s3cre", "s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("", "s"));
  // The shorter side is compared as if padded with NUL: a trailing NUL must
  // still not make the lengths equal.
  EXPECT_FALSE(ConstantTimeEquals(std::string("ab\0", 3), "ab"));
  EXPECT_FALSE(ConstantTimeEquals("ab", std::string("ab\0", 3)));
}

TEST(StripSchemeTest, SchemeCaseInsensitiveCredentialsTrimmed) {
  std::string_view credentials;
  ASSERT_TRUE(StripScheme("Bearer abc", "Bearer", &credentials));
  EXPECT_EQ(credentials, "abc");
  ASSERT_TRUE(StripScheme("bEARER abc", "Bearer", &credentials));
  EXPECT_EQ(credentials, "abc");
  ASSERT_TRUE(StripScheme("Bearer  \tabc \t", "Bearer", &credentials));
  EXPECT_EQ(credentials, "abc");
  ASSERT_TRUE(StripScheme("Bearer   ", "Bearer", &credentials));
  EXPECT_EQ(credentials, "");
}

TEST(StripSchemeTest, OtherSchemesAndMissingSeparator) {
  std::string_view credentials = "untouched";
  EXPECT_FALSE(StripScheme("Bearer", "Bearer", &credentials));
  EXPECT_FALSE(StripScheme("Bearerabc", "Bearer", &credentials));
  EXPECT_FALSE(StripScheme("Bearer\tabc", "Bearer", &credentials));
  EXPECT_FALSE(StripScheme("Beare abc", "Bearer", &credentials));
  EXPECT_FALSE(StripScheme("Basic abc", "Bearer", &credentials));
  EXPECT_FALSE(StripScheme("", "Bearer", &credentials));
  EXPECT_EQ(credentials, "untouched");
}

TEST(AuthenticatorTest, NoCredentialsConfiguredAcceptsEverything) {
  const Authenticator auth("", "", "");
  EXPECT_TRUE(auth.Authorized(nullptr));
  EXPECT_TRUE(auth.Authorized(""));
  EXPECT_TRUE(auth.Authorized("Bearer anything"));
}

TEST(AuthenticatorTest, BearerToken) {
  const Authenticator auth("s3cret", "", "");
  EXPECT_TRUE(auth.Authorized("Bearer s3cret"));
  EXPECT_TRUE(auth.Authorized("bearer s3cret"));       // scheme case
  EXPECT_TRUE(auth.Authorized("Bearer   s3cret \t"));  // blanks trimmed
  EXPECT_FALSE(auth.Authorized(nullptr));              // no header
  EXPECT_FALSE(auth.Authorized(""));
  EXPECT_FALSE(auth.Authorized("Bearer"));
  EXPECT_FALSE(auth.Authorized("Bearer "));        // empty token
  EXPECT_FALSE(auth.Authorized("Bearer S3CRET"));  // token is case-sensitive
  EXPECT_FALSE(auth.Authorized("Bearer s3cre"));
  EXPECT_FALSE(auth.Authorized("Bearer s3cretX"));
  EXPECT_FALSE(auth.Authorized("Bearer s3 cret"));
  EXPECT_FALSE(auth.Authorized("s3cret"));  // no scheme
  EXPECT_FALSE(auth.Authorized("Token s3cret"));
  // Basic credentials are not accepted when only a token is configured.
  EXPECT_FALSE(auth.Authorized("Basic czNjcmV0"));
}

TEST(AuthenticatorTest, BasicCredentials) {
  // A ':' in the password is allowed; the user's first ':' splits them.
  const Authenticator auth("", "alice", "p:w");
  EXPECT_TRUE(auth.Authorized("Basic YWxpY2U6cDp3"));
  EXPECT_TRUE(auth.Authorized("BASIC YWxpY2U6cDp3"));
  EXPECT_TRUE(auth.Authorized("Basic  YWxpY2U6cDp3 "));
  EXPECT_FALSE(auth.Authorized(nullptr));
  EXPECT_FALSE(auth.Authorized("Basic "));
  EXPECT_FALSE(auth.Authorized("Basic YWxpY2U6cDp4"));   // alice:p:x
  EXPECT_FALSE(auth.Authorized("Basic alice:p:w"));      // not encoded
  EXPECT_FALSE(auth.Authorized("Bearer YWxpY2U6cDp3"));  // wrong scheme
}

TEST(AuthenticatorTest, BasicCredentialsMustBeTheCanonicalEncoding) {
  // The header's credentials are compared with the encoding of
  // "user:password", never decoded: anything but the exact canonical
  // encoding is refused, even where a lenient decoder would give the same
  // bytes.
  const Authenticator auth("", "Aladdin", "open sesame");
  EXPECT_TRUE(auth.Authorized("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
  // Padding missing, partly missing, or one too many.
  EXPECT_FALSE(auth.Authorized("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ"));
  EXPECT_FALSE(auth.Authorized("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ="));
  EXPECT_FALSE(auth.Authorized("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==="));
  // Non-zero padding bits: decodes to "Aladdin:open sesame" too.
  EXPECT_FALSE(auth.Authorized("Basic QWxhZGRpbjpvcGVuIHNlc2FtZR=="));
  // Characters outside the alphabet, and a blank inside the credentials.
  EXPECT_FALSE(auth.Authorized("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=!"));
  EXPECT_FALSE(auth.Authorized("Basic QWxh ZGRpbjpvcGVuIHNlc2FtZQ=="));
  EXPECT_FALSE(auth.Authorized("Basic ===="));
}

TEST(AuthenticatorTest, EmptyPasswordAndNonAsciiCredentials) {
  EXPECT_TRUE(Authenticator("", "u", "").Authorized("Basic dTo="));
  EXPECT_FALSE(Authenticator("", "u", "").Authorized("Basic dQ=="));  // "u"
  EXPECT_TRUE(Authenticator("", "caf\xc3\xa9", "\xe2\x98\x83")
                  .Authorized("Basic Y2Fmw6k64piD"));
}

TEST(AuthenticatorTest, BearerAndBasicTogether) {
  const Authenticator auth("s3cret", "alice", "p:w");
  EXPECT_TRUE(auth.Authorized("Bearer s3cret"));
  EXPECT_TRUE(auth.Authorized("Basic YWxpY2U6cDp3"));
  EXPECT_FALSE(auth.Authorized("Bearer YWxpY2U6cDp3"));
  EXPECT_FALSE(auth.Authorized("Basic s3cret"));
  EXPECT_FALSE(auth.Authorized(nullptr));
}

TEST(AuthenticatorTest, OverLongHeadersAreRefused) {
  const Authenticator auth("s3cret", "alice", "p:w");
  const std::string filler(64 * 1024, 'a');
  EXPECT_FALSE(auth.Authorized(("Bearer " + filler).c_str()));
  EXPECT_FALSE(auth.Authorized(("Bearer s3cret" + filler).c_str()));
  EXPECT_FALSE(auth.Authorized(("Basic YWxpY2U6cDp3" + filler).c_str()));
  EXPECT_FALSE(auth.Authorized(("Bearer " + filler + " s3cret").c_str()));
  // A long configured token is matched in full, and only in full.
  const Authenticator long_token(filler, "", "");
  EXPECT_TRUE(long_token.Authorized(("Bearer " + filler).c_str()));
  EXPECT_FALSE(
      long_token.Authorized(("Bearer " + filler.substr(1) + "b").c_str()));
}

TEST(AuthenticatorTest, UnauthorizedChallengesEachConfiguredScheme) {
  const HttpResponse both = Authenticator("t", "u", "p").Unauthorized();
  EXPECT_EQ(both.status, 401);
  EXPECT_EQ(both.content_type, "application/problem+json");
  EXPECT_THAT(both.headers,
              ElementsAre(Pair("WWW-Authenticate", "Bearer realm=\"mlmon\""),
                          Pair("WWW-Authenticate",
                               "Basic realm=\"mlmon\", charset=\"UTF-8\"")));
  EXPECT_THAT(Authenticator("t", "", "").Unauthorized().headers,
              ElementsAre(Pair("WWW-Authenticate", "Bearer realm=\"mlmon\"")));
  EXPECT_THAT(Authenticator("", "u", "p").Unauthorized().headers,
              ElementsAre(Pair("WWW-Authenticate",
                               "Basic realm=\"mlmon\", charset=\"UTF-8\"")));
}

}  // namespace
}  // namespace http
}  // namespace mlmon
