// Several versions of one model behind one OutcomeIngest (champion and
// challenger), and trackers added, removed or destroyed while it serves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mlmon/errors.h"
#include "mlmon/outcome_ingest.h"
#include "mlmon/registry.h"
#include "testing/reference_data.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

using ::testing::HasSubstr;
using testutil::ExposedValue;

std::size_t Lines(const IngestReport& r) {
  return r.matched + r.unmatched + r.duplicate + r.invalid;
}

double Outcomes(const Registry& r, const std::string& version,
                const std::string& result, const std::string& model = "fraud") {
  return ExposedValue(r, "mlmon_outcomes_total{model=\"" + model +
                             "\",version=\"" + version +
                             "\",segment=\"\",result=\"" + result + "\"}");
}

double Quality(const Registry& r, const std::string& version,
               const std::string& metric, const std::string& threshold) {
  return ExposedValue(r, "mlmon_model_quality{model=\"fraud\",version=\"" +
                             version + "\",segment=\"\",metric=\"" + metric +
                             "\",window=\"all\",threshold=\"" + threshold +
                             "\",k=\"\"}");
}

OutcomeSpec BinarySpec() {
  OutcomeSpec s;
  s.thresholds = {0.3, 0.5};
  s.all_time_window = true;
  return s;
}

std::string Line(const std::string& id, int outcome,
                 const std::string& extra = "") {
  return "{\"id\":\"" + id + "\",\"outcome\":" + std::to_string(outcome) +
         extra + "}\n";
}

// Two versions of a binary model score overlapping sets of requests; one
// shared feedback body (tests/champion_challenger_reference.py) reaches both.
class ChampionChallengerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ref_ = testutil::LoadReference("champion_challenger_reference.json");
    ingest_.AddTracker(v1_);
    ingest_.AddTracker(v2_);
    for (const char* v : {"v1", "v2"}) {
      OutcomeTracker& t = std::string(v) == "v1" ? v1_ : v2_;
      const auto& scores = ref_["versions"][v]["scores"];
      for (int id : ref_["versions"][v]["ids"]) {
        ASSERT_TRUE(t.RecordPrediction("r" + std::to_string(id),
                                       scores[id].get<double>()));
      }
    }
    const auto& outcomes = ref_["outcomes"];
    const int first = ref_["version_only"]["first"];
    const std::string only = ref_["version_only"]["version"];
    int never = 0;
    for (int id = 0; id < static_cast<int>(outcomes.size()); ++id) {
      const bool targeted = id >= first;
      body_ +=
          Line("r" + std::to_string(id), outcomes[id].get<int>(),
               targeted ? ",\"model\":\"fraud\",\"version\":\"" + only + "\""
                        : (id % 2 ? ",\"model\":\"fraud\"" : ""));
      if (id % 30 == 0 && never < ref_["never_scored"].get<int>()) {
        ++never;  // ids no version scored, among the others
        body_ += Line("never-" + std::to_string(id), 1);
      }
    }
  }

  FakeClock clock_;
  Registry registry_;
  OutcomeTracker v1_{registry_, "fraud", "v1", BinarySpec(), &clock_};
  OutcomeTracker v2_{registry_, "fraud", "v2", BinarySpec(), &clock_};
  OutcomeIngest ingest_;
  nlohmann::json ref_;
  std::string body_;
};

