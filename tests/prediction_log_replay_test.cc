// Round trip: what PredictionLog writes, the replay path (ParsePredictions,
// ParseOutcomes, OutcomeIngest) reads back and joins, with the same results as
// recording straight into a tracker.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "mlmon/outcome_ingest.h"
#include "mlmon/prediction_log.h"
#include "mlmon/registry.h"
#include "testing/data_gen.h"

namespace mlmon {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TempDir() {
  std::string t = testing::TempDir() + "/plog_replay_XXXXXX";
  char* d = mkdtemp(t.data());
  EXPECT_NE(d, nullptr);
  return t;
}

TEST(PredictionLogReplayTest, ReplayReadsBackWhatTheLogWrote) {
  FakeClock clock(0, 1764150000.0);
  Registry log_registry;
  PredictionLogOptions options;
  options.directory = TempDir();
  options.prefix = "fraud";
  options.sample_rate = 0.5;
  options.start_writer = false;
  options.clock = &clock;
  PredictionLog log(log_registry, "fraud", "3", options);

  // The live path, for comparison: everything recorded straight away.
  Registry live_registry;
  OutcomeSpec spec;
  spec.windows.clear();
  spec.all_time_window = true;
  OutcomeTracker live(live_registry, "fraud", "3", spec, &clock);

  testutil::DataGen gen(42);
  std::vector<std::pair<std::string, double>> sampled;
  int logged_outcomes = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = "tx-" + std::to_string(i) + "\"q";  // needs escaping
    const double s = gen.Uniform();
    const bool was_logged = log.LogPrediction(id, s);
    EXPECT_EQ(was_logged, log.IsSampled(id));
    if (!was_logged) continue;
    sampled.emplace_back(id, s);
    ASSERT_TRUE(live.RecordPrediction(id, s));
  }
  clock.Advance(std::chrono::seconds(30));
  for (std::size_t k = 0; k < sampled.size(); k += 2) {  // half get outcomes
    const double outcome = sampled[k].second > 0.6 ? 1.0 : 0.0;
    EXPECT_TRUE(log.LogOutcome(sampled[k].first, outcome));
    ++logged_outcomes;
    EXPECT_EQ(live.RecordOutcome(sampled[k].first, outcome),
              OutcomeResult::kMatched);
  }
  log.Flush();
  ASSERT_GT(sampled.size(), 800u);
  ASSERT_LT(sampled.size(), 1200u);

  // The batch path over the files.
  IngestReport pred_report, out_report;
  std::vector<PredictionEvent> predictions;
  std::vector<OutcomeEvent> outcomes;
  ParsePredictions(Slurp(log.predictions_path()), &predictions, &pred_report);
  ParseOutcomes(Slurp(log.outcomes_path()), BodyFormat::kNdjson, &outcomes,
                &out_report);
  EXPECT_EQ(pred_report.invalid, 0u);
  EXPECT_EQ(out_report.invalid, 0u);
  ASSERT_EQ(predictions.size(), sampled.size());
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(logged_outcomes));
  for (std::size_t i = 0; i < sampled.size(); ++i) {
    EXPECT_EQ(predictions[i].id, sampled[i].first);
    EXPECT_EQ(predictions[i].number, sampled[i].second);  // exact round trip
    EXPECT_EQ(predictions[i].model, "fraud");
    EXPECT_EQ(predictions[i].ts, 1764150000.0);
  }

  Registry replay_registry;
  FakeClock replay_clock(0, 1764150000.0);
  OutcomeTracker replayed(replay_registry, "fraud", "3", spec, &replay_clock);
  OutcomeIngest ingest;
  ingest.AddTracker(replayed);
  IngestReport report;
  for (const auto& p : predictions) ingest.Apply(p, &report);
  replay_clock.Advance(std::chrono::seconds(30));
  for (const auto& o : outcomes) {
    EXPECT_EQ(o.ts, 1764150030.0);
    ingest.Apply(o, &report);
  }
  EXPECT_EQ(report.matched,
            predictions.size() + outcomes.size());  // recorded + joined
  EXPECT_EQ(report.invalid, 0u);
  live.Tick();
  replayed.Tick();
  // Same join, same numbers: compare the outcome families line by line.
  auto outcome_lines = [](const Registry& r) {
    std::istringstream in(r.TextExposition());
    std::string line, out;
    while (std::getline(in, line)) {
      if (line.rfind("mlmon_confusion_total", 0) == 0 ||
          line.rfind("mlmon_model_quality", 0) == 0 ||
          line.rfind("mlmon_outcomes_total", 0) == 0 ||
          line.rfind("mlmon_pending_predictions", 0) == 0 ||
          // The delay's sum is left out: the batch path computes it from the
          // logged Unix timestamps (1.7e9 s, so ~1e-7 s of rounding per
          // outcome), the live path from the monotonic clock.
          (line.rfind("mlmon_outcome_delay_seconds", 0) == 0 &&
           line.rfind("mlmon_outcome_delay_seconds_sum", 0) != 0)) {
        out += line + "\n";
      }
    }
    return out;
  };
  const std::string expected = outcome_lines(live_registry);
  EXPECT_NE(expected.find("mlmon_model_quality"), std::string::npos);
  EXPECT_EQ(outcome_lines(replay_registry), expected);
}

}  // namespace
}  // namespace mlmon
