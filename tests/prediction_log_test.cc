#include "mlmon/prediction_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testing/prediction_log_helpers.h"
#include "testing/samples.h"

namespace mlmon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

static_assert(noexcept(std::declval<PredictionLog&>().LogPrediction("", 0.5)));
static_assert(noexcept(std::declval<PredictionLog&>().LogPredictionLabel("",
                                                                         "")));
static_assert(noexcept(std::declval<PredictionLog&>().LogPredictionValue("",
                                                                         1.0)));
static_assert(noexcept(
    std::declval<PredictionLog&>().LogPredictionItems("", nullptr, 0)));
static_assert(noexcept(std::declval<PredictionLog&>().LogOutcome("", 1.0)));
static_assert(noexcept(std::declval<PredictionLog&>().LogOutcomeLabel("", "")));
static_assert(!std::is_copy_constructible_v<PredictionLog>);

using testutil::kTs;
using testutil::PredictionLogFixture;
using testutil::ReadFile;
using testutil::SampleValue;
using testutil::Series;
using testutil::TempDir;
using testutil::WholeLines;

double DropCount(Registry& registry, DropReason reason) {
  return registry.DropsFor("fraud", "3")
      ->by_reason[static_cast<int>(reason)]
      ->Value();
}

std::string LinesSeries(const char* stream) {
  return Series("mlmon_log_lines_total", stream);
}
std::string BytesSeries(const char* stream) {
  return Series("mlmon_log_bytes_total", stream);
}

class PredictionLogTest : public PredictionLogFixture {
 protected:
  PredictionLogOptions Options() {
    PredictionLogOptions o = BaseOptions();
    o.queue_capacity = 16384;
    return o;
  }
};

// The **Example** of the header comment, with a temporary directory.
TEST_F(PredictionLogTest, HeaderExampleWorks) {
  mlmon::Registry registry;
  mlmon::PredictionLogOptions options;
  options.directory = dir_.path();
  options.prefix = "fraud";
  options.sample_rate = 0.1;
  mlmon::PredictionLog log(registry, "fraud", "3", options);
  log.LogPrediction("p-1", 0.83);            // on the inference thread
  log.LogOutcome("p-1", 1.0, 1764150090.0);  // when the truth arrives
  log.Flush();
  EXPECT_EQ(WholeLines(log.predictions_path()).size(),
            log.IsSampled("p-1") ? 1u : 0u);
}

TEST_F(PredictionLogTest, WritesFilesNamedAfterPrefix) {
  PredictionLog log(registry_, "fraud", "3", Options());
  EXPECT_EQ(log.predictions_path(), dir_.path() + "/fraud-predictions.ndjson");
  EXPECT_EQ(log.outcomes_path(), dir_.path() + "/fraud-outcomes.ndjson");
  EXPECT_TRUE(fs::exists(log.predictions_path()));
  EXPECT_TRUE(fs::exists(log.outcomes_path()));
}

TEST_F(PredictionLogTest, WritesTheDocumentedLineShapes) {
  PredictionLog log(registry_, "fraud", "3", Options());
  const std::string_view items[] = {"a", "b"};
  ASSERT_TRUE(log.LogPrediction("p-1", 0.83, kTs));
  ASSERT_TRUE(log.LogPredictionLabel("p-2", "cat", kTs));
  ASSERT_TRUE(log.LogPredictionValue("p-3", 12.5, kTs));
  ASSERT_TRUE(log.LogPredictionItems("p-4", items, 2, kTs));
  ASSERT_TRUE(log.LogOutcome("p-1", 1, kTs));
  ASSERT_TRUE(log.LogOutcomeLabel("p-2", "dog", kTs));
  log.Flush();
  EXPECT_EQ(
      ReadFile(log.predictions_path()),
      R"({"ts":1764150000.5,"id":"p-1","model":"fraud","version":"3","score":0.83})"
      "\n"
      R"({"ts":1764150000.5,"id":"p-2","model":"fraud","version":"3","label":"cat"})"
      "\n"
      R"({"ts":1764150000.5,"id":"p-3","model":"fraud","version":"3","value":12.5})"
      "\n"
      R"({"ts":1764150000.5,"id":"p-4","model":"fraud","version":"3","items":["a","b"]})"
      "\n");
  EXPECT_EQ(ReadFile(log.outcomes_path()),
            R"({"ts":1764150000.5,"id":"p-1","model":"fraud","outcome":1})"
            "\n"
            R"({"ts":1764150000.5,"id":"p-2","model":"fraud","outcome":"dog"})"
            "\n");
}

