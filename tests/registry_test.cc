#include "mlmon/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "exposition_checker.h"
#include "internal/text_format.h"
#include "mlmon/clock.h"
#include "mlmon/golden_signals.h"

namespace mlmon {
namespace {

using ::testing::HasSubstr;

constexpr char kFffd[] = "\xEF\xBF\xBD";  // U+FFFD

// The samples of an exposition, read by the shared checker; an exposition
// that is not valid fails the test.
std::vector<testutil::ExpositionSample> Samples(const std::string& text) {
  std::vector<testutil::ExpositionSample> samples;
  EXPECT_EQ(testutil::CheckExposition(text, &samples), std::nullopt) << text;
  return samples;
}

// The number of samples of `text` whose metric name is `name`.
std::size_t CountSeries(const std::string& text, const std::string& name) {
  std::size_t n = 0;
  for (const auto& s : Samples(text)) n += s.name == name;
  return n;
}

// The sum of the values of the samples of `text` named `name`.
double SumOf(const std::string& text, const std::string& name) {
  double total = 0;
  for (const auto& s : Samples(text)) {
    if (s.name == name) total += std::stod(s.value);
  }
  return total;
}

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(RegistryTest, WritesHelpTypeAndSamples) {
  Registry r;
  r.AddCounter("app_jobs_total", "Jobs run.", {"queue"})
      .Add({"a"})
      .Increment(3);
  r.AddGauge("app_temperature", "Temp.", {}).Add({}).Set(-1.5);
  const std::string text = r.TextExposition();
  EXPECT_TRUE(Contains(text,
                       "# HELP app_jobs_total Jobs run.\n"
                       "# TYPE app_jobs_total counter\n"
                       "app_jobs_total{queue=\"a\"} 3\n"))
      << text;
  EXPECT_TRUE(
      Contains(text, "# TYPE app_temperature gauge\napp_temperature -1.5\n"))
      << text;
}

TEST(RegistryTest, WritesHistogramSeries) {
  Registry r;
  auto& h = r.AddHistogram("app_latency_seconds", "Latency.", {"ep"}, {0.1, 1});
  Histogram& x = h.Add({"p"});
  x.Observe(0.05);
  x.Observe(0.5);
  x.Observe(3);
  const std::string text = r.TextExposition();
  EXPECT_TRUE(Contains(text,
                       "app_latency_seconds_bucket{ep=\"p\",le=\"0.1\"} 1\n"
                       "app_latency_seconds_bucket{ep=\"p\",le=\"1\"} 2\n"
                       "app_latency_seconds_bucket{ep=\"p\",le=\"+Inf\"} 3\n"
                       "app_latency_seconds_sum{ep=\"p\"} 3.55\n"
                       "app_latency_seconds_count{ep=\"p\"} 3\n"))
      << text;
}

TEST(RegistryTest, AddReturnsTheSameSeriesForTheSameLabels) {
  Registry r;
  auto& f = r.AddCounter("x_total", "X.", {"a"});
  Counter& c1 = f.Add({"1"});
  Counter& c2 = f.Add({"1"});
  Counter& c3 = f.Add({"2"});
  EXPECT_EQ(&c1, &c2);
  EXPECT_NE(&c1, &c3);
  EXPECT_EQ(f.size(), 2u);
}

TEST(RegistryTest, SameNameSameShapeIsGetOrCreate) {
  Registry r;
  auto& a = r.AddCounter("x_total", "X.", {"model"});
  auto& b = r.AddCounter("x_total", "X.", {"model"});
  EXPECT_EQ(&a, &b);
}

TEST(RegistryTest, SameNameOtherShapeIsAConfigError) {
  Registry r;
  r.AddCounter("x_total", "X.", {"model"});
  EXPECT_THROW(r.AddGauge("x_total", "X.", {"model"}), ConfigError);
  EXPECT_THROW(r.AddCounter("x_total", "X.", {"other"}), ConfigError);
  r.AddHistogram("h", "H.", {}, {1, 2});
  EXPECT_THROW(r.AddHistogram("h", "H.", {}, {1, 3}), ConfigError);
}

TEST(RegistryTest, RejectsInvalidNamesWithAMessageNamingThem) {
  Registry r;
  try {
    r.AddCounter("9bad", "X.", {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("(9bad)"));
  }
  EXPECT_THROW(r.AddCounter("ok_total", "X.", {"bad-label"}), ConfigError);
  EXPECT_THROW(r.AddCounter("ok_total", "X.", {"__reserved"}), ConfigError);
  EXPECT_THROW(r.AddCounter("ok_total", "X.", {"a", "a"}), ConfigError);
  EXPECT_THROW(r.AddHistogram("h", "H.", {"le"}, {1}), ConfigError);
  EXPECT_THROW(r.AddHistogram("h", "H.", {}, {2, 1}), ConfigError);
  EXPECT_TRUE(IsValidMetricName("a:b_c1"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidLabelName("a:b"));
}

TEST(RegistryTest, WrongNumberOfLabelValuesIsAConfigError) {
  Registry r;
  auto& f = r.AddCounter("x_total", "X.", {"a", "b"});
  EXPECT_THROW(f.Add({"1"}), ConfigError);
}

TEST(RegistryTest, CardinalityCapFoldsIntoOverflowAndCounts) {
  Registry r(Registry::Options{3});
  auto& f = r.AddCounter("req_total", "R.", {"model", "version", "user"});
  Counter* first = &f.Add({"m", "v", "u0"});
  f.Add({"m", "v", "u1"});
  f.Add({"m", "v", "u2"});
  Counter& o1 = f.Add({"m", "v", "u3"});
  Counter& o2 = f.Add({"m", "v", "u4"});
  EXPECT_EQ(&o1, &o2);
  EXPECT_NE(&o1, first);
  EXPECT_EQ(&f.Add({"m", "v", "u0"}), first);  // existing sets keep working
  o1.Increment();
  const std::string text = r.TextExposition();
  EXPECT_TRUE(Contains(
      text, "req_total{model=\"m\",version=\"v\",user=\"__overflow__\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "mlmon_label_overflow_total{model=\"m\",version=\"v\","
                       "metric=\"req_total\"} 2\n"))
      << text;
  EXPECT_FALSE(Contains(text, "u3"));
}

TEST(RegistryTest, DropsAreExportedPerModelAndReason) {
  Registry r;
  auto& f = r.AddHistogram("h", "H.", {"model", "version"}, {1});
  f.Add({"fraud", "3"}).Observe(std::nan(""));
  const std::string text = r.TextExposition();
  EXPECT_TRUE(Contains(
      text,
      "mlmon_dropped_total{model=\"fraud\",version=\"3\",reason=\"nan\"} 1\n"))
      << text;
}

TEST(RegistryTest, CollectableGivesPrometheusCppFamilies) {
  Registry r;
  r.AddCounter("c_total", "C.", {"a"}).Add({"x"}).Increment(2);
  auto& h = r.AddHistogram("h", "H.", {}, {1, 2});
  h.Add({}).Observe(1.5);
  auto families = r.Collect();
  const prometheus::MetricFamily* c = nullptr;
  const prometheus::MetricFamily* hf = nullptr;
  for (const auto& f : families) {
    if (f.name == "c_total") c = &f;
    if (f.name == "h") hf = &f;
  }
  ASSERT_NE(c, nullptr);
  ASSERT_NE(hf, nullptr);
  EXPECT_EQ(c->type, prometheus::MetricType::Counter);
  ASSERT_EQ(c->metric.size(), 1u);
  EXPECT_EQ(c->metric[0].counter.value, 2);
  EXPECT_EQ(c->metric[0].label[0].name, "a");
  EXPECT_EQ(c->metric[0].label[0].value, "x");
  ASSERT_EQ(hf->metric[0].histogram.bucket.size(), 3u);
  EXPECT_EQ(hf->metric[0].histogram.bucket[0].cumulative_count, 0u);
  EXPECT_EQ(hf->metric[0].histogram.bucket[1].cumulative_count, 1u);
  EXPECT_TRUE(std::isinf(hf->metric[0].histogram.bucket[2].upper_bound));
  EXPECT_EQ(hf->metric[0].histogram.sample_count, 1u);
}

TEST(RegistryTest, RegistersIntoAPrometheusCppRegistryAsCollectable) {
  // A user's own prometheus::Registry and ours side by side: ours is a
  // Collectable the user's Exposer can register.
  auto ours = std::make_shared<Registry>();
  ours->AddCounter("ours_total", "O.", {}).Add({}).Increment();
  std::shared_ptr<prometheus::Collectable> as_collectable = ours;
  auto families = as_collectable->Collect();
  ASSERT_FALSE(families.empty());
}

TEST(RegistryTest, ServesAnAttachedPrometheusCppRegistry) {
  Registry r;
  auto theirs = std::make_shared<prometheus::Registry>();
  auto& fam = prometheus::BuildCounter()
                  .Name("their_jobs_total")
                  .Help("Their \"jobs\".")
                  .Register(*theirs);
  fam.Add({{"q", "a\"b"}}).Increment(5);
  r.Attach(theirs);
  std::string text = r.TextExposition();
  EXPECT_TRUE(Contains(text,
                       "# TYPE their_jobs_total counter\n"
                       "their_jobs_total{q=\"a\\\"b\"} 5\n"))
      << text;
  theirs.reset();  // expired: silently skipped
  text = r.TextExposition();
  EXPECT_FALSE(Contains(text, "their_jobs_total"));
}

TEST(RegistryTest, EmptyFamiliesAreNotWritten) {
  Registry r;
  r.AddCounter("never_used_total", "N.", {"a"});
  EXPECT_FALSE(Contains(r.TextExposition(), "never_used_total"));
}

// Two distinct invalid values both print as U+FFFD: they must be one series,
// or /metrics would hold two identical series.
TEST(RegistryTest, InvalidUtf8ValuesThatPrintTheSameAreOneSeries) {
  Registry r;
  auto& f = r.AddCounter("req_total", "R.", {"endpoint"});
  Counter& a = f.Add({"\xff"});
  Counter& b = f.Add({"\xfe"});
  EXPECT_EQ(&a, &b);
  a.Increment();
  b.Increment();
  EXPECT_EQ(f.size(), 1u);
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt) << text;
  EXPECT_TRUE(
      Contains(text, "req_total{endpoint=\"" + std::string(kFffd) + "\"} 2\n"))
      << text;
  EXPECT_EQ(CountSeries(text, "req_total"), 1u) << text;
}

struct SameAfterRepair {
  const char* name;
  std::string a, b;   // distinct bytes ...
  std::string shown;  // ... both printed as this
};

void PrintTo(const SameAfterRepair& c, std::ostream* os) { *os << c.name; }

class RegistrySanitizeTest : public ::testing::TestWithParam<SameAfterRepair> {
};

TEST_P(RegistrySanitizeTest, BothSpellingsBindOneSeriesWithTheShownValue) {
  const SameAfterRepair& c = GetParam();
  ASSERT_NE(c.a, c.b);
  Registry r;
  auto& f = r.AddGauge("g", "G.", {"model", "version", "feature"});
  // In every label, model and version included.
  Gauge& x = f.Add({c.a, c.a, c.a});
  Gauge& y = f.Add({c.b, c.b, c.b});
  EXPECT_EQ(&x, &y);
  x.Set(7);
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt) << text;
  EXPECT_TRUE(Contains(text, "g{model=\"" + c.shown + "\",version=\"" +
                                 c.shown + "\",feature=\"" + c.shown +
                                 "\"} 7\n"))
      << text;
  EXPECT_EQ(CountSeries(text, "g"), 1u) << text;
  // One drop sink for the model, under the shown name.
  EXPECT_EQ(CountSeries(text, "mlmon_dropped_total"), kNumDropReasons) << text;
  EXPECT_EQ(r.model_versions(), 1u);
  // prometheus-cpp consumers get the same value.
  for (const auto& fam : r.Collect()) {
    if (fam.name != "g") continue;
    ASSERT_EQ(fam.metric.size(), 1u);
    for (const auto& l : fam.metric[0].label) EXPECT_EQ(l.value, c.shown);
  }
}

const std::string F(kFffd);
INSTANTIATE_TEST_SUITE_P(
    InvalidForms, RegistrySanitizeTest,
    ::testing::Values(
        SameAfterRepair{"StrayBytes", "\xff", "\xfe", F},
        SameAfterRepair{"StrayByteAndLiteralReplacement", "\xff", F, F},
        SameAfterRepair{"ContinuationWithoutLead", "a\x80", "a\xbf", "a" + F},
        SameAfterRepair{"TruncatedTwoByte", "\xc3", "\xff", F},
        SameAfterRepair{"TruncatedFourByte", "x\xf0\x9f\x9a", "x\xff\xff\xff",
                        "x" + F + F + F},
        SameAfterRepair{"OverlongSlash", "\xc0\xaf", "\xff\xfe", F + F},
        SameAfterRepair{"OverlongNul", "\xc0\x80", "\xc1\xbf", F + F},
        SameAfterRepair{"OverlongThreeBytes", "\xe0\x80\xaf", "\xff\xff\xff",
                        F + F + F},
        SameAfterRepair{"OverlongFourBytes", "\xf0\x80\x80\xaf",
                        "\xff\xff\xff\xff", F + F + F + F},
        SameAfterRepair{"HighSurrogate", "\xed\xa0\x80", "\xff\xff\xff",
                        F + F + F},
        SameAfterRepair{"LowSurrogate", "\xed\xbf\xbf", "\xed\xa0\x80",
                        F + F + F},
        SameAfterRepair{"AboveMaxCodePoint", "\xf4\x90\x80\x80",
                        "\xf7\xbf\xbf\xbf", F + F + F + F},
        SameAfterRepair{"NulByte", std::string("a\0b", 3),
                        "a\xff"
                        "b",
                        "a" + F + "b"},
        SameAfterRepair{"OnlyNul", std::string("\0", 1), "\xfe", F}),
    [](const ::testing::TestParamInfo<SameAfterRepair>& param_info) {
      return std::string(param_info.param.name);
    });

// Valid values are kept byte for byte and printed with exactly the three
// escapes of the format; distinct values stay distinct.
TEST(RegistryTest, ValidValuesRoundTripByteExact) {
  Registry r;
  auto& f = r.AddCounter("rt_total", "R.", {"v"});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"plain", "plain"},
      {"", ""},
      {"back\\slash", "back\\\\slash"},
      {"say \"hi\"", "say \\\"hi\\\""},
      {"two\nlines", "two\\nlines"},
      {"\\n", "\\\\n"},  // a backslash then n, not a newline
      {"\\\"", "\\\\\\\""},
      {"tab\tcr\r", "tab\tcr\r"},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80",
       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"},
      {"\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\xef\xbf\xbf\xf4\x8f\xbf\xbf"},
      {kFffd, kFffd},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    f.Add({cases[i].first}).Increment(static_cast<double>(i + 1));
  }
  EXPECT_EQ(f.size(), cases.size());
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt) << text;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_TRUE(Contains(text, "rt_total{v=\"" + cases[i].second + "\"} " +
                                   std::to_string(i + 1) + "\n"))
        << cases[i].second << "\n"
        << text;
  }
  for (const auto& fam : r.Collect()) {
    if (fam.name != "rt_total") continue;
    ASSERT_EQ(fam.metric.size(), cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(fam.metric[i].label[0].value, cases[i].first);
    }
  }
}

