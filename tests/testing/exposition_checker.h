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
//   - `# HELP <metric name> <text>`: the text escapes only `\\` and `\n`.
//   - `# TYPE <metric name> <counter|gauge|histogram|summary|untyped>`.
//   - Any other line starting with `#` is a comment.
//   - A sample: `<metric name>[{<label>="<value>",...}] <value>[ <timestamp>]`
//     with names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
//     `[a-zA-Z_][a-zA-Z0-9_]*` not starting with `__` and not repeated in one
//     sample, label values escaping only `\\`, `\"` and `\n`, a value that is a
//     decimal float, `NaN`, `+Inf` or `-Inf`, and an optional integer
//     timestamp.
//
// What it checks across lines:
//   - A family (the metric name of a TYPE line, with `_bucket`, `_sum` and
//     `_count` samples for a histogram, the name and `_sum`, `_count` for a
//     summary; an untyped sample is its own family) has at most one HELP and
//     one TYPE line, both before its first sample.
//   - The lines of a family are contiguous.
//   - No two samples have the same name and label set (label order aside).
//   - Histogram buckets carry an `le` label; per series the bounds increase,
//     the counts do not decrease, the last bound is `+Inf`, and `_count`
//     equals the `+Inf` bucket.

#include <optional>
#include <string>
#include <string_view>

namespace mlmon {
namespace testutil {

// Returns the first problem found in `text`, as "line N: <problem>: <line>",
// or nullopt if `text` is a valid exposition.
std::optional<std::string> CheckExposition(std::string_view text);

}  // namespace testutil
}  // namespace mlmon

#endif  // MLMON_TESTS_TESTING_EXPOSITION_CHECKER_H_
