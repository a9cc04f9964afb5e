#include "quality_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "metric_catalogue.h"
#include "mlmon/duration.h"
#include "promql.h"
#include "text_format.h"

namespace mlmon {
namespace internal {

namespace {

constexpr const char* kBy = "model, version";
constexpr const char* kScoreBuckets = "mlmon:outcome_score_bucket:rate1h";
constexpr const char* kScoreBelow = "mlmon:outcome_score_bucket_below:rate1h";

// `s` as an RE2 pattern that matches only `s` (bounds hold digits, '.',
// '+', '-' and 'e').
std::string RegexLiteral(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '.' || c == '+') out += '\\';
    out += c;
  }
  return out;
}

// The `le` text mlmon writes for bound `v`.
std::string ExportedLe(double v) {
  std::string s;
  AppendValue(&s, v);
  return s;
}

std::string Name(const MetricDef& d) { return std::string(d.name); }

// The sum of the rates of the disjoint selections `sels` of `metric`.
std::string SumRateOfUnion(const std::string& by, const std::string& metric,
                           const std::vector<std::string>& sels,
                           const std::string& range) {
  std::string u;
  for (const std::string& s : sels) {
    if (!u.empty()) u += " or ";
    u += fmt::format("rate({}{}[{}])", metric, s, range);
  }
  return fmt::format("sum by ({}) ({})", by, u);
}

void BinaryRules(const MonitorSpec& spec, std::vector<QualityRule>* r) {
  const PromSelector sel(spec.model);
  const std::string by = kBy;
  const std::string tby = by + ", threshold";
  const std::string confusion = Name(metrics::kConfusionTotal.def);
  const std::string score = Name(metrics::kOutcomeScore.def);
  for (const std::string& w : FleetRuleWindows(spec)) {
    r->push_back(
        {"mlmon:accuracy:rate" + w,
         SumRateOfUnion(tby, confusion,
                        {sel("threshold!=\"\",predicted=\"1\",actual=\"1\""),
                         sel("threshold!=\"\",predicted=\"0\",actual=\"0\"")},
                        w) +
             " / " + SumRate(tby, confusion, sel("threshold!=\"\""), w),
         {},
         w == "1h" ? "Fleet quality: sums of raw counters over replicas, "
                     "divided."
                   : ""});
  }
  const std::string judged = SumRate(by, score + "_count", sel(), "1h");
  r->push_back(
      {"mlmon:brier:rate1h",
       SumRate(by, Name(metrics::kOutcomeBrierTotal.def), sel(), "1h") + " / " +
           judged,
       {},
       ""});
  r->push_back(
      {"mlmon:log_loss:rate1h",
       SumRate(by, Name(metrics::kOutcomeLogLossTotal.def), sel(), "1h") +
           " / " + judged,
       {},
       ""});

  // The fleet's cumulative bucket rates per class, `le` rewritten to
  // mlmon's text of the bound whichever form the server stored.
  std::vector<double> bounds = spec.outcome.score_buckets;
  bounds.push_back(std::numeric_limits<double>::infinity());
  std::string buckets;
  std::string below;
  for (std::size_t b = 0; b < bounds.size(); ++b) {
    const std::string le = ExportedLe(bounds[b]);
    if (b > 0) {
      buckets += " or ";
      below += " or ";
    }
    buckets += fmt::format(
        "label_replace(sum by ({}, actual) (rate({}_bucket{}[1h])), \"le\", "
        "{}, \"\", \"\")",
        by, score, sel(LeMatcher(bounds[b])), PromString(le));
    if (b == 0) {
      below +=
          fmt::format("{}{} * 0", kScoreBuckets, sel("le=" + PromString(le)));
    } else {
      below += fmt::format(
          "label_replace({}{}, \"le\", {}, \"\", \"\")", kScoreBuckets,
          sel("le=" + PromString(ExportedLe(bounds[b - 1]))), PromString(le));
    }
  }
  r->push_back({kScoreBuckets,
                buckets,
                {},
                "ROC AUC over the fleet from the per-class score histograms "
                "(trapezoid: pairs in one bucket count 1/2), and its "
                "worst-case error: half the share of (positive, negative) "
                "pairs that share a bucket."});
  r->push_back({kScoreBelow, below, {}, ""});

  const std::string on = " on (model, version, le) ";
  const auto cls = [&](const char* rule, const char* actual) {
    return std::string(rule) + sel(fmt::format("actual=\"{}\"", actual));
  };
  // Per bucket: positives in it, and negatives in it, below it, and below it
  // plus half of those in it (times 2).
  const std::string pos =
      "(" + cls(kScoreBuckets, "1") + " -" + on + cls(kScoreBelow, "1") + ")";
  const std::string neg =
      "(" + cls(kScoreBuckets, "0") + " -" + on + cls(kScoreBelow, "0") + ")";
  const std::string neg_mid2 =
      "(" + cls(kScoreBuckets, "0") + " +" + on + cls(kScoreBelow, "0") + ")";
  const auto total = [&](const char* actual) {
    return fmt::format("sum by ({}) ({}{})", by, kScoreBuckets,
                       sel(fmt::format("actual=\"{}\",le=\"+Inf\"", actual)));
  };
  const std::string pairs2 =
      "(2 * " + total("1") + " * on (model, version) " + total("0") + ")";
  r->push_back({"mlmon:auc:rate1h",
                fmt::format("sum by ({}) ({} *{}{}) / on (model, version) {}",
                            by, pos, on, neg_mid2, pairs2),
                {},
                ""});
  r->push_back({"mlmon:auc_error_bound:rate1h",
                fmt::format("sum by ({}) ({} *{}{}) / on (model, version) {}",
                            by, pos, on, neg, pairs2),
                {},
                ""});
}

void MulticlassRules(const MonitorSpec& spec, std::vector<QualityRule>* r) {
  const PromSelector sel(spec.model);
  const std::string by = kBy;
  const std::string confusion = Name(metrics::kConfusionTotal.def);
  std::vector<std::string> diagonal;
  std::string true_positives;
  for (const std::string& c : spec.outcome.classes) {
    const std::string cell = sel("threshold=\"\",predicted=" + PromString(c) +
                                 ",actual=" + PromString(c));
    diagonal.push_back(cell);
    if (!true_positives.empty()) true_positives += " or ";
    true_positives +=
        fmt::format("label_replace({}, \"class\", {}, \"\", \"\")",
                    SumRate(by, confusion, cell, "1h"), PromString(c));
  }
  r->push_back({"mlmon:accuracy:rate1h",
                SumRateOfUnion(by, confusion, diagonal, "1h") + " / " +
                    SumRate(by, confusion, sel("threshold=\"\""), "1h"),
                {},
                "Fleet quality: sums of raw counters over replicas, "
                "divided."});

  // Macro averages as scikit-learn's (labels=None, zero_division=0): per
  // class from the fleet's cells, averaged over the classes predicted or
  // seen in the window.
  const auto per_class = [&](const char* label) {
    return fmt::format(
        "sum by ({}, class) (label_replace({}, \"class\", \"$1\", \"{}\", "
        "\"(.*)\"))",
        by, SumRate(by + ", " + label, confusion, sel("threshold=\"\""), "1h"),
        label);
  };
  const std::string tp = "mlmon:class_true_positives:rate1h" + sel();
  const std::string predicted = "mlmon:class_predictions:rate1h" + sel();
  const std::string actual = "mlmon:class_outcomes:rate1h" + sel();
  r->push_back({"mlmon:class_true_positives:rate1h",
                true_positives,
                {},
                "Multiclass macro precision, recall and F1 over the fleet."});
  r->push_back(
      {"mlmon:class_predictions:rate1h", per_class("predicted"), {}, ""});
  r->push_back({"mlmon:class_outcomes:rate1h", per_class("actual"), {}, ""});
  const std::string on = " on (model, version, class) ";
  const std::string present = "(" + predicted + " +" + on + actual + " > 0)";
  // tp / n, 0 where n is 0, over the present classes.
  const auto macro = [&](const std::string& n) {
    return fmt::format("avg by ({}) ((({} /{}({} > 0)) or{}({} * 0)) and{}{})",
                       by, tp, on, n, on, n, on, present);
  };
  r->push_back({"mlmon:macro_precision:rate1h", macro(predicted), {}, ""});
  r->push_back({"mlmon:macro_recall:rate1h", macro(actual), {}, ""});
  // 2 tp / (predicted + actual) is 2 p r / (p + r), and 0 when tp is 0.
  r->push_back({"mlmon:macro_f1:rate1h",
                fmt::format("avg by ({}) (2 * {} /{}({} +{}{}) and{}{})", by,
                            tp, on, predicted, on, actual, on, present),
                {},
                ""});
}

void RegressionRules(const MonitorSpec& spec, std::vector<QualityRule>* r) {
  const PromSelector sel(spec.model);
  r->push_back({"mlmon:absolute_percentage_error:mape_rate1h",
                SumRate(kBy, Name(metrics::kAbsolutePercentageErrorTotal.def),
                        sel(), "1h") +
                    " / " +
                    SumRate(kBy, Name(metrics::kAbsoluteError.def) + "_count",
                            sel(), "1h"),
                {},
                "Fleet quality: sums of raw counters over replicas, divided."});
}

void RankingRules(const MonitorSpec& spec, std::vector<QualityRule>* r) {
  const PromSelector sel(spec.model);
  const std::string rank = Name(metrics::kOutcomeRank.def);
  const std::string judged = SumRate(kBy, rank + "_count", sel(), "1h");
  std::vector<double> bounds = spec.outcome.rank_buckets;
  std::size_t max_k = 0;
  for (std::size_t k : spec.outcome.k) max_k = std::max(max_k, k);
  if (bounds.empty()) {
    for (std::size_t k = 1; k <= max_k; ++k) {
      bounds.push_back(static_cast<double>(k));
    }
  }
  std::string comment =
      "Fleet quality: sums of raw counters over replicas, divided.";
  for (std::size_t k : spec.outcome.k) {
    // Ranks are whole numbers, so the bucket of a bound in [k, k + 1)
    // counts exactly the ranks <= k; without one, hit@k has no rule.
    const auto kd = static_cast<double>(k);
    for (double b : bounds) {
      if (b >= kd && b < kd + 1) {
        r->push_back({"mlmon:hit_rate:rate1h",
                      SumRate(kBy, rank + "_bucket", sel(LeMatcher(b)), "1h") +
                          " / " + judged,
                      {{"k", std::to_string(k)}},
                      comment});
        comment.clear();
        break;
      }
    }
  }
  r->push_back({"mlmon:mrr:rate1h",
                SumRate(kBy, Name(metrics::kOutcomeReciprocalRankTotal.def),
                        sel(), "1h") +
                    " / " + judged,
                {},
                comment});
}

}  // namespace