TEST_F(PredictionLogTest, RoundTripsEveryField) {
  PredictionLog log(registry_, "fraud", "3", Options());
  constexpr int kN = 400;
  auto id = [](int i) { return "p-" + std::to_string(i); };
  auto ts = [](int i) { return kTs + i * 0.001; };
  const std::vector<std::string> pool = {"sku-1", "sku-22", "", "sku-333", "x"};
  std::vector<std::string_view> items(pool.begin(), pool.end());
  for (int i = 0; i < kN; ++i) {
    const double t = i % 3 == 0 ? PredictionLog::kNow : ts(i);
    switch (i % 4) {
      case 0:
        ASSERT_TRUE(log.LogPrediction(id(i), i / 7.0, t));
        break;
      case 1:
        ASSERT_TRUE(log.LogPredictionLabel(id(i), "c" + std::to_string(i), t));
        break;
      case 2:
        ASSERT_TRUE(log.LogPredictionValue(id(i), -i * 1e-7, t));
        break;
      case 3:
        ASSERT_TRUE(log.LogPredictionItems(id(i), items.data(), i % 6, t));
        break;
    }
    if (i % 2 == 0) {
      ASSERT_TRUE(log.LogOutcome(id(i), i % 4 == 0 ? 1.0 : i * 0.1, t));
    } else {
      ASSERT_TRUE(log.LogOutcomeLabel(id(i), "o" + std::to_string(i), t));
    }
    clock_.Advance(std::chrono::milliseconds(250));
  }
  log.Flush();

  const std::vector<json> preds = WholeLines(log.predictions_path());
  const std::vector<json> outs = WholeLines(log.outcomes_path());
  ASSERT_EQ(preds.size(), static_cast<std::size_t>(kN));
  ASSERT_EQ(outs.size(), static_cast<std::size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    SCOPED_TRACE(i);
    const double want_ts = i % 3 == 0 ? 1.7e9 + i * 0.25 : ts(i);
    const json& p = preds[i];
    EXPECT_EQ(p.at("ts").get<double>(), want_ts);
    EXPECT_EQ(p.at("id"), id(i));
    EXPECT_EQ(p.at("model"), "fraud");
    EXPECT_EQ(p.at("version"), "3");
    EXPECT_EQ(p.size(), 5u);
    switch (i % 4) {
      case 0:
        EXPECT_EQ(p.at("score").get<double>(), i / 7.0);
        break;
      case 1:
        EXPECT_EQ(p.at("label"), "c" + std::to_string(i));
        break;
      case 2:
        EXPECT_EQ(p.at("value").get<double>(), -i * 1e-7);
        break;
      case 3: {
        std::vector<std::string> want(pool.begin(), pool.begin() + i % 6);
        EXPECT_EQ(p.at("items").get<std::vector<std::string>>(), want);
        break;
      }
    }
    const json& o = outs[i];
    EXPECT_EQ(o.at("ts").get<double>(), want_ts);
    EXPECT_EQ(o.at("id"), id(i));
    EXPECT_EQ(o.at("model"), "fraud");
    EXPECT_FALSE(o.contains("version"));
    EXPECT_EQ(o.size(), 4u);
    if (i % 2 == 0) {
      EXPECT_EQ(o.at("outcome").get<double>(), i % 4 == 0 ? 1.0 : i * 0.1);
    } else {
      EXPECT_EQ(o.at("outcome"), "o" + std::to_string(i));
    }
  }
}

