// The exposition checker must accept every valid construct of the text format
// and name the first problem of an invalid one. Each invalid case below
// differs from a valid exposition by one defect.

#include "exposition_checker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mlmon {
namespace testutil {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kValid[] =
    "# A comment line.\n"
    "# HELP app_requests_total Requests, with \\\\ and a\\nnewline.\n"
    "# TYPE app_requests_total counter\n"
    "app_requests_total{endpoint=\"predict\",status=\"ok\"} 5\n"
    "app_requests_total{endpoint=\"say \\\"hi\\\" \\\\ x\\ny\",status=\"ok\"} "
    "2.5\n"
    "app_requests_total{endpoint=\"caf\xc3\xa9 \xf0\x9f\x9a\x80\","
    "status=\"ok\"} 1e-9\n"
    "app_requests_total{endpoint=\"\",status=\"ok\",} 0 1700000000000\n"
    "# HELP app_temperature Temperature.\n"
    "# TYPE app_temperature gauge\n"
    "app_temperature NaN\n"
    "# TYPE app_extremes gauge\n"
    "app_extremes{side=\"hi\"} +Inf\n"
    "app_extremes{side=\"lo\"} -Inf\n"
    "app_extremes{side=\"mid\"} -.5E+3\n"
    "# HELP app_latency_seconds Latency.\n"
    "# TYPE app_latency_seconds histogram\n"
    "app_latency_seconds_bucket{endpoint=\"a\",le=\"0.1\"} 1\n"
    "app_latency_seconds_bucket{endpoint=\"a\",le=\"1\"} 3\n"
    "app_latency_seconds_bucket{endpoint=\"a\",le=\"+Inf\"} 4\n"
    "app_latency_seconds_sum{endpoint=\"a\"} 2.1\n"
    "app_latency_seconds_count{endpoint=\"a\"} 4\n"
    "app_latency_seconds_bucket{endpoint=\"b\",le=\"+Inf\"} 0\n"
    "app_latency_seconds_sum{endpoint=\"b\"} 0\n"
    "app_latency_seconds_count{endpoint=\"b\"} 0\n"
    "# TYPE app_rpc_seconds summary\n"
    "app_rpc_seconds{quantile=\"0.5\"} 0.2\n"
    "app_rpc_seconds_sum 4\n"
    "app_rpc_seconds_count 10\n"
    "untyped_metric 1\n"
    "# HELP app_empty_help \n"
    "# TYPE app_empty_help gauge\n"
    "app_empty_help 0\n";

TEST(ExpositionCheckerTest, AcceptsEveryValidConstruct) {
  EXPECT_EQ(CheckExposition(kValid), std::nullopt);
}

TEST(ExpositionCheckerTest, AcceptsEmptyText) {
  EXPECT_EQ(CheckExposition(""), std::nullopt);
}

TEST(ExpositionCheckerTest, ReturnsSamplesWithLabelsInTextOrderUnescaped) {
  const std::string text =
      "# HELP a_total Help.\n"
      "# TYPE a_total counter\n"
      "a_total{z=\"1\\\"2\\\\3\\n4\",b=\"caf\xc3\xa9\",e=\"\"} 1e-9 17\n"
      "# A comment.\n"
      "# TYPE h histogram\n"
      "h_bucket{le=\"+Inf\"} 2\n"
      "h_sum NaN\n"
      "h_count 2\n";
  std::vector<ExpositionSample> samples;
  ASSERT_EQ(CheckExposition(text, &samples), std::nullopt);
  ASSERT_EQ(samples.size(), 4u);
  EXPECT_EQ(samples[0].name, "a_total");
  EXPECT_THAT(samples[0].labels,
              ElementsAre(Pair("z", "1\"2\\3\n4"), Pair("b", "caf\xc3\xa9"),
                          Pair("e", "")));
  EXPECT_EQ(samples[0].value, "1e-9");
  EXPECT_EQ(samples[1].name, "h_bucket");
  EXPECT_THAT(samples[1].labels, ElementsAre(Pair("le", "+Inf")));
  EXPECT_EQ(samples[1].value, "2");
  EXPECT_EQ(samples[2].name, "h_sum");
  EXPECT_TRUE(samples[2].labels.empty());
  EXPECT_EQ(samples[2].value, "NaN");
  EXPECT_EQ(samples[3].name, "h_count");
}

TEST(ExpositionCheckerTest, ReturnsTheSamplesBeforeTheProblem) {
  std::vector<ExpositionSample> samples;
  EXPECT_NE(CheckExposition("a 1\nb 2\nb 3\n", &samples), std::nullopt);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].name, "a");
  EXPECT_EQ(samples[1].name, "b");
  EXPECT_EQ(samples[1].value, "2");
}