std::vector<std::string> FleetRuleWindows(const MonitorSpec& spec) {
  std::vector<std::string> w = {"1h"};
  if (spec.slo.min_precision) {
    const std::string s = FormatDuration(spec.slo.min_precision->window);
    if (s != "1h") w.push_back(s);
  }
  return w;
}

std::string SegmentGapWindow(const MonitorSpec& spec) {
  std::chrono::seconds longest = std::chrono::hours(1);
  if (spec.slo.min_precision) {
    longest = std::max(longest, spec.slo.min_precision->window);
  }
  return FormatDuration(longest);
}

std::vector<QualityRule> SegmentQualityRules(const MonitorSpec& spec) {
  std::vector<QualityRule> r;
  if (spec.outcome.task != OutcomeSpec::Task::kBinary ||
      !spec.segments.enabled()) {
    return r;
  }
  const PromSelector sel(spec.model);
  const std::string by = std::string(kBy) + ", segment, threshold";
  const std::string tby = std::string(kBy) + ", threshold";
  const std::string confusion = Name(metrics::kConfusionTotal.def);
  const std::string cells = "segment!=\"\",threshold!=\"\"";
  const std::string tp = sel(cells + ",predicted=\"1\",actual=\"1\"");
  std::string comment = fmt::format(
      "Quality by segment ({}): a segment is recorded at a threshold only "
      "with >= {} predicted (precision) or actual (recall) positives in the "
      "window; the gap is its best minus its worst segment.",
      spec.segments.name, kSegmentMinPositives);
  for (const std::string& w : FleetRuleWindows(spec)) {
    // (tp or whole * 0) / whole: 0, not absent, for a segment without a
    // true positive (the worst one); `and` keeps it only with the volume.
    const auto ratio = [&](const std::string& whole_cells) {
      const std::string whole = SumRate(by, confusion, sel(whole_cells), w);
      return fmt::format(
          "({} or {} * 0) / {} and sum by ({}) (increase({}{}[{}])) >= {}",
          SumRate(by, confusion, tp, w), whole, whole, by, confusion,
          sel(whole_cells), w, kSegmentMinPositives);
    };
    const std::string precision = "mlmon:segment_precision:rate" + w;
    const std::string recall = "mlmon:segment_recall:rate" + w;
    r.push_back({precision, ratio(cells + ",predicted=\"1\""), {}, comment});
    comment.clear();
    r.push_back({recall, ratio(cells + ",actual=\"1\""), {}, ""});
    for (const std::string& rule : {precision, recall}) {
      const std::size_t colon = rule.rfind(':');
      r.push_back({rule.substr(0, colon) + "_gap" + rule.substr(colon),
                   fmt::format("max by ({0}) ({1}{2}) - min by ({0}) ({1}{2})",
                               tby, rule, sel()),
                   {},
                   ""});
    }
  }
  return r;
}