TEST_F(PredictionLogTest, CountsWrittenLinesAndBytesPerStream) {
  PredictionLog log(registry_, "fraud", "3", Options());
  for (int i = 0; i < 10; ++i) log.LogPrediction("p" + std::to_string(i), 0.5);
  for (int i = 0; i < 3; ++i) log.LogOutcome("p" + std::to_string(i), 0);
  log.Flush();
  EXPECT_EQ(SampleValue(registry_, LinesSeries("predictions")), 10);
  EXPECT_EQ(SampleValue(registry_, LinesSeries("outcomes")), 3);
  EXPECT_EQ(SampleValue(registry_, BytesSeries("predictions")),
            static_cast<double>(fs::file_size(log.predictions_path())));
  EXPECT_EQ(SampleValue(registry_, BytesSeries("outcomes")),
            static_cast<double>(fs::file_size(log.outcomes_path())));
}

TEST_F(PredictionLogTest, SamplingIsDeterministicByIdHash) {
  PredictionLogOptions o = Options();
  o.sample_rate = 0.3;
  PredictionLog a(registry_, "fraud", "3", o);
  o.prefix = "other";
  Registry other;  // one log per model version and registry
  PredictionLog b(other, "fraud", "3", o);
  std::set<std::string> pred_a, out_a, pred_b, documented;
  const auto threshold =
      static_cast<std::uint64_t>(0.3 * 18446744073709551616.0);
  for (int i = 0; i < 10000; ++i) {
    const std::string id = "req-" + std::to_string(i * 7919);
    if (a.LogPrediction(id, 0.5)) pred_a.insert(id);
    if (a.LogOutcome(id, 1)) out_a.insert(id);
    if (b.LogPredictionLabel(id, "x")) pred_b.insert(id);
    EXPECT_EQ(a.IsSampled(id), pred_a.count(id) == 1);
    // The documented rule: FNV-1a 64 of the bytes < sample_rate * 2^64.
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
    if (h < threshold) documented.insert(id);
  }
  EXPECT_EQ(pred_a, out_a);
  EXPECT_EQ(pred_a, pred_b);
  EXPECT_EQ(pred_a, documented);
  EXPECT_GT(pred_a.size(), 2700u);
  EXPECT_LT(pred_a.size(), 3300u);

  a.Flush();
  std::set<std::string> file_pred, file_out;
  for (const json& j : WholeLines(a.predictions_path())) {
    file_pred.insert(j.at("id").get<std::string>());
  }
  for (const json& j : WholeLines(a.outcomes_path())) {
    file_out.insert(j.at("id").get<std::string>());
  }
  EXPECT_EQ(file_pred, pred_a);
  EXPECT_EQ(file_out, pred_a);
  // Unsampled calls are not drops.
  EXPECT_EQ(DropCount(registry_, DropReason::kQueueFull), 0);
}

TEST_F(PredictionLogTest, SampleRateZeroLogsNothingAndCountsNoDrop) {
  PredictionLogOptions o = Options();
  o.sample_rate = 0.0;
  PredictionLog log(registry_, "fraud", "3", o);
  EXPECT_FALSE(log.LogPrediction("p-1", 0.5));
  EXPECT_FALSE(log.LogPrediction(std::string(100, 'x'), 0.5));
  EXPECT_FALSE(log.LogOutcome("p-1", std::nan("")));
  log.Flush();
  EXPECT_EQ(fs::file_size(log.predictions_path()), 0u);
  for (std::size_t r = 0; r < kNumDropReasons; ++r) {
    EXPECT_EQ(DropCount(registry_, static_cast<DropReason>(r)), 0) << r;
  }
}