TEST_F(ChampionChallengerTest, EachVersionJoinsItsOwnPredictionsExactly) {
  const IngestReport r = ingest_.IngestOutcomes(body_, BodyFormat::kNdjson);
  const std::size_t v1_joined = ref_["versions"]["v1"]["joined"];
  const std::size_t v2_joined = ref_["versions"]["v2"]["joined"];
  const std::size_t never = ref_["never_scored"];
  const std::size_t scored = ref_["outcomes"].size();
  EXPECT_EQ(r.matched, scored);  // each scored id matched in >= 1 version
  EXPECT_EQ(r.unmatched, never);
  EXPECT_EQ(r.duplicate, 0u);
  EXPECT_EQ(r.invalid, 0u);
  EXPECT_EQ(r.version_matches, v1_joined + v2_joined);

  // The canary's disjoint ids are not the champion's unmatched: only ids
  // no version scored are, in every version.
  EXPECT_EQ(Outcomes(registry_, "v1", "matched"), v1_joined);
  EXPECT_EQ(Outcomes(registry_, "v2", "matched"), v2_joined);
  EXPECT_EQ(Outcomes(registry_, "v1", "unmatched"), never);
  EXPECT_EQ(Outcomes(registry_, "v2", "unmatched"), never);
  // Lines naming v2 left v1's predictions of those ids pending.
  const std::size_t targeted = 1 + ref_["version_only"]["last"].get<int>() -
                               ref_["version_only"]["first"].get<int>();
  EXPECT_EQ(v1_.pending(), targeted);
  EXPECT_EQ(v2_.pending(), 0u);

  v1_.Tick();
  v2_.Tick();
  for (const char* v : {"v1", "v2"}) {
    const auto& q = ref_["versions"][v]["quality"];
    EXPECT_EQ(Quality(registry_, v, "samples", ""), q["samples"].get<double>())
        << v;
    for (const char* t : {"0.3", "0.5"}) {
      const std::string at = std::string("@") + t;
      testutil::ExpectRel(Quality(registry_, v, "precision", t),
                          q["precision" + at],
                          (v + (" precision" + at)).c_str());
      testutil::ExpectRel(Quality(registry_, v, "recall", t), q["recall" + at],
                          (v + (" recall" + at)).c_str());
    }
  }
}

TEST_F(ChampionChallengerTest,
       ResentLinesAreDuplicatesInEveryVersionThatHadThem) {
  ASSERT_EQ(ingest_.IngestOutcomes(body_, BodyFormat::kNdjson).invalid, 0u);
  const IngestReport again = ingest_.IngestOutcomes(body_, BodyFormat::kNdjson);
  const std::size_t v1_joined = ref_["versions"]["v1"]["joined"];
  const std::size_t v2_joined = ref_["versions"]["v2"]["joined"];
  const std::size_t never = ref_["never_scored"];
  EXPECT_EQ(again.matched, 0u);
  EXPECT_EQ(again.version_matches, 0u);
  EXPECT_EQ(again.duplicate, ref_["outcomes"].size());
  EXPECT_EQ(again.unmatched, never);
  EXPECT_EQ(Outcomes(registry_, "v1", "duplicate"), v1_joined);
  EXPECT_EQ(Outcomes(registry_, "v2", "duplicate"), v2_joined);
  EXPECT_EQ(Outcomes(registry_, "v1", "matched"), v1_joined);
  EXPECT_EQ(Outcomes(registry_, "v2", "matched"), v2_joined);
  EXPECT_EQ(Outcomes(registry_, "v1", "unmatched"), 2 * never);
}

TEST_F(ChampionChallengerTest, VersionTargetedLines) {
  // r200 was scored by both versions; r10 by v1 only; r500 by v2 only.
  const IngestReport r = ingest_.IngestOutcomes(
      Line("r200", 1, ",\"version\":\"v1\"") +      // v1 only
          Line("r200", 1, ",\"version\":\"v2\"") +  // then v2
          Line("r200", 1) +                         // duplicate in both
          Line("r10", 1, ",\"version\":\"v2\"") +   // v2 never had it
          Line("r500", 1, ",\"version\":\"v9\"") +  // unknown version
          Line("r500", 1, ",\"model\":\"x\",\"version\":\"v2\""),  // model
      BodyFormat::kNdjson);
  EXPECT_EQ(Lines(r), 6u);
  EXPECT_EQ(r.matched, 2u);
  EXPECT_EQ(r.version_matches, 2u);
  EXPECT_EQ(r.duplicate, 1u);
  EXPECT_EQ(r.unmatched, 1u);
  ASSERT_EQ(r.invalid, 2u);
  EXPECT_EQ(r.errors[0].line, 5u);
  EXPECT_EQ(r.errors[0].detail, "unknown version 'v9' of model 'fraud'");
  EXPECT_EQ(r.errors[1].detail, "unknown model 'x'");
  EXPECT_EQ(Outcomes(registry_, "v1", "matched"), 1);
  EXPECT_EQ(Outcomes(registry_, "v2", "matched"), 1);
  EXPECT_EQ(Outcomes(registry_, "v1", "duplicate"), 1);
  EXPECT_EQ(Outcomes(registry_, "v2", "duplicate"), 1);
  // A targeted line that missed counts in its version only.
  EXPECT_EQ(Outcomes(registry_, "v1", "unmatched"), 0);
  EXPECT_EQ(Outcomes(registry_, "v2", "unmatched"), 1);
  // The unknown version is counted in every version of the model it names;
  // the unknown model in every version of the only model.
  EXPECT_EQ(Outcomes(registry_, "v1", "invalid"), 2);
  EXPECT_EQ(Outcomes(registry_, "v2", "invalid"), 2);
}

