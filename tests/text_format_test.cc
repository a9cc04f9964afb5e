#include "internal/text_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mlmon {
namespace internal {
namespace {

std::string Label(std::string_view v) {
  std::string out;
  AppendEscapedLabelValue(&out, v);
  return out;
}
std::string Help(std::string_view v) {
  std::string out;
  AppendEscapedHelp(&out, v);
  return out;
}
std::string Value(double v) {
  std::string out;
  AppendValue(&out, v);
  return out;
}

TEST(TextFormatTest, EscapesLabelValues) {
  EXPECT_EQ(Label(R"(a"b)"), R"(a\"b)");
  EXPECT_EQ(Label("a\\b"), "a\\\\b");
  EXPECT_EQ(Label("a\nb"), "a\\nb");
  EXPECT_EQ(Label("plain"), "plain");
}

TEST(TextFormatTest, HelpKeepsQuotesButEscapesBackslashAndNewline) {
  EXPECT_EQ(Help("say \"hi\"\\\n"), "say \"hi\"\\\\\\n");
}

TEST(TextFormatTest, KeepsValidMultibyteUtf8) {
  const std::string s = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
  EXPECT_EQ(Label(s), s);
  EXPECT_TRUE(IsValidUtf8(s));
}

TEST(TextFormatTest, ReplacesInvalidUtf8) {
  const std::string kFffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Label("a\xFF"
                  "b"),
            "a" + kFffd + "b");                             // invalid byte
  EXPECT_EQ(Label("\xC3"), kFffd);                          // truncated
  EXPECT_EQ(Label("\xC0\xAF"), kFffd + kFffd);              // overlong
  EXPECT_EQ(Label("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(Label("\xF4\x90\x80\x80"),
            kFffd + kFffd + kFffd + kFffd);  // >U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_TRUE(IsValidUtf8(Label("x\xFE\xFFy")));
}

TEST(TextFormatTest, ReplacesNulInLabelValuesAndHelp) {
  const std::string kFffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Label(std::string("a\0b", 3)), "a" + kFffd + "b");
  EXPECT_EQ(Help(std::string("\0", 1)), kFffd);
}

TEST(TextFormatTest, SanitizeUtf8ReplacesWhatTheWritersReplace) {
  const std::string kFffd = "\xEF\xBF\xBD";
  EXPECT_EQ(SanitizeUtf8(""), "");
  EXPECT_EQ(SanitizeUtf8("plain \\ \" \n"), "plain \\ \" \n");
  EXPECT_EQ(SanitizeUtf8("caf\xC3\xA9 \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(SanitizeUtf8("\xEF\xBF\xBF\xF4\x8F\xBF\xBF"),
            "\xEF\xBF\xBF\xF4\x8F\xBF\xBF");  // U+FFFF, U+10FFFF are valid
  EXPECT_EQ(SanitizeUtf8("\xFF"), kFffd);
  EXPECT_EQ(SanitizeUtf8("\xFE"), kFffd);
  EXPECT_EQ(SanitizeUtf8("a\x80"), "a" + kFffd);       // lone continuation
  EXPECT_EQ(SanitizeUtf8("\xC3"), kFffd);              // truncated
  EXPECT_EQ(SanitizeUtf8("\xC0\x80"), kFffd + kFffd);  // overlong NUL
  EXPECT_EQ(SanitizeUtf8("\xE0\x80\xAF"), kFffd + kFffd + kFffd);  // overlong
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(SanitizeUtf8("\xF4\x90\x80\x80"),
            kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
  EXPECT_EQ(SanitizeUtf8(std::string("x\0y", 3)), "x" + kFffd + "y");
  // Idempotent, and the writers print a value as they print its sanitized
  // form: values equal after SanitizeUtf8 print the same, and only those.
  for (const std::string& v :
       {std::string("\xFF\xFE-\xC0\xAF"), std::string("a\0\\\"\n\xED\xA0\x80"),
        std::string("caf\xC3\xA9\xC3")}) {
    EXPECT_EQ(SanitizeUtf8(SanitizeUtf8(v)), SanitizeUtf8(v));
    EXPECT_TRUE(IsValidUtf8(SanitizeUtf8(v)));
    EXPECT_EQ(Label(v), Label(SanitizeUtf8(v)));
    EXPECT_EQ(Help(v), Help(SanitizeUtf8(v)));
  }
}

TEST(TextFormatTest, FormatsValues) {
  EXPECT_EQ(Value(0), "0");
  EXPECT_EQ(Value(42), "42");
  EXPECT_EQ(Value(-7), "-7");
  EXPECT_EQ(Value(0.25), "0.25");
  EXPECT_EQ(Value(1e300), "1e+300");
  EXPECT_EQ(Value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(Value(std::nan("")), "NaN");
  // Round trip of an arbitrary double.
  const double x = 0.1 + 0.2;
  EXPECT_EQ(std::stod(Value(x)), x);
  EXPECT_EQ(std::stod(Value(9007199254740993.0)), 9007199254740993.0);
}

}  // namespace
}  // namespace internal
}  // namespace mlmon