TEST_F(PredictionLogTest, RotatesBySizeKeepingMaxFilesWithWholeLines) {
  PredictionLogOptions o = Options();
  o.max_file_bytes = 1024;
  o.max_files = 3;
  PredictionLog log(registry_, "fraud", "3", o);
  constexpr int kN = 400;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(log.LogPrediction("r-" + std::to_string(i), i / 400.0, kTs));
  }
  log.Flush();

  const std::string base = log.predictions_path();
  ASSERT_TRUE(fs::exists(base));
  ASSERT_TRUE(fs::exists(base + ".1"));
  ASSERT_TRUE(fs::exists(base + ".2"));
  EXPECT_FALSE(fs::exists(base + ".3"));
  std::vector<json> kept;
  for (const std::string& f : {base + ".2", base + ".1", base}) {
    EXPECT_LE(fs::file_size(f), 1024u) << f;
    EXPECT_GT(fs::file_size(f), 0u) << f;
    for (json& j : WholeLines(f)) kept.push_back(std::move(j));
  }
  // The kept lines are exactly the newest records, in order.
  ASSERT_GT(kept.size(), 20u);
  ASSERT_LT(kept.size(), static_cast<std::size_t>(kN));
  const int first = kN - static_cast<int>(kept.size());
  for (std::size_t k = 0; k < kept.size(); ++k) {
    EXPECT_EQ(kept[k].at("id"), "r-" + std::to_string(first + k));
  }
  EXPECT_EQ(SampleValue(registry_, LinesSeries("predictions")), kN);
  // Only the outcomes file of this prefix exists besides the three.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 4);
}

TEST_F(PredictionLogTest, MaxFilesOneKeepsOnlyTheActiveFile) {
  PredictionLogOptions o = Options();
  o.max_file_bytes = 1024;
  o.max_files = 1;
  PredictionLog log(registry_, "fraud", "3", o);
  for (int i = 0; i < 100; ++i)
    log.LogPrediction("r-" + std::to_string(i), 0.5);
  log.Flush();
  EXPECT_FALSE(fs::exists(log.predictions_path() + ".1"));
  const std::vector<json> lines = WholeLines(log.predictions_path());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().at("id"), "r-99");
}

TEST_F(PredictionLogTest, AppendsToAnExistingFileAndRepairsATornLine) {
  const std::string path = dir_.path() + "/fraud-predictions.ndjson";
  {
    std::ofstream f(path, std::ios::binary);
    f << R"({"id":"old","ts":1})"
         "\n"
         R"({"id":"torn)";
  }
  PredictionLog log(registry_, "fraud", "3", Options());
  log.LogPrediction("new", 0.5, kTs);
  log.Flush();
  const std::string text = ReadFile(path);
  EXPECT_EQ(text.rfind(R"({"id":"old","ts":1})"
                       "\n"
                       R"({"id":"torn)"
                       "\n{",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find(R"("id":"new")"), std::string::npos);
}

TEST_F(PredictionLogTest, CountsLinesLostToFailedWrites) {
  const std::string path = dir_.path() + "/fraud-predictions.ndjson";
  fs::create_symlink("/dev/full", path);  // every write fails with ENOSPC
  PredictionLog log(registry_, "fraud", "3", Options());
  for (int i = 0; i < 5; ++i) log.LogPrediction("p" + std::to_string(i), 0.5);
  log.LogOutcome("p0", 1);
  log.Flush();
  EXPECT_EQ(
      SampleValue(
          registry_,
          R"(mlmon_log_lines_lost_total{model="fraud",version="3",stream="predictions",reason="write"})"),
      5);
  EXPECT_EQ(SampleValue(registry_, LinesSeries("predictions")), 0);
  EXPECT_EQ(SampleValue(registry_, LinesSeries("outcomes")), 1);
}

