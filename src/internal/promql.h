#ifndef MLMON_SRC_INTERNAL_PROMQL_H_
#define MLMON_SRC_INTERNAL_PROMQL_H_

/// \file
/// Pieces of PromQL text shared by the rule generators (`mlmon rules`):
/// string literals, a model's selector and summed rates. Private to the
/// library (never installed).

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace mlmon {
namespace internal {

/// `s` as a PromQL double-quoted string literal.
inline std::string PromString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// The selector of one model's series: `{model="<m>"}`, or with extra
/// matchers `{model="<m>",<extra>}`.
class PromSelector {
 public:
  explicit PromSelector(std::string_view model)
      : model_("model=" + PromString(model)) {}
  std::string operator()(const std::string& extra = "") const {
    return "{" + model_ + (extra.empty() ? "" : "," + extra) + "}";
  }
  /// The model's matcher alone: `model="<m>"`.
  const std::string& model_matcher() const { return model_; }

 private:
  std::string model_;
};

/// `sum by (<by>) (rate(<metric><sel>[<range>]))`.
inline std::string SumRate(const std::string& by, const std::string& metric,
                           const std::string& sel, const std::string& range) {
  return fmt::format("sum by ({}) (rate({}{}[{}]))", by, metric, sel, range);
}

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_PROMQL_H_
