#ifndef MLMON_TESTS_TESTING_EXPOSITION_CHECKER_H_
#define MLMON_TESTS_TESTING_EXPOSITION_CHECKER_H_

// A strict checker of the Prometheus text exposition format 0.0.4, written
// independently of mlmon's writer so that tests and fuzz targets can use it
// as an oracle. It depends on nothing but the standard library.
//
// What it accepts:
//   - The text is empty, or a sequence of lines each ended by '\n'; no empty
//     lines; the whole text is valid UTF-8 (no overlong forms, surrogates or
//     code points above U+10FFFF) and holds no NUL byte.
//   - `# HELP <metric name> <text>` (the space before an empty text too):
//     the text escapes only `\\` and `\n`.
//   - `# TYPE <metric name> <counter|gauge|histogram|summary|untyped>`.
//   - Any other line starting with `#` is a comment.
//   - A sample: `<metric name>[{<label>="<value>",...}] <value>[ <timestamp>]`
//     with names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
//     `[a-zA-Z_][a-zA-Z0-9_]*` not starting with `__` and not repeated in one
//     sample, label values escaping only `\\`, `\"` and `\n`, a value that is a
//     decimal float, `NaN`, `+Inf` or `-Inf`, and an optional integer
//     timestamp; one space (as mlmon writes it, stricter than the format's
//     "blanks") before the value and before the timestamp.
//
// What it checks across lines:
//   - A family (the metric name of a TYPE line, with `_bucket`, `_sum` and
//     `_count` samples for a histogram, the name and `_sum`, `_count` for a
//     summary; an untyped sample is its own family) has at most one HELP and
//     one TYPE line, both before its first sample.
//   - The lines of a family are contiguous.
//   - No two samples have the same name and label set (label order aside).
//   - Histogram buckets carry an `le` label; per series the bounds increase,
//     the counts do not decrease, the last bound is `+Inf`; every histogram
//     series has a `_count` equal to its `+Inf` bucket; `_sum` and `_count`
//     carry no `le`.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mlmon {
namespace testutil {

// One sample line of an exposition.
struct ExpositionSample {
  std::string name;
  // In the order of the text, values unescaped (`\\`, `\"`, `\n`).
  std::vector<std::pair<std::string, std::string>> labels;
  std::string value;  // as written, e.g. "1e-9" or "+Inf"
};

// Returns the first problem found in `text`, as "line N: <problem>: <line>",
// or nullopt if `text` is a valid exposition. When `samples` is not null,
// each sample line accepted so far is appended to it, in text order.
std::optional<std::string> CheckExposition(
    std::string_view text, std::vector<ExpositionSample>* samples = nullptr);

// True if `s` is well-formed UTF-8: no overlong forms, surrogates or code
// points above U+10FFFF. A NUL byte is well-formed (CheckExposition refuses
// it separately).
bool IsValidUtf8(std::string_view s);

}  // namespace testutil
}  // namespace mlmon

#endif  // MLMON_TESTS_TESTING_EXPOSITION_CHECKER_H_