TEST_F(PredictionLogTest, FullQueueDropsAndCountsQueueFull) {
  PredictionLogOptions o = Options();
  o.queue_capacity = 4;
  o.start_writer = false;  // nothing drains until Flush()
  PredictionLog log(registry_, "fraud", "3", o);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) {
    accepted += log.LogPrediction("p-" + std::to_string(i), 0.5, kTs);
  }
  accepted += log.LogOutcome("p-0", 1.0, kTs);  // same ring
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ(DropCount(registry_, DropReason::kQueueFull), 7);

  log.Flush();
  std::vector<json> lines = WholeLines(log.predictions_path());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3].at("id"), "p-3");
  // Drained: room again.
  for (int i = 10; i < 14; ++i) {
    EXPECT_TRUE(log.LogPrediction("p-" + std::to_string(i), 0.5, kTs));
  }
  EXPECT_FALSE(log.LogPrediction("p-14", 0.5, kTs));
  EXPECT_EQ(DropCount(registry_, DropReason::kQueueFull), 8);
  log.Flush();
  EXPECT_EQ(WholeLines(log.predictions_path()).size(), 8u);
  EXPECT_EQ(SampleValue(registry_, LinesSeries("predictions")), 8);
}

TEST_F(PredictionLogTest, IdTooLongIsDroppedAndCounted) {
  PredictionLog log(registry_, "fraud", "3", Options());
  const std::string max_id(PredictionLog::kMaxIdBytes, 'i');
  EXPECT_TRUE(log.LogPrediction(max_id, 0.5));
  EXPECT_FALSE(log.LogPrediction(max_id + "x", 0.5));
  EXPECT_FALSE(log.LogOutcome(max_id + "x", 1));
  EXPECT_EQ(DropCount(registry_, DropReason::kIdTooLong), 2);
  log.Flush();
  const std::vector<json> lines = WholeLines(log.predictions_path());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("id"), max_id);
  EXPECT_EQ(fs::file_size(log.outcomes_path()), 0u);
}

TEST_F(PredictionLogTest, InvalidValuesAreDroppedAndCounted) {
  PredictionLog log(registry_, "fraud", "3", Options());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(log.LogPrediction("p", nan));
  EXPECT_FALSE(log.LogPredictionValue("p", -inf));
  EXPECT_FALSE(log.LogOutcome("p", inf));
  EXPECT_EQ(DropCount(registry_, DropReason::kNaN), 1);
  EXPECT_EQ(DropCount(registry_, DropReason::kInfinity), 2);

  const std::string max_label(PredictionLog::kMaxLabelBytes, 'l');
  EXPECT_TRUE(log.LogPredictionLabel("p", max_label));
  EXPECT_TRUE(log.LogOutcomeLabel("p", max_label));
  EXPECT_FALSE(log.LogPredictionLabel("p", max_label + "l"));
  EXPECT_FALSE(log.LogOutcomeLabel("p", max_label + "l"));
  EXPECT_FALSE(log.LogPrediction("", 0.5));         // empty id
  EXPECT_FALSE(log.LogPrediction("p", 0.5, inf));   // bad timestamp
  EXPECT_FALSE(log.LogPrediction("p", 0.5, -1.0));  // bad timestamp

  const std::string item(32, 'x');  // 16 * 32 == kMaxItemsBytes
  std::vector<std::string_view> items(PredictionLog::kMaxItems + 1, item);
  EXPECT_TRUE(
      log.LogPredictionItems("p", items.data(), PredictionLog::kMaxItems));
  EXPECT_FALSE(log.LogPredictionItems("p", items.data(), items.size()));
  const std::string big(PredictionLog::kMaxItemsBytes - 1, 'b');
  const std::string_view two[] = {big, "xy"};  // one byte over in total
  EXPECT_FALSE(log.LogPredictionItems("p", two, 2));
  EXPECT_FALSE(log.LogPredictionItems("p", nullptr, 1));
  EXPECT_EQ(DropCount(registry_, DropReason::kInvalidValue), 8);
  EXPECT_EQ(DropCount(registry_, DropReason::kIdTooLong), 0);

  log.Flush();
  const std::vector<json> preds = WholeLines(log.predictions_path());
  ASSERT_EQ(preds.size(), 2u);
  EXPECT_EQ(preds[0].at("label"), max_label);
  EXPECT_EQ(preds[1].at("items").size(), PredictionLog::kMaxItems);
  EXPECT_EQ(preds[1].at("items")[15], item);
}

