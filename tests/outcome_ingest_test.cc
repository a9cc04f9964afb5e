#include "mlmon/outcome_ingest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mlmon/registry.h"

namespace mlmon {
namespace {

using ::testing::HasSubstr;

class OutcomeIngestTest : public ::testing::Test {
 protected:
  OutcomeIngestTest() {
    ingest_.AddTracker(fraud_);
    for (int i = 0; i < 10; ++i) {
      EXPECT_TRUE(fraud_.RecordPrediction("p" + std::to_string(i), 0.1 * i));
    }
  }
  FakeClock clock_;
  Registry registry_;
  OutcomeTracker fraud_{registry_, "fraud", "1", OutcomeSpec{}, &clock_};
  OutcomeIngest ingest_;
};

TEST_F(OutcomeIngestTest, NdjsonLinesAreAccountedOneByOne) {
  const std::string body =
      "{\"id\":\"p1\",\"outcome\":1}\n"
      "{\"id\":\"p2\",\"outcome\":false,\"ts\":1700000000.5}\n"
      "\n"                                   // blank: ignored
      "{\"id\":\"nope\",\"outcome\":0}\n"    // unknown id
      "{\"id\":\"p1\",\"outcome\":1}\n"      // duplicate
      "{\"id\":\"p3\",\"outcome\":0.5}\n"    // invalid for binary
      "not json\n"                           // malformed line
      "{\"outcome\":1}\r\n"                  // missing id (CRLF tolerated)
      "{\"id\":\"p4\",\"outcome\":true,\"model\":\"fraud\"}";  // no final \n
  IngestReport r = ingest_.IngestOutcomes(body, BodyFormat::kNdjson);
  EXPECT_EQ(r.matched, 3u);
  EXPECT_EQ(r.unmatched, 1u);
  EXPECT_EQ(r.duplicate, 1u);
  EXPECT_EQ(r.invalid, 3u);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 6u);
  EXPECT_THAT(r.errors[0].detail, HasSubstr("0, 1, true or false"));
  EXPECT_EQ(r.errors[1].line, 7u);
  EXPECT_EQ(r.errors[2].line, 8u);
  EXPECT_THAT(r.errors[2].detail, HasSubstr("missing 'id'"));
}

TEST_F(OutcomeIngestTest, JsonObjectAndArray) {
  IngestReport one = ingest_.IngestOutcomes(R"({"id":"p5","outcome":1})", BodyFormat::kJson);
  EXPECT_EQ(one.matched, 1u);
  IngestReport arr = ingest_.IngestOutcomes(
      R"([{"id":"p6","outcome":0},{"id":"p7"},42,{"id":"p5","outcome":1}])",
      BodyFormat::kJson);
  EXPECT_EQ(arr.matched, 1u);
  EXPECT_EQ(arr.duplicate, 1u);
  EXPECT_EQ(arr.invalid, 2u);
  ASSERT_EQ(arr.errors.size(), 2u);
  EXPECT_EQ(arr.errors[0].line, 2u);
  EXPECT_THAT(arr.errors[0].detail, HasSubstr("missing 'outcome'"));
  EXPECT_EQ(arr.errors[1].line, 3u);
}

TEST_F(OutcomeIngestTest, MalformedBodiesThrowNamingTheLine) {
  EXPECT_THROW(ingest_.IngestOutcomes("{\"id\": ", BodyFormat::kJson), MalformedBody);
  EXPECT_THROW(ingest_.IngestOutcomes("\"just a string\"", BodyFormat::kJson), MalformedBody);
  try {
    ingest_.IngestOutcomes("garbage\n{also bad\n", BodyFormat::kNdjson);
    FAIL();
  } catch (const MalformedBody& e) {
    EXPECT_EQ(e.line(), 1u);
  }
}

TEST_F(OutcomeIngestTest, WrongTypesAreInvalidNotFatal) {
  IngestReport r = ingest_.IngestOutcomes(
      "{\"id\":7,\"outcome\":1}\n{\"id\":\"\",\"outcome\":1}\n"
      "{\"id\":\"p8\",\"outcome\":[1]}\n{\"id\":\"p8\",\"outcome\":1,\"ts\":-5}\n"
      "{\"id\":\"p8\",\"outcome\":1,\"model\":\"other\"}\n"
      "{\"id\":\"p8\",\"outcome\":1} trailing\n"
      "{\"id\":\"p8\",\"outcome\":1}\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.invalid, 6u);
  EXPECT_EQ(r.matched, 1u);
  EXPECT_THAT(r.errors[4].detail, HasSubstr("unknown model 'other'"));
}

TEST_F(OutcomeIngestTest, ReportJsonShape) {
  IngestReport r;
  r.matched = 2;
  r.AddError(3, "bad \"quote\"");
  EXPECT_EQ(r.ToJson(),
            R"({"matched":2,"unmatched":0,"duplicate":0,"invalid":1,"errors":[{"line":3,"detail":"bad \"quote\""}]})");
}