TEST_F(ChampionChallengerTest,
       PredictionLinesNeedAVersionWhenSeveralAreHosted) {
  IngestReport r;
  PredictionEvent p;
  p.id = "new-1";
  p.number = 0.8;
  p.line = 1;
  ingest_.Apply(p, &r);  // two versions, none named
  p.line = 2;
  p.version = "v9";
  ingest_.Apply(p, &r);
  p.line = 3;
  p.version = "v2";
  ingest_.Apply(p, &r);
  EXPECT_EQ(r.matched, 1u);
  ASSERT_EQ(r.invalid, 2u);
  EXPECT_EQ(r.errors[0].detail,
            "'version' is required: model 'fraud' has 2 versions");
  EXPECT_EQ(r.errors[1].detail, "unknown version 'v9' of model 'fraud'");
  const IngestReport o =
      ingest_.IngestOutcomes(Line("new-1", 1), BodyFormat::kNdjson);
  EXPECT_EQ(o.matched, 1u);
  EXPECT_EQ(Outcomes(registry_, "v2", "matched"), 1);
  EXPECT_EQ(Outcomes(registry_, "v1", "matched"), 0);
}

TEST(OutcomeIngestVersionsTest, SameModelAndVersionTwiceIsAConfigError) {
  FakeClock clock;
  Registry a_registry, b_registry;
  OutcomeTracker a(a_registry, "fraud", "v1", OutcomeSpec{}, &clock);
  OutcomeTracker b(b_registry, "fraud", "v1", OutcomeSpec{}, &clock);
  OutcomeIngest ingest;
  ingest.AddTracker(a);
  try {
    ingest.AddTracker(b);
    ADD_FAILURE() << "fraud v1 was accepted twice";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: OutcomeIngest::AddTracker: a tracker for this model "
                 "and version is already registered (model 'fraud', version "
                 "'v1')");
  }
  EXPECT_THROW(ingest.AddTracker(a), ConfigError);  // the same tracker again
  // Once removed, the version can be served by another tracker.
  EXPECT_TRUE(ingest.RemoveTracker(a));
  EXPECT_FALSE(ingest.RemoveTracker(a));
  ingest.AddTracker(b);
  ASSERT_TRUE(b.RecordPrediction("p", 0.9));
  ASSERT_TRUE(a.RecordPrediction("p", 0.9));
  EXPECT_EQ(ingest.IngestOutcomes(Line("p", 1), BodyFormat::kNdjson).matched,
            1u);
  EXPECT_EQ(b.pending(), 0u);
  EXPECT_EQ(a.pending(), 1u);
}

