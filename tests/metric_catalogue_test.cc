// The metric catalogue: its rows are well formed, AddFamily registers what a
// row says, and docs/metrics.md documents every row with its type and
// labels.

#include "internal/metric_catalogue.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/errors.h"
#include "mlmon/registry.h"

namespace mlmon {
namespace {

using internal::AddFamily;
using internal::Instrument;
using internal::kMetricCatalogue;
using internal::MetricDef;
using internal::MetricOf;
using internal::RowProblem;

TEST(MetricCatalogueTest, EveryRowIsWellFormed) {
  for (const MetricDef* d : kMetricCatalogue) {
    EXPECT_EQ(RowProblem(*d), "") << d->name;
  }
  EXPECT_EQ(internal::CatalogueProblem(), "");
}

TEST(MetricCatalogueTest, RowProblemFindsEachDefect) {
  struct Case {
    const char* edge_case;
    MetricDef def;
  };
  constexpr Instrument kC = Instrument::kCounter;
  constexpr Instrument kG = Instrument::kGauge;
  constexpr Instrument kH = Instrument::kHistogram;
  const Case cases[] = {
      {"NoPrefix", {"app_x_total", kC, {"model", "version"}, "", "X."}},
      {"PrefixOnly", {"mlmon_", kG, {}, "", "X."}},
      {"BadNameChar", {"mlmon_x-y", kG, {}, "", "X."}},
      {"EmptyLabel", {"mlmon_x", kG, {""}, "", "X."}},
      {"ReservedLabel", {"mlmon_x", kG, {"__x"}, "", "X."}},
      {"LabelStartsWithDigit", {"mlmon_x", kG, {"1x"}, "", "X."}},
      {"HistogramLe", {"mlmon_x", kH, {"le"}, "", "X."}},
      {"RepeatedLabel", {"mlmon_x", kG, {"a", "a"}, "", "X."}},
      {"ModelNotFirst", {"mlmon_x", kG, {"version", "model"}, "", "X."}},
      {"ModelWithoutVersion", {"mlmon_x", kG, {"model", "a"}, "", "X."}},
      {"CounterWithoutTotal", {"mlmon_x", kC, {}, "", "X."}},
      {"GaugeWithTotal", {"mlmon_x_total", kG, {}, "", "X."}},
      {"UnitNotInName", {"mlmon_x", kH, {}, "seconds", "X."}},
      {"UnitWithoutUnderscore", {"mlmon_xseconds", kH, {}, "seconds", "X."}},
      {"UnitMissing", {"mlmon_x_seconds", kH, {}, "", "X."}},
      {"BytesUnitMissing", {"mlmon_x_bytes_total", kC, {}, "", "X."}},
      {"UnitLongerThanName", {"mlmon_x", kG, {}, "a_very_long_unit", "X."}},
      {"EmptyHelp", {"mlmon_x", kG, {}, "", ""}},
      {"HelpWithoutPeriod", {"mlmon_x", kG, {}, "", "X"}},
      {"HelpWithNewline", {"mlmon_x", kG, {}, "", "X\nY."}},
  };
  for (const Case& c : cases) {
    EXPECT_NE(RowProblem(c.def), "") << c.edge_case;
  }
  // And rows like these are fine.
  const MetricDef good[] = {
      {"mlmon_x_seconds_total", kC, {"model", "version"}, "seconds", "X."},
      {"mlmon_x_seconds", kH, {"model", "version", "a"}, "seconds", "X."},
      {"mlmon_x", kG, {"reason"}, "", "X."},
      {"mlmon_x", kG, {}, "", "X."},
  };
  for (const MetricDef& d : good) EXPECT_EQ(RowProblem(d), "") << d.name;
}

TEST(MetricCatalogueTest, FindMetricByName) {
  ASSERT_NE(internal::FindMetric("mlmon_requests_total"), nullptr);
  EXPECT_EQ(internal::FindMetric("mlmon_requests_total"),
            &internal::metrics::kRequestsTotal.def);
  EXPECT_EQ(internal::FindMetric("mlmon_requests"), nullptr);
  EXPECT_EQ(internal::FindMetric(""), nullptr);
}

template <typename T>
void ExpectFamilyOf(const Family<T>& f, const MetricOf<T>& m) {
  EXPECT_EQ(f.name(), m.def.name);
  EXPECT_EQ(f.help(), m.def.help);
  EXPECT_EQ(f.type(), m.def.type());
  EXPECT_EQ(f.label_names(), m.def.labels.ToVector());
}

TEST(MetricCatalogueTest, AddFamilyRegistersTheRow) {
  Registry registry;
  constexpr MetricOf<Counter> counter{
      "mlmon_c_total", {"model", "version", "a"}, "", "C."};
  constexpr MetricOf<Gauge> gauge{"mlmon_g", {"reason"}, "", "G."};
  constexpr MetricOf<UpDownGauge> updown{"mlmon_u", {}, "", "U."};
  constexpr MetricOf<Histogram> fixed{
      "mlmon_h_seconds", {"model", "version"}, "seconds", "H."};
  constexpr MetricOf<Histogram> per_series{"mlmon_p", {"feature"}, "", "P."};

  auto& c = AddFamily(registry, counter);
  ExpectFamilyOf(c, counter);
  EXPECT_EQ(&AddFamily(registry, counter), &c) << "get-or-create";
  ExpectFamilyOf(AddFamily(registry, gauge), gauge);
  auto& u = AddFamily(registry, updown);
  ExpectFamilyOf(u, updown);
  EXPECT_EQ(u.type(), MetricType::kGauge);
  auto& h = AddFamily(registry, fixed, {0.1, 1});
  ExpectFamilyOf(h, fixed);
  EXPECT_EQ(h.Add({"m", "1"}).upper_bounds(), (std::vector<double>{0.1, 1}));
  auto& p = AddFamily(registry, per_series);
  ExpectFamilyOf(p, per_series);
  EXPECT_EQ(p.Add({"x"}, {2, 3}).upper_bounds(), (std::vector<double>{2, 3}));
  // Other bounds for the same row are the registry's error, as before.
  EXPECT_THROW(AddFamily(registry, fixed, {0.5}), ConfigError);
}

TEST(MetricCatalogueTest, InstrumentsAndExpositionTypes) {
  EXPECT_EQ(internal::metrics::kRequestsInFlight.def.instrument,
            Instrument::kUpDownGauge);
  EXPECT_EQ(internal::metrics::kRequestsInFlight.def.type(),
            MetricType::kGauge);
  EXPECT_EQ(internal::ExpositionTypeName(MetricType::kCounter), "counter");
  EXPECT_EQ(internal::ExpositionTypeName(MetricType::kGauge), "gauge");
  EXPECT_EQ(internal::ExpositionTypeName(MetricType::kHistogram), "histogram");
}

// ------------------------------------------------------ docs/metrics.md

// One metric row of a table of docs/metrics.md.
struct DocRow {
  int line = 0;
  std::string type;                 // first word of the type cell
  std::vector<std::string> labels;  // backticked names outside parentheses
};

// Cells of a markdown table row, split at `|` not escaped as `\|`.
std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += "\\|";
      ++i;
    } else if (line[i] == '|') {
      const auto b = cell.find_first_not_of(' ');
      const auto e = cell.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

std::vector<std::string> BacktickedOutsideParentheses(const std::string& s) {
  std::vector<std::string> out;
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(') ++depth;
    if (s[i] == ')') --depth;
    if (s[i] != '`') continue;
    const std::size_t end = s.find('`', i + 1);
    if (end == std::string::npos) break;
    if (depth == 0) out.push_back(s.substr(i + 1, end - i - 1));
    i = end;
  }
  return out;
}

// Rows whose first cell is a backticked `mlmon_` name, by name; a name seen
// twice is reported through `repeated`.
std::map<std::string, DocRow> DocRows(std::istream& in,
                                      std::vector<std::string>* repeated) {
  std::map<std::string, DocRow> rows;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind("| `mlmon_", 0) != 0) continue;
    const std::vector<std::string> cells = Cells(line);
    if (cells.size() < 3) continue;
    const std::string name = cells[0].substr(1, cells[0].size() - 2);
    DocRow row;
    row.line = number;
    row.type = cells[1].substr(0, cells[1].find(' '));
    row.labels = BacktickedOutsideParentheses(cells[2]);
    if (!rows.emplace(name, row).second) repeated->push_back(name);
  }
  return rows;
}

