// Metric names are written once, in the metric catalogue: no string literal
// in src/ or tools/ starts with `mlmon_`, except in the files below. Code
// registers a family with `internal::AddFamily(registry, metrics::kX)` and
// compares names with `metrics::kX.def.name`.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Files (relative to the source directory) that may hold `"mlmon_...`
// literals, and which: an empty set allows every one.
const std::map<std::string, std::set<std::string>>& Allowed() {
  static const std::map<std::string, std::set<std::string>> kAllowed = {
      // The catalogue itself.
      {"src/internal/metric_catalogue.h", {}},
      // PromQL of the alert rules and the dashboard, checked against the
      // catalogue by rules_catalogue_test.
      {"src/rules.cc", {}},
      {"src/dashboard.cc", {}},
      // The Pushgateway job name of `mlmon replay --push`, not a metric.
      {"tools/mlmon/replay.cc", {"\"mlmon_replay\""}},
  };
  return kAllowed;
}

// The literals in `text` that open with `"mlmon_`, each up to its closing
// quote (or the end of the line), with the line they start on. A raw string
// delimiter (`R"mlmon_x(`) is not one.
std::vector<std::pair<int, std::string>> MlmonLiterals(
    const std::string& text) {
  std::vector<std::pair<int, std::string>> out;
  const std::string open = "\"mlmon_";
  for (std::size_t at = text.find(open); at != std::string::npos;
       at = text.find(open, at + 1)) {
    if (at > 0 && text[at - 1] == 'R') continue;
    std::size_t end = at + 1;
    while (end < text.size() && text[end] != '"' && text[end] != '\n') ++end;
    const int line =
        1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
    out.emplace_back(line, text.substr(at, end + 1 - at));
  }
  return out;
}

TEST(MetricCatalogueLiteralsTest, MlmonLiteralsFindsOpeningLiteralsOnly) {
  const std::string text =
      "a(\"mlmon_x_total\", \"help\");\n"
      "b = \"see mlmon_y\";\n"  // not at the start of the literal
      "c = R\"mlmon_html(<p>)mlmon_html\";\n"
      "d = \"mlmon_z\";";
  const auto found = MlmonLiterals(text);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0], (std::pair<int, std::string>{1, "\"mlmon_x_total\""}));
  EXPECT_EQ(found[1], (std::pair<int, std::string>{4, "\"mlmon_z\""}));
}

TEST(MetricCatalogueLiteralsTest, OnlyTheCatalogueWritesMetricNames) {
  const fs::path root(MLMON_SOURCE_DIR);
  std::size_t files = 0;
  for (const char* dir : {"src", "tools"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      const fs::path& p = entry.path();
      if (!entry.is_regular_file() ||
          (p.extension() != ".cc" && p.extension() != ".h")) {
        continue;
      }
      ++files;
      const std::string rel = p.lexically_relative(root).generic_string();
      std::ifstream in(p);
      ASSERT_TRUE(in) << rel;
      std::stringstream s;
      s << in.rdbuf();
      const auto allowed = Allowed().find(rel);
      for (const auto& [line, literal] : MlmonLiterals(s.str())) {
        if (allowed != Allowed().end() &&
            (allowed->second.empty() || allowed->second.count(literal) != 0)) {
          continue;
        }
        ADD_FAILURE() << rel << ":" << line << ": " << literal
                      << ": take the name from its row in "
                         "src/internal/metric_catalogue.h (metrics::kX, "
                         "AddFamily)";
      }
    }
  }
  // The directories were found and read.
  EXPECT_GT(files, 50u);
}

}  // namespace
