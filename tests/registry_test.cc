#include "mlmon/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <memory>

namespace mlmon {
namespace {

using ::testing::HasSubstr;

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(RegistryTest, WritesHelpTypeAndSamples) {
  Registry r;
  r.AddCounter("app_jobs_total", "Jobs run.", {"queue"}).Add({"a"}).Increment(3);
  r.AddGauge("app_temperature", "Temp.", {}).Add({}).Set(-1.5);
  const std::string text = r.TextExposition();
  EXPECT_TRUE(Contains(text, "# HELP app_jobs_total Jobs run.\n"
                             "# TYPE app_jobs_total counter\n"
                             "app_jobs_total{queue=\"a\"} 3\n"))
      << text;
  EXPECT_TRUE(Contains(text, "# TYPE app_temperature gauge\napp_temperature -1.5\n"))
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
    EXPECT_THAT(e.what(), HasSubstr("'9bad'"));
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
      text, "mlmon_dropped_total{model=\"fraud\",version=\"3\",reason=\"nan\"} 1\n"))
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
  EXPECT_TRUE(Contains(text, "# TYPE their_jobs_total counter\n"
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

}  // namespace
}  // namespace mlmon
