// POST /v1/outcomes over real HTTP: every status of the feedback protocol,
// and the metric series it moves (never double counted).
#include "mlmon/feedback_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "http_client.h"
#include "mlmon/model_monitor.h"
#include "mlmon/registry.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using ::testing::HasSubstr;
using tools::HttpCall;
using tools::HttpResult;

using testutil::SampleValue;

class FeedbackEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ingest_.AddTracker(tracker_);
    HttpServerOptions o;
    o.bearer_token = "s3cret";
    server_ = std::make_unique<HttpServer>(o, registry_);
    FeedbackOptions f;
    f.max_body_bytes = 4096;
    AddFeedbackRoute(*server_, ingest_, f);
    server_->Start();
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(tracker_.RecordPrediction("p" + std::to_string(i),
                                            i % 2 ? 0.9 : 0.2));
    }
  }
  HttpResult Post(const std::string& body, const std::string& type,
                  const std::string& token = "s3cret") {
    std::vector<std::pair<std::string, std::string>> h = {
        {"Content-Type", type}};
    if (!token.empty()) h.push_back({"Authorization", "Bearer " + token});
    return HttpCall("127.0.0.1", server_->port(), "POST", "/v1/outcomes", body,
                    h);
  }
  std::optional<double> Outcomes(const std::string& result) {
    return SampleValue(
        registry_,
        R"(mlmon_outcomes_total{model="fraud",version="1",segment="",result=")" +
            result + "\"}");
  }

  FakeClock clock_;
  Registry registry_;
  OutcomeTracker tracker_{registry_, "fraud", "1", OutcomeSpec{}, &clock_};
  OutcomeIngest ingest_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(FeedbackEndpointTest, NdjsonBatchIsAccountedPerLineAndMovesSeries) {
  HttpResult r = Post(
      "{\"id\":\"p1\",\"outcome\":1}\n{\"id\":\"p2\",\"outcome\":0}\n"
      "{\"id\":\"zz\",\"outcome\":1}\n{\"id\":\"p3\",\"outcome\":\"yes\"}\n",
      "application/x-ndjson");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(
      r.body,
      R"({"matched":2,"unmatched":1,"duplicate":0,"invalid":1,"version_matches":2,"errors":[{"line":4,"detail":"invalid outcome for model 'fraud': expected 0, 1, true or false"}]})");
  EXPECT_EQ(Outcomes("matched"), 2);
  EXPECT_EQ(Outcomes("unmatched"), 1);
  EXPECT_EQ(Outcomes("invalid"), 1);
  // p1 (score 0.9, actual 1) is a true positive at 0.5; p2 (0.2, 0) a true
  // negative.
  EXPECT_EQ(
      SampleValue(
          registry_,
          R"(mlmon_confusion_total{model="fraud",version="1",segment="",threshold="0.5",predicted="1",actual="1"})"),
      1);
  EXPECT_EQ(
      SampleValue(
          registry_,
          R"(mlmon_confusion_total{model="fraud",version="1",segment="",threshold="0.5",predicted="0",actual="0"})"),
      1);
}

TEST_F(FeedbackEndpointTest, EachLineIsCountedOnceAndOnlyWholeObjectsApply) {
  // p2 followed by another object on the same line; a ts far in the future;
  // a 1000-byte id.
  HttpResult r = Post(
      "{\"id\":\"p2\",\"outcome\":1}{\"id\":\"x\"}\n"
      "{\"id\":\"p3\",\"outcome\":1,\"ts\":9999999999}\n"
      "{\"id\":\"" +
          std::string(1000, 'i') +
          "\",\"outcome\":1}\n"
          "{\"id\":\"p1\",\"outcome\":1}\n",
      "application/x-ndjson");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(
      r.body,
      R"j({"matched":1,"unmatched":0,"duplicate":0,"invalid":3,)j"
      R"j("version_matches":1,"errors":[)j"
      R"j({"line":1,"detail":"characters after the JSON object (one object per line)"},)j"
      R"j({"line":2,"detail":"ts 9999999999 is 8.3e+09 s in the future (max_clock_skew 300 s)"},)j"
      R"j({"line":3,"detail":"id is 1000 bytes, longer than the 64-byte limit"}]})j");
  EXPECT_EQ(Outcomes("matched"), 1);
  EXPECT_EQ(Outcomes("invalid"), 3);
  tracker_.Tick();
  EXPECT_EQ(
      SampleValue(
          registry_,
          R"(mlmon_last_outcome_timestamp_seconds{model="fraud",version="1"})"),
      clock_.UnixSeconds());
  // p2 and p3 were not applied: their outcomes still match.
  HttpResult again =
      Post("{\"id\":\"p2\",\"outcome\":1}\n{\"id\":\"p3\",\"outcome\":1}\n",
           "application/x-ndjson");
  EXPECT_THAT(again.body, HasSubstr("\"matched\":2,"));
}