TEST(RegistryTest, HelpIsSanitizedAtRegistration) {
  Registry r;
  r.AddGauge("h", std::string("bad \xff nul \0 end", 15), {}).Add({}).Set(1);
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt) << text;
  const std::string shown =
      std::string("bad ") + kFffd + " nul " + kFffd + " end";
  EXPECT_TRUE(Contains(text, "# HELP h " + shown + "\n")) << text;
  for (const auto& fam : r.Collect()) {
    if (fam.name == "h") {
      EXPECT_EQ(fam.help, shown);
    }
  }
}

// The flood of the attack: 100,000 model names through GoldenSignals (each
// destroyed in turn; the registry keeps what they bound).
TEST(RegistryTest, ModelFloodIsCappedAndCounted) {
  constexpr int kModels = 5000;
  FakeClock clock;
  Registry r;
  const std::size_t cap = r.options().max_model_versions;
  ASSERT_EQ(cap, 64u);
  GoldenSignalsOptions options;
  options.clock = &clock;
  std::vector<Gauge*> depth;
  std::vector<std::unique_ptr<GoldenSignals>> live;
  for (int i = 0; i < kModels; ++i) {
    live.push_back(std::make_unique<GoldenSignals>(r, "m" + std::to_string(i),
                                                   "1", options));
    GoldenSignals& s = *live.back();
    s.queue_depth().Set(1);
    if (i < 2 || i >= kModels - 2) depth.push_back(&s.queue_depth());
  }
  EXPECT_EQ(r.model_versions(), cap);
  EXPECT_NE(depth[0], depth[1]);  // admitted: their own series
  EXPECT_EQ(depth[2], depth[3]);  // folded: the overflow series
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt);
  // The admitted pairs plus one overflow pair, in every family.
  EXPECT_EQ(CountSeries(text, "mlmon_queue_depth"), cap + 1);
  EXPECT_EQ(CountSeries(text, "mlmon_model_info"), cap + 1);
  EXPECT_EQ(CountSeries(text, "mlmon_model_loaded_timestamp_seconds"), cap + 1);
  EXPECT_EQ(CountSeries(text, "mlmon_dropped_total"),
            (cap + 1) * kNumDropReasons);
  EXPECT_TRUE(Contains(text,
                       "mlmon_queue_depth{model=\"__overflow__\","
                       "version=\"__overflow__\"} 1\n"));
  EXPECT_TRUE(
      Contains(text, "mlmon_queue_depth{model=\"m63\",version=\"1\"} 1\n"));
  EXPECT_FALSE(Contains(text, "\"m64\""));
  // Each folded GoldenSignals bound three series: queue depth, model info
  // and the load time.
  const std::string folds = std::to_string(kModels - cap);
  EXPECT_TRUE(
      Contains(text,
               "mlmon_label_overflow_total{model=\"__overflow__\","
               "version=\"__overflow__\",metric=\"mlmon_queue_depth\"} " +
                   folds + "\n"))
      << text;
  EXPECT_TRUE(
      Contains(text,
               "mlmon_label_overflow_total{model=\"__overflow__\","
               "version=\"__overflow__\",metric=\"mlmon_model_info\"} " +
                   folds + "\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "mlmon_label_overflow_total{model=\"__overflow__\","
                       "version=\"__overflow__\",metric=\""
                       "mlmon_model_loaded_timestamp_seconds\"} " +
                           folds + "\n"))
      << text;
  EXPECT_EQ(CountSeries(text, "mlmon_label_overflow_total"), 3u) << text;
  EXPECT_EQ(Samples(text).size(), (cap + 1) * (3 + kNumDropReasons) + 3);
  EXPECT_LT(text.size(), 64u * 1024) << "exposition bytes";

  // Destroyed signals leave, and free their places under the cap: the
  // overflow pair's drop counters and the fold counts are all that stays.
  live.clear();
  EXPECT_EQ(r.model_versions(), 0u);
  const std::string after = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(after), std::nullopt);
  EXPECT_EQ(CountSeries(after, "mlmon_queue_depth"), 0u);
  EXPECT_EQ(CountSeries(after, "mlmon_model_info"), 0u);
  EXPECT_EQ(CountSeries(after, "mlmon_dropped_total"), kNumDropReasons);
  EXPECT_EQ(CountSeries(after, "mlmon_label_overflow_total"), 3u);
  GoldenSignals fresh(r, "m99999", "1", options);
  fresh.queue_depth().Set(2);
  EXPECT_TRUE(
      Contains(r.TextExposition(),
               "mlmon_queue_depth{model=\"m99999\",version=\"1\"} 2\n"));
}