TEST_F(PredictionLogTest, EscapesStringsAndReplacesInvalidUtf8) {
  PredictionLog log(registry_, "m\"q\\", "v\n1", Options());
  struct Case {
    std::string in, want;
  };
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<Case> cases = {
      {"q\"uote", "q\"uote"},
      {"back\\slash", "back\\slash"},
      {std::string("ctl\x01\x1f\n\t\r\b\f\x7f", 11),
       std::string("ctl\x01\x1f\n\t\r\b\f\x7f", 11)},
      {std::string("nul\0byte", 8), std::string("nul\0byte", 8)},
      {"ok-\xC3\xA9-\xE6\x97\xA5-\xF0\x9F\x98\x80",
       "ok-\xC3\xA9-\xE6\x97\xA5-\xF0\x9F\x98\x80"},
      {"bad\xFF\xFE", "bad" + fffd + fffd},
      {"trunc\xE2\x82", "trunc" + fffd + fffd},
      {"surrogate\xED\xA0\x80", "surrogate" + fffd + fffd + fffd},
      {"overlong\xC0\xAF", "overlong" + fffd + fffd},
      {"big\xF4\x90\x80\x80", "big" + fffd + fffd + fffd + fffd},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(log.LogPredictionLabel(c.in, c.in, kTs));
    ASSERT_TRUE(log.LogOutcomeLabel(c.in, c.in, kTs));
    const std::string_view items[] = {c.in, "plain"};
    ASSERT_TRUE(log.LogPredictionItems(c.in, items, 2, kTs));
  }
  log.Flush();
  const std::vector<json> preds = WholeLines(log.predictions_path());
  const std::vector<json> outs = WholeLines(log.outcomes_path());
  ASSERT_EQ(preds.size(), 2 * cases.size());
  ASSERT_EQ(outs.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(preds[2 * i].at("id"), cases[i].want);
    EXPECT_EQ(preds[2 * i].at("label"), cases[i].want);
    EXPECT_EQ(preds[2 * i].at("model"), "m\"q\\");
    EXPECT_EQ(preds[2 * i].at("version"), "v\n1");
    EXPECT_EQ(preds[2 * i + 1].at("items")[0], cases[i].want);
    EXPECT_EQ(outs[i].at("id"), cases[i].want);
    EXPECT_EQ(outs[i].at("outcome"), cases[i].want);
  }
  // One physical line per record: raw control characters never leak out.
  const std::string text = ReadFile(log.predictions_path());
  EXPECT_EQ(
      static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')),
      preds.size());
}

