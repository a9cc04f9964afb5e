#include "mlmon/outcome_ingest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mlmon/registry.h"
#include "testing/data_gen.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using ::testing::HasSubstr;

using testutil::ExposedValue;

double Outcomes(const Registry& r, const std::string& model,
                const std::string& result) {
  return ExposedValue(r, "mlmon_outcomes_total{model=\"" + model +
                             "\",version=\"1\",segment=\"\",result=\"" +
                             result + "\"}");
}

double ModelMetric(const Registry& r, const std::string& model,
                   const std::string& name, const std::string& extra = "") {
  return ExposedValue(r, name + testutil::ModelLabels(name, model, "1") +
                             (extra.empty() ? "" : "," + extra) + "}");
}

std::size_t Lines(const IngestReport& r) {
  return r.matched + r.unmatched + r.duplicate + r.invalid;
}

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
      "\n"                                 // blank: ignored
      "{\"id\":\"nope\",\"outcome\":0}\n"  // unknown id
      "{\"id\":\"p1\",\"outcome\":1}\n"    // duplicate
      "{\"id\":\"p3\",\"outcome\":0.5}\n"  // invalid for binary
      "not json\n"                         // malformed line
      "{\"outcome\":1}\r\n"                // missing id (CRLF tolerated)
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
  IngestReport one =
      ingest_.IngestOutcomes(R"({"id":"p5","outcome":1})", BodyFormat::kJson);
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

// A JSON body is refused as a whole when any part of it is not JSON, also a
// scalar or nested element after good objects (the on-demand parser skips
// elements it is not asked for without checking their numbers and
// literals): nothing of it is applied.
TEST_F(OutcomeIngestTest, JsonArrayWithABrokenElementIsRefusedWhole) {
  for (const char* body : {R"([{"id":"p6","outcome":0},{},1x])",
                           R"([{"id":"p6","outcome":0},tru])",
                           R"([{"id":"p6","outcome":0},[1,2x]])",
                           R"([{"id":"p6","outcome":0},{"a":nul}])",
                           R"([{"id":"p6","outcome":0},"\q"])"}) {
    EXPECT_THROW(ingest_.IngestOutcomes(body, BodyFormat::kJson), MalformedBody)
        << body;
  }
  // p6 was never applied: it matches now.
  IngestReport r =
      ingest_.IngestOutcomes(R"({"id":"p6","outcome":0})", BodyFormat::kJson);
  EXPECT_EQ(r.matched, 1u);
  // In NDJSON, a line whose ignored key holds broken JSON is malformed and
  // not applied; the other lines are.
  IngestReport nd = ingest_.IngestOutcomes(
      "{\"id\":\"p9\",\"outcome\":1,\"note\":1x}\n{\"id\":\"p4\",\"outcome\":0}"
      "\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(nd.matched, 1u);
  EXPECT_EQ(nd.invalid, 1u);
  EXPECT_EQ(nd.malformed, 1u);
  // Well-formed non-objects are invalid elements, the rest applies.
  IngestReport ok = ingest_.IngestOutcomes(
      R"([{"id":"p7","outcome":1},1.5e3,true,null,"s",[1,{"a":[]}],{"id":"p8","outcome":0}])",
      BodyFormat::kJson);
  EXPECT_EQ(ok.matched, 2u);
  EXPECT_EQ(ok.invalid, 5u);
}

TEST_F(OutcomeIngestTest, MalformedBodiesThrowNamingTheLine) {
  EXPECT_THROW(ingest_.IngestOutcomes("{\"id\": ", BodyFormat::kJson),
               MalformedBody);
  EXPECT_THROW(ingest_.IngestOutcomes("\"just a string\"", BodyFormat::kJson),
               MalformedBody);
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
      "{\"id\":\"p8\",\"outcome\":[1]}\n{\"id\":\"p8\",\"outcome\":1,\"ts\":-5}"
      "\n"
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
  r.version_matches = 3;
  r.AddError(3, "bad \"quote\"");
  EXPECT_EQ(
      r.ToJson(),
      R"({"matched":2,"unmatched":0,"duplicate":0,"invalid":1,"version_matches":3,"errors":[{"line":3,"detail":"bad \"quote\""}]})");
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
  try {
    ingest.AddTracker(a);
    ADD_FAILURE() << "a second tracker for model 'a' was accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: OutcomeIngest::AddTracker: a tracker for this model "
                 "and version is already registered (model 'a', version "
                 "'1')");
  }
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