TEST(RegistryTest, VersionFloodOfOneModelIsCappedAndCounted) {
  constexpr int kVersions = 100000;
  Registry r;
  const std::size_t cap = r.options().max_model_versions;
  auto& f = r.AddCounter("req_total", "R.", {"model", "version", "endpoint"});
  Counter* first = &f.Add({"fraud", "v0", "predict"});
  for (int i = 0; i < kVersions; ++i) {
    f.Add({"fraud", "v" + std::to_string(i), "predict"}).Increment();
  }
  EXPECT_EQ(r.model_versions(), cap);
  EXPECT_EQ(&f.Add({"fraud", "v0", "predict"}), first);  // still its own
  EXPECT_EQ(f.size(), cap + 1);
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt);
  EXPECT_EQ(CountSeries(text, "req_total"), cap + 1);
  // Values are neither lost nor double counted.
  EXPECT_TRUE(Contains(text,
                       "req_total{model=\"__overflow__\",version=\"__overflow__"
                       "\",endpoint=\"predict\"} " +
                           std::to_string(kVersions - cap) + "\n"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "req_total{model=\"fraud\",version=\"v0\",endpoint=\""
                       "predict\"} 1\n"));
  EXPECT_TRUE(Contains(text,
                       "mlmon_label_overflow_total{model=\"__overflow__\","
                       "version=\"__overflow__\",metric=\"req_total\"} " +
                           std::to_string(kVersions - cap) + "\n"))
      << text;
  EXPECT_EQ(Samples(text).size(), (cap + 1) * (1 + kNumDropReasons) + 1);
}