TEST_F(PredictionLogTest, RejectsBadOptionsNamingTheField) {
  struct Case {
    std::function<void(PredictionLogOptions&)> set;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](auto& o) { o.sample_rate = -0.1; }, "sample_rate"},
      {[](auto& o) { o.sample_rate = 1.5; }, "sample_rate"},
      {[](auto& o) { o.sample_rate = std::nan(""); }, "sample_rate"},
      {[](auto& o) { o.queue_capacity = 1; }, "queue_capacity"},
      {[](auto& o) { o.queue_capacity = std::size_t{1} << 30; },
       "queue_capacity"},
      {[](auto& o) { o.max_file_bytes = 100; }, "max_file_bytes"},
      {[](auto& o) { o.max_files = 0; }, "max_files"},
      {[](auto& o) { o.flush_interval = std::chrono::milliseconds(0); },
       "flush_interval"},
      {[](auto& o) { o.directory = ""; }, "directory"},
      {[](auto& o) { o.prefix = ""; }, "prefix"},
      {[](auto& o) { o.prefix = "a/b"; }, "prefix"},
  };
  for (const Case& c : cases) {
    PredictionLogOptions o = Options();
    c.set(o);
    try {
      PredictionLog log(registry_, "fraud", "3", o);
      ADD_FAILURE() << "no ConfigError for " << c.field;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(c.field), std::string::npos)
          << e.what();
    }
  }
  try {
    PredictionLog log(registry_, "", "3", Options());
    ADD_FAILURE() << "no ConfigError for an empty model";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "mlmon: PredictionLog.model: must not be empty");
  }
  PredictionLogOptions o = Options();
  o.sample_rate = 1.5;
  try {
    PredictionLog log(registry_, "fraud", "3", o);
    ADD_FAILURE() << "no ConfigError for sample_rate 1.5";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "mlmon: PredictionLogOptions.sample_rate: outside [0, 1] "
                 "(1.5)");
  }
}

TEST_F(PredictionLogTest, RejectsUnwritableDirectoryAtConstruction) {
  PredictionLogOptions o = Options();
  o.directory = dir_.path() + "/missing";
  try {
    PredictionLog log(registry_, "fraud", "3", o);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(o.directory), std::string::npos)
        << e.what();
  }
  const std::string file = dir_.path() + "/a-file";
  std::ofstream(file) << "x";
  o.directory = file;  // not a directory
  EXPECT_THROW(PredictionLog(registry_, "fraud", "3", o), ConfigError);
}

TEST_F(PredictionLogTest, StopWritesEverythingAndLaterCallsAreDropped) {
  std::string path;
  {
    PredictionLogOptions o = Options();
    o.flush_interval = std::chrono::hours(1);  // only Stop() writes
    PredictionLog log(registry_, "fraud", "3", o);
    path = log.predictions_path();
    for (int i = 0; i < 1000; ++i)
      log.LogPrediction("p" + std::to_string(i), 0.5);
    log.Stop();
    EXPECT_EQ(WholeLines(path).size(), 1000u);
    EXPECT_FALSE(log.LogPrediction("late", 0.5));
    EXPECT_EQ(DropCount(registry_, DropReason::kQueueFull), 1);
    log.Flush();  // no-op after Stop
    log.Stop();   // idempotent
  }
  EXPECT_EQ(WholeLines(path).size(), 1000u);
}

TEST_F(PredictionLogTest, DestructionWritesEverything) {
  std::string path;
  {
    PredictionLogOptions o = Options();
    o.flush_interval = std::chrono::hours(1);
    PredictionLog log(registry_, "fraud", "3", o);
    path = log.outcomes_path();
    for (int i = 0; i < 1000; ++i) log.LogOutcome("p" + std::to_string(i), i);
  }
  const std::vector<json> lines = WholeLines(path);
  ASSERT_EQ(lines.size(), 1000u);
  EXPECT_EQ(lines[999].at("outcome"), 999);
}