TEST_F(OutcomeIngestTest, LineWithTrailingContentIsInvalidAndNotApplied) {
  // Each line is an object followed by more content: none is applied, each
  // is counted once, as invalid.
  const std::vector<std::string> lines = {
      R"({"id":"p2","outcome":1}{"id":"x"})",
      R"({"id":"p2","outcome":1} {"id":"p3","outcome":1})",
      R"({"id":"p2","outcome":1} x)",
      R"({"id":"p2","outcome":1}})",
      R"({"id":"p2","outcome":1}])",
      R"({"id":"p2","outcome":1},)",
      R"({"id":"p2","outcome":1} 1)",
      R"({"id":"p2","outcome":1}"")",
  };
  for (const std::string& line : lines) {
    SCOPED_TRACE(line);
    // A valid line too, so the body is not refused as a whole.
    IngestReport r = ingest_.IngestOutcomes(
        line + "\n{\"id\":\"none\",\"outcome\":1}\n", BodyFormat::kNdjson);
    EXPECT_EQ(r.matched, 0u);
    EXPECT_EQ(r.unmatched, 1u);
    EXPECT_EQ(r.invalid, 1u);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].line, 1u);
    EXPECT_THAT(r.errors[0].detail, HasSubstr("after the JSON object"));
  }
  EXPECT_EQ(Outcomes(registry_, "fraud", "matched"), 0);
  EXPECT_EQ(Outcomes(registry_, "fraud", "invalid"),
            static_cast<double>(lines.size()));
  EXPECT_EQ(fraud_.pending(), 10u);  // p2 and p3 still wait
  // Alone in a body, such a line is not JSON at all: the body is refused.
  EXPECT_THROW(ingest_.IngestOutcomes(lines[0], BodyFormat::kNdjson),
               MalformedBody);
  EXPECT_EQ(Outcomes(registry_, "fraud", "invalid"),
            static_cast<double>(lines.size()));
  // Trailing blanks are fine.
  IngestReport ok = ingest_.IngestOutcomes(
      "{\"id\":\"p2\",\"outcome\":1} \t\r\n", BodyFormat::kNdjson);
  EXPECT_EQ(ok.matched, 1u);
  EXPECT_EQ(ok.invalid, 0u);
}

TEST_F(OutcomeIngestTest, BrokenObjectsAreNeverApplied) {
  const std::vector<std::string> lines = {
      R"({"id":"p2","outcome":1)",
      R"({"id":"p2","outcome":1,})",
      R"({"id":"p2" "outcome":1})",
      R"({"id":"p2","outcome":})",
      R"({"id":"p2","outcome":1]})",
      R"({"id":"p2","outcome":tru})",
      R"({"id":"p2",,"outcome":1})",
      R"({"id":"p2":"outcome":1})",
      R"({"id":"p2","outcome":1,"x":[})",
      R"({"id":"p2","outcome":1,"x":{"y":})",
  };
  for (const std::string& line : lines) {
    SCOPED_TRACE(line);
    IngestReport r = ingest_.IngestOutcomes(
        line + "\n{\"id\":\"none\",\"outcome\":1}\n", BodyFormat::kNdjson);
    EXPECT_EQ(r.matched, 0u);
    EXPECT_EQ(r.unmatched + r.invalid, 2u);
    EXPECT_EQ(Lines(r), 2u);
  }
  EXPECT_EQ(Outcomes(registry_, "fraud", "matched"), 0);
  EXPECT_EQ(fraud_.pending(), 10u);
}