// The labels the docs list: all but the leading `model` and `version`, which
// every table leaves out.
std::vector<std::string> DocumentedLabels(const MetricDef& d) {
  std::vector<std::string> labels = d.labels.ToVector();
  if (labels.size() >= 2 && labels[0] == "model" && labels[1] == "version") {
    labels.erase(labels.begin(), labels.begin() + 2);
  }
  return labels;
}

TEST(MetricCatalogueDocsTest, TableParserReadsCells) {
  const auto cells =
      Cells("| `a` | gauge (always 1) | `x` (`p`, `q`), `y` | a \\| b | c |");
  ASSERT_EQ(cells.size(), 5u);
  EXPECT_EQ(cells[1], "gauge (always 1)");
  EXPECT_EQ(cells[3], "a \\| b");
  EXPECT_EQ(BacktickedOutsideParentheses(cells[2]),
            (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(BacktickedOutsideParentheses("").empty());
  std::istringstream doc(
      "text `mlmon_a` here\n"
      "| metric | type |\n"
      "| `mlmon_a_total` | counter | `x` | m |\n"
      "| `mlmon_b` | histogram | | m |\n"
      "| `mlmon_a_total` | counter | | m |\n");
  std::vector<std::string> repeated;
  const auto rows = DocRows(doc, &repeated);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.at("mlmon_a_total").line, 3);
  EXPECT_EQ(rows.at("mlmon_a_total").labels, std::vector<std::string>{"x"});
  EXPECT_EQ(rows.at("mlmon_b").type, "histogram");
  EXPECT_TRUE(rows.at("mlmon_b").labels.empty());
  EXPECT_EQ(repeated, std::vector<std::string>{"mlmon_a_total"});
}

TEST(MetricCatalogueDocsTest, DocsListEveryRowWithItsTypeAndLabels) {
  std::ifstream in(std::string(MLMON_SOURCE_DIR) + "/docs/metrics.md");
  ASSERT_TRUE(in) << "cannot read docs/metrics.md";
  std::vector<std::string> repeated;
  const auto rows = DocRows(in, &repeated);
  EXPECT_TRUE(repeated.empty()) << "documented twice: " << repeated[0];
  for (const MetricDef* d : kMetricCatalogue) {
    const auto it = rows.find(std::string(d->name));
    if (it == rows.end()) {
      ADD_FAILURE() << d->name << " is in the catalogue but not documented";
      continue;
    }
    SCOPED_TRACE("docs/metrics.md:" + std::to_string(it->second.line));
    EXPECT_EQ(it->second.type, internal::ExpositionTypeName(d->type()))
        << d->name;
    EXPECT_EQ(it->second.labels, DocumentedLabels(*d)) << d->name;
  }
  for (const auto& [name, row] : rows) {
    EXPECT_NE(internal::FindMetric(name), nullptr)
        << "docs/metrics.md:" << row.line << " documents " << name
        << ", which is not in the catalogue";
  }
}

}  // namespace
}  // namespace mlmon