TEST_F(OutcomeIngestTest, ErrorListIsBounded) {
  std::string body;
  for (int i = 0; i < 500; ++i) body += "{\"id\":\"x\"}\n";
  IngestReport r = ingest_.IngestOutcomes(body, BodyFormat::kNdjson);
  EXPECT_EQ(r.invalid, 500u);
  EXPECT_EQ(r.errors.size(), IngestReport::kMaxErrors);
}

TEST(OutcomeIngestRoutingTest, SeveralModelsNeedTheModelField) {
  Registry registry;
  FakeClock clock;
  OutcomeTracker a(registry, "a", "1", OutcomeSpec{}, &clock);
  OutcomeSpec reg;
  reg.task = OutcomeSpec::Task::kRegression;
  OutcomeTracker b(registry, "b", "1", reg, &clock);
  OutcomeIngest ingest;
  ingest.AddTracker(a);
  ingest.AddTracker(b);
  EXPECT_THROW(ingest.AddTracker(a), ConfigError);
  ASSERT_TRUE(a.RecordPrediction("x", 0.9));
  ASSERT_TRUE(b.RecordPrediction("x", 12.5));
  IngestReport r = ingest.IngestOutcomes(
      "{\"id\":\"x\",\"outcome\":1}\n"
      "{\"id\":\"x\",\"outcome\":1,\"model\":\"a\"}\n"
      "{\"id\":\"x\",\"outcome\":10.0,\"model\":\"b\"}\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.matched, 2u);
  ASSERT_EQ(r.invalid, 1u);
  EXPECT_THAT(r.errors[0].detail, HasSubstr("'model' is required"));
}

TEST(ParsePredictionsTest, EveryKindAndBadLines) {
  std::vector<PredictionEvent> events;
  IngestReport report;
  ParsePredictions(
      "{\"ts\":1.5,\"id\":\"a\",\"score\":0.25}\n"
      "{\"id\":\"b\",\"value\":-3}\n"
      "{\"id\":\"c\",\"label\":\"cat\",\"model\":\"m\"}\n"
      "{\"id\":\"d\",\"items\":[\"x\",\"y\"]}\n"
      "{\"id\":\"e\"}\n"
      "{\"id\":\"f\",\"score\":0.1,\"label\":\"cat\"}\n"
      "{\"id\":\"g\",\"items\":[1]}\n",
      &events, &report);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].ts, 1.5);
  EXPECT_EQ(events[0].number, 0.25);
  EXPECT_EQ(events[1].kind, PredictionEvent::Kind::kValue);
  EXPECT_EQ(events[2].label, "cat");
  EXPECT_EQ(events[2].model, "m");
  EXPECT_EQ(events[3].items, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(events[3].line, 4u);
  EXPECT_EQ(report.invalid, 3u);
  EXPECT_EQ(report.errors[0].line, 5u);
}

}  // namespace
}  // namespace mlmon
