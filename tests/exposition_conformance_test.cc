// Checks mlmon's /metrics output with third-party consumers: promtool's
// linter and the official Python client's parser. Expected values come from
// what this test records, never from the exposition text itself.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "exposition_checker.h"
#include "http_client.h"
#include "mlmon/http_server.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Runs `command` through the shell; returns its exit status (or -1) and puts
// stdout+stderr in `output`.
int RunCommand(const std::string& command, std::string* output) {
  output->clear();
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output->append(buffer, n);
  }
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Canonical sample key, as printed by the Python script: name, then labels
// sorted by name with values hex-encoded UTF-8.
std::string Key(const std::string& name,
                std::map<std::string, std::string> labels) {
  std::string key = name + "\t";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) key += ",";
    first = false;
    key += k + "=" + Hex(v);
  }
  return key;
}

// True if `s` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool IsUtf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      lo = c == 0xE0 ? 0xA0 : 0x80;
      hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n;
  }
  return true;
}

constexpr char kParserScript[] = R"PY(
import sys
from prometheus_client.parser import text_string_to_metric_families

with open(sys.argv[1], "rb") as f:
    text = f.read().decode("utf-8")  # strict: fails on invalid UTF-8
for family in text_string_to_metric_families(text):
    print("FAMILY\t%s\t%s\t%s" % (family.name, family.type,
                                  family.documentation.encode("utf-8").hex()))
    for s in family.samples:
        labels = dict(s.labels)
        if "le" in labels:
            labels["le"] = repr(float(labels["le"]))
        rendered = ",".join("%s=%s" % (k, labels[k].encode("utf-8").hex())
                            for k in sorted(labels))
        print("SAMPLE\t%s\t%s\t%r" % (s.name, rendered, s.value))
)PY";

class ExpositionConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "mlmon_conformance_XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::string ignored;
    if (!dir_.empty()) RunCommand("rm -rf '" + dir_ + "'", &ignored);
  }

  // Records known values into `registry_` and fills `expected_` and
  // `expected_help_` with what must come out.
  void Record() {
    const std::string kInvalid = "bad\xff\xfe-\xc0\xaf";
    const std::string kRepaired = std::string("bad") + kReplacement +
                                  kReplacement + "-" + kReplacement +
                                  kReplacement;
    const std::string kInvalidTwin = "bad\xfe\xff-\xed\xa0";
    const std::string kQuoted = "say \"hi\" \\ back\nslash";
    const std::string kUnicode =
        "caf\xc3\xa9 \xe2\x98\x83 \xe6\x97\xa5\xe6\x9c\xac "
        "\xf0\x9f\x9a\x80";

    const std::string counter_help =
        "Requests, with a backslash \\ and a\nnewline.";
    auto& requests = registry_.AddCounter("conf_requests_total", counter_help,
                                          {"endpoint", "status"});
    requests.Add({"predict", "ok"}).Increment(5);
    requests.Add({kQuoted, "error"}).Increment(2.5);
    requests.Add({kUnicode, "ok"}).Increment(1);
    requests.Add({kInvalid, "ok"}).Increment(3);
    // Other invalid bytes that print the same: the same series, not a second
    // series with an identical name and label set.
    requests.Add({kInvalidTwin, "ok"}).Increment(4);
    requests.Add({kRepaired, "ok"}).Increment(1);
    requests.Add({"", "ok"});  // bound, never incremented: 0
    expected_[Key("conf_requests_total",
                  {{"endpoint", "predict"}, {"status", "ok"}})] = 5;
    expected_[Key("conf_requests_total",
                  {{"endpoint", kQuoted}, {"status", "error"}})] = 2.5;
    expected_[Key("conf_requests_total",
                  {{"endpoint", kUnicode}, {"status", "ok"}})] = 1;
    expected_[Key("conf_requests_total",
                  {{"endpoint", kRepaired}, {"status", "ok"}})] = 3 + 4 + 1;
    expected_[Key("conf_requests_total",
                  {{"endpoint", ""}, {"status", "ok"}})] = 0;
    expected_help_["conf_requests"] = counter_help;

    const std::string gauge_help = "Temperature in \xe2\x84\x83 \xff.";
    auto& temperature =
        registry_.AddGauge("conf_temperature_celsius", gauge_help, {});
    temperature.Add({}).Set(-1.5);
    expected_[Key("conf_temperature_celsius", {})] = -1.5;
    expected_help_["conf_temperature_celsius"] =
        std::string("Temperature in \xe2\x84\x83 ") + kReplacement + ".";

    auto& ratio = registry_.AddGauge("conf_ratio", "A ratio.", {"model"});
    ratio.Add({"m1"}).Set(0.1);
    ratio.Add({"m2"}).Set(1e-9);
    ratio.Add({"m3"}).Set(123456789.125);
    expected_[Key("conf_ratio", {{"model", "m1"}})] = 0.1;
    expected_[Key("conf_ratio", {{"model", "m2"}})] = 1e-9;
    expected_[Key("conf_ratio", {{"model", "m3"}})] = 123456789.125;
    expected_help_["conf_ratio"] = "A ratio.";

    auto& in_flight = registry_.AddUpDownGauge(
        "conf_in_flight_requests", "Requests in flight.", {"endpoint"});
    UpDownGauge& g = in_flight.Add({"predict"});
    g.Add(3);
    g.Decrement();
    g.Increment();
    g.Decrement();
    expected_[Key("conf_in_flight_requests", {{"endpoint", "predict"}})] = 2;
    expected_help_["conf_in_flight_requests"] = "Requests in flight.";

    auto& latency = registry_.AddHistogram("conf_latency_seconds", "Latency.",
                                           {"endpoint"}, {0.005, 0.1, 1});
    Histogram& h = latency.Add({kQuoted});
    const std::vector<double> observations = {0.001, 0.05, 0.05, 2};
    double sum = 0;
    for (double v : observations) {
      h.Observe(v);
      sum += v;
    }
    const auto bucket = [&](const char* le) {
      return Key("conf_latency_seconds_bucket",
                 {{"endpoint", kQuoted}, {"le", le}});
    };
    expected_[bucket("0.005")] = 1;
    expected_[bucket("0.1")] = 3;
    expected_[bucket("1.0")] = 3;
    expected_[bucket("inf")] = 4;
    expected_[Key("conf_latency_seconds_count", {{"endpoint", kQuoted}})] = 4;
    expected_[Key("conf_latency_seconds_sum", {{"endpoint", kQuoted}})] = sum;
    expected_help_["conf_latency_seconds"] = "Latency.";
  }

  // Fetches /metrics from a real server on an ephemeral port.
  std::string Scrape() {
    HttpServer server({}, registry_);
    server.Start();
    const tools::HttpResult r =
        tools::HttpCall("127.0.0.1", server.port(), "GET", "/metrics");
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(
        r.headers.count("content-type") ? r.headers.at("content-type") : "",
        "text/plain; version=0.0.4; charset=utf-8");
    return r.body;
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  Registry registry_;
  std::string dir_;
  std::map<std::string, double> expected_;
  std::map<std::string, std::string> expected_help_;
};