// Producers log while the test flushes: every line is valid JSON and the
// totals are exact.
TEST(PredictionLogConcurrencyTest, EveryLineValidAndTotalsExactWhileFlushing) {
  TempDir dir;
  Registry registry;
  PredictionLogOptions o;
  o.directory = dir.path();
  o.prefix = "c";
  o.queue_capacity = 4096;  // small: producers may also hit a full ring
  PredictionLog log(registry, "fraud", "3", o);

  constexpr int kThreads = 4, kPerThread = 5000;
  std::atomic<int> accepted{0}, refused{0}, running{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string_view items[] = {"a\"", "b\\"};
      int ok = 0, no = 0;
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id =
            "t" + std::to_string(t) + "-" + std::to_string(i);
        bool r;
        switch (i % 4) {
          case 0:
            r = log.LogPrediction(id, i * 1e-4);
            break;
          case 1:
            r = log.LogPredictionItems(id, items, 2);
            break;
          case 2:
            r = log.LogOutcome(id, 1);
            break;
          default:
            r = log.LogOutcomeLabel(id, "lab\xff");
            break;
        }
        (r ? ok : no)++;
      }
      accepted += ok;
      refused += no;
      --running;
    });
  }
  double last_lines = 0;
  int flushes = 0;
  while (running.load() > 0 || flushes < 3) {
    log.Flush();
    ++flushes;
    // Both series exist from construction on.
    const double lines =
        SampleValue(
            registry,
            R"(mlmon_log_lines_total{model="fraud",version="3",stream="predictions"})")
            .value() +
        SampleValue(
            registry,
            R"(mlmon_log_lines_total{model="fraud",version="3",stream="outcomes"})")
            .value();
    EXPECT_GE(lines, last_lines);
    last_lines = lines;
  }
  for (auto& th : threads) th.join();
  log.Flush();

  EXPECT_EQ(accepted + refused, kThreads * kPerThread);
  EXPECT_EQ(registry.DropsFor("fraud", "3")
                ->by_reason[static_cast<int>(DropReason::kQueueFull)]
                ->Value(),
            refused.load());
  const std::vector<json> preds = WholeLines(log.predictions_path());
  const std::vector<json> outs = WholeLines(log.outcomes_path());
  EXPECT_EQ(static_cast<int>(preds.size() + outs.size()), accepted.load());
  std::set<std::string> ids;
  for (const json& j : preds) ids.insert(j.at("id").get<std::string>());
  for (const json& j : outs) ids.insert(j.at("id").get<std::string>());
  EXPECT_EQ(ids.size(), preds.size() + outs.size());  // no duplicates
  EXPECT_EQ(
      SampleValue(
          registry,
          R"(mlmon_log_lines_total{model="fraud",version="3",stream="predictions"})"),
      static_cast<double>(preds.size()));
  EXPECT_EQ(
      SampleValue(
          registry,
          R"(mlmon_log_lines_total{model="fraud",version="3",stream="outcomes"})"),
      static_cast<double>(outs.size()));
}

// Without a writer thread, Flush() callers are the consumers: several of them
// race with producers on a tiny ring.
TEST(PredictionLogConcurrencyTest, FlushCallersDrainWithoutWriterThread) {
  TempDir dir;
  Registry registry;
  PredictionLogOptions o;
  o.directory = dir.path();
  o.prefix = "c";
  o.queue_capacity = 64;
  o.start_writer = false;
  PredictionLog log(registry, "fraud", "3", o);

  constexpr int kProducers = 4, kPerThread = 3000;
  std::atomic<int> accepted{0}, running{kProducers};
  std::vector<std::thread> threads;
  for (int t = 0; t < kProducers; ++t) {
    threads.emplace_back([&, t] {
      int ok = 0;
      for (int i = 0; i < kPerThread; ++i) {
        ok += log.LogPrediction(
            "t" + std::to_string(t) + "-" + std::to_string(i), 0.25);
      }
      accepted += ok;
      --running;
    });
  }
  for (int f = 0; f < 2; ++f) {
    threads.emplace_back([&] {
      while (running.load() > 0) log.Flush();
    });
  }
  for (auto& th : threads) th.join();
  log.Flush();
  const std::vector<json> preds = WholeLines(log.predictions_path());
  EXPECT_EQ(static_cast<int>(preds.size()), accepted.load());
  EXPECT_GT(accepted.load(), 0);
  EXPECT_EQ(registry.DropsFor("fraud", "3")
                    ->by_reason[static_cast<int>(DropReason::kQueueFull)]
                    ->Value() +
                accepted.load(),
            kProducers * kPerThread);
}

}  // namespace
}  // namespace mlmon