TEST(RegistryTest, ModelCapCountsModelOnlyAndVersionOnlyFamilies) {
  Registry::Options o;
  o.max_model_versions = 2;
  Registry r(o);
  auto& by_model = r.AddGauge("by_model", "M.", {"model"});
  auto& by_version = r.AddGauge("by_version", "V.", {"version"});
  auto& plain = r.AddGauge("plain", "P.", {"q"});
  by_model.Add({"a"}).Set(1);    // pair (a, "")
  by_version.Add({"1"}).Set(2);  // pair ("", 1)
  by_model.Add({"b"}).Set(3);    // third pair: folds
  for (int i = 0; i < 10; ++i) {
    plain.Add({std::to_string(i)}).Set(i);  // the empty pair is not a model
  }
  EXPECT_EQ(r.model_versions(), 2u);
  EXPECT_EQ(plain.size(), 10u);
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt) << text;
  EXPECT_TRUE(Contains(text, "by_model{model=\"a\"} 1\n")) << text;
  EXPECT_TRUE(Contains(text, "by_version{version=\"1\"} 2\n")) << text;
  EXPECT_TRUE(Contains(text, "by_model{model=\"__overflow__\"} 3\n")) << text;
  EXPECT_TRUE(Contains(text,
                       "mlmon_label_overflow_total{model=\"__overflow__\","
                       "version=\"__overflow__\",metric=\"by_model\"} 1\n"))
      << text;
  // A value reading __overflow__ binds the overflow pair, never a slot.
  Registry r2(o);
  r2.AddGauge("x", "X.", {"model", "version"})
      .Add({"__overflow__", "__overflow__"});
  EXPECT_EQ(r2.model_versions(), 0u);
}