TEST_F(ExpositionConformanceTest, OutputIsValidUtf8WithReplacements) {
  Record();
  const std::string text = Scrape();
  ASSERT_FALSE(text.empty());
  EXPECT_TRUE(IsUtf8(text));
  EXPECT_THAT(text, Not(HasSubstr("\xff")));
  EXPECT_THAT(text, Not(HasSubstr("\xfe")));
  EXPECT_THAT(text, Not(HasSubstr("\xc0")));
  EXPECT_THAT(text, HasSubstr(kReplacement));
  EXPECT_THAT(text, HasSubstr("caf\xc3\xa9 \xe2\x98\x83"));
}

TEST_F(ExpositionConformanceTest, PassesTheStrictChecker) {
  Record();
  const std::string text = Scrape();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(testutil::CheckExposition(text), std::nullopt) << text;
}

TEST_F(ExpositionConformanceTest, PromtoolLintIsClean) {
  const std::string promtool = FindInPath("promtool");
  if (promtool.empty()) GTEST_SKIP() << "promtool not found in PATH";
  Record();
  const std::string file = WriteFile("metrics.prom", Scrape());
  std::string output;
  const int status =
      RunCommand("'" + promtool + "' check metrics < '" + file + "'", &output);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << "promtool lint findings";
}

TEST_F(ExpositionConformanceTest, PythonClientParsesRecordedValues) {
  std::string output;
  if (access(kPython, X_OK) != 0 ||
      RunCommand(std::string(kPython) + " -c 'import prometheus_client.parser'",
                 &output) != 0) {
    GTEST_SKIP() << kPython
                 << " with prometheus_client is not available: " << output;
  }
  Record();
  const std::string file = WriteFile("metrics.prom", Scrape());
  const std::string script = WriteFile("parse.py", kParserScript);
  const int status = RunCommand(
      std::string(kPython) + " '" + script + "' '" + file + "'", &output);
  ASSERT_EQ(status, 0) << output;

  std::map<std::string, double> parsed;
  std::map<std::string, std::string> help;  // family -> hex help
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, '\t')) f.push_back(field);
    if (f.size() == 4 && f[0] == "FAMILY") {
      help[f[1]] = f[3];
    } else if (f.size() == 4 && f[0] == "SAMPLE") {
      if (f[1].rfind("conf_", 0) != 0) continue;  // registry's own metrics
      const std::string key = f[1] + "\t" + f[2];
      EXPECT_EQ(parsed.count(key), 0u) << "duplicate sample " << key;
      parsed[key] = std::strtod(f[3].c_str(), nullptr);
    } else {
      ADD_FAILURE() << "unexpected parser output line: " << line;
    }
  }

  for (const auto& [key, value] : expected_) {
    const auto it = parsed.find(key);
    if (it == parsed.end()) {
      ADD_FAILURE() << "missing sample " << key << "\nparser output:\n"
                    << output;
      continue;
    }
    EXPECT_NEAR(it->second, value, 1e-12 * std::max(1.0, std::abs(value)))
        << key;
  }
  for (const auto& [key, value] : parsed) {
    EXPECT_EQ(expected_.count(key), 1u)
        << "unexpected sample " << key << " = " << value;
  }
  for (const auto& [family, text] : expected_help_) {
    EXPECT_EQ(help[family], Hex(text)) << "HELP of " << family;
  }
}

}  // namespace
}  // namespace mlmon