TEST_F(OutcomeIngestTest, FutureTimestampIsInvalidNamingTheSkew) {
  const double now = clock_.UnixSeconds();  // FakeClock: 1.7e9
  IngestReport r = ingest_.IngestOutcomes(
      "{\"id\":\"p1\",\"outcome\":1,\"ts\":9999999999}\n"
      "{\"id\":\"p2\",\"outcome\":1,\"ts\":1e300}\n"
      "{\"id\":\"p3\",\"outcome\":1,\"ts\":1e400}\n"  // not a double
      "{\"id\":\"p4\",\"outcome\":1,\"ts\":-5}\n"
      "{\"id\":\"p5\",\"outcome\":1,\"ts\":\"soon\"}\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.invalid, 5u);
  EXPECT_EQ(r.matched, 0u);
  ASSERT_EQ(r.errors.size(), 5u);
  EXPECT_EQ(r.errors[0].detail,
            "ts 9999999999 is 8.3e+09 s in the future (max_clock_skew 300 s)");
  EXPECT_THAT(r.errors[1].detail, HasSubstr("in the future"));
  for (std::size_t i = 2; i < 5; ++i) {
    EXPECT_THAT(r.errors[i].detail, HasSubstr("'ts' must be a non-negative"));
  }
  fraud_.Tick();
  EXPECT_EQ(
      ModelMetric(registry_, "fraud", "mlmon_last_outcome_timestamp_seconds"),
      0);
  EXPECT_EQ(ModelMetric(registry_, "fraud", "mlmon_outcome_delay_seconds_sum"),
            0);
  EXPECT_EQ(Outcomes(registry_, "fraud", "invalid"), 5);
  EXPECT_EQ(fraud_.pending(), 10u);
  // Within the skew, and the epoch itself (a past time is accepted).
  r = ingest_.IngestOutcomes(
      "{\"id\":\"p1\",\"outcome\":1,\"ts\":" + std::to_string(now + 299) +
          "}\n{\"id\":\"p2\",\"outcome\":1,\"ts\":0}\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.matched, 2u);
  fraud_.Tick();
  EXPECT_DOUBLE_EQ(
      ModelMetric(registry_, "fraud", "mlmon_last_outcome_timestamp_seconds"),
      now + 299);
}

TEST_F(OutcomeIngestTest, LongIdIsNamedAsTheProblem) {
  IngestReport r = ingest_.IngestOutcomes(
      "{\"id\":\"" + std::string(10240, 'x') + "\",\"outcome\":1}\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.invalid, 1u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].detail,
            "id is 10240 bytes, longer than the 64-byte limit");
  EXPECT_EQ(Outcomes(registry_, "fraud", "invalid"), 1);
  EXPECT_EQ(ModelMetric(registry_, "fraud", "mlmon_dropped_total",
                        "reason=\"id_too_long\""),
            1);
  // Exactly the limit is fine.
  r = ingest_.IngestOutcomes(
      "{\"id\":\"" + std::string(64, 'x') + "\",\"outcome\":1}\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.unmatched, 1u);
  // Predictions (replay) name it too.
  std::vector<PredictionEvent> events;
  IngestReport pr;
  ParsePredictions("{\"id\":\"" + std::string(65, 'y') + "\",\"score\":0.5}\n",
                   &events, &pr);
  ASSERT_EQ(events.size(), 1u);
  ingest_.Apply(events[0], &pr);
  ASSERT_EQ(pr.errors.size(), 1u);
  EXPECT_EQ(pr.errors[0].detail,
            "id is 65 bytes, longer than the 64-byte limit");
}

class TwoModelsTest : public ::testing::Test {
 protected:
  TwoModelsTest() {
    ingest_.AddTracker(a_);
    ingest_.AddTracker(b_);
  }
  static OutcomeSpec Regression() {
    OutcomeSpec s;
    s.task = OutcomeSpec::Task::kRegression;
    return s;
  }
  FakeClock clock_;
  Registry registry_;
  OutcomeTracker a_{registry_, "a", "1", OutcomeSpec{}, &clock_};
  OutcomeTracker b_{registry_, "b", "1", Regression(), &clock_};
  OutcomeIngest ingest_;
};

TEST_F(TwoModelsTest, RefusedLineIsCountedInTheModelItNames) {
  ASSERT_TRUE(b_.RecordPrediction("x", 1.0));
  IngestReport r = ingest_.IngestOutcomes(
      "{\"id\":\"\",\"outcome\":1,\"model\":\"b\"}\n"     // empty id
      "{\"model\":\"b\",\"id\":\"\",\"outcome\":1}\n"     // model first
      "{\"id\":7,\"outcome\":1,\"model\":\"b\"}\n"        // id not a string
      "{\"outcome\":1,\"model\":\"b\"}\n"                 // no id
      "{\"id\":\"x\",\"model\":\"b\"}\n"                  // no outcome
      "{\"id\":\"x\",\"outcome\":[1],\"model\":\"b\"}\n"  // bad outcome
      "{\"id\":\"x\",\"outcome\":1,\"ts\":-1,\"model\":\"b\"}\n"  // bad ts
      "{\"id\":\"x\",\"outcome\":1,\"model\":\"b\"} junk\n"       // trailing
      "{\"id\":\"x\",\"outcome\":1,\"ts\":9999999999,\"model\":\"b\"}\n"
      "{\"id\":\"" +
          std::string(65, 'x') +
          "\",\"outcome\":1,\"model\":\"b\"}\n"
          "{\"id\":\"x\",\"outcome\":\"cat\",\"model\":\"b\"}\n"  // wrong kind
          "{\"id\":\"\",\"x\":{\"a\":[1,{}]},\"model\":\"b\"}\n"  // skip nested
          "{\"id\":\"x\",\"outcome\":[1,{\"y\":2}],\"model\":\"b\"}\n"
          "{\"model\":\"b\",\"id\":\"x\",\"outcome\":1,}\n"  // broken
          "{\"id\":\"x\",\"outcome\":1}\n"                   // no model
          "{\"id\":\"x\",\"outcome\":1,\"model\":\"c\"}\n"   // unknown model
          "{\"id\":\"x\",\"outcome\":1,\"model\":\"\"}\n"    // empty model
          "{\"id\":\"x\",\"outcome\":1,\"model\":5}\n"  // model not a string
          "not json\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.invalid, 19u);
  EXPECT_EQ(Lines(r), 19u);
  EXPECT_EQ(Outcomes(registry_, "b", "invalid"), 14);
  // Lines that name no hosted model are in the answer only.
  EXPECT_EQ(Outcomes(registry_, "a", "invalid"), 0);
  EXPECT_EQ(b_.pending(), 1u);  // nothing consumed x
  EXPECT_THAT(r.errors[13].detail, HasSubstr("malformed JSON"));
  EXPECT_THAT(r.errors[14].detail, HasSubstr("'model' is required"));
  EXPECT_THAT(r.errors[15].detail, HasSubstr("unknown model 'c'"));
}

TEST_F(TwoModelsTest, RefusedArrayElementIsCountedInTheModelItNames) {
  IngestReport r = ingest_.IngestOutcomes(
      R"([{"id":"","outcome":1,"model":"a"},{"model":"b"},7,{"id":"y","outcome":1,"model":"a"}])",
      BodyFormat::kJson);
  EXPECT_EQ(r.invalid, 3u);
  EXPECT_EQ(r.unmatched, 1u);
  EXPECT_EQ(Outcomes(registry_, "a", "invalid"), 1);
  EXPECT_EQ(Outcomes(registry_, "a", "unmatched"), 1);
  EXPECT_EQ(Outcomes(registry_, "b", "invalid"), 1);
}

TEST(OutcomeIngestOneModelTest, LinesNamingNoHostedModelCountInTheOnlyModel) {
  FakeClock clock;
  Registry registry;
  OutcomeTracker t(registry, "m", "1", OutcomeSpec{}, &clock);
  OutcomeIngest ingest;
  ingest.AddTracker(t);
  IngestReport r = ingest.IngestOutcomes(
      "{\"id\":\"x\",\"outcome\":1,\"model\":\"other\"}\n"
      "not json\n"
      "{\"id\":\"\",\"outcome\":1,\"model\":\"other\"}\n"
      "{\"id\":\"x\",\"outcome\":1}\n",
      BodyFormat::kNdjson);
  EXPECT_EQ(r.invalid, 3u);
  EXPECT_EQ(r.unmatched, 1u);
  EXPECT_EQ(Outcomes(registry, "m", "invalid"), 3);
  EXPECT_EQ(Outcomes(registry, "m", "unmatched"), 1);
}

// Random mixes of every kind of line, in random bodies: the answer of each
// body sums to its non-blank lines, and the answers and per-model counters
// equal a count kept independently here.
TEST(OutcomeIngestPropertyTest, EveryLineIsCountedExactlyOnce) {
  enum Kind {
    kValid,         // a known model, an id from the pool: matched/dup/unmatched
    kTrailing,      // a valid line followed by more content
    kNotJson,       // garbage
    kFutureTs,      // ts beyond the skew
    kPastTs,        // ts long ago: valid
    kNegativeTs,    // refused when parsed
    kLongId,        // id over the limit
    kEmptyId,       // refused when parsed
    kBadValue,      // refused by the tracker
    kUnknownModel,  // names a model not hosted
    kNoModel,       // names no model (two are hosted)
    kNotObject,     // JSON, but not an object
    kBlank,         // ignored
    kNumKinds
  };
  for (unsigned seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    testutil::DataGen gen(seed);
    auto pick = [&](std::size_t n) { return gen.Index(n); };
    FakeClock clock;
    Registry registry;
    OutcomeSpec bin;
    bin.pending_capacity = 100000;
    OutcomeSpec reg = bin;
    reg.task = OutcomeSpec::Task::kRegression;
    OutcomeTracker a(registry, "a", "1", bin, &clock);
    OutcomeTracker b(registry, "b", "1", reg, &clock);
    OutcomeIngest ingest;
    ingest.AddTracker(a);
    ingest.AddTracker(b);
    const std::vector<std::string> models = {"a", "b"};
    // Ids 0..199 of each model are predicted; 200..299 never are.
    std::map<std::string, std::set<std::string>> pending, matched;
    for (const std::string& m : models) {
      OutcomeTracker& t = m == "a" ? a : b;
      for (int i = 0; i < 200; ++i) {
        const std::string id = m + std::to_string(i);
        ASSERT_TRUE(t.RecordPrediction(id, 0.5));
        pending[m].insert(id);
      }
    }
    struct Counts {
      double matched = 0, unmatched = 0, duplicate = 0, invalid = 0;
    };
    std::map<std::string, Counts> want;  // per model counters
    IngestReport total_want, total_got;
    for (int body_no = 0; body_no < 60; ++body_no) {
      std::string body;
      IngestReport body_want;
      std::map<std::string, Counts> body_model;
      std::size_t lines = 0, json_lines = 0;
      const std::size_t n = 1 + pick(40);
      for (std::size_t l = 0; l < n; ++l) {
        const auto kind = static_cast<Kind>(pick(kNumKinds));
        const std::string m = models[pick(2)];
        const std::string id = m + std::to_string(pick(300));
        const std::string value = m == "a" ? (pick(2) ? "true" : "0") : "3.5";
        const double now = clock.UnixSeconds();
        auto obj = [&](const std::string& idv, const std::string& extra) {
          // The model goes first or last.
          if (pick(2)) {
            return "{\"model\":\"" + m + "\",\"id\":\"" + idv +
                   "\",\"outcome\":" + value + extra + "}";
          }
          return "{\"id\":\"" + idv + "\",\"outcome\":" + value + extra +
                 ",\"model\":\"" + m + "\"}";
        };
        std::string line;
        bool counted_in_model = true;
        switch (kind) {
          case kValid:
          case kPastTs:
            line = obj(id, kind == kPastTs
                               ? ",\"ts\":" + std::to_string(pick(1000000000))
                               : (pick(2) ? ",\"ts\":" + std::to_string(now - 5)
                                          : std::string()));
            if (pending[m].count(id) != 0) {
              pending[m].erase(id);
              matched[m].insert(id);
              ++body_want.matched;
              ++body_model[m].matched;
            } else if (matched[m].count(id) != 0) {
              ++body_want.duplicate;
              ++body_model[m].duplicate;
            } else {
              ++body_want.unmatched;
              ++body_model[m].unmatched;
            }
            break;
          case kTrailing:
            line = obj(id, "") + (pick(2) ? "{\"id\":\"z\"}" : " x");
            break;
          case kNotJson:
            line = pick(2) ? "not json" : "{\"id\":";
            counted_in_model = false;
            break;
          case kFutureTs:
            line = obj(id,
                       ",\"ts\":" + std::to_string(now + 301 + pick(1u << 30)));
            break;
          case kNegativeTs:
            line = obj(id, ",\"ts\":-" + std::to_string(1 + pick(100)));
            break;
          case kLongId:
            line = obj(std::string(65 + pick(20000), 'q'), "");
            break;
          case kEmptyId:
            line = obj("", "");
            break;
          case kBadValue:
            line = m == "a" ? "{\"model\":\"a\",\"id\":\"" + id +
                                  "\",\"outcome\":0.5}"
                            : "{\"model\":\"b\",\"id\":\"" + id +
                                  "\",\"outcome\":\"dog\"}";
            break;
          case kUnknownModel:
            line = "{\"id\":\"" + id + "\",\"outcome\":1,\"model\":\"zz\"}";
            counted_in_model = false;
            break;
          case kNoModel:
            line = "{\"id\":\"" + id + "\",\"outcome\":1}";
            counted_in_model = false;
            break;
          case kNotObject:
            line = pick(2) ? "[1,2]" : "\"str\"";
            counted_in_model = false;
            break;
          case kBlank:
          case kNumKinds:
            line = pick(2) ? "" : "  \t";
            break;
        }
        body += line + (pick(4) == 0 ? "\r\n" : "\n");
        if (kind == kBlank) continue;
        ++lines;
        const bool malformed =
            kind == kTrailing || kind == kNotJson || kind == kNotObject;
        json_lines += malformed ? 0 : 1;
        if (kind != kValid && kind != kPastTs) {
          ++body_want.invalid;
          if (counted_in_model) ++body_model[m].invalid;
        }
      }
      if (lines > 0 && json_lines == 0) {
        // No line is a JSON object: the body is refused, nothing counted.
        EXPECT_THROW(ingest.IngestOutcomes(body, BodyFormat::kNdjson),
                     MalformedBody);
        // Undo the expected matches (there were none: no valid line).
        continue;
      }
      const IngestReport got = ingest.IngestOutcomes(body, BodyFormat::kNdjson);
      EXPECT_EQ(Lines(got), lines) << body;
      EXPECT_EQ(got.matched, body_want.matched) << body;
      EXPECT_EQ(got.unmatched, body_want.unmatched) << body;
      EXPECT_EQ(got.duplicate, body_want.duplicate) << body;
      EXPECT_EQ(got.invalid, body_want.invalid) << body;
      EXPECT_EQ(got.errors.size(),
                std::min(got.invalid, IngestReport::kMaxErrors));
      for (std::size_t e = 1; e < got.errors.size(); ++e) {
        EXPECT_LT(got.errors[e - 1].line, got.errors[e].line);
      }
      for (auto& [model, c] : body_model) {
        want[model].matched += c.matched;
        want[model].unmatched += c.unmatched;
        want[model].duplicate += c.duplicate;
        want[model].invalid += c.invalid;
      }
      clock.Advance(std::chrono::seconds(1));
    }
    for (const std::string& m : models) {
      SCOPED_TRACE(m);
      EXPECT_EQ(Outcomes(registry, m, "matched"), want[m].matched);
      EXPECT_EQ(Outcomes(registry, m, "unmatched"), want[m].unmatched);
      EXPECT_EQ(Outcomes(registry, m, "duplicate"), want[m].duplicate);
      EXPECT_EQ(Outcomes(registry, m, "invalid"), want[m].invalid);
      EXPECT_EQ(ModelMetric(registry, m, "mlmon_pending_predictions"),
                static_cast<double>(pending[m].size()));
      EXPECT_GT(want[m].matched, 0);
      EXPECT_GT(want[m].invalid, 0);
    }
    EXPECT_EQ(a.pending(), pending["a"].size());
    EXPECT_EQ(b.pending(), pending["b"].size());
  }
}

// Mutated lines (bytes flipped, cut short, spliced): whatever they become,
// each non-blank line is counted exactly once, in the answer and in the
// counters (one model hosted: every line counts in it).
TEST(OutcomeIngestPropertyTest, MutatedLinesAreCountedExactlyOnce) {
  FakeClock clock;
  Registry registry;
  OutcomeTracker t(registry, "m", "1", OutcomeSpec{}, &clock);
  OutcomeIngest ingest;
  ingest.AddTracker(t);
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(t.RecordPrediction("p" + std::to_string(i), 0.5));
  }
  const std::vector<std::string> seeds = {
      R"({"id":"p1","outcome":1,"ts":1700000000.5,"model":"m"})",
      R"({"model":"m","id":"p2","outcome":false})",
      R"({"id":"p3\u0041","outcome":true,"extra":{"a":[1,2,{"b":null}]}})",
      R"({"id":"p4","outcome":0}{"id":"p5","outcome":1})",
  };
  const std::string bytes = "{}[]\":,\\ \t\rtfn0123456789.-eE+xu\x80\xff";
  testutil::DataGen gen(7);
  auto pick = [&](std::size_t n) { return gen.Index(n); };
  double lines_total = 0;
  for (int body_no = 0; body_no < 300; ++body_no) {
    std::string body;
    std::size_t lines = 0;
    for (std::size_t l = 0, n = 1 + pick(30); l < n; ++l) {
      std::string line = seeds[pick(seeds.size())];
      switch (pick(4)) {
        case 0:  // flip bytes
          for (std::size_t k = 0, m = 1 + pick(4); k < m; ++k) {
            line[pick(line.size())] = bytes[pick(bytes.size())];
          }
          break;
        case 1:  // cut short
          line.resize(pick(line.size() + 1));
          break;
        case 2:  // splice two seeds
          line = line.substr(0, pick(line.size() + 1)) +
                 seeds[pick(seeds.size())].substr(pick(10));
          break;
        default:  // as is
          break;
      }
      std::string check = line;
      if (!check.empty() && check.back() == '\r') check.pop_back();
      if (check.find_first_not_of(" \t") != std::string::npos) ++lines;
      body += line + "\n";
    }
    // One good line, so that the body is never refused as a whole.
    body += seeds[1] + "\n";
    ++lines;
    IngestReport r;
    ASSERT_NO_THROW(r = ingest.IngestOutcomes(body, BodyFormat::kNdjson))
        << body;
    EXPECT_EQ(Lines(r), lines) << body;
    lines_total += static_cast<double>(lines);
  }
  EXPECT_EQ(Outcomes(registry, "m", "matched") +
                Outcomes(registry, "m", "unmatched") +
                Outcomes(registry, "m", "duplicate") +
                Outcomes(registry, "m", "invalid"),
            lines_total);
}

}  // namespace
}  // namespace mlmon