TEST(RegistryTest, DropsForBeyondTheModelCapShareTheOverflowSink) {
  Registry::Options o;
  o.max_model_versions = 3;
  Registry r(o);
  std::vector<detail::DropSink*> sinks;
  for (int i = 0; i < 1000; ++i) {
    sinks.push_back(r.DropsFor("m" + std::to_string(i), "1"));
  }
  EXPECT_EQ(r.model_versions(), 3u);
  EXPECT_NE(sinks[0], sinks[1]);
  EXPECT_NE(sinks[2], sinks[3]);
  EXPECT_EQ(sinks[3], sinks[999]);
  EXPECT_EQ(r.DropsFor("m0", "1"), sinks[0]);
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt) << text;
  EXPECT_EQ(CountSeries(text, "mlmon_dropped_total"), 4 * kNumDropReasons);
  EXPECT_TRUE(
      Contains(text,
               "mlmon_label_overflow_total{model=\"__overflow__\","
               "version=\"__overflow__\",metric=\"mlmon_dropped_total\"}"
               " 997\n"))
      << text;
}

// Both caps together bound every family, whatever is flooded.
TEST(RegistryTest, BothCapsBoundAFamily) {
  Registry::Options o;
  o.max_series_per_family = 5;
  o.max_model_versions = 3;
  Registry r(o);
  auto& f = r.AddCounter("req_total", "R.", {"model", "version", "user"});
  for (int m = 0; m < 50; ++m) {
    for (int u = 0; u < 50; ++u) {
      f.Add({"m" + std::to_string(m), "1", "u" + std::to_string(u)})
          .Increment();
    }
  }
  EXPECT_LE(f.size(), o.max_series_per_family + o.max_model_versions + 2);
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt) << text;
  const double total = SumOf(text, "req_total");
  EXPECT_EQ(total, 50 * 50);  // nothing lost, nothing counted twice
}