TEST_F(FeedbackEndpointTest, ResendingNeverCountsTwice) {
  const std::string body =
      "[{\"id\":\"p5\",\"outcome\":1},{\"id\":\"p7\",\"outcome\":true}]";
  HttpResult first = Post(body, "application/json; charset=utf-8");
  HttpResult again = Post(body, "application/json");
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(again.status, 200);
  EXPECT_THAT(first.body, HasSubstr("\"matched\":2,"));
  EXPECT_THAT(again.body,
              HasSubstr("\"matched\":0,\"unmatched\":0,\"duplicate\":2,"));
  EXPECT_EQ(Outcomes("matched"), 2);
  EXPECT_EQ(Outcomes("duplicate"), 2);
  EXPECT_EQ(
      SampleValue(
          registry_,
          R"(mlmon_confusion_total{model="fraud",version="1",segment="",threshold="0.5",predicted="1",actual="1"})"),
      2);
}

TEST_F(FeedbackEndpointTest, MalformedJsonIs400NamingTheLine) {
  HttpResult r =
      Post("[{\"id\":\"p1\",\n\"outcome\":1},\n{oops}]", "application/json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.headers["content-type"], "application/problem+json");
  EXPECT_THAT(r.body, HasSubstr("line "));
  HttpResult nd = Post("this is\nnot json\n", "application/x-ndjson");
  EXPECT_EQ(nd.status, 400);
  EXPECT_THAT(nd.body, HasSubstr("line 1"));
  EXPECT_LE(Outcomes("matched"), 0);  // nothing recorded at all
}

TEST_F(FeedbackEndpointTest, AuthMethodSizeAndMediaType) {
  const std::string ok = "{\"id\":\"p1\",\"outcome\":1}";
  EXPECT_EQ(Post(ok, "application/json", "").status, 401);
  EXPECT_EQ(Post(ok, "application/json", "wrong").status, 401);
  EXPECT_EQ(Post(ok, "text/plain").status, 415);
  EXPECT_EQ(Post(ok, "").status, 415);
  EXPECT_EQ(HttpCall("127.0.0.1", server_->port(), "GET", "/v1/outcomes", "",
                     {{"Authorization", "Bearer s3cret"}})
                .status,
            405);
  EXPECT_EQ(Post(std::string(5000, ' ') + ok, "application/json").status, 413);
  EXPECT_LE(Outcomes("matched"), 0);  // none of the refused requests counted
  EXPECT_EQ(Post(ok, "application/json").status, 200);
  EXPECT_EQ(Outcomes("matched"), 1);
}

// The ingest outlives the server, the monitor does not: destroying the
// monitor behind the live route, then posting, answers its lines as an
// unknown model and the server keeps serving.
TEST(FeedbackLifetimeTest, MonitorDestroyedBehindALiveRoute) {
  Registry registry;
  OutcomeIngest ingest;
  HttpServer server(HttpServerOptions{}, registry);
  MonitorSpec spec;
  spec.model = "fraud";
  spec.version = "1";
  spec.outcome.pending_capacity = 1000;
  auto monitor = std::make_unique<ModelMonitor>(registry, spec);
  ingest.AddTracker(monitor->outcomes());
  AddFeedbackRoute(server, ingest);
  server.Start();
  const std::vector<std::pair<std::string, std::string>> ndjson = {
      {"Content-Type", "application/x-ndjson"}};
  auto post = [&](const std::string& body) {
    return HttpCall("127.0.0.1", server.port(), "POST", "/v1/outcomes", body,
                    ndjson);
  };
  ASSERT_TRUE(monitor->outcomes().RecordPrediction("p1", 0.9));
  ASSERT_TRUE(monitor->outcomes().RecordPrediction("p2", 0.9));
  HttpResult before = post("{\"id\":\"p1\",\"outcome\":1}\n");
  ASSERT_EQ(before.status, 200) << before.error;
  EXPECT_THAT(before.body, HasSubstr("\"matched\":1,"));

  monitor.reset();  // while the server runs
  for (int i = 0; i < 2; ++i) {
    HttpResult after =
        post("{\"id\":\"p2\",\"outcome\":1,\"model\":\"fraud\"}\n");
    ASSERT_EQ(after.status, 200) << after.error;
    EXPECT_EQ(after.body,
              R"({"matched":0,"unmatched":0,"duplicate":0,"invalid":1,)"
              R"("version_matches":0,"errors":[{"line":1,"detail":)"
              R"("unknown model 'fraud'"}]})");
  }
  EXPECT_EQ(
      HttpCall("127.0.0.1", server.port(), "GET", "/metrics", "", {}).status,
      200);

  // A new version added at run time is served by the same route.
  spec.version = "2";
  ModelMonitor v2(registry, spec);
  ingest.AddTracker(v2.outcomes());
  ASSERT_TRUE(v2.outcomes().RecordPrediction("p3", 0.2));
  HttpResult swapped = post("{\"id\":\"p3\",\"outcome\":0}\n");
  ASSERT_EQ(swapped.status, 200) << swapped.error;
  EXPECT_THAT(swapped.body, HasSubstr("\"matched\":1,"));
  EXPECT_EQ(
      SampleValue(
          registry,
          R"(mlmon_outcomes_total{model="fraud",version="2",segment="",result="matched"})"),
      1);
  server.Stop();
}

}  // namespace
}  // namespace mlmon