TEST(ExpositionCheckerTest, IsValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ascii"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 11)));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xf0\x9f\x9a\x80 \xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("x\xe2\x82"));         // truncated at the end
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
}

struct Invalid {
  const char* name;
  std::string text;
  const char* problem;  // a substring of the reported problem
};

class ExpositionCheckerInvalidTest : public ::testing::TestWithParam<Invalid> {
};

TEST_P(ExpositionCheckerInvalidTest, NamesTheProblem) {
  const auto problem = CheckExposition(GetParam().text);
  ASSERT_TRUE(problem.has_value()) << GetParam().text;
  EXPECT_THAT(*problem, HasSubstr(GetParam().problem));
}

const Invalid kInvalid[] = {
    {"InvalidByte", "a{l=\"\xff\"} 1\n", "line 1: invalid UTF-8"},
    {"TruncatedSequence", "a{l=\"\xc3\"} 1\n", "invalid UTF-8"},
    {"OverlongSlash", "a{l=\"\xc0\xaf\"} 1\n", "invalid UTF-8"},
    {"OverlongThreeBytes", "a{l=\"\xe0\x80\xaf\"} 1\n", "invalid UTF-8"},
    {"Surrogate", "a{l=\"\xed\xa0\x80\"} 1\n", "invalid UTF-8"},
    {"AboveMaxCodePoint", "a{l=\"\xf4\x90\x80\x80\"} 1\n", "invalid UTF-8"},
    {"InvalidByteInHelp", "# HELP a x\xfe\n", "invalid UTF-8"},
    {"NulByte", std::string("a 1\nb{l=\"x\0y\"} 1\n", 16), "line 2: NUL byte"},
    {"NoFinalNewline", "a 1", "not ended by"},
    {"EmptyLine", "a 1\n\nb 1\n", "line 2: empty line"},
    {"MetricNameStartsWithDigit", "1a 1\n", "invalid metric name"},
    {"MetricNameWithDash", "a-b 1\n", "invalid metric name"},
    {"HelpWithBadName", "# HELP a-b x\n", "invalid metric name in HELP"},
    {"TypeWithBadName", "# TYPE a-b gauge\n", "invalid metric name in TYPE"},
    {"LabelNameWithColon", "a{l:x=\"1\"} 1\n", "invalid label name"},
    {"EmptyLabelName", "a{=\"1\"} 1\n", "invalid label name"},
    {"ReservedLabelName", "a{__name__=\"x\"} 1\n", "reserved label name"},
    {"RepeatedLabel", "a{l=\"1\",l=\"2\"} 1\n", "label 'l' repeated"},
    {"UnquotedLabelValue", "a{l=1} 1\n", "not quoted"},
    {"UnknownEscape", "a{l=\"\\t\"} 1\n", "invalid escape in label value"},
    {"BackslashAtEnd", "a{l=\"x\\", "not ended by"},
    {"UnescapedQuote", "a{l=\"x\"y\"} 1\n", "expected ',' or '}'"},
    {"UnterminatedValue", "a{l=\"x} 1\n", "unterminated label value"},
    {"UnclosedBrace", "a{l=\"x\" 1\n", "expected ',' or '}'"},
    {"HelpWithoutSpaceBeforeText", "# HELP a\na 1\n", "without a space"},
    {"HelpBadEscape", "# HELP a x\\ty\n", "invalid escape in HELP"},
    {"NoValue", "a\n", "sample without a value"},
    {"NoValueAfterLabels", "a{l=\"x\"}\n", "sample without a value"},
    {"NoBlankBeforeValue", "a{l=\"x\"}1\n", "one space before the value"},
    {"TabBeforeValue", "a\t1\n", "one space before the value"},
    {"TabAfterLabels", "a{l=\"x\"}\t1\n", "one space before the value"},
    {"TwoSpacesBeforeValue", "a  1\n", "more than one blank"},
    {"TabBeforeTimestamp", "a 1\t2\n", "one space before the value"},
    {"SpaceAndTabBeforeTimestamp", "a 1 \t2\n", "more than one blank"},
    {"TrailingBlank", "a 1 \n", "trailing blank"},
    {"CommaDecimal", "a 1,5\n", "unparseable value"},
    {"HexValue", "a 0x10\n", "unparseable value"},
    {"LowercaseInf", "a inf\n", "unparseable value"},
    {"LowercaseNan", "a nan\n", "unparseable value"},
    {"ExponentWithoutDigits", "a 1e\n", "unparseable value"},
    {"BareSign", "a -\n", "unparseable value"},
    {"FractionalTimestamp", "a 1 1.5\n", "invalid timestamp"},
    {"ExtraField", "a 1 2 3\n", "unexpected field"},
    {"UnknownType", "# TYPE a thing\n", "unknown metric type"},
    {"TypeWithoutType", "# TYPE a\n", "without a type"},
    {"DuplicateSeries", "a{l=\"\xef\xbf\xbd\"} 1\na{l=\"\xef\xbf\xbd\"} 2\n",
     "line 2: duplicate series"},
    {"DuplicateSeriesOtherLabelOrder",
     "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\n", "duplicate series"},
    {"DuplicateUnlabelled", "# TYPE a gauge\na 1\na 2\n", "duplicate series"},
    {"SecondHelp", "# HELP a x\n# HELP a y\n", "second HELP line"},
    {"SecondType", "# TYPE a gauge\n# TYPE a gauge\n", "second TYPE line"},
    {"HelpAfterSamples", "a 1\n# HELP a x\n", "HELP after samples"},
    {"TypeAfterSamples", "a 1\n# TYPE a gauge\n", "TYPE after samples"},
    {"FamilySplit", "# TYPE a gauge\na{l=\"1\"} 1\nb 1\na{l=\"2\"} 1\n",
     "line 4: lines of family 'a' are not contiguous"},
    {"HelpOfEarlierFamilyLater", "# HELP a x\na 1\nb 1\n# TYPE a gauge\n",
     "not contiguous"},
    {"HistogramBareName", "# TYPE h histogram\nh 1\n", "without _bucket"},
    {"HistogramBucketWithoutLe", "# TYPE h histogram\nh_bucket 1\n",
     "without 'le'"},
    {"HistogramBadLe", "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
     "invalid 'le'"},
    {"HistogramWithoutInf",
     "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n",
     "without an le=\"+Inf\" bucket"},
    {"HistogramBoundsNotIncreasing",
     "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"0.5\"} 1\n",
     "bounds not increasing"},
    {"HistogramCountsDecreasing",
     "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n",
     "counts decreasing"},
    {"HistogramWithoutCount",
     "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n",
     "without a _count"},
    {"HistogramLeOnSum",
     "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum{le=\"1\"} 1\n"
     "h_count 1\n",
     "'le' on a histogram _sum or _count"},
    {"HistogramLeOnCount",
     "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n"
     "h_count{le=\"+Inf\"} 1\n",
     "'le' on a histogram _sum or _count"},
    {"HistogramCountMismatch",
     "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n",
     "_count differs"},
};

INSTANTIATE_TEST_SUITE_P(
    Cases, ExpositionCheckerInvalidTest, ::testing::ValuesIn(kInvalid),
    [](const ::testing::TestParamInfo<Invalid>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace
}  // namespace testutil
}  // namespace mlmon