TEST(RegistryTest, ZeroModelVersionCapIsAConfigError) {
  Registry::Options o;
  o.max_model_versions = 0;
  try {
    Registry r(o);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: Registry::Options.max_model_versions: must be > 0 (0)");
  }
}

TEST(RegistryTest, SetupMessagesNameTheMetricAndTheValue) {
  Registry r;
  r.AddCounter("x_total", "X.", {"model"});
  const auto message = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no ConfigError";
  };
  EXPECT_EQ(message([&] {
              r.AddCounter("ok_total", "X.", {"a", "a"});
            }),
            "mlmon: metric ok_total: a repeated label name (a)");
  EXPECT_EQ(message([&] { r.AddCounter("x_total", "X.", {"other"}); }),
            "mlmon: metric x_total: registered as counter with labels "
            "(model) by user code; asked again as counter with labels (other) "
            "by user code");
  EXPECT_EQ(message([&] { r.AddCounter("x_total", "X.", {"model"}).Add({}); }),
            "mlmon: metric x_total: has 1 label(s) (model), but 0 value(s) "
            "were given");
}

TEST(RegistryTest, HistogramSampleNamesCannotCollideWithAnotherMetric) {
  Registry r;
  r.AddHistogram("lat_seconds", "L.", {}, {1});
  for (const char* name :
       {"lat_seconds_bucket", "lat_seconds_sum", "lat_seconds_count"}) {
    try {
      r.AddCounter(name, "C.", {});
      ADD_FAILURE() << name << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr(name));
      EXPECT_THAT(e.what(), HasSubstr("lat_seconds"));
    }
  }
  r.AddGauge("jobs_count", "J.", {});
  try {
    r.AddHistogram("jobs", "H.", {}, {1});
    ADD_FAILURE() << "histogram 'jobs' accepted next to 'jobs_count'";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("jobs_count"));
  }
  r.AddCounter("lat_seconds_total", "T.", {});  // not a histogram suffix
}

