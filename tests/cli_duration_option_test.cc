// The duration flags of the `mlmon` tool (tools/mlmon/duration_option.h):
// every whole-number form of monitor.yaml means what the library's own
// parser (mlmon::ParseDuration) says, plus milliseconds, fractions and zero;
// garbage is refused, and through CLI11 the refusal names the flag.
#include <gtest/gtest.h>
#include <mlmon/monitor_spec.h>

#include <string>
#include <vector>

#include "duration_option.h"

namespace {

using mlmon_cli::ParseFlagSeconds;

TEST(DurationOption, WholeNumbersMatchMonitorYaml) {
  for (const char* n : {"1", "7", "45", "90", "1000"}) {
    for (const char* unit : {"", "s", "m", "h", "d", "w"}) {
      const std::string text = std::string(n) + unit;
      const double want =
          static_cast<double>(mlmon::ParseDuration(text).count());
      if (want > mlmon_cli::kMaxFlagSeconds) {
        EXPECT_FALSE(ParseFlagSeconds(text)) << text;
        continue;
      }
      ASSERT_TRUE(ParseFlagSeconds(text)) << text;
      EXPECT_EQ(*ParseFlagSeconds(text), want) << text;
    }
  }
}

TEST(DurationOption, MillisecondsFractionsAndZero) {
  EXPECT_DOUBLE_EQ(*ParseFlagSeconds("250ms"), 0.25);
  EXPECT_DOUBLE_EQ(*ParseFlagSeconds("1500ms"), 1.5);
  EXPECT_DOUBLE_EQ(*ParseFlagSeconds("1.5m"), 90.0);
  EXPECT_DOUBLE_EQ(*ParseFlagSeconds("0.5"), 0.5);  // bare: seconds
  EXPECT_DOUBLE_EQ(*ParseFlagSeconds("2.25"), 2.25);
  EXPECT_EQ(*ParseFlagSeconds("0"), 0.0);
  EXPECT_EQ(*ParseFlagSeconds("0s"), 0.0);
  EXPECT_EQ(*ParseFlagSeconds("0ms"), 0.0);
}

TEST(DurationOption, LimitIs365Days) {
  EXPECT_EQ(*ParseFlagSeconds("365d"), 365.0 * 86400);
  EXPECT_EQ(*ParseFlagSeconds("52w"), 52.0 * 7 * 86400);
  EXPECT_FALSE(ParseFlagSeconds("366d"));
  EXPECT_FALSE(ParseFlagSeconds("53w"));
  EXPECT_FALSE(ParseFlagSeconds("31536001"));
  EXPECT_FALSE(ParseFlagSeconds("999999999999999999999999"));  // no overflow
}

TEST(DurationOption, GarbageIsRefused) {
  for (const char* text :
       {"",      "s",   "ms",  "x",    "40x",   "40 s", " 40s", "40s ",
        "-5",    "-5s", "+5",  "5.",   ".5",    "1e3",  "40S",  "4m0s",
        "1.2.3", "inf", "nan", "0x10", "40sec", "5min", "10us", "1,5s"}) {
    EXPECT_FALSE(ParseFlagSeconds(text)) << "'" << text << "'";
  }
}

// The flag as the tool declares it: a double of seconds with the transform.
double ParseFlag(std::vector<std::string> args) {
  CLI::App app;
  double seconds = -1;
  app.add_option("--wait", seconds)->transform(mlmon_cli::DurationSeconds());
  args.insert(args.begin(), "prog");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return seconds;
}

TEST(DurationOption, TransformHandsTheOptionSeconds) {
  EXPECT_EQ(ParseFlag({"--wait", "40s"}), 40.0);
  EXPECT_EQ(ParseFlag({"--wait", "5m"}), 300.0);
  EXPECT_DOUBLE_EQ(ParseFlag({"--wait", "250ms"}), 0.25);
  EXPECT_EQ(ParseFlag({"--wait", "12"}), 12.0);
  EXPECT_EQ(ParseFlag({"--wait=2h"}), 7200.0);
}

TEST(DurationOption, TransformRefusalNamesTheFlagAndTheText) {
  try {
    ParseFlag({"--wait", "40x"});
    FAIL() << "40x accepted";
  } catch (const CLI::ValidationError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("--wait: '40x' is not a duration", 0), 0u) << what;
  }
}

}  // namespace