TEST(OutcomeIngestLifetimeTest, DestroyedTrackerIsAnUnknownModel) {
  FakeClock clock;
  Registry registry;
  OutcomeTracker other(registry, "eta", "1", OutcomeSpec{}, &clock);
  OutcomeIngest ingest;
  ingest.AddTracker(other);
  auto fraud = std::make_unique<OutcomeTracker>(registry, "fraud", "1",
                                                OutcomeSpec{}, &clock);
  ingest.AddTracker(*fraud);
  ASSERT_TRUE(fraud->RecordPrediction("p", 0.9));
  ASSERT_TRUE(other.RecordPrediction("p", 0.9));
  fraud.reset();
  IngestReport r = ingest.IngestOutcomes(
      Line("p", 1, ",\"model\":\"fraud\"") + Line("p", 1), BodyFormat::kNdjson);
  EXPECT_EQ(Lines(r), 2u);
  EXPECT_EQ(r.invalid, 1u);
  EXPECT_EQ(r.matched, 1u);  // eta is now the only model: "model" optional
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].detail, "unknown model 'fraud'");
  // A refused line naming the removed model is charged to the only model.
  EXPECT_EQ(Outcomes(registry, "1", "invalid", "eta"), 1);
  EXPECT_EQ(ingest.Find("fraud"), nullptr);
  EXPECT_EQ(ingest.Find(""), &other);
  // The destroyed version may come back as a new tracker.
  OutcomeTracker again(registry, "fraud", "1", OutcomeSpec{}, &clock);
  ingest.AddTracker(again);
  EXPECT_EQ(ingest.Find("fraud"), &again);
}

TEST(OutcomeIngestLifetimeTest, OnlyModelDestroyedLeavesNoModel) {
  FakeClock clock;
  Registry registry;
  OutcomeIngest ingest;
  auto t = std::make_unique<OutcomeTracker>(registry, "fraud", "1",
                                            OutcomeSpec{}, &clock);
  ingest.AddTracker(*t);
  t.reset();
  const IngestReport r =
      ingest.IngestOutcomes(Line("p", 1) + "not json\n", BodyFormat::kNdjson);
  ASSERT_EQ(r.invalid, 2u);
  EXPECT_EQ(r.errors[0].detail, "no model is monitored here");
  ingest.CountUnparsed(3);  // no tracker to count in: nothing happens
  IngestReport p;
  PredictionEvent e;
  e.id = "x";
  e.number = 0.5;
  ingest.Apply(e, &p);
  EXPECT_EQ(p.invalid, 1u);
}

TEST(OutcomeIngestLifetimeTest, IngestDestroyedBeforeItsTrackers) {
  FakeClock clock;
  Registry registry;
  OutcomeTracker t(registry, "fraud", "1", OutcomeSpec{}, &clock);
  {
    auto ingest = std::make_unique<OutcomeIngest>();
    ingest->AddTracker(t);
    ASSERT_TRUE(t.RecordPrediction("p", 0.9));
    EXPECT_EQ(ingest->IngestOutcomes(Line("p", 1), BodyFormat::kNdjson).matched,
              1u);
  }  // the ingest is gone; the tracker works on and is destroyed later
  ASSERT_TRUE(t.RecordPrediction("q", 0.9));
  EXPECT_EQ(t.RecordOutcome("q", 1.0), OutcomeResult::kMatched);
  OutcomeIngest second;  // and can join another ingest
  second.AddTracker(t);
  EXPECT_EQ(second.Find("fraud"), &t);
}

TEST(OutcomeIngestLifetimeTest, HotSwapRoutesToTheNewVersion) {
  FakeClock clock;
  Registry registry;
  OutcomeIngest ingest;
  auto v1 = std::make_unique<OutcomeTracker>(registry, "fraud", "v1",
                                             OutcomeSpec{}, &clock);
  ingest.AddTracker(*v1);
  ASSERT_TRUE(v1->RecordPrediction("a", 0.9));
  OutcomeTracker v2(registry, "fraud", "v2", OutcomeSpec{}, &clock);
  ingest.AddTracker(v2);  // while v1 still serves
  ASSERT_TRUE(v2.RecordPrediction("b", 0.9));
  v1.reset();
  const IngestReport r = ingest.IngestOutcomes(
      Line("a", 1) + Line("b", 1) + Line("b", 1, ",\"version\":\"v1\""),
      BodyFormat::kNdjson);
  EXPECT_EQ(r.matched, 1u);    // b in v2
  EXPECT_EQ(r.unmatched, 1u);  // a died with v1
  ASSERT_EQ(r.invalid, 1u);
  EXPECT_EQ(r.errors[0].detail, "unknown version 'v1' of model 'fraud'");
  EXPECT_EQ(Outcomes(registry, "v2", "matched"), 1);
  EXPECT_EQ(Outcomes(registry, "v2", "unmatched"), 1);
  // A prediction line needs no version again: v2 is the only one.
  IngestReport p;
  PredictionEvent e;
  e.id = "c";
  e.number = 0.5;
  ingest.Apply(e, &p);
  EXPECT_EQ(p.matched, 1u);
  EXPECT_EQ(v2.pending(), 1u);
}