// A Collectable returning whatever families a test gives it.
class FixedCollectable : public prometheus::Collectable {
 public:
  explicit FixedCollectable(std::vector<prometheus::MetricFamily> families)
      : families_(std::move(families)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return families_;
  }

 private:
  std::vector<prometheus::MetricFamily> families_;
};

prometheus::ClientMetric GaugeMetric(
    std::vector<prometheus::ClientMetric::Label> labels, double v) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = v;
  return m;
}

prometheus::MetricFamily GaugeFamily(
    const std::string& name, std::vector<prometheus::ClientMetric> metrics) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = "Attached.";
  f.type = prometheus::MetricType::Gauge;
  f.metric = std::move(metrics);
  return f;
}

// An attached registry's values are not sanitized at registration (prometheus
// -cpp owns them): series printing the same are written once, and a family
// whose names an earlier family took is left out, so the exposition stays
// free of duplicates.
TEST(RegistryTest, AttachedFamiliesNeverDuplicateASeries) {
  Registry r;
  r.AddGauge("ours", "O.", {}).Add({}).Set(1);
  r.AddHistogram("ours_seconds", "H.", {}, {1}).Add({}).Observe(0.5);
  auto theirs = std::make_shared<prometheus::Registry>();
  auto& fam =
      prometheus::BuildGauge().Name("theirs").Help("T.").Register(*theirs);
  fam.Add({{"v", "\xff"}}).Set(1);
  fam.Add({{"v", "\xfe"}}).Set(2);
  fam.Add({{"v", "ok"}}).Set(3);
  r.Attach(theirs);
  auto fixed =
      std::make_shared<FixedCollectable>(std::vector<prometheus::MetricFamily>{
          GaugeFamily("ours", {GaugeMetric({}, 9)}),                // taken
          GaugeFamily("ours_seconds_count", {GaugeMetric({}, 9)}),  // taken
          GaugeFamily("fixed",
                      {GaugeMetric({{"1bad", "x"}}, 9),  // invalid label name
                       GaugeMetric({{"a", "x"}, {"a", "y"}}, 9),  // repeated
                       GaugeMetric({{"b", "2"}, {"a", "1"}}, 4),
                       GaugeMetric({{"a", "1"}, {"b", "2"}}, 9)}),  // same set
          GaugeFamily("theirs", {GaugeMetric({}, 9)}),  // taken by `theirs`
      });
  r.Attach(fixed);
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt) << text;
  EXPECT_TRUE(Contains(text, "theirs{v=\"" + std::string(kFffd) + "\"} "))
      << text;
  EXPECT_TRUE(Contains(text, "theirs{v=\"ok\"} 3\n")) << text;
  EXPECT_EQ(CountSeries(text, "theirs"), 2u) << text;
  EXPECT_TRUE(Contains(text, "ours 1\n")) << text;
  EXPECT_EQ(CountSeries(text, "ours"), 1u) << text;
  EXPECT_EQ(CountSeries(text, "ours_seconds_count"), 1u) << text;
  EXPECT_TRUE(Contains(text, "fixed{b=\"2\",a=\"1\"} 4\n")) << text;
  EXPECT_EQ(CountSeries(text, "fixed"), 1u) << text;
  EXPECT_FALSE(Contains(text, " 9\n")) << text;
}

