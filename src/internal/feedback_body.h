#ifndef MLMON_SRC_INTERNAL_FEEDBACK_BODY_H_
#define MLMON_SRC_INTERNAL_FEEDBACK_BODY_H_

// Reading the JSON bodies of outcome and prediction feedback into events,
// before any tracker sees them. The body formats are documented with
// `ParseOutcomes` and `ParsePredictions` in mlmon/outcome_ingest.h.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mlmon/outcome_ingest.h"

namespace mlmon {
namespace internal {

// A line (or array element) refused before it reached a tracker.
struct RefusedLine {
  std::size_t line;
  std::string model;    // the model it names, if it got that far
  std::string version;  // the version it names, if it got that far
  std::string detail;
  bool malformed;  // not JSON, or broken JSON
};

// Parses an outcome body: every non-blank line (NDJSON) or element (JSON)
// ends up either in `events` or in `refused`, each in body order. A JSON
// body that does not parse as a whole throws MalformedBody and leaves both
// vectors unchanged; NDJSON lines are judged one by one.
void ParseOutcomeBody(std::string_view body, BodyFormat format,
                      std::vector<OutcomeEvent>* events,
                      std::vector<RefusedLine>* refused);

// Parses an NDJSON prediction body the same way.
void ParsePredictionBody(std::string_view body,
                         std::vector<PredictionEvent>* events,
                         std::vector<RefusedLine>* refused);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_FEEDBACK_BODY_H_