// One thread adds, removes and destroys trackers of a canary version while
// others post feedback and predictions; the champion's counts stay exact.
// Run under TSan in CI.
TEST(OutcomeIngestConcurrencyTest, TrackersComeAndGoWhileLinesAreApplied) {
  constexpr int kPosters = 2, kBodies = 40, kLinesPerBody = 25;
  constexpr int kIds = kPosters * kBodies * kLinesPerBody;
  FakeClock clock;
  Registry registry;
  OutcomeSpec spec;
  spec.pending_capacity = 2 * kIds;
  OutcomeTracker champion(registry, "fraud", "v1", spec, &clock);
  OutcomeIngest ingest;
  ingest.AddTracker(champion);
  for (int i = 0; i < kIds; ++i) {
    ASSERT_TRUE(champion.RecordPrediction("p" + std::to_string(i), 0.7));
  }

  std::atomic<int> posting{kPosters};
  std::atomic<bool> failed{false};
  std::thread churn([&] {
    int round = 0;
    while (posting.load() > 0 || round < 20) {
      OutcomeSpec s = spec;
      s.pending_capacity = 64;
      auto canary = std::make_unique<OutcomeTracker>(registry, "fraud",
                                                     "canary", s, &clock);
      for (int k = 0; k < 32; ++k) {
        (void)canary->RecordPrediction(
            "p" + std::to_string((round * 97 + k * 13) % kIds), 0.4);
      }
      ingest.AddTracker(*canary);
      if (round % 2 == 0 && !ingest.RemoveTracker(*canary)) failed = true;
      canary.reset();  // odd rounds: destroyed while added
      ++round;
    }
  });
  std::vector<std::thread> posters;
  std::vector<IngestReport> totals(kPosters);
  for (int t = 0; t < kPosters; ++t) {
    posters.emplace_back([&, t] {
      for (int b = 0; b < kBodies; ++b) {
        std::string body;
        for (int l = 0; l < kLinesPerBody; ++l) {
          const int id = (t * kBodies + b) * kLinesPerBody + l;
          body += Line("p" + std::to_string(id), 1);
        }
        const IngestReport r = ingest.IngestOutcomes(body, BodyFormat::kNdjson);
        if (Lines(r) != kLinesPerBody) failed = true;
        totals[t].matched += r.matched;
        totals[t].unmatched += r.unmatched;
        totals[t].duplicate += r.duplicate;
        totals[t].invalid += r.invalid;
        PredictionEvent e;  // the only-version rule races with the canary
        e.id = "x" + std::to_string(t * kBodies + b);
        e.number = 0.5;
        e.version = "v1";
        IngestReport pr;
        ingest.Apply(e, &pr);
        if (pr.matched != 1) failed = true;
      }
      posting.fetch_sub(1);
    });
  }
  for (auto& p : posters) p.join();
  churn.join();
  EXPECT_FALSE(failed.load());
  std::size_t matched = 0;
  for (const IngestReport& r : totals) {
    matched += r.matched;
    EXPECT_EQ(r.unmatched + r.duplicate + r.invalid, 0u);
  }
  EXPECT_EQ(matched, static_cast<std::size_t>(kIds));
  EXPECT_EQ(Outcomes(registry, "v1", "matched"), kIds);
  EXPECT_EQ(Outcomes(registry, "v1", "unmatched"), 0);
  EXPECT_EQ(champion.pending(), static_cast<std::size_t>(kPosters * kBodies));
}

}  // namespace
}  // namespace mlmon