std::vector<QualityRule> FleetQualityRules(const MonitorSpec& spec) {
  std::vector<QualityRule> r;
  switch (spec.outcome.task) {
    case OutcomeSpec::Task::kBinary:
      BinaryRules(spec, &r);
      break;
    case OutcomeSpec::Task::kMulticlass:
      MulticlassRules(spec, &r);
      break;
    case OutcomeSpec::Task::kRanking:
      RankingRules(spec, &r);
      break;
    case OutcomeSpec::Task::kRegression:
      RegressionRules(spec, &r);
      break;
  }
  return r;
}

std::string OpenMetricsFloat(double v) {
  if (v == 0) return "0.0";
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Digits and decimal point of the shortest round trip: v = 0.digits *
  // 10^point.
  const std::string s = fmt::format("{}", std::fabs(v));
  const std::size_t e = s.find('e');
  std::string mantissa = s.substr(0, e);
  int point = 0;
  const std::size_t dot = mantissa.find('.');
  std::string digits;
  if (dot == std::string::npos) {
    digits = mantissa;
    point = static_cast<int>(mantissa.size());
  } else {
    digits = mantissa.substr(0, dot) + mantissa.substr(dot + 1);
    point = static_cast<int>(dot);
  }
  if (e != std::string::npos) point += std::atoi(s.c_str() + e + 1);
  std::size_t lead = 0;
  while (lead + 1 < digits.size() && digits[lead] == '0') {
    ++lead;
    --point;
  }
  digits.erase(0, lead);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  // Go's strconv.FormatFloat(v, 'g', -1, 64): an exponent below -4 or at
  // least 6 is written as one, with a sign and two digits at least.
  const int exp = point - 1;
  std::string out = v < 0 ? "-" : "";
  const auto n = static_cast<int>(digits.size());
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (n > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', std::abs(exp));
    return out;
  }
  if (point <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
  } else if (point >= n) {
    out +=
        digits + std::string(static_cast<std::size_t>(point - n), '0') + ".0";
  } else {
    out += digits.substr(0, static_cast<std::size_t>(point)) + "." +
           digits.substr(static_cast<std::size_t>(point));
  }
  return out;
}

std::string LeMatcher(double v) {
  const std::string exported = ExportedLe(v);
  const std::string stored = OpenMetricsFloat(v);
  if (exported == stored) return "le=" + PromString(exported);
  return "le=~" +
         PromString(RegexLiteral(exported) + "|" + RegexLiteral(stored));
}

}  // namespace internal
}  // namespace mlmon
