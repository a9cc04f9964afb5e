#ifndef MLMON_TESTS_FUZZ_EXPOSITION_GRAMMAR_H_
#define MLMON_TESTS_FUZZ_EXPOSITION_GRAMMAR_H_

// A checker of the Prometheus text format 0.0.4 as mlmon writes it, written
// from the format's description (not from mlmon's writer), for the
// exposition fuzzer.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mlmon_fuzz {

// One sample line, label values unescaped.
struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // in text order
  std::string value;                                        // as written
};

// Checks `text`; returns the first violation ("line N: ...") or nullopt.
// Checked: the whole text is valid UTF-8 and ends with a newline; `# HELP`
// and `# TYPE` lines name valid metrics, come at most once per family and
// before its samples, HELP escapes only `\\` and `\n`, TYPE is a known type;
// sample lines have a valid metric name, valid and distinct label names,
// label values escaping only `\\`, `\"` and `\n`, a float value (`NaN`,
// `+Inf`, `-Inf` included) and an optional integer timestamp; the samples of
// a family are contiguous; no series appears twice; histogram series have
// only `_bucket` (with `le`), `_sum` and `_count` samples, bucket bounds
// increase up to `+Inf`, bucket counts do not decrease, and `_count` equals
// the `+Inf` bucket.
// When `samples` is not null, every sample line is appended to it.
std::optional<std::string> CheckExposition(
    std::string_view text, std::vector<Sample>* samples = nullptr);

// True if `s` is valid UTF-8 (no overlong forms, surrogates, or code points
// above U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace mlmon_fuzz

#endif  // MLMON_TESTS_FUZZ_EXPOSITION_GRAMMAR_H_
