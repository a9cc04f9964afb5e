// Fuzzes the exposition: arbitrary bytes become a HELP text and label values
// of counters, gauges, up-down gauges and histograms in a `mlmon::Registry`
// (a small series cap, so the overflow series is reached), with values
// recorded on them; then the whole registry is rendered, by `TextExposition`
// and by `WriteText(Collect())`, and checked:
//   - against the text format checker of the tests
//     (tests/testing/exposition_checker.h): escapes, valid UTF-8, no NUL, no
//     duplicate series, contiguous families, histogram rules;
//   - byte-exact round trip: every label set made only of valid UTF-8 values
//     without NUL (mlmon writes a NUL and each ill-formed sequence as U+FFFD)
//     and bound before the cap must come back, unescaped, exactly as given,
//     and so must such a HELP text.
// Label sets with invalid UTF-8 or NUL are bound too: the checker's
// duplicate-series rule covers them (two values that print the same must be
// one series).
// Any violation aborts with the rendered text on stderr.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "exposition_checker.h"
#include "mlmon/registry.h"

namespace {

[[noreturn]] void Fail(const std::string& what, const std::string& text) {
  std::fprintf(stderr, "fuzz_exposition: %s\n--- exposition ---\n%s\n",
               what.c_str(), text.c_str());
  std::fflush(stderr);
  std::abort();
}

constexpr std::size_t kMaxSeries = 6;

using mlmon::testutil::CheckExposition;
using mlmon::testutil::ExpositionSample;

// A value mlmon writes byte for byte.
bool RoundTrips(const std::string& s) {
  return mlmon::testutil::IsValidUtf8(s) && s.find('\0') == std::string::npos;
}

// The checker must be able to fail: it rejects each of these broken texts
// and accepts the good one, or the fuzzer refuses to start. (The checker's
// own test, tests/exposition_checker_test.cc, covers it in full; this guards
// the checker as compiled into this binary, where no test runs.)
void SelfTest() {
  const std::string good =
      "# HELP a_total Help with \\\\ and \\n.\n"
      "# TYPE a_total counter\n"
      "a_total{x=\"1\\\"2\\\\3\\n\",y=\"\xC3\xA9\"} 1\n"
      "a_total{x=\"2\"} NaN\n"
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\"} 1\n"
      "h_bucket{le=\"+Inf\"} 2\n"
      "h_sum 3.5e-3\n"
      "h_count 2\n";
  std::vector<ExpositionSample> samples;
  if (auto err = CheckExposition(good, &samples)) {
    Fail("self-test: a good exposition was refused: " + *err, good);
  }
  if (samples.size() != 6 || samples[0].labels.size() != 2 ||
      samples[0].labels[0].second != "1\"2\\3\n" ||
      samples[0].labels[1].second != "\xC3\xA9") {
    Fail("self-test: label values not unescaped", good);
  }
  using std::string_literals::operator""s;
  const std::string bad[] = {
      "a 1\na 1\n",                                    // duplicate series
      "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\n",  // the same, reordered
      "a{x=\"\\t\"} 1\n",                              // bad escape
      "a{x=\"\xFF\"} 1\n",                             // invalid UTF-8
      "a{x=\"\xED\xA0\x80\"} 1\n",                     // a surrogate
      "a{x=\"\xC0\xAF\"} 1\n",                         // overlong
      "a 1\nb 1\na{x=\"1\"} 1\n",                      // not contiguous
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
      ("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
       "h_sum 1\nh_count 1\n"),     // decreasing buckets
      "# TYPE h histogram\nh 1\n",  // bare histogram sample
      "a 1",                        // no final newline
      "a 1\n# HELP a late\n",       // HELP after samples
      "# HELP a bad \\t escape\n",  // bad HELP escape
      "a{1x=\"1\"} 1\n",            // invalid label name
      "a{x=\"1\",x=\"2\"} 1\n",     // label twice
      "a{x=\"1} 1\n",               // unterminated value
      "a abc\n",                    // invalid value
      "a 1 1.5\n",                  // invalid timestamp
      "# TYPE a bogus\n",           // unknown type
      "\n",                         // empty line
      "a{x=\"a\0b\"} 1\n"s,         // NUL
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n",  // no _count
  };
  for (const std::string& text : bad) {
    if (!CheckExposition(text)) {
      Fail("self-test: a broken exposition was accepted", text);
    }
  }
}

std::string EscapeHelp(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// A label set that must come back as given.
struct Expected {
  std::string sample_name;
  std::vector<std::pair<std::string, std::string>> labels;
};

// Distinct label sets bound per family, as the registry counts them.
struct Bound {
  std::set<std::vector<std::string>> sets;
};

void Check(const std::string& text, const std::string& help,
           const std::vector<Expected>& expected, bool exact) {
  std::vector<ExpositionSample> samples;
  if (auto err = CheckExposition(text, &samples)) Fail(*err, text);
  if (!exact) return;
  std::set<
      std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>
      seen;
  for (auto& s : samples) seen.emplace(s.name, s.labels);
  for (const auto& e : expected) {
    if (seen.count({e.sample_name, e.labels}) == 0) {
      std::string labels;
      for (const auto& [n, v] : e.labels) labels += n + "=" + v + " ";
      Fail("label set did not round-trip: " + e.sample_name + " " + labels,
           text);
    }
  }
  // A family is rendered (HELP included) once it has a series.
  bool rendered = false;
  for (const auto& s : samples) rendered |= s.name == "fuzz_events_total";
  if (rendered && RoundTrips(help)) {
    const std::string line =
        "# HELP fuzz_events_total " + EscapeHelp(help) + "\n";
    if (text.find(line) == std::string::npos) {
      Fail("HELP text did not round-trip", text);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  SelfTest();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string help = in.ConsumeRandomLengthString(200);
  std::string text;
  try {
    mlmon::Registry::Options options;
    options.max_series_per_family = kMaxSeries;
    mlmon::Registry registry(options);
    struct FamilySpec {
      const char* name;
      std::vector<std::string> labels;
    };
    const FamilySpec specs[] = {
        {"fuzz_events_total", {"model", "version", "kind"}},
        {"fuzz_level", {"name"}},
        {"fuzz_inflight", {"queue", "shard"}},
        {"fuzz_latency_seconds", {"route"}},
    };
    auto& counters = registry.AddCounter(specs[0].name, help, specs[0].labels);
    auto& gauges = registry.AddGauge(specs[1].name, help, specs[1].labels);
    auto& updown =
        registry.AddUpDownGauge(specs[2].name, help, specs[2].labels);
    auto& histograms = registry.AddHistogram(specs[3].name, help,
                                             specs[3].labels, {0.1, 1, 10});
    Bound bound[4];
    std::vector<Expected> expected;
    for (int op = 0; op < 48 && in.remaining_bytes() > 0; ++op) {
      const int f = in.ConsumeIntegralInRange<int>(0, 3);
      std::vector<std::string> values;
      for (std::size_t i = 0; i < specs[f].labels.size(); ++i) {
        values.push_back(in.ConsumeRandomLengthString(40));
      }
      const double v = in.ConsumeBool()
                           ? in.ConsumeFloatingPoint<double>()
                           : in.ConsumeIntegralInRange<int>(-3, 20) * 0.5;
      bool valid = true;
      for (const auto& value : values) valid &= RoundTrips(value);
      // Bound before the cap: this label set has a series of its own.
      const bool own =
          bound[f].sets.count(values) != 0 || bound[f].sets.size() < kMaxSeries;
      if (own) bound[f].sets.insert(values);
      if (own && valid) {
        Expected e;
        e.sample_name = std::string(specs[f].name) + (f == 3 ? "_count" : "");
        for (std::size_t i = 0; i < values.size(); ++i) {
          e.labels.emplace_back(specs[f].labels[i], values[i]);
        }
        expected.push_back(std::move(e));
      }
      switch (f) {
        case 0:
          counters.Add(values).Increment(v);
          break;
        case 1:
          gauges.Add(values).Set(v);
          break;
        case 2:
          updown.Add(values).Add(v);
          break;
        case 3:
          histograms.Add(values).Observe(v);
          break;
      }
    }
    text = registry.TextExposition();
    Check(text, help, expected, true);
    std::string collected;
    mlmon::WriteText(registry.Collect(), &collected);
    Check(collected, help, expected, false);
  } catch (const std::exception& e) {
    Fail(std::string("unexpected exception: ") + e.what(), text);
  }
  return 0;
}