// Threads binding new models at once: the cap holds exactly and no increment
// is lost.
TEST(RegistryTest, ModelCapHoldsUnderConcurrentBinding) {
  constexpr int kThreads = 4;
  constexpr int kModelsPerThread = 2000;
  Registry r;
  const std::size_t cap = r.options().max_model_versions;
  auto& f = r.AddCounter("req_total", "R.", {"model", "version"});
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&f, t] {
      for (int i = 0; i < kModelsPerThread; ++i) {
        f.Add({"t" + std::to_string(t) + "m" + std::to_string(i), "1"})
            .Increment();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(r.model_versions(), cap);
  EXPECT_EQ(f.size(), cap + 1);
  const std::string text = r.TextExposition();
  EXPECT_EQ(mlmon::testutil::CheckExposition(text), std::nullopt);
  const double total = SumOf(text, "req_total");
  EXPECT_EQ(total, kThreads * kModelsPerThread);
  EXPECT_TRUE(Contains(text,
                       "mlmon_label_overflow_total{model=\"__overflow__\","
                       "version=\"__overflow__\",metric=\"req_total\"} " +
                           std::to_string(kThreads * kModelsPerThread - cap) +
                           "\n"))
      << text;
}

}  // namespace
}  // namespace mlmon

namespace mlmon {
namespace {

// Whatever order the host destroys things in: a signal that outlives its
// registry keeps recording into live memory (ASan checks it), and the
// registry's families are freed with the last signal (LeakSanitizer checks
// that).
TEST(RegistryLifetimeTest, SignalsMayOutliveTheirRegistry) {
  auto registry = std::make_unique<Registry>();
  auto signals = std::make_unique<GoldenSignals>(*registry, "m", "1");
  auto other = std::make_unique<GoldenSignals>(*registry, "m", "2");
  Endpoint& predict = signals->AddEndpoint("predict");
  registry.reset();
  { RequestGuard guard(predict); }
  signals->queue_depth().Set(3);
  EXPECT_THROW(signals->AddEndpoint("late"), ConfigError);
  signals.reset();
  other->queue_depth().Set(1);
  other.reset();
}

TEST(RegistryLifetimeTest, SameKindTwiceForOneModelVersionIsRefused) {
  Registry registry;
  GoldenSignals first(registry, "fraud", "1");
  try {
    GoldenSignals second(registry, "fraud", "1");
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "mlmon: GoldenSignals: this registry holds one already for the "
              "model version (model 'fraud' version '1')");
  }
  GoldenSignals other_version(registry, "fraud", "2");  // fine
}

}  // namespace
}  // namespace mlmon
