// Content negotiation of /metrics (http::NegotiateMetricsFormat) and what
// the server answers for it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "http/accept.h"
#include "http_client.h"
#include "mlmon/golden_signals.h"
#include "mlmon/http_server.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace {

using http::MetricsFormat;
using http::NegotiateMetricsFormat;
using ::testing::EndsWith;
using ::testing::HasSubstr;

constexpr MetricsFormat kText = MetricsFormat::kText;
constexpr MetricsFormat kOm = MetricsFormat::kOpenMetrics;

static_assert(noexcept(NegotiateMetricsFormat("")));

TEST(AcceptTest, AbsentOrEmptyOrWildcardIsText) {
  EXPECT_EQ(NegotiateMetricsFormat(""), kText);
  EXPECT_EQ(NegotiateMetricsFormat("   "), kText);
  EXPECT_EQ(NegotiateMetricsFormat("*/*"), kText);
  EXPECT_EQ(NegotiateMetricsFormat("*/*;q=0.8"), kText);
  EXPECT_EQ(NegotiateMetricsFormat("text/*"), kText);
  EXPECT_EQ(NegotiateMetricsFormat("text/plain"), kText);
}

TEST(AcceptTest, PrometheusHeaderGetsOpenMetrics) {
  // What Prometheus 2.x sends with exemplar storage on.
  EXPECT_EQ(NegotiateMetricsFormat(
                "application/openmetrics-text;version=1.0.0,application/"
                "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0."
                "0.4;q=0.5,*/*;q=0.1"),
            kOm);
  // And without: the text format first.
  EXPECT_EQ(NegotiateMetricsFormat("text/plain;version=0.0.4;q=1,*/*;q=0.1"),
            kText);
}

TEST(AcceptTest, QValuesDecide) {
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text"), kOm);
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text;q=0.5, "
                                   "text/plain;q=0.4"),
            kOm);
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text;q=0.4, "
                                   "text/plain;q=0.5"),
            kText);
  // q=0: not acceptable, however specific.
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text;q=0"), kText);
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text;q=0.000, "
                                   "*/*"),
            kText);
  // Equal q: the more specific range wins; a full tie keeps the text format.
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text, */*"), kOm);
  EXPECT_EQ(NegotiateMetricsFormat("application/*, text/*"), kText);
  EXPECT_EQ(NegotiateMetricsFormat("application/*"), kOm);
  // The most specific range sets a format's q (RFC 9110 12.5.1).
  EXPECT_EQ(NegotiateMetricsFormat("application/*;q=0.9, "
                                   "application/openmetrics-text;q=0.1, "
                                   "text/plain;q=0.5"),
            kText);
}

TEST(AcceptTest, VersionParameter) {
  EXPECT_EQ(
      NegotiateMetricsFormat("application/openmetrics-text; version=1.0.0"),
      kOm);
  EXPECT_EQ(
      NegotiateMetricsFormat("application/openmetrics-text; version=\"1.0.0\""),
      kOm);
  // Another version is a format this server does not write.
  EXPECT_EQ(
      NegotiateMetricsFormat("application/openmetrics-text; version=0.0.1"),
      kText);
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text;version=2."
                                   "0.0, text/plain;q=0.1"),
            kText);
  EXPECT_EQ(NegotiateMetricsFormat("text/plain;version=9.9.9, "
                                   "application/openmetrics-text;q=0.2"),
            kOm);
}

TEST(AcceptTest, CaseAndWhitespaceAndOtherParameters) {
  EXPECT_EQ(NegotiateMetricsFormat(
                "  Application/OpenMetrics-Text ; Q=0.9 ; charset=utf-8 "),
            kOm);
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text;"
                                   "foo=\"a,b\";q=1, text/plain;q=0.1"),
            kOm);
}

TEST(AcceptTest, MalformedRangesAreIgnored) {
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text;q=2"), kText);
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text;q=0.1234"),
            kText);
  EXPECT_EQ(NegotiateMetricsFormat("application/openmetrics-text;q=abc"),
            kText);
  EXPECT_EQ(NegotiateMetricsFormat("openmetrics"), kText);
  EXPECT_EQ(NegotiateMetricsFormat("/,;,=,\",;;q=,/openmetrics-text"), kText);
  EXPECT_EQ(NegotiateMetricsFormat(",,, application/openmetrics-text ,,"), kOm);
  EXPECT_EQ(NegotiateMetricsFormat(std::string(100000, ',')), kText);
}

TEST(MetricsRouteTest, AnswersInTheNegotiatedFormat) {
  Registry registry;
  GoldenSignals signals(registry, "m", "1");
  Endpoint& ep = signals.AddEndpoint("predict");
  {
    RequestGuard guard(ep);
    guard.SetId("req-7");
  }
  HttpServerOptions options;
  options.port = 0;
  HttpServer server(options, registry);
  server.Start();
  const auto om =
      tools::HttpCall("127.0.0.1", server.port(), "GET", "/metrics", "",
                      {{"Accept",
                        "application/openmetrics-text;version=1.0.0,text/plain;"
                        "version=0.0.4;q=0.5,*/*;q=0.1"}});
  ASSERT_EQ(om.error, "");
  EXPECT_EQ(om.status, 200);
  EXPECT_EQ(om.headers.at("content-type"),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(om.headers.at("vary"), "Accept");
  EXPECT_THAT(om.body, HasSubstr("# {id=\"req-7\"} "));
  EXPECT_THAT(om.body, EndsWith("# EOF\n"));

  const auto text =
      tools::HttpCall("127.0.0.1", server.port(), "GET", "/metrics");
  ASSERT_EQ(text.error, "");
  EXPECT_EQ(text.headers.at("content-type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(text.headers.at("vary"), "Accept");
  EXPECT_THAT(text.body, HasSubstr("mlmon_request_duration_seconds_bucket"));
  EXPECT_EQ(text.body.find("# EOF"), std::string::npos);
  EXPECT_EQ(text.body.find("req-7"), std::string::npos);
}

}  // namespace
}  // namespace mlmon
